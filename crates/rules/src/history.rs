//! The history of the masters that decide a punch, as values: which department an employee
//! belonged to, which 日付変更時間 a department had, and who held a サービスアカウント.
//!
//! What must stay true:
//! - **The first definition holds from the beginning.** A department's first 日付変更時間, an
//!   employee's first 所属 and an account's first holder reach back before their effective
//!   date, so logs that arrived before anything was set up are judged by the first setting.
//! - **A change applies from its effective date on and replaces what was planned after it**
//!   ([`Timeline::set_from`]); what held before it is kept.
//! - **A log belongs to the employee who held its account at the log's event time**
//!   ([`holder_at`]); intervals are `[from, to)` and never overlap for one account.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::business_day::{DayChangeTime, DaySchedule};

/// A value with an effective business date: each entry holds from its date until the next
/// entry's date; the first entry holds from the beginning, whatever its date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeline<T> {
    /// Sorted by date; `None` is "from the beginning" and comes first.
    entries: Vec<(Option<Date>, T)>,
}

impl<T> Default for Timeline<T> {
    fn default() -> Self {
        Timeline { entries: Vec::new() }
    }
}

impl<T: Clone> Timeline<T> {
    pub fn new() -> Self {
        Timeline::default()
    }

    /// Builds a timeline from stored entries in any order.
    pub fn from_entries(entries: impl IntoIterator<Item = (Option<Date>, T)>) -> Self {
        let mut entries: Vec<(Option<Date>, T)> = entries.into_iter().collect();
        entries.sort_by_key(|(from, _)| *from);
        Timeline { entries }
    }

    pub fn entries(&self) -> &[(Option<Date>, T)] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value in effect on `day`.
    pub fn at(&self, day: Date) -> Option<&T> {
        self.entries
            .iter()
            .rev()
            .find(|(from, _)| from.is_none_or(|f| f <= day))
            .or_else(|| self.entries.first())
            .map(|(_, v)| v)
    }

    /// The value from `from` on: entries at or after `from` are replaced, earlier ones stay. A
    /// first value holds from the beginning.
    pub fn set_from(&mut self, from: Date, value: T) {
        if self.entries.is_empty() {
            self.entries.push((None, value));
            return;
        }
        self.entries.retain(|(f, _)| f.is_none_or(|f| f < from));
        self.entries.push((Some(from), value));
    }

    /// The dates from which the value may differ from the day before (every entry's date).
    pub fn change_dates(&self) -> impl Iterator<Item = Date> + '_ {
        self.entries.iter().filter_map(|(from, _)| *from)
    }
}

/// A department's 日付変更時間 for each business day.
impl DaySchedule for Timeline<DayChangeTime> {
    fn change_time(&self, day: Date) -> DayChangeTime {
        self.at(day).copied().unwrap_or_default()
    }
}

/// An employee's 日付変更時間 for each business day: the department the employee belonged to
/// that day, and that department's time that day.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EmployeeSchedule {
    pub departments: Timeline<i64>,
    pub day_changes: BTreeMap<i64, Timeline<DayChangeTime>>,
}

impl DaySchedule for EmployeeSchedule {
    fn change_time(&self, day: Date) -> DayChangeTime {
        self.departments
            .at(day)
            .and_then(|department| self.day_changes.get(department))
            .and_then(|times| times.at(day))
            .copied()
            .unwrap_or_default()
    }
}

/// One holder of a サービスアカウント for `[from, to)` in event time; `None` is unbounded.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LinkInterval<E> {
    pub employee: E,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

impl<E> LinkInterval<E> {
    pub fn contains(&self, at: Timestamp) -> bool {
        self.from.is_none_or(|f| f <= at) && self.to.is_none_or(|t| at < t)
    }
}

/// The employee who held an account at `at`, from the account's intervals.
pub fn holder_at<E>(intervals: &[LinkInterval<E>], at: Timestamp) -> Option<&E> {
    intervals.iter().find(|i| i.contains(at)).map(|i| &i.employee)
}

