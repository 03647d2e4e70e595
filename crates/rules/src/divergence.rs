//! 乖離: how far an employee's PC use reaches outside the 出勤 and 退勤 made by other means
//! (手入力, API, a remote service's own time records) on one business day.
//!
//! The MHLW guideline of 2017-01-20 (労働時間の適正な把握のために使用者が講ずべき措置に関するガイド
//! ライン) asks an employer whose self-reported or punched times differ greatly from objective
//! records, such as PC use, to investigate; PC use before the 出勤 (早出) and after the 退勤 (居残り)
//! is the time worked but not recorded that the investigation looks for.
//!
//! What must stay true:
//! - a day is compared only where both sides exist: the PC's first logon against a declared
//!   出勤, its last logoff against a declared 退勤; a day without a declared punch has no 乖離;
//! - PC use inside the declared day is no 乖離: minutes never go below zero;
//! - a day is flagged when 早出 or 居残り is more than the company's threshold.

use jiff::Timestamp;

/// The 乖離 threshold when a company has not set one, in minutes.
pub const DEFAULT_THRESHOLD_MINUTES: i64 = 30;

/// What the PC logs say of a business day, whatever punches they became.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PcUse {
    pub first_logon: Option<Timestamp>,
    pub last_logoff: Option<Timestamp>,
}

/// The day's 出勤 and 退勤 made by other means than the PC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Declared {
    pub clock_in: Option<Timestamp>,
    pub clock_out: Option<Timestamp>,
}

/// A day compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// 早出: minutes of PC use before the declared 出勤.
    pub early_minutes: i64,
    /// 居残り: minutes of PC use after the declared 退勤.
    pub late_minutes: i64,
    /// Whether either passes the threshold.
    pub flagged: bool,
}

/// The 乖離 of a day, or `None` when there is nothing to compare (no declared punch with a PC
/// record to set it against).
pub fn divergence(pc: PcUse, declared: Declared, threshold_minutes: i64) -> Option<Divergence> {
    let early = match (pc.first_logon, declared.clock_in) {
        (Some(logon), Some(clock_in)) => Some(minutes(logon, clock_in)),
        _ => None,
    };
    let late = match (declared.clock_out, pc.last_logoff) {
        (Some(clock_out), Some(logoff)) => Some(minutes(clock_out, logoff)),
        _ => None,
    };
    if early.is_none() && late.is_none() {
        return None;
    }
    let (early_minutes, late_minutes) = (early.unwrap_or(0), late.unwrap_or(0));
    Some(Divergence {
        early_minutes,
        late_minutes,
        flagged: early_minutes > threshold_minutes || late_minutes > threshold_minutes,
    })
}

/// Whole minutes from `from` to `to`, never below zero.
fn minutes(from: Timestamp, to: Timestamp) -> i64 {
    (to.as_second() - from.as_second()).max(0) / 60
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(hour: i64, minute: i64) -> Timestamp {
        // 2024-02-08 00:00 JST.
        Timestamp::from_second(1_707_318_000 + hour * 3600 + minute * 60).unwrap()
    }

    fn pc(logon: Option<Timestamp>, logoff: Option<Timestamp>) -> PcUse {
        PcUse { first_logon: logon, last_logoff: logoff }
    }

    fn declared(clock_in: Option<Timestamp>, clock_out: Option<Timestamp>) -> Declared {
        Declared { clock_in, clock_out }
    }

    #[test]
    fn pc_use_an_hour_after_the_declared_clock_out_is_flagged() {
        let d = divergence(pc(Some(at(8, 55)), Some(at(19, 0))), declared(Some(at(9, 0)), Some(at(18, 0))), 30);
        assert_eq!(d, Some(Divergence { early_minutes: 5, late_minutes: 60, flagged: true }));
    }

    #[test]
    fn exactly_the_threshold_is_not_flagged_and_one_minute_more_is() {
        let day = declared(Some(at(9, 0)), Some(at(18, 0)));
        assert!(!divergence(pc(Some(at(8, 30)), Some(at(18, 30))), day, 30).unwrap().flagged);
        assert!(divergence(pc(Some(at(8, 29)), Some(at(18, 0))), day, 30).unwrap().flagged);
    }

    #[test]
    fn pc_use_inside_the_declared_day_is_no_divergence() {
        let d = divergence(pc(Some(at(9, 30)), Some(at(17, 0))), declared(Some(at(9, 0)), Some(at(18, 0))), 30);
        assert_eq!(d, Some(Divergence { early_minutes: 0, late_minutes: 0, flagged: false }));
    }

    #[test]
    fn a_day_without_a_declared_punch_or_without_pc_use_is_not_compared() {
        assert_eq!(divergence(pc(Some(at(7, 0)), Some(at(22, 0))), Declared::default(), 30), None);
        assert_eq!(divergence(PcUse::default(), declared(Some(at(9, 0)), Some(at(18, 0))), 30), None);
        // Only the 出勤 declared: only 早出 is compared.
        let d = divergence(pc(Some(at(7, 0)), Some(at(23, 0))), declared(Some(at(9, 0)), None), 30).unwrap();
        assert_eq!((d.early_minutes, d.late_minutes, d.flagged), (120, 0, true));
    }

    proptest! {
        /// Moving the PC use further outside the declared day never makes the 乖離 smaller.
        #[test]
        fn more_pc_use_outside_never_lessens_the_divergence(
            logon in 0i64..1440, logoff in 0i64..1440, clock_in in 0i64..1440, clock_out in 0i64..1440,
            earlier in 0i64..300, later in 0i64..300, threshold in 0i64..120,
        ) {
            let t = |m: i64| at(0, m);
            let day = declared(Some(t(clock_in)), Some(t(clock_out)));
            let a = divergence(pc(Some(t(logon)), Some(t(logoff))), day, threshold).unwrap();
            let b = divergence(pc(Some(t(logon - earlier)), Some(t(logoff + later))), day, threshold).unwrap();
            prop_assert!(a.early_minutes >= 0 && a.late_minutes >= 0);
            prop_assert!(b.early_minutes >= a.early_minutes && b.late_minutes >= a.late_minutes);
            prop_assert!(!a.flagged || b.flagged);
            prop_assert_eq!(a.flagged, a.early_minutes > threshold || a.late_minutes > threshold);
        }
    }
}
