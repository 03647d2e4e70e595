//! 日付変更時間 as the database keeps it: minutes after midnight, `00:00`–`23:59`.

use loginrec_rules::DayChangeTime;

use crate::{Result, StoreError};

pub(crate) fn day_change_minutes(change: DayChangeTime) -> i64 {
    i64::from(change.hour()) * 60 + i64::from(change.minute())
}

/// A stored value outside `0..1440` is corrupt data, never a user's input.
pub(crate) fn minutes_to_day_change(minutes: i64) -> Result<DayChangeTime> {
    let bad = || StoreError::corrupt(format!("day change time {minutes}"));
    let (h, m) = (u8::try_from(minutes / 60).map_err(|_| bad())?, u8::try_from(minutes % 60).map_err(|_| bad())?);
    DayChangeTime::from_hm(h, m).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_round_trip_and_a_bad_value_is_corrupt() {
        let five = DayChangeTime::LANSCOPE_DEFAULT;
        assert_eq!(minutes_to_day_change(day_change_minutes(five)).unwrap(), five);
        assert!(matches!(minutes_to_day_change(1440), Err(StoreError::Corrupt(_))));
        assert!(matches!(minutes_to_day_change(-1), Err(StoreError::Corrupt(_))));
    }
}