/// The intervals of one account after linking it to `employee` (or clearing it, `None`) from
/// `at` on: what held before `at` stays, everything from `at` on is replaced. The first holder of
/// an account that never had one holds it from the beginning.
pub fn relink<E: Clone>(intervals: &[LinkInterval<E>], at: Timestamp, employee: Option<E>) -> Vec<LinkInterval<E>> {
    let mut out: Vec<LinkInterval<E>> = Vec::new();
    for i in intervals {
        if i.from.is_some_and(|f| f >= at) {
            continue;
        }
        let mut kept = i.clone();
        if kept.to.is_none_or(|t| t > at) {
            kept.to = Some(at);
        }
        out.push(kept);
    }
    if let Some(employee) = employee {
        let from = if intervals.is_empty() { None } else { Some(at) };
        out.push(LinkInterval { employee, from, to: None });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn the_first_value_holds_from_the_beginning_and_later_ones_from_their_date() {
        let mut t = Timeline::new();
        t.set_from(date(2024, 3, 1), 1);
        assert_eq!(t.at(date(2000, 1, 1)), Some(&1));
        t.set_from(date(2024, 3, 10), 2);
        assert_eq!(t.at(date(2024, 3, 9)), Some(&1));
        assert_eq!(t.at(date(2024, 3, 10)), Some(&2));
    }

    #[test]
    fn a_change_replaces_what_was_planned_after_it() {
        let mut t = Timeline::new();
        t.set_from(date(2024, 1, 1), 1);
        t.set_from(date(2024, 3, 10), 2);
        t.set_from(date(2024, 2, 1), 3);
        assert_eq!(t.at(date(2024, 1, 31)), Some(&1));
        assert_eq!(t.at(date(2024, 4, 1)), Some(&3));
    }

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn relinking_closes_the_old_holder_at_the_moment_and_opens_the_new_one() {
        let first = relink::<&str>(&[], ts(100), Some("x"));
        assert_eq!(holder_at(&first, ts(0)), Some(&"x"), "the first holder reaches back");
        let moved = relink(&first, ts(500), Some("y"));
        assert_eq!(holder_at(&moved, ts(499)), Some(&"x"));
        assert_eq!(holder_at(&moved, ts(500)), Some(&"y"));
        let cleared = relink(&moved, ts(800), None);
        assert_eq!(holder_at(&cleared, ts(900)), None);
        assert_eq!(holder_at(&cleared, ts(700)), Some(&"y"));
        let back = relink(&cleared, ts(1000), Some("x"));
        assert_eq!(holder_at(&back, ts(900)), None, "logs of the gap stay unlinked");
        assert_eq!(holder_at(&back, ts(1000)), Some(&"x"));
        let earlier = relink(&back, ts(300), Some("z"));
        assert_eq!(holder_at(&earlier, ts(299)), Some(&"x"));
        assert_eq!(holder_at(&earlier, ts(900)), Some(&"z"), "a change replaces what came after it");
    }

    #[test]
    fn an_employees_day_change_follows_department_and_department_time() {
        let mut schedule = EmployeeSchedule::default();
        schedule.departments.set_from(date(2024, 1, 1), 1);
        schedule.departments.set_from(date(2024, 2, 10), 2);
        let mut one = Timeline::new();
        one.set_from(date(2024, 1, 1), DayChangeTime::MIDNIGHT);
        one.set_from(date(2024, 2, 5), DayChangeTime::LANSCOPE_DEFAULT);
        let mut two = Timeline::new();
        two.set_from(date(2024, 1, 1), DayChangeTime::from_hm(7, 0).unwrap());
        schedule.day_changes.insert(1, one);
        schedule.day_changes.insert(2, two);
        assert_eq!(schedule.change_time(date(2024, 2, 4)), DayChangeTime::MIDNIGHT);
        assert_eq!(schedule.change_time(date(2024, 2, 5)), DayChangeTime::LANSCOPE_DEFAULT);
        assert_eq!(schedule.change_time(date(2024, 2, 10)).to_string(), "07:00");
    }
}
