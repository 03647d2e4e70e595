//! The pure rules of ログイン記録: no clock, no database, no I/O.
//!
//! - [`business_day`]: which 勤務日 (business day) a log belongs to, by the department's
//!   日付変更時間 (day change time) in the company's time zone.
//! - [`punch`]: how the logs of one business day become 出勤 / 退勤 punches.
//! - [`log_event`]: the kinds of LanScope log and their deterministic idempotency key.
//! - [`holidays`]: Japanese public holidays (祝日, 振替休日, 国民の休日) for 勤務日種別.
//! - [`validation`]: company codes, access tokens and employee codes as users type them.
#![forbid(unsafe_code)]

pub mod business_day;
pub mod holidays;
pub mod log_event;
pub mod punch;
pub mod remote_window;
pub mod validation;

pub use business_day::{DayChangeTime, business_day, business_day_window};
pub use log_event::{LogKind, bare_account, idempotency_key};
pub use punch::{DayLog, DayPunches, PunchKind, derive_day_punches};
pub use validation::{AccessToken, CompanyCode, EmployeeCode, ValidationError};
