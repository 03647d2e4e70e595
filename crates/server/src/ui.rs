//! The administrator screens: login, サポートセンター (operator), and per company the
//! 連携設定, ユーザー設定 (勤革時連携) and 診断 screens (seed §2.1, §3, §5).
//!
//! Every company screen goes through [`company_page`], which answers 404 unless the signed-in
//! administrator belongs to that company or is the operator.

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use loginrec_rules::{CompanyCode, DayChangeTime};
use loginrec_store::Apply;
use loginrec_store::admins::OPERATOR;
use loginrec_store::jobs::kind;
use loginrec_store::{Company, LinkRow, Store};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{self, SignedIn, same_origin};
use crate::format::{date_time_minutes, date_time_seconds};
use crate::links::{self, CsvEncoding};
use crate::ui_error::UiError;

/// Largest 連携設定 upload accepted.
pub const MAX_UPLOAD_BYTES: usize = 2 * 1024 * 1024;

/// Recent diagnostics counts per company (see `AppState::banner_cache`).
#[derive(Debug, Default)]
pub struct BannerCache {
    counts: std::sync::Mutex<std::collections::HashMap<i64, (std::time::Instant, usize)>>,
}

impl BannerCache {
    const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(60);

    fn get(&self, company_id: i64) -> Option<usize> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.get(&company_id).filter(|(at, _)| at.elapsed() < Self::FRESH_FOR).map(|(_, n)| *n)
    }

    fn put(&self, company_id: i64, count: usize) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.insert(company_id, (std::time::Instant::now(), count));
    }

    /// Forgets a company's count, after something that changes it (a link, an import).
    pub(crate) fn forget(&self, company_id: i64) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.remove(&company_id);
    }
}

pub(crate) struct CompanyPage {
    pub company: Company,
    pub csrf: String,
    /// How many diagnostics need attention (for the banner).
    pub problems: usize,
}

/// The company of a URL, if this administrator may see it; 404 otherwise.
pub(crate) async fn company_page(state: &AppState, signed_in: &SignedIn, code: &str) -> Result<CompanyPage, UiError> {
    let company = state.store.company_by_code(code).await?.ok_or(UiError::NotFound)?;
    let admin = &signed_in.0.admin;
    if !(admin.is_operator() || admin.company_id == company.id) {
        return Err(UiError::NotFound);
    }
    let problems = match state.banner_cache.get(company.id) {
        Some(n) => n,
        None => {
            let n = Diagnostics::gather(&state.store, &company).await?.count();
            state.banner_cache.put(company.id, n);
            n
        }
    };
    Ok(CompanyPage { company, csrf: signed_in.csrf().to_string(), problems })
}

// ---- login ----

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub(crate) struct LoginPage {
    message: String,
    company_code: String,
    login_id: String,
}

pub(crate) async fn login_form() -> LoginPage {
    LoginPage { message: String::new(), company_code: String::new(), login_id: String::new() }
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    company_code: String,
    login_id: String,
    password: String,
}

