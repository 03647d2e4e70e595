//! Which employee-days a change may affect: a [`Scope`] of inclusive date ranges per employee,
//! merged where they touch, so that the pipeline reads each day's inputs once.

use std::collections::BTreeMap;

use jiff::civil::Date;

/// Inclusive business dates; `None` is unbounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct DateRange {
    pub from: Option<Date>,
    pub to: Option<Date>,
}

impl DateRange {
    pub fn day(day: Date) -> DateRange {
        DateRange { from: Some(day), to: Some(day) }
    }

    pub fn contains(&self, day: Date) -> bool {
        self.from.is_none_or(|f| f <= day) && self.to.is_none_or(|t| day <= t)
    }

    /// The first and last date as stored text; an open end is the extreme date rather than
    /// NULL, so that a filter by them stays an index range.
    pub(super) fn stored_bounds(&self) -> (String, String) {
        (
            self.from.map(|d| d.to_string()).unwrap_or_else(|| "0000-01-01".into()),
            self.to.map(|d| d.to_string()).unwrap_or_else(|| "9999-12-31".into()),
        )
    }
}

/// The employee-days a change may affect.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scope {
    ranges: BTreeMap<i64, Vec<DateRange>>,
}

impl Scope {
    pub fn add(&mut self, employee_id: i64, range: DateRange) {
        self.ranges.entry(employee_id).or_default().push(range);
    }

    pub fn add_day(&mut self, employee_id: i64, day: Date) {
        self.add(employee_id, DateRange::day(day));
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn employees(&self) -> Vec<i64> {
        self.ranges.keys().copied().collect()
    }

    pub(super) fn contains(&self, employee_id: i64, day: Date) -> bool {
        self.ranges.get(&employee_id).is_some_and(|r| r.iter().any(|r| r.contains(day)))
    }

    /// Each employee's ranges, merged where they touch or overlap.
    pub(super) fn merged(&self) -> BTreeMap<i64, Vec<DateRange>> {
        self.ranges
            .iter()
            .map(|(employee, ranges)| {
                let mut sorted = ranges.clone();
                sorted.sort_by_key(|r| (r.from.is_some(), r.from));
                let mut out: Vec<DateRange> = Vec::new();
                for r in sorted {
                    if let Some(last) = out.last_mut() {
                        let touches = match (last.to, r.from) {
                            (None, _) | (_, None) => true,
                            (Some(t), Some(f)) => t.tomorrow().map(|n| f <= n).unwrap_or(true),
                        };
                        if touches {
                            last.to = match (last.to, r.to) {
                                (None, _) | (_, None) => None,
                                (Some(a), Some(b)) => Some(a.max(b)),
                            };
                            continue;
                        }
                    }
                    out.push(r);
                }
                (*employee, out)
            })
            .collect()
    }
}
