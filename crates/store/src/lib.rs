//! The data-access layer of ログイン記録 and of the embedded 勤革時 attendance module.
//!
//! One set of queries runs on SQLite (the embedded default) and on PostgreSQL, through
//! sqlx's `Any` driver: instants are epoch milliseconds (`i64`), dates ISO text, and date
//! arithmetic happens in Rust with the pure rules of `loginrec-rules`. Storage never decides
//! a rule; it asks the rules and writes what they answer.
//!
//! Punches are a cache of one derivation over history ([`pipeline`]); every change of an input
//! — an ingest ([`Store::ingest`]), a master change with its effective date ([`history`],
//! the attendance module's imports and edits), an API or 手入力 punch — re-derives the
//! employee-days it affects through it, in the same transaction.
//!
//! The modules follow the two systems and the flow between them:
//! - ログイン記録: [`ingest`](Store::ingest) and `logs` (what the connector delivered), `users`
//!   and [`history`] (ユーザー設定, サービスアカウント links and every master change with its
//!   effective date), [`admins`] (administrators, sessions, the audit trail), `companies`,
//!   [`jobs`] (leases of the background jobs), [`diagnostics`] (the FAQ's four cases);
//! - the one derivation, [`pipeline`], and the attendance system it hands punches to, `port`:
//!   the embedded module or a remote service;
//! - the embedded 勤革時 module, `attendance`: its masters, time cards, 手入力 punches and
//!   its KING OF TIME-shaped API;
//! - the remote client's outbox, [`remote`];
//! - [`tokens`] and [`url`]: secrets and database URLs, written once.
#![forbid(unsafe_code)]

pub mod admins;
mod attendance;
mod bulk;
mod companies;
mod day_change;
pub mod diagnostics;
pub mod divergences;
mod error;
pub mod history;
mod ingest;
pub mod jobs;
mod logs;
mod new_rows;
pub mod pipeline;
mod port;
pub mod remote;
mod statistics;
pub mod tokens;
pub mod url;
mod users;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};
use tokio::sync::Mutex;

pub use admins::{Admin, Admins, AuditEvent, Session};
pub use attendance::AlertedMonth;
pub use attendance::{
    ApiDay, ApiEmployeeDay, ApiEmployeeMonth, ApiTimeRecord, Attendance, DailyCursor, DailyFilter, DailyKey,
    DailyOrder, DailyPage, DailyRow, Department, DepartmentInput, EMPLOYMENT_TYPES, Employee, EmployeeDetails,
    EmployeeInput, MANUAL_METHOD, MonthlyFilter, MonthlyPage, MonthlyRow, PunchView, TimecardRow, WorkOf, WorkSettings,
    agreement_year_start,
};
pub use companies::Company;
pub use divergences::{DeclaredPunch, DivergenceDay, DivergenceFilter, DivergenceReason};
pub use error::{Missing, Refusal, StoreError, Taken};
pub use history::{Apply, LinkHistoryRow, LinkReport};
pub use ingest::{AcceptedRow, IngestOutcome};
pub use jobs::{Job, JobRecord, Jobs};
pub use logs::{LogCursor, LogFilter, LogView, MATCHING_LOGS_COUNTED};
pub use pipeline::{DayChange, Recomputed, SentDifference};
pub use users::{LinkRow, SyncResult};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The default database: an SQLite file under `./data/`, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/loginrec.db";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            let scheme = url.split(':').next().unwrap_or(url);
            Err(StoreError::UnsupportedUrl(scheme.to_string()))
        }
    }

    /// The engine behind a connection, for the statements whose text differs by engine.
    pub(crate) fn of(conn: &sqlx::AnyConnection) -> Backend {
        if conn.backend_name() == "PostgreSQL" { Backend::Postgres } else { Backend::Sqlite }
    }
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer at a time, and a deferred transaction that tries to upgrade to
    /// writing fails at once instead of waiting. Write transactions therefore queue here.
    write_lock: Option<Arc<Mutex<()>>>,
    statistics: statistics::Statistics,
}

