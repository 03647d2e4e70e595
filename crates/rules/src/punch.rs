//! 打刻 (punch) derivation: how the PC logs of one employee's business day become
//! 出勤 (clock-in) and 退勤 (clock-out).
//!
//! What must stay true, whatever order logs arrive in and however often they are re-sent:
//! - the first log of the business day is 出勤, the last log is 退勤 (a day with a single log
//!   has only 出勤 — nobody has left yet);
//! - when the day already has a 出勤 from another method (a manual or IC-card punch), PC
//!   logs only give 退勤;
//! - the result is a function of the *set* of logs (keyed by idempotency key), so it does not
//!   depend on arrival order and a re-delivered log changes nothing;
//! - a late log can only widen the day: 出勤 moves earlier, 退勤 later, never the reverse.

use std::collections::BTreeMap;

use jiff::Timestamp;

/// 出勤 / 退勤.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PunchKind {
    /// 出勤
    ClockIn,
    /// 退勤
    ClockOut,
}

impl PunchKind {
    /// The code of the KING OF TIME timerecord API: 1 = 出勤, 2 = 退勤.
    pub fn code(self) -> u8 {
        match self {
            PunchKind::ClockIn => 1,
            PunchKind::ClockOut => 2,
        }
    }

    pub fn from_code(code: i64) -> Option<PunchKind> {
        match code {
            1 => Some(PunchKind::ClockIn),
            2 => Some(PunchKind::ClockOut),
            _ => None,
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            PunchKind::ClockIn => "出勤",
            PunchKind::ClockOut => "退勤",
        }
    }
}

/// One PC log of a business day, as far as punches care.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayLog {
    pub at: Timestamp,
    pub key: String,
}

/// The PC punches one business day gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DayPunches {
    pub clock_in: Option<Timestamp>,
    pub clock_out: Option<Timestamp>,
}

impl DayPunches {
    pub fn get(&self, kind: PunchKind) -> Option<Timestamp> {
        match kind {
            PunchKind::ClockIn => self.clock_in,
            PunchKind::ClockOut => self.clock_out,
        }
    }
}

/// Derives the PC punches of one employee's business day from its logs.
///
/// `other_method_clock_in`: the day already has a 出勤 punched by another method.
pub fn derive_day_punches<'a>(logs: impl IntoIterator<Item = &'a DayLog>, other_method_clock_in: bool) -> DayPunches {
    // Keyed by idempotency key: the same log seen twice is one log.
    let distinct: BTreeMap<&str, Timestamp> = logs.into_iter().map(|l| (l.key.as_str(), l.at)).collect();
    let first = distinct.values().min().copied();
    let last = distinct.values().max().copied();
    if other_method_clock_in {
        return DayPunches { clock_in: None, clock_out: last };
    }
    DayPunches { clock_in: first, clock_out: if distinct.len() >= 2 { last } else { None } }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn log(sec: i64, key: &str) -> DayLog {
        DayLog { at: Timestamp::from_second(sec).unwrap(), key: key.to_string() }
    }

    fn ts(sec: i64) -> Option<Timestamp> {
        Some(Timestamp::from_second(sec).unwrap())
    }

    #[test]
    fn the_first_log_is_clock_in_and_the_last_is_clock_out() {
        let logs = [log(300, "c"), log(100, "a"), log(200, "b")];
        assert_eq!(derive_day_punches(&logs, false), DayPunches { clock_in: ts(100), clock_out: ts(300) });
    }

    #[test]
    fn a_day_with_one_log_has_only_a_clock_in() {
        assert_eq!(derive_day_punches(&[log(100, "a")], false), DayPunches { clock_in: ts(100), clock_out: None });
    }

    #[test]
    fn a_redelivered_log_does_not_invent_a_clock_out() {
        let logs = [log(100, "a"), log(100, "a")];
        assert_eq!(derive_day_punches(&logs, false).clock_out, None);
    }

    #[test]
    fn a_day_without_logs_has_no_punch() {
        assert_eq!(derive_day_punches(&[], false), DayPunches::default());
    }

    #[test]
    fn with_a_clock_in_from_another_method_pc_logs_give_only_clock_out() {
        assert_eq!(derive_day_punches(&[log(100, "a")], true), DayPunches { clock_in: None, clock_out: ts(100) });
        let logs = [log(100, "a"), log(500, "b")];
        assert_eq!(derive_day_punches(&logs, true), DayPunches { clock_in: None, clock_out: ts(500) });
    }

    fn arb_logs() -> impl Strategy<Value = Vec<DayLog>> {
        proptest::collection::vec((0i64..86_400, 0u16..40), 0..30)
            .prop_map(|v| v.into_iter().map(|(s, k)| log(s, &format!("k{k}-{s}"))).collect())
    }

    proptest! {
        #[test]
        fn the_result_does_not_depend_on_arrival_order(logs in arb_logs(), seed in any::<u64>(), other in any::<bool>()) {
            let mut shuffled = logs.clone();
            // A deterministic shuffle driven by the seed.
            let n = shuffled.len();
            let mut s = seed;
            for i in (1..n).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            prop_assert_eq!(derive_day_punches(&logs, other), derive_day_punches(&shuffled, other));
        }

        #[test]
        fn redelivering_any_logs_changes_nothing(logs in arb_logs(), repeat in 0usize..10, other in any::<bool>()) {
            let mut again = logs.clone();
            again.extend(logs.iter().take(repeat).cloned());
            prop_assert_eq!(derive_day_punches(&logs, other), derive_day_punches(&again, other));
        }

        #[test]
        fn late_logs_only_widen_the_day(logs in arb_logs(), late in arb_logs()) {
            let before = derive_day_punches(&logs, false);
            let mut all = logs.clone();
            all.extend(late);
            let after = derive_day_punches(&all, false);
            if let Some(b) = before.clock_in {
                prop_assert!(after.clock_in.unwrap() <= b);
            }
            if let Some(b) = before.clock_out {
                prop_assert!(after.clock_out.unwrap() >= b);
            }
            if let (Some(i), Some(o)) = (after.clock_in, after.clock_out) {
                prop_assert!(i <= o);
            }
        }
    }
}
