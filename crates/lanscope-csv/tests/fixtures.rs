//! Whole files as the LanScope manager (or a spreadsheet after it) writes them.

use jiff::Timestamp;
use jiff::civil::date;
use lanscope_csv::{Layout, LogRecord, ReadError, ReadOptions, ReadReport, RowError, read_lanscope_csv};
use loginrec_rules::LogKind;

fn read(bytes: &[u8]) -> Result<ReadReport, ReadError> {
    read_lanscope_csv(bytes, &ReadOptions::default())
}

/// A Tokyo wall-clock time as an instant.
fn jst(y: i16, mo: i8, d: i8, h: i8, mi: i8, s: i8, ms: i32) -> Timestamp {
    let tz = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap();
    tz.to_ambiguous_timestamp(date(y, mo, d).at(h, mi, s, ms * 1_000_000)).compatible().unwrap()
}

fn summary(records: &[LogRecord]) -> Vec<(u64, &str, LogKind, Timestamp)> {
    records.iter().map(|r| (r.line, r.user_name.as_str(), r.kind, r.event_at)).collect()
}

#[test]
fn a_cp932_event_file_reads_with_its_special_characters_intact() {
    let report = read(include_bytes!("fixtures/events_cp932.csv")).unwrap();
    assert_eq!(report.layout, Layout::Events);
    assert_eq!(report.encoding, "Shift_JIS");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.skipped_system, 1);
    assert_eq!(report.skipped_other_types, 0);
    assert_eq!(
        report.records[0],
        LogRecord {
            line: 2,
            user_name: "髙橋".into(),
            kind: LogKind::Logon,
            event_at: jst(2024, 2, 9, 9, 3, 0, 0),
            recorded_at: Some(jst(2024, 2, 9, 9, 5, 12, 0)),
            sub_manager_no: Some("1".into()),
            agent_no: Some("101".into()),
            computer_name: Some("㈱本社-PC①".into()),
        }
    );
    assert_eq!(
        summary(&report.records),
        vec![
            (2, "髙橋", LogKind::Logon, jst(2024, 2, 9, 9, 3, 0, 0)),
            (3, "髙橋", LogKind::Logoff, jst(2024, 2, 9, 18, 30, 5, 0)),
            (4, "CORP\\tanaka", LogKind::Logon, jst(2024, 2, 9, 8, 57, 30, 0)),
            (5, "CORP\\tanaka", LogKind::Logoff, jst(2024, 2, 10, 1, 30, 0, 0)),
        ]
    );
    assert_eq!(report.records[3].computer_name.as_deref(), Some("開発-PC②"));
}

#[test]
fn the_event_time_counts_not_the_time_the_manager_recorded_it() {
    let report = read(include_bytes!("fixtures/events_cp932.csv")).unwrap();
    let late = &report.records[3];
    assert_eq!(late.event_at, jst(2024, 2, 10, 1, 30, 0, 0));
    assert_eq!(late.recorded_at, Some(jst(2024, 2, 10, 6, 10, 0, 0)));
}

#[test]
fn a_utf8_file_with_a_bom_reads_and_the_bom_does_not_hide_the_first_header() {
    let report = read(include_bytes!("fixtures/events_utf8_bom.csv")).unwrap();
    assert_eq!(report.encoding, "UTF-8");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        summary(&report.records),
        vec![
            (2, "佐藤花子", LogKind::Logon, jst(2024, 2, 9, 8, 45, 0, 0)),
            (3, "佐藤花子", LogKind::Logoff, jst(2024, 2, 9, 17, 45, 0, 0)),
        ]
    );
    assert_eq!(report.records[0].computer_name.as_deref(), Some("営業部 \"A\" PC"));
    assert_eq!(report.records[0].agent_no, None);
}

#[test]
fn a_utf8_file_with_lf_endings_english_headers_and_iso_times_reads() {
    let report = read(include_bytes!("fixtures/events_utf8_lf.csv")).unwrap();
    assert_eq!(report.encoding, "UTF-8");
    assert_eq!(report.layout, Layout::Events);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        summary(&report.records),
        vec![
            (2, "suzuki", LogKind::Logon, jst(2024, 2, 9, 9, 3, 0, 0)),
            (3, "suzuki", LogKind::Logoff, jst(2024, 2, 9, 18, 1, 30, 0)),
            (4, "CORP\\Yamada", LogKind::Logon, jst(2024, 2, 9, 22, 0, 0, 250)),
        ]
    );
    assert_eq!(report.records[1].recorded_at, Some(jst(2024, 2, 9, 18, 2, 0, 0)));
    let yamada = &report.records[2];
    assert_eq!(
        (yamada.sub_manager_no.as_deref(), yamada.agent_no.as_deref(), yamada.computer_name.as_deref()),
        (None, None, None)
    );
}

