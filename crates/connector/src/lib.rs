//! 連携サービス: picks up the CSV files the LanScope manager writes, keeps their rows in a
//! durable outbox, and delivers them to ログイン記録 until each is acknowledged.
#![forbid(unsafe_code)]

pub mod config;
pub mod delivery;
pub mod folder;
pub mod instance;
pub mod local_dir;
pub mod logging;
pub mod outbox;
pub mod sender;
pub mod service;
pub mod status;
pub mod watcher;

use std::path::Path;
use std::time::Duration;

use config::Config;
use delivery::{DeliveryError, RetryPolicy, deliver_until, deliver_while_reading};
use instance::InstanceLock;
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

/// The outbox and the sender of a configuration, and the data folder's lock (one connector at a
/// time: [`instance`]). Settings the sender refuses (the token would travel unencrypted) stop the
/// connector before it reads or stores anything.
async fn open(config: &Config, config_path: &Path) -> anyhow::Result<(Outbox, Sender, InstanceLock)> {
    let sender = Sender::new(config)?;
    let data_dir = config.data_dir(config_path);
    let lock = InstanceLock::acquire(&data_dir)?;
    let outbox = Outbox::open(&data_dir).await?;
    Ok((outbox, sender, lock))
}

/// Reads what is in the folder (waiting for files that are still being written), delivers
/// everything, and returns. A file's rows are sent while the next file is read.
pub async fn run_once(config: &Config, config_path: &Path, policy: RetryPolicy) -> anyhow::Result<OnceOutcome> {
    let (outbox, sender, _lock) = open(config, config_path).await?;
    let (folder, server, version) = (config.log_dir.display(), &config.server_url, env!("CARGO_PKG_VERSION"));
    tracing::info!(%folder, %server, version, "The connector runs once.");
    let (read_tx, read_rx) = tokio::sync::watch::channel(false);
    let reading = async {
        let read = read_folder_once(config, &outbox).await;
        read_tx.send_replace(true);
        read
    };
    let delivering = deliver_while_reading(&outbox, &sender, config.batch_rows, &policy, read_rx);
    let (read, delivered) = tokio::join!(reading, delivering);
    let outcome = match delivered {
        Ok(report) => {
            tracing::info!(delivered = report.delivered, dead = report.dead, "The connector delivered everything.");
            OnceOutcome::Done { delivered: report.delivered, dead: report.dead }
        }
        Err(e) => {
            tracing::error!(error = %e, "The connector could not deliver everything; the rows are kept.");
            OnceOutcome::Failed(e)
        }
    };
    outbox.close().await;
    read?;
    Ok(outcome)
}

/// Reads the folder's files into the outbox, waiting for files still being written, a settle
/// time at a time, up to a limit.
async fn read_folder_once(config: &Config, outbox: &Outbox) -> anyhow::Result<()> {
    let settle = Duration::from_secs(config.settle_seconds);
    let options = config.read_options();
    let mut waited = Duration::ZERO;
    let limit = settle.max(Duration::from_secs(1)) * folder::UNTERMINATED_SETTLE_FACTOR;
    loop {
        let summary = folder::read_ready_files(&config.log_dir, &config.company_code, &options, settle, outbox).await?;
        if summary.unsettled.is_empty() {
            return Ok(());
        }
        if waited >= limit {
            for path in &summary.unsettled {
                tracing::warn!(file = %path.display(), "A file is still changing; it will be read by a later run.");
            }
            return Ok(());
        }
        let pause = settle.max(Duration::from_millis(200)) / 2;
        tokio::time::sleep(pause).await;
        waited += pause;
    }
}

/// How long a stopping daemon waits for the batch or file in progress to finish. Whatever is
/// cut off then is safe: its rows are still in the outbox and are sent again.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// After a file event, wait this long for the burst of events of one write to pass.
const EVENT_DEBOUNCE: Duration = Duration::from_millis(250);

/// A request to stop, seen by the delivery loop between batches and during its pauses.
#[derive(Clone, Debug)]
pub struct Stop(Option<tokio::sync::watch::Receiver<bool>>);

