//! サポートセンター, the operator's screen: companies, their first administrator, and the access
//! token of each company's connector. Only the operator sees it; anyone else gets 404.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use loginrec_rules::CompanyCode;
use serde::Deserialize;

use crate::AppState;
use crate::format::date_time_minutes;
use crate::ui::company::Posted;
use crate::ui::error::UiError;
use crate::ui::href;
use crate::ui::login::Button;
use crate::ui::session::{self as auth, SignedIn};

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
    /// What the 企業の登録 form refused, shown above it.
    error: String,
    /// The form as typed (but the password), kept when it is refused.
    form: CreateCompanyForm,
}

/// 「アクセストークンを発行」: what reissuing does to a running connector, asked before doing it.
#[derive(Template, WebTemplate)]
#[template(path = "operator_token.html")]
pub(crate) struct TokenConfirmPage {
    csrf: String,
    code: String,
    name: String,
    /// The company has a token now: a connector may be using it.
    replaces: bool,
}

/// The new token, shown once, on the page the issuing POST redirects to.
#[derive(Template, WebTemplate)]
#[template(path = "operator_token_issued.html")]
pub(crate) struct TokenIssuedPage {
    code: String,
    /// Empty when the token was already shown (a reload, or the page opened again).
    token: String,
}

/// The kind of session notice that carries a new access token to the page that shows it.
const NEW_TOKEN_NOTICE: &str = "new_token";

fn require_operator(signed_in: &SignedIn) -> Result<(), UiError> {
    if signed_in.0.admin.is_operator() { Ok(()) } else { Err(UiError::NotFound) }
}

async fn operator_page(
    state: &AppState,
    signed_in: &SignedIn,
    error: String,
    form: CreateCompanyForm,
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
    Ok(OperatorPage { csrf: signed_in.csrf().to_string(), companies, error, form })
}

pub(crate) async fn operator(State(state): State<AppState>, signed_in: SignedIn) -> Result<OperatorPage, UiError> {
    require_operator(&signed_in)?;
    operator_page(&state, &signed_in, String::new(), CreateCompanyForm::default()).await
}

#[derive(Deserialize)]
pub(crate) struct CreateCompanyForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    admin_login_id: String,
    #[serde(default)]
    admin_password: String,
}

impl Default for CreateCompanyForm {
    fn default() -> Self {
        CreateCompanyForm {
            code: String::new(),
            name: String::new(),
            time_zone: "Asia/Tokyo".into(),
            admin_login_id: "admin".into(),
            admin_password: String::new(),
        }
    }
}

pub(crate) async fn create_company(
    State(state): State<AppState>,
    Posted { signed_in, form }: Posted<CreateCompanyForm>,
) -> Result<Response, UiError> {
    require_operator(&signed_in)?;
    match register_company(&state, &signed_in, &form).await {
        Ok(()) => Ok(Redirect::to("/operator").into_response()),
        // The form again, with what was typed (never the password) and why it was refused.
        Err(UiError::BadRequest(message)) => {
            let form = CreateCompanyForm { admin_password: String::new(), ..form };
            let page = operator_page(&state, &signed_in, message, form).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e),
    }
}

async fn register_company(state: &AppState, signed_in: &SignedIn, form: &CreateCompanyForm) -> Result<(), UiError> {
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
        .map_err(UiError::refused)?;
    let hash = auth::hash_password(form.admin_password.clone()).await.map_err(|e| UiError::Internal(e.to_string()))?;
    state.store.admins().upsert_admin(company.id, login_id, &hash).await?;
    state
        .store
        .admins()
        .audit(company.id, &signed_in.actor(), "企業登録", &format!("{} {}", company.code, company.name))
        .await?;
    Ok(())
}

pub(crate) async fn confirm_token(
    State(state): State<AppState>,
    Path(code): Path<String>,
    signed_in: SignedIn,
) -> Result<TokenConfirmPage, UiError> {
    require_operator(&signed_in)?;
    let company = state.store.company_by_code(&code).await?.ok_or(UiError::NotFound)?;
    Ok(TokenConfirmPage {
        csrf: signed_in.csrf().to_string(),
        replaces: company.lanscope_enabled,
        code: company.code,
        name: company.name,
    })
}

pub(crate) async fn issue_token(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Posted { signed_in, form: Button {} }: Posted<Button>,
) -> Result<Redirect, UiError> {
    require_operator(&signed_in)?;
    let company = state.store.company_by_code(&code).await?.ok_or(UiError::NotFound)?;
    let token = state.store.issue_token(company.id).await?;
    state.store.admins().put_notice(&signed_in.0, NEW_TOKEN_NOTICE, &format!("{}\t{token}", company.code)).await?;
    state
        .store
        .admins()
        .audit(company.id, &signed_in.actor(), "アクセストークン発行", "以前のトークンは無効になりました")
        .await?;
    Ok(Redirect::to(&format!("/operator/companies/{}/token/issued", href::path_segment(&company.code))))
}

pub(crate) async fn token_issued(
    State(state): State<AppState>,
    Path(code): Path<String>,
    signed_in: SignedIn,
) -> Result<TokenIssuedPage, UiError> {
    require_operator(&signed_in)?;
    let company = state.store.company_by_code(&code).await?.ok_or(UiError::NotFound)?;
    let notice = state.store.admins().take_notice(&signed_in.0, NEW_TOKEN_NOTICE).await?;
    let token = notice
        .as_deref()
        .and_then(|n| n.split_once('\t'))
        .filter(|(code, _)| *code == company.code)
        .map(|(_, token)| token.to_string())
        .unwrap_or_default();
    Ok(TokenIssuedPage { code: company.code, token })
}
