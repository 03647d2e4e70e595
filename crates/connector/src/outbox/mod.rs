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
//! - **One row per key.** The key of every waiting row is kept in an index by event time and
//!   key (time first keeps the index growing at its end, rows coming in time order): a row read
//!   again from a rewritten or re-exported file, or from a copy, is not queued a second time
//!   while the first still waits. A row's key is kept until its whole piece has left: a row
//!   already answered for but whose piece still waits is left out too (the server has it); once
//!   the piece has left, a row read again is sent again and answered as a duplicate. The keys of
//!   pieces that left are not removed with them but later, many pieces' at once (see
//!   [`Outbox::forget_keys_of_gone_pieces`]); until then a key whose piece is gone holds nothing.
//! - **Rows are kept a piece at a time.** A file's rows are written in pieces of up to
//!   [`piece::MAX_PIECE_ROWS`], each one encoded value (see [`piece`]); a row's id names its
//!   piece and its place. A piece leaves once the server answered for all of its rows; the
//!   rows answered before that are noted as spans of ids (see [`settled`]).
//! - **LanScope's files are only read**, never moved, changed or deleted.
//! - **Only its owner can read it.** The rows name users and PCs: on Unix the database is
//!   created with mode 0600 before SQLite opens it, so its `-wal` and `-shm` files, which
//!   SQLite creates with the database's permissions, are 0600 as well; files left wider by an
//!   older version are narrowed when the outbox is opened.

mod legacy;
pub mod piece;
mod settled;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ingest_protocol::IngestRow;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, Transaction};

pub use piece::EncodedPiece;
use piece::{INDEX_BITS, KeyBytes, MAX_PIECE_ROWS, index_of, piece_of, row_id};
use settled::Settled;

use crate::status::{LAST_ERROR, LAST_SUCCESS};

pub const OUTBOX_FILE: &str = "outbox.db";

