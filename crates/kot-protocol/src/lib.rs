//! The KING OF TIME Web API v1.0 shapes, typed once: the attendance module's `/api/v1.0/`
//! writes them and the remote client reads them, so the two can never drift apart.
//!
//! What must stay true:
//! - the punch `code` is written as a string (`"1"`), as the service answers it, and read as a
//!   string or a number, as clients send it ([`RecordCode`]);
//! - instants are local times with their offset, `2016-05-01T09:00:00+09:00` ([`TIME_FORMAT`]);
//! - errors come in two forms: `{"errors":[{"message","code"}]}` ([`ErrorBody`]) and the busy
//!   answer `{"code":"303","message"}` ([`BusyBody`]), which asks the client to retry later.
#![forbid(unsafe_code)]

use std::fmt;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The form of every instant the API writes.
pub const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%:z";

/// An instant as the API writes it, in the company's time zone.
pub fn format_time(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned_datetime(tz.clone()).strftime(TIME_FORMAT).to_string()
}

/// An instant as a client may send it: with its offset, or in RFC 3339 (`Z`).
pub fn parse_time(s: &str) -> Option<Timestamp> {
    Timestamp::strptime(TIME_FORMAT, s).ok().or_else(|| s.parse::<Timestamp>().ok())
}

/// `GET /company`: the company the token belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub code: String,
    pub name: String,
}

/// `GET /employees` and `/employees/{code}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Employee {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub division_code: String,
    #[serde(default)]
    pub division_name: String,
    #[serde(default)]
    pub type_name: String,
}

/// A time record's kind: 1 出勤, 2 退勤, 3 休憩開始, 4 休憩終了.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordCode(pub u8);

impl RecordCode {
    pub const CLOCK_IN: RecordCode = RecordCode(1);
    pub const CLOCK_OUT: RecordCode = RecordCode(2);

    /// Only the four codes the service knows.
    pub fn new(code: i64) -> Option<RecordCode> {
        u8::try_from(code).ok().filter(|c| (1..=4).contains(c)).map(RecordCode)
    }

    /// The name the service answers beside the code.
    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "出勤",
            2 => "退勤",
            3 => "休憩開始",
            4 => "休憩終了",
            _ => "",
        }
    }
}

impl fmt::Display for RecordCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for RecordCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for RecordCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            Number(i64),
        }
        let code = match Either::deserialize(d)? {
            Either::Text(s) => s.trim().parse::<i64>().ok(),
            Either::Number(n) => Some(n),
        };
        code.and_then(RecordCode::new)
            .ok_or_else(|| serde::de::Error::custom("code must be 1 (出勤), 2 (退勤), 3 (休憩開始) or 4 (休憩終了)"))
    }
}

/// One record of `GET /daily-workings/timerecord`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeRecord {
    pub time: String,
    pub code: RecordCode,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub division_code: String,
    #[serde(default)]
    pub division_name: String,
}

/// One employee's records of one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyWorking {
    pub date: String,
    pub employee_key: String,
    pub time_record: Vec<TimeRecord>,
}

/// One day of `GET /daily-workings/timerecord`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyTimeRecords {
    pub date: String,
    pub daily_workings: Vec<DailyWorking>,
}

/// One day of `GET /daily-workings`: each employee's totals of that business day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyWorkings {
    pub date: String,
    pub daily_workings: Vec<DailyTotals>,
}

/// One employee's day in `GET /daily-workings`, every time in minutes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyTotals {
    pub date: String,
    pub employee_key: String,
    /// The employee as of that day; written only when `additionalFields=currentDateEmployee`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_date_employee: Option<Employee>,
    #[serde(default)]
    pub work_place_division_code: String,
    #[serde(default)]
    pub work_place_division_name: String,
    /// The month is closed (締め): never here, where the day stays derivable.
    #[serde(default)]
    pub is_closing: bool,
    #[serde(default)]
    pub is_help: bool,
    pub is_error: bool,
    pub workday_type_name: String,
    #[serde(default)]
    pub assigned: i64,
    #[serde(default)]
    pub unassigned: i64,
    #[serde(default)]
    pub overtime: i64,
    #[serde(default)]
    pub late_night: i64,
    #[serde(default)]
    pub late_night_unassigned: i64,
    #[serde(default)]
    pub late_night_overtime: i64,
    #[serde(default)]
    pub break_time: i64,
    #[serde(default)]
    pub late: i64,
    #[serde(default)]
    pub early_leave: i64,
    pub total_work: i64,
}

/// One employee's month in `GET /monthly-workings/{YYYY-MM}`, every time in minutes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MonthlyTotals {
    pub year: i16,
    pub month: i8,
    pub employee_key: String,
    /// The employee as of the month's last day (or today); written only when
    /// `additionalFields=currentDateEmployee`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_date_employee: Option<Employee>,
    /// The period added up, `YYYY-MM-DD`.
    pub start_date: String,
    pub end_date: String,
    #[serde(default)]
    pub is_closing: bool,
    /// Days with a 出勤.
    #[serde(default)]
    pub working_count: i64,
    #[serde(default)]
    pub workingday_count: i64,
    #[serde(default)]
    pub assigned: i64,
    #[serde(default)]
    pub unassigned: i64,
    #[serde(default)]
    pub overtime: i64,
    #[serde(default)]
    pub night: i64,
    #[serde(default)]
    pub night_unassigned: i64,
    #[serde(default)]
    pub night_overtime: i64,
    #[serde(default)]
    pub late: i64,
    #[serde(default)]
    pub early_leave: i64,
    #[serde(default)]
    pub late_count: i64,
    #[serde(default)]
    pub early_leave_count: i64,
    #[serde(default)]
    pub break_sum: i64,
    /// All 休日 work, of which `legal_holiday_work` on the 法定休日.
    #[serde(default)]
    pub holiday_work: HolidayWork,
    #[serde(default)]
    pub legal_holiday_work: HolidayWork,
    #[serde(default)]
    pub general_holiday_work: HolidayWork,
}

