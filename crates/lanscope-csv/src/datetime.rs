//! Dates and times as LanScope and Excel write them.
//!
//! The manager writes `2024/02/09 9:03:00`, but files that went through Excel or another tool
//! come back as `2024/2/9 9:03`, `2024-02-09 09:03:00.000` or ISO `2024-02-09T09:03:00`. All of
//! these are local wall-clock times without an offset. The parser is hand-written and strict so
//! that a typo such as month 13, hour 25 or trailing text is reported instead of being read as
//! some other moment.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{Offset, TimeZone};

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
    manager_form(s.as_bytes()).or_else(|| general_datetime(s))
}

/// The form the manager writes, `2024/02/09 9:03:00` or `2024/02/09 09:03:00` (or with `-`),
/// read straight from the bytes: every LanScope row holds one or two, and the general parser's
/// splitting and trimming was most of the time spent reading a file. Anything else, including
/// these forms with spaces around them, is left to the general parser, which accepts all this
/// does with the same meaning (a property test holds the two together).
fn manager_form(b: &[u8]) -> Option<DateTime> {
    let digit = |i: usize| -> Option<i32> {
        let d = *b.get(i)?;
        d.is_ascii_digit().then(|| i32::from(d - b'0'))
    };
    let two = |i: usize| -> Option<i32> { Some(digit(i)? * 10 + digit(i + 1)?) };
    let (hour, rest) = match b.len() {
        18 => (digit(11)?, 12),
        19 => (two(11)?, 13),
        _ => return None,
    };
    let separator = b[4];
    if !(separator == b'/' || separator == b'-')
        || b[7] != separator
        || b[10] != b' '
        || b[rest] != b':'
        || b[rest + 3] != b':'
    {
        return None;
    }
    let year = two(0)? * 100 + two(2)?;
    let date = Date::new(i16::try_from(year).ok()?, i8::try_from(two(5)?).ok()?, i8::try_from(two(8)?).ok()?).ok()?;
    let minute = two(rest + 1)?;
    let second = two(rest + 4)?;
    let time = Time::new(i8::try_from(hour).ok()?, i8::try_from(minute).ok()?, i8::try_from(second).ok()?, 0).ok()?;
    Some(date.to_datetime(time))
}

fn general_datetime(s: &str) -> Option<DateTime> {
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

/// [`to_timestamp`] for the rows of one file, which nearly all fall on the same few days: the
/// offset of a day with no transition of the zone in it (every day, in Japan) is looked up once
/// and applied to every time of that day; a day with a transition goes through
/// [`to_timestamp`] every time.
pub(crate) struct LocalClock<'a> {
    tz: &'a TimeZone,
    /// The last day looked up, and the instant of its local midnight in Unix seconds if the
    /// zone keeps one offset all that day.
    day: Option<(Date, Option<i64>)>,
}

impl<'a> LocalClock<'a> {
    pub(crate) fn new(tz: &'a TimeZone) -> Self {
        LocalClock { tz, day: None }
    }

    pub(crate) fn instant(&mut self, local: DateTime) -> Option<Timestamp> {
        let date = local.date();
        let midnight = match self.day {
            Some((day, midnight)) if day == date => midnight,
            _ => {
                let midnight = whole_day_offset(date, self.tz)
                    .and_then(|offset| offset.to_timestamp(date.to_datetime(Time::midnight())).ok())
                    .map(|at| at.as_second());
                self.day = Some((date, midnight));
                midnight
            }
        };
        match midnight {
            Some(midnight) => {
                let time = local.time();
                let second = i64::from(time.hour()) * 3600 + i64::from(time.minute()) * 60 + i64::from(time.second());
                Timestamp::new(midnight + second, time.subsec_nanosecond()).ok()
            }
            None => to_timestamp(local, self.tz),
        }
    }
}

