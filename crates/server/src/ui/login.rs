//! ログイン and ログアウト. Failed logins are counted per account and per client address before
//! the password is checked, so parallel guesses cannot pass the limit; a login ID that does
//! not exist costs the same Argon2 verification as one that does.

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use loginrec_store::admins::OPERATOR;
use serde::Deserialize;

use crate::AppState;
use crate::ui::company::Posted;
use crate::ui::error::UiError;
use crate::ui::session::{self as auth, same_origin};
use crate::ui::throttle;

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
    let refused = |code: String, login_id: String| {
        let page = LoginPage {
            message: "企業コード、ログインID またはパスワードが違います。".into(),
            company_code: code,
            login_id,
        };
        (axum::http::StatusCode::UNAUTHORIZED, page).into_response()
    };
    // No account has such an ID: refused before anything is counted or stored.
    if code.chars().count() > MAX_CODE_CHARS || form.login_id.chars().count() > MAX_LOGIN_ID_CHARS {
        tracing::warn!(peer = %peer.ip(), "A login with an over-long company code or login ID was refused.");
        return Ok(refused(String::new(), String::new()));
    }
    let address = auth::client_address(&headers, peer.ip(), state.behind_proxy)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into());
    // Codes are one whatever their case, so the failures of an account are counted as one too.
    let pair = format!("pair:{}:{}|{address}", code.to_ascii_uppercase(), form.login_id);
    let address_subject = format!("peer:{address}");
    if let Some(wait_ms) = state
        .store
        .admins()
        .count_login_attempt(&pair, &address_subject, throttle::WINDOW_MS, throttle::wait_ms)
        .await?
    {
        return Err(UiError::TooManyAttempts { wait_minutes: (wait_ms + 59_999) / 60_000 });
    }
    let company = if code.is_empty() { None } else { state.store.company_by_code(&code).await? };
    let company_id = if code.is_empty() { Some(OPERATOR) } else { company.as_ref().map(|c| c.id) };
    let admin = match company_id {
        Some(id) => state.store.admins().admin(id, &form.login_id).await?,
        None => None,
    };
    // Hash even when the account does not exist, so timing does not tell which part was wrong.
    let phc = admin.as_ref().map(|a| a.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.to_string());
    let ok = auth::verify_password(form.password, phc).await && admin.is_some();
    let Some(admin) = admin.filter(|_| ok) else {
        tracing::warn!(
            company = %throttle::loggable(&code),
            login_id = %throttle::loggable(&form.login_id),
            peer = %peer.ip(),
            "A login failed."
        );
        return Ok(refused(code, form.login_id));
    };
    state.store.admins().forgive_login(&pair).await?;
    let id = state.store.admins().create_session(admin.id, auth::SESSION_TTL_MS).await?;
    // The company's own spelling of its code, whatever case was typed.
    let target = match (&company, admin.is_operator()) {
        (_, true) => "/operator".to_string(),
        (Some(company), false) => format!("/companies/{}", company.code),
        (None, false) => format!("/companies/{code}"),
    };
    Ok(([(header::SET_COOKIE, auth::session_cookie(&id, state.secure_cookies))], Redirect::to(&target)).into_response())
}

/// Longer than any company code or login ID can be (see `CompanyCode` and 管理者ログインID).
const MAX_CODE_CHARS: usize = 32;
const MAX_LOGIN_ID_CHARS: usize = 64;

/// An Argon2 hash of a random password, verified against when the login ID is unknown.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$5DTzLUWNp6pWmuDpCWYqhZF1aWZRMGwAIeHzAeL9v3g";

/// A form with nothing but its CSRF token: a button.
#[derive(Deserialize)]
pub(crate) struct Button {}

pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    _: Posted<Button>,
) -> Result<Response, UiError> {
    if let Some(id) = auth::cookie_value(&headers, auth::SESSION_COOKIE) {
        state.store.admins().delete_session(&id).await?;
    }
    Ok(([(header::SET_COOKIE, auth::clearing_cookie())], Redirect::to("/login")).into_response())
}

pub(crate) async fn root(State(state): State<AppState>, headers: HeaderMap) -> Result<Redirect, UiError> {
    let Some(id) = auth::cookie_value(&headers, auth::SESSION_COOKIE) else { return Ok(Redirect::to("/login")) };
    let Some(session) = state.store.admins().session(&id).await? else { return Ok(Redirect::to("/login")) };
    if session.admin.is_operator() {
        return Ok(Redirect::to("/operator"));
    }
    let company = state.store.companies().await?.into_iter().find(|c| c.id == session.admin.company_id);
    Ok(company.map(|c| Redirect::to(&format!("/companies/{}", c.code))).unwrap_or_else(|| Redirect::to("/login")))
}