/// Work on days off in a month: minutes and days.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HolidayWork {
    #[serde(default)]
    pub minutes: i64,
    #[serde(default)]
    pub day_count: i64,
}

/// `POST /daily-workings/timerecord/{employeeKey}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PunchRequest {
    pub date: String,
    pub time: String,
    pub code: RecordCode,
}

/// The answer to a punch POST.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PunchResponse {
    pub date: String,
    pub time: String,
    pub code: RecordCode,
    #[serde(default)]
    pub name: String,
}

/// `{"errors":[{"message","code"}]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub errors: Vec<ErrorItem>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorItem {
    pub message: String,
    pub code: u32,
}

impl ErrorBody {
    pub fn one(code: u32, message: impl Into<String>) -> ErrorBody {
        ErrorBody { errors: vec![ErrorItem { message: message.into(), code }] }
    }
}

/// `{"code":"303","message":…}`: the service is busy; try again later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusyBody {
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// The busy answer's code.
pub const BUSY_CODE: &str = "303";

/// The error code of a request made in the service's blocked windows (08:30–10:00 and
/// 17:30–18:30 JST), answered with HTTP 403: wait for the window to end, the token is fine.
pub const BLOCKED_WINDOW_CODE: u32 = 104;

/// What an answer body says, as far as a client cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Errors(ErrorBody),
    Busy(BusyBody),
    /// Anything else (a success body, or text that is not the API's).
    Other,
}

impl Answer {
    pub fn read(text: &str) -> Answer {
        if let Ok(errors) = serde_json::from_str::<ErrorBody>(text) {
            return Answer::Errors(errors);
        }
        match serde_json::from_str::<BusyBody>(text) {
            Ok(busy) if busy.code == BUSY_CODE => Answer::Busy(busy),
            _ => Answer::Other,
        }
    }

    /// Whether the service refused the request because of its blocked windows.
    pub fn is_blocked_window(&self) -> bool {
        matches!(self, Answer::Errors(e) if e.errors.iter().any(|e| e.code == BLOCKED_WINDOW_CODE))
    }

    /// The first message the answer carries.
    pub fn message(&self) -> Option<&str> {
        match self {
            Answer::Errors(e) => e.errors.first().map(|e| e.message.as_str()),
            Answer::Busy(b) => Some(b.message.as_str()),
            Answer::Other => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_written_as_a_string_and_read_as_either() {
        let p: PunchRequest = serde_json::from_str(r#"{"date":"2024-02-08","time":"t","code":2}"#).unwrap();
        assert_eq!(p.code, RecordCode::CLOCK_OUT);
        let p: PunchRequest = serde_json::from_str(r#"{"date":"2024-02-08","time":"t","code":"1"}"#).unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"date":"2024-02-08","time":"t","code":"1"}"#);
        assert!(serde_json::from_str::<PunchRequest>(r#"{"date":"d","time":"t","code":"9"}"#).is_err());
    }

    #[test]
    fn both_error_forms_are_told_apart() {
        let errors = Answer::read(r#"{"errors":[{"message":"boom","code":500}]}"#);
        assert_eq!(errors.message(), Some("boom"));
        assert!(matches!(Answer::read(r#"{"code":"303","message":"too many requests"}"#), Answer::Busy(_)));
        assert_eq!(Answer::read(r#"{"date":"2024-02-08"}"#), Answer::Other);
        assert_eq!(Answer::read("<html>"), Answer::Other);
    }

    #[test]
    fn instants_carry_their_offset_and_read_back() {
        let tz = TimeZone::get("Asia/Tokyo").unwrap();
        let at: Timestamp = "2024-02-08T00:03:00Z".parse().unwrap();
        let text = format_time(at, &tz);
        assert_eq!(text, "2024-02-08T09:03:00+09:00");
        assert_eq!(parse_time(&text), Some(at));
        assert_eq!(parse_time("2024-02-08T00:03:00Z"), Some(at));
    }

    #[test]
    fn an_employee_list_reads_back_what_is_written() {
        let e = Employee {
            key: "k".into(),
            code: "0012".into(),
            last_name: "勤怠".into(),
            first_name: "太郎".into(),
            division_code: "1000".into(),
            division_name: "本社".into(),
            type_name: "正社員".into(),
        };
        let text = serde_json::to_string(&vec![e.clone()]).unwrap();
        assert!(text.contains(r#""lastName":"勤怠""#) && text.contains(r#""divisionCode":"1000""#), "{text}");
        assert_eq!(serde_json::from_str::<Vec<Employee>>(&text).unwrap(), vec![e]);
    }
}