pub(crate) async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, UiError> {
    same_origin(&headers, state.behind_proxy)?;
    let code = form.company_code.trim().to_string();
    let account_subject = format!("account:{code}:{}", form.login_id);
    let peer_subject = auth::client_address(&headers, peer.ip(), state.behind_proxy).map(|ip| format!("peer:{ip}"));
    let subjects: Vec<&String> = std::iter::once(&account_subject).chain(peer_subject.as_ref()).collect();
    for subject in &subjects {
        if state.store.recent_login_failures(subject, auth::FAILURE_WINDOW_MS).await? >= auth::MAX_FAILURES {
            return Err(UiError::TooManyAttempts);
        }
    }
    // Counted before the password is checked, so parallel guesses cannot pass the limit; a
    // successful login takes its count back.
    for subject in &subjects {
        state.store.record_login_failure(subject).await?;
    }
    let company_id =
        if code.is_empty() { Some(OPERATOR) } else { state.store.company_by_code(&code).await?.map(|c| c.id) };
    let admin = match company_id {
        Some(id) => state.store.admin(id, &form.login_id).await?,
        None => None,
    };
    // Hash even when the account does not exist, so timing does not tell which part was wrong.
    let phc = admin.as_ref().map(|a| a.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.to_string());
    let ok = auth::verify_password(form.password, phc).await && admin.is_some();
    let Some(admin) = admin.filter(|_| ok) else {
        tracing::warn!(company = %code, login_id = %form.login_id, peer = %peer.ip(), "A login failed.");
        let page = LoginPage {
            message: "企業コード、ログインID またはパスワードが違います。".into(),
            company_code: code,
            login_id: form.login_id,
        };
        return Ok((axum::http::StatusCode::UNAUTHORIZED, page).into_response());
    };
    for subject in &subjects {
        state.store.clear_login_failures(subject).await?;
    }
    let id = state.store.create_session(admin.id, auth::SESSION_TTL_MS).await?;
    let target = if admin.is_operator() { "/operator".to_string() } else { format!("/companies/{code}") };
    Ok(([(header::SET_COOKIE, auth::session_cookie(&id, state.secure_cookies))], Redirect::to(&target)).into_response())
}

/// An Argon2 hash of a random password, verified against when the login ID is unknown.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$5DTzLUWNp6pWmuDpCWYqhZF1aWZRMGwAIeHzAeL9v3g";

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    csrf: String,
}

pub(crate) async fn logout(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, UiError> {
    same_origin(&headers, state.behind_proxy)?;
    signed_in.check_csrf(&form.csrf)?;
    if let Some(id) = auth::cookie_value(&headers, auth::SESSION_COOKIE) {
        state.store.delete_session(&id).await?;
    }
    Ok(([(header::SET_COOKIE, auth::clearing_cookie())], Redirect::to("/login")).into_response())
}

pub(crate) async fn root(State(state): State<AppState>, headers: HeaderMap) -> Result<Redirect, UiError> {
    let Some(id) = auth::cookie_value(&headers, auth::SESSION_COOKIE) else { return Ok(Redirect::to("/login")) };
    let Some(session) = state.store.session(&id).await? else { return Ok(Redirect::to("/login")) };
    if session.admin.is_operator() {
        return Ok(Redirect::to("/operator"));
    }
    let company = state.store.companies().await?.into_iter().find(|c| c.id == session.admin.company_id);
    Ok(company.map(|c| Redirect::to(&format!("/companies/{}", c.code))).unwrap_or_else(|| Redirect::to("/login")))
}

// ---- operator (サポートセンター) ----

struct CompanyLine {
    code: String,
    name: String,
    time_zone: String,
    enabled: &'static str,
    last_ingest: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "operator.html")]
pub(crate) struct OperatorPage {
    csrf: String,
    companies: Vec<CompanyLine>,
    token: String,
    token_company: String,
}

fn require_operator(signed_in: &SignedIn) -> Result<(), UiError> {
    if signed_in.0.admin.is_operator() { Ok(()) } else { Err(UiError::NotFound) }
}

async fn operator_page(
    state: &AppState,
    signed_in: &SignedIn,
    token: String,
    token_company: String,
) -> Result<OperatorPage, UiError> {
    let mut companies = Vec::new();
    for c in state.store.companies().await? {
        let tz = c.tz()?;
        companies.push(CompanyLine {
            last_ingest: c.last_ingest_at_ms.map(|ms| date_time_minutes(ms, &tz)).unwrap_or_else(|| "-".into()),
            enabled: if c.lanscope_enabled { "有効" } else { "無効" },
            code: c.code,
            name: c.name,
            time_zone: c.time_zone,
        });
    }
    Ok(OperatorPage { csrf: signed_in.csrf().to_string(), companies, token, token_company })
}

