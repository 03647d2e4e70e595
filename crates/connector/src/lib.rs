//! 連携サービス: picks up the CSV files the LanScope manager writes, keeps their rows in a
//! durable outbox, and delivers them to ログイン記録 until each is acknowledged.
#![forbid(unsafe_code)]

pub mod config;
pub mod delivery;
pub mod folder;
pub mod local_dir;
pub mod outbox;
pub mod sender;
pub mod status;

use std::path::Path;
use std::time::Duration;

use config::Config;
use delivery::{DeliveryError, RetryPolicy, deliver_all};
use outbox::Outbox;
use sender::Sender;

/// What `run --once` ended with.
#[derive(Debug)]
pub enum OnceOutcome {
    /// Every row was acknowledged or reported (dead letters, bad CSV lines).
    Done {
        delivered: u64,
        dead: u64,
    },
    Failed(DeliveryError),
}

/// Reads what is in the folder (waiting for files that are still being written), delivers
/// everything, and returns.
pub async fn run_once(config: &Config, config_path: &Path, policy: RetryPolicy) -> anyhow::Result<OnceOutcome> {
    let outbox = Outbox::open(&config.data_dir(config_path)).await?;
    let sender = Sender::new(config)?;
    let settle = Duration::from_secs(config.settle_seconds);
    let options = config.read_options();
    // Files still being written are waited for, a settle time at a time, up to a limit.
    let mut waited = Duration::ZERO;
    let limit = settle.max(Duration::from_secs(1)) * 20;
    loop {
        let summary =
            folder::read_ready_files(&config.log_dir, &config.company_code, &options, settle, &outbox).await?;
        if summary.unsettled.is_empty() {
            break;
        }
        if waited >= limit {
            for path in &summary.unsettled {
                tracing::warn!(file = %path.display(), "A file is still changing; it will be read by a later run.");
            }
            break;
        }
        let pause = settle.max(Duration::from_millis(200)) / 2;
        tokio::time::sleep(pause).await;
        waited += pause;
    }
    let outcome = match deliver_all(&outbox, &sender, config.batch_rows, &policy).await {
        Ok(report) => OnceOutcome::Done { delivered: report.delivered, dead: report.dead },
        Err(e) => OnceOutcome::Failed(e),
    };
    outbox.close().await;
    Ok(outcome)
}

/// The daemon: rescans the folder and delivers, until `shutdown` resolves. A failed
/// delivery is retried forever with backoff; the data stays in the outbox meanwhile.
pub async fn run_daemon(
    config: &Config,
    config_path: &Path,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let outbox = Outbox::open(&config.data_dir(config_path)).await?;
    let sender = Sender::new(config)?;
    let settle = Duration::from_secs(config.settle_seconds);
    let options = config.read_options();
    let policy = RetryPolicy::daemon();
    tokio::pin!(shutdown);
    tracing::info!(folder = %config.log_dir.display(), server = %config.server_url, "The connector started.");
    loop {
        let mut next = Duration::from_secs(config.scan_interval_seconds.max(1));
        match folder::read_ready_files(&config.log_dir, &config.company_code, &options, settle, &outbox).await {
            Ok(summary) if !summary.unsettled.is_empty() => next = next.min(settle.max(Duration::from_secs(1))),
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "Cannot read the LanScope folder.");
                outbox.set_state(status::LAST_ERROR, &format!("cannot read the LanScope folder: {e}")).await.ok();
            }
        }
        let delivery = deliver_all(&outbox, &sender, config.batch_rows, &policy);
        tokio::select! {
            result = delivery => {
                if let Err(e) = result {
                    tracing::error!(error = %e, "Delivery stopped; the rows are kept and will be sent later.");
                    next = next.min(Duration::from_secs(300));
                }
            }
            _ = &mut shutdown => break,
        }
        tokio::select! {
            _ = tokio::time::sleep(next) => {}
            _ = &mut shutdown => break,
        }
    }
    outbox.close().await;
    tracing::info!("The connector stopped.");
    Ok(())
}
