//! How long received logs are kept. 労働基準法109条 asks for records of working time to be kept
//! for five years (three during the transition of 附則143条), so the purge never keeps fewer
//! than three. A year is a calendar year, and it is the only definition of one that the purge
//! paths (the daily job and `loginrec purge`) use.

use jiff::{Timestamp, ToSpan};

/// The statutory minimum, in years.
pub const MIN_YEARS: u16 = 3;
/// What a server keeps unless told otherwise.
pub const DEFAULT_YEARS: u16 = 5;

/// Logs received for an instant before this one may be deleted when `years` years are kept
/// (never fewer than [`MIN_YEARS`]). Counted back in calendar years from `now` in UTC and then
/// one more day, so that every time zone keeps at least that many whole calendar years.
pub fn purge_before(now: Timestamp, years: u16) -> Timestamp {
    let years = i64::from(years.max(MIN_YEARS));
    let utc = now.to_zoned_datetime(jiff::tz::TimeZone::UTC);
    utc.checked_sub(years.years()).and_then(|z| z.checked_sub(1.day())).map(|z| z.timestamp()).unwrap_or(Timestamp::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn three_years_back_from_a_december_morning_keeps_december_three_years_ago() {
        let cut = purge_before(at("2026-12-01T03:00:00Z"), 3);
        assert_eq!(cut, at("2023-11-30T03:00:00Z"));
    }

    #[test]
    fn fewer_than_three_years_is_never_allowed() {
        let now = at("2026-12-01T03:00:00Z");
        assert_eq!(purge_before(now, 1), purge_before(now, 3));
        assert!(purge_before(now, 5) < purge_before(now, 3));
    }

    #[test]
    fn a_leap_day_counts_back_to_the_end_of_february() {
        assert_eq!(purge_before(at("2028-02-29T00:00:00Z"), 3), at("2025-02-27T00:00:00Z"));
    }

    proptest! {
        /// Whatever the instant and the time zone, everything of the last `years` calendar
        /// years in that zone stays.
        #[test]
        fn whole_calendar_years_stay_in_every_zone(secs in 946_684_800i64..4_102_444_800, years in 0u16..12,
                                                   zone in prop::sample::select(vec!["Asia/Tokyo", "America/Los_Angeles", "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"])) {
            let now = Timestamp::from_second(secs).unwrap();
            let tz = jiff::tz::TimeZone::get(zone).unwrap();
            let kept_from = now.to_zoned_datetime(tz).checked_sub(i64::from(years.max(MIN_YEARS)).years()).unwrap().timestamp();
            prop_assert!(purge_before(now, years) <= kept_from);
            // and not much more than a day and a half beyond it
            prop_assert!(kept_from.as_second() - purge_before(now, years).as_second() <= 2 * 86_400 + 3_600);
        }
    }
}
