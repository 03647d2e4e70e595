//! What one employee's business day adds up to, from its 出勤 and 退勤: the error mark, the
//! worked minutes, the minutes past the legal eight hours, and the minutes in the late-night
//! hours. 日別データ, the time card and `GET /daily-workings` all read a day from here, so a
//! day never adds up differently on two of them.
//!
//! What must stay true:
//! - a day has worked time only when it has both punches, 退勤 at or after 出勤;
//! - `assigned + overtime == total_work`, and `late_night + late_night_overtime` is the part of
//!   the worked time that falls between 22:00 and 05:00 local time (労働基準法 第37条 4項);
//! - with no 勤務スケジュール, the 所定 (assigned) time is the legal eight hours of a day (第32条):
//!   the first 480 worked minutes are assigned, the rest is overtime;
//! - no break is deducted: PC logs say when the PC was in use, not when a break was taken.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::holidays::DayType;

/// The legal working time of one day (労働基準法 第32条 2項), in minutes.
pub const LEGAL_DAILY_MINUTES: i64 = 8 * 60;

/// One of a day's two punches as the totals need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayPunch<'a> {
    pub at: Timestamp,
    /// The punch method's name (PC, 手入力, API…): punches of two methods are marked mixed.
    pub method: &'a str,
}

/// Why a day is marked as an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DayError {
    /// A past day with only one of 出勤 and 退勤.
    MissingPunch,
    /// 出勤 and 退勤 were made by different methods.
    MixedMethods,
}

impl DayError {
    pub fn label_ja(self) -> &'static str {
        match self {
            DayError::MissingPunch => "打刻漏れ",
            DayError::MixedMethods => "打刻方法混在",
        }
    }
}

/// A business day's totals, in minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayTotals {
    pub day_type: DayType,
    pub error: Option<DayError>,
    /// 出勤 to 退勤.
    pub total_work: i64,
    /// The first [`LEGAL_DAILY_MINUTES`] of the worked time.
    pub assigned: i64,
    /// The worked time past [`LEGAL_DAILY_MINUTES`].
    pub overtime: i64,
    /// Late-night minutes (22:00–05:00) within the assigned time.
    pub late_night: i64,
    /// Late-night minutes within the overtime.
    pub late_night_overtime: i64,
}

/// The totals of business day `date`, whose punches are `clock_in` and `clock_out`; `today` is
/// the company's current business day (a day still going on misses no punch yet), and `tz`
/// says where 22:00 and 05:00 fall.
pub fn day_totals(
    date: Date,
    clock_in: Option<DayPunch<'_>>,
    clock_out: Option<DayPunch<'_>>,
    today: Date,
    tz: &TimeZone,
) -> DayTotals {
    let error = match (clock_in, clock_out) {
        (Some(i), Some(o)) if i.method != o.method => Some(DayError::MixedMethods),
        (Some(_), None) | (None, Some(_)) if date < today => Some(DayError::MissingPunch),
        _ => None,
    };
    let mut totals = DayTotals {
        day_type: DayType::of(date),
        error,
        total_work: 0,
        assigned: 0,
        overtime: 0,
        late_night: 0,
        late_night_overtime: 0,
    };
    let (Some(i), Some(o)) = (clock_in, clock_out) else { return totals };
    if o.at < i.at {
        return totals;
    }
    let worked = minutes_between(i.at, o.at);
    totals.total_work = worked;
    totals.assigned = worked.min(LEGAL_DAILY_MINUTES);
    totals.overtime = worked - totals.assigned;
    let legal_end = i.at.checked_add((LEGAL_DAILY_MINUTES * 60).seconds()).unwrap_or(o.at).min(o.at);
    totals.late_night = late_night_minutes(i.at, legal_end, tz);
    totals.late_night_overtime = late_night_minutes(legal_end, o.at, tz);
    totals
}

/// Whole minutes from `from` to `to` (seconds dropped, as the time card shows minutes).
fn minutes_between(from: Timestamp, to: Timestamp) -> i64 {
    (to.as_second() - from.as_second()).max(0) / 60
}

