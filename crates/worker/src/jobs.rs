//! The background job loop every server process runs. Which process runs a job is decided by
//! the store's leases (see `loginrec_store::jobs`), so a fleet runs each schedule once.

use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Time;
use loginrec_store::jobs::kind;
use loginrec_store::{Job, Store};
use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct JobSettings {
    /// Local time of the daily 勤革時連携 (連携実行), per company time zone.
    pub employee_sync_at: Time,
    /// Logs older than this many years are purged daily; never fewer than
    /// [`loginrec_rules::retention::MIN_YEARS`].
    pub retention_years: u16,
    pub poll: Duration,
    /// How long a claimed job is ours before another process may take it over.
    pub lease: Duration,
    /// This process's name in the job table.
    pub worker: String,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            employee_sync_at: Time::constant(3, 0, 0, 0),
            retention_years: loginrec_rules::retention::DEFAULT_YEARS,
            poll: Duration::from_secs(30),
            lease: Duration::from_secs(600),
            worker: default_worker_name(),
        }
    }
}

/// `host:pid`, unique enough to tell processes apart in the job table.
pub fn default_worker_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    format!("{host}:{}", std::process::id())
}

/// Runs until `stop` turns true.
pub async fn run_jobs(store: Store, settings: JobSettings, mut stop: watch::Receiver<bool>) {
    let http = crate::remote::http_client();
    loop {
        if let Err(e) = schedule_due(&store, &settings).await {
            tracing::error!(error = %e, "Cannot schedule background jobs.");
        }
        loop {
            if *stop.borrow() {
                return;
            }
            match store.jobs().claim_job(&settings.worker, settings.lease.as_millis() as i64).await {
                Ok(Some(job)) => run_one(&store, &http, &settings, job).await,
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "Cannot claim a background job.");
                    break;
                }
            }
        }
        if let Err(e) = crate::remote::send_due(&store, &http, &settings.worker, Timestamp::now).await {
            tracing::error!(error = %e, "Cannot send punches to remote attendance services.");
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.poll) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Schedules today's slot of each daily job whose time has come.
pub async fn schedule_due(store: &Store, settings: &JobSettings) -> loginrec_store::Result<()> {
    let now = Timestamp::now();
    for company in store.companies().await? {
        let tz = company.tz()?;
        let local = tz.to_datetime(now);
        if local.time() >= settings.employee_sync_at {
            store
                .jobs()
                .schedule_job(kind::EMPLOYEE_SYNC, company.id, &local.date().to_string(), now.as_millisecond())
                .await?;
            if company.remote_base_url.is_some() {
                store
                    .jobs()
                    .schedule_job(
                        kind::REMOTE_TIME_RECORDS,
                        company.id,
                        &local.date().to_string(),
                        now.as_millisecond(),
                    )
                    .await?;
            }
        }
    }
    let utc_day = jiff::tz::TimeZone::UTC.to_datetime(now).date().to_string();
    store.jobs().schedule_job(kind::LOG_PURGE, 0, &utc_day, now.as_millisecond()).await?;
    Ok(())
}

/// The remote service's own 出勤 / 退勤 from the first of last month to today, for 乖離.
async fn read_time_records(store: &Store, http: &reqwest::Client, company_id: i64) -> Result<String, String> {
    let company = match store.companies().await.map(|cs| cs.into_iter().find(|c| c.id == company_id)) {
        Ok(Some(company)) => company,
        Ok(None) => return Err(format!("company {company_id} no longer exists")),
        Err(e) => return Err(e.to_string()),
    };
    let remote = match store.remote().remote_config(company.id).await {
        Ok(Some(remote)) => remote,
        Ok(None) => return Ok("not in remote mode".into()),
        Err(e) => return Err(e.to_string()),
    };
    let now = Timestamp::now();
    let today = company.tz().map_err(|e| e.to_string())?.to_datetime(now).date();
    let from = today.first_of_month().yesterday().map(|d| d.first_of_month()).unwrap_or(today);
    match crate::remote::read_remote_time_records(store, http, &company, &remote, from, today, now).await {
        Ok(kept) => Ok(format!("kept={kept}")),
        Err(e) => {
            tracing::warn!(company = company_id, cause = ?e, "Cannot read the remote service's time records.");
            Err(e.to_string())
        }
    }
}

async fn run_one(store: &Store, http: &reqwest::Client, settings: &JobSettings, job: Job) {
    let outcome = match job.kind.as_str() {
        kind::EMPLOYEE_SYNC => {
            match store.companies().await.map(|cs| cs.into_iter().find(|c| c.id == job.company_id)) {
                Ok(Some(company)) => match crate::remote::sync_employees(store, http, &company, Timestamp::now()).await
                {
                    Ok(r) => Ok(format!("added={} updated={} removed={}", r.added, r.updated, r.removed)),
                    Err(e) => {
                        tracing::warn!(company = job.company_id, cause = ?e, "勤革時連携 failed.");
                        Err(e.to_string())
                    }
                },
                Ok(None) => Err(format!("company {} no longer exists", job.company_id)),
                Err(e) => Err(e.to_string()),
            }
        }
        kind::REMOTE_TIME_RECORDS => read_time_records(store, http, job.company_id).await,
        kind::LOG_PURGE => {
            let before =
                loginrec_rules::retention::purge_before(Timestamp::now(), settings.retention_years).as_millisecond();
            // Login failures matter for minutes (the login limit's window); a day is ample.
            let failures_before = Timestamp::now().as_millisecond() - 24 * 3600 * 1000;
            match (store.purge_logs_before(before).await, store.admins().purge_login_failures(failures_before).await) {
                (Ok(n), Ok(f)) => Ok(format!("deleted={n} login_failures={f}")),
                (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
            }
        }
        other => Err(format!("unknown job kind {other}")),
    };
    match &outcome {
        Ok(result) => {
            tracing::info!(job = %job.kind, company = job.company_id, slot = %job.slot, result = %result, "Ran a background job.")
        }
        Err(error) => {
            tracing::warn!(job = %job.kind, company = job.company_id, slot = %job.slot, error = %error, "A background job failed.")
        }
    }
    if let Err(e) = store.jobs().finish_job(&job, &settings.worker, outcome).await {
        tracing::error!(error = %e, "Cannot record a background job's outcome.");
    }
}
