//! A per-company limit on ingest requests, so that one company's connector (or a stolen
//! token) cannot crowd out the others. Counted per process in one-second windows; a refused
//! request gets 429 with `Retry-After: 1`, which the connector honours.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Requests one company may make per second to one process. A connector has at most two
/// batches in flight, so this only stops floods.
pub const INGEST_REQUESTS_PER_SECOND: u32 = 20;

#[derive(Debug)]
pub struct PerCompany {
    limit: u32,
    started: Instant,
    windows: Mutex<HashMap<i64, (u64, u32)>>,
}

impl PerCompany {
    pub fn new(limit: u32) -> PerCompany {
        PerCompany { limit, started: Instant::now(), windows: Mutex::new(HashMap::new()) }
    }

    /// Counts a request of `company_id`; false when it is over the limit of this second.
    pub fn allow(&self, company_id: i64) -> bool {
        self.allow_in_second(company_id, self.started.elapsed().as_secs())
    }

    fn allow_in_second(&self, company_id: i64, second: u64) -> bool {
        let mut windows = match self.windows.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        if windows.len() > 10_000 {
            windows.retain(|_, (s, _)| *s == second);
        }
        let entry = windows.entry(company_id).or_insert((second, 0));
        if entry.0 != second {
            *entry = (second, 0);
        }
        entry.1 += 1;
        entry.1 <= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_company_over_its_limit_is_refused_while_others_go_on() {
        let limit = PerCompany::new(3);
        let first: Vec<bool> = (0..5).map(|_| limit.allow_in_second(1, 7)).collect();
        assert_eq!(first, vec![true, true, true, false, false]);
        assert!(limit.allow_in_second(2, 7), "another company is not affected");
        assert!(limit.allow_in_second(1, 8), "the next second starts afresh");
    }
}
