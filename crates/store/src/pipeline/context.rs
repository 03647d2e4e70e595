//! The company as the pipeline needs it: its time zone, and whether its punches go to a remote
//! service; and where a business day ends, from when its 退勤 can settle.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use loginrec_rules::{DaySchedule, day_start};
use sqlx::{AnyConnection, Row};

use crate::{Result, StoreError};

/// The company as the pipeline needs it.
pub(crate) struct CompanyContext {
    pub id: i64,
    pub tz: TimeZone,
    /// Remote mode: minutes to wait after a day ends before its 退勤 is sent.
    pub remote_settle_minutes: Option<i64>,
    /// The transaction holds the company's lock exclusively (a change of masters): nothing else
    /// derives this company's punches until it ends.
    pub held_exclusively: bool,
}

impl CompanyContext {
    pub async fn load(conn: &mut AnyConnection, company_id: i64) -> Result<CompanyContext> {
        let row = sqlx::query("SELECT time_zone, remote_base_url, remote_settle_minutes FROM companies WHERE id = $1")
            .bind(company_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::NotFound(crate::Missing::CompanyId(company_id)))?;
        let tz = crate::time_zone(&row.try_get::<String, _>("time_zone")?)?;
        let remote: Option<String> = row.try_get("remote_base_url")?;
        let settle: i64 = row.try_get("remote_settle_minutes")?;
        Ok(CompanyContext {
            id: company_id,
            tz,
            remote_settle_minutes: remote.map(|_| settle),
            held_exclusively: false,
        })
    }
}

/// The instant business day `day` ends (where the next one starts): from then its 退勤 can settle.
pub(crate) fn day_end(day: Date, tz: &TimeZone, schedule: &impl DaySchedule) -> Timestamp {
    day_start(day.tomorrow().unwrap_or(day), tz, schedule)
}
