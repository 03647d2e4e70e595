//! The error mark of one employee's business day on 日別データ, the time card and
//! `GET /daily-workings` (`isError`).

use jiff::civil::Date;

/// Why a day is marked as an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DayError {
    /// A past day with only one of 出勤 and 退勤.
    MissingPunch,
    /// 出勤 and 退勤 were made by different methods.
    MixedMethods,
}

impl DayError {
    pub fn label_ja(self) -> &'static str {
        match self {
            DayError::MissingPunch => "打刻漏れ",
            DayError::MixedMethods => "打刻方法混在",
        }
    }
}

/// The mark of business day `date` whose 出勤 and 退勤 were made by the methods named (`None`
/// for a missing punch); `today` is the company's current business day, which misses no punch
/// while it is going on.
pub fn day_error(date: Date, clock_in: Option<&str>, clock_out: Option<&str>, today: Date) -> Option<DayError> {
    match (clock_in, clock_out) {
        (Some(i), Some(o)) if i != o => Some(DayError::MixedMethods),
        (Some(_), None) | (None, Some(_)) if date < today => Some(DayError::MissingPunch),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn a_past_day_with_one_punch_misses_a_punch_and_today_does_not_yet() {
        let (day, next) = (date(2024, 2, 8), date(2024, 2, 9));
        assert_eq!(day_error(day, Some("PC"), None, next), Some(DayError::MissingPunch));
        assert_eq!(day_error(day, None, Some("PC"), next), Some(DayError::MissingPunch));
        assert_eq!(day_error(day, Some("PC"), None, day), None);
        assert_eq!(day_error(day, None, None, next), None);
    }

    #[test]
    fn punches_of_two_methods_are_marked_mixed() {
        let day = date(2024, 2, 8);
        assert_eq!(day_error(day, Some("手入力"), Some("PC"), day), Some(DayError::MixedMethods));
        assert_eq!(day_error(day, Some("PC"), Some("PC"), date(2024, 3, 1)), None);
        assert_eq!(DayError::MixedMethods.label_ja(), "打刻方法混在");
    }
}
