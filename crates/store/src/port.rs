//! The attendance system a company's punches go to, as the pipeline sees it: one trait,
//! [`AttendancePunches`], with the embedded 勤革時 module and a remote KING OF TIME-shaped
//! service as its two implementations. The pipeline ([`crate::pipeline`]) derives each day and
//! asks the company's system what it holds and to hold the difference; it never names a table.
//!
//! - **Embedded** ([`Embedded`]): the `punches` table holds every method's punches, PC, API and
//!   手入力, as resolved by precedence.
//! - **Remote** ([`RemoteOutbox`]): what the remote service holds from us is the outbox
//!   (`remote_punches`): PC punches only (its own 手入力 and API punches live there). A row
//!   still `pending` follows the history; once it left `pending` it is never changed or sent
//!   again, and a difference from the history is reported as a [`SentDifference`] instead of a
//!   change. Remote mode writes nothing into `punches`.
//!
//! The screens read what the company's system holds through [`held_punches`], so that
//! 日別データ, the time card and ログ表示 show in remote mode what was sent or is queued.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use loginrec_rules::{EmployeeSchedule, Method, Punch, PunchKind, ResolvedDay};
use sqlx::AnyConnection;

use crate::bulk::{Listed, json, json_rows};
use crate::new_rows::{Statement, insert_new_rows};
use crate::pipeline::changes::{DayChange, DayMap, Recomputed, SentDifference};
use crate::pipeline::context::{CompanyContext, day_end};
use crate::pipeline::read::{DayRow, DayTable};
use crate::{Backend, Result, StoreError, now_ms};

/// What ログイン記録 needs of the attendance system the punches go to.
pub(crate) trait AttendancePunches {
    /// Where the system keeps what it holds, read with the pipeline's other inputs.
    fn held_table(&self) -> &'static DayTable;

    /// What the system holds of the scope's employee-days, from the rows of [`Self::held_table`].
    fn held(&mut self, rows: Vec<DayRow>) -> Result<DayMap>;

    /// The part of a derived day the system takes from us.
    fn takes(&self, derived: ResolvedDay) -> ResolvedDay;

    /// Whether [`Self::hold`] reads the employees' keys it is given.
    fn names_employees_by_key(&self) -> bool;

    /// Makes the system hold what `changes` say (in the caller's transaction), and returns the
    /// changes it made and what it could not change.
    async fn hold(
        &mut self,
        conn: &mut AnyConnection,
        ctx: &CompanyContext,
        schedules: &BTreeMap<i64, EmployeeSchedule>,
        keys: &BTreeMap<i64, (String, String)>,
        changes: Vec<DayChange>,
    ) -> Result<Recomputed>;
}

/// The embedded 勤革時 module: its `punches` table.
pub(crate) struct Embedded {
    /// Punches not held before are inserted plainly (see [`insert_new_rows`]).
    pub plain_inserts: bool,
}

impl AttendancePunches for Embedded {
    fn held_table(&self) -> &'static DayTable {
        &DayTable { table: "punches", date_column: "business_date", kind_column: "kind", note_column: Some("method") }
    }

    fn held(&mut self, rows: Vec<DayRow>) -> Result<DayMap> {
        let mut held: DayMap = BTreeMap::new();
        for r in rows {
            let method = r.note.unwrap_or_default();
            let method =
                Method::from_label(&method).ok_or_else(|| StoreError::corrupt(format!("punch method {method:?}")))?;
            set(held.entry(r.key).or_default(), r.kind, Some(Punch { at: r.at, method }));
        }
        Ok(held)
    }

    fn takes(&self, derived: ResolvedDay) -> ResolvedDay {
        derived
    }

    fn names_employees_by_key(&self) -> bool {
        false
    }

    async fn hold(
        &mut self,
        conn: &mut AnyConnection,
        ctx: &CompanyContext,
        _schedules: &BTreeMap<i64, EmployeeSchedule>,
        _keys: &BTreeMap<i64, (String, String)>,
        changes: Vec<DayChange>,
    ) -> Result<Recomputed> {
        write_changes(conn, ctx.id, &changes, self.plain_inserts).await?;
        Ok(Recomputed { changes, sent_differences: Vec::new() })
    }
}

/// A remote service, through the outbox: what was sent, is being sent, or waits.
pub(crate) struct RemoteOutbox {
    /// Minutes to wait after a day ends before its 退勤 is sent.
    pub settle_minutes: i64,
    /// Outbox rows that left `pending`: (employee, business day, kind).
    frozen: BTreeSet<(i64, Date, PunchKind)>,
}

