//! The simulator keeps its promises: the files it writes are what the LanScope manager writes
//! (both layouts, CP932 and UTF-8, one file per day filtered by its 05:00 window, rows in the
//! manager's order), the activity has every feature the tests rely on (night shifts, two PCs,
//! domain users, a kiosk, late records), and the ground truth agrees with a second route to it
//! (min and max per business day). Tests of the test tool, in one file so that its properties
//! share their fixtures.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, date};
use lanscope_simulator::*;
use loginrec_rules::{LogKind, bare_account, business_day};
use proptest::prelude::*;

fn config(users: usize, days: u32, seed: u64, layout: OutputLayout, encoding: OutputEncoding) -> SimConfig {
    SimConfig { seed, layout, encoding, ..SimConfig::new(users, days, date(2024, 2, 5)) }
}

/// 20 users, 7 days from Monday 2024-02-05, events layout, CP932.
fn week() -> Simulation {
    simulate(&config(20, 7, 7, OutputLayout::Events, OutputEncoding::Cp932))
}

fn decode(sim: &Simulation, file: &SimFile) -> String {
    match sim.config.encoding {
        OutputEncoding::Utf8 => String::from_utf8(file.bytes.clone()).expect("UTF-8"),
        OutputEncoding::Cp932 => {
            let (text, _, malformed) = encoding_rs::SHIFT_JIS.decode(&file.bytes);
            assert!(!malformed, "{} is not valid CP932", file.name);
            text.into_owned()
        }
    }
}

fn records(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    assert!(text.ends_with("\r\n"), "lines end with CRLF");
    assert!(!text.replace("\r\n", "").contains('\n'), "no bare LF");
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let header = reader.headers().expect("header").iter().map(str::to_string).collect();
    let rows = reader.records().map(|r| r.expect("row").iter().map(str::to_string).collect()).collect();
    (header, rows)
}

fn parse_local(s: &str) -> DateTime {
    DateTime::strptime("%Y/%m/%d %H:%M:%S", s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn instant(sim: &Simulation, at: DateTime) -> Timestamp {
    sim.config.time_zone.to_ambiguous_timestamp(at).compatible().unwrap()
}

fn local(sim: &Simulation, at: Timestamp) -> DateTime {
    sim.config.time_zone.to_datetime(at)
}

#[derive(Debug)]
struct Row {
    day: Date,
    recorded: DateTime,
    event: DateTime,
    user: String,
    log_type: String,
    agent: String,
}

/// Every row of every file of an event-layout run.
fn event_rows(sim: &Simulation) -> Vec<Row> {
    let mut out = Vec::new();
    for file in &sim.files {
        let (header, rows) = records(&decode(sim, file));
        assert_eq!(header.join(","), EVENTS_HEADER);
        for r in rows {
            assert_eq!(r.len(), 7);
            out.push(Row {
                day: file.lanscope_day,
                recorded: parse_local(&r[0]),
                event: parse_local(&r[1]),
                user: r[2].clone(),
                log_type: r[3].clone(),
                agent: r[5].clone(),
            });
        }
    }
    out
}

fn employee_of<'a>(sim: &'a Simulation, user_name: &str) -> Option<&'a SimEmployee> {
    sim.employees.iter().find(|e| e.service_account == bare_account(user_name))
}

fn output_day(sim: &Simulation, at: Timestamp) -> Option<Date> {
    let day = business_day(at, &sim.config.time_zone, sim.config.collection_start);
    sim.files.iter().any(|f| f.lanscope_day == day).then_some(day)
}

fn is_dropped(sim: &Simulation, e: &ActivityEvent) -> bool {
    e.kind().is_some()
        && e.user_name != SYSTEM_USER
        && output_day(sim, e.event_at).is_some_and(|d| e.recorded_at >= manager_window(&sim.config, d).1)
}

// ---------------------------------------------------------------------------------------------
// Determinism

#[test]
fn the_same_seed_gives_the_same_files_and_the_same_truth() {
    let a = week();
    let b = week();
    assert_eq!(a.files, b.files);
    assert_eq!(a.expected, b.expected);
    assert_eq!(a.events_in_files, b.events_in_files);
    assert_eq!(a.activity, b.activity);
}