pub(crate) async fn operator(State(state): State<AppState>, signed_in: SignedIn) -> Result<OperatorPage, UiError> {
    require_operator(&signed_in)?;
    operator_page(&state, &signed_in, String::new(), String::new()).await
}

#[derive(Deserialize)]
pub(crate) struct CreateCompanyForm {
    csrf: String,
    code: String,
    name: String,
    time_zone: String,
    admin_login_id: String,
    admin_password: String,
}

pub(crate) async fn create_company(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Form(form): Form<CreateCompanyForm>,
) -> Result<Response, UiError> {
    require_operator(&signed_in)?;
    same_origin(&headers, state.behind_proxy)?;
    signed_in.check_csrf(&form.csrf)?;
    let code = CompanyCode::parse(form.code.trim()).map_err(|e| UiError::BadRequest(e.to_string()))?;
    if form.name.trim().is_empty() {
        return Err(UiError::BadRequest("企業名を入力してください。".into()));
    }
    if form.admin_password.chars().count() < 8 {
        return Err(UiError::BadRequest("管理者パスワードは 8 文字以上にしてください。".into()));
    }
    let login_id = form.admin_login_id.trim();
    if login_id.is_empty() || login_id.chars().count() > 64 || login_id.chars().any(char::is_control) {
        return Err(UiError::BadRequest("管理者ログインID を入力してください (64 文字まで)。".into()));
    }
    let company = state
        .store
        .create_company(code.as_str(), form.name.trim(), form.time_zone.trim())
        .await
        .map_err(|e| UiError::BadRequest(e.to_string()))?;
    let hash = auth::hash_password(form.admin_password).await.map_err(UiError::BadRequest)?;
    state.store.upsert_admin(company.id, login_id, &hash).await?;
    state
        .store
        .audit(company.id, &signed_in.actor(), "企業登録", &format!("{} {}", company.code, company.name))
        .await?;
    Ok(Redirect::to("/operator").into_response())
}

