//! How one employee's business day reads on 日別データ and the time card: 勤務日種別, the
//! punch cells, the error mark of `loginrec_rules::day_error` and the figures of
//! `loginrec_rules::work_time`, which 月別データ and the API read too: a day never adds up
//! differently on two of them.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use loginrec_rules::day_error::day_error;
use loginrec_rules::holidays::DayType;
use loginrec_rules::work_time::DayWork;
use loginrec_store::PunchView;

use crate::format::{hours_minutes, punch_cell};

/// 勤務日種別 as the pages show it: 平日, 休日 or 祝日 (name).
pub(crate) fn day_type_label(date: Date) -> String {
    DayType::of(date).label_ja()
}

/// The error mark of a day, empty when there is none.
pub(crate) fn error_label(
    clock_in: Option<&PunchView>,
    clock_out: Option<&PunchView>,
    date: Date,
    today: Date,
) -> &'static str {
    let (i, o) = (PunchView::method_of(clock_in), PunchView::method_of(clock_out));
    day_error(date, i, o, today).map(|e| e.label_ja()).unwrap_or_default()
}

/// The day's figures as cells: 休憩, 労働時間, 時間外, 深夜 (empty where there are none).
pub(crate) struct WorkCells {
    pub breaks: String,
    pub worked: String,
    pub overtime: String,
    pub late_night: String,
}

impl WorkCells {
    pub(crate) fn of(work: Option<&DayWork>) -> WorkCells {
        let cell = |f: fn(&DayWork) -> i64| minutes_cell(work.map(f).unwrap_or_default());
        WorkCells {
            breaks: cell(|w| w.breaks),
            worked: cell(|w| w.work),
            overtime: cell(|w| w.overtime),
            late_night: cell(|w| w.late_night),
        }
    }
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
    fn a_day_reads_its_error_mark_and_its_figures() {
        let (today, past) = (date(2024, 2, 9), date(2024, 2, 8));
        let i = view("PC", 0);
        assert_eq!(error_label(Some(&i), None, past, today), "打刻漏れ");
        assert_eq!(error_label(Some(&i), None, today, today), "");
        assert_eq!(error_label(Some(&i), Some(&view("手入力", 1)), past, today), "打刻方法混在");
        let work = DayWork { breaks: 60, work: 485, overtime: 5, ..DayWork::default() };
        let cells = WorkCells::of(Some(&work));
        assert_eq!((cells.breaks.as_str(), cells.worked.as_str(), cells.overtime.as_str()), ("1:00", "8:05", "0:05"));
        assert_eq!(cells.late_night, "");
        assert_eq!(WorkCells::of(None).worked, "");
    }
}