#[test]
fn a_different_seed_gives_different_files_and_a_different_truth() {
    let a = week();
    let b = simulate(&SimConfig { seed: 8, ..a.config.clone() });
    assert_ne!(a.files, b.files);
    assert_ne!(a.expected, b.expected);
}

// ---------------------------------------------------------------------------------------------
// The manager's filter

#[test]
fn every_written_row_passes_the_managers_filter_for_its_files_day() {
    let sim = week();
    let rows = event_rows(&sim);
    assert!(rows.len() > 100);
    for row in &rows {
        let (start, end) = manager_window(&sim.config, row.day);
        for t in [row.recorded, row.event] {
            let t = instant(&sim, t);
            assert!(start <= t && t < end, "{row:?} outside the window of {}", row.day);
        }
        assert!(!row.user.eq_ignore_ascii_case("SYSTEM"), "{row:?}");
        assert!(row.log_type == "1" || row.log_type == "2", "{row:?}");
    }
}

#[test]
fn every_summary_row_lies_inside_its_files_day() {
    let sim = simulate(&config(20, 7, 3, OutputLayout::Summary, OutputEncoding::Cp932));
    for file in &sim.files {
        let (header, rows) = records(&decode(&sim, file));
        assert_eq!(header.join(","), SUMMARY_HEADER);
        assert!(!rows.is_empty());
        let (start, end) = manager_window(&sim.config, file.lanscope_day);
        for r in rows {
            assert_eq!(
                r[0],
                format!(
                    "{:04}/{:02}/{:02}",
                    file.lanscope_day.year(),
                    file.lanscope_day.month(),
                    file.lanscope_day.day()
                )
            );
            assert!(!r[1].eq_ignore_ascii_case("SYSTEM"));
            assert!(!r[2].is_empty() || !r[3].is_empty());
            for cell in &r[2..4] {
                if !cell.is_empty() {
                    let t = instant(&sim, parse_local(cell));
                    assert!(start <= t && t < end, "{r:?}");
                }
            }
        }
    }
}

#[test]
fn system_and_other_operations_are_generated_but_never_written() {
    let sim = week();
    assert!(sim.activity.iter().any(|e| e.user_name == SYSTEM_USER && matches!(e.log_type, 1 | 2)));
    assert!(sim.activity.iter().any(|e| e.log_type == 3));
    assert!(sim.activity.iter().any(|e| e.log_type == 4));
    for file in &sim.files {
        let text = decode(&sim, file);
        assert!(!text.contains("SYSTEM"), "{}", file.name);
    }
    assert!(event_rows(&sim).iter().all(|r| r.log_type == "1" || r.log_type == "2"));
}

#[test]
fn the_files_hold_exactly_the_activity_that_passes_the_filter() {
    let sim = week();
    let rows = event_rows(&sim);
    assert_eq!(rows.len(), sim.events_in_files.len());
    let mut expected = 0;
    for file in &sim.files {
        let window = manager_window(&sim.config, file.lanscope_day);
        expected += sim.activity.iter().filter(|e| e.passes_manager_filter(window)).count();
    }
    assert_eq!(rows.len(), expected);
    for (row, event) in rows.iter().zip(&sim.events_in_files) {
        assert_eq!(row.user, event.user_name);
        assert_eq!(instant(&sim, row.event), event.event_at);
        assert_eq!(instant(&sim, row.recorded), event.recorded_at);
        assert_eq!(row.log_type, event.kind.lanscope_type().to_string());
        assert_eq!(row.agent, event.agent_no);
    }
}

#[test]
fn there_is_one_file_per_lanscope_day_named_after_it() {
    let sim = week();
    let names: Vec<&str> = sim.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "kintai_20240205.csv",
            "kintai_20240206.csv",
            "kintai_20240207.csv",
            "kintai_20240208.csv",
            "kintai_20240209.csv",
            "kintai_20240210.csv",
            "kintai_20240211.csv"
        ]
    );
    let days: Vec<Date> = sim.files.iter().map(|f| f.lanscope_day).collect();
    assert_eq!(days, sim.config.output_days().collect::<Vec<_>>());
}

