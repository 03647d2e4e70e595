//! The pure rules of ログイン記録: no clock, no database, no I/O.
//!
//! - [`business_day`]: which 勤務日 (business day) a log belongs to, by the department's
//!   日付変更時間 (day change time) in the company's time zone.
//! - [`history`]: effective-dated departments and 日付変更時間, and サービスアカウント holders.
//! - [`work_time`]: what business days and months add up to (労働時間, 休憩, 時間外, 深夜,
//!   休日労働) and the long-hours alerts; [`day_error`]: a day's error mark.
//! - [`divergence`]: 乖離 between the PC's use and the punches of other methods.
//! - [`punch_moment`]: when a punch given by a person or a client may be, for its 勤務日.
//! - [`punch`]: how the logs and other methods' punches of one business day become 出勤 / 退勤.
//! - [`log_event`]: the kinds of LanScope log and their deterministic idempotency key.
//! - [`holidays`]: Japanese public holidays (祝日, 振替休日, 国民の休日) for 勤務日種別.
//! - [`retention`]: how long received logs are kept (one definition of a year).
//! - [`validation`]: company codes, access tokens and employee codes as users type them.
#![forbid(unsafe_code)]

pub mod business_day;
pub mod day_error;
pub mod divergence;
pub mod history;
pub mod holidays;
pub mod log_event;
pub mod punch;
pub mod punch_moment;
pub mod remote_window;
pub mod retention;
pub mod validation;
pub mod work_time;

pub use business_day::{
    DayChangeTime, DaySchedule, business_day, business_day_in, business_day_window, day_start, day_window,
    local_instant,
};
pub use history::{EmployeeSchedule, LinkInterval, Timeline, holder_at, relink};
pub use log_event::{LogKind, bare_account, idempotency_key, idempotency_key_bytes};
pub use punch::{
    DayInputs, DayLog, DayPunches, Method, Punch, PunchKind, ResolvedDay, derive_day_punches, resolve_day,
};
pub use validation::{AccessToken, CompanyCode, EmployeeCode, ValidationError};
