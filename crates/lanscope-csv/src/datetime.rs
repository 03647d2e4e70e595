//! Dates and times as LanScope and Excel write them.
//!
//! The manager writes `2024/02/09 9:03:00`, but files that went through Excel or another tool
//! come back as `2024/2/9 9:03`, `2024-02-09 09:03:00.000` or ISO `2024-02-09T09:03:00`. All of
//! these are local wall-clock times without an offset. The parser is hand-written and strict so
//! that a typo such as month 13, hour 25 or trailing text is reported instead of being read as
//! some other moment.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;

/// A local date: `2024/02/09`, `2024-02-09`, `2024/2/9`.
pub fn parse_local_date(s: &str) -> Option<Date> {
    let s = s.trim();
    let separator = if s.contains('/') { '/' } else { '-' };
    let mut parts = s.split(separator);
    let year = number(parts.next()?, 4, 4)?;
    let month = number(parts.next()?, 1, 2)?;
    let day = number(parts.next()?, 1, 2)?;
    if parts.next().is_some() {
        return None;
    }
    Date::new(i16::try_from(year).ok()?, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()
}

/// A local time of day: `9:03`, `09:03:00`, `09:03:00.123` (up to nanoseconds).
pub fn parse_local_time(s: &str) -> Option<Time> {
    let s = s.trim();
    let mut parts = s.split(':');
    let hour = number(parts.next()?, 1, 2)?;
    let minute = number(parts.next()?, 2, 2)?;
    let (second, nanos) = match parts.next() {
        None => (0, 0),
        Some(seconds) => {
            let (whole, fraction) = match seconds.split_once('.') {
                Some((whole, fraction)) => (whole, Some(fraction)),
                None => (seconds, None),
            };
            let second = number(whole, 2, 2)?;
            let nanos = match fraction {
                None => 0,
                Some(fraction) => {
                    let digits = number(fraction, 1, 9)?;
                    // Scale "5" to 500_000_000, "123" to 123_000_000, and so on.
                    let scale = 10u32.checked_pow(9 - u32::try_from(fraction.len()).ok()?)?;
                    digits.checked_mul(scale)?
                }
            };
            (second, nanos)
        }
    };
    if parts.next().is_some() {
        return None;
    }
    Time::new(
        i8::try_from(hour).ok()?,
        i8::try_from(minute).ok()?,
        i8::try_from(second).ok()?,
        i32::try_from(nanos).ok()?,
    )
    .ok()
}

/// A local date and time: the date forms of [`parse_local_date`], then a space (or `T`), then
/// the time forms of [`parse_local_time`]. A date alone is not a date-time.
pub fn parse_local_datetime(s: &str) -> Option<DateTime> {
    let s = s.trim();
    let (date, time) = match s.split_once('T') {
        Some((date, time)) => (date, time),
        None => {
            let (date, time) = s.split_once(' ')?;
            (date, time.trim_start_matches(' '))
        }
    };
    if date.ends_with(char::is_whitespace) || time.starts_with(char::is_whitespace) {
        return None;
    }
    Some(parse_local_date(date)?.to_datetime(parse_local_time(time)?))
}

/// The instant a local wall-clock time names. Japan has no DST, but a configured zone may: a
/// time in a gap or fold is resolved by the product's one rule ([`loginrec_rules::local_instant`]).
pub(crate) fn to_timestamp(local: DateTime, tz: &TimeZone) -> Option<Timestamp> {
    loginrec_rules::local_instant(local, tz)
}

/// ASCII digits only, with a length in `min..=max`: `str::parse` alone would accept a sign.
fn number(s: &str, min: usize, max: usize) -> Option<u32> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    #[test]
    fn the_lanscope_manager_form_with_a_one_digit_hour_parses() {
        assert_eq!(parse_local_datetime("2024/02/09 9:03:00"), Some(date(2024, 2, 9).at(9, 3, 0, 0)));
    }

    #[test]
    fn a_date_time_without_seconds_parses() {
        assert_eq!(parse_local_datetime("2024/02/09 09:03"), Some(date(2024, 2, 9).at(9, 3, 0, 0)));
    }

    #[test]
    fn the_sql_form_with_milliseconds_parses() {
        assert_eq!(parse_local_datetime("2024-02-09 09:03:00.000"), Some(date(2024, 2, 9).at(9, 3, 0, 0)));
        assert_eq!(parse_local_datetime("2024-02-09 09:03:07.123"), Some(date(2024, 2, 9).at(9, 3, 7, 123_000_000)));
    }

    #[test]
    fn fractional_seconds_of_any_precision_up_to_nanoseconds_parse() {
        assert_eq!(parse_local_datetime("2024-02-09 09:03:07.5"), Some(date(2024, 2, 9).at(9, 3, 7, 500_000_000)));
        assert_eq!(parse_local_datetime("2024-02-09 09:03:07.123456"), Some(date(2024, 2, 9).at(9, 3, 7, 123_456_000)));
        assert_eq!(
            parse_local_datetime("2024-02-09 09:03:07.123456789"),
            Some(date(2024, 2, 9).at(9, 3, 7, 123_456_789))
        );
        assert_eq!(parse_local_datetime("2024-02-09 09:03:07.1234567891"), None);
        assert_eq!(parse_local_datetime("2024-02-09 09:03:07."), None);
    }

    #[test]
    fn the_excel_form_without_leading_zeros_parses() {
        assert_eq!(parse_local_datetime("2024/2/9 9:03"), Some(date(2024, 2, 9).at(9, 3, 0, 0)));
    }

    #[test]
    fn the_iso_form_with_a_t_parses() {
        assert_eq!(parse_local_datetime("2024-02-09T09:03:00"), Some(date(2024, 2, 9).at(9, 3, 0, 0)));
    }

    #[test]
    fn surrounding_and_doubled_inner_spaces_are_tolerated() {
        assert_eq!(parse_local_datetime("  2024/02/09  9:03:00 "), Some(date(2024, 2, 9).at(9, 3, 0, 0)));
    }

    #[test]
    fn nonsense_date_times_are_rejected() {
        for bad in [
            "2024/13/01 9:00",
            "2024/02/30 9:00",
            "2024/02/09 25:00",
            "2024/02/09 24:00",
            "2024/02/09 9:60",
            "2024/02/09 9:03:60",
            "2024/02/09 9:3",
            "2024/02/09 9:03 junk",
            "2024/02/09 9:03:00Z",
            "2024-02-09T09:03:00+09:00",
            "2024/02/09",
            "2024/02-09 9:03",
            "24/02/09 9:03",
            "2024/02/09T 9:03",
            "+2024/02/09 9:03",
            "2024/02/09 +9:03",
            "２０２４/02/09 9:03",
            "",
            "abc",
        ] {
            assert_eq!(parse_local_datetime(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_three_date_forms_parse() {
        assert_eq!(parse_local_date("2024/02/09"), Some(date(2024, 2, 9)));
        assert_eq!(parse_local_date("2024-02-09"), Some(date(2024, 2, 9)));
        assert_eq!(parse_local_date("2024/2/9"), Some(date(2024, 2, 9)));
    }

    #[test]
    fn nonsense_dates_are_rejected() {
        for bad in
            ["2024/13/01", "2024/00/10", "2023/02/29", "2024/2/9/1", "2024/02/09 9:00", "2024-2", "2024/02/09x", ""]
        {
            assert_eq!(parse_local_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn times_of_day_parse_with_or_without_seconds() {
        assert_eq!(parse_local_time("9:03"), Some(time(9, 3, 0, 0)));
        assert_eq!(parse_local_time("09:03:00"), Some(time(9, 3, 0, 0)));
        assert_eq!(parse_local_time("1:30"), Some(time(1, 30, 0, 0)));
        assert_eq!(parse_local_time("23:59:59.999"), Some(time(23, 59, 59, 999_000_000)));
        for bad in ["25:00", "9", "9:03:00:00", "9:030", "", "-1:00"] {
            assert_eq!(parse_local_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn local_times_in_tokyo_are_nine_hours_ahead_of_utc() {
        let tz = TimeZone::get("Asia/Tokyo").unwrap();
        let ts = to_timestamp(date(2024, 2, 9).at(9, 3, 0, 0), &tz).unwrap();
        assert_eq!(ts.to_string(), "2024-02-09T00:03:00Z");
    }
}
