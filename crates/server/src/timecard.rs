//! `loginrec timecard export`: the punches of a period as CSV.

use jiff::tz::TimeZone;
use loginrec_store::TimecardRow;

use crate::csv_cell::neutralise_formula;
use crate::format::date_time_minutes;

pub const HEADER: &str = "従業員コード,日付,出勤,退勤,打刻方法";

/// One line per employee and business day with a punch; 出勤 / 退勤 as `YYYY/MM/DD HH:MM`
/// (a 退勤 after midnight keeps its own calendar date), empty when there is none.
pub fn render(rows: &[TimecardRow], tz: &TimeZone) -> String {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    let mut out = String::new();
    out.push_str(HEADER);
    out.push_str("\r\n");
    for row in rows {
        let cell = |p: &Option<loginrec_store::PunchView>| {
            p.as_ref().map(|p| date_time_minutes(p.at_ms, tz)).unwrap_or_default()
        };
        let mut methods: Vec<&str> =
            [&row.clock_in, &row.clock_out].iter().filter_map(|p| p.as_ref().map(|p| p.method.as_str())).collect();
        methods.dedup();
        let record = [
            row.employee_code.clone(),
            row.business_date.to_string(),
            cell(&row.clock_in),
            cell(&row.clock_out),
            methods.join("/"),
        ];
        // Writing into a Vec cannot fail.
        let _ = writer.write_record(record.iter().map(|cell| neutralise_formula(cell).into_owned()));
    }
    let _ = writer.flush();
    out.push_str(&String::from_utf8_lossy(&writer.into_inner().unwrap_or_default()));
    out
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use loginrec_store::PunchView;

    use super::*;

    #[test]
    fn an_employee_code_a_spreadsheet_would_run_is_written_as_text() {
        let row = TimecardRow {
            employee_code: "=1+2".into(),
            business_date: date(2024, 2, 8),
            clock_in: Some(PunchView { at_ms: 1_707_350_400_000, method: "PC".into() }),
            clock_out: None,
        };
        let csv = render(&[row], &TimeZone::get("Asia/Tokyo").unwrap());
        assert_eq!(csv.lines().nth(1), Some("'=1+2,2024-02-08,2024/02/08 09:00,,PC"));
    }
}