pub(crate) async fn issue_token(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path(code): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<OperatorPage, UiError> {
    require_operator(&signed_in)?;
    same_origin(&headers, state.behind_proxy)?;
    signed_in.check_csrf(&form.csrf)?;
    let company = state.store.company_by_code(&code).await?.ok_or(UiError::NotFound)?;
    let token = state.store.issue_token(company.id).await?;
    state
        .store
        .audit(company.id, &signed_in.actor(), "アクセストークン発行", "以前のトークンは無効になりました")
        .await?;
    operator_page(&state, &signed_in, token, company.code).await
}

// ---- company home ----

#[derive(Template, WebTemplate)]
#[template(path = "company_home.html")]
pub(crate) struct CompanyHome {
    company_code: String,
    company_name: String,
    csrf: String,
    problems: usize,
    enabled: &'static str,
    last_ingest: String,
    connector: String,
}

pub(crate) async fn company_home(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(code): Path<String>,
) -> Result<CompanyHome, UiError> {
    let CompanyPage { company, csrf, problems } = company_page(&state, &signed_in, &code).await?;
    let tz = company.tz()?;
    Ok(CompanyHome {
        enabled: if company.lanscope_enabled { "有効" } else { "無効" },
        last_ingest: company
            .last_ingest_at_ms
            .map(|ms| date_time_minutes(ms, &tz))
            .unwrap_or_else(|| "まだありません".into()),
        connector: match (&company.connector_version, &company.connector_host) {
            (Some(v), Some(h)) => format!("バージョン {v} ({h})"),
            _ => "-".into(),
        },
        company_code: company.code,
        company_name: company.name,
        csrf,
        problems,
    })
}

// ---- 連携設定 ----

struct LinkLine {
    employee_code: String,
    full_name: String,
    account: String,
}

fn link_lines(rows: Vec<LinkRow>) -> Vec<LinkLine> {
    rows.into_iter()
        .map(|r| LinkLine {
            employee_code: r.employee_code,
            full_name: r.full_name,
            account: r.service_account.unwrap_or_default(),
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "links.html")]
pub(crate) struct LinksPage {
    company_code: String,
    company_name: String,
    csrf: String,
    message: String,
    errors: Vec<String>,
    links: Vec<LinkLine>,
    /// An import waiting for [保存する]: the employee-days it changes, and the rows to save.
    preview: Vec<crate::format::ChangeRow>,
    pending_plan: String,
    effective_from: String,
    /// Every holder each サービスアカウント had.
    history: Vec<LinkHistoryLine>,
}

struct LinkHistoryLine {
    account: String,
    employee: String,
    from: String,
    to: String,
}

async fn links_page(
    state: &AppState,
    page: CompanyPage,
    message: String,
    errors: Vec<String>,
) -> Result<LinksPage, UiError> {
    let links = link_lines(state.store.link_rows(page.company.id).await?);
    let tz = page.company.tz()?;
    let history = state
        .store
        .link_history(page.company.id, 1000)
        .await?
        .into_iter()
        .map(|h| LinkHistoryLine {
            account: h.account,
            employee: format!("{} {}", h.employee_code, h.full_name),
            from: h.from_ms.map(|t| date_time_minutes(t, &tz)).unwrap_or_else(|| "最初から".into()),
            to: h.to_ms.map(|t| date_time_minutes(t, &tz)).unwrap_or_else(|| "現在".into()),
        })
        .collect();
    Ok(LinksPage {
        company_code: page.company.code,
        company_name: page.company.name,
        csrf: page.csrf,
        message,
        errors,
        links,
        preview: Vec::new(),
        pending_plan: String::new(),
        effective_from: String::new(),
        history,
    })
}

pub(crate) async fn links_view(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(code): Path<String>,
) -> Result<LinksPage, UiError> {
    let page = company_page(&state, &signed_in, &code).await?;
    links_page(&state, page, String::new(), Vec::new()).await
}

#[derive(Deserialize)]
pub(crate) struct EncodingQuery {
    #[serde(default)]
    encoding: String,
}

/// [CSV データ保存]: CP932 by default, UTF-8 with BOM on request.
pub(crate) async fn links_csv(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(code): Path<String>,
    Query(q): Query<EncodingQuery>,
) -> Result<Response, UiError> {
    let page = company_page(&state, &signed_in, &code).await?;
    let (encoding, charset) = match q.encoding.as_str() {
        "utf8" | "utf-8" => (CsvEncoding::Utf8Bom, "utf-8"),
        _ => (CsvEncoding::Cp932, "Shift_JIS"),
    };
    let rows = state.store.link_rows(page.company.id).await?;
    let bytes = links::export(&rows, encoding).map_err(|e| UiError::BadRequest(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, format!("text/csv; charset={charset}")),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"lanscope-links-{}.csv\"", page.company.code)),
        ],
        bytes,
    )
        .into_response())
}