#[test]
fn event_rows_are_ordered_by_user_name_then_event_time() {
    let sim = week();
    let rows = event_rows(&sim);
    for pair in rows.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.day != b.day {
            continue;
        }
        let order = user_name_order(&a.user, &b.user);
        assert!(order.is_lt() || (order.is_eq() && a.event <= b.event), "{a:?} before {b:?}");
    }
}

#[test]
fn a_summary_row_holds_the_first_start_and_the_last_end_of_the_user_on_all_pcs() {
    let sim = simulate(&config(12, 5, 11, OutputLayout::Summary, OutputEncoding::Utf8));
    for file in &sim.files {
        let window = manager_window(&sim.config, file.lanscope_day);
        let (_, rows) = records(&decode(&sim, file));
        let mut users = BTreeSet::new();
        for r in &rows {
            assert!(users.insert(r[1].clone()), "one row per user: {}", r[1]);
            let selected: Vec<&ActivityEvent> =
                sim.activity.iter().filter(|e| e.user_name == r[1] && e.passes_manager_filter(window)).collect();
            let first = selected.iter().filter(|e| e.log_type == 1).map(|e| e.event_at).min();
            let last = selected.iter().filter(|e| e.log_type == 2).map(|e| e.event_at).max();
            let cell = |t: Option<Timestamp>| t.map(|t| format_date_time(local(&sim, t))).unwrap_or_default();
            assert_eq!(r[2], cell(first));
            assert_eq!(r[3], cell(last));
        }
        let written: BTreeSet<String> =
            sim.activity.iter().filter(|e| e.passes_manager_filter(window)).map(|e| e.user_name.clone()).collect();
        assert_eq!(users, written);
    }
    let two_pc_user = &sim.employees[3];
    assert!(sim.events_in_files.iter().all(|e| e.agent_no.is_empty()));
    assert!(sim.events_in_files.iter().any(|e| bare_account(&e.user_name) == two_pc_user.service_account));
}

// ---------------------------------------------------------------------------------------------
// Scenario features

#[test]
fn a_night_shift_logoff_after_five_lands_in_the_next_days_file() {
    let sim = week();
    let rows = event_rows(&sim);
    let found = rows.iter().any(|on| {
        on.log_type == "1"
            && on.event.hour() >= 21
            && rows.iter().any(|off| {
                off.user == on.user
                    && off.log_type == "2"
                    && off.day == on.day.tomorrow().unwrap()
                    && off.event.date() == off.day
                    && (5..8).contains(&off.event.hour())
            })
    });
    assert!(found);
}

#[test]
fn a_logoff_after_midnight_stays_in_the_file_of_the_day_before() {
    let sim = week();
    let rows = event_rows(&sim);
    assert!(
        rows.iter().any(|r| r.log_type == "2" && r.event.date() == r.day.tomorrow().unwrap() && r.event.hour() < 5)
    );
}

#[test]
fn an_early_logon_before_five_is_in_the_file_of_the_day_before() {
    let sim = week();
    let rows = event_rows(&sim);
    assert!(
        rows.iter().any(|r| r.log_type == "1" && r.event.date() == r.day.tomorrow().unwrap() && r.event.hour() == 4)
    );
}

#[test]
fn one_user_name_is_used_on_two_pcs_with_two_agent_numbers_for_one_employee() {
    let sim = week();
    let mut agents: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in &sim.events_in_files {
        agents.entry(e.user_name.as_str()).or_default().insert(e.agent_no.as_str());
    }
    let shared: Vec<&str> = agents.iter().filter(|(_, a)| a.len() >= 2).map(|(u, _)| *u).collect();
    assert_eq!(shared.len(), 1, "{shared:?}");
    let employee = employee_of(&sim, shared[0]).expect("linked");
    assert_eq!(employee.code, "0004");
}

#[test]
fn a_domain_user_is_written_with_its_domain_and_linked_by_the_bare_name() {
    let sim = week();
    let domain_user = sim.events_in_files.iter().find(|e| e.user_name.contains('\\')).expect("a domain user");
    assert!(domain_user.user_name.starts_with(&format!("{DOMAIN}\\")));
    let employee = employee_of(&sim, &domain_user.user_name).expect("linked");
    assert!(!employee.service_account.contains('\\'));
    assert!(links_csv(&sim).contains(&format!("\"{}\"\r\n", employee.service_account)));
}

