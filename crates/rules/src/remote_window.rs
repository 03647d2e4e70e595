//! When punches may be sent to a remote KING OF TIME-shaped service.
//!
//! The service refuses API traffic in its busiest periods, 08:30–10:00 and 17:30–18:30 Japan
//! time, every day. Punches due in those windows wait until the window ends.

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

const BLOCKED: [(Time, Time); 2] = [
    (Time::constant(8, 30, 0, 0), Time::constant(10, 0, 0, 0)),
    (Time::constant(17, 30, 0, 0), Time::constant(18, 30, 0, 0)),
];

/// The service's time zone, in which its windows are written.
pub fn service_time_zone() -> TimeZone {
    TimeZone::get("Asia/Tokyo").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(9)))
}

/// Whether `at` falls in a window where nothing may be sent.
pub fn is_blocked(at: Timestamp) -> bool {
    let time = service_time_zone().to_datetime(at).time();
    BLOCKED.iter().any(|(start, end)| *start <= time && time < *end)
}

/// The first instant at or after `at` that is outside every blocked window.
pub fn next_allowed(at: Timestamp) -> Timestamp {
    let tz = service_time_zone();
    let local = tz.to_datetime(at);
    for (start, end) in BLOCKED {
        if start <= local.time() && local.time() < end {
            let resume = local.date().to_datetime(end);
            return tz
                .to_ambiguous_timestamp(resume)
                .compatible()
                .unwrap_or(at.saturating_add(90.minutes()).unwrap_or(at));
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jst(s: &str) -> Timestamp {
        service_time_zone().to_ambiguous_timestamp(s.parse().unwrap()).compatible().unwrap()
    }

    #[test]
    fn the_morning_and_evening_windows_are_blocked_and_their_edges_are_exact() {
        assert!(!is_blocked(jst("2024-02-08T08:29:59")));
        assert!(is_blocked(jst("2024-02-08T08:30:00")));
        assert!(is_blocked(jst("2024-02-08T09:59:59")));
        assert!(!is_blocked(jst("2024-02-08T10:00:00")));
        assert!(!is_blocked(jst("2024-02-08T17:29:59")));
        assert!(is_blocked(jst("2024-02-08T17:30:00")));
        assert!(!is_blocked(jst("2024-02-08T18:30:00")));
        assert!(!is_blocked(jst("2024-02-08T03:00:00")));
    }

    #[test]
    fn a_blocked_moment_waits_for_the_end_of_its_window() {
        assert_eq!(next_allowed(jst("2024-02-08T09:15:00")), jst("2024-02-08T10:00:00"));
        assert_eq!(next_allowed(jst("2024-02-08T17:30:00")), jst("2024-02-08T18:30:00"));
        assert_eq!(next_allowed(jst("2024-02-08T12:00:00")), jst("2024-02-08T12:00:00"));
    }

    proptest::proptest! {
        #[test]
        fn the_next_allowed_moment_is_never_blocked_nor_earlier(secs in 0i64..4_000_000_000) {
            let at = Timestamp::from_second(secs).unwrap();
            let next = next_allowed(at);
            proptest::prop_assert!(next >= at);
            proptest::prop_assert!(!is_blocked(next));
            proptest::prop_assert!(next.duration_since(at) <= jiff::SignedDuration::from_mins(90));
        }
    }
}