impl Store {
    /// Opens (creating an SQLite file and its folder if needed) and migrates the database.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let store = match backend {
            Backend::Sqlite => {
                let url = prepare_sqlite_url(url)?;
                let pool = AnyPoolOptions::new()
                    .max_connections(4)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // A page cache of up to 64 MiB a connection (SQLite's default is
                            // 2 MiB): at 100 000 employees the indexes a change walks no longer
                            // fit in 2 MiB, and every miss is a read from the file. Statement
                            // journals in memory: a statement inside a transaction keeps the pages
                            // it changes to undo itself, and past 64 KiB SQLite wrote them to a
                            // temporary file (1.2 GB of writes for a 100 000-employee day). A
                            // checkpoint every 64 MiB of WAL rather than every 4 MiB: a batch's
                            // commit dirties thousands of pages (the day's part of the time
                            // indexes), and a checkpoint after each commit wrote them all into the
                            // file again, where one every few commits writes each page once (a
                            // 100 000-employee day's commits: 951 → 709 MB written, 1.7 → 1.1 s).
                            conn.execute(
                                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                                 PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; \
                                 PRAGMA wal_autocheckpoint=16384;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?;
                Store { pool, backend, write_lock: Some(Arc::new(Mutex::new(()))), statistics: Default::default() }
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(10)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await?;
                Store { pool, backend, write_lock: None, statistics: Default::default() }
            }
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations; a no-op when the schema is current.
    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&self.pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&self.pool).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Brings the query planner's statistics to what a database in service has, for benchmarks
    /// that fill a fresh database and then measure: on PostgreSQL, autovacuum analyzes a table
    /// after large writes (`ANALYZE` here does it at once). SQLite has no such thing and
    /// ログイン記録 never analyzes it, so its planner works without statistics in service, and
    /// here too: statistics gathered on one connection would also reach only the connections
    /// opened after them, and plans would differ from one pooled connection to the next.
    pub async fn statistics_as_in_service(&self) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("ANALYZE").execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Checks the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn write_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }
}

/// Makes sure the folder of an SQLite file exists and that the file is created on first use.
fn prepare_sqlite_url(url: &str) -> Result<String> {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:"
        && !path.is_empty()
        && let Some(parent) = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|e| StoreError::Io(parent.display().to_string(), e))?;
    }
    if path != ":memory:" && !path.is_empty() {
        // SQLite gives its -wal and -shm files the mode of the database file.
        for file in [path.to_string(), format!("{path}-wal"), format!("{path}-shm")] {
            owner_only(Path::new(&file), file == path)?;
        }
    }
    let mut url = format!("sqlite://{path}");
    if query.is_empty() {
        url.push_str("?mode=rwc");
    } else {
        url.push('?');
        url.push_str(query);
        if !query.contains("mode=") {
            url.push_str("&mode=rwc");
        }
    }
    Ok(url)
}

/// Makes `path` readable and writable by its owner only (mode 0600 on Unix), creating it empty
/// when `create` is set and it does not exist: the database holds every employee's logs and
/// punches, and a file made with the process's umask would often be readable by everyone.
pub(crate) fn owner_only(path: &Path, create: bool) -> Result<()> {
    let io = |e| StoreError::Io(path.display().to_string(), e);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if create {
            std::fs::OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(path).map_err(io)?;
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
    }
    #[cfg(not(unix))]
    if create {
        std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(path).map_err(io)?;
    }
    Ok(())
}

pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

pub(crate) fn time_zone(name: &str) -> Result<jiff::tz::TimeZone> {
    jiff::tz::TimeZone::get(name).map_err(|_| StoreError::Refused(Refusal::UnknownTimeZone(name.to_string())))
}

pub(crate) fn parse_date(s: &str) -> Result<jiff::civil::Date> {
    jiff::civil::Date::from_str(s).map_err(|_| StoreError::corrupt(format!("date {s:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_database_schemes_are_refused_by_name() {
        assert_eq!(Backend::from_url("sqlite://./x.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::from_url("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert_eq!(Backend::from_url("postgresql://u@h/db").unwrap(), Backend::Postgres);
        let err = Backend::from_url("mysql://u@h/db").unwrap_err();
        assert!(err.to_string().contains("mysql"), "{err}");
    }

    #[test]
    fn sqlite_urls_create_their_file() {
        assert_eq!(prepare_sqlite_url("sqlite::memory:").unwrap(), "sqlite://:memory:?mode=rwc");
        let dir = std::env::temp_dir().join(format!("loginrec-url-{}", std::process::id()));
        let url = format!("sqlite://{}/sub/x.db", dir.display());
        assert!(prepare_sqlite_url(&url).unwrap().ends_with("/sub/x.db?mode=rwc"));
        assert!(dir.join("sub").is_dir());
        std::fs::remove_dir_all(dir).ok();
    }
}