/// The zone's offset on `date` when it is the same from the day's first instant to past its
/// last (no transition in between, looking a day either side so that no local time of the day
/// can reach a transition).
fn whole_day_offset(date: Date, tz: &TimeZone) -> Option<Offset> {
    let start = tz.to_ambiguous_timestamp(date.yesterday().ok()?.to_datetime(Time::midnight())).unambiguous().ok()?;
    let end = date.tomorrow().ok()?.tomorrow().ok()?.to_datetime(Time::midnight());
    let end = tz.to_ambiguous_timestamp(end).unambiguous().ok()?;
    let offset = tz.to_offset(start);
    if tz.to_offset(end) != offset {
        return None;
    }
    match tz.following(start).next() {
        Some(transition) if transition.timestamp() <= end => None,
        _ => Some(offset),
    }
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

    #[test]
    fn the_clock_gives_the_instant_the_one_rule_gives_on_every_minute_of_transition_days() {
        for (zone, days) in [
            ("America/New_York", [date(2024, 3, 10), date(2024, 11, 3)]),
            ("Australia/Lord_Howe", [date(2024, 4, 7), date(2024, 10, 6)]),
        ] {
            let tz = TimeZone::get(zone).unwrap();
            let mut clock = LocalClock::new(&tz);
            for day in days {
                // The day before, the day, the day after, in order and jumping back.
                let start = day.yesterday().unwrap().to_datetime(Time::midnight());
                for minute in 0..3 * 1440 {
                    for local in [start + jiff::Span::new().minutes(minute), start] {
                        assert_eq!(clock.instant(local), to_timestamp(local, &tz), "{local} in {zone}");
                    }
                }
            }
        }
    }

    mod properties {
        use jiff::ToSpan;
        use proptest::prelude::*;

        use super::*;

        /// Strings shaped like the manager's form, with a digit or separator sometimes wrong.
        fn manager_like() -> impl Strategy<Value = String> {
            let digit = || prop_oneof![8 => proptest::char::range('0', '9'), 1 => Just('x'), 1 => Just('/')];
            let sep = || prop_oneof![Just('/'), Just('-'), Just(' '), Just(':')];
            (
                proptest::collection::vec(digit(), 4),
                sep(),
                proptest::collection::vec(digit(), 2),
                sep(),
                proptest::collection::vec(digit(), 2),
                prop_oneof![Just(' '), Just('T'), Just('/')],
                proptest::collection::vec(digit(), 1..=2),
                proptest::collection::vec(digit(), 2),
                proptest::collection::vec(digit(), 2),
            )
                .prop_map(|(y, s1, mo, s2, d, gap, h, mi, se)| {
                    let text = |v: Vec<char>| v.into_iter().collect::<String>();
                    format!("{}{s1}{}{s2}{}{gap}{}:{}:{}", text(y), text(mo), text(d), text(h), text(mi), text(se))
                })
        }

        proptest! {
            #[test]
            fn the_fast_form_reads_nothing_the_general_parser_reads_otherwise(s in manager_like()) {
                if let Some(fast) = manager_form(s.as_bytes()) {
                    prop_assert_eq!(Some(fast), general_datetime(&s), "{}", s);
                }
            }

            #[test]
            fn every_date_time_the_manager_writes_takes_the_fast_form(
                day in 0i64..80_000, second in 0i64..86_400, two_digit_hour: bool, dash: bool
            ) {
                let at = date(2000, 1, 1).to_datetime(Time::midnight()) + day.days() + second.seconds();
                let sep = if dash { '-' } else { '/' };
                let hour = if two_digit_hour { format!("{:02}", at.hour()) } else { at.hour().to_string() };
                let s = format!(
                    "{:04}{sep}{:02}{sep}{:02} {hour}:{:02}:{:02}",
                    at.year(), at.month(), at.day(), at.minute(), at.second()
                );
                prop_assert_eq!(manager_form(s.as_bytes()), Some(at));
                prop_assert_eq!(general_datetime(&s), Some(at));
            }

            /// Around the transitions of zones with daylight saving time, and in Tokyo.
            #[test]
            fn the_clock_gives_the_instant_the_one_rule_gives(
                zone in prop_oneof![Just("America/New_York"), Just("Europe/London"), Just("Australia/Lord_Howe"), Just("Asia/Tokyo")],
                minutes in proptest::collection::vec(0i64..(4 * 366 * 1440), 1..40),
            ) {
                let tz = TimeZone::get(zone).unwrap();
                let mut clock = LocalClock::new(&tz);
                let origin = date(2022, 1, 1).to_datetime(Time::midnight());
                for minute in minutes {
                    let local = origin + minute.minutes();
                    prop_assert_eq!(clock.instant(local), to_timestamp(local, &tz), "{} in {}", local, zone);
                }
            }
        }
    }
}