#[test]
fn a_cp932_daily_summary_yields_logons_and_logoffs_with_the_night_shift_on_the_next_day() {
    let report = read(include_bytes!("fixtures/summary_cp932.csv")).unwrap();
    assert_eq!(report.layout, Layout::DailySummary);
    assert_eq!(report.encoding, "Shift_JIS");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.skipped_system, 1);
    assert_eq!(
        summary(&report.records),
        vec![
            (2, "髙橋", LogKind::Logon, jst(2024, 2, 9, 9, 3, 0, 0)),
            (2, "髙橋", LogKind::Logoff, jst(2024, 2, 9, 18, 30, 0, 0)),
            (3, "夜勤の鈴木", LogKind::Logon, jst(2024, 2, 9, 22, 0, 0, 0)),
            (3, "夜勤の鈴木", LogKind::Logoff, jst(2024, 2, 10, 1, 30, 0, 0)),
            (4, "CORP\\tanaka", LogKind::Logon, jst(2024, 2, 9, 21, 0, 0, 0)),
            (4, "CORP\\tanaka", LogKind::Logoff, jst(2024, 2, 10, 1, 30, 0, 0)),
            (6, "早番の伊藤", LogKind::Logon, jst(2024, 2, 9, 5, 0, 0, 0)),
        ]
    );
    assert_eq!(report.records[2].computer_name.as_deref(), Some("工場-PC③"));
    assert!(report.records.iter().all(|r| r.recorded_at.is_none()));
}

#[test]
fn bad_rows_are_reported_by_line_and_field_and_every_good_row_is_kept() {
    let report = read(include_bytes!("fixtures/events_with_bad_rows.csv")).unwrap();
    let error = |line, field: &str, value: &str, reason: &str| RowError {
        line,
        field: field.into(),
        value: value.into(),
        reason: reason.into(),
    };
    assert_eq!(
        report.errors,
        vec![
            error(3, "イベント日時", "2024/13/01 9:00", "not a date-time"),
            error(4, "ログオンユーザ名", "", "empty user name"),
            error(5, "ログ種類", "abc", "not a log type number (1 = start, 2 = end)"),
            error(11, "ログ種類", "", "missing log type: the row ends before this column"),
            error(14, "イベント日時", "2024/02/09 25:00", "not a date-time"),
            error(16, "イベント日時", "2024/02/09 18:02:00 junk", "not a date-time"),
        ]
    );
    assert_eq!(report.errors[0].to_string(), "line 3, field イベント日時: not a date-time (\"2024/13/01 9:00\")");
    assert_eq!(report.skipped_system, 1);
    assert_eq!(report.skipped_other_types, 1);
    assert_eq!(
        summary(&report.records),
        vec![
            (2, "tanaka", LogKind::Logon, jst(2024, 2, 9, 9, 3, 0, 0)),
            (8, "yamada", LogKind::Logon, jst(2024, 2, 9, 9, 10, 0, 0)),
            (10, "kato", LogKind::Logon, jst(2024, 2, 9, 9, 11, 0, 0)),
            (13, "tanaka", LogKind::Logoff, jst(2024, 2, 9, 17, 59, 59, 0)),
            (15, "sato", LogKind::Logoff, jst(2024, 2, 9, 18, 1, 0, 0)),
            (17, "kato", LogKind::Logoff, jst(2024, 2, 9, 18, 3, 0, 0)),
        ]
    );
    assert_eq!(report.records[1].computer_name.as_deref(), Some("PC-07, 2F\nEast wing"));
    assert_eq!(report.records[2].computer_name, None);
    assert_eq!(report.records[4].computer_name.as_deref(), Some("PC-04 \"spare\""));
}

#[test]
fn an_employee_master_is_not_lanscope_and_the_error_lists_its_headers() {
    let err = read(include_bytes!("fixtures/not_lanscope.csv")).unwrap_err();
    assert_eq!(
        err,
        ReadError::NotLanScope {
            headers: vec!["従業員コード".into(), "姓".into(), "名".into(), "所属コード".into()]
        }
    );
}

#[test]
fn bytes_invalid_in_both_encodings_are_refused_with_their_offset() {
    let err = read(include_bytes!("fixtures/invalid_encoding.bin")).unwrap_err();
    assert_eq!(err, ReadError::Encoding { offset: 44 });
    assert!(err.to_string().contains("byte offset 44"));
}

#[test]
fn fixtures_read_from_disk_give_the_same_report_as_embedded_ones() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/summary_cp932.csv");
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(read(&bytes), read(include_bytes!("fixtures/summary_cp932.csv")));
}
