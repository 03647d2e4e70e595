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
//! - **One row per key.** `(event_at_ms, key)` is unique, and the key is made from the event
//!   time among the rest, so the key is (time first keeps the index growing at its end, rows
//!   coming in time order): a rewritten or re-exported file adds no
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
use loginrec_rules::LogKind;
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, Transaction};

use crate::status::{LAST_ERROR, LAST_SUCCESS};

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
            .busy_timeout(std::time::Duration::from_secs(10))
            // 8 MiB of page cache instead of SQLite's 2: a large file's one transaction spilled
            // index pages to the WAL and read them back (`run --once` on a 64 MiB file: 7.1–8.6 s
            // → 4.6 s); peak memory on a 1 GiB file stays under 50 MB (47.8 MB).
            .pragma("cache_size", "-8192");
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
        self.next_batch_after(i64::MIN, limit).await
    }

    /// The oldest waiting rows queued after the row `after` (an id), at most `limit`: the batch
    /// that follows one still in flight.
    pub async fn next_batch_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, IngestRow)>, sqlx::Error> {
        let rows = sqlx::query("SELECT id, key, event_at_ms, payload FROM outbox WHERE id > ? ORDER BY id LIMIT ?")
            .bind(after)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut unreadable = Vec::new();
        for r in rows {
            let id: i64 = r.get(0);
            let queued = QueuedRow { key: r.get(1), event_at_ms: r.get(2), payload: r.get(3) };
            match queued.to_ingest_row() {
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
        let mut tx: Transaction<'_, Sqlite> = self.pool.begin().await?;
        settle_in(&mut tx, delivered, refused).await?;
        tx.commit().await
    }

    /// [`Outbox::settle`] for a batch the server answered, noting in the same transaction when
    /// the last delivery succeeded and that no error stands: one commit, one sync to disk.
    pub async fn settle_answered(&self, delivered: &[i64], refused: &[(i64, String)]) -> Result<(), sqlx::Error> {
        let mut tx: Transaction<'_, Sqlite> = self.pool.begin().await?;
        settle_in(&mut tx, delivered, refused).await?;
        sqlx::query(
            "INSERT INTO state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(LAST_SUCCESS)
        .bind(now_ms().to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM state WHERE name = ?").bind(LAST_ERROR).execute(&mut *tx).await?;
        tx.commit().await
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

/// Removes delivered rows and moves refused rows to the dead-letter table, inside `tx`.
async fn settle_in(
    tx: &mut Transaction<'_, Sqlite>,
    delivered: &[i64],
    refused: &[(i64, String)],
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    for (id, reason) in refused {
        let Some(r) = sqlx::query("SELECT key, event_at_ms, payload FROM outbox WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
        else {
            continue;
        };
        let queued = QueuedRow { key: r.get(0), event_at_ms: r.get(1), payload: r.get(2) };
        // The administrator reads a dead letter as the row that was sent.
        let payload = match queued.to_ingest_row() {
            Ok(row) => serde_json::to_string(&row).unwrap_or(queued.payload),
            Err(_) => queued.payload,
        };
        sqlx::query("INSERT INTO dead_letters (key, payload, reason, at_ms) VALUES (?, ?, ?, ?)")
            .bind(&queued.key)
            .bind(payload)
            .bind(reason)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    let ids: Vec<i64> = delivered.iter().copied().chain(refused.iter().map(|(id, _)| *id)).collect();
    for chunk in ids.chunks(ROWS_PER_INSERT) {
        // Only placeholders are put together here; every id is bound.
        let sql = format!("DELETE FROM outbox WHERE id IN ({})", vec!["?"; chunk.len()].join(", "));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(id);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
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

/// A row as the outbox keeps it: its key, its event time and its payload, made where the row is
/// read so that the transaction only writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedRow {
    pub key: String,
    pub event_at_ms: i64,
    pub payload: String,
}

/// The payload of a queued row: the fields of an [`IngestRow`] but its key and event time (kept
/// in their own columns) as a JSON array, about a third of the row as a JSON object, which made
/// the outbox of a large file three times the file. A payload that is a JSON object is an
/// `IngestRow` written by an earlier version.
#[derive(Serialize, Deserialize)]
struct StoredRow(
    String,
    LogKind,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<u64>,
);

impl QueuedRow {
    pub fn of(row: &IngestRow) -> QueuedRow {
        let stored = StoredRow(
            row.user_name.clone(),
            row.kind,
            row.recorded_at_ms,
            row.sub_manager_no.clone(),
            row.agent_no.clone(),
            row.computer_name.clone(),
            row.source_file.clone(),
            row.source_line,
        );
        // Strings, numbers and a unit enum only: serializing cannot fail.
        let payload = serde_json::to_string(&stored).expect("a stored row serializes");
        QueuedRow { key: row.key.clone(), event_at_ms: row.event_at_ms, payload }
    }

    /// The row to send, from what the outbox holds.
    pub fn to_ingest_row(&self) -> Result<IngestRow, serde_json::Error> {
        if !self.payload.trim_start().starts_with('[') {
            return serde_json::from_str(&self.payload);
        }
        let StoredRow(
            user_name,
            kind,
            recorded_at_ms,
            sub_manager_no,
            agent_no,
            computer_name,
            source_file,
            source_line,
        ) = serde_json::from_str(&self.payload)?;
        Ok(IngestRow {
            key: self.key.clone(),
            user_name,
            kind,
            event_at_ms: self.event_at_ms,
            recorded_at_ms,
            sub_manager_no,
            agent_no,
            computer_name,
            source_file,
            source_line,
        })
    }
}

/// Rows per INSERT: a statement per row cost a round trip to SQLite's thread each, which was
/// most of the time spent reading a file (4 parameters a row, far below SQLite's limit).
const ROWS_PER_INSERT: usize = 500;

fn insert_rows_sql(rows: usize) -> String {
    let mut sql = String::from("INSERT OR IGNORE INTO outbox (key, event_at_ms, payload, enqueued_at_ms) VALUES ");
    for i in 0..rows {
        sql.push_str(if i == 0 { "(?, ?, ?, ?)" } else { ", (?, ?, ?, ?)" });
    }
    sql
}

impl FileTransaction {
    /// Adds rows (a duplicate of a row still waiting is ignored) and bad-line reports.
    pub async fn add(&mut self, rows: &[IngestRow], row_errors: &[(u64, String)]) -> Result<(), sqlx::Error> {
        let queued: Vec<QueuedRow> = rows.iter().map(QueuedRow::of).collect();
        self.add_queued(&queued, row_errors).await
    }

    /// [`FileTransaction::add`] for rows already in the outbox's form.
    pub async fn add_queued(&mut self, rows: &[QueuedRow], row_errors: &[(u64, String)]) -> Result<(), sqlx::Error> {
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            // Only placeholders are put together here; every value is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(insert_rows_sql(chunk.len())));
            for row in chunk {
                query = query.bind(&row.key).bind(row.event_at_ms).bind(&row.payload).bind(self.now);
            }
            self.added += query.execute(&mut *self.tx).await?.rows_affected();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u64, computer_name: Option<&str>) -> IngestRow {
        let mut row = IngestRow::new(
            "ABC",
            "CORP\\佐藤".into(),
            LogKind::Logoff,
            1_707_469_200_000 + line as i64,
            Some(1_707_469_260_000),
            Some("3".into()),
            None,
            computer_name.map(str::to_string),
        );
        row.source_file = Some("kintai_20240209.csv".into());
        row.source_line = Some(line);
        row
    }

    #[test]
    fn a_queued_row_gives_back_the_row_it_was_made_from() {
        for original in
            [row(2, Some("営業部-PC01 \"x\",y")), row(3, None), IngestRow { source_file: None, ..row(4, None) }]
        {
            let queued = QueuedRow::of(&original);
            assert_eq!(queued.to_ingest_row().unwrap(), original);
            assert!(
                queued.payload.len() < serde_json::to_string(&original).unwrap().len() / 2 + 40,
                "{}",
                queued.payload
            );
        }
    }

    #[test]
    fn a_payload_written_by_an_earlier_version_is_read_as_it_was() {
        let original = row(5, Some("PC-1"));
        let queued = QueuedRow {
            key: original.key.clone(),
            event_at_ms: original.event_at_ms,
            payload: serde_json::to_string(&original).unwrap(),
        };
        assert_eq!(queued.to_ingest_row().unwrap(), original);
    }

    /// An outbox of the first schema that was given `rows` (key, payload) in order, then
    /// emptied of those keyed `deleted`, migrated to the current one.
    async fn migrated_outbox(rows: &[(&str, &str)], deleted: &[&str]) -> SqlitePool {
        let pool = SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await.unwrap();
        sqlx::raw_sql(include_str!("../migrations/0001_outbox.sql")).execute(&pool).await.unwrap();
        for (key, payload) in rows {
            sqlx::query("INSERT INTO outbox (key, payload, enqueued_at_ms) VALUES (?, ?, 1)")
                .bind(key)
                .bind(payload)
                .execute(&pool)
                .await
                .unwrap();
        }
        for key in deleted {
            sqlx::query("DELETE FROM outbox WHERE key = ?").bind(key).execute(&pool).await.unwrap();
        }
        sqlx::raw_sql(include_str!("../migrations/0002_outbox_key_by_time.sql")).execute(&pool).await.unwrap();
        pool
    }

    /// The id the next queued row gets.
    async fn next_id(pool: &SqlitePool) -> i64 {
        sqlx::query_scalar(
            "INSERT INTO outbox (key, event_at_ms, payload, enqueued_at_ms) VALUES ('k', 1, '[]', 1) RETURNING id",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    }

    /// Rows waiting in an outbox of the first schema keep their ids, keys and payloads, the
    /// next id follows the last one handed out, and a key stays unique.
    #[tokio::test]
    async fn the_migration_keeps_waiting_rows_and_the_id_sequence() {
        let old = row(6, Some("PC-1"));
        let payload = serde_json::to_string(&old).unwrap();
        let pool =
            migrated_outbox(&[("gone", "{}"), (old.key.as_str(), payload.as_str()), ("last", "{}")], &["gone", "last"])
                .await;

        let r = sqlx::query("SELECT id, key, event_at_ms, payload FROM outbox").fetch_one(&pool).await.unwrap();
        assert_eq!(r.get::<i64, _>(0), 2);
        let queued = QueuedRow { key: r.get(1), event_at_ms: r.get(2), payload: r.get(3) };
        assert_eq!(queued.to_ingest_row().unwrap(), old);
        assert_eq!(next_id(&pool).await, 4, "ids go on from the last one handed out");
        let again = sqlx::query(
            "INSERT OR IGNORE INTO outbox (key, event_at_ms, payload, enqueued_at_ms) VALUES (?, ?, '[]', 1)",
        )
        .bind(&old.key)
        .bind(old.event_at_ms)
        .execute(&pool)
        .await
        .unwrap();
        assert_eq!(again.rows_affected(), 0);
    }

    #[tokio::test]
    async fn after_the_migration_of_an_emptied_outbox_ids_go_on_from_the_last_one() {
        let pool = migrated_outbox(&[("a", "{}"), ("b", "{}"), ("c", "{}")], &["a", "b", "c"]).await;
        assert_eq!(next_id(&pool).await, 4);
    }

    #[tokio::test]
    async fn a_refused_row_becomes_a_dead_letter_holding_the_whole_row() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).await.unwrap();
        let original = row(7, Some("PC-7"));
        let mark = FileMark { size: 1, mtime_ns: 1, sha256: "x".into() };
        let read = FileRead { rows: vec![original.clone(), row(8, None)], ..FileRead::default() };
        assert_eq!(outbox.record_file("f.csv", &mark, &read).await.unwrap(), 2);
        let batch = outbox.next_batch(10).await.unwrap();
        assert_eq!(batch.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(), vec![original.clone(), row(8, None)]);
        outbox.settle(&[batch[1].0], &[(batch[0].0, "refused".into())]).await.unwrap();
        assert_eq!(outbox.queued().await.unwrap(), 0);
        let dead = outbox.dead_letters().await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(serde_json::from_str::<IngestRow>(&dead[0].payload).unwrap(), original);
        outbox.close().await;
    }
}
