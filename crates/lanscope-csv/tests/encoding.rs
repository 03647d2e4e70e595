//! Telling a damaged UTF-8 file from a CP932 one, on whole files.
//!
//! A UTF-8 export with a stray byte must never be read as CP932 (every Japanese name would turn
//! into mojibake and match nobody): the rows holding such bytes are reported by line and field
//! and the others are read. A genuine CP932 file must never be taken for damaged UTF-8.

use jiff::Timestamp;
use jiff::civil::date;
use lanscope_csv::{
    DAMAGED_UTF8_RATIO, EncodingSniffer, FileEncoding, LogRecord, ReadError, ReadOptions, ReadReport, RowError, decode,
    read_lanscope_csv,
};
use loginrec_rules::LogKind;
use proptest::prelude::*;

fn read(bytes: &[u8]) -> Result<ReadReport, ReadError> {
    read_lanscope_csv(bytes, &ReadOptions::default())
}

fn jst(y: i16, mo: i8, d: i8, h: i8, mi: i8, s: i8) -> Timestamp {
    let tz = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap();
    tz.to_ambiguous_timestamp(date(y, mo, d).at(h, mi, s, 0)).compatible().unwrap()
}

fn names(records: &[LogRecord]) -> Vec<(u64, &str, LogKind)> {
    records.iter().map(|r| (r.line, r.user_name.as_str(), r.kind)).collect()
}

#[test]
fn a_utf8_file_with_one_stray_byte_keeps_every_other_name_and_reports_the_damaged_line() {
    let report = read(include_bytes!("fixtures/events_utf8_stray_byte.csv")).unwrap();
    assert_eq!(report.encoding, "UTF-8");
    assert_eq!(
        names(&report.records),
        vec![
            (2, "佐藤花子", LogKind::Logon),
            (3, "CORP\\tanaka", LogKind::Logon),
            (5, "佐藤花子", LogKind::Logoff),
            (6, "CORP\\tanaka", LogKind::Logoff),
            (7, "鈴木一郎", LogKind::Logoff),
        ]
    );
    assert_eq!(report.records[0].computer_name.as_deref(), Some("営業部-PC01"));
    assert_eq!(report.records[4].event_at, jst(2024, 2, 9, 17, 45, 0));
    assert_eq!(
        report.errors,
        vec![RowError {
            line: 4,
            field: "ログオンユーザ名".into(),
            value: "鈴木\u{FFFD}一郎".into(),
            reason:
                "UTF-8 として読めないバイト 0xFF があります (41 文字目) / a byte that is not UTF-8: 0xFF at column 41"
                    .into(),
        }]
    );
    assert_eq!(
        report.errors[0].to_string(),
        "line 4, field ログオンユーザ名: UTF-8 として読めないバイト 0xFF があります (41 文字目) / \
         a byte that is not UTF-8: 0xFF at column 41 (\"鈴木\u{FFFD}一郎\")"
    );
}

#[test]
fn a_stray_byte_that_leaves_the_file_valid_cp932_is_still_read_as_utf8() {
    let bytes = include_bytes!("fixtures/events_utf8_stray_byte_english_header.csv");
    // The trap: as CP932 the whole file decodes without a single error, into mojibake.
    let (as_cp932, _, malformed) = encoding_rs::SHIFT_JIS.decode(bytes);
    assert!(!malformed && as_cp932.contains("菴占陸"), "the fixture is valid CP932");

    let report = read(bytes).unwrap();
    assert_eq!(report.encoding, "UTF-8");
    assert_eq!(
        names(&report.records),
        vec![
            (2, "佐藤", LogKind::Logon),
            (3, "CORP\\tanaka", LogKind::Logon),
            (5, "佐藤", LogKind::Logoff),
            (6, "CORP\\tanaka", LogKind::Logoff),
            (7, "鈴木", LogKind::Logoff),
        ]
    );
    assert_eq!(report.records[1].computer_name.as_deref(), Some("開発部-PC02"));
    let lines: Vec<(u64, &str, &str)> =
        report.errors.iter().map(|e| (e.line, e.field.as_str(), e.value.as_str())).collect();
    assert_eq!(lines, vec![(4, "UserName", "鈴木\u{FFFD}")]);
    assert!(report.errors[0].reason.contains("0xB1"), "{}", report.errors[0]);
}

#[test]
fn a_stray_byte_in_the_header_refuses_the_file_naming_line_column_and_offset() {
    let bytes = include_bytes!("fixtures/events_utf8_damaged_header.csv");
    let err = read(bytes).unwrap_err();
    let offset = "日時,イベント日時,ログオン".len();
    assert_eq!(err, ReadError::DamagedUtf8 { line: 1, column: 15, offset, bytes: vec![0xFF] });
    assert_eq!(
        err.to_string(),
        format!(
            "UTF-8 のファイルに UTF-8 として読めないバイトがあります (1 行目 15 文字目) / the file is UTF-8 but \
             holds bytes that are not: 0xFF at line 1, column 15 (byte offset {offset}); it is not read as \
             Shift_JIS (CP932), which would garble its Japanese text"
        )
    );
}

