//! Remote mode: sending punches to a KING OF TIME-shaped attendance service, and reading its
//! employees for 勤革時連携. The guarantees of the outbox are in `loginrec_store::remote`;
//! this module only talks HTTP and classifies the answers:
//!
//! | answer | outcome |
//! |---|---|
//! | 2xx | sent |
//! | 429, `{"code":"303"}`, 5xx, connection refused | retried later (the punch was not recorded) |
//! | 401 / 403 | the company's sending pauses; 診断 shows why |
//! | other 4xx | failed for good, shown with the service's message |
//! | timeout or broken connection mid-request | unknown: never resent, since a POST adds a punch |

use std::time::Duration;

use jiff::Timestamp;
use loginrec_rules::remote_window::{is_blocked, next_allowed, service_time_zone};
use loginrec_store::remote::{RemoteConfig, RemoteEmployee, RemoteOutcome, RemotePunch};
use loginrec_store::{Company, Store, SyncResult};

/// Rows claimed per round.
const BATCH: i64 = 10;
/// A claimed row's lease: longer than a whole round may take (10 requests × 30 s timeout).
const LEASE_MS: i64 = 10 * 60 * 1000;
const RETRY_MS: i64 = 60 * 1000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendReport {
    pub sent: u64,
    pub retried: u64,
    pub failed: u64,
    pub paused: u64,
    pub unknown: u64,
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("loginrec/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// Sends every due punch. `clock` is read before every claim and every request, so a long
/// run stops at a blocked window and the claim times stay true.
pub async fn send_due(
    store: &Store,
    http: &reqwest::Client,
    worker: &str,
    clock: impl Fn() -> Timestamp,
) -> loginrec_store::Result<SendReport> {
    let mut report = SendReport::default();
    loop {
        let now = clock();
        if is_blocked(now) {
            return Ok(report);
        }
        let claimed = store.remote().claim_remote_punches(worker, now.as_millisecond(), BATCH, LEASE_MS).await?;
        if claimed.is_empty() {
            return Ok(report);
        }
        for punch in claimed {
            let now = clock();
            let outcome = if is_blocked(now) {
                // Claimed just before a window began: back to the queue, untouched.
                retry(now, 0, "waiting for the end of a blocked window".into())
            } else {
                post_punch(http, &punch, now).await
            };
            match &outcome {
                RemoteOutcome::Sent => report.sent += 1,
                RemoteOutcome::RetryAt { .. } if is_blocked(now) => {}
                RemoteOutcome::RetryAt { .. } => report.retried += 1,
                RemoteOutcome::Failed(_) => report.failed += 1,
                RemoteOutcome::Pause(_) => report.paused += 1,
                RemoteOutcome::Unknown(_) => report.unknown += 1,
            }
            if !matches!(outcome, RemoteOutcome::Sent) {
                tracing::warn!(company = punch.company_id, employee = %punch.employee_key, date = %punch.business_date, kind = punch.kind, outcome = ?outcome, "A punch was not delivered to the remote attendance service.");
            }
            store.remote().finish_remote_punch(&punch, worker, &outcome).await?;
        }
    }
}

fn retry(now: Timestamp, after_ms: i64, reason: String) -> RemoteOutcome {
    let at = Timestamp::from_millisecond(now.as_millisecond() + after_ms).unwrap_or(now);
    RemoteOutcome::RetryAt { at_ms: next_allowed(at).as_millisecond(), reason }
}

async fn post_punch(http: &reqwest::Client, punch: &RemotePunch, now: Timestamp) -> RemoteOutcome {
    let tz = jiff::tz::TimeZone::get(&punch.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let time = match Timestamp::from_millisecond(punch.at_ms) {
        Ok(t) => kot_protocol::format_time(t, &tz),
        Err(e) => return RemoteOutcome::Failed(format!("bad punch time: {e}")),
    };
    let url = format!("{}/daily-workings/timerecord/{}", punch.remote.base_url, punch.employee_key);
    let Some(code) = kot_protocol::RecordCode::new(punch.kind) else {
        return RemoteOutcome::Failed(format!("bad punch kind {}", punch.kind));
    };
    let body = kot_protocol::PunchRequest { date: punch.business_date.clone(), time, code };
    let response = match http.post(&url).bearer_auth(&punch.remote.token).json(&body).send().await {
        Ok(r) => r,
        Err(e) if e.is_connect() => {
            return retry(now, RETRY_MS, format!("cannot connect to {}: {e}", punch.remote.base_url));
        }
        Err(e) => return RemoteOutcome::Unknown(format!("the request to {url} broke off: {e}")),
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|s| s * 1000);
    let text = response.text().await.unwrap_or_default();
    let answer = kot_protocol::Answer::read(&text);
    let busy = matches!(answer, kot_protocol::Answer::Busy(_));
    if status.is_success() && !busy {
        return RemoteOutcome::Sent;
    }
    let message = answer.message().map(str::to_string).unwrap_or_else(|| text.chars().take(200).collect());
    match status.as_u16() {
        _ if busy => retry(now, retry_after.unwrap_or(RETRY_MS), format!("the service is busy (code 303): {message}")),
        429 => {
            retry(now, retry_after.unwrap_or(RETRY_MS), format!("the service asked to slow down (HTTP 429): {message}"))
        }
        403 if answer.is_blocked_window() => {
            retry(now, RETRY_MS, format!("the service is in a blocked window (HTTP 403, code 104): {message}"))
        }
        401 | 403 => RemoteOutcome::Pause(format!(
            "勤怠サービスがアクセストークンを拒否しました (the remote attendance service rejected the token, HTTP {}): {message}",
            status.as_u16()
        )),
        s if s >= 500 => {
            retry(now, retry_after.unwrap_or(2 * RETRY_MS), format!("the service failed (HTTP {s}): {message}"))
        }
        s => RemoteOutcome::Failed(format!("HTTP {s}: {message}")),
    }
}

/// Why a 勤革時連携 (連携実行) did not finish. The words are the administrator's, in Japanese:
/// the screen and the job history show them as they are.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("勤怠サービス ({url}) に接続できませんでした。アドレスとネットワークを確認してください。")]
    Unreachable { url: String, detail: String },
    #[error("勤怠サービスがアクセストークンを拒否しました (HTTP {status})。送信を停止しました。")]
    TokenRejected { status: u16 },
    /// The service takes no requests 08:30–10:00 and 17:30–18:30 JST.
    #[error(
        "勤怠サービスの利用制限時間帯 (8:30〜10:00、17:30〜18:30) のため連携できません。{resume} 以降に実行してください。"
    )]
    BlockedWindow { resume: String },
    #[error("勤怠サービスが HTTP {status} で応答しました: {message}")]
    Refused { status: u16, message: String },
    #[error("勤怠サービスの応答が従業員の一覧として読めませんでした。")]
    BadAnswer { detail: String },
    #[error("一時的なエラーのため連携できませんでした。しばらくしてから再度お試しください。")]
    Store(#[from] loginrec_store::StoreError),
}

/// 勤革時連携 in remote mode: the remote service's employees become the local mirror. Not
/// started inside the service's blocked windows (`now` is the time to judge that by).
pub async fn sync_remote_employees(
    store: &Store,
    http: &reqwest::Client,
    company: &Company,
    remote: &RemoteConfig,
    now: Timestamp,
) -> Result<SyncResult, SyncError> {
    if is_blocked(now) {
        return Err(SyncError::BlockedWindow { resume: window_end(now) });
    }
    let url = format!("{}/employees", remote.base_url);
    let unreachable =
        |e: reqwest::Error| SyncError::Unreachable { url: remote.base_url.clone(), detail: e.to_string() };
    let response = http.get(&url).bearer_auth(&remote.token).send().await.map_err(unreachable)?;
    let status = response.status();
    let text = response.text().await.map_err(unreachable)?;
    if !status.is_success() {
        let answer = kot_protocol::Answer::read(&text);
        if status.as_u16() == 403 && answer.is_blocked_window() {
            return Err(SyncError::BlockedWindow { resume: window_end(now) });
        }
        if matches!(status.as_u16(), 401 | 403) {
            let reason = format!("勤怠サービスがアクセストークンを拒否しました (HTTP {})", status.as_u16());
            store.remote().pause_remote(company.id, &reason).await?;
            return Err(SyncError::TokenRejected { status: status.as_u16() });
        }
        let message = answer.message().map(str::to_string).unwrap_or_else(|| text.chars().take(200).collect());
        return Err(SyncError::Refused { status: status.as_u16(), message });
    }
    let list: Vec<kot_protocol::Employee> =
        serde_json::from_str(&text).map_err(|e| SyncError::BadAnswer { detail: e.to_string() })?;
    let employees: Vec<RemoteEmployee> = list
        .into_iter()
        .map(|v| RemoteEmployee {
            key: v.key,
            code: v.code,
            last_name: v.last_name,
            first_name: v.first_name,
            division_code: v.division_code,
            division_name: v.division_name,
            type_name: Some(v.type_name).filter(|t| !t.is_empty()).unwrap_or_else(|| "正社員".into()),
        })
        .filter(|e| !e.key.is_empty() && !e.code.is_empty())
        .collect();
    Ok(store.remote().mirror_remote_employees(company.id, &employees).await?)
}

/// 勤革時連携 for a company in either mode, judged at `now`.
pub async fn sync_employees(
    store: &Store,
    http: &reqwest::Client,
    company: &Company,
    now: Timestamp,
) -> Result<SyncResult, SyncError> {
    match store.remote().remote_config(company.id).await? {
        Some(remote) => sync_remote_employees(store, http, company, &remote, now).await,
        None => Ok(store.sync_users(company.id).await?),
    }
}

/// When the blocked window `now` falls in ends, as the administrator reads it (JST).
fn window_end(now: Timestamp) -> String {
    service_time_zone().to_datetime(next_allowed(now)).strftime("%H:%M").to_string()
}
