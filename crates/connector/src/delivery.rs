//! Draining the outbox: batches, retries with capped exponential backoff and full jitter,
//! `Retry-After`, token and proxy failures, and dead letters for rows refused for good.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use ingest_protocol::{IngestResponse, IngestRow};
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

/// Delivers the rows of the files recorded while `reading` is false, and returns once it is true
/// and everything recorded before was delivered: `run --once` sends the first file's rows while
/// it reads the next. Like [`deliver_all`], returns the first failure.
pub async fn deliver_while_reading(
    outbox: &Outbox,
    sender: &Sender,
    batch_rows: usize,
    policy: &RetryPolicy,
    mut read: tokio::sync::watch::Receiver<bool>,
) -> Result<DeliveryReport, DeliveryError> {
    let mut recorded = outbox.recorded();
    let mut total = DeliveryReport::default();
    loop {
        // Marked seen before the outbox is read: a file recorded from here on wakes the wait. A
        // reading side gone without saying so has finished too.
        let finished = *read.borrow_and_update() || read.has_changed().is_err();
        recorded.borrow_and_update();
        let report = deliver_all(outbox, sender, batch_rows, policy).await?;
        total.delivered += report.delivered;
        total.dead += report.dead;
        if finished {
            return Ok(total);
        }
        tokio::select! {
            changed = recorded.changed() => changed.expect("the outbox outlives its delivery"),
            // Reading ended: what it recorded last is delivered on the next pass.
            _ = read.changed() => {}
        }
    }
}

/// Batches at the server at once. The server derives a batch's punches in one transaction;
/// with several there, a PostgreSQL server works on one while it reads, answers or commits
/// another, instead of leaving a core idle between them. Three rather than two: a
/// 100 000-employee morning on PostgreSQL in 6.7–7.2 s against 7.1–7.5 s (`loginrec-bench
/// end-to-end`, runs alternated); four waited on each other's index pages.
pub const IN_FLIGHT: usize = 3;

/// Batches sent and not yet settled: answered ones wait for those read before them, and a slow
/// batch holds back at most this many sent after it.
const UNSETTLED: usize = 2 * IN_FLIGHT;

/// A batch read from the outbox.
struct Read {
    /// The last row before this batch: where reading starts again if it must be sent again.
    after: i64,
    ids: Vec<i64>,
    rows: Vec<IngestRow>,
}

/// A batch sent and not yet settled.
struct Sent {
    after: i64,
    ids: Vec<i64>,
    keys: Vec<String>,
}

/// The `limit` rows after `read_to`, with their keys made again for the company registered now,
/// moving `read_to` past them; `None` when no row waits.
async fn read_batch(
    outbox: &Outbox,
    sender: &Sender,
    read_to: &mut i64,
    limit: usize,
) -> Result<Option<Read>, DeliveryError> {
    let after = *read_to;
    let batch = outbox.next_batch_after(after, limit).await?;
    let Some(&(last, _)) = batch.last() else {
        return Ok(None);
    };
    *read_to = last;
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
    Ok(Some(Read { after, ids, rows }))
}

/// Like [`deliver_all`], but returns early once `stop` is requested: the batches already sent
/// are finished and settled, no new one is started, and a pause before a retry is cut short.
///
/// Up to [`IN_FLIGHT`] batches are at the server at once, and a new one is sent as soon as one
/// is answered: the next batch is read from the outbox while they are at the server, and an
/// answered batch is settled after its successor was sent. (Settled first, the batches at
/// the server were answered together and sent again together, and the server waited for both.)
/// Rows still leave only once the server answered for them, and in order: answers are settled
/// in the order the batches were read; when a batch fails, the batches sent after it are dropped
/// unsettled (the server stores a row once, whatever it receives twice), and sending starts
/// again with the failed one.
///
/// Delivery starts with one batch at the server, and again after a failure: more are sent only
/// once the server answered one. A server that is down gets one request an attempt, however
/// many batches wait.
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
    // Batches that may be at the server at once: one until the server answered.
    let mut width = 1;
    let mut failures = 0u32;
    // The last row read into a batch: what follows it is read next.
    let mut read_to = i64::MIN;
    // The batch read to be sent next; whether the outbox had no more.
    let mut ready: Option<Read> = None;
    let mut drained = false;
    // Batches are numbered in the order they were read. Those at the server; those answered,
    // until the ones before them are answered too.
    let mut at_server = FuturesUnordered::new();
    let mut answered: BTreeMap<u64, (Sent, Result<IngestResponse, SendError>)> = BTreeMap::new();
    let (mut next_number, mut settle_number) = (0u64, 0u64);
    loop {
        while at_server.len() < width && at_server.len() + answered.len() < UNSETTLED && !stop.requested() {
            let read = match ready.take() {
                Some(read) => read,
                None if drained => break,
                None => match read_batch(outbox, sender, &mut read_to, limit).await? {
                    Some(read) => read,
                    None => {
                        drained = true;
                        break;
                    }
                },
            };
            let keys = read.rows.iter().map(|r| r.key.clone()).collect();
            let (number, batch, rows) = (next_number, Sent { after: read.after, ids: read.ids, keys }, read.rows);
            next_number += 1;
            at_server.push(async move { (number, batch, sender.send(rows).await) });
        }
        let Some((batch, sent)) = answered.remove(&settle_number) else {
            if at_server.is_empty() {
                return Ok(report);
            }
            let read_ahead = async {
                if ready.is_some() || drained || stop.requested() {
                    return Ok(None);
                }
                read_batch(outbox, sender, &mut read_to, limit).await
            };
            let (first, ahead) = tokio::join!(at_server.next(), read_ahead);
            match ahead? {
                Some(read) => ready = Some(read),
                None if ready.is_none() && !stop.requested() => drained = true,
                None => {}
            }
            let (number, batch, sent) = first.expect("a batch is at the server");
            answered.insert(number, (batch, sent));
            continue;
        };
        settle_number += 1;
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
                // The batches at the server go on while this one is settled: settling waits for a
                // file being recorded meanwhile to commit.
                let settling = outbox.settle_answered(&done.delivered, &done.refused);
                tokio::pin!(settling);
                loop {
                    tokio::select! {
                        settled = &mut settling => break settled?,
                        Some((number, batch, sent)) = at_server.next() => {
                            answered.insert(number, (batch, sent));
                        }
                    }
                }
                report.delivered += done.delivered.len() as u64;
                report.dead += done.refused.len() as u64;
                failures = 0;
                width = IN_FLIGHT;
                limit = (limit * 2).min(batch_rows);
                continue;
            }
            Err(error) => error,
        };
        // The batch was not answered for: what was sent after it is sent again after it.
        width = 1;
        at_server = FuturesUnordered::new();
        answered.clear();
        settle_number = next_number;
        ready = None;
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
