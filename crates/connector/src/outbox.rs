//! The durable outbox between LanScope's files and the server.
//!
//! Invariants:
//! - **A file's rows and its cursor move together.** The rows parsed from a file, the record
//!   that the file (path, size, mtime, SHA-256) was read, and its row errors are committed in
//!   one SQLite transaction (WAL, `synchronous=FULL`). A crash before the commit leaves the
//!   file unread, so it is read again; after the commit, the rows are on disk.
//! - **A row leaves only when the server has it.** Rows are deleted, or moved to
//!   `dead_letters`, in one transaction after the server answered that it committed them
//!   (accepted or duplicate) or refused them for good. A crash between the server's commit
//!   and ours leaves the rows here: they are sent again and the server counts them as
//!   duplicates, so nothing is lost and nothing is stored twice.
//! - **One row per key.** `outbox.key` is unique: a rewritten or re-exported file adds no
//!   second copy of a row still waiting. A row already delivered and read again from a
//!   rewritten file is sent again and answered as a duplicate.
//! - **LanScope's files are only read**, never moved, changed or deleted.
//! - **Only its owner can read it.** The rows name users and PCs: on Unix the database is
//!   created with mode 0600 before SQLite opens it, so its `-wal` and `-shm` files, which
//!   SQLite creates with the database's permissions, are 0600 as well; files left wider by an
//!   older version are narrowed when the outbox is opened.

use std::path::Path;
use std::str::FromStr;

use ingest_protocol::IngestRow;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, Transaction};

pub const OUTBOX_FILE: &str = "outbox.db";

#[derive(Clone)]
pub struct Outbox {
    pool: SqlitePool,
}

/// What identified a file's content the last time it was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileMark {
    pub size: i64,
    pub mtime_ns: i64,
    pub sha256: String,
}

/// Everything that reading one file produced.
#[derive(Clone, Debug, Default)]
pub struct FileRead {
    pub layout: Option<String>,
    pub rows: Vec<IngestRow>,
    pub row_errors: Vec<(u64, String)>,
    pub skipped: u64,
    /// Set when the file as a whole could not be read (not a LanScope file, bad encoding).
    pub problem: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    pub key: String,
    pub reason: String,
    pub at_ms: i64,
    pub payload: String,
}

impl Outbox {
    pub async fn open(dir: &Path) -> Result<Outbox, sqlx::Error> {
        std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
        let path = dir.join(OUTBOX_FILE);
        owner_only(&path).map_err(sqlx::Error::Io)?;
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(2).connect_with(options).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Outbox { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn file_mark(&self, path: &str) -> Result<Option<FileMark>, sqlx::Error> {
        let row = sqlx::query("SELECT size, mtime_ns, sha256 FROM files WHERE path = ?")
            .bind(path)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| FileMark { size: r.get(0), mtime_ns: r.get(1), sha256: r.get(2) }))
    }

    /// Notes that a file whose content is unchanged now has another size/mtime mark.
    pub async fn touch_file(&self, path: &str, mark: &FileMark) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?")
            .bind(mark.size)
            .bind(mark.mtime_ns)
            .bind(path)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Commits a file's rows, errors and mark in one transaction. Returns how many rows were
    /// new to the outbox.
    pub async fn record_file(&self, path: &str, mark: &FileMark, read: &FileRead) -> Result<u64, sqlx::Error> {
        let mut file = self.begin_file(path).await?;
        file.add(&read.rows, &read.row_errors).await?;
        file.finish(mark, read.layout.as_deref(), read.skipped, read.problem.as_deref()).await
    }

