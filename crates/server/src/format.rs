//! How instants and punches are written for people: in the company's time zone.

use jiff::Timestamp;
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
}
