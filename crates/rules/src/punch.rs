//! 打刻 (punch) derivation: how the PC logs of one employee's business day become
//! 出勤 (clock-in) and 退勤 (clock-out).
//!
//! What must stay true, whatever order logs arrive in and however often they are re-sent:
//! - the first log of the business day is 出勤, the last log is 退勤 (a day with a single log
//!   has only 出勤 — nobody has left yet);
//! - when the day already has a 出勤 from another method (a manual or IC-card punch), PC
//!   logs only give 退勤, and never a 退勤 before that 出勤;
//! - methods rank PC < API < 手入力 ([`resolve_day`]): for each kind the highest method present
//!   gives the punch, so clearing a 手入力 punch brings back what the lower methods say;
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
/// `other_method_clock_in`: the day's 出勤 punched by another method, if any. PC logs then give
/// only a 退勤, and never one before that 出勤.
pub fn derive_day_punches<'a>(
    logs: impl IntoIterator<Item = &'a DayLog>,
    other_method_clock_in: Option<Timestamp>,
) -> DayPunches {
    // Keyed by idempotency key: the same log seen twice is one log.
    let distinct: BTreeMap<&str, Timestamp> = logs.into_iter().map(|l| (l.key.as_str(), l.at)).collect();
    let first = distinct.values().min().copied();
    let last = distinct.values().max().copied();
    if let Some(clock_in) = other_method_clock_in {
        return DayPunches { clock_in: None, clock_out: last.filter(|at| *at >= clock_in) };
    }
    DayPunches { clock_in: first, clock_out: if distinct.len() >= 2 { last } else { None } }
}

/// 打刻方法: how a punch was made, lowest precedence first. A punch of a higher method is never
/// replaced by a lower one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// PC: derived from LanScope logs.
    Pc,
    /// API: received through the KING OF TIME-shaped API (an IC card reader, another tool).
    Api,
    /// 手入力: entered by an administrator.
    Manual,
}

impl Method {
    /// The word 日別データ and the time card show, and the value stored.
    pub fn label(self) -> &'static str {
        match self {
            Method::Pc => "PC",
            Method::Api => "API",
            Method::Manual => "手入力",
        }
    }

    pub fn from_label(label: &str) -> Option<Method> {
        [Method::Pc, Method::Api, Method::Manual].into_iter().find(|m| m.label() == label)
    }
}

/// A punch with its method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Punch {
    pub at: Timestamp,
    pub method: Method,
}

/// Everything that decides one employee's business day: the PC logs that fall in it, and the
/// punches other methods made for it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayInputs {
    pub logs: Vec<DayLog>,
    /// Every 出勤 / 退勤 received through the API for the day (the earliest 出勤 and the
    /// latest 退勤 count).
    pub api_clock_ins: Vec<Timestamp>,
    pub api_clock_outs: Vec<Timestamp>,
    /// The 手入力 punches of the day.
    pub manual: DayPunches,
}

/// The punches of one business day, each with its method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ResolvedDay {
    pub clock_in: Option<Punch>,
    pub clock_out: Option<Punch>,
}

impl ResolvedDay {
    pub fn get(&self, kind: PunchKind) -> Option<Punch> {
        match kind {
            PunchKind::ClockIn => self.clock_in,
            PunchKind::ClockOut => self.clock_out,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.clock_in.is_none() && self.clock_out.is_none()
    }
}

/// The day's punches from all its inputs, by precedence PC < API < 手入力 for each kind.
pub fn resolve_day(inputs: &DayInputs) -> ResolvedDay {
    let api_in = inputs.api_clock_ins.iter().min().copied();
    let api_out = inputs.api_clock_outs.iter().max().copied();
    let other_in = inputs
        .manual
        .clock_in
        .map(|at| Punch { at, method: Method::Manual })
        .or(api_in.map(|at| Punch { at, method: Method::Api }));
    let other_out = inputs
        .manual
        .clock_out
        .map(|at| Punch { at, method: Method::Manual })
        .or(api_out.map(|at| Punch { at, method: Method::Api }));
    let pc = derive_day_punches(&inputs.logs, other_in.map(|p| p.at));
    let pc_punch = |at: Option<Timestamp>| at.map(|at| Punch { at, method: Method::Pc });
    ResolvedDay { clock_in: other_in.or(pc_punch(pc.clock_in)), clock_out: other_out.or(pc_punch(pc.clock_out)) }
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
        assert_eq!(derive_day_punches(&logs, None), DayPunches { clock_in: ts(100), clock_out: ts(300) });
    }

    #[test]
    fn a_day_with_one_log_has_only_a_clock_in() {
        assert_eq!(derive_day_punches(&[log(100, "a")], None), DayPunches { clock_in: ts(100), clock_out: None });
    }

    #[test]
    fn a_redelivered_log_does_not_invent_a_clock_out() {
        let logs = [log(100, "a"), log(100, "a")];
        assert_eq!(derive_day_punches(&logs, None).clock_out, None);
    }

