//! 手入力: punches an administrator enters or clears on the time card. Each is an input of the
//! pipeline that wins over PC and API punches of its kind until it is cleared, and is written to
//! the audit log.

use jiff::Timestamp;
use jiff::civil::Date;
use loginrec_rules::PunchKind;
use loginrec_rules::punch_moment::check_punch_moment;

use super::Attendance;
use crate::history::Apply;
use crate::pipeline::{self, CompanyContext, Recomputed, Scope};
use crate::{Missing, Refusal, Result, StoreError, now_ms};

impl Attendance<'_> {
    /// Enters or corrects a punch by hand (method `手入力`) for the live employee with this code:
    /// it wins over PC and API punches of that kind until it is cleared. Recorded in the audit
    /// log with `actor`, in the same transaction.
    pub async fn set_manual_punch(
        &self,
        company_id: i64,
        employee_code: &str,
        business_date: Date,
        kind: PunchKind,
        at_ms: i64,
        actor: &str,
    ) -> Result<Recomputed> {
        self.manual_punch(company_id, employee_code, business_date, kind, Some(at_ms), actor).await
    }

    /// Clears the 手入力 punch of that kind: the day gets back what PC logs and the API say.
    pub async fn clear_manual_punch(
        &self,
        company_id: i64,
        employee_code: &str,
        business_date: Date,
        kind: PunchKind,
        actor: &str,
    ) -> Result<Recomputed> {
        self.manual_punch(company_id, employee_code, business_date, kind, None, actor).await
    }

    async fn manual_punch(
        &self,
        company_id: i64,
        employee_code: &str,
        business_date: Date,
        kind: PunchKind,
        at_ms: Option<i64>,
        actor: &str,
    ) -> Result<Recomputed> {
        let _guard = self.store.write_guard().await;
        let mut tx = self.store.pool.begin().await?;
        pipeline::lock_company(&mut tx, self.store.backend, company_id, false).await?;
        let ctx = CompanyContext::load(&mut tx, company_id).await?;
        if let Some(at_ms) = at_ms {
            let at = jiff::Timestamp::from_millisecond(at_ms).map_err(StoreError::corrupt)?;
            check_punch_moment(business_date, at, &ctx.tz).map_err(|e| StoreError::Refused(Refusal::PunchMoment(e)))?;
        }
        let result: Result<_> = async {
        let employee_id: i64 = sqlx::query_scalar(
            "SELECT id FROM employees WHERE company_id = $1 AND code = $2 AND deleted_at_ms IS NULL",
        )
        .bind(company_id)
        .bind(employee_code)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(Missing::EmployeeCode(employee_code.to_string())))?;
        let now = now_ms();
        let detail = match at_ms {
            Some(at_ms) => {
                sqlx::query(
                    "INSERT INTO manual_punches (company_id, employee_id, business_date, kind, at_ms, actor, updated_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (company_id, employee_id, business_date, kind) \
                     DO UPDATE SET at_ms = excluded.at_ms, actor = excluded.actor, updated_at_ms = excluded.updated_at_ms",
                )
                .bind(company_id)
                .bind(employee_id)
                .bind(business_date.to_string())
                .bind(i64::from(kind.code()))
                .bind(at_ms)
                .bind(actor)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let at = Timestamp::from_millisecond(at_ms)
                    .map(|t| ctx.tz.to_datetime(t).strftime("%Y/%m/%d %H:%M").to_string())
                    .unwrap_or_default();
                format!("{employee_code} {} {} {at}", business_date.strftime("%Y/%m/%d"), kind.label_ja())
            }
            None => {
                let n = sqlx::query(
                    "DELETE FROM manual_punches WHERE company_id = $1 AND employee_id = $2 AND business_date = $3 \
                     AND kind = $4",
                )
                .bind(company_id)
                .bind(employee_id)
                .bind(business_date.to_string())
                .bind(i64::from(kind.code()))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound(Missing::ManualPunch {
                        employee_code: employee_code.to_string(),
                        business_date,
                        kind: kind.label_ja(),
                    }));
                }
                format!("{employee_code} {} {} を削除", business_date.strftime("%Y/%m/%d"), kind.label_ja())
            }
        };
        let mut scope = Scope::default();
        scope.add_day(employee_id, business_date);
        let recomputed = pipeline::rederive(&mut tx, self.store.backend, &ctx, &scope).await?;
        sqlx::query("INSERT INTO audit_events (company_id, at_ms, actor, action, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind(company_id)
            .bind(now)
            .bind(actor)
            .bind("打刻の手入力")
            .bind(detail)
            .execute(&mut *tx)
            .await?;
            Ok(recomputed)
        }
        .await;
        self.store.settle(tx, result, Apply::Commit).await
    }
}