impl Stop {
    /// A stop that is never requested.
    pub fn never() -> Stop {
        Stop(None)
    }

    /// A stop requested by sending `true`.
    pub fn channel() -> (tokio::sync::watch::Sender<bool>, Stop) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        (tx, Stop(Some(rx)))
    }

    pub fn requested(&self) -> bool {
        self.0.as_ref().is_some_and(|rx| *rx.borrow())
    }

    /// Resolves once a stop is requested (or its sender is gone).
    pub async fn wait(&self) {
        match &self.0 {
            Some(rx) => {
                let mut rx = rx.clone();
                let _ = rx.wait_for(|stop| *stop).await;
            }
            None => std::future::pending().await,
        }
    }
}

/// The daemon: watches and rescans the folder and delivers, until `shutdown` resolves. A
/// failed delivery is retried forever with backoff; the data stays in the outbox meanwhile.
///
/// `started` is called once the outbox is open and this is the only connector on it: the
/// Windows service reports itself running then, not before.
///
/// When `shutdown` resolves, the batch being sent (or the file being read) is finished, for
/// at most [`SHUTDOWN_GRACE`], and the outbox is closed.
pub async fn run_daemon(
    config: &Config,
    config_path: &Path,
    started: impl FnOnce(),
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let (outbox, sender, _lock) = open(config, config_path).await?;
    started();
    let (folder, server, version) = (config.log_dir.display(), &config.server_url, env!("CARGO_PKG_VERSION"));
    tracing::info!(%folder, %server, version, "The connector started.");
    let (stop_tx, stop) = Stop::channel();
    let work = daemon_loop(config, &outbox, &sender, stop);
    tokio::pin!(work, shutdown);
    let result = tokio::select! {
        result = &mut work => result,
        _ = &mut shutdown => {
            tracing::info!("Stopping: finishing the work in progress.");
            let _ = stop_tx.send(true);
            match tokio::time::timeout(SHUTDOWN_GRACE, &mut work).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::warn!(
                        grace_s = SHUTDOWN_GRACE.as_secs(),
                        "The work in progress did not finish in time; its rows stay queued and are sent again."
                    );
                    Ok(())
                }
            }
        }
    };
    outbox.close().await;
    tracing::info!("The connector stopped.");
    result
}

async fn daemon_loop(config: &Config, outbox: &Outbox, sender: &Sender, stop: Stop) -> anyhow::Result<()> {
    let settle = Duration::from_secs(config.settle_seconds);
    let options = config.read_options();
    let policy = RetryPolicy::daemon();
    let mut watcher = watcher::FolderWatcher::new(&config.log_dir);
    loop {
        if stop.requested() {
            return Ok(());
        }
        watcher.ensure();
        let mut next = Duration::from_secs(config.scan_interval_seconds.max(1));
        match folder::read_ready_files(&config.log_dir, &config.company_code, &options, settle, outbox).await {
            Ok(summary) => {
                if !summary.unsettled.is_empty() {
                    next = next.min(settle.max(Duration::from_secs(1)));
                }
            }
            Err(e) => {
                tracing::error!(folder = %config.log_dir.display(), error = %e, "Cannot read the LanScope folder.");
                outbox.set_state(status::LAST_ERROR, &format!("cannot read the LanScope folder: {e}")).await.ok();
            }
        }
        if stop.requested() {
            return Ok(());
        }
        if let Err(e) = deliver_until(outbox, sender, config.batch_rows, &policy, &stop).await {
            tracing::error!(error = %e, "Delivery stopped; the rows are kept and will be sent later.");
            next = next.min(Duration::from_secs(300));
        }
        tokio::select! {
            _ = tokio::time::sleep(next) => {}
            _ = watcher.changed() => {
                // One write makes a burst of events: let it pass, then look once.
                tokio::select! {
                    _ = tokio::time::sleep(EVENT_DEBOUNCE) => {}
                    _ = stop.wait() => return Ok(()),
                }
                watcher.drain();
                tracing::debug!("A file event woke the connector.");
            }
            _ = stop.wait() => return Ok(()),
        }
    }
}