#[test]
fn user_names_are_mostly_plain_with_mixed_case_and_one_in_kanji() {
    let sim = week();
    let names: BTreeSet<&str> = sim.events_in_files.iter().map(|e| e.user_name.as_str()).collect();
    assert!(names.contains("sato0001"));
    assert!(names.contains("Tanaka0003"));
    assert!(names.contains("CORP\\suzuki0002"));
    assert!(names.contains("髙橋健太"));
    let plain = names.iter().filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric())).count();
    assert!(plain * 2 > names.len());
}

#[test]
fn the_unlinked_kiosk_user_is_written_but_gets_no_punch() {
    let sim = week();
    assert!(sim.events_in_files.iter().any(|e| e.user_name == UNLINKED_USER));
    assert!(employee_of(&sim, UNLINKED_USER).is_none());
    assert!(!links_csv(&sim).contains(UNLINKED_USER));
    let codes: BTreeSet<&str> = sim.employees.iter().map(|e| e.code.as_str()).collect();
    assert!(sim.expected.iter().all(|p| codes.contains(p.employee_code.as_str())));
}

#[test]
fn an_event_recorded_after_its_window_closed_is_dropped_from_every_file() {
    let sim = week();
    let dropped: Vec<&ActivityEvent> = sim.activity.iter().filter(|e| is_dropped(&sim, e)).collect();
    assert!(!dropped.is_empty());
    for e in dropped {
        assert!(
            !sim.events_in_files
                .iter()
                .any(|f| f.event_at == e.event_at && f.user_name == e.user_name && f.agent_no == e.agent_no)
        );
    }
}

#[derive(Debug, Default)]
struct Features {
    night_shift_into_next_file: bool,
    post_midnight_logoff: bool,
    early_logon: bool,
    two_agents_one_name: bool,
    domain_user: bool,
    kanji_user: bool,
    unlinked_user: bool,
    dropped_late_record: bool,
    system_user: bool,
    other_operations: bool,
}

fn features(sim: &Simulation) -> Features {
    let rows = event_rows(sim);
    let mut agents: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in &rows {
        agents.entry(r.user.as_str()).or_default().insert(r.agent.as_str());
    }
    Features {
        night_shift_into_next_file: rows.iter().any(|off| {
            off.log_type == "2"
                && off.event.date() == off.day
                && (5..8).contains(&off.event.hour())
                && rows.iter().any(|on| {
                    on.user == off.user
                        && on.log_type == "1"
                        && on.event.hour() >= 21
                        && on.day.tomorrow().unwrap() == off.day
                })
        }),
        post_midnight_logoff: rows.iter().any(|r| r.log_type == "2" && r.event.date() > r.day),
        early_logon: rows.iter().any(|r| r.log_type == "1" && r.event.date() > r.day),
        two_agents_one_name: agents.values().any(|a| a.len() >= 2),
        domain_user: rows.iter().any(|r| r.user.starts_with("CORP\\")),
        kanji_user: rows.iter().any(|r| r.user.contains('髙')),
        unlinked_user: rows.iter().any(|r| r.user == UNLINKED_USER),
        dropped_late_record: sim.activity.iter().any(|e| is_dropped(sim, e)),
        system_user: sim.activity.iter().any(|e| e.user_name == SYSTEM_USER),
        other_operations: sim.activity.iter().any(|e| matches!(e.log_type, 3 | 4)),
    }
}

#[test]
fn every_feature_is_there_with_ten_users_whatever_the_seed_and_start_day() {
    for seed in 0..6 {
        for start in [date(2024, 2, 3), date(2024, 2, 4), date(2024, 12, 30)] {
            let sim = simulate(&SimConfig { seed, ..SimConfig::new(10, 2, start) });
            let f = features(&sim);
            let all = [
                f.night_shift_into_next_file,
                f.post_midnight_logoff,
                f.early_logon,
                f.two_agents_one_name,
                f.domain_user,
                f.kanji_user,
                f.unlinked_user,
                f.dropped_late_record,
                f.system_user,
                f.other_operations,
            ];
            assert!(all.iter().all(|x| *x), "seed {seed}, start {start}: {f:?}");
        }
    }
}