    #[test]
    fn a_day_without_logs_has_no_punch() {
        assert_eq!(derive_day_punches(&[], None), DayPunches::default());
    }

    #[test]
    fn with_a_clock_in_from_another_method_pc_logs_give_only_clock_out() {
        assert_eq!(derive_day_punches(&[log(100, "a")], ts(50)), DayPunches { clock_in: None, clock_out: ts(100) });
        let logs = [log(100, "a"), log(500, "b")];
        assert_eq!(derive_day_punches(&logs, ts(50)), DayPunches { clock_in: None, clock_out: ts(500) });
    }

    #[test]
    fn a_pc_log_before_another_methods_clock_in_gives_no_clock_out() {
        // 出勤 by hand at 10:00 (36 000 s), one PC log at 09:00: no 退勤 at 09:00.
        assert_eq!(derive_day_punches(&[log(32_400, "a")], ts(36_000)), DayPunches::default());
        let logs = [log(32_400, "a"), log(64_800, "b")];
        assert_eq!(derive_day_punches(&logs, ts(36_000)).clock_out, ts(64_800));
    }

    fn punch(sec: i64, method: Method) -> Option<Punch> {
        Some(Punch { at: Timestamp::from_second(sec).unwrap(), method })
    }

    #[test]
    fn a_manual_punch_wins_and_clearing_it_brings_the_pc_punch_back() {
        let mut day = DayInputs { logs: vec![log(32_400, "a"), log(64_800, "b")], ..DayInputs::default() };
        assert_eq!(resolve_day(&day).clock_out, punch(64_800, Method::Pc));
        day.manual.clock_out = ts(66_600);
        let resolved = resolve_day(&day);
        assert_eq!(resolved.clock_in, punch(32_400, Method::Pc));
        assert_eq!(resolved.clock_out, punch(66_600, Method::Manual));
        day.manual.clock_out = None;
        assert_eq!(resolve_day(&day).clock_out, punch(64_800, Method::Pc));
    }

    #[test]
    fn api_punches_rank_between_pc_and_manual() {
        let mut day = DayInputs {
            logs: vec![log(30_000, "a"), log(70_000, "b")],
            api_clock_ins: vec![Timestamp::from_second(33_000).unwrap(), Timestamp::from_second(32_000).unwrap()],
            ..DayInputs::default()
        };
        let resolved = resolve_day(&day);
        assert_eq!(resolved.clock_in, punch(32_000, Method::Api), "the earliest API 出勤");
        assert_eq!(resolved.clock_out, punch(70_000, Method::Pc));
        day.manual.clock_in = ts(31_000);
        assert_eq!(resolve_day(&day).clock_in, punch(31_000, Method::Manual));
    }

    fn arb_logs() -> impl Strategy<Value = Vec<DayLog>> {
        proptest::collection::vec((0i64..86_400, 0u16..40), 0..30)
            .prop_map(|v| v.into_iter().map(|(s, k)| log(s, &format!("k{k}-{s}"))).collect())
    }

    proptest! {
        #[test]
        fn the_result_does_not_depend_on_arrival_order(logs in arb_logs(), seed in any::<u64>(), other in proptest::option::of(0i64..86_400)) {
            let mut shuffled = logs.clone();
            // A deterministic shuffle driven by the seed.
            let n = shuffled.len();
            let mut s = seed;
            for i in (1..n).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            prop_assert_eq!(derive_day_punches(&logs, other.and_then(ts)), derive_day_punches(&shuffled, other.and_then(ts)));
        }

        #[test]
        fn redelivering_any_logs_changes_nothing(logs in arb_logs(), repeat in 0usize..10, other in proptest::option::of(0i64..86_400)) {
            let mut again = logs.clone();
            again.extend(logs.iter().take(repeat).cloned());
            prop_assert_eq!(derive_day_punches(&logs, other.and_then(ts)), derive_day_punches(&again, other.and_then(ts)));
        }

        #[test]
        fn late_logs_only_widen_the_day(logs in arb_logs(), late in arb_logs()) {
            let before = derive_day_punches(&logs, None);
            let mut all = logs.clone();
            all.extend(late);
            let after = derive_day_punches(&all, None);
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

        #[test]
        fn a_resolved_day_never_clocks_out_before_it_clocks_in_by_pc(
            logs in arb_logs(), manual_in in proptest::option::of(0i64..86_400), api_in in proptest::option::of(0i64..86_400),
        ) {
            let day = DayInputs {
                logs,
                api_clock_ins: api_in.and_then(ts).into_iter().collect(),
                manual: DayPunches { clock_in: manual_in.and_then(ts), clock_out: None },
                ..DayInputs::default()
            };
            let resolved = resolve_day(&day);
            if let (Some(i), Some(o)) = (resolved.clock_in, resolved.clock_out) {
                prop_assert!(o.method != Method::Pc || i.at <= o.at);
            }
            if manual_in.is_some() {
                prop_assert_eq!(resolved.clock_in.map(|p| p.method), Some(Method::Manual));
            }
        }
    }
}
