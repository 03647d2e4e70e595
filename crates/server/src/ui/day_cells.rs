//! How one employee's business day reads on 日別データ and the time card: 勤務日種別, the
//! punch cells, and the totals and error mark of `loginrec_rules::day_totals`, which
//! `GET /daily-workings` reads too: a day never adds up differently on two of them.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use loginrec_rules::day_totals::{DayError, DayTotals, day_totals};
use loginrec_rules::holidays::DayType;
use loginrec_store::PunchView;

use crate::format::{hours_minutes, punch_cell};

/// 勤務日種別 as the pages show it: 平日, 休日 or 祝日 (name).
pub(crate) fn day_type_label(date: Date) -> String {
    DayType::of(date).label_ja()
}

/// What the day adds up to, by the rules every screen and the API share.
pub(crate) fn totals(
    clock_in: Option<&PunchView>,
    clock_out: Option<&PunchView>,
    date: Date,
    today: Date,
    tz: &TimeZone,
) -> DayTotals {
    day_totals(date, clock_in.and_then(PunchView::day_punch), clock_out.and_then(PunchView::day_punch), today, tz)
}

/// The error mark of a day, empty when there is none.
pub(crate) fn error_label(totals: &DayTotals) -> &'static str {
    totals.error.map(DayError::label_ja).unwrap_or_default()
}

/// `H:MM` of some minutes of the day, empty when there are none.
pub(crate) fn minutes_cell(minutes: i64) -> String {
    if minutes > 0 { hours_minutes(minutes) } else { String::new() }
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
    fn a_day_reads_its_error_and_worked_time_from_the_shared_totals() {
        let tz = TimeZone::get("Asia/Tokyo").unwrap();
        let (today, past) = (date(2024, 2, 9), date(2024, 2, 8));
        let i = view("PC", 0);
        assert_eq!(error_label(&totals(Some(&i), None, past, today, &tz)), "打刻漏れ");
        assert_eq!(error_label(&totals(Some(&i), None, today, today, &tz)), "");
        let o = view("手入力", 485 * 60_000);
        let t = totals(Some(&i), Some(&o), past, today, &tz);
        assert_eq!(error_label(&t), "打刻方法混在");
        assert_eq!(minutes_cell(t.total_work), "8:05");
        assert_eq!(minutes_cell(0), "");
    }
}