#[test]
fn a_one_user_one_day_run_still_drops_a_late_record_and_writes_the_kiosk() {
    let sim = simulate(&SimConfig::new(1, 1, date(2024, 2, 10)));
    assert_eq!(sim.files.len(), 1);
    assert!(sim.activity.iter().any(|e| is_dropped(&sim, e)));
    assert!(sim.events_in_files.iter().any(|e| e.user_name == UNLINKED_USER));
}

// ---------------------------------------------------------------------------------------------
// Encoding

#[test]
fn cp932_files_decode_to_the_same_text_as_utf8_files() {
    for layout in [OutputLayout::Events, OutputLayout::Summary] {
        let cp932 = simulate(&config(20, 4, 5, layout, OutputEncoding::Cp932));
        let utf8 = simulate(&config(20, 4, 5, layout, OutputEncoding::Utf8));
        assert_eq!(cp932.files.len(), utf8.files.len());
        for (a, b) in cp932.files.iter().zip(&utf8.files) {
            let text = String::from_utf8(b.bytes.clone()).unwrap();
            assert!(!text.starts_with('\u{feff}'), "no BOM");
            let (decoded, _, malformed) = encoding_rs::SHIFT_JIS.decode(&a.bytes);
            assert!(!malformed);
            assert_eq!(decoded, text);
            assert!(!decoded.contains("&#"), "no numeric character references");
            assert_ne!(a.bytes, b.bytes, "CP932 differs from UTF-8 (the header is Japanese)");
        }
    }
}

#[test]
fn the_kanji_account_is_written_with_its_cp932_code_only_where_the_text_has_it() {
    let sim = simulate(&config(20, 3, 5, OutputLayout::Events, OutputEncoding::Cp932));
    // 髙 is FB FC in CP932 (an IBM extension); 橋 is 8B B4.
    let taka = [0xFBu8, 0xFC];
    for file in &sim.files {
        let text = decode(&sim, file);
        let in_bytes = file.bytes.windows(2).filter(|w| *w == taka).count();
        assert_eq!(in_bytes, text.matches('髙').count(), "{}", file.name);
    }
    assert!(sim.files[0].bytes.windows(4).any(|w| w == [0xFB, 0xFC, 0x8B, 0xB4]));
}

#[test]
fn the_fixed_name_lists_are_all_representable_in_cp932() {
    let sim = simulate(&SimConfig::new(200, 1, date(2024, 2, 5)));
    for text in [departments_csv(&sim), employees_csv(&sim), links_csv(&sim), expected_punches_csv(&sim)] {
        let bytes = encode_text(&text, OutputEncoding::Cp932).expect("CP932");
        let (decoded, _, malformed) = encoding_rs::SHIFT_JIS.decode(&bytes);
        assert!(!malformed);
        assert_eq!(decoded, text);
    }
    assert!(employees_csv(&sim).contains("髙橋"));
    assert!(try_simulate(&sim.config).is_ok());
}

#[test]
fn an_unmappable_character_is_refused_rather_than_written_as_a_reference() {
    assert_eq!(encode_text("𠮷田", OutputEncoding::Cp932), Err(UnmappableCharacter('𠮷')));
    assert_eq!(encode_text("café", OutputEncoding::Cp932), Err(UnmappableCharacter('é')));
    assert_eq!(encode_text("𠮷田", OutputEncoding::Utf8).unwrap(), "𠮷田".as_bytes());
    assert_eq!(encode_text("髙橋", OutputEncoding::Cp932).unwrap(), [0xFB, 0xFC, 0x8B, 0xB4]);
}

// ---------------------------------------------------------------------------------------------
// Masters and truth formats