#[derive(Clone)]
pub struct Outbox {
    pool: SqlitePool,
    /// The piece the last batch was taken from: a batch is smaller than a piece, and the next
    /// batch starts where the last one ended.
    last_piece: Arc<Mutex<Option<CachedPiece>>>,
    /// Pieces that left since the keys of gone pieces were last removed.
    gone_since_forgetting: Arc<AtomicUsize>,
    /// Counts the files recorded: delivery waits on it for rows while files are being read.
    recorded: Arc<tokio::sync::watch::Sender<u64>>,
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
            // `run --once` settles a file's answered rows while it reads the next one, whose rows
            // are one transaction: a settle waits for it to commit, minutes for a file of
            // gigabytes.
            .busy_timeout(std::time::Duration::from_secs(600))
            // 8 MiB of page cache instead of SQLite's 2: a large file's one transaction spilled
            // index pages to the WAL and read them back (`run --once` on a 64 MiB file: 7.1–8.6 s
            // → 4.6 s); peak memory on a 1 GiB file stays under 50 MB (47.8 MB).
            .pragma("cache_size", "-8192")
            .page_size(16384);
        let pool = SqlitePoolOptions::new().max_connections(2).connect_with(options).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        legacy::move_waiting_rows_into_pieces(&pool).await?;
        // Left by a process that stopped without closing the outbox.
        sqlx::query(sqlx::AssertSqlSafe(keys_of_gone_pieces())).execute(&pool).await?;
        Ok(Outbox {
            pool,
            last_piece: Arc::default(),
            gone_since_forgetting: Arc::default(),
            recorded: Arc::new(tokio::sync::watch::Sender::new(0)),
        })
    }

    /// Closes the outbox, without the keys of pieces that left: an earlier version, which removed
    /// a piece's keys with it, would take one for a waiting row's.
    pub async fn close(&self) {
        if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(keys_of_gone_pieces())).execute(&self.pool).await {
            tracing::warn!(error = %e, "Could not remove the keys of delivered rows from the outbox.");
        }
        self.pool.close().await;
    }

    /// Changes each time a file's rows are committed to the outbox.
    pub fn recorded(&self) -> tokio::sync::watch::Receiver<u64> {
        self.recorded.subscribe()
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
        Ok(FileTransaction {
            tx,
            path: path.to_string(),
            now: now_ms(),
            rows: 0,
            errors: 0,
            added: 0,
            recorded: Arc::clone(&self.recorded),
        })
    }

    /// The oldest waiting rows, at most `limit`.
    pub async fn next_batch(&self, limit: usize) -> Result<Vec<(i64, IngestRow)>, sqlx::Error> {
        self.next_batch_after(i64::MIN, limit).await
    }

    /// The oldest waiting rows queued after the row `after` (an id), at most `limit`: the batch
    /// that follows one still in flight.
    pub async fn next_batch_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, IngestRow)>, sqlx::Error> {
        let mut out = Vec::with_capacity(limit.min(MAX_PIECE_ROWS));
        let mut from_piece = if after < 0 { 0 } else { piece_of(after) };
        while out.len() < limit {
            let Some(id) = sqlx::query_scalar::<_, i64>("SELECT id FROM pieces WHERE id >= ? ORDER BY id LIMIT 1")
                .bind(from_piece)
                .fetch_optional(&self.pool)
                .await?
            else {
                break;
            };
            from_piece = id + 1;
            let piece = match self.piece(&self.pool, id).await? {
                Some(Ok(piece)) => piece,
                Some(Err(problem)) => {
                    self.drop_unreadable_piece(id, &problem).await?;
                    continue;
                }
                None => continue,
            };
            let settled = Settled::of_piece(&mut *self.pool.acquire().await?, id).await?;
            for (index, row) in piece.rows.iter().enumerate() {
                let row_id = row_id(id, index);
                if row_id <= after || piece.left_out.contains(&index) || settled.contains(row_id) {
                    continue;
                }
                out.push((row_id, row.clone()));
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// A piece's rows, decoded once for the batches that take them a part at a time: `None`
    /// when the piece is gone, an error when it cannot be read.
    async fn piece<'c, E>(&self, conn: E, id: i64) -> Result<Option<Result<Arc<DecodedPiece>, String>>, sqlx::Error>
    where
        E: sqlx::Executor<'c, Database = Sqlite>,
    {
        if let Some(cached) = self.last_piece.lock().expect("the piece cache is not poisoned").as_ref()
            && cached.0 == id
        {
            return Ok(Some(Ok(cached.1.clone())));
        }
        let Some(r) = sqlx::query("SELECT source_file, payload, left_out FROM pieces WHERE id = ?")
            .bind(id)
            .fetch_optional(conn)
            .await?
        else {
            return Ok(None);
        };
        let source_file: Option<String> = r.get(0);
        let payload: Vec<u8> = r.get(1);
        let left_out: Option<Vec<u8>> = r.get(2);
        let decoded = piece::decode(&payload, source_file.as_deref()).and_then(|rows| {
            Ok(DecodedPiece { rows, left_out: piece::decode_left_out(left_out.as_deref())?.into_iter().collect() })
        });
        Ok(Some(decoded.map(|piece| {
            let piece = Arc::new(piece);
            *self.last_piece.lock().expect("the piece cache is not poisoned") = Some((id, piece.clone()));
            piece
        })))
    }

    /// A piece that cannot be decoded leaves the queue as one dead letter naming it.
    async fn drop_unreadable_piece(&self, id: i64, problem: &str) -> Result<(), sqlx::Error> {
        tracing::error!(piece = id, problem = %problem, "An outbox piece cannot be read; it is kept as a dead letter.");
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO dead_letters (key, payload, reason, at_ms) SELECT ?, hex(payload), ?, ? FROM pieces WHERE id = ?")
            .bind(format!("piece {id}"))
            .bind(format!("unreadable outbox entry: {problem}"))
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        remove_piece(&mut tx, id).await?;
        self.forget_keys_of_gone_pieces(&mut tx, 1).await?;
        tx.commit().await
    }

    /// A transaction that writes, holding the write lock from its start: one that read first could
    /// not write after a file read meanwhile was committed (SQLite's `SQLITE_BUSY_SNAPSHOT`, which
    /// is not waited out).
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// Removes delivered rows and moves refused rows to the dead-letter table, in one
    /// transaction.
    pub async fn settle(&self, delivered: &[i64], refused: &[(i64, String)]) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write().await?;
        self.settle_in(&mut tx, delivered, refused).await?;
        tx.commit().await
    }

    /// [`Outbox::settle`] for a batch the server answered, noting in the same transaction when
    /// the last delivery succeeded and that no error stands: one commit, one sync to disk.
    pub async fn settle_answered(&self, delivered: &[i64], refused: &[(i64, String)]) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write().await?;
        self.settle_in(&mut tx, delivered, refused).await?;
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

    /// Removes delivered rows and moves refused rows to the dead-letter table, inside `tx`. A
    /// piece leaves once every row of it was answered for; until then its answered rows are
    /// noted one by one.
    async fn settle_in(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        delivered: &[i64],
        refused: &[(i64, String)],
    ) -> Result<(), sqlx::Error> {
        let now = now_ms();
        for (id, reason) in refused {
            let Some(Ok(piece)) = self.piece(&mut **tx, piece_of(*id)).await? else { continue };
            let Some(row) = piece.rows.get(index_of(*id)) else { continue };
            // The administrator reads a dead letter as the row that was sent.
            let payload = serde_json::to_string(row).expect("a row serializes");
            sqlx::query("INSERT INTO dead_letters (key, payload, reason, at_ms) VALUES (?, ?, ?, ?)")
                .bind(&row.key)
                .bind(payload)
                .bind(reason)
                .bind(now)
                .execute(&mut **tx)
                .await?;
        }
        let mut by_piece: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
        for id in delivered.iter().copied().chain(refused.iter().map(|(id, _)| *id)) {
            by_piece.entry(piece_of(id)).or_default().insert(id);
        }
        let mut gone = 0;
        for (piece, ids) in by_piece {
            let Some(rows) = sqlx::query_scalar::<_, i64>("SELECT rows FROM pieces WHERE id = ?")
                .bind(piece)
                .fetch_optional(&mut **tx)
                .await?
            else {
                continue;
            };
            let settled = Settled::of_piece(tx, piece).await?.with(ids);
            if settled.count() >= rows {
                remove_piece(tx, piece).await?;
                gone += 1;
            } else {
                settled.store(tx, piece).await?;
            }
        }
        self.forget_keys_of_gone_pieces(tx, gone).await
    }

    /// Removes the waiting keys of pieces that left: all of them when no piece waits, else in
    /// one pass over the keys once more pieces left since the last pass than wait and at least
    /// [`GONE_PIECES_PER_PASS`]; rather than by each piece's time span as it left. A file's
    /// pieces each span the whole day (the manager lists its rows user by user), so each piece's
    /// removal read every key of the day and wrote most of the index's pages again: 1.6 s of the connector's 3.4 s over a
    /// 100 000-employee morning (sqlx's statement log, `loginrec-bench end-to-end`). Pieces are
    /// numbered without reuse (`AUTOINCREMENT`), so a key whose piece is gone is told apart
    /// from a waiting one until then.
    async fn forget_keys_of_gone_pieces(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        gone: usize,
    ) -> Result<(), sqlx::Error> {
        if gone == 0 {
            return Ok(());
        }
        let since = self.gone_since_forgetting.fetch_add(gone, Ordering::Relaxed) + gone;
        let waiting: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pieces").fetch_one(&mut **tx).await?;
        if waiting == 0 {
            sqlx::query("DELETE FROM waiting_keys").execute(&mut **tx).await?;
        } else if since as i64 >= waiting.max(GONE_PIECES_PER_PASS) {
            sqlx::query(sqlx::AssertSqlSafe(keys_of_gone_pieces())).execute(&mut **tx).await?;
        } else {
            return Ok(());
        }
        self.gone_since_forgetting.store(0, Ordering::Relaxed);
        Ok(())
    }

    /// How many rows wait for the server.
    pub async fn queued(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT (SELECT COALESCE(SUM(rows), 0) FROM pieces) - (SELECT COALESCE(SUM(end_id - first_id), 0) FROM settled_spans)")
            .fetch_one(&self.pool)
            .await
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

/// Removes every waiting key whose piece left.
fn keys_of_gone_pieces() -> String {
    format!("DELETE FROM waiting_keys WHERE NOT EXISTS (SELECT 1 FROM pieces WHERE id = (row_id >> {INDEX_BITS}))")
}

/// Pieces that leave between two passes over the waiting keys at least (see
/// [`Outbox::forget_keys_of_gone_pieces`]): a pass reads every key, and a day's files of a
/// 100 000-employee company are that many pieces, whose keys then go when the outbox empties.
const GONE_PIECES_PER_PASS: i64 = 64;

/// A piece with its rows and the notes of its answered rows, gone. Its keys go later (see
/// [`Outbox::forget_keys_of_gone_pieces`]).
async fn remove_piece(tx: &mut Transaction<'_, Sqlite>, piece: i64) -> Result<(), sqlx::Error> {
    settled::forget(tx, piece).await?;
    sqlx::query("DELETE FROM pieces WHERE id = ?").bind(piece).execute(&mut **tx).await?;
    Ok(())
}

/// A decoded piece and its id.
type CachedPiece = (i64, Arc<DecodedPiece>);

/// A piece's rows as read back, and the places of those left out.
struct DecodedPiece {
    rows: Vec<IngestRow>,
    left_out: HashSet<usize>,
}

/// A file being recorded (see [`Outbox::begin_file`]).
pub struct FileTransaction {
    tx: Transaction<'static, Sqlite>,
    path: String,
    now: i64,
    rows: u64,
    errors: u64,
    added: u64,
    recorded: Arc<tokio::sync::watch::Sender<u64>>,
}

/// Keys per INSERT: a statement per key cost a round trip to SQLite's thread each (3 parameters
/// a key, far below SQLite's limit).
const ROWS_PER_INSERT: usize = 500;

fn placeholders(rows: usize, row: &str) -> String {
    vec![row; rows].join(", ")
}

impl FileTransaction {
    /// Adds rows (a duplicate of a row still waiting is left out) and bad-line reports.
    pub async fn add(&mut self, rows: &[IngestRow], row_errors: &[(u64, String)]) -> Result<(), sqlx::Error> {
        let pieces = EncodedPiece::of_rows(rows).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        self.add_pieces(&pieces, row_errors).await
    }

    /// [`FileTransaction::add`] for rows already encoded where they were read.
    pub async fn add_pieces(
        &mut self,
        pieces: &[EncodedPiece],
        row_errors: &[(u64, String)],
    ) -> Result<(), sqlx::Error> {
        for piece in pieces {
            self.added += insert_piece(&mut self.tx, piece, self.now).await?;
            self.rows += piece.len() as u64;
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
        self.recorded.send_modify(|files| *files += 1);
        Ok(self.added)
    }
}

/// Writes a piece and its rows' keys; a row whose key is already waiting is left out. Returns
/// how many rows were new.
pub(crate) async fn insert_piece(
    tx: &mut Transaction<'_, Sqlite>,
    piece: &EncodedPiece,
    now: i64,
) -> Result<u64, sqlx::Error> {
    if piece.is_empty() {
        return Ok(0);
    }
    let first = piece.keys.iter().map(|(at, _)| *at).min().unwrap_or(0);
    let last = piece.keys.iter().map(|(at, _)| *at).max().unwrap_or(0);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO pieces (source_file, first_event_at_ms, last_event_at_ms, rows, payload, enqueued_at_ms) \
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&piece.source_file)
    .bind(first)
    .bind(last)
    .bind(piece.len() as i64)
    .bind(&piece.payload)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    // In the index's order: inserting a piece's keys as they come in the file (a day's logons,
    // then its logoffs, user by user) moved all over the index.
    let mut sorted: Vec<(i64, KeyBytes, usize)> =
        piece.keys.iter().enumerate().map(|(index, (at, key))| (*at, *key, index)).collect();
    sorted.sort_unstable();
    let mut left_out = Vec::new();
    for chunk in sorted.chunks(ROWS_PER_INSERT) {
        if insert_keys(tx, id, chunk).await? < chunk.len() as u64 {
            let (gone, waiting) = held_elsewhere(tx, id, chunk).await?;
            // A key whose piece left holds nothing: the row takes it over and is sent again.
            left_out.extend(waiting);
            if !gone.is_empty() {
                forget_keys(tx, &gone).await?;
                // Two places of this piece with one key: the second is left out.
                if insert_keys(tx, id, &gone).await? < gone.len() as u64 {
                    left_out.extend(held_elsewhere(tx, id, &gone).await?.1);
                }
            }
        }
    }
    left_out.sort_unstable();
    if left_out.len() == piece.len() {
        sqlx::query("DELETE FROM pieces WHERE id = ?").bind(id).execute(&mut **tx).await?;
    } else if !left_out.is_empty() {
        sqlx::query("UPDATE pieces SET rows = ?, left_out = ? WHERE id = ?")
            .bind((piece.len() - left_out.len()) as i64)
            .bind(piece::encode_left_out(&left_out))
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok((piece.len() - left_out.len()) as u64)
}

/// Inserts the keys of `rows` (event time, key, place in piece `id`), leaving out those already
/// there. Returns how many were inserted.
async fn insert_keys(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
    rows: &[(i64, KeyBytes, usize)],
) -> Result<u64, sqlx::Error> {
    // Only placeholders are put together here; every value is bound. `OR IGNORE` rather than
    // an upsert that takes over a gone piece's key, which SQLite checks for before each insert:
    // `loginrec-bench connector --mib 512` took 7.4 and 7.9 s so, 6.4 and 6.6 s without.
    let sql = format!(
        "INSERT OR IGNORE INTO waiting_keys (event_at_ms, key, row_id) VALUES {}",
        placeholders(rows.len(), "(?, ?, ?)")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (at, key, index) in rows {
        query = query.bind(at).bind(&key[..]).bind(row_id(id, *index));
    }
    Ok(query.execute(&mut **tx).await?.rows_affected())
}

/// Removes the keys of `rows` (event time, key, …).
async fn forget_keys(tx: &mut Transaction<'_, Sqlite>, rows: &[(i64, KeyBytes, usize)]) -> Result<(), sqlx::Error> {
    // Only placeholders are put together here; every value is bound.
    let sql =
        format!("DELETE FROM waiting_keys WHERE (event_at_ms, key) IN (VALUES {})", placeholders(rows.len(), "(?, ?)"));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (at, key, _) in rows {
        query = query.bind(at).bind(&key[..]);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// The rows of `chunk` (event time, key, place in piece `id`) whose key another row holds: those
/// held by a piece that left, and the places of those held by a waiting row (an earlier piece's,
/// or an earlier place's in this one).
async fn held_elsewhere(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
    chunk: &[(i64, KeyBytes, usize)],
) -> Result<(Vec<(i64, KeyBytes, usize)>, Vec<usize>), sqlx::Error> {
    // Only placeholders are put together here; every value is bound.
    let sql = format!(
        "SELECT w.event_at_ms, w.key, w.row_id, EXISTS (SELECT 1 FROM pieces p WHERE p.id = (w.row_id >> {INDEX_BITS})) \
         FROM waiting_keys w WHERE (w.event_at_ms, w.key) IN (VALUES {})",
        placeholders(chunk.len(), "(?, ?)")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (at, key, _) in chunk {
        query = query.bind(at).bind(&key[..]);
    }
    let holders: HashMap<(i64, Vec<u8>), (i64, bool)> =
        query.fetch_all(&mut **tx).await?.iter().map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3)))).collect();
    let (mut gone, mut waiting) = (Vec::new(), Vec::new());
    for row @ (at, key, index) in chunk {
        match holders.get(&(*at, key.to_vec())) {
            Some((holder, _)) if *holder == row_id(id, *index) => {}
            Some((_, true)) => waiting.push(*index),
            Some((_, false)) => gone.push(*row),
            None => {}
        }
    }
    Ok((gone, waiting))
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
    use loginrec_rules::LogKind;

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

    fn rows(lines: std::ops::Range<u64>) -> Vec<IngestRow> {
        lines.map(|l| row(l, Some("PC-1"))).collect()
    }

    fn mark() -> FileMark {
        FileMark { size: 1, mtime_ns: 1, sha256: "x".into() }
    }

    async fn record(outbox: &Outbox, path: &str, rows: Vec<IngestRow>) -> u64 {
        outbox.record_file(path, &mark(), &FileRead { rows, ..FileRead::default() }).await.unwrap()
    }

    async fn waiting(outbox: &Outbox) -> Vec<IngestRow> {
        outbox.next_batch(1_000_000).await.unwrap().into_iter().map(|(_, r)| r).collect()
    }

    #[tokio::test]
    async fn a_refused_row_becomes_a_dead_letter_holding_the_whole_row() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).await.unwrap();
        let original = row(7, Some("PC-7"));
        assert_eq!(record(&outbox, "f.csv", vec![original.clone(), row(8, None)]).await, 2);
        let batch = outbox.next_batch(10).await.unwrap();
        assert_eq!(batch.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(), vec![original.clone(), row(8, None)]);
        outbox.settle(&[batch[1].0], &[(batch[0].0, "refused".into())]).await.unwrap();
        assert_eq!(outbox.queued().await.unwrap(), 0);
        let dead = outbox.dead_letters().await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].key, original.key);
        assert_eq!(serde_json::from_str::<IngestRow>(&dead[0].payload).unwrap(), original);
        outbox.close().await;
    }

    /// Rows read again while they wait (a copy of a file, a file that grew) are left out, in
    /// whole pieces and inside pieces; once delivered, the same rows are queued again.
    #[tokio::test]
    async fn a_row_read_again_while_it_waits_is_queued_once() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).await.unwrap();
        assert_eq!(record(&outbox, "a.csv", rows(0..1200)).await, 1200);
        assert_eq!(record(&outbox, "copy of a.csv", rows(0..1200)).await, 0, "a copy adds nothing");
        let mut grown = rows(0..1500);
        grown.insert(700, row(3, Some("PC-1")));
        assert_eq!(record(&outbox, "a.csv", grown).await, 300, "a grown file adds its new rows only");
        assert_eq!(outbox.queued().await.unwrap(), 1500);
        assert_eq!(waiting(&outbox).await, rows(0..1500));

        let ids: Vec<i64> = outbox.next_batch(2000).await.unwrap().into_iter().map(|(id, _)| id).collect();
        outbox.settle(&ids, &[]).await.unwrap();
        assert_eq!(outbox.queued().await.unwrap(), 0);
        let left: (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM pieces), (SELECT COUNT(*) FROM waiting_keys), (SELECT COUNT(*) FROM settled_spans)",
        )
        .fetch_one(&outbox.pool)
        .await
        .unwrap();
        assert_eq!(left, (0, 0, 0), "nothing of a delivered piece is left");
        assert_eq!(record(&outbox, "a.csv", rows(0..10)).await, 10, "delivered rows read again are sent again");
        outbox.close().await;
    }

    /// The keys of a delivered piece are removed later, many pieces' at once: meanwhile its rows
    /// read again are queued again all the same, once.
    #[tokio::test]
    async fn a_delivered_row_read_again_while_other_pieces_wait_is_queued_again() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).await.unwrap();
        record(&outbox, "a.csv", rows(0..100)).await;
        record(&outbox, "b.csv", rows(1000..1100)).await;
        let first: Vec<i64> = outbox.next_batch(100).await.unwrap().into_iter().map(|(id, _)| id).collect();
        outbox.settle(&first, &[]).await.unwrap();
        assert_eq!(outbox.queued().await.unwrap(), 100);
        let twice = rows(0..100).into_iter().chain(rows(0..10)).collect();
        assert_eq!(record(&outbox, "a.csv", twice).await, 100, "delivered rows read again are sent again, once each");
        assert_eq!(record(&outbox, "copy of a.csv", rows(0..100)).await, 0, "and queued once");
        assert_eq!(record(&outbox, "copy of b.csv", rows(1000..1100)).await, 0, "waiting rows keep their keys");
        assert_eq!(waiting(&outbox).await, rows(1000..1100).into_iter().chain(rows(0..100)).collect::<Vec<_>>());
        outbox.close().await;
    }

    /// Closed, the outbox keeps only the waiting rows' keys: an earlier version opening it would
    /// take a delivered row's key for a waiting one's.
    #[tokio::test]
    async fn a_closed_outbox_keeps_only_the_keys_of_waiting_rows() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).await.unwrap();
        record(&outbox, "a.csv", rows(0..10)).await;
        record(&outbox, "b.csv", rows(100..110)).await;
        let first: Vec<i64> = outbox.next_batch(10).await.unwrap().into_iter().map(|(id, _)| id).collect();
        outbox.settle(&first, &[]).await.unwrap();
        outbox.close().await;
        let pool = SqlitePool::connect(&format!("sqlite://{}", dir.path().join(OUTBOX_FILE).display())).await.unwrap();
        let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM waiting_keys").fetch_one(&pool).await.unwrap();
        assert_eq!(keys, 10, "b.csv's");
        pool.close().await;
    }

    /// The keys of pieces that left do not pile up while others wait: once enough pieces left,
    /// only the waiting pieces' keys are kept.
    #[tokio::test]
    async fn keys_of_delivered_pieces_go_while_other_pieces_wait() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).await.unwrap();
        let pieces = GONE_PIECES_PER_PASS as u64 + 3;
        for piece in 0..pieces {
            record(&outbox, &format!("{piece}.csv"), rows(piece * 10..piece * 10 + 10)).await;
        }
        let keys = || async {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM waiting_keys").fetch_one(&outbox.pool).await.unwrap()
        };
        let mut after = i64::MIN;
        for _ in 0..GONE_PIECES_PER_PASS {
            let batch: Vec<i64> =
                outbox.next_batch_after(after, 10).await.unwrap().into_iter().map(|(id, _)| id).collect();
            after = *batch.last().unwrap();
            outbox.settle(&batch, &[]).await.unwrap();
        }
        assert_eq!(keys().await, 30, "the three waiting pieces' keys");
        assert_eq!(waiting(&outbox).await, rows(pieces * 10 - 30..pieces * 10));
        outbox.close().await;
    }

    /// Batches smaller than a piece take it a part at a time, in order; rows answered for are
    /// not sent again, also after the outbox was closed and opened again.
    #[tokio::test]
    async fn batches_walk_pieces_in_order_and_answered_rows_stay_answered() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).await.unwrap();
        record(&outbox, "a.csv", rows(0..250)).await;
        record(&outbox, "b.csv", rows(1000..1100)).await;
        let first = outbox.next_batch(100).await.unwrap();
        let second = outbox.next_batch_after(first.last().unwrap().0, 200).await.unwrap();
        let got: Vec<IngestRow> = first.iter().chain(&second).map(|(_, r)| r.clone()).collect();
        assert_eq!(got, rows(0..250).into_iter().chain(rows(1000..1050)).collect::<Vec<_>>());
        assert!(first.iter().chain(&second).map(|(id, _)| *id).is_sorted());

        // The first batch and one row of the second are answered for.
        let mut answered: Vec<i64> = first.iter().map(|(id, _)| *id).collect();
        answered.push(second[10].0);
        outbox.settle(&answered, &[]).await.unwrap();
        outbox.close().await;
        let outbox = Outbox::open(dir.path()).await.unwrap();
        assert_eq!(outbox.queued().await.unwrap(), 350 - 101);
        let mut expected: Vec<IngestRow> = rows(100..250).into_iter().chain(rows(1000..1100)).collect();
        expected.remove(10);
        assert_eq!(waiting(&outbox).await, expected);
        // Answering for the same rows twice counts them once.
        outbox.settle(&answered, &[]).await.unwrap();
        assert_eq!(outbox.queued().await.unwrap(), 350 - 101);
        outbox.close().await;
    }

    #[tokio::test]
    async fn a_piece_that_cannot_be_read_becomes_a_dead_letter_and_the_others_are_sent() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).await.unwrap();
        record(&outbox, "a.csv", rows(0..3)).await;
        record(&outbox, "b.csv", rows(10..12)).await;
        sqlx::query(
            "UPDATE pieces SET payload = x'01ff' WHERE source_file IS NOT NULL AND id = (SELECT MIN(id) FROM pieces)",
        )
        .execute(&outbox.pool)
        .await
        .unwrap();
        assert_eq!(waiting(&outbox).await, rows(10..12));
        let dead = outbox.dead_letters().await.unwrap();
        assert_eq!(dead.len(), 1);
        assert!(dead[0].reason.starts_with("unreadable outbox entry"), "{dead:?}");
        assert_eq!(dead[0].payload, "01FF");
        assert_eq!(outbox.queued().await.unwrap(), 2);
        outbox.close().await;
    }

    /// An outbox of the per-row schema (the first two migrations) holding `rows` (key, event
    /// time, payload) in order.
    async fn per_row_outbox(dir: &Path, rows: &[(&str, i64, &str)]) {
        let path = dir.join(OUTBOX_FILE);
        let options = SqliteConnectOptions::from_str("sqlite://").unwrap().filename(&path).create_if_missing(true);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
        let mut migrator = sqlx::migrate!("./migrations");
        migrator.migrations = std::borrow::Cow::Owned(migrator.migrations.iter().take(2).cloned().collect());
        migrator.run(&pool).await.unwrap();
        for (key, at, payload) in rows {
            sqlx::query("INSERT INTO outbox (key, event_at_ms, payload, enqueued_at_ms) VALUES (?, ?, ?, 1)")
                .bind(key)
                .bind(at)
                .bind(payload)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    }

    /// Rows waiting in an outbox of an earlier version (both payload forms) are sent as they
    /// were, in order; an entry that cannot be read becomes a dead letter; the keys still keep a
    /// copy out.
    #[tokio::test]
    async fn rows_left_waiting_by_an_earlier_version_are_moved_into_pieces() {
        let (old, compact) = (row(6, Some("PC-1")), row(9, None));
        let as_object = serde_json::to_string(&old).unwrap();
        let as_array = serde_json::to_string(&legacy::StoredRow(
            compact.user_name.clone(),
            compact.kind,
            compact.recorded_at_ms,
            compact.sub_manager_no.clone(),
            compact.agent_no.clone(),
            compact.computer_name.clone(),
            compact.source_file.clone(),
            compact.source_line,
        ))
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        per_row_outbox(
            dir.path(),
            &[
                (old.key.as_str(), old.event_at_ms, as_object.as_str()),
                ("bad", 5, "[not json"),
                (compact.key.as_str(), compact.event_at_ms, as_array.as_str()),
            ],
        )
        .await;

        let outbox = Outbox::open(dir.path()).await.unwrap();
        assert_eq!(waiting(&outbox).await, vec![old.clone(), compact.clone()]);
        let dead = outbox.dead_letters().await.unwrap();
        assert_eq!((dead.len(), dead[0].key.as_str(), dead[0].payload.as_str()), (1, "bad", "[not json"));
        let tables: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'outbox'")
            .fetch_one(&outbox.pool)
            .await
            .unwrap();
        assert_eq!(tables, 0, "the per-row table is gone");
        assert_eq!(record(&outbox, "copy.csv", vec![old.clone(), row(20, None)]).await, 1);
        outbox.close().await;
        // Opened again, nothing is moved twice.
        let outbox = Outbox::open(dir.path()).await.unwrap();
        assert_eq!(outbox.queued().await.unwrap(), 3);
        outbox.close().await;
    }
}