/// [CSV データ入力]: all rows or none; `N件のアカウントを更新`.
pub(crate) async fn links_import(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path(code): Path<String>,
    mut multipart: Multipart,
) -> Result<LinksPage, UiError> {
    same_origin(&headers, state.behind_proxy)?;
    let page = company_page(&state, &signed_in, &code).await?;
    // The CSRF token travels as a form field, never in the URL (URLs end up in logs).
    let mut upload = None;
    let mut csrf = String::new();
    let mut effective_from = String::new();
    while let Some(field) =
        multipart.next_field().await.map_err(|e| UiError::BadRequest(upload_error(&e.to_string())))?
    {
        let text_error =
            |e: axum::extract::multipart::MultipartError| UiError::BadRequest(upload_error(&e.to_string()));
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(text_error)?,
            Some("effective_from") => effective_from = field.text().await.map_err(text_error)?,
            Some("file") => upload = Some(field.bytes().await.map_err(text_error)?),
            _ => {}
        }
    }
    signed_in.check_csrf(&csrf)?;
    let Some(bytes) = upload.filter(|b| !b.is_empty()) else {
        return links_page(&state, page, String::new(), vec!["ファイルを選択してください。".into()]).await;
    };
    let tz = page.company.tz()?;
    let effective = match effective_moment(&effective_from, &tz) {
        Ok(effective) => effective,
        Err(e) => return links_page(&state, page, String::new(), vec![e]).await,
    };
    let current = state.store.link_rows(page.company.id).await?;
    let plan = match links::plan_import(&bytes, &current) {
        Ok(plan) => plan,
        Err(errors) => {
            let errors = errors.iter().map(ToString::to_string).collect();
            return links_page(&state, page, String::new(), errors).await;
        }
    };
    // What saving would change, before it is saved: the change itself, rolled back.
    let preview = state
        .store
        .change_links(page.company.id, &plan, effective, Apply::Preview)
        .await
        .map_err(|e| UiError::BadRequest(e.to_string()))?;
    if preview.recomputed.changes.is_empty() {
        return save_links(&state, &signed_in, page, &plan, effective).await;
    }
    let pending_plan = serde_json::to_string(&plan).map_err(|e| UiError::BadRequest(e.to_string()))?;
    let mut confirm = links_page(&state, page, String::new(), Vec::new()).await?;
    confirm.preview = crate::format::change_rows(&preview.recomputed.changes, &tz);
    confirm.pending_plan = pending_plan;
    confirm.effective_from = effective_from;
    Ok(confirm)
}

#[derive(Deserialize)]
pub(crate) struct SaveLinksForm {
    csrf: String,
    plan: String,
    #[serde(default)]
    effective_from: String,
}

/// [保存する] after the preview of an import.
pub(crate) async fn links_save(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path(code): Path<String>,
    Form(form): Form<SaveLinksForm>,
) -> Result<LinksPage, UiError> {
    same_origin(&headers, state.behind_proxy)?;
    signed_in.check_csrf(&form.csrf)?;
    let page = company_page(&state, &signed_in, &code).await?;
    let plan: Vec<(String, Option<String>)> =
        serde_json::from_str(&form.plan).map_err(|_| UiError::BadRequest("取り込む内容が読めません。".into()))?;
    let effective = effective_moment(&form.effective_from, &page.company.tz()?).map_err(UiError::BadRequest)?;
    save_links(&state, &signed_in, page, &plan, effective).await
}

async fn save_links(
    state: &AppState,
    signed_in: &SignedIn,
    page: CompanyPage,
    plan: &[(String, Option<String>)],
    effective: Option<jiff::Timestamp>,
) -> Result<LinksPage, UiError> {
    let report = state
        .store
        .change_links(page.company.id, plan, effective, Apply::Commit)
        .await
        .map_err(|e| UiError::BadRequest(e.to_string()))?;
    state.banner_cache.forget(page.company.id);
    let message = links::updated_message(report.updated);
    let detail = format!(
        "{message} (適用開始 {}、{} 日の打刻が変わりました)",
        effective
            .map(|t| crate::format::date_time_minutes(
                t.as_millisecond(),
                &page.company.tz().unwrap_or(jiff::tz::TimeZone::UTC)
            ))
            .unwrap_or_else(|| "現在".into()),
        report.recomputed.changes.len()
    );
    state.store.audit(page.company.id, &signed_in.actor(), "連携設定 CSV データ入力", &detail).await?;
    links_page(state, page, message, Vec::new()).await
}

/// 適用開始 as typed in a `datetime-local` field (company time); empty is now.
fn effective_moment(typed: &str, tz: &jiff::tz::TimeZone) -> Result<Option<jiff::Timestamp>, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    let local = jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M", typed)
        .or_else(|_| jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M", typed))
        .map_err(|_| format!("適用開始は YYYY-MM-DD HH:MM で入力してください (入力: {typed})。"))?;
    loginrec_rules::local_instant(local, tz).map(Some).ok_or_else(|| format!("適用開始 {typed} は範囲外の日時です。"))
}

