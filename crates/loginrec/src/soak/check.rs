//! The soak's two counts: the rows the files held against the logs the server stored, and the
//! ground truth's employee-days against the time card.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use lanscope_simulator::Simulation;
use loginrec_store::{LogFilter, Store};

use crate::simulate::{Comparison, compare};

/// What identifies a log as LanScope wrote it: user name, kind, event time, agent and PC.
type Identity = (String, String, i64, String, String);

pub struct RowCount {
    pub generated: usize,
    pub stored: usize,
    /// Stored more often than generated.
    pub duplicated: usize,
    /// Generated and never stored.
    pub missing: usize,
    /// Stored and never generated.
    pub extra: usize,
    examples: Vec<String>,
}

impl RowCount {
    pub fn is_exact(&self) -> bool {
        self.duplicated == 0 && self.missing == 0 && self.extra == 0 && self.generated == self.stored
    }

    pub fn summary(&self) -> String {
        format!(
            "rows: generated {}, stored {}, duplicated {}, missing {}, extra {}",
            self.generated, self.stored, self.duplicated, self.missing, self.extra
        )
    }

    pub fn examples(&self) -> &[String] {
        &self.examples
    }
}

pub async fn rows(store: &Store, company_id: i64, sim: &Simulation) -> anyhow::Result<RowCount> {
    let mut generated: BTreeMap<Identity, usize> = BTreeMap::new();
    for e in &sim.events_in_files {
        let identity = (
            e.user_name.clone(),
            e.kind.as_str().to_string(),
            e.event_at.as_millisecond(),
            e.agent_no.clone(),
            e.computer_name.clone(),
        );
        *generated.entry(identity).or_default() += 1;
    }
    let mut stored: BTreeMap<Identity, usize> = BTreeMap::new();
    const PAGE: i64 = 10_000;
    let mut offset = 0;
    loop {
        let page = store.logs(company_id, &LogFilter { limit: PAGE, offset, ..Default::default() }).await?;
        for l in &page {
            let identity = (
                l.user_name.clone(),
                l.kind.clone(),
                l.event_at_ms,
                l.agent_no.clone().unwrap_or_default(),
                l.computer_name.clone().unwrap_or_default(),
            );
            *stored.entry(identity).or_default() += 1;
        }
        if (page.len() as i64) < PAGE {
            break;
        }
        offset += PAGE;
    }
    Ok(count_rows(&generated, &stored))
}

/// Each identity's stored count against its generated count.
fn count_rows(generated: &BTreeMap<Identity, usize>, stored: &BTreeMap<Identity, usize>) -> RowCount {
    let mut count = RowCount {
        generated: generated.values().sum(),
        stored: stored.values().sum(),
        duplicated: 0,
        missing: 0,
        extra: 0,
        examples: Vec::new(),
    };
    for (identity, &n) in generated {
        let found = stored.get(identity).copied().unwrap_or(0);
        if found < n {
            count.missing += n - found;
            count.examples.push(format!("missing row: {identity:?}"));
        } else if found > n {
            count.duplicated += found - n;
            count.examples.push(format!("row stored {found} times: {identity:?}"));
        }
    }
    for (identity, &n) in stored {
        if !generated.contains_key(identity) {
            count.extra += n;
            count.examples.push(format!("row never generated: {identity:?}"));
        }
    }
    count.examples.truncate(20);
    count
}

/// The log files under `dir` that contain `secret` (or its first half, as a truncated value would
/// show it).
pub fn secret_in_logs(dir: &std::path::Path, secret: &str) -> anyhow::Result<Vec<String>> {
    let half = &secret[..secret.len() / 2];
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let text = String::from_utf8_lossy(&std::fs::read(&path)?).into_owned();
        if text.contains(half) {
            found.push(path.display().to_string());
        }
    }
    Ok(found)
}

pub struct PunchCount {
    pub expected: usize,
    pub found: usize,
    comparison: Comparison,
}

impl PunchCount {
    pub fn is_exact(&self) -> bool {
        self.comparison.missing.is_empty() && self.comparison.extra.is_empty()
    }

    pub fn summary(&self) -> String {
        format!(
            "punches (employee-days): expected {}, found {}, matching {}, missing {}, extra {}",
            self.expected,
            self.found,
            self.comparison.matched,
            self.comparison.missing.len(),
            self.comparison.extra.len()
        )
    }

    pub fn examples(&self) -> Vec<String> {
        let missing = self.comparison.missing.iter().map(|m| format!("expected, not found: {m}"));
        let extra = self.comparison.extra.iter().map(|e| format!("found, not expected: {e}"));
        missing.chain(extra).take(20).collect()
    }
}

pub async fn punches(store: &Store, company_id: i64, tz: &TimeZone, sim: &Simulation) -> anyhow::Result<PunchCount> {
    let first = sim.expected.iter().map(|e| e.business_date).min();
    let last = sim.expected.iter().map(|e| e.business_date).max();
    let timecard = match (first, last) {
        (Some(first), Some(last)) => {
            // A day before and after: a punch on a day the truth has none of is an extra one.
            let from = first.yesterday().unwrap_or(first);
            let to = last.tomorrow().unwrap_or(last);
            loginrec_server::timecard::render(&store.attendance().timecard(company_id, from, to).await?, tz)
        }
        _ => loginrec_server::timecard::HEADER.to_string(),
    };
    let comparison = compare(&lanscope_simulator::expected_punches_csv(sim), &timecard);
    let found = timecard.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
    Ok(PunchCount { expected: sim.expected.len(), found, comparison })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(user: &str, pc: &str) -> Identity {
        (user.into(), "logon".into(), 1_700_000_000_000, "7".into(), pc.into())
    }

    #[test]
    fn a_row_stored_twice_missing_or_changed_on_the_way_is_counted() {
        let generated: BTreeMap<Identity, usize> =
            [(identity("tarou", "PC-1"), 1), (identity("hanako", "PC-2"), 1), (identity("kiosk", "PC-3"), 1)].into();
        let stored: BTreeMap<Identity, usize> = [(identity("tarou", "PC-1"), 2), (identity("kiosk", "PC-"), 1)].into();
        let count = count_rows(&generated, &stored);
        assert_eq!((count.generated, count.stored), (3, 3));
        assert_eq!((count.duplicated, count.missing, count.extra), (1, 2, 1));
        assert!(!count.is_exact());
        assert!(count_rows(&generated, &generated).is_exact());
    }
}
