//! Draining the outbox: batches, retries with capped exponential backoff and full jitter,
//! `Retry-After`, token and proxy failures, and dead letters for rows refused for good.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use ingest_protocol::IngestRow;
use loginrec_rules::idempotency_key;
use rand::Rng;

use crate::Stop;
use crate::outbox::Outbox;
use crate::sender::{SendError, Sender};
use crate::status::LAST_ERROR;

/// The shortest pause between two attempts, whatever the server says.
const MIN_PAUSE: Duration = Duration::from_millis(200);

#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Give up after this many failed attempts in a row; `None` retries forever.
    pub max_attempts: Option<u32>,
    pub base: Duration,
    pub cap: Duration,
}

impl RetryPolicy {
    /// For `run --once`: a few quick retries, then report.
    pub fn once() -> RetryPolicy {
        RetryPolicy { max_attempts: Some(6), base: Duration::from_millis(500), cap: Duration::from_secs(10) }
    }

    /// For the service: retry forever, at most every five minutes.
    pub fn daemon() -> RetryPolicy {
        RetryPolicy { max_attempts: None, base: Duration::from_secs(1), cap: Duration::from_secs(300) }
    }

    /// Full jitter: a random pause between zero and the capped exponential bound.
    fn pause(&self, attempt: u32) -> Duration {
        let bound = self.base.saturating_mul(1u32 << attempt.min(20)).min(self.cap);
        let millis = bound.as_millis().max(1) as u64;
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("{0}")]
    Stopped(SendError),
    #[error("gave up after {attempts} attempts: {last}")]
    GaveUp { attempts: u32, last: String },
    #[error("outbox error: {0}")]
    Outbox(#[from] sqlx::Error),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: u64,
    pub dead: u64,
}

/// Sends every waiting row. Returns when the outbox is empty, or with the reason it cannot be.
pub async fn deliver_all(
    outbox: &Outbox,
    sender: &Sender,
    batch_rows: usize,
    policy: &RetryPolicy,
) -> Result<DeliveryReport, DeliveryError> {
    deliver_until(outbox, sender, batch_rows, policy, &Stop::never()).await
}

/// Batches sent before the first is answered. The server derives a batch's punches in one
/// transaction; with two in flight, a PostgreSQL server works on the next one while it answers
/// the one before, instead of leaving a core idle between them.
pub const IN_FLIGHT: usize = 2;

/// A batch sent and not yet answered.
struct Sent {
    /// The last row before this batch: where reading starts again if it must be sent again.
    after: i64,
    ids: Vec<i64>,
    keys: Vec<String>,
}

/// Like [`deliver_all`], but returns early once `stop` is requested: the batches already sent
/// are finished and settled, no new one is started, and a pause before a retry is cut short.
///
/// Up to [`IN_FLIGHT`] batches are sent before the first is answered, and an answered batch is
/// settled while the next is in flight. Rows still leave only once the server answered for
/// them, and in order: answers are taken in the order the batches were read; when a batch fails,
/// the batches sent after it are dropped unsettled (the server stores a row once, whatever it
/// receives twice), and sending starts again with the failed one.
pub async fn deliver_until(
    outbox: &Outbox,
    sender: &Sender,
    batch_rows: usize,
    policy: &RetryPolicy,
    stop: &Stop,
) -> Result<DeliveryReport, DeliveryError> {
    let batch_rows = batch_rows.max(1);
    let mut report = DeliveryReport::default();
    let mut limit = batch_rows;
    let mut failures = 0u32;
    // The last row read into a batch: what follows it is read next.
    let mut read_to = i64::MIN;
    let mut in_flight = FuturesOrdered::new();
    let mut drained = false;
    loop {
        while !drained && in_flight.len() < IN_FLIGHT && !stop.requested() {
            let batch = outbox.next_batch_after(read_to, limit).await?;
            if batch.is_empty() {
                drained = true;
                break;
            }
            let (ids, mut rows): (Vec<i64>, Vec<IngestRow>) = batch.into_iter().unzip();
            // The server checks every key against the company it is sent for. Rows read while a
            // mistyped company code was registered carry keys made with that code: make them again.
            for row in &mut rows {
                row.key = idempotency_key(
                    sender.company_code(),
                    &row.user_name,
                    row.kind,
                    row.event_at_ms,
                    row.sub_manager_no.as_deref(),
                    row.agent_no.as_deref(),
                );
            }
            let keys: Vec<String> = rows.iter().map(|r| r.key.clone()).collect();
            let batch = Sent { after: read_to, keys, ids };
            read_to = *batch.ids.last().expect("a batch is not empty");
            in_flight.push_back(async move { (batch, sender.send(rows).await) });
        }
        let Some((batch, sent)) = in_flight.next().await else {
            return Ok(report);
        };
        let error = match sent {
            Ok(answer) => {
                let reasons: HashMap<&str, &str> =
                    answer.rejections.iter().map(|r| (r.key.as_str(), r.reason.as_str())).collect();
                let mut done = Answered::default();
                for (id, key) in batch.ids.iter().zip(&batch.keys) {
                    match reasons.get(key.as_str()) {
                        Some(reason) => done.refused.push((*id, (*reason).to_string())),
                        None => done.delivered.push(*id),
                    }
                }
                for (_, reason) in &done.refused {
                    tracing::warn!(reason = %reason, "The server refused a row; it is kept as a dead letter.");
                }
                tracing::info!(
                    rows = batch.ids.len(),
                    accepted = answer.accepted,
                    duplicate = answer.duplicate,
                    rejected = answer.rejected,
                    "Delivered a batch."
                );
                // The next batch is in flight meanwhile.
                outbox.settle_answered(&done.delivered, &done.refused).await?;
                report.delivered += done.delivered.len() as u64;
                report.dead += done.refused.len() as u64;
                failures = 0;
                limit = (limit * 2).min(batch_rows);
                continue;
            }
            Err(error) => error,
        };
        // The batch was not answered for: what was sent after it is sent again after it.
        in_flight = FuturesOrdered::new();
        read_to = batch.after;
        drained = false;
        match error {
            SendError::Refused { status, message } if batch.ids.len() > 1 => {
                // Something in this batch is refused as a whole: halve until the row is found.
                tracing::warn!(status, message = %message, rows = batch.ids.len(), "The server refused a batch; splitting it.");
                limit = batch.ids.len() / 2;
            }
            SendError::Refused { status, message } => {
                let reason = format!("HTTP {status}: {message}");
                outbox.settle(&[], &[(batch.ids[0], reason)]).await?;
                report.dead += 1;
                limit = batch_rows;
            }
            e @ (SendError::TokenRejected(_) | SendError::ProxyAuth | SendError::WrongAddress { .. }) => {
                outbox.set_state(LAST_ERROR, &e.to_string()).await?;
                return Err(DeliveryError::Stopped(e));
            }
            SendError::Retryable { message, retry_after } => {
                failures += 1;
                outbox.set_state(LAST_ERROR, &message).await?;
                if policy.max_attempts.is_some_and(|max| failures >= max) {
                    return Err(DeliveryError::GaveUp { attempts: failures, last: message });
                }
                // Retry-After is a lower bound; a zero would make a tight loop of a failing server.
                let pause = retry_after
                    .map(|r| r.clamp(MIN_PAUSE, policy.cap.max(MIN_PAUSE)))
                    .unwrap_or_else(|| policy.pause(failures));
                tracing::warn!(attempt = failures, pause_ms = pause.as_millis() as u64, error = %message, "Delivery failed; retrying.");
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.wait() => return Ok(report),
                }
            }
        }
    }
}

/// A batch the server answered for, not yet settled in the outbox.
#[derive(Default)]
struct Answered {
    delivered: Vec<i64>,
    refused: Vec<(i64, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_but_never_pass_the_cap() {
        let p = RetryPolicy { max_attempts: None, base: Duration::from_millis(100), cap: Duration::from_secs(2) };
        for attempt in 0..40 {
            assert!(p.pause(attempt) <= Duration::from_secs(2));
        }
    }
}
