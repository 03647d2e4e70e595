//! 勤務日 (business day) of a log.
//!
//! Business day D starts at local `D + change_time(D)` in the company's time zone and ends where
//! day D+1 starts, where `change_time(D)` is the 日付変更時間 in effect for D. Days are
//! contiguous: every instant belongs to exactly one business day, and a changed time never
//! makes one log count on two days (it can only make a day longer or shorter). With one
//! unchanging 05:00, a logoff at 01:00 on 12/9 belongs to 12/8, which is also how LanScope's
//! manager cuts its days (`[D 05:00, D+1 05:00)`).

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};

use crate::validation::ValidationError;

/// 日付変更時間: the local time at which one business day ends and the next begins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DayChangeTime {
    minutes: u16,
}

impl DayChangeTime {
    /// 00:00, the attendance system's initial value.
    pub const MIDNIGHT: DayChangeTime = DayChangeTime { minutes: 0 };
    /// 05:00, LanScope's initial collection start time.
    pub const LANSCOPE_DEFAULT: DayChangeTime = DayChangeTime { minutes: 5 * 60 };

    pub fn from_hm(hour: u8, minute: u8) -> Result<Self, ValidationError> {
        if hour > 23 || minute > 59 {
            return Err(ValidationError::DayChangeTime(format!("{hour:02}:{minute:02}")));
        }
        Ok(DayChangeTime { minutes: u16::from(hour) * 60 + u16::from(minute) })
    }

    pub fn hour(self) -> u8 {
        (self.minutes / 60) as u8
    }

    pub fn minute(self) -> u8 {
        (self.minutes % 60) as u8
    }

    pub fn as_time(self) -> Time {
        Time::constant(self.hour() as i8, self.minute() as i8, 0, 0)
    }
}

impl fmt::Display for DayChangeTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

impl FromStr for DayChangeTime {
    type Err = ValidationError;

    /// Accepts `HH:MM` and `H:MM` (00:00–23:59); an empty value is the default 00:00.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(DayChangeTime::MIDNIGHT);
        }
        let bad = || ValidationError::DayChangeTime(s.to_string());
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return Err(bad());
        }
        if !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let hour: u8 = h.parse().map_err(|_| bad())?;
        let minute: u8 = m.parse().map_err(|_| bad())?;
        DayChangeTime::from_hm(hour, minute).map_err(|_| bad())
    }
}

/// Which 日付変更時間 holds for each business day: a constant, or an employee's history of
/// departments and their times ([`crate::history::EmployeeSchedule`]).
pub trait DaySchedule {
    fn change_time(&self, day: Date) -> DayChangeTime;
}

impl DaySchedule for DayChangeTime {
    fn change_time(&self, _day: Date) -> DayChangeTime {
        *self
    }
}

/// The instant a local wall-clock time names, by the one rule used everywhere: a local time
/// that does not exist (clocks jump forward over it) is the moment of the jump, the first
/// instant after it; one that exists twice (clocks turn back) is its first occurrence. Both
/// choices keep later local times at later (or equal) instants. `None` only outside jiff's range.
pub fn local_instant(local: DateTime, tz: &TimeZone) -> Option<Timestamp> {
    let ambiguous = tz.to_ambiguous_timestamp(local);
    match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { .. } => ambiguous.compatible().ok(),
        AmbiguousOffset::Fold { .. } => ambiguous.earlier().ok(),
        // `earlier` reads the local time with the offset after the jump: an instant just before
        // the jump, so the next transition is the jump itself.
        AmbiguousOffset::Gap { .. } => {
            let before_jump = ambiguous.earlier().ok()?;
            match tz.following(before_jump).next() {
                Some(jump) => Some(jump.timestamp()),
                None => ambiguous.compatible().ok(),
            }
        }
    }
}

/// The instant business day `day` starts: local `day + change_time(day)`, read by
/// [`local_instant`], so that the starts of successive days stay in order: days are contiguous
/// and every instant belongs to exactly one of them.
pub fn day_start(day: Date, tz: &TimeZone, schedule: &impl DaySchedule) -> Timestamp {
    let local = day.to_datetime(schedule.change_time(day).as_time());
    local_instant(local, tz).unwrap_or(if day.year() < 0 { Timestamp::MIN } else { Timestamp::MAX })
}

