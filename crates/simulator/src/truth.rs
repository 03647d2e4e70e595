//! The ground truth: the punches the attendance system must show once every file is delivered.
//!
//! This is an oracle, written from the words of the specification (§3 for user names and
//! date-times, §5 "Punch rules" for business days and punches) and not from the product's
//! code: it calls none of the functions of `loginrec_rules` that decide a punch (business day,
//! punch derivation, idempotency key, account matching). Only plain types cross over:
//! [`DayChangeTime`] is read for its hour and minute, [`LogKind`] is a tag. The end-to-end
//! tests compare this truth with the time card; had the truth been computed by the product's
//! own rules, a wrong rule would have agreed with itself and passed. The rules it implements:
//!
//! - **Account.** A `DOMAIN\user` name matches the サービスアカウント that equals what follows the
//!   `\` (`CORP\suzuki` → `suzuki`); a name without a domain matches itself. Matching is
//!   exact, case included (`CORP\Suzuki` is not `suzuki`).
//! - **Instant of a record.** The file writes a local date-time to the second, without an
//!   offset, and it is read in the company's time zone. Read by the rule below, a wall-clock
//!   time that occurs twice (clocks turned back) is its first occurrence, so a record of the
//!   second occurrence counts at the first: the files cannot say otherwise.
//! - **Business day.** Day D starts at the first instant whose wall clock reads
//!   `D + 日付変更時間` or later: a time the clocks jump over starts the day at the instant they
//!   jump to, a time that occurs twice starts it at its first occurrence. D ends where D+1
//!   starts, so every instant belongs to exactly one business day (a day the calendar skips
//!   holds no instant at all).
//! - **Distinct logs.** The same record seen twice counts once. A record is identified by its
//!   own fields: the user name as written, the kind, the instant, and in the event layout the
//!   sub-manager and agent numbers (the summary layout shows neither). The same user name on
//!   two PCs at the same second is two logs.
//! - **Punches.** 出勤 is the earliest distinct log of the employee's business day; 退勤 is the
//!   latest, when the day has at least two distinct logs (one log gives only 出勤).
//!
//! The simulated company has one link per employee, held from the beginning, and one
//! unchanging department per employee, so link and department history play no part here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use loginrec_rules::{DayChangeTime, LogKind};

use crate::{ExpectedPunch, OutputLayout, SimConfig, SimDepartment, SimEmployee, SimEvent, Simulation, add_days};

/// One log as far as identity goes: two records with equal fields are the same log. `at` comes
/// first so that a day's set of logs is in time order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Log<'a> {
    at: Timestamp,
    user_name: &'a str,
    kind: LogKind,
    sub_manager_no: &'a str,
    agent_no: &'a str,
}

/// Per (employee, business day) the 出勤 / 退勤 that the records of the files give, sorted by
/// employee code and business date.
pub(crate) fn expected_punches(
    config: &SimConfig,
    departments: &[SimDepartment],
    employees: &[SimEmployee],
    records: &[SimEvent],
) -> Vec<ExpectedPunch> {
    let tz = &config.time_zone;
    let day_change: HashMap<&str, DayChangeTime> =
        departments.iter().map(|d| (d.code.as_str(), d.day_change)).collect();
    // An employee whose department is unknown cuts days at the attendance system's default 00:00.
    let holder: HashMap<&str, (&str, DayChangeTime)> = employees
        .iter()
        .map(|e| {
            let change = day_change.get(e.department_code.as_str()).copied().unwrap_or(DayChangeTime::MIDNIGHT);
            (e.service_account.as_str(), (e.code.as_str(), change))
        })
        .collect();

    let mut days: BTreeMap<(&str, Date), BTreeSet<Log>> = BTreeMap::new();
    for record in records {
        let Some(&(code, change)) = holder.get(service_account_of(&record.user_name)) else { continue };
        // Both are `None` only outside the calendar jiff supports, which `try_simulate` refuses
        // before any record exists.
        let Some(at) = instant_as_written(record.event_at, tz) else { continue };
        let Some(day) = business_day_of(at, tz, change) else { continue };
        let (sub_manager_no, agent_no) = match config.layout {
            OutputLayout::Events => (record.sub_manager_no.as_str(), record.agent_no.as_str()),
            OutputLayout::Summary => ("", ""),
        };
        let log = Log { at, user_name: &record.user_name, kind: record.kind, sub_manager_no, agent_no };
        days.entry((code, day)).or_default().insert(log);
    }

    days.into_iter()
        .map(|((code, day), logs)| {
            let clock_in = logs.first().map(|l| l.at);
            let clock_out = if logs.len() >= 2 { logs.last().map(|l| l.at) } else { None };
            ExpectedPunch {
                employee_code: code.to_string(),
                business_date: day,
                clock_in: clock_in.map(|t| tz.to_datetime(t)),
                clock_out: clock_out.map(|t| tz.to_datetime(t)),
            }
        })
        .collect()
}