fn upload_error(detail: &str) -> String {
    format!("ファイルを受け取れませんでした ({} MB まで): {detail}", MAX_UPLOAD_BYTES / 1024 / 1024)
}

// ---- ユーザー設定 → 勤革時連携 ----

struct RunLine {
    slot: String,
    state: String,
    result: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "users.html")]
pub(crate) struct UsersPage {
    company_code: String,
    company_name: String,
    csrf: String,
    message: String,
    runs: Vec<RunLine>,
    links: Vec<LinkLine>,
}

async fn users_page(state: &AppState, page: CompanyPage, message: String) -> Result<UsersPage, UiError> {
    let runs = state
        .store
        .jobs(kind::EMPLOYEE_SYNC, Some(page.company.id))
        .await?
        .into_iter()
        .map(|j| RunLine {
            slot: j.slot,
            state: match j.state.as_str() {
                "done" => "完了".into(),
                "failed" => "失敗".into(),
                "running" => "実行中".into(),
                _ => "待機中".into(),
            },
            result: j.result.unwrap_or_default(),
        })
        .collect();
    let links = link_lines(state.store.link_rows(page.company.id).await?);
    Ok(UsersPage {
        company_code: page.company.code,
        company_name: page.company.name,
        csrf: page.csrf,
        message,
        runs,
        links,
    })
}

pub(crate) async fn users_view(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(code): Path<String>,
) -> Result<UsersPage, UiError> {
    let page = company_page(&state, &signed_in, &code).await?;
    users_page(&state, page, String::new()).await
}

/// 連携実行: the attendance system is the master; the run is recorded like the daily one.
pub(crate) async fn users_sync(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path(code): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<UsersPage, UiError> {
    same_origin(&headers, state.behind_proxy)?;
    signed_in.check_csrf(&form.csrf)?;
    let page = company_page(&state, &signed_in, &code).await?;
    let result = crate::remote::sync_employees(&state.store, &crate::remote::http_client(), &page.company)
        .await
        .map_err(|e| UiError::BadRequest(format!("連携できませんでした: {e}")))?;
    let summary = format!("added={} updated={} removed={}", result.added, result.updated, result.removed);
    let slot = format!("manual {}", date_time_seconds(Timestamp::now().as_millisecond(), &page.company.tz()?));
    state.store.record_finished_job(kind::EMPLOYEE_SYNC, page.company.id, &slot, &summary).await?;
    state.store.audit(page.company.id, &signed_in.actor(), "勤革時連携 (連携実行)", &summary).await?;
    let message =
        format!("連携しました: 追加 {} 件、更新 {} 件、削除 {} 件", result.added, result.updated, result.removed);
    users_page(&state, page, message).await
}

// ---- 診断 ----

pub(crate) struct Diagnostics {
    unlinked: Vec<loginrec_store::diagnostics::UnlinkedAccount>,
    mismatched: Vec<loginrec_store::diagnostics::DayChangeMismatch>,
    shared: Vec<loginrec_store::diagnostics::SharedAccount>,
    collection_start: DayChangeTime,
    stale: bool,
    last_ingest_ms: Option<i64>,
    /// Remote mode: why sending is paused, and outbox rows that need a person.
    remote_paused: Option<String>,
    remote_problems: Vec<(String, i64)>,
}

const STALE_AFTER_MS: i64 = 24 * 3600 * 1000;
const SHARED_WINDOW_MS: i64 = 31 * 24 * 3600 * 1000;

impl Diagnostics {
    pub(crate) async fn gather(store: &Store, company: &Company) -> Result<Diagnostics, UiError> {
        let collection_start = company
            .connector_collection_start
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or(DayChangeTime::LANSCOPE_DEFAULT);
        let mismatched = store.day_change_mismatches(company, collection_start).await?;
        let now = Timestamp::now().as_millisecond();
        let stale = company.lanscope_enabled && company.last_ingest_at_ms.is_none_or(|t| now - t > STALE_AFTER_MS);
        Ok(Diagnostics {
            unlinked: store.unlinked_accounts(company.id).await?,
            mismatched,
            shared: store.shared_accounts(company, now - SHARED_WINDOW_MS, collection_start).await?,
            collection_start,
            stale,
            last_ingest_ms: company.last_ingest_at_ms,
            remote_paused: company.remote_paused_reason.clone(),
            remote_problems: store
                .remote_punch_states(company.id)
                .await?
                .into_iter()
                .filter(|(state, _)| state == "failed" || state == "unknown")
                .collect(),
        })
    }

    pub(crate) fn count(&self) -> usize {
        self.unlinked.len()
            + self.mismatched.len()
            + self.shared.len()
            + usize::from(self.stale)
            + usize::from(self.remote_paused.is_some())
            + self.remote_problems.len()
    }
}

struct UnlinkedLine {
    account: String,
    logs: i64,
    period: String,
}

struct SharedLine {
    account: String,
    day: String,
    agents: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "diagnostics.html")]