/// The instants `[start, end)` of one business day: from its start to the next day's start.
pub fn day_window(day: Date, tz: &TimeZone, schedule: &impl DaySchedule) -> (Timestamp, Timestamp) {
    let next = day.tomorrow().unwrap_or(day);
    (day_start(day, tz, schedule), day_start(next, tz, schedule))
}

/// The business day an instant belongs to under a schedule: the last day that started at or
/// before it.
pub fn business_day_in(at: Timestamp, tz: &TimeZone, schedule: &impl DaySchedule) -> Date {
    let local = tz.to_datetime(at).date();
    // A day starts between its local 00:00 and 23:59, so the instant's own local date, or the
    // day before, holds it; two more steps back cover starts pushed later by a jump.
    let mut day = local;
    for _ in 0..4 {
        if day_start(day, tz, schedule) <= at {
            return day;
        }
        match day.yesterday() {
            Ok(d) => day = d,
            Err(_) => return day,
        }
    }
    day
}

/// The business day an instant belongs to with one unchanging 日付変更時間.
pub fn business_day(at: Timestamp, tz: &TimeZone, change: DayChangeTime) -> Date {
    business_day_in(at, tz, &change)
}

/// The instants `[start, end)` of one business day with one unchanging 日付変更時間.
pub fn business_day_window(day: Date, tz: &TimeZone, change: DayChangeTime) -> (Timestamp, Timestamp) {
    day_window(day, tz, &change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn tokyo() -> TimeZone {
        TimeZone::get("Asia/Tokyo").unwrap()
    }

    fn at(y: i16, mo: i8, d: i8, h: i8, mi: i8, s: i8) -> Timestamp {
        tokyo().to_ambiguous_timestamp(date(y, mo, d).at(h, mi, s, 0)).compatible().unwrap()
    }

    const FIVE: DayChangeTime = DayChangeTime::LANSCOPE_DEFAULT;

    #[test]
    fn one_second_before_the_change_time_is_still_the_previous_day() {
        assert_eq!(business_day(at(2024, 2, 9, 4, 59, 59), &tokyo(), FIVE), date(2024, 2, 8));
    }

    #[test]
    fn the_change_time_itself_starts_the_new_day() {
        assert_eq!(business_day(at(2024, 2, 9, 5, 0, 0), &tokyo(), FIVE), date(2024, 2, 9));
    }

    #[test]
    fn midnight_splits_days_when_the_change_time_is_midnight() {
        let m = DayChangeTime::MIDNIGHT;
        assert_eq!(business_day(at(2024, 2, 8, 23, 59, 59), &tokyo(), m), date(2024, 2, 8));
        assert_eq!(business_day(at(2024, 2, 9, 0, 0, 0), &tokyo(), m), date(2024, 2, 9));
    }

    #[test]
    fn midnight_does_not_split_days_when_the_change_time_is_five() {
        assert_eq!(business_day(at(2024, 2, 8, 23, 59, 59), &tokyo(), FIVE), date(2024, 2, 8));
        assert_eq!(business_day(at(2024, 2, 9, 0, 0, 0), &tokyo(), FIVE), date(2024, 2, 8));
    }

    #[test]
    fn a_logoff_at_one_on_12_9_counts_for_12_8_as_lanscope_does() {
        // seed §5.2.1: with the same 05:00 on both sides the punch lands on LanScope's day;
        // with the attendance system left at 00:00 it lands on the next day.
        let logoff = at(2019, 12, 9, 1, 0, 0);
        assert_eq!(business_day(logoff, &tokyo(), FIVE), date(2019, 12, 8));
        assert_eq!(business_day(logoff, &tokyo(), DayChangeTime::MIDNIGHT), date(2019, 12, 9));
    }

    #[test]
    fn the_time_zone_is_the_companys_not_utc() {
        // 2024-02-08T20:30Z is 05:30 on 2/9 in Tokyo.
        let ts: Timestamp = "2024-02-08T20:30:00Z".parse().unwrap();
        assert_eq!(business_day(ts, &tokyo(), FIVE), date(2024, 2, 9));
        assert_eq!(business_day(ts, &TimeZone::UTC, FIVE), date(2024, 2, 8));
    }

    #[test]
    fn the_window_of_a_day_runs_from_change_time_to_change_time() {
        let (start, end) = business_day_window(date(2024, 2, 8), &tokyo(), FIVE);
        assert_eq!(start, at(2024, 2, 8, 5, 0, 0));
        assert_eq!(end, at(2024, 2, 9, 5, 0, 0));
    }

    #[test]
    fn day_change_times_parse_as_users_type_them() {
        assert_eq!("05:00".parse::<DayChangeTime>().unwrap(), FIVE);
        assert_eq!("5:00".parse::<DayChangeTime>().unwrap(), FIVE);
        assert_eq!("".parse::<DayChangeTime>().unwrap(), DayChangeTime::MIDNIGHT);
        assert_eq!("23:59".parse::<DayChangeTime>().unwrap().to_string(), "23:59");
        for bad in ["24:00", "05:60", "5", "05:0", "aa:bb", "-1:00", "05:00:00", "１:00"] {
            assert!(bad.parse::<DayChangeTime>().is_err(), "{bad} must be refused");
        }
    }

    fn new_york() -> TimeZone {
        TimeZone::get("America/New_York").unwrap()
    }

    #[test]
    fn a_start_time_the_clocks_jump_over_starts_the_day_at_the_jump() {
        // 2024-03-10 02:00 EST → 03:00 EDT in New York: 02:30 does not exist.
        let tz = new_york();
        let change = DayChangeTime::from_hm(2, 30).unwrap();
        let start = day_start(date(2024, 3, 10), &tz, &change);
        assert_eq!(start, "2024-03-10T07:00:00Z".parse::<Timestamp>().unwrap());
        // 03:10 EDT is after the jump, so it is 3/10's, not lost between two days.
        let log: Timestamp = "2024-03-10T07:10:00Z".parse().unwrap();
        assert_eq!(business_day(log, &tz, change), date(2024, 3, 10));
        let (s, e) = business_day_window(date(2024, 3, 10), &tz, change);
        assert!(s <= log && log < e);
    }

    #[test]
    fn a_start_time_that_happens_twice_starts_the_day_at_its_first_occurrence() {
        // 2024-11-03 02:00 EDT → 01:00 EST in New York: 01:30 happens twice.
        let tz = new_york();
        let change = DayChangeTime::from_hm(1, 30).unwrap();
        let first = "2024-11-03T05:30:00Z".parse::<Timestamp>().unwrap();
        assert_eq!(day_start(date(2024, 11, 3), &tz, &change), first);
        // The second 01:40 (EST) is after the first 01:30: the same day, whatever order logs come in.
        let second_pass: Timestamp = "2024-11-03T06:40:00Z".parse().unwrap();
        assert_eq!(business_day(second_pass, &tz, change), date(2024, 11, 3));
    }

    #[derive(Clone, Debug)]
    struct Changes(Vec<(Date, DayChangeTime)>);

    impl DaySchedule for Changes {
        fn change_time(&self, day: Date) -> DayChangeTime {
            self.0.iter().rev().find(|(from, _)| *from <= day).or(self.0.first()).map(|c| c.1).unwrap_or_default()
        }
    }

    #[test]
    fn a_change_of_setting_between_two_days_makes_no_log_count_twice() {
        // 00:00 until 2/8, 05:00 from 2/9: 2/8 runs from 2/8 00:00 to 2/9 05:00.
        let schedule = Changes(vec![(date(2024, 1, 1), DayChangeTime::MIDNIGHT), (date(2024, 2, 9), FIVE)]);
        let tz = tokyo();
        assert_eq!(business_day_in(at(2024, 2, 9, 1, 0, 0), &tz, &schedule), date(2024, 2, 8));
        assert_eq!(business_day_in(at(2024, 2, 9, 9, 0, 0), &tz, &schedule), date(2024, 2, 9));
        assert_eq!(day_window(date(2024, 2, 8), &tz, &schedule), (at(2024, 2, 8, 0, 0, 0), at(2024, 2, 9, 5, 0, 0)));
        // Back from 05:00 to 00:00 on 2/20: 2/19 is shorter, from 2/19 05:00 to 2/20 00:00.
        let back = Changes(vec![(date(2024, 1, 1), FIVE), (date(2024, 2, 20), DayChangeTime::MIDNIGHT)]);
        assert_eq!(business_day_in(at(2024, 2, 20, 1, 0, 0), &tz, &back), date(2024, 2, 20));
        assert_eq!(business_day_in(at(2024, 2, 20, 4, 0, 0), &tz, &back), date(2024, 2, 20));
        assert_eq!(business_day_in(at(2024, 2, 19, 23, 59, 59), &tz, &back), date(2024, 2, 19));
    }

    fn zone(index: usize) -> TimeZone {
        TimeZone::get(["Asia/Tokyo", "America/New_York", "Europe/London"][index]).unwrap()
    }

    fn arb_changes() -> impl proptest::strategy::Strategy<Value = Changes> {
        use proptest::prelude::*;
        proptest::collection::vec((0i32..400, 0u8..24, 0u8..60), 1..5).prop_map(|v| {
            let mut changes: Vec<(Date, DayChangeTime)> = v
                .into_iter()
                .map(|(d, h, m)| {
                    (
                        date(2024, 1, 1).checked_add(jiff::Span::new().days(d)).unwrap(),
                        DayChangeTime::from_hm(h, m).unwrap(),
                    )
                })
                .collect();
            changes.sort();
            Changes(changes)
        })
    }

    proptest::proptest! {
        #[test]
        fn every_instant_falls_inside_the_window_of_its_business_day(
            secs in 0i64..4_000_000_000, h in 0u8..24, m in 0u8..60, tz in 0usize..3,
        ) {
            let tz = zone(tz);
            let change = DayChangeTime::from_hm(h, m).unwrap();
            let ts = Timestamp::from_second(secs).unwrap();
            let day = business_day(ts, &tz, change);
            let (start, end) = business_day_window(day, &tz, change);
            proptest::prop_assert!(start <= ts && ts < end);
        }

        #[test]
        fn later_local_times_never_name_earlier_instants(
            a in 1_704_067_200i64..1_738_000_000, step in 0i64..20_000, tz in 0usize..3,
        ) {
            let tz = zone(tz);
            // Civil times read off UTC seconds: any pair, including ones in gaps and folds.
            let civil = |s: i64| TimeZone::UTC.to_datetime(Timestamp::from_second(s).unwrap());
            let (x, y) = (local_instant(civil(a), &tz).unwrap(), local_instant(civil(a + step), &tz).unwrap());
            proptest::prop_assert!(x <= y, "{} → {x}, {} → {y}", civil(a), civil(a + step));
        }

        #[test]
        fn with_changing_settings_days_are_contiguous_and_hold_each_instant_once(
            // 2024-01-01 .. 2025-02: across both daylight-saving changes of both zones.
            secs in 1_704_067_200i64..1_738_000_000, changes in arb_changes(), tz in 0usize..3,
        ) {
            let tz = zone(tz);
            let ts = Timestamp::from_second(secs).unwrap();
            let day = business_day_in(ts, &tz, &changes);
            let (start, end) = day_window(day, &tz, &changes);
            proptest::prop_assert!(start <= ts && ts < end, "{ts} not in {day} = [{start}, {end})");
            // The day before ends where this one starts, and the day after starts where it ends.
            let (_, previous_end) = day_window(day.yesterday().unwrap(), &tz, &changes);
            let (next_start, _) = day_window(day.tomorrow().unwrap(), &tz, &changes);
            proptest::prop_assert_eq!(previous_end, start);
            proptest::prop_assert_eq!(next_start, end);
        }
    }
}
