//! Draining the outbox: batches, retries with capped exponential backoff and full jitter,
//! `Retry-After`, token and proxy failures, and dead letters for rows refused for good.

use std::collections::HashMap;
use std::time::Duration;

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

/// Like [`deliver_all`], but returns early once `stop` is requested: a batch already sent is
/// finished and settled, no new one is started, and a pause before a retry is cut short.
///
/// While a batch is in flight, the batch answered before it is settled and the next one is
/// read, so the server is never kept waiting for the outbox. Rows still leave only once the
/// server answered for them, and in order: a batch that fails is sent again, then what follows.
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
    // The last row of the last batch the server answered: what follows it is sent next.
    let mut cursor = i64::MIN;
    let mut ahead: Option<Vec<(i64, IngestRow)>> = None;
    let mut answered: Option<Answered> = None;
    loop {
        if stop.requested() {
            settle(outbox, answered.take()).await?;
            return Ok(report);
        }
        let batch = match ahead.take() {
            Some(batch) if !batch.is_empty() => batch,
            _ => outbox.next_batch_after(cursor, limit).await?,
        };
        if batch.is_empty() {
            settle(outbox, answered.take()).await?;
            return Ok(report);
        }
        let (ids, mut rows): (Vec<i64>, Vec<IngestRow>) = batch.into_iter().unzip();
        let last = *ids.last().expect("a batch is not empty");
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
        let next_limit = (limit * 2).min(batch_rows);
        let before = answered.take();
        let (sent, meanwhile) = tokio::join!(sender.send(rows), async {
            settle(outbox, before).await?;
            outbox.next_batch_after(last, next_limit).await
        });
        let next = meanwhile?;
        match sent {
            Ok(answer) => {
                let reasons: HashMap<&str, &str> =
                    answer.rejections.iter().map(|r| (r.key.as_str(), r.reason.as_str())).collect();
                let mut done = Answered::default();
                for (id, key) in ids.iter().zip(&keys) {
                    match reasons.get(key.as_str()) {
                        Some(reason) => done.refused.push((*id, (*reason).to_string())),
                        None => done.delivered.push(*id),
                    }
                }
                for (_, reason) in &done.refused {
                    tracing::warn!(reason = %reason, "The server refused a row; it is kept as a dead letter.");
                }
                report.delivered += done.delivered.len() as u64;
                report.dead += done.refused.len() as u64;
                tracing::info!(
                    rows = ids.len(),
                    accepted = answer.accepted,
                    duplicate = answer.duplicate,
                    rejected = answer.rejected,
                    "Delivered a batch."
                );
                answered = Some(done);
                failures = 0;
                limit = next_limit;
                cursor = last;
                ahead = Some(next);
            }
            Err(SendError::Refused { status, message }) if ids.len() > 1 => {
                // Something in this batch is refused as a whole: halve until the row is found.
                tracing::warn!(status, message = %message, rows = ids.len(), "The server refused a batch; splitting it.");
                limit = ids.len() / 2;
            }
            Err(SendError::Refused { status, message }) => {
                let reason = format!("HTTP {status}: {message}");
                outbox.settle(&[], &[(ids[0], reason)]).await?;
                report.dead += 1;
                limit = batch_rows;
            }
            Err(e @ (SendError::TokenRejected(_) | SendError::ProxyAuth | SendError::WrongAddress { .. })) => {
                outbox.set_state(LAST_ERROR, &e.to_string()).await?;
                return Err(DeliveryError::Stopped(e));
            }
            Err(SendError::Retryable { message, retry_after }) => {
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

async fn settle(outbox: &Outbox, answered: Option<Answered>) -> Result<(), sqlx::Error> {
    match answered {
        Some(a) => outbox.settle_answered(&a.delivered, &a.refused).await,
        None => Ok(()),
    }
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