/// The サービスアカウント a LanScope user name matches: what follows the domain's `\`, or the
/// whole name when it has no domain; the case is kept. (A Windows account name cannot contain
/// `\`, so the domain ends at the last one.)
fn service_account_of(user_name: &str) -> &str {
    match user_name.rfind('\\') {
        Some(backslash) => &user_name[backslash + 1..],
        None => user_name,
    }
}

/// The instant the file gives a record that happened at `event_at`: its local date-time, cut to
/// the second as the file writes it, read back in the company's time zone.
fn instant_as_written(event_at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
    let local = tz.to_datetime(event_at);
    let written = local.date().to_datetime(Time::new(local.hour(), local.minute(), local.second(), 0).ok()?);
    first_instant_reading(written, tz)
}

/// The first instant at which the wall clock of `tz` reads `local` or later.
///
/// A time that exists once is that instant. A time that occurs twice (clocks turned back) is
/// its first occurrence: the reading with the offset in force before the turn. A time the
/// clocks jump over is the instant of the jump, found by halving the interval between the two
/// readings of `local`: with the offset after the jump it names an instant whose clock still
/// reads earlier, with the offset before it one whose clock already reads later. `None` only
/// outside jiff's range.
fn first_instant_reading(local: DateTime, tz: &TimeZone) -> Option<Timestamp> {
    match tz.to_ambiguous_timestamp(local).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(local).ok(),
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(local).ok(),
        AmbiguousOffset::Gap { before, after } => {
            let mut reads_earlier = after.to_timestamp(local).ok()?.as_nanosecond();
            let mut reads_later = before.to_timestamp(local).ok()?.as_nanosecond();
            while reads_later - reads_earlier > 1 {
                let middle = reads_earlier + (reads_later - reads_earlier) / 2;
                if tz.to_datetime(Timestamp::from_nanosecond(middle).ok()?) >= local {
                    reads_later = middle;
                } else {
                    reads_earlier = middle;
                }
            }
            Timestamp::from_nanosecond(reads_later).ok()
        }
    }
}

/// The instant business day `day` starts: the first at which the clock reads `day + change`.
fn day_start(day: Date, tz: &TimeZone, change: DayChangeTime) -> Option<Timestamp> {
    let change = Time::new(i8::try_from(change.hour()).ok()?, i8::try_from(change.minute()).ok()?, 0, 0).ok()?;
    first_instant_reading(day.to_datetime(change), tz)
}

/// The business day whose `[start, next day's start)` holds `at`.
///
/// Its date is within a day or two of the local date of `at`: a day starts between its own
/// 00:00 and 23:59 local, moved at most by a jump of the clocks. The candidates are searched
/// from three days before to one day after.
fn business_day_of(at: Timestamp, tz: &TimeZone, change: DayChangeTime) -> Option<Date> {
    let local_date = tz.to_datetime(at).date();
    (-3..=1).filter_map(|n| add_days(local_date, n)).find(|&day| {
        let starts_by = day_start(day, tz, change).is_some_and(|start| start <= at);
        let next_start = add_days(day, 1).and_then(|next| day_start(next, tz, change));
        starts_by && next_start.is_none_or(|end| at < end)
    })
}