#[test]
fn masters_have_their_headers_and_keep_leading_zeros() {
    let sim = simulate(&SimConfig::new(4, 1, date(2024, 2, 5)));
    assert_eq!(departments_csv(&sim), "所属コード,所属名,日付変更時間\r\n100,本社,05:00\r\n200,営業所,00:00\r\n");
    assert_eq!(
        employees_csv(&sim),
        "従業員コード,姓,名,所属コード\r\n0001,佐藤,太郎,100\r\n0002,鈴木,花子,200\r\n0003,田中,一郎,100\r\n0004,高橋,美咲,200\r\n"
    );
    assert_eq!(
        links_csv(&sim),
        "連携種別,種別コード,打刻先アカウント,姓・名,サービスアカウント\r\n\
         LanScope連携,\"2\",\"0001\",\"佐藤 太郎\",\"sato0001\"\r\n\
         LanScope連携,\"2\",\"0002\",\"鈴木 花子\",\"suzuki0002\"\r\n\
         LanScope連携,\"2\",\"0003\",\"田中 一郎\",\"Tanaka0003\"\r\n\
         LanScope連携,\"2\",\"0004\",\"高橋 美咲\",\"takahashi0004\"\r\n"
    );
}

#[test]
fn employees_alternate_between_the_five_oclock_and_the_midnight_department() {
    let sim = simulate(&SimConfig::new(6, 1, date(2024, 2, 5)));
    let departments: Vec<&str> = sim.employees.iter().map(|e| e.department_code.as_str()).collect();
    assert_eq!(departments, ["100", "200", "100", "200", "100", "200"]);
    assert_eq!(sim.departments[0].day_change.to_string(), "05:00");
    assert_eq!(sim.departments[1].day_change.to_string(), "00:00");
}

#[test]
fn expected_punches_are_written_with_business_date_and_minutes() {
    let mut sim = simulate(&SimConfig::new(2, 1, date(2024, 2, 9)));
    sim.expected = vec![
        ExpectedPunch {
            employee_code: "0001".into(),
            business_date: date(2024, 2, 9),
            clock_in: Some(date(2024, 2, 9).at(9, 3, 41, 0)),
            clock_out: Some(date(2024, 2, 9).at(18, 22, 5, 0)),
        },
        ExpectedPunch {
            employee_code: "0001".into(),
            business_date: date(2024, 2, 10),
            clock_in: Some(date(2024, 2, 10).at(9, 0, 0, 0)),
            clock_out: Some(date(2024, 2, 11).at(1, 15, 59, 0)),
        },
        ExpectedPunch {
            employee_code: "0002".into(),
            business_date: date(2024, 2, 9),
            clock_in: Some(date(2024, 2, 9).at(22, 0, 0, 0)),
            clock_out: None,
        },
    ];
    assert_eq!(
        expected_punches_csv(&sim),
        "従業員コード,日付,出勤,退勤\r\n\
         0001,2024-02-09,2024/02/09 09:03,2024/02/09 18:22\r\n\
         0001,2024-02-10,2024/02/10 09:00,2024/02/11 01:15\r\n\
         0002,2024-02-09,2024/02/09 22:00,\r\n"
    );
}

#[test]
fn a_post_midnight_logoff_is_the_clock_out_of_the_same_day_in_a_five_oclock_department() {
    let sim = week();
    let start = sim.config.start;
    let punch = sim.expected.iter().find(|p| p.employee_code == "0001" && p.business_date == start).expect("a day");
    let out = punch.clock_out.expect("a clock-out");
    assert_eq!(out.date(), start.tomorrow().unwrap());
    assert!(out.hour() < 5);
    let line = format!("{:02}/{:02} {:02}:{:02}", out.month(), out.day(), out.hour(), out.minute());
    let csv = expected_punches_csv(&sim);
    let row = csv.lines().find(|l| l.starts_with("0001,2024-02-05,")).expect("row");
    assert!(row.ends_with(&line), "{row}");
}

#[test]
fn a_post_midnight_logoff_opens_the_next_day_in_a_midnight_department() {
    let sim = week();
    let start = sim.config.start;
    let logoff = sim
        .events_in_files
        .iter()
        .find(|e| {
            e.user_name == "CORP\\suzuki0002" && e.kind == LogKind::Logoff && local(&sim, e.event_at).date() > start
        })
        .expect("the forced late logoff");
    let next = start.tomorrow().unwrap();
    let punch = sim.expected.iter().find(|p| p.employee_code == "0002" && p.business_date == next).expect("a day");
    assert_eq!(punch.clock_in, Some(local(&sim, logoff.event_at)));
}