#[test]
fn decode_refuses_damaged_utf8_instead_of_reading_it_as_cp932() {
    // What the other CSV imports (employee master, 連携設定) get from `decode`.
    let err = decode(include_bytes!("fixtures/events_utf8_stray_byte_english_header.csv")).unwrap_err();
    assert!(matches!(err, ReadError::DamagedUtf8 { line: 4, bytes: ref b, .. } if b == &[0xB1]), "{err:?}");
}

#[test]
fn cp932_files_of_many_japanese_names_read_exactly_like_their_utf8_twin() {
    let cp932 = read(include_bytes!("fixtures/events_cp932_many_names.csv")).unwrap();
    let utf8 = read(include_bytes!("fixtures/events_utf8_many_names.csv")).unwrap();
    assert_eq!(cp932.encoding, "Shift_JIS");
    assert_eq!(utf8.encoding, "UTF-8");
    assert!(cp932.errors.is_empty(), "{:?}", cp932.errors);
    assert_eq!(cp932.records.len(), 346);
    assert_eq!(cp932.records, utf8.records);
    for name in ["髙橋", "山﨑", "渡邉", "德永", "邉田", "草彅", "ﾀﾅｶ ﾀﾛｳ", "CORP\\ｻﾄｳ"] {
        assert!(cp932.records.iter().any(|r| r.user_name == name), "{name} is read");
    }
    assert!(cp932.records.iter().any(|r| r.computer_name.as_deref() == Some("総務部-ＰＣ０３")));
}

#[test]
fn the_existing_cp932_fixtures_are_still_cp932() {
    for bytes in [
        &include_bytes!("fixtures/events_cp932.csv")[..],
        &include_bytes!("fixtures/summary_cp932.csv")[..],
        &include_bytes!("fixtures/events_cp932_many_names.csv")[..],
    ] {
        let mut sniffer = EncodingSniffer::default();
        sniffer.feed(bytes);
        assert_eq!(sniffer.finish(), FileEncoding::Cp932);
        assert_eq!(read(bytes).unwrap().encoding, "Shift_JIS");
    }
}

#[test]
fn a_stray_byte_inside_a_quoted_cell_spanning_lines_names_the_line_of_the_row_it_is_on() {
    let mut bytes = "日時,イベント日時,ログオンユーザ名,ログ種類,コンピュータ名\r\n\
                     2024/02/09 9:00,2024/02/09 9:00,佐藤花子,1,\"営業部\r\n2階-PC\"\r\n\
                     2024/02/09 9:01,2024/02/09 9:01,鈴木一郎,1,開発部\r\n"
        .as_bytes()
        .to_vec();
    let at = bytes.windows(3).position(|w| w == "階".as_bytes()).unwrap();
    bytes.insert(at, 0xFF);
    let report = read(&bytes).unwrap();
    assert_eq!(names(&report.records), vec![(4, "鈴木一郎", LogKind::Logon)]);
    assert_eq!(report.errors.len(), 1);
    let error = &report.errors[0];
    assert_eq!(
        (error.line, error.field.as_str(), error.value.as_str()),
        (2, "コンピュータ名", "営業部\r\n2\u{FFFD}階-PC")
    );
    assert_eq!(
        error.reason,
        "UTF-8 として読めないバイト 0xFF があります (この行から数えて 2 行目の 2 文字目) / \
         a byte that is not UTF-8: 0xFF at line 2 of the row, column 2"
    );
}

// ---------------------------------------------------------------------------------------------
// Properties

/// Every character CP932 has (kanji of both levels, kana, symbols, the NEC and IBM extensions)
/// as `encoding_rs` decodes them, without whitespace and without the user-defined characters,
/// which its encoder cannot write back.
fn cp932_characters() -> Vec<char> {
    let mut out = Vec::new();
    for lead in (0x81..=0x9Fu8).chain(0xE0..=0xFC) {
        for trail in (0x40..=0x7Eu8).chain(0x80..=0xFC) {
            let pair = [lead, trail];
            let (text, _, malformed) = encoding_rs::SHIFT_JIS.decode(&pair);
            let mut chars = text.chars();
            if let (false, Some(c), None) = (malformed, chars.next(), chars.next())
                && !c.is_whitespace()
                && !encoding_rs::SHIFT_JIS.encode(&text).2
            {
                out.push(c);
            }
        }
    }
    out
}

fn half_width_katakana() -> Vec<char> {
    ('\u{FF61}'..='\u{FF9F}').collect()
}

/// A name: Japanese, half-width kana, or plain ASCII, 1 to 8 characters.
fn name(japanese: Vec<char>, kana: Vec<char>) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::collection::vec(prop::sample::select(japanese), 1..=8).prop_map(String::from_iter),
        2 => proptest::collection::vec(prop::sample::select(kana), 1..=8).prop_map(String::from_iter),
        1 => "[a-z]{1,8}",
    ]
}