/// The minutes of `[from, to)` that fall between 22:00 and 05:00 on the local clock of `tz`.
/// Each local day touched contributes its `[00:00, 05:00)` and `[22:00, 24:00)`, so a day that
/// gains or loses an hour to daylight saving is counted in real minutes.
pub fn late_night_minutes(from: Timestamp, to: Timestamp, tz: &TimeZone) -> i64 {
    if to <= from {
        return 0;
    }
    let mut seconds = 0;
    let last = tz.to_datetime(to).date();
    let mut day = tz.to_datetime(from).date().yesterday().unwrap_or(Date::MIN);
    while day <= last {
        let Ok(next) = day.tomorrow() else { break };
        for (start, end) in [
            (day.to_datetime(Time::midnight()), day.to_datetime(Time::constant(5, 0, 0, 0))),
            (day.to_datetime(Time::constant(22, 0, 0, 0)), next.to_datetime(Time::midnight())),
        ] {
            let (Ok(start), Ok(end)) = (tz.to_timestamp(start), tz.to_timestamp(end)) else { continue };
            let (a, b) = (start.max(from), end.min(to));
            if b > a {
                seconds += b.as_second() - a.as_second();
            }
        }
        day = next;
    }
    seconds / 60
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn tokyo() -> TimeZone {
        TimeZone::get("Asia/Tokyo").unwrap()
    }

    fn at(y: i16, m: i8, d: i8, h: i8, min: i8) -> Timestamp {
        tokyo().to_timestamp(date(y, m, d).at(h, min, 0, 0)).unwrap()
    }

    fn pc(at: Timestamp) -> Option<DayPunch<'static>> {
        Some(DayPunch { at, method: "PC" })
    }

    #[test]
    fn a_day_within_eight_hours_is_all_assigned() {
        let day = date(2024, 2, 8);
        let t = day_totals(day, pc(at(2024, 2, 8, 9, 3)), pc(at(2024, 2, 8, 17, 8)), day, &tokyo());
        assert_eq!((t.total_work, t.assigned, t.overtime), (485, 480, 5));
        assert_eq!((t.late_night, t.late_night_overtime), (0, 0));
        assert_eq!(t.error, None);
        assert_eq!(t.day_type, DayType::Weekday);
    }

    #[test]
    fn late_night_minutes_are_split_at_the_eighth_hour() {
        // 15:00 → 翌 02:00: 11 h; the legal 8 h end at 23:00, so 22:00–23:00 is within them.
        let day = date(2024, 2, 8);
        let t = day_totals(day, pc(at(2024, 2, 8, 15, 0)), pc(at(2024, 2, 9, 2, 0)), day, &tokyo());
        assert_eq!((t.total_work, t.assigned, t.overtime), (660, 480, 180));
        assert_eq!((t.late_night, t.late_night_overtime), (60, 180));
    }

    #[test]
    fn an_early_morning_start_counts_the_hours_before_five() {
        let day = date(2024, 2, 8);
        let t = day_totals(day, pc(at(2024, 2, 8, 3, 30)), pc(at(2024, 2, 8, 12, 0)), day, &tokyo());
        assert_eq!(t.late_night, 90);
        assert_eq!(t.late_night_overtime, 0);
    }

    #[test]
    fn a_day_with_one_punch_has_no_worked_time_and_misses_a_punch_once_past() {
        let day = date(2024, 2, 8);
        let t = day_totals(day, pc(at(2024, 2, 8, 9, 0)), None, date(2024, 2, 9), &tokyo());
        assert_eq!(t.error, Some(DayError::MissingPunch));
        assert_eq!(t.total_work, 0);
        assert_eq!(day_totals(day, pc(at(2024, 2, 8, 9, 0)), None, day, &tokyo()).error, None);
    }

    #[test]
    fn punches_of_two_methods_are_marked_mixed() {
        let day = date(2024, 2, 8);
        let i = Some(DayPunch { at: at(2024, 2, 8, 9, 0), method: "手入力" });
        let t = day_totals(day, i, pc(at(2024, 2, 8, 18, 0)), day, &tokyo());
        assert_eq!(t.error, Some(DayError::MixedMethods));
        assert_eq!(t.total_work, 540);
    }

    #[test]
    fn a_clock_out_before_the_clock_in_works_no_time() {
        let day = date(2024, 2, 8);
        let t = day_totals(day, pc(at(2024, 2, 8, 18, 0)), pc(at(2024, 2, 8, 9, 0)), day, &tokyo());
        assert_eq!(t.total_work, 0);
    }

    #[test]
    fn late_night_counts_real_minutes_across_a_daylight_saving_change() {
        // New York, 2024-03-10: 02:00 does not exist; 22:00 on the 9th to 05:00 on the 10th is
        // six real hours.
        let ny = TimeZone::get("America/New_York").unwrap();
        let from = ny.to_timestamp(date(2024, 3, 9).at(22, 0, 0, 0)).unwrap();
        let to = ny.to_timestamp(date(2024, 3, 10).at(5, 0, 0, 0)).unwrap();
        assert_eq!(late_night_minutes(from, to, &ny), 360);
        // And on 2024-11-03 the night gains an hour: eight real hours.
        let from = ny.to_timestamp(date(2024, 11, 2).at(22, 0, 0, 0)).unwrap();
        let to = ny.to_timestamp(date(2024, 11, 3).at(5, 0, 0, 0)).unwrap();
        assert_eq!(late_night_minutes(from, to, &ny), 480);
    }

    proptest::proptest! {
        /// Against a count made minute by minute on the local clock, independent of the window
        /// arithmetic above.
        #[test]
        fn the_totals_agree_with_a_minute_by_minute_count(
            start in 0i64..(3 * 24 * 60),
            length in 0i64..(30 * 60),
            zone in proptest::sample::select(vec!["Asia/Tokyo", "America/New_York", "Europe/London"]),
        ) {
            let tz = TimeZone::get(zone).unwrap();
            // Around the 2024 spring change in New York and London, in whole minutes.
            let base = tz.to_timestamp(date(2024, 3, 8).at(0, 0, 0, 0)).unwrap().as_second();
            let from = Timestamp::from_second(base + start * 60).unwrap();
            let to = Timestamp::from_second(base + (start + length) * 60).unwrap();
            let day = tz.to_datetime(from).date();
            let t = day_totals(day, pc(from), pc(to), day, &tz);
            let (mut night_in_legal, mut night_after) = (0, 0);
            for minute in 0..length {
                let local = tz.to_datetime(Timestamp::from_second(from.as_second() + minute * 60).unwrap());
                if local.hour() >= 22 || local.hour() < 5 {
                    if minute < LEGAL_DAILY_MINUTES { night_in_legal += 1 } else { night_after += 1 }
                }
            }
            proptest::prop_assert_eq!(t.total_work, length);
            proptest::prop_assert_eq!(t.assigned, length.min(480));
            proptest::prop_assert_eq!(t.assigned + t.overtime, t.total_work);
            proptest::prop_assert_eq!((t.late_night, t.late_night_overtime), (night_in_legal, night_after));
        }
    }
}