    /// Starts the one transaction that takes a file's rows, a piece at a time, and its mark.
    /// Dropped without [`FileTransaction::finish`], it leaves no trace: the file is read again.
    pub async fn begin_file(&self, path: &str) -> Result<FileTransaction, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM row_errors WHERE file = ?").bind(path).execute(&mut *tx).await?;
        Ok(FileTransaction { tx, path: path.to_string(), now: now_ms(), rows: 0, errors: 0, added: 0 })
    }

    /// The oldest waiting rows, at most `limit`.
    pub async fn next_batch(&self, limit: usize) -> Result<Vec<(i64, IngestRow)>, sqlx::Error> {
        let rows = sqlx::query("SELECT id, payload FROM outbox ORDER BY id LIMIT ?")
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut unreadable = Vec::new();
        for r in rows {
            let id: i64 = r.get(0);
            let payload: String = r.get(1);
            match serde_json::from_str::<IngestRow>(&payload) {
                Ok(row) => out.push((id, row)),
                Err(e) => unreadable.push((id, format!("unreadable outbox entry: {e}"))),
            }
        }
        if !unreadable.is_empty() {
            self.settle(&[], &unreadable).await?;
        }
        Ok(out)
    }

    /// Removes delivered rows and moves refused rows to the dead-letter table, in one
    /// transaction.
    pub async fn settle(&self, delivered: &[i64], refused: &[(i64, String)]) -> Result<(), sqlx::Error> {
        let now = now_ms();
        let mut tx: Transaction<'_, Sqlite> = self.pool.begin().await?;
        for (id, reason) in refused {
            sqlx::query(
                "INSERT INTO dead_letters (key, payload, reason, at_ms) SELECT key, payload, ?, ? FROM outbox WHERE id = ?",
            )
            .bind(reason)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM outbox WHERE id = ?").bind(id).execute(&mut *tx).await?;
        }
        for id in delivered {
            sqlx::query("DELETE FROM outbox WHERE id = ?").bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn queued(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox").fetch_one(&self.pool).await
    }

    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, sqlx::Error> {
        let rows = sqlx::query("SELECT key, reason, at_ms, payload FROM dead_letters ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| DeadLetter { key: r.get(0), reason: r.get(1), at_ms: r.get(2), payload: r.get(3) })
            .collect())
    }

    pub async fn row_errors(&self) -> Result<Vec<(String, i64, String)>, sqlx::Error> {
        let rows =
            sqlx::query("SELECT file, line, message FROM row_errors ORDER BY file, line").fetch_all(&self.pool).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    }

    pub async fn file_problems(&self) -> Result<Vec<(String, String)>, sqlx::Error> {
        let rows = sqlx::query("SELECT path, problem FROM files WHERE problem IS NOT NULL ORDER BY path")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub async fn files_read(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM files").fetch_one(&self.pool).await
    }

    pub async fn set_state(&self, name: &str, value: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn clear_state(&self, name: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM state WHERE name = ?").bind(name).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn state(&self, name: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT value FROM state WHERE name = ?").bind(name).fetch_optional(&self.pool).await
    }
}

/// A file being recorded (see [`Outbox::begin_file`]).
pub struct FileTransaction {
    tx: Transaction<'static, Sqlite>,
    path: String,
    now: i64,
    rows: u64,
    errors: u64,
    added: u64,
}

impl FileTransaction {
    /// Adds rows (a duplicate of a row still waiting is ignored) and bad-line reports.
    pub async fn add(&mut self, rows: &[IngestRow], row_errors: &[(u64, String)]) -> Result<(), sqlx::Error> {
        for row in rows {
            let payload = serde_json::to_string(row).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
            self.added += sqlx::query("INSERT OR IGNORE INTO outbox (key, payload, enqueued_at_ms) VALUES (?, ?, ?)")
                .bind(&row.key)
                .bind(payload)
                .bind(self.now)
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
        }
        for (line, message) in row_errors {
            sqlx::query("INSERT INTO row_errors (file, line, message, at_ms) VALUES (?, ?, ?, ?)")
                .bind(&self.path)
                .bind(i64::try_from(*line).unwrap_or(i64::MAX))
                .bind(message)
                .bind(self.now)
                .execute(&mut *self.tx)
                .await?;
        }
        self.rows += rows.len() as u64;
        self.errors += row_errors.len() as u64;
        Ok(())
    }

    /// Records the file's mark and commits everything added. Returns how many rows were new.
    pub async fn finish(
        mut self,
        mark: &FileMark,
        layout: Option<&str>,
        skipped: u64,
        problem: Option<&str>,
    ) -> Result<u64, sqlx::Error> {
        sqlx::query(
            "INSERT INTO files (path, size, mtime_ns, sha256, layout, rows, row_errors, skipped, problem, read_at_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET size = excluded.size, \
             mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256, layout = excluded.layout, rows = excluded.rows, \
             row_errors = excluded.row_errors, skipped = excluded.skipped, problem = excluded.problem, \
             read_at_ms = excluded.read_at_ms",
        )
        .bind(&self.path)
        .bind(mark.size)
        .bind(mark.mtime_ns)
        .bind(&mark.sha256)
        .bind(layout)
        .bind(self.rows as i64)
        .bind(self.errors as i64)
        .bind(skipped as i64)
        .bind(problem)
        .bind(self.now)
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await?;
        Ok(self.added)
    }
}

/// Creates the database file readable by its owner only (Unix), and narrows it and its
/// `-wal` and `-shm` files when an older version left them wider. Narrowing a file of another
/// user fails; that is said in the log and the outbox is opened as before.
fn owner_only(database: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(database) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut name = database.as_os_str().to_owned();
            name.push(suffix);
            let path = std::path::PathBuf::from(name);
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            if meta.permissions().mode() & 0o077 != 0
                && let Err(e) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            {
                tracing::warn!(file = %path.display(), error = %e, "Cannot make the outbox readable by its owner only.");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = database;
    Ok(())
}

pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
