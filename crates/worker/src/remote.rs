//! Remote mode: sending punches to a KING OF TIME-shaped attendance service, and reading its
//! employees for 勤革時連携. The guarantees of the outbox are in `loginrec_store::remote`;
//! this module only talks HTTP and classifies the answers:
//!
//! | answer | outcome |
//! |---|---|
//! | 2xx | sent |
//! | 429, `{"code":"303"}`, 5xx, connection refused | retried later (the punch was not recorded) |
//! | 401 / 403 | the company's sending pauses; 診断 shows why |
//! | 3xx (a redirect) | not followed; the company's sending pauses; 診断 shows why |
//! | 303 See Other to a POST | unknown: the answer says the POST was handled elsewhere |
//! | other 4xx | failed for good |
//! | timeout or broken connection mid-request | unknown: never resent, since a POST adds a punch |
//!
//! What must stay true, because the base URL is typed by an operator and the answers are
//! written by someone else:
//! - **Redirects are never followed** ([`http_client`]): a service that answers 3xx would
//!   otherwise send our token-bearing client, from inside our network, to any address it names.
//! - **A remote body is never repeated** to anyone: what is recorded and shown (the paused
//!   reason in 診断, the outbox row's reason, the 連携実行 run history and page) says the HTTP
//!   status and at most the API's numeric error code (`{"errors":[{"code":…}]}`), in our own
//!   words. The body's free text is not even logged.
//! - **The base URL's user and password are never shown** (`loginrec_store::remote::shown_base_url`),
//!   and the transport's errors are stripped of their URL before they are recorded.

use std::net::IpAddr;
use std::time::Duration;

use jiff::Timestamp;
use loginrec_rules::remote_window::{is_blocked, next_allowed, service_time_zone};
use loginrec_store::remote::{RemoteConfig, RemoteEmployee, RemoteOutcome, RemotePunch, shown_base_url};
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

/// The client of the remote service. It follows no redirect: a 3xx answer comes back as it is
/// and is classified as the service's failure (see the module docs).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("loginrec/", env!("CARGO_PKG_VERSION")))
        .build()
        // Fails only where TLS cannot start at all, where `reqwest::Client::new()` panics as
        // well. Never fall back to `Client::default()`: it follows redirects.
        .expect("the HTTP client of the remote attendance service (TLS cannot start)")
}

/// The host a base URL names, read by the parser the client uses, so that what is checked is
/// what will be contacted (`http://2130706433/` is `127.0.0.1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteHost {
    Ip(IpAddr),
    /// A host name, lower case, to be resolved.
    Name(String),
}

/// The host and port of an `http://` or `https://` base URL; `None` when it is not one, or
/// names no host.
pub fn remote_host(base_url: &str) -> Option<(RemoteHost, u16)> {
    let url = reqwest::Url::parse(base_url).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let port = url.port_or_known_default()?;
    let host = url.host_str().filter(|h| !h.is_empty())?;
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let host = match bare.parse::<IpAddr>() {
        Ok(ip) => RemoteHost::Ip(ip),
        Err(_) => RemoteHost::Name(host.to_string()),
    };
    Some((host, port))
}

/// A transport error in words, with its causes and without its URL (which may carry the base
/// URL's user and password).
fn transport_error(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// The KOT API's numeric error code in an answer, the only part of a remote body that is ever
/// repeated: ` (エラーコード 102)`, or nothing.
fn code_note(answer: &kot_protocol::Answer) -> String {
    let code = match answer {
        kot_protocol::Answer::Errors(e) => e.errors.first().map(|e| e.code.to_string()),
        kot_protocol::Answer::Busy(_) => Some(kot_protocol::BUSY_CODE.to_string()),
        kot_protocol::Answer::Other => None,
    };
    code.map(|c| format!(" (エラーコード {c})")).unwrap_or_default()
}

/// Why sending paused on a redirect, as 診断 shows it.
fn redirect_reason(status: u16) -> String {
    format!(
        "勤怠サービスが別のアドレスへの転送 (HTTP {status}) を返しました。転送には従わず、送信を停止しました。\
         送信先アドレスを確かめ、set-remote で設定し直してください \
         (the remote attendance service answered with a redirect, which is not followed)"
    )
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
            let shown = shown_base_url(&punch.remote.base_url);
            return retry(now, RETRY_MS, format!("cannot connect to {shown}: {}", transport_error(e)));
        }
        Err(e) => {
            return RemoteOutcome::Unknown(format!(
                "the request to {} broke off: {}",
                shown_base_url(&url),
                transport_error(e)
            ));
        }
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|s| s * 1000);
    if status.is_redirection() {
        // 303 See Other is how a service says it handled a POST: the punch may be recorded.
        if status == reqwest::StatusCode::SEE_OTHER {
            return RemoteOutcome::Unknown(
                "the service answered 303 See Other (a redirect, not followed): the punch may have been recorded; check the remote side"
                    .into(),
            );
        }
        return RemoteOutcome::Pause(redirect_reason(status.as_u16()));
    }
    let text = response.text().await.unwrap_or_default();
    let answer = kot_protocol::Answer::read(&text);
    let busy = matches!(answer, kot_protocol::Answer::Busy(_));
    if status.is_success() && !busy {
        return RemoteOutcome::Sent;
    }
    let code = code_note(&answer);
    match status.as_u16() {
        _ if busy => retry(now, retry_after.unwrap_or(RETRY_MS), "the service is busy (code 303)".into()),
        429 => retry(now, retry_after.unwrap_or(RETRY_MS), format!("the service asked to slow down (HTTP 429){code}")),
        403 if answer.is_blocked_window() => {
            retry(now, RETRY_MS, "the service is in a blocked window (HTTP 403, code 104)".into())
        }
        401 | 403 => RemoteOutcome::Pause(format!(
            "勤怠サービスがアクセストークンを拒否しました (the remote attendance service rejected the token, HTTP {}){code}",
            status.as_u16()
        )),
        s if s >= 500 => {
            retry(now, retry_after.unwrap_or(2 * RETRY_MS), format!("the service failed (HTTP {s}){code}"))
        }
        s => RemoteOutcome::Failed(format!("the service refused the punch (HTTP {s}){code}")),
    }
}

