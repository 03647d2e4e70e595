//! ユーザー設定 → 勤革時連携 (seed §3.2): the employees ログイン記録 knows, taken from the
//! attendance system, with the history of 連携実行 runs (manual and the 03:00 job).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use jiff::Timestamp;
use loginrec_store::jobs::kind;
use loginrec_worker::remote::SyncError;

use crate::AppState;
use crate::format::date_time_seconds;
use crate::ui::company::{CompanyAdmin, CompanyPage, CompanyPost};
use crate::ui::error::UiError;
use crate::ui::links::{LinkLine, link_lines};
use crate::ui::login::Button;

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
        .jobs()
        .list(kind::EMPLOYEE_SYNC, Some(page.company.id))
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
    CompanyAdmin { page, .. }: CompanyAdmin,
) -> Result<UsersPage, UiError> {
    users_page(&state, page, String::new()).await
}

/// 連携実行: the attendance system is the master; the run is recorded like the daily one.
pub(crate) async fn users_sync(
    State(state): State<AppState>,
    CompanyPost { signed_in, page, form: Button {} }: CompanyPost<Button>,
) -> Result<UsersPage, UiError> {
    let result = loginrec_worker::remote::sync_employees(
        &state.store,
        &loginrec_worker::remote::http_client(),
        &page.company,
        Timestamp::now(),
    )
    .await
    .map_err(|e| match e {
        SyncError::Store(e) => UiError::Store(e),
        e => {
            tracing::warn!(company = %page.company.code, cause = ?e, "A 連携実行 failed.");
            UiError::BadRequest(format!("連携できませんでした: {e}"))
        }
    })?;
    let summary = format!("added={} updated={} removed={}", result.added, result.updated, result.removed);
    let slot = format!("manual {}", date_time_seconds(Timestamp::now().as_millisecond(), &page.company.tz()?));
    state.store.jobs().record_finished_job(kind::EMPLOYEE_SYNC, page.company.id, &slot, &summary).await?;
    state.store.admins().audit(page.company.id, &signed_in.actor(), "勤革時連携 (連携実行)", &summary).await?;
    let message =
        format!("連携しました: 追加 {} 件、更新 {} 件、削除 {} 件", result.added, result.updated, result.removed);
    users_page(&state, page, message).await
}
