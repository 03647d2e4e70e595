//! サポートセンター, the operator's screen: companies, their first administrator, and the access
//! token of each company's connector. Only the operator sees it; anyone else gets 404.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use loginrec_rules::CompanyCode;
use serde::Deserialize;

use crate::AppState;
use crate::format::date_time_minutes;
use crate::ui::company::Posted;
use crate::ui::error::UiError;
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
    code: String,
    name: String,
    time_zone: String,
    admin_login_id: String,
    admin_password: String,
}

pub(crate) async fn create_company(
    State(state): State<AppState>,
    Posted { signed_in, form }: Posted<CreateCompanyForm>,
) -> Result<Response, UiError> {
    require_operator(&signed_in)?;
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
    let hash = auth::hash_password(form.admin_password).await.map_err(|e| UiError::Internal(e.to_string()))?;
    state.store.admins().upsert_admin(company.id, login_id, &hash).await?;
    state
        .store
        .admins()
        .audit(company.id, &signed_in.actor(), "企業登録", &format!("{} {}", company.code, company.name))
        .await?;
    Ok(Redirect::to("/operator").into_response())
}

pub(crate) async fn issue_token(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Posted { signed_in, form: Button {} }: Posted<Button>,
) -> Result<OperatorPage, UiError> {
    require_operator(&signed_in)?;
    let company = state.store.company_by_code(&code).await?.ok_or(UiError::NotFound)?;
    let token = state.store.issue_token(company.id).await?;
    state
        .store
        .admins()
        .audit(company.id, &signed_in.actor(), "アクセストークン発行", "以前のトークンは無効になりました")
        .await?;
    operator_page(&state, &signed_in, token, company.code).await
}