/// Why a 勤革時連携 (連携実行) did not finish. The words are the administrator's, in Japanese:
/// the screen and the job history show them as they are, so none of them carries what the
/// remote side wrote, and the URL is shown without its user and password.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("勤怠サービス ({url}) に接続できませんでした。アドレスとネットワークを確認してください。")]
    Unreachable {
        /// The base URL as [`shown_base_url`] shows it.
        url: String,
        /// The transport's error, without its URL.
        detail: String,
    },
    #[error("勤怠サービスがアクセストークンを拒否しました (HTTP {status})。送信を停止しました。")]
    TokenRejected { status: u16 },
    /// The service answered with a redirect, which is not followed: sending pauses too.
    #[error(
        "勤怠サービスが別のアドレスへの転送 (HTTP {status}) を返しました。転送には従わず、送信を停止しました。送信先アドレスを確認してください。"
    )]
    Redirected { status: u16 },
    /// The service takes no requests 08:30–10:00 and 17:30–18:30 JST.
    #[error(
        "勤怠サービスの利用制限時間帯 (8:30〜10:00、17:30〜18:30) のため連携できません。{resume} 以降に実行してください。"
    )]
    BlockedWindow { resume: String },
    /// Any other refusal: the status and at most the API's numeric error code, never its text.
    #[error("勤怠サービスが HTTP {status} で応答しました{}。", .code.map(|c| format!(" (エラーコード {c})")).unwrap_or_default())]
    Refused { status: u16, code: Option<u32> },
    #[error("勤怠サービスの応答が{what}として読めませんでした。")]
    BadAnswer {
        what: &'static str,
        /// Where the JSON broke, without its content.
        detail: String,
    },
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
    let text = get_answer(store, http, company, remote, "/employees", now).await?;
    let list: Vec<kot_protocol::Employee> = read_answer(&text, "従業員の一覧")?;
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

/// The body of a successful `GET {base}{path}`, or why there is none. A redirect or a rejected
/// token pauses the company's sending, as for a punch.
async fn get_answer(
    store: &Store,
    http: &reqwest::Client,
    company: &Company,
    remote: &RemoteConfig,
    path: &str,
    now: Timestamp,
) -> Result<String, SyncError> {
    if is_blocked(now) {
        return Err(SyncError::BlockedWindow { resume: window_end(now) });
    }
    let url = format!("{}{path}", remote.base_url);
    let unreachable = |e: reqwest::Error| SyncError::Unreachable {
        url: shown_base_url(&remote.base_url),
        detail: transport_error(e),
    };
    let response = http.get(&url).bearer_auth(&remote.token).send().await.map_err(unreachable)?;
    let status = response.status();
    if status.is_redirection() {
        store.remote().pause_remote(company.id, &redirect_reason(status.as_u16())).await?;
        return Err(SyncError::Redirected { status: status.as_u16() });
    }
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
        let code = match answer {
            kot_protocol::Answer::Errors(e) => e.errors.first().map(|e| e.code),
            _ => None,
        };
        return Err(SyncError::Refused { status: status.as_u16(), code });
    }
    Ok(text)
}

/// An answer's JSON as `T`; `what` names it for the administrator.
fn read_answer<T: serde::de::DeserializeOwned>(text: &str, what: &'static str) -> Result<T, SyncError> {
    serde_json::from_str(text).map_err(|e| SyncError::BadAnswer {
        what,
        // serde_json's message quotes the offending value: keep only its kind and place.
        detail: format!("{:?} at line {} column {}", e.classify(), e.line(), e.column()),
    })
}

/// Reads the remote service's own 出勤 and 退勤 of `[from, to]` (at most 62 days) with `GET
/// /daily-workings/timerecord`, and keeps those ログイン記録 did not send, for 乖離. Returns how
/// many were kept.
pub async fn read_remote_time_records(
    store: &Store,
    http: &reqwest::Client,
    company: &Company,
    remote: &RemoteConfig,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
    now: Timestamp,
) -> Result<usize, SyncError> {
    let path = format!("/daily-workings/timerecord?start={from}&end={to}");
    let text = get_answer(store, http, company, remote, &path, now).await?;
    let days: Vec<kot_protocol::DailyTimeRecords> = read_answer(&text, "打刻の一覧")?;
    let mut records = Vec::new();
    for day in days {
        for working in day.daily_workings {
            let Ok(date) = working.date.parse::<jiff::civil::Date>() else { continue };
            for record in working.time_record {
                // A time the service wrote with its offset; one that does not read is not a punch.
                let Ok(at) = record.time.parse::<Timestamp>() else { continue };
                records.push(loginrec_store::remote::RemoteTimeRecord {
                    employee_key: working.employee_key.clone(),
                    date,
                    code: i64::from(record.code.0),
                    at_ms: at.as_millisecond(),
                });
            }
        }
    }
    Ok(store.remote().replace_remote_time_records(company.id, from, to, &records).await?)
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