pub(crate) struct DiagnosticsPage {
    company_code: String,
    company_name: String,
    csrf: String,
    unlinked: Vec<UnlinkedLine>,
    unlinked_users: Vec<LinkLine>,
    collection_start: String,
    mismatched: Vec<MismatchLine>,
    shared: Vec<SharedLine>,
    stale: bool,
    ingest_status: String,
    remote: String,
    remote_paused: String,
    remote_problems: Vec<(String, i64)>,
}

struct MismatchLine {
    department: String,
    current: String,
    first_affected: String,
    fix_href: String,
}

pub(crate) async fn diagnostics(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(code): Path<String>,
) -> Result<DiagnosticsPage, UiError> {
    let page = company_page(&state, &signed_in, &code).await?;
    let company = page.company;
    let tz = company.tz()?;
    let d = Diagnostics::gather(&state.store, &company).await?;
    state.banner_cache.put(company.id, d.count());
    let unlinked_users =
        link_lines(state.store.link_rows(company.id).await?).into_iter().filter(|l| l.account.is_empty()).collect();
    let ingest_status = match (d.last_ingest_ms, d.stale) {
        (None, _) => {
            "連携サービスからまだデータを受信していません。連携サービスの設定と稼働を確認してください。".into()
        }
        (Some(t), true) => format!(
            "連携サービスから 1 日以上データを受信していません (最終受信 {})。連携サービスが動いているか確認してください。",
            date_time_minutes(t, &tz)
        ),
        (Some(t), false) => format!("最終受信 {}", date_time_minutes(t, &tz)),
    };
    Ok(DiagnosticsPage {
        unlinked: d
            .unlinked
            .iter()
            .map(|u| UnlinkedLine {
                account: u.account.clone(),
                logs: u.logs,
                period: format!("{} 〜 {}", date_time_minutes(u.first_ms, &tz), date_time_minutes(u.last_ms, &tz)),
            })
            .collect(),
        unlinked_users,
        collection_start: d.collection_start.to_string(),
        mismatched: d
            .mismatched
            .iter()
            .map(|m| {
                let from = m.first_affected.map(|d| d.to_string()).unwrap_or_default();
                MismatchLine {
                    department: format!("{} {}", m.code, m.name),
                    current: m.current.to_string(),
                    first_affected: from.clone(),
                    // The edit form, filled in with LanScope's time from the first wrong day.
                    fix_href: format!(
                        "/companies/{}/settings/departments/{}?hour={}&minute={}&effective_from={from}",
                        company.code,
                        m.department_id,
                        d.collection_start.hour(),
                        d.collection_start.minute()
                    ),
                }
            })
            .collect(),
        shared: d
            .shared
            .iter()
            .map(|s| SharedLine { account: s.account.clone(), day: s.day.to_string(), agents: s.agents.join(", ") })
            .collect(),
        stale: d.stale,
        ingest_status,
        remote: company.remote_base_url.clone().unwrap_or_default(),
        remote_paused: d.remote_paused.clone().unwrap_or_default(),
        remote_problems: d
            .remote_problems
            .iter()
            .map(|(state, n)| {
                let label = if state == "unknown" {
                    "送信結果が不明 (先方で確認してください)"
                } else {
                    "送信できなかった打刻"
                };
                (label.to_string(), *n)
            })
            .collect(),
        company_code: company.code,
        company_name: company.name,
        csrf: page.csrf,
    })
}