/// `従業員コード,日付,出勤,退勤`: 日付 the business date as `YYYY-MM-DD`, 出勤 / 退勤 as
/// `YYYY/MM/DD HH:MM` (seconds cut, each with its own calendar date), empty when none.
pub fn expected_punches_csv(sim: &Simulation) -> String {
    let mut text = String::from("従業員コード,日付,出勤,退勤\r\n");
    for p in &sim.expected {
        text.push_str(&format!(
            "{},{:04}-{:02}-{:02},{},{}\r\n",
            crate::manager::field(&p.employee_code),
            p.business_date.year(),
            p.business_date.month(),
            p.business_date.day(),
            p.clock_in.map(minutes).unwrap_or_default(),
            p.clock_out.map(minutes).unwrap_or_default(),
        ));
    }
    text
}

fn minutes(at: DateTime) -> String {
    format!("{:04}/{:02}/{:02} {:02}:{:02}", at.year(), at.month(), at.day(), at.hour(), at.minute())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use jiff::tz::Offset;
    use jiff::{SignedDuration, Span};
    use proptest::prelude::*;

    const FIVE: DayChangeTime = DayChangeTime::LANSCOPE_DEFAULT;
    const MIDNIGHT: DayChangeTime = DayChangeTime::MIDNIGHT;

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn change(hour: u8, minute: u8) -> DayChangeTime {
        DayChangeTime::from_hm(hour, minute).unwrap()
    }

    fn utc(text: &str) -> Timestamp {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// A wall-clock time that exists exactly once in `tz`.
    fn local_at(tz: &TimeZone, at: DateTime) -> Timestamp {
        match tz.to_ambiguous_timestamp(at).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(at).unwrap(),
            other => panic!("{at} is ambiguous: {other:?}"),
        }
    }

    fn day_in(tz: &TimeZone, at: Timestamp, change: DayChangeTime) -> Date {
        business_day_of(at, tz, change).expect("in range")
    }

    // -----------------------------------------------------------------------------------------
    // Business day

    #[test]
    fn one_second_before_the_change_time_belongs_to_the_day_before() {
        let tokyo = crate::tokyo();
        let before = local_at(&tokyo, date(2024, 12, 9).at(4, 59, 59, 0));
        let at = local_at(&tokyo, date(2024, 12, 9).at(5, 0, 0, 0));
        assert_eq!(day_in(&tokyo, before, FIVE), date(2024, 12, 8));
        assert_eq!(day_in(&tokyo, at, FIVE), date(2024, 12, 9));

        let before_midnight = local_at(&tokyo, date(2024, 12, 8).at(23, 59, 59, 0));
        let midnight = local_at(&tokyo, date(2024, 12, 9).at(0, 0, 0, 0));
        assert_eq!(day_in(&tokyo, before_midnight, MIDNIGHT), date(2024, 12, 8));
        assert_eq!(day_in(&tokyo, midnight, MIDNIGHT), date(2024, 12, 9));
    }

    #[test]
    fn a_one_oclock_logoff_belongs_to_the_day_before_with_five_and_to_its_own_day_with_midnight() {
        let tokyo = crate::tokyo();
        let one = local_at(&tokyo, date(2024, 12, 9).at(1, 0, 0, 0));
        assert_eq!(day_in(&tokyo, one, FIVE), date(2024, 12, 8));
        assert_eq!(day_in(&tokyo, one, MIDNIGHT), date(2024, 12, 9));
    }

    #[test]
    fn a_change_time_the_clocks_jump_over_starts_the_day_at_the_jump() {
        // New York, 2024-03-10: 02:00 EST is followed by 03:00 EDT, at 07:00 UTC.
        let ny = zone("America/New_York");
        let jump = utc("2024-03-10T07:00:00Z");
        for change in [change(2, 0), change(2, 30), change(2, 59)] {
            assert_eq!(day_start(date(2024, 3, 10), &ny, change), Some(jump), "{change}");
            assert_eq!(day_in(&ny, jump, change), date(2024, 3, 10));
            assert_eq!(day_in(&ny, jump - SignedDuration::from_secs(1), change), date(2024, 3, 9));
        }
        // The hour the clocks skip is shared out: 3/9 ends half an hour early (at the jump), and
        // 3/10 starts there, half an hour late.
        let day = |d| day_start(d, &ny, change(2, 30)).unwrap();
        let half_past_twenty_three = SignedDuration::from_mins(23 * 60 + 30);
        assert_eq!(day(date(2024, 3, 10)).duration_since(day(date(2024, 3, 9))), half_past_twenty_three);
        assert_eq!(day(date(2024, 3, 11)).duration_since(day(date(2024, 3, 10))), half_past_twenty_three);
    }

    #[test]
    fn a_change_time_that_occurs_twice_starts_the_day_at_its_first_occurrence() {
        // New York, 2024-11-03: 01:00–01:59 occur at EDT (05:00–05:59 UTC), then again at EST.
        let ny = zone("America/New_York");
        let first = utc("2024-11-03T05:30:00Z");
        assert_eq!(day_start(date(2024, 11, 3), &ny, change(1, 30)), Some(first));
        assert_eq!(day_in(&ny, first - SignedDuration::from_secs(1), change(1, 30)), date(2024, 11, 2));
        assert_eq!(day_in(&ny, first, change(1, 30)), date(2024, 11, 3));
        // 01:10 EST, after the clocks turned back, reads earlier than 01:30 but comes after the
        // start: it belongs to the new day.
        assert_eq!(day_in(&ny, utc("2024-11-03T06:10:00Z"), change(1, 30)), date(2024, 11, 3));
        // The day of the turn is 25 hours long.
        let day = |d| day_start(d, &ny, change(1, 30)).unwrap();
        assert_eq!(day(date(2024, 11, 4)).duration_since(day(date(2024, 11, 3))), SignedDuration::from_hours(25));
    }

    #[test]
    fn a_calendar_day_the_zone_skipped_holds_no_instant() {
        // Samoa went from 2011-12-29 23:59:59 −10:00 straight to 2011-12-31 00:00:00 +14:00.
        let apia = zone("Pacific/Apia");
        let last_second = utc("2011-12-30T09:59:59Z");
        let next_second = utc("2011-12-30T10:00:00Z");
        assert_eq!(day_in(&apia, last_second, MIDNIGHT), date(2011, 12, 29));
        assert_eq!(day_in(&apia, next_second, MIDNIGHT), date(2011, 12, 31));
        assert_eq!(day_start(date(2011, 12, 30), &apia, MIDNIGHT), day_start(date(2011, 12, 31), &apia, MIDNIGHT));
        // With 05:00, 12/30 05:00 is skipped too: day 12/30 starts at the jump and is the five
        // hours from 12/31 00:00 to 05:00.
        assert_eq!(day_in(&apia, last_second, FIVE), date(2011, 12, 29));
        assert_eq!(day_in(&apia, next_second, FIVE), date(2011, 12, 30));
        let five_on_the_31st = utc("2011-12-30T15:00:00Z");
        assert_eq!(day_in(&apia, five_on_the_31st - SignedDuration::from_secs(1), FIVE), date(2011, 12, 30));
        assert_eq!(day_in(&apia, five_on_the_31st, FIVE), date(2011, 12, 31));
    }

    // -----------------------------------------------------------------------------------------
    // Accounts, distinct logs, punches

    fn department(code: &str, day_change: DayChangeTime) -> SimDepartment {
        SimDepartment { code: code.to_string(), name: code.to_string(), day_change }
    }

    fn employee(code: &str, department_code: &str, service_account: &str) -> SimEmployee {
        SimEmployee {
            code: code.to_string(),
            last_name: "鈴木".to_string(),
            first_name: "太郎".to_string(),
            department_code: department_code.to_string(),
            service_account: service_account.to_string(),
        }
    }

    fn record(user_name: &str, kind: LogKind, event_at: Timestamp, agent_no: &str) -> SimEvent {
        SimEvent {
            user_name: user_name.to_string(),
            kind,
            event_at,
            recorded_at: event_at,
            sub_manager_no: "1".to_string(),
            agent_no: agent_no.to_string(),
            computer_name: format!("PC-{agent_no}"),
        }
    }

    struct Company {
        config: SimConfig,
        departments: Vec<SimDepartment>,
        employees: Vec<SimEmployee>,
    }

    /// Employee 0001 `suzuki` in a 05:00 department, 0002 `sato` in a 00:00 one.
    fn company(time_zone: TimeZone, layout: OutputLayout) -> Company {
        let config = SimConfig { time_zone, layout, ..SimConfig::new(2, 1, date(2024, 12, 9)) };
        Company {
            config,
            departments: vec![department("100", FIVE), department("200", MIDNIGHT)],
            employees: vec![employee("0001", "100", "suzuki"), employee("0002", "200", "sato")],
        }
    }

    impl Company {
        fn at(&self, local: DateTime) -> Timestamp {
            local_at(&self.config.time_zone, local)
        }

        fn truth(&self, records: &[SimEvent]) -> Vec<ExpectedPunch> {
            expected_punches(&self.config, &self.departments, &self.employees, records)
        }
    }

    fn punch(code: &str, day: Date, clock_in: DateTime, clock_out: Option<DateTime>) -> ExpectedPunch {
        ExpectedPunch { employee_code: code.to_string(), business_date: day, clock_in: Some(clock_in), clock_out }
    }

    #[test]
    fn a_single_log_gives_a_clock_in_and_no_clock_out() {
        let c = company(crate::tokyo(), OutputLayout::Events);
        let on = date(2024, 12, 9).at(9, 3, 0, 0);
        assert_eq!(
            c.truth(&[record("suzuki", LogKind::Logon, c.at(on), "1")]),
            [punch("0001", date(2024, 12, 9), on, None)]
        );
    }

    #[test]
    fn the_earliest_log_is_the_clock_in_and_the_latest_the_clock_out_whatever_their_kind_and_order() {
        let c = company(crate::tokyo(), OutputLayout::Events);
        let day = date(2024, 12, 9);
        let records = [
            record("suzuki", LogKind::Logon, c.at(day.at(13, 0, 0, 0)), "1"),
            record("suzuki", LogKind::Logoff, c.at(day.at(8, 55, 0, 0)), "1"),
            record("suzuki", LogKind::Logon, c.at(date(2024, 12, 10).at(1, 30, 0, 0)), "1"),
            record("suzuki", LogKind::Logoff, c.at(day.at(18, 0, 0, 0)), "1"),
        ];
        let expected = [punch("0001", day, day.at(8, 55, 0, 0), Some(date(2024, 12, 10).at(1, 30, 0, 0)))];
        assert_eq!(c.truth(&records), expected);
        let mut reversed = records.to_vec();
        reversed.reverse();
        assert_eq!(c.truth(&reversed), expected);
    }

    #[test]
    fn the_same_record_seen_twice_is_one_log() {
        let c = company(crate::tokyo(), OutputLayout::Events);
        let on = date(2024, 12, 9).at(9, 3, 0, 0);
        let twice = [record("suzuki", LogKind::Logon, c.at(on), "1"), record("suzuki", LogKind::Logon, c.at(on), "1")];
        assert_eq!(c.truth(&twice), [punch("0001", date(2024, 12, 9), on, None)]);

        // The computer name is not part of a record's identity: the agent number is.
        let mut renamed = twice.clone();
        renamed[1].computer_name = "PC-renamed".to_string();
        assert_eq!(c.truth(&renamed), [punch("0001", date(2024, 12, 9), on, None)]);
    }

    #[test]
    fn records_that_differ_in_one_field_are_two_logs() {
        let c = company(crate::tokyo(), OutputLayout::Events);
        let on = date(2024, 12, 9).at(9, 3, 0, 0);
        let base = record("suzuki", LogKind::Logon, c.at(on), "1");
        let mut other_agent = base.clone();
        other_agent.agent_no = "2".to_string();
        let mut other_sub_manager = base.clone();
        other_sub_manager.sub_manager_no = "2".to_string();
        let mut other_kind = base.clone();
        other_kind.kind = LogKind::Logoff;
        let mut other_spelling = base.clone();
        other_spelling.user_name = "CORP\\suzuki".to_string();
        for other in [other_agent, other_sub_manager, other_kind, other_spelling] {
            // Two logs at the same second: the day has a 退勤, at its 出勤.
            assert_eq!(
                c.truth(&[base.clone(), other.clone()]),
                [punch("0001", date(2024, 12, 9), on, Some(on))],
                "{other:?}"
            );
        }
    }

    #[test]
    fn in_the_summary_layout_user_kind_and_instant_identify_a_record() {
        let c = company(crate::tokyo(), OutputLayout::Summary);
        let on = date(2024, 12, 9).at(9, 3, 0, 0);
        let again = SimEvent { sub_manager_no: String::new(), ..record("suzuki", LogKind::Logon, c.at(on), "") };
        assert_eq!(c.truth(&[again.clone(), again]), [punch("0001", date(2024, 12, 9), on, None)]);
    }

    #[test]
    fn a_domain_user_is_linked_by_the_name_after_the_backslash_with_its_case() {
        let c = company(crate::tokyo(), OutputLayout::Events);
        let on = date(2024, 12, 9).at(9, 3, 0, 0);
        let off = date(2024, 12, 9).at(18, 0, 0, 0);
        assert_eq!(
            c.truth(&[record("CORP\\suzuki", LogKind::Logon, c.at(on), "1")]),
            [punch("0001", date(2024, 12, 9), on, None)]
        );
        assert_eq!(
            c.truth(&[
                record("CORP\\suzuki", LogKind::Logon, c.at(on), "1"),
                record("suzuki", LogKind::Logoff, c.at(off), "1"),
            ]),
            [punch("0001", date(2024, 12, 9), on, Some(off))]
        );
        for unlinked in ["CORP\\Suzuki", "SUZUKI", "suzuki\\CORP", "CORP\\suzuki ", "kiosk"] {
            assert_eq!(c.truth(&[record(unlinked, LogKind::Logon, c.at(on), "1")]), [], "{unlinked:?}");
        }
        assert_eq!(service_account_of("CORP\\suzuki"), "suzuki");
        assert_eq!(service_account_of("髙橋健太"), "髙橋健太");
    }

    #[test]
    fn each_employee_cuts_days_at_the_change_time_of_the_department() {
        let c = company(crate::tokyo(), OutputLayout::Events);
        let one = date(2024, 12, 10).at(1, 0, 0, 0);
        let records =
            [record("suzuki", LogKind::Logoff, c.at(one), "1"), record("sato", LogKind::Logoff, c.at(one), "2")];
        assert_eq!(
            c.truth(&records),
            [punch("0001", date(2024, 12, 9), one, None), punch("0002", date(2024, 12, 10), one, None)]
        );
    }

    #[test]
    fn records_in_a_zone_with_daylight_saving_fall_on_the_days_the_spec_gives() {
        let mut c = company(zone("America/New_York"), OutputLayout::Events);
        c.departments[0].day_change = change(1, 30);
        // The second 01:10 (EST) happened after 11/3 started at the first 01:30 (EDT), but the
        // file writes it as 01:10 without an offset: read back, it is the first 01:10, on 11/2
        // and before the 01:20 logon.
        let second_ten_past_one = utc("2024-11-03T06:10:00Z");
        let first_twenty_past_one = utc("2024-11-03T05:20:00Z");
        let three = utc("2024-11-03T08:00:00Z");
        let records = [
            record("suzuki", LogKind::Logon, first_twenty_past_one, "1"),
            record("suzuki", LogKind::Logon, second_ten_past_one, "1"),
            record("suzuki", LogKind::Logoff, three, "1"),
        ];
        assert_eq!(
            c.truth(&records),
            [
                punch(
                    "0001",
                    date(2024, 11, 2),
                    date(2024, 11, 3).at(1, 10, 0, 0),
                    Some(date(2024, 11, 3).at(1, 20, 0, 0))
                ),
                punch("0001", date(2024, 11, 3), date(2024, 11, 3).at(3, 0, 0, 0), None),
            ]
        );
    }

    #[test]
    fn a_record_of_the_second_occurrence_of_a_local_time_is_the_record_of_the_first() {
        let c = company(zone("America/New_York"), OutputLayout::Events);
        // 01:30 EDT and 01:30 EST: the file writes both as 2024/11/03 01:30:00.
        let first = utc("2024-11-03T05:30:00Z");
        let second = utc("2024-11-03T06:30:00Z");
        assert_eq!(instant_as_written(second, &c.config.time_zone), Some(first));
        let records = [record("sato", LogKind::Logon, first, "1"), record("sato", LogKind::Logon, second, "1")];
        assert_eq!(c.truth(&records), [punch("0002", date(2024, 11, 3), date(2024, 11, 3).at(1, 30, 0, 0), None)]);
    }

    #[test]
    fn the_truth_of_a_simulation_does_not_depend_on_the_order_or_repetition_of_its_records() {
        let sim = crate::simulate(&SimConfig::new(12, 4, date(2024, 2, 5)));
        assert!(!sim.expected.is_empty());
        let mut shuffled: Vec<SimEvent> = sim.events_in_files.iter().rev().cloned().collect();
        shuffled.extend(sim.events_in_files.iter().step_by(3).cloned());
        let again = expected_punches(&sim.config, &sim.departments, &sim.employees, &shuffled);
        assert_eq!(again, sim.expected);
    }

    // -----------------------------------------------------------------------------------------
    // The business day against a brute-force reading of its definition

    const ZONES: [&str; 7] = [
        "Asia/Tokyo",
        "America/New_York",
        "Europe/London",
        "America/Sao_Paulo",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "Pacific/Apia",
    ];

    /// The first whole-minute instant whose clock reads `local` or later, walking minute by
    /// minute from 15 hours before `local` read as UTC (every offset of [`ZONES`] is within
    /// ±15 h, so the clock reads earlier there). In these zones since 1990 offsets and
    /// transitions fall on whole minutes, so whole minutes are enough.
    fn brute_first_instant_reading(local: DateTime, tz: &TimeZone) -> Timestamp {
        let mut at = Offset::UTC.to_timestamp(local).unwrap() - SignedDuration::from_hours(15);
        assert!(tz.to_datetime(at) < local);
        while tz.to_datetime(at) < local {
            at += SignedDuration::from_mins(1);
        }
        at
    }

    /// The days of a week around `at` whose `[start, next start)` hold it: there must be one.
    fn brute_business_day(at: Timestamp, tz: &TimeZone, change: DayChangeTime) -> Date {
        let time = Time::new(change.hour() as i8, change.minute() as i8, 0, 0).unwrap();
        let around = tz.to_datetime(at).date();
        let start = |day: Date| brute_first_instant_reading(day.to_datetime(time), tz);
        let holding: Vec<Date> = (-4..=4)
            .map(|n| around.checked_add(Span::new().days(n)).unwrap())
            .filter(|&day| start(day) <= at && at < start(day.tomorrow().unwrap()))
            .collect();
        assert_eq!(holding.len(), 1, "{at} in {tz:?}: {holding:?}");
        holding[0]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn the_business_day_is_the_one_whose_window_holds_the_instant(
            zone_index in 0..ZONES.len(),
            base in 631_152_000i64..1_893_456_000,
            near in 0u8..3,
            delta in -36 * 3600i64..36 * 3600,
            close_delta in -3 * 3600i64..3 * 3600,
            hour in 0u8..24,
            minute in 0u8..60,
            beside_the_jump in -90i64..=90,
        ) {
            let tz = zone(ZONES[zone_index]);
            let base = Timestamp::from_second(base).unwrap();
            let transition = tz.following(base).next().map(|t| t.timestamp());
            // A third of the cases anywhere; a third within a day and a half of a change of
            // offset; a third within three hours of one, with a change time within an hour and
            // a half of the wall-clock time where the clocks jump (inside or beside the hour
            // they skip or repeat).
            let (at, change) = match (near, transition) {
                (1, Some(t)) => (t + SignedDuration::from_secs(delta), change(hour, minute)),
                (2, Some(t)) => {
                    let clock = tz.to_datetime(t - SignedDuration::from_secs(1))
                        + SignedDuration::from_secs(1 + 60 * beside_the_jump);
                    (t + SignedDuration::from_secs(close_delta), change(clock.hour() as u8, clock.minute() as u8))
                }
                _ => (base, change(hour, minute)),
            };
            prop_assert_eq!(business_day_of(at, &tz, change), Some(brute_business_day(at, &tz, change)));

            let time = Time::new(change.hour() as i8, change.minute() as i8, 0, 0).unwrap();
            let local = tz.to_datetime(at).date().to_datetime(time);
            prop_assert_eq!(first_instant_reading(local, &tz), Some(brute_first_instant_reading(local, &tz)));
        }
    }
}