impl RemoteOutbox {
    pub fn new(settle_minutes: i64) -> RemoteOutbox {
        RemoteOutbox { settle_minutes, frozen: BTreeSet::new() }
    }
}

/// The outbox as a relation of employee ids, for [`crate::pipeline::read::DayRows`].
const OUTBOX_BY_EMPLOYEE: &str = "(SELECT e.id AS employee_id, r.company_id AS company_id, \
     r.business_date AS business_date, r.kind AS kind, r.at_ms AS at_ms, r.state AS state \
     FROM remote_punches r JOIN employees e ON e.company_id = r.company_id AND e.employee_key = r.employee_key)";

impl AttendancePunches for RemoteOutbox {
    fn held_table(&self) -> &'static DayTable {
        &DayTable {
            table: OUTBOX_BY_EMPLOYEE,
            date_column: "business_date",
            kind_column: "kind",
            note_column: Some("state"),
        }
    }

    fn held(&mut self, rows: Vec<DayRow>) -> Result<DayMap> {
        let mut held: DayMap = BTreeMap::new();
        for r in rows {
            let Some(kind) = r.kind else { continue };
            if r.note.as_deref() != Some("pending") {
                self.frozen.insert((r.key.0, r.key.1, kind));
            }
            set(held.entry(r.key).or_default(), Some(kind), Some(Punch { at: r.at, method: Method::Pc }));
        }
        Ok(held)
    }

    fn takes(&self, derived: ResolvedDay) -> ResolvedDay {
        let pc = |p: Option<Punch>| p.filter(|p| p.method == Method::Pc);
        ResolvedDay { clock_in: pc(derived.clock_in), clock_out: pc(derived.clock_out) }
    }

    fn names_employees_by_key(&self) -> bool {
        true
    }

    async fn hold(
        &mut self,
        conn: &mut AnyConnection,
        ctx: &CompanyContext,
        schedules: &BTreeMap<i64, EmployeeSchedule>,
        keys: &BTreeMap<i64, (String, String)>,
        changes: Vec<DayChange>,
    ) -> Result<Recomputed> {
        let mut out = Recomputed::default();
        let no_schedule = EmployeeSchedule::default();
        for mut change in changes {
            let Some((_, key)) = keys.get(&change.employee_id) else { continue };
            let date = change.business_date.to_string();
            let schedule = schedules.get(&change.employee_id).unwrap_or(&no_schedule);
            for kind in [PunchKind::ClockIn, PunchKind::ClockOut] {
                let (before, after) = (change.before.get(kind), change.after.get(kind));
                if before == after {
                    continue;
                }
                if self.frozen.contains(&(change.employee_id, change.business_date, kind)) {
                    out.sent_differences.push(SentDifference {
                        employee_key: key.clone(),
                        business_date: change.business_date,
                        kind,
                        sent_at_ms: before.map(|p| p.at.as_millisecond()).unwrap_or_default(),
                        now_ms: after.map(|p| p.at.as_millisecond()),
                    });
                    // The remote side keeps what it was sent.
                    set(&mut change.after, Some(kind), before);
                    continue;
                }
                let code = i64::from(kind.code());
                match after {
                    Some(p) => {
                        let at = p.at.as_millisecond();
                        let due = match kind {
                            // Due as soon as it happened: logs arrive after the fact.
                            PunchKind::ClockIn => at,
                            PunchKind::ClockOut => {
                                day_end(change.business_date, &ctx.tz, schedule).as_millisecond()
                                    + self.settle_minutes * 60_000
                            }
                        };
                        sqlx::query(
                            "INSERT INTO remote_punches (company_id, employee_key, business_date, kind, at_ms, \
                             not_before_ms) VALUES ($1, $2, $3, $4, $5, $6) \
                             ON CONFLICT (company_id, employee_key, business_date, kind) \
                             DO UPDATE SET at_ms = excluded.at_ms WHERE remote_punches.state = 'pending'",
                        )
                        .bind(ctx.id)
                        .bind(key)
                        .bind(&date)
                        .bind(code)
                        .bind(at)
                        .bind(due)
                        .execute(&mut *conn)
                        .await?;
                    }
                    None => {
                        sqlx::query(
                            "DELETE FROM remote_punches WHERE company_id = $1 AND employee_key = $2 \
                             AND business_date = $3 AND kind = $4 AND state = 'pending'",
                        )
                        .bind(ctx.id)
                        .bind(key)
                        .bind(&date)
                        .bind(code)
                        .execute(&mut *conn)
                        .await?;
                    }
                }
            }
            if change.before != change.after {
                out.changes.push(change);
            }
        }
        Ok(out)
    }
}

