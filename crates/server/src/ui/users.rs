//! ユーザー設定 → 勤革時連携 (seed §3.2): the employees ログイン記録 knows, taken from the
//! attendance system, with the history of 連携実行 runs (manual and the 03:00 job).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use loginrec_store::jobs::{JobRecord, kind};
use loginrec_worker::remote::SyncError;

use crate::AppState;
use crate::format::{date_ja, date_time_minutes, date_time_seconds};
use crate::ui::company::{CompanyAdmin, CompanyPage, CompanyPost, Nav, Tab};
use crate::ui::error::UiError;
use crate::ui::href::path_segment;
use crate::ui::links::{LinkLine, link_lines};
use crate::ui::login::Button;
use crate::ui::notice;

struct RunLine {
    /// 手動 (連携実行) or 自動 (the daily job), and when.
    when: String,
    state: &'static str,
    result: String,
}

/// How the run history reads: `手動 2026/12/02 02:48`, `追加 0 件 / 更新 0 件 / 削除 0 件`.
fn run_line(job: JobRecord, tz: &TimeZone) -> RunLine {
    let how = if job.slot.starts_with(MANUAL_SLOT) { "手動" } else { "自動" };
    let at = match (job.finished_at_ms, job.slot.parse::<jiff::civil::Date>()) {
        (Some(ms), _) => date_time_minutes(ms, tz),
        (None, Ok(day)) => date_ja(day),
        (None, Err(_)) => job.slot.clone(),
    };
    RunLine {
        when: format!("{how} {at}"),
        state: match job.state.as_str() {
            "done" => "完了",
            "failed" => "失敗",
            "running" => "実行中",
            _ => "待機中",
        },
        result: job.result.as_deref().map(result_ja).unwrap_or_default(),
    }
}

/// `added=1 updated=2 removed=0`, as the jobs record a sync, in words; anything else (a
/// failure's message) as it is.
fn result_ja(result: &str) -> String {
    match recorded_counts(result) {
        Some((added, updated, removed)) => counts_ja(added, updated, removed),
        None => result.to_string(),
    }
}

fn recorded_counts(result: &str) -> Option<(u64, u64, u64)> {
    let mut parts = result.split(' ');
    let mut count = |key: &str| parts.next()?.strip_prefix(key)?.parse().ok();
    let counts = (count("added=")?, count("updated=")?, count("removed=")?);
    parts.next().is_none().then_some(counts)
}

/// `追加 1 件 / 更新 2 件 / 削除 0 件`.
fn counts_ja(
    added: impl std::fmt::Display,
    updated: impl std::fmt::Display,
    removed: impl std::fmt::Display,
) -> String {
    format!("追加 {added} 件 / 更新 {updated} 件 / 削除 {removed} 件")
}

/// The slot of a 連携実行 starts with this; the daily job's slot is its date.
const MANUAL_SLOT: &str = "manual ";

#[derive(Template, WebTemplate)]
#[template(path = "users.html")]
pub(crate) struct UsersPage {
    nav: Nav,
    company_code: String,
    company_name: String,
    csrf: String,
    message: String,
    /// Why the last 連携実行 did not run, in Japanese.
    error: String,
    runs: Vec<RunLine>,
    links: Vec<LinkLine>,
}

async fn users_page(state: &AppState, page: CompanyPage, message: String, error: String) -> Result<UsersPage, UiError> {
    let tz = page.company.tz()?;
    let runs = state
        .store
        .jobs()
        .list(kind::EMPLOYEE_SYNC, Some(page.company.id))
        .await?
        .into_iter()
        .map(|j| run_line(j, &tz))
        .collect();
    let links = link_lines(state.store.link_rows(page.company.id).await?);
    Ok(UsersPage {
        nav: page.nav(Tab::Users),
        company_code: page.company.code,
        company_name: page.company.name,
        csrf: page.csrf,
        message,
        error,
        runs,
        links,
    })
}

