//! `loginrec timecard export`: the punches of a period as CSV.

use jiff::tz::TimeZone;
use loginrec_store::TimecardRow;

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
        let _ = writer.write_record(&record);
    }
    let _ = writer.flush();
    out.push_str(&String::from_utf8_lossy(&writer.into_inner().unwrap_or_default()));
    out
}