fn set(day: &mut ResolvedDay, kind: Option<PunchKind>, punch: Option<Punch>) {
    match kind {
        Some(PunchKind::ClockIn) => day.clock_in = punch,
        Some(PunchKind::ClockOut) => day.clock_out = punch,
        None => {}
    }
}

/// The punches a company's attendance system holds, as a relation with the columns
/// `company_id, employee_id, business_date, kind, at_ms, method`, for the screens.
pub(crate) fn held_punches(remote: bool) -> &'static str {
    if remote {
        "(SELECT r.company_id AS company_id, e.id AS employee_id, r.business_date AS business_date, \
         r.kind AS kind, r.at_ms AS at_ms, 'PC' AS method FROM remote_punches r \
         JOIN employees e ON e.company_id = r.company_id AND e.employee_key = r.employee_key)"
    } else {
        "punches"
    }
}

/// Whether a company's punches go to a remote service.
pub(crate) async fn is_remote<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    company_id: i64,
) -> Result<bool> {
    let url: Option<Option<String>> = sqlx::query_scalar("SELECT remote_base_url FROM companies WHERE id = $1")
        .bind(company_id)
        .fetch_optional(executor)
        .await?;
    Ok(url.flatten().is_some())
}

/// Writes the changed days into the cache: multi-row upserts and deletes.
pub(crate) async fn write_changes(
    conn: &mut AnyConnection,
    company_id: i64,
    changes: &[DayChange],
    plain_inserts: bool,
) -> Result<()> {
    // Punches the cache did not hold are inserted, the ones it held are updated: it was read in
    // this transaction, under the employees' locks.
    let mut inserts: Vec<PunchRow> = Vec::new();
    let mut updates: Vec<PunchRow> = Vec::new();
    let mut deletes: Vec<(i64, String, i64)> = Vec::new();
    for c in changes {
        for kind in [PunchKind::ClockIn, PunchKind::ClockOut] {
            let (before, after) = (c.before.get(kind), c.after.get(kind));
            if before == after {
                continue;
            }
            let code = i64::from(kind.code());
            match after {
                Some(p) => {
                    let row =
                        (c.employee_id, c.business_date.to_string(), code, p.at.as_millisecond(), p.method.label());
                    if before.is_some() { updates.push(row) } else { inserts.push(row) }
                }
                None => deletes.push((c.employee_id, c.business_date.to_string(), code)),
            }
        }
    }
    let backend = Backend::of(conn);
    let now = now_ms();
    if !inserts.is_empty() {
        let rows = Listed::new(backend).bind(&inserts)?;
        let insert = |upsert: bool| upsert_punches(backend, upsert, company_id, now, rows.clone());
        insert_new_rows(conn, backend, plain_inserts, insert).await?;
    }
    if !updates.is_empty() {
        let rows = Listed::new(backend).bind(&updates)?;
        upsert_punches(backend, true, company_id, now, rows).execute(&mut *conn).await?;
    }
    if !deletes.is_empty() {
        // By the punches' key: each is found through its unique index.
        let sql = format!(
            "DELETE FROM punches WHERE company_id = $1 AND (employee_id, business_date, kind) IN \
             (SELECT CAST(j.value->>0 AS BIGINT), j.value->>1, CAST(j.value->>2 AS BIGINT) FROM {})",
            json_rows(backend, 2)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id).bind(json(&deletes)).execute(&mut *conn).await?;
    }
    Ok(())
}

/// A punch to write: employee, business day, kind, instant, method.
type PunchRow = (i64, String, i64, i64, &'static str);

/// The punches bound as `rows` (see [`Listed`]) written into the cache, one statement whatever their
/// number: chunks of `$N` parameters cost O(P²) to bind on SQLite, and each statement journals the
/// pages it changes again. With `upsert`, a punch already there is updated; without, it fails the
/// statement (see [`insert_new_rows`]).
fn upsert_punches(backend: Backend, upsert: bool, company_id: i64, now: i64, rows: String) -> Statement<'static> {
    let listed = Listed::new(backend);
    let on_conflict = if upsert {
        " ON CONFLICT (company_id, employee_id, business_date, kind) DO UPDATE \
         SET at_ms = excluded.at_ms, method = excluded.method, updated_at_ms = excluded.updated_at_ms"
    } else {
        ""
    };
    let sql = format!(
        "INSERT INTO punches (company_id, employee_id, business_date, kind, at_ms, method, updated_at_ms) \
         SELECT $1, {}, {}, {}, {}, {}, $2 FROM {} WHERE 1 = 1 ORDER BY j.key{on_conflict}",
        listed.number(0),
        listed.text(1),
        listed.number(2),
        listed.number(3),
        listed.text(4),
        listed.rows(3)
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id).bind(now).bind(rows)
}