pub(crate) async fn users_view(
    State(state): State<AppState>,
    CompanyAdmin { signed_in, page }: CompanyAdmin,
) -> Result<UsersPage, UiError> {
    let message = notice::take(&state, &signed_in, SCREEN, &page.company.code).await?;
    users_page(&state, page, message, String::new()).await
}

/// The notice kind of this screen's results.
const SCREEN: &str = "users";

/// 連携実行: the attendance system is the master; the run is recorded like the daily one.
/// A refusal (a blocked window, an unreachable service) is shown on the page itself.
pub(crate) async fn users_sync(
    State(state): State<AppState>,
    CompanyPost { signed_in, page, form: Button {} }: CompanyPost<Button>,
) -> Result<Response, UiError> {
    let now = Timestamp::now();
    let synced = loginrec_worker::remote::sync_employees(
        &state.store,
        &loginrec_worker::remote::http_client(),
        &page.company,
        now,
    )
    .await;
    let result = match synced {
        Ok(result) => result,
        Err(SyncError::Store(e)) => return Err(UiError::Store(e)),
        Err(e) => {
            tracing::warn!(company = %page.company.code, cause = ?e, "A 連携実行 failed.");
            let page = users_page(&state, page, String::new(), format!("連携できませんでした: {e}")).await?;
            return Ok((StatusCode::BAD_GATEWAY, page).into_response());
        }
    };
    let summary = format!("added={} updated={} removed={}", result.added, result.updated, result.removed);
    let counted = counts_ja(result.added, result.updated, result.removed);
    let slot = format!("{MANUAL_SLOT}{}", date_time_seconds(now.as_millisecond(), &page.company.tz()?));
    state.store.jobs().record_finished_job(kind::EMPLOYEE_SYNC, page.company.id, &slot, &summary).await?;
    state.store.admins().audit(page.company.id, &signed_in.actor(), "勤革時連携 (連携実行)", &counted).await?;
    let message = format!("連携しました: {counted}");
    notice::leave(&state, &signed_in, SCREEN, &page.company.code, &message).await?;
    Ok(Redirect::to(&format!("/companies/{}/users", path_segment(&page.company.code))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_result_reads_in_words_and_a_failure_as_it_was_recorded() {
        assert_eq!(result_ja("added=0 updated=12 removed=3"), "追加 0 件 / 更新 12 件 / 削除 3 件");
        assert_eq!(result_ja("勤怠サービスに接続できませんでした。"), "勤怠サービスに接続できませんでした。");
        assert_eq!(result_ja("added=1 updated=2"), "added=1 updated=2");
    }

    #[test]
    fn a_run_says_whether_it_was_pressed_or_scheduled_and_when() {
        let job = |slot: &str, finished: Option<i64>| JobRecord {
            kind: kind::EMPLOYEE_SYNC.into(),
            company_id: 1,
            slot: slot.into(),
            state: if finished.is_some() { "done" } else { "pending" }.into(),
            attempts: 0,
            locked_by: None,
            finished_at_ms: finished,
            result: finished.map(|_| "added=0 updated=0 removed=0".into()),
        };
        let tz = TimeZone::get("Asia/Tokyo").unwrap();
        // 2026-12-01T17:48:10Z is 02:48 on the 2nd in Tokyo.
        let at = "2026-12-01T17:48:10Z".parse::<Timestamp>().unwrap().as_millisecond();
        let manual = run_line(job("manual 2026/12/02 02:48:10", Some(at)), &tz);
        assert_eq!(
            (manual.when.as_str(), manual.state, manual.result.as_str()),
            ("手動 2026/12/02 02:48", "完了", "追加 0 件 / 更新 0 件 / 削除 0 件")
        );
        let waiting = run_line(job("2026-12-03", None), &tz);
        assert_eq!((waiting.when.as_str(), waiting.state), ("自動 2026/12/03", "待機中"));
    }
}
