//! 勤務日 (business day) of a log.
//!
//! The business day of an instant is the calendar date of (local time − 日付変更時間) in the
//! company's time zone. With a 05:00 day change time, a logoff at 01:00 on 12/9 belongs to
//! 12/8, which is also how LanScope's manager cuts its days (`[D 05:00, D+1 05:00)`).

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

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

/// The business day an instant belongs to.
pub fn business_day(at: Timestamp, tz: &TimeZone, change: DayChangeTime) -> Date {
    let local: DateTime = tz.to_datetime(at);
    shifted_date(local, change)
}

fn shifted_date(local: DateTime, change: DayChangeTime) -> Date {
    let minutes = i64::from(change.minutes);
    // Civil arithmetic cannot overflow for the years LanScope can record; saturate anyway
    // rather than panic on hostile input.
    local.checked_sub(minutes.minutes()).unwrap_or(local).date()
}

/// The instants `[start, end)` that make up one business day.
pub fn business_day_window(day: Date, tz: &TimeZone, change: DayChangeTime) -> (Timestamp, Timestamp) {
    let start = day.to_datetime(change.as_time());
    let end = day.tomorrow().unwrap_or(day).to_datetime(change.as_time());
    let to_ts = |dt: DateTime| tz.to_ambiguous_timestamp(dt).compatible().unwrap_or(Timestamp::MAX);
    (to_ts(start), to_ts(end))
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

    proptest::proptest! {
        #[test]
        fn every_instant_falls_inside_the_window_of_its_business_day(
            secs in 0i64..4_000_000_000, h in 0u8..24, m in 0u8..60,
        ) {
            let tz = tokyo();
            let change = DayChangeTime::from_hm(h, m).unwrap();
            let ts = Timestamp::from_second(secs).unwrap();
            let day = business_day(ts, &tz, change);
            let (start, end) = business_day_window(day, &tz, change);
            proptest::prop_assert!(start <= ts && ts < end);
        }
    }
}
