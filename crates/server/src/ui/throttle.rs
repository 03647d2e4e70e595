//! How fast a login may be retried. Failures are counted per (account, client address) and
//! per client address, never per account alone: guessing from many addresses cannot lock
//! the real user out, and one address cannot spray many accounts.
//!
//! - An account from one address gets [`FREE_FAILURES`] failures in the window; after that
//!   each attempt waits for a delay that doubles with every further failure, from
//!   [`FIRST_DELAY_MS`] up to the window.
//! - One address gets [`ADDRESS_FAILURES`] failures in the window over all accounts.
//!
//! Every attempt is counted as a failure before the password is checked (and the pair's
//! count taken back on success), in one step with the check, so parallel guesses cannot
//! pass the limit.

/// Failures counted within this window.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// Failures of one account from one address before delays begin.
pub const FREE_FAILURES: usize = 5;
/// The wait after the first failure past the free ones; it doubles with each failure more.
pub const FIRST_DELAY_MS: i64 = 30 * 1000;
/// Failures from one address, over every account, in the window.
pub const ADDRESS_FAILURES: i64 = 30;

/// Whether an attempt may go on now, or how long it must wait (milliseconds).
/// `pair_failures` are the instants of the account's recent failures from this address
/// (oldest first); `address_failures` counts the address's recent failures.
pub fn wait_ms(pair_failures: &[i64], address_failures: i64, now_ms: i64) -> Option<i64> {
    let recent: Vec<i64> = pair_failures.iter().copied().filter(|t| now_ms - t < WINDOW_MS).collect();
    if address_failures >= ADDRESS_FAILURES {
        let oldest = recent.first().copied().unwrap_or(now_ms);
        return Some((oldest + WINDOW_MS - now_ms).max(1));
    }
    if recent.len() < FREE_FAILURES {
        return None;
    }
    let doublings = (recent.len() - FREE_FAILURES).min(16) as u32;
    let delay = (FIRST_DELAY_MS << doublings).min(WINDOW_MS);
    let last = recent.last().copied().unwrap_or(now_ms);
    let ready = last + delay;
    (ready > now_ms).then(|| ready - now_ms)
}

/// User input as it may go into a log line: control characters escaped (a newline cannot
/// forge a line), at most [`LOGGED_CHARS`] characters.
pub fn loggable(input: &str) -> String {
    let mut out: String = input.chars().take(LOGGED_CHARS).flat_map(char::escape_debug).collect();
    if input.chars().count() > LOGGED_CHARS {
        out.push('…');
    }
    out
}

/// The most of one piece of user input a log line repeats.
pub const LOGGED_CHARS: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 10 * WINDOW_MS;

    #[test]
    fn five_failures_are_free_then_each_waits_twice_as_long() {
        let failures =
            |n: usize, last_ago: i64| -> Vec<i64> { (0..n).map(|i| NOW - last_ago - (n - 1 - i) as i64).collect() };
        assert_eq!(wait_ms(&failures(4, 0), 4, NOW), None);
        assert_eq!(wait_ms(&failures(5, 0), 5, NOW), Some(FIRST_DELAY_MS));
        assert_eq!(wait_ms(&failures(5, FIRST_DELAY_MS), 5, NOW), None, "after the delay, one more try");
        assert_eq!(wait_ms(&failures(6, 0), 6, NOW), Some(2 * FIRST_DELAY_MS));
        assert_eq!(wait_ms(&failures(7, 0), 7, NOW), Some(4 * FIRST_DELAY_MS));
        assert_eq!(wait_ms(&failures(20, 0), 20, NOW).unwrap(), WINDOW_MS, "never longer than the window");
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let old: Vec<i64> = (0..10).map(|i| NOW - WINDOW_MS - i).collect();
        assert_eq!(wait_ms(&old, 0, NOW), None);
    }

    #[test]
    fn an_address_spraying_accounts_is_stopped_whatever_the_account() {
        assert_eq!(wait_ms(&[], ADDRESS_FAILURES - 1, NOW), None);
        assert!(wait_ms(&[], ADDRESS_FAILURES, NOW).is_some());
    }

    #[test]
    fn user_input_in_a_log_line_is_escaped_and_cut() {
        assert_eq!(loggable("admin\n2026-12-01 INFO forged"), "admin\\n2026-12-01 INFO forged");
        assert_eq!(loggable("a\tb\r"), "a\\tb\\r");
        let long = loggable(&"x".repeat(10_000));
        assert_eq!(long.chars().count(), LOGGED_CHARS + 1);
        assert_eq!(loggable("髙橋"), "髙橋");
    }
}
