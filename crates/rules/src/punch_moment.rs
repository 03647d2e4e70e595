//! When a punch given by a person or a client (手入力, `loginrec punch set`, the API's POST) may
//! be: on its 勤務日 or the day after it in the company's time zone (a 退勤 after midnight), and
//! within the years the product records (2000–2099, as for logs). One rule for every way in, so a
//! time card never holds a 1999 退勤 on a 2024 day or a day in the year 9999.

use jiff::Timestamp;
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use thiserror::Error;

pub const EARLIEST_DATE: Date = date(2000, 1, 1);
pub const LATEST_DATE: Date = date(2099, 12, 31);

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PunchMomentError {
    #[error("勤務日 {} は 2000/01/01〜2099/12/31 の日付にしてください。", .0.strftime("%Y/%m/%d"))]
    DateOutOfRange(Date),
    #[error(
        "日時は勤務日 {} の当日か翌日にしてください (入力: {})。",
        date.strftime("%Y/%m/%d"),
        at.strftime("%Y/%m/%d %H:%M")
    )]
    NotOnTheDay { date: Date, at: jiff::civil::DateTime },
}

impl PunchMomentError {
    /// The same, in English, for the API's clients.
    pub fn english(&self) -> String {
        match self {
            PunchMomentError::DateOutOfRange(d) => format!("date {d} is outside 2000-01-01..2099-12-31"),
            PunchMomentError::NotOnTheDay { date, at } => {
                format!("time {} must fall on the date {date} or the day after it", at.strftime("%Y-%m-%dT%H:%M"))
            }
        }
    }
}

/// Whether a punch at `at` may be recorded for the 勤務日 `date` of a company in `tz`.
pub fn check_punch_moment(date: Date, at: Timestamp, tz: &TimeZone) -> Result<(), PunchMomentError> {
    if !(EARLIEST_DATE..=LATEST_DATE).contains(&date) {
        return Err(PunchMomentError::DateOutOfRange(date));
    }
    let local = tz.to_datetime(at);
    let next_day = date.tomorrow().unwrap_or(date);
    if local.date() != date && local.date() != next_day {
        return Err(PunchMomentError::NotOnTheDay { date, at: local });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokyo(local: &str) -> Timestamp {
        let tz = TimeZone::get("Asia/Tokyo").unwrap();
        tz.to_ambiguous_timestamp(local.parse().unwrap()).compatible().unwrap()
    }

    #[test]
    fn a_punch_on_its_day_or_the_night_after_is_accepted() {
        let tz = TimeZone::get("Asia/Tokyo").unwrap();
        assert_eq!(check_punch_moment(date(2024, 2, 9), tokyo("2024-02-09T09:00"), &tz), Ok(()));
        assert_eq!(check_punch_moment(date(2024, 2, 9), tokyo("2024-02-10T02:30"), &tz), Ok(()));
    }

    #[test]
    fn a_punch_years_away_from_its_day_or_on_an_absurd_day_is_refused() {
        let tz = TimeZone::get("Asia/Tokyo").unwrap();
        let far = check_punch_moment(date(2024, 2, 9), tokyo("1999-02-09T09:00"), &tz).unwrap_err();
        assert!(far.to_string().contains("勤務日 2024/02/09 の当日か翌日"), "{far}");
        assert!(far.english().contains("1999-02-09T09:00"));
        assert_eq!(
            check_punch_moment(date(9999, 12, 31), tokyo("9999-12-30T09:00"), &tz),
            Err(PunchMomentError::DateOutOfRange(date(9999, 12, 31)))
        );
        assert!(check_punch_moment(date(2024, 2, 9), tokyo("2024-02-08T23:59"), &tz).is_err(), "the day before");
    }
}
