//! How one employee's business day reads on 日別データ and the time card: 勤務日種別, the
//! punch cells, the worked time, and the error mark. Both screens take these from here, so a
//! day never reads differently on the two.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use loginrec_rules::holidays::DayType;
use loginrec_store::PunchView;

use crate::format::{hours_minutes, punch_cell};

/// 勤務日種別 as the pages show it: 平日, 休日 or 祝日 (name).
pub(crate) fn day_type_label(date: Date) -> String {
    DayType::of(date).label_ja()
}

/// The error a day's punches show: 打刻方法混在 when 出勤 and 退勤 were made by different
/// methods, 打刻漏れ when a past day has only one of them.
pub(crate) fn day_error(
    clock_in: Option<&PunchView>,
    clock_out: Option<&PunchView>,
    date: Date,
    today: Date,
) -> &'static str {
    match (clock_in, clock_out) {
        (Some(i), Some(o)) if i.method != o.method => "打刻方法混在",
        (Some(_), None) | (None, Some(_)) if date < today => "打刻漏れ",
        _ => "",
    }
}

/// Minutes between 出勤 and 退勤, when both exist in that order.
pub(crate) fn worked_minutes(clock_in: Option<&PunchView>, clock_out: Option<&PunchView>) -> Option<i64> {
    match (clock_in, clock_out) {
        (Some(i), Some(o)) if o.at_ms >= i.at_ms => Some((o.at_ms - i.at_ms) / 60_000),
        _ => None,
    }
}

/// `H:MM` between 出勤 and 退勤, empty unless both exist.
pub(crate) fn worked(clock_in: Option<&PunchView>, clock_out: Option<&PunchView>) -> String {
    worked_minutes(clock_in, clock_out).map(hours_minutes).unwrap_or_default()
}

/// `PC 12/17 09:03`, or empty for no punch.
pub(crate) fn punch(p: Option<&PunchView>, tz: &TimeZone) -> String {
    p.map(|p| punch_cell(&p.method, p.at_ms, tz)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn view(method: &str, at_ms: i64) -> PunchView {
        PunchView { at_ms, method: method.into() }
    }

    #[test]
    fn a_past_day_with_one_punch_misses_a_punch_and_today_does_not_yet() {
        let today = date(2024, 2, 9);
        let p = view("PC", 0);
        assert_eq!(day_error(Some(&p), None, date(2024, 2, 8), today), "打刻漏れ");
        assert_eq!(day_error(None, Some(&p), date(2024, 2, 8), today), "打刻漏れ");
        assert_eq!(day_error(Some(&p), None, today, today), "");
        assert_eq!(day_error(None, None, date(2024, 2, 8), today), "");
    }

    #[test]
    fn punches_of_different_methods_are_marked_mixed() {
        let today = date(2024, 2, 9);
        let (i, o) = (view("手入力", 0), view("PC", 60_000));
        assert_eq!(day_error(Some(&i), Some(&o), date(2024, 2, 8), today), "打刻方法混在");
        let o = view("手入力", 60_000);
        assert_eq!(day_error(Some(&i), Some(&o), date(2024, 2, 8), today), "");
    }

    #[test]
    fn worked_time_needs_both_punches_in_order() {
        let (i, o) = (view("PC", 0), view("PC", 485 * 60_000));
        assert_eq!(worked(Some(&i), Some(&o)), "8:05");
        assert_eq!(worked(Some(&o), Some(&i)), "");
        assert_eq!(worked(Some(&i), None), "");
    }
}
