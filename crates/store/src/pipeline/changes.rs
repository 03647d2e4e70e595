//! What a change did to the punches: the employee-days it altered, and the punches already
//! sent that the history now contradicts.

use std::collections::BTreeMap;

use jiff::civil::Date;
use loginrec_rules::{PunchKind, ResolvedDay};

/// One employee-day whose punches a change altered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayChange {
    pub employee_id: i64,
    pub employee_code: String,
    pub business_date: Date,
    pub before: ResolvedDay,
    pub after: ResolvedDay,
}

/// A punch already sent to the remote service that the history now says differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentDifference {
    pub employee_key: String,
    pub business_date: Date,
    pub kind: PunchKind,
    pub sent_at_ms: i64,
    /// What the history says now (`None`: no PC punch any more).
    pub now_ms: Option<i64>,
}

/// What a change did to the punches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recomputed {
    pub changes: Vec<DayChange>,
    pub sent_differences: Vec<SentDifference>,
}

impl Recomputed {
    /// Punches (of either kind) created, moved or removed.
    pub fn punches_changed(&self) -> u64 {
        self.changes
            .iter()
            .map(|c| {
                u64::from(c.before.clock_in != c.after.clock_in) + u64::from(c.before.clock_out != c.after.clock_out)
            })
            .sum()
    }

    pub fn extend(&mut self, other: Recomputed) {
        self.changes.extend(other.changes);
        self.sent_differences.extend(other.sent_differences);
    }
}

/// What an attendance system holds of a scope, by employee-day.
pub(crate) type DayMap = BTreeMap<(i64, Date), ResolvedDay>;