#[test]
fn a_record_whose_business_day_is_after_the_last_output_day_still_counts() {
    // Employee 0002 (00:00 department) logs off after midnight on the only output day: the
    // logoff is in that day's file but belongs to the next business day.
    let start = date(2024, 2, 5);
    let sim = simulate(&SimConfig::new(2, 1, start));
    let next = start.tomorrow().unwrap();
    assert!(sim.expected.iter().any(|p| p.employee_code == "0002" && p.business_date == next));
    for p in &sim.expected {
        assert!(p.business_date == start || p.business_date == next, "{p:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Properties

/// The truth by a second route: min and max of each (employee, business day), a clock-out only
/// with two or more records.
fn min_max_truth(sim: &Simulation) -> BTreeMap<(String, Date), (Timestamp, Timestamp, usize)> {
    let mut days: BTreeMap<(String, Date), (Timestamp, Timestamp, usize)> = BTreeMap::new();
    for e in &sim.events_in_files {
        let Some(employee) = employee_of(sim, &e.user_name) else { continue };
        let change = sim.departments.iter().find(|d| d.code == employee.department_code).unwrap().day_change;
        let day = business_day(e.event_at, &sim.config.time_zone, change);
        let entry = days.entry((employee.code.clone(), day)).or_insert((e.event_at, e.event_at, 0));
        entry.0 = entry.0.min(e.event_at);
        entry.1 = entry.1.max(e.event_at);
        entry.2 += 1;
    }
    days
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn every_expected_punch_is_ordered_and_every_employee_with_records_has_rows(
        users in 1usize..12,
        days in 1u32..5,
        seed in any::<u64>(),
        offset in 0i64..1500,
        summary in any::<bool>(),
    ) {
        let start = date(2023, 1, 1).checked_add(jiff::Span::new().days(offset)).unwrap();
        let layout = if summary { OutputLayout::Summary } else { OutputLayout::Events };
        let sim = simulate(&SimConfig { seed, layout, encoding: OutputEncoding::Utf8, ..SimConfig::new(users, days, start) });

        prop_assert_eq!(sim.files.len(), days as usize);
        for p in &sim.expected {
            prop_assert!(p.clock_in.is_some());
            if let (Some(i), Some(o)) = (p.clock_in, p.clock_out) {
                prop_assert!(i <= o, "{:?}", p);
            }
        }
        let keys: Vec<(String, Date)> = sim.expected.iter().map(|p| (p.employee_code.clone(), p.business_date)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        prop_assert_eq!(&keys, &sorted);

        let with_records: BTreeSet<&str> = sim
            .events_in_files
            .iter()
            .filter_map(|e| employee_of(&sim, &e.user_name))
            .map(|e| e.code.as_str())
            .collect();
        let with_rows: BTreeSet<&str> = sim.expected.iter().map(|p| p.employee_code.as_str()).collect();
        prop_assert_eq!(with_records, with_rows);

        let truth = min_max_truth(&sim);
        prop_assert_eq!(truth.len(), sim.expected.len());
        for p in &sim.expected {
            let (first, last, n) = truth[&(p.employee_code.clone(), p.business_date)];
            prop_assert_eq!(p.clock_in, Some(local(&sim, first)));
            prop_assert_eq!(p.clock_out, (n >= 2).then(|| local(&sim, last)));
        }

        for file in &sim.files {
            let window = manager_window(&sim.config, file.lanscope_day);
            prop_assert!(window.0 < window.1);
        }
        if !summary {
            for e in &sim.events_in_files {
                let day = business_day(e.event_at, &sim.config.time_zone, sim.config.collection_start);
                let window = manager_window(&sim.config, day);
                prop_assert!(window.0 <= e.recorded_at && e.recorded_at < window.1);
                prop_assert!(e.user_name != SYSTEM_USER);
            }
        }
    }
}
