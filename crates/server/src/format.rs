//! How instants and punches are written for people: in the company's time zone.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// `YYYY/MM/DD HH:MM`, the time card's form.
pub fn date_time_minutes(at_ms: i64, tz: &TimeZone) -> String {
    match Timestamp::from_millisecond(at_ms) {
        Ok(ts) => tz.to_datetime(ts).strftime("%Y/%m/%d %H:%M").to_string(),
        Err(_) => String::new(),
    }
}

/// `YYYY/MM/DD HH:MM:SS`, for ログ表示.
pub fn date_time_seconds(at_ms: i64, tz: &TimeZone) -> String {
    match Timestamp::from_millisecond(at_ms) {
        Ok(ts) => tz.to_datetime(ts).strftime("%Y/%m/%d %H:%M:%S").to_string(),
        Err(_) => String::new(),
    }
}

/// `PC 12/17 09:03`: method, then month/day and time, as 日別データ shows a punch.
pub fn punch_cell(method: &str, at_ms: i64, tz: &TimeZone) -> String {
    match Timestamp::from_millisecond(at_ms) {
        Ok(ts) => format!("{method} {}", tz.to_datetime(ts).strftime("%m/%d %H:%M")),
        Err(_) => String::new(),
    }
}

/// `YYYY/MM/DD`, how a date reads on every screen (ISO dates stay in URLs, form values and
/// machine CSV).
pub fn date_ja(date: Date) -> String {
    date.strftime("%Y/%m/%d").to_string()
}

/// The day of the week as one kanji: 月 … 日.
pub fn weekday_ja(date: Date) -> &'static str {
    const WEEKDAYS: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];
    WEEKDAYS[date.weekday().to_monday_zero_offset() as usize]
}

/// `H:MM`, a number of minutes as hours and minutes (`8:05`, `172:30`).
pub fn hours_minutes(minutes: i64) -> String {
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

/// One employee-day a change alters, as the previews and `punches rebuild` show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRow {
    pub employee_code: String,
    pub business_date: String,
    pub clock_in_before: String,
    pub clock_in_after: String,
    pub clock_out_before: String,
    pub clock_out_after: String,
}

/// `PC 2024/02/08 09:00`, or `—` for no punch.
pub fn punch_with_date(punch: Option<loginrec_rules::Punch>, tz: &TimeZone) -> String {
    match punch {
        Some(p) => format!("{} {}", p.method.label(), tz.to_datetime(p.at).strftime("%Y/%m/%d %H:%M")),
        None => "—".to_string(),
    }
}

pub fn change_rows(changes: &[loginrec_store::DayChange], tz: &TimeZone) -> Vec<ChangeRow> {
    changes
        .iter()
        .map(|c| ChangeRow {
            employee_code: c.employee_code.clone(),
            business_date: date_ja(c.business_date),
            clock_in_before: punch_with_date(c.before.clock_in, tz),
            clock_in_after: punch_with_date(c.after.clock_in, tz),
            clock_out_before: punch_with_date(c.before.clock_out, tz),
            clock_out_after: punch_with_date(c.after.clock_out, tz),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_punch_reads_method_then_date_and_time_in_the_company_zone() {
        let tz = TimeZone::get("Asia/Tokyo").unwrap();
        // 2019-12-17 09:03 JST
        let ms = "2019-12-17T00:03:00Z".parse::<Timestamp>().unwrap().as_millisecond();
        assert_eq!(punch_cell("PC", ms, &tz), "PC 12/17 09:03");
        assert_eq!(date_time_minutes(ms, &tz), "2019/12/17 09:03");
    }

    #[test]
    fn weekdays_and_durations_read_as_on_the_time_card() {
        assert_eq!(weekday_ja(jiff::civil::date(2024, 2, 8)), "木");
        assert_eq!(weekday_ja(jiff::civil::date(2024, 2, 11)), "日");
        assert_eq!(hours_minutes(485), "8:05");
        assert_eq!(hours_minutes(0), "0:00");
    }
}
