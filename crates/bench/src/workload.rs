//! The benchmark's company and its day: N employees with four logs each (logon 08:xx, logoff
//! 12:xx, logon 13:xx, logoff 18:xx), made batch by batch when needed so memory stays flat
//! whatever N is.

use ingest_protocol::{ConnectorInfo, IngestRow, MAX_BATCH_ROWS};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use loginrec_rules::LogKind;

pub(crate) const COMPANY_CODE: &str = "BENCH1";
pub(crate) const TIME_ZONE: &str = "Asia/Tokyo";
pub(crate) const DEPARTMENT_CODE: &str = "D0500";
/// Rows per ingest request and per raw-insert transaction.
pub(crate) const BATCH_ROWS: usize = 2000;
pub(crate) const EVENTS_PER_EMPLOYEE: usize = 4;
pub(crate) const EMPLOYEES_PER_BATCH: usize = BATCH_ROWS / EVENTS_PER_EMPLOYEE;
/// Employees written per `upsert_employees` / `apply_links` call while setting up.
pub(crate) const SETUP_CHUNK: usize = 10_000;
/// Rows of the ログ表示 page query (one more than the page shows, to know there is a next page).
pub(crate) const LOG_PAGE_ROWS: i64 = 101;

const _: () = assert!(BATCH_ROWS <= MAX_BATCH_ROWS && matches!(BATCH_ROWS % EVENTS_PER_EMPLOYEE, 0));

/// The simulated company: employee `i` has code `E000123`, サービスアカウント `user000123` and
/// logs as `CORP\user000123` on `PC000123`.
#[derive(Clone, Copy)]
pub(crate) struct Workload {
    pub employees: usize,
    /// The business day (the LanScope day the 05:00 file holds).
    pub day: Date,
    /// Midnight of `day` in the company's time zone, epoch milliseconds.
    pub midnight_ms: i64,
}

impl Workload {
    pub(crate) fn new(employees: usize) -> anyhow::Result<Workload> {
        let tz = TimeZone::get(TIME_ZONE)?;
        Workload::on(employees, tz.to_datetime(jiff::Timestamp::now()).date().yesterday()?)
    }

    /// The company's logs of business day `day`.
    pub(crate) fn on(employees: usize, day: Date) -> anyhow::Result<Workload> {
        let tz = TimeZone::get(TIME_ZONE)?;
        let midnight_ms =
            tz.to_ambiguous_timestamp(day.to_datetime(jiff::civil::Time::midnight())).compatible()?.as_millisecond();
        Ok(Workload { employees, day, midnight_ms })
    }

    pub(crate) fn batches(&self) -> usize {
        self.employees.div_ceil(EMPLOYEES_PER_BATCH)
    }

    pub(crate) fn rows(&self) -> usize {
        self.employees * EVENTS_PER_EMPLOYEE
    }

    /// Logon 08:xx, logoff 12:xx, logon 13:xx, logoff 18:xx or 19:xx (all within the day that
    /// starts at 05:00): the punches are the first logon and the last logoff.
    pub(crate) fn event_times_ms(&self, employee: usize) -> [(LogKind, i64); EVENTS_PER_EMPLOYEE] {
        let i = employee as i64;
        let at = |hour: i64, minute: i64, second: i64| self.midnight_ms + ((hour * 60 + minute) * 60 + second) * 1000;
        [
            (LogKind::Logon, at(8, i % 60, (i * 7) % 60)),
            (LogKind::Logoff, at(12, i % 30, (i * 11) % 60)),
            (LogKind::Logon, at(13, i % 45, (i * 13) % 60)),
            (LogKind::Logoff, at(18, i % 120, (i * 17) % 60)),
        ]
    }

    pub(crate) fn first_and_last_ms(&self, employee: usize) -> (i64, i64) {
        let times = self.event_times_ms(employee);
        (times[0].1, times[EVENTS_PER_EMPLOYEE - 1].1)
    }

    /// The rows of one batch, made when needed so memory stays flat whatever N is. Rows come
    /// by user, as the manager's `ORDER BY ログオンユーザ名` writes them.
    pub(crate) fn batch(&self, index: usize) -> Vec<IngestRow> {
        let from = index * EMPLOYEES_PER_BATCH;
        let to = (from + EMPLOYEES_PER_BATCH).min(self.employees);
        let mut rows = Vec::with_capacity((to - from) * EVENTS_PER_EMPLOYEE);
        for employee in from..to {
            for (kind, at_ms) in self.event_times_ms(employee) {
                rows.push(IngestRow::new(
                    COMPANY_CODE,
                    format!("CORP\\{}", account(employee)),
                    kind,
                    at_ms,
                    Some(at_ms + 30_000),
                    Some("1".to_string()),
                    Some((100_000 + employee).to_string()),
                    Some(format!("PC{employee:06}")),
                ));
            }
        }
        rows
    }
}

pub(crate) fn employee_code(employee: usize) -> String {
    format!("E{employee:06}")
}

/// Employee `i` as the employee import takes it: 社員 i of the one department.
pub(crate) fn employee(i: usize) -> loginrec_store::EmployeeInput {
    loginrec_store::EmployeeInput {
        code: employee_code(i),
        last_name: "社員".into(),
        first_name: format!("{i}"),
        department_code: DEPARTMENT_CODE.into(),
    }
}

/// The benchmark's company on a fresh store, with its one department (cut at 05:00).
pub(crate) async fn create_company(store: &loginrec_store::Store) -> anyhow::Result<loginrec_store::Company> {
    let company = store.create_company(COMPANY_CODE, "ベンチマーク株式会社", TIME_ZONE).await?;
    let department = loginrec_store::DepartmentInput {
        code: DEPARTMENT_CODE.into(),
        name: "本社".into(),
        day_change: loginrec_rules::DayChangeTime::LANSCOPE_DEFAULT,
    };
    store.attendance().upsert_departments(company.id, &[department]).await?;
    Ok(company)
}

pub(crate) fn account(employee: usize) -> String {
    format!("user{employee:06}")
}

pub(crate) fn connector() -> ConnectorInfo {
    ConnectorInfo { version: "bench".into(), host: "bench-host".into(), collection_start: Some("05:00".into()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_every_employee_once_with_valid_rows() {
        let work = Workload { employees: 1201, day: jiff::civil::date(2024, 2, 8), midnight_ms: 1_707_318_000_000 };
        let rows: Vec<IngestRow> = (0..work.batches()).flat_map(|b| work.batch(b)).collect();
        assert_eq!(rows.len(), work.rows());
        assert_eq!(work.batch(0).len(), BATCH_ROWS);
        for row in &rows {
            assert_eq!(ingest_protocol::validate_row(COMPANY_CODE, row), Ok(()));
        }
        let keys: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys.len(), rows.len());
    }

    #[test]
    fn every_event_falls_in_the_business_day_that_starts_at_five() {
        let work = Workload { employees: 200, day: jiff::civil::date(2024, 2, 8), midnight_ms: 0 };
        for employee in 0..work.employees {
            let times = work.event_times_ms(employee);
            assert!(times.windows(2).all(|w| w[0].1 < w[1].1));
            assert!(times[0].1 >= 5 * 3_600_000 && times[3].1 < 29 * 3_600_000);
        }
    }
}