#[derive(Deserialize)]
pub(crate) struct LinkAccountForm {
    csrf: String,
    account: String,
    #[serde(default)]
    employee_code: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "preview.html")]
pub(crate) struct PreviewPage {
    company_code: String,
    company_name: String,
    csrf: String,
    account: String,
    employee_code: String,
    employee: String,
    rows: Vec<crate::format::ChangeRow>,
}

/// Shows what linking an unlinked LanScope user to an employee would punch (the change is made
/// and rolled back); [反映する] makes it.
pub(crate) async fn link_account(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path(code): Path<String>,
    Form(form): Form<LinkAccountForm>,
) -> Result<PreviewPage, UiError> {
    same_origin(&headers, state.behind_proxy)?;
    signed_in.check_csrf(&form.csrf)?;
    let page = company_page(&state, &signed_in, &code).await?;
    let company = page.company;
    let current = state.store.link_rows(company.id).await?;
    let user = current.iter().find(|r| r.employee_code == form.employee_code).ok_or(UiError::NotFound)?;
    if user.service_account.is_some() {
        return Err(UiError::BadRequest(format!(
            "打刻先アカウント {} はすでに紐づけられています。",
            user.employee_code
        )));
    }
    let recomputed = state
        .store
        .preview_link(&company, &user.employee_code, &form.account)
        .await
        .map_err(|e| UiError::BadRequest(e.to_string()))?;
    let tz = company.tz()?;
    Ok(PreviewPage {
        employee: format!("{} {}", user.employee_code, user.full_name),
        employee_code: user.employee_code.clone(),
        company_code: company.code,
        company_name: company.name,
        csrf: page.csrf,
        account: form.account,
        rows: crate::format::change_rows(&recomputed.changes, &tz),
    })
}

/// Links the LanScope user to the employee from now on; its logs from before (linked to nobody)
/// become the employee's punches in the same transaction.
pub(crate) async fn apply_account(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path(code): Path<String>,
    Form(form): Form<LinkAccountForm>,
) -> Result<Redirect, UiError> {
    same_origin(&headers, state.behind_proxy)?;
    signed_in.check_csrf(&form.csrf)?;
    let page = company_page(&state, &signed_in, &code).await?;
    let company = page.company;
    let report = state
        .store
        .change_links(
            company.id,
            &[(form.employee_code.clone(), Some(form.account.clone()))],
            None,
            loginrec_store::Apply::Commit,
        )
        .await
        .map_err(|e| UiError::BadRequest(e.to_string()))?;
    state.banner_cache.forget(company.id);
    state
        .store
        .audit(
            company.id,
            &signed_in.actor(),
            "紐づけ",
            &format!(
                "{} → {}: {} 日の打刻が変わりました",
                form.account,
                form.employee_code,
                report.recomputed.changes.len()
            ),
        )
        .await?;
    Ok(Redirect::to(&format!("/companies/{}/logs?account={}", company.code, urlencode(&form.account))))
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).map(|v| v.trim_start_matches('=').to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::BannerCache;

    #[test]
    fn a_banner_count_is_reused_until_something_changes_it() {
        let cache = BannerCache::default();
        assert_eq!(cache.get(7), None);
        cache.put(7, 3);
        assert_eq!(cache.get(7), Some(3));
        assert_eq!(cache.get(8), None, "per company");
        cache.forget(7);
        assert_eq!(cache.get(7), None);
    }
}