const JAPANESE_HEADER: &str =
    "日時,イベント日時,ログオンユーザ名,ログ種類,サブマネージャno,エージェントno,コンピュータ名";
const ENGLISH_HEADER: &str = "RecordTime,EventTime,UserName,LogType,SubManagerNo,AgentNo,ComputerName";

/// An events file: its header, and per row the user name and computer name.
fn events_file(rows: &[(String, String)], header: &str) -> String {
    let mut text = format!("{header}\r\n");
    for (i, (user, pc)) in rows.iter().enumerate() {
        let minute = i % 60;
        text.push_str(&format!("2024/02/09 9:{minute:02}:10,2024/02/09 9:{minute:02}:00,{user},1,1,{i},{pc}\r\n"));
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// The rule's other side: CP932 Japanese is never judged damaged UTF-8. A CP932 file that is
    /// valid UTF-8 throughout is left out: that old ambiguity is not this rule's.
    #[test]
    fn cp932_files_of_japanese_names_are_never_taken_for_damaged_utf8(
        rows in proptest::collection::vec(
            (name(cp932_characters(), half_width_katakana()), name(cp932_characters(), half_width_katakana())),
            1..40,
        ),
        english in any::<bool>(),
    ) {
        let text = events_file(&rows, if english { ENGLISH_HEADER } else { JAPANESE_HEADER });
        let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
        prop_assert!(!unmappable);
        prop_assume!(std::str::from_utf8(&bytes).is_err());
        let report = read(&bytes).unwrap();
        prop_assert_eq!(report.encoding, "Shift_JIS");
        prop_assert!(report.errors.is_empty(), "{:?}", report.errors);
        let read_back: Vec<(&str, Option<&str>)> =
            report.records.iter().map(|r| (r.user_name.as_str(), r.computer_name.as_deref())).collect();
        let written: Vec<(&str, Option<&str>)> = rows.iter().map(|(u, p)| (u.as_str(), Some(p.as_str()))).collect();
        prop_assert_eq!(read_back, written);
    }

    /// A UTF-8 file with up to four stray bytes in user names (at most one per row) loses
    /// exactly those rows, each reported by its line, and every other name reads unchanged.
    #[test]
    fn utf8_files_with_a_few_stray_bytes_lose_only_the_damaged_rows(
        rows in proptest::collection::vec(
            (name(cp932_characters(), half_width_katakana()), name(cp932_characters(), half_width_katakana())),
            1..40,
        ),
        strays in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), 0x80u8..=0xFF), 1..=4),
    ) {
        let text = events_file(&rows, JAPANESE_HEADER);
        let mut lines: Vec<Vec<u8>> = text.split_inclusive("\r\n").map(|l| l.as_bytes().to_vec()).collect();
        // Row i is on line i + 2; a stray byte goes between two characters of its user name.
        let mut damaged = std::collections::BTreeMap::new();
        for (row, place, byte) in strays {
            let row = row.index(rows.len());
            if damaged.contains_key(&row) {
                continue;
            }
            let user = &rows[row].0;
            let boundaries: Vec<usize> = user.char_indices().map(|(i, _)| i).chain([user.len()]).collect();
            let within = boundaries[place.index(boundaries.len())];
            let line = &mut lines[row + 1];
            let start = line.windows(user.len()).position(|w| w == user.as_bytes()).unwrap();
            line.insert(start + within, byte);
            damaged.insert(row, byte);
        }
        let bytes = lines.concat();
        let refused = matches!(decode(&bytes), Err(ReadError::DamagedUtf8 { .. }));
        prop_assert!(refused, "decode refuses the damaged file");
        prop_assert!(DAMAGED_UTF8_RATIO * damaged.len() as u64 <= 40);
        let report = read(&bytes).unwrap();
        prop_assert_eq!(report.encoding, "UTF-8");
        let errors: Vec<(u64, &str, String)> =
            report.errors.iter().map(|e| (e.line, e.field.as_str(), e.reason.clone())).collect();
        let expected_errors: Vec<(u64, &str, String)> = damaged
            .iter()
            .map(|(row, byte)| {
                (*row as u64 + 2, "ログオンユーザ名", format!("0x{byte:02X}"))
            })
            .collect();
        prop_assert_eq!(errors.len(), expected_errors.len());
        for ((line, field, reason), (want_line, want_field, want_byte)) in errors.iter().zip(&expected_errors) {
            prop_assert_eq!((line, field), (want_line, want_field));
            prop_assert!(reason.contains(&format!("UTF-8 として読めないバイト {want_byte} があります")), "{}", reason);
        }
        let read_back: Vec<(u64, &str)> = report.records.iter().map(|r| (r.line, r.user_name.as_str())).collect();
        let written: Vec<(u64, &str)> = rows
            .iter()
            .enumerate()
            .filter(|(i, _)| !damaged.contains_key(i))
            .map(|(i, (u, _))| (i as u64 + 2, u.as_str()))
            .collect();
        prop_assert_eq!(read_back, written);
    }
}
