//! Rows left waiting by earlier versions, which kept a table row per log row (`outbox`): they are
//! moved into pieces, in the order they were read, when the outbox is opened, and the table is
//! dropped in the same transaction.

use ingest_protocol::IngestRow;
use loginrec_rules::LogKind;
use serde::{Deserialize, Serialize};
use sqlx::{Row, SqlitePool};

use super::piece::{EncodedPiece, MAX_PIECE_ROWS};
use super::{insert_piece, now_ms};

/// A row as the per-row table kept it: its key, its event time and its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LegacyRow {
    pub key: String,
    pub event_at_ms: i64,
    pub payload: String,
}

/// The payload of a per-row entry: the fields of an [`IngestRow`] but its key and event time
/// as a JSON array. A payload that is a JSON object is an `IngestRow` written by an earlier
/// version still.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredRow(
    pub String,
    pub LogKind,
    pub Option<i64>,
    pub Option<String>,
    pub Option<String>,
    pub Option<String>,
    pub Option<String>,
    pub Option<u64>,
);

impl LegacyRow {
    /// The row to send, from what the table held.
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

/// Moves the rows of the per-row table, if there is one, into pieces and drops it, in one
/// transaction. An entry that cannot be read becomes a dead letter, as it did when sent.
pub(crate) async fn move_waiting_rows_into_pieces(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'outbox'")
        .fetch_one(pool)
        .await?;
    if exists == 0 {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    let now = now_ms();
    let (mut after, mut moved) = (i64::MIN, 0u64);
    loop {
        let entries = sqlx::query("SELECT id, key, event_at_ms, payload FROM outbox WHERE id > ? ORDER BY id LIMIT ?")
            .bind(after)
            .bind(MAX_PIECE_ROWS as i64)
            .fetch_all(&mut *tx)
            .await?;
        let Some(last) = entries.last() else { break };
        after = last.get(0);
        let mut rows = Vec::with_capacity(entries.len());
        for r in &entries {
            let entry = LegacyRow { key: r.get(1), event_at_ms: r.get(2), payload: r.get(3) };
            let problem = match entry.to_ingest_row() {
                Ok(row) if super::piece::key_bytes(&row.key).is_some() => {
                    rows.push(row);
                    continue;
                }
                Ok(row) => format!("row key {:?} is not 32 hex digits", row.key),
                Err(e) => e.to_string(),
            };
            sqlx::query("INSERT INTO dead_letters (key, payload, reason, at_ms) VALUES (?, ?, ?, ?)")
                .bind(&entry.key)
                .bind(&entry.payload)
                .bind(format!("unreadable outbox entry: {problem}"))
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        let pieces = EncodedPiece::of_rows(&rows).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        for piece in &pieces {
            moved += insert_piece(&mut tx, piece, now).await?;
        }
    }
    sqlx::query("DROP TABLE outbox").execute(&mut *tx).await?;
    tx.commit().await?;
    if moved > 0 {
        tracing::info!(rows = moved, "Moved the rows waiting in the outbox into pieces.");
    }
    Ok(())
}
