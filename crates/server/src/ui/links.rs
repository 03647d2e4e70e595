//! 連携設定 (seed §3.1): the サービスアカウント of each 打刻先アカウント, downloaded and uploaded as
//! the manual's CSV. An upload is all rows or none; when it changes punches, the change is
//! previewed (made and rolled back) and saved only on [保存する], from the 適用開始 typed.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use loginrec_store::{Apply, LinkRow};
use serde::Deserialize;

use crate::AppState;
use crate::format::{self, date_time_minutes};
use crate::links::{self, CsvEncoding};
use crate::ui::company::{CompanyAdmin, CompanyPage, CompanyPost, CompanyUpload, Nav, Tab};
use crate::ui::error::UiError;
use crate::ui::href::path_segment;
use crate::ui::notice;
use crate::ui::session::SignedIn;

/// Largest 連携設定 upload accepted.
pub const MAX_UPLOAD_BYTES: usize = 2 * 1024 * 1024;

pub(crate) struct LinkLine {
    pub employee_code: String,
    pub full_name: String,
    pub account: String,
}

pub(crate) fn link_lines(rows: Vec<LinkRow>) -> Vec<LinkLine> {
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
    nav: Nav,
    csrf: String,
    message: String,
    errors: Vec<String>,
    links: Vec<LinkLine>,
    /// An import waiting for [保存する]: the rows it changes (before → after), what looks
    /// wrong in it, the employee-days it changes, and the rows to save.
    confirming: bool,
    review: Vec<ReviewLine>,
    unchanged: usize,
    warnings: Vec<String>,
    preview: Vec<format::ChangeRow>,
    pending_plan: String,
    /// 適用開始 as typed (kept when the upload is refused).
    effective_from: String,
    /// Every holder each サービスアカウント had.
    history: Vec<LinkHistoryLine>,
}

/// One row of an import that changes a サービスアカウント.
struct ReviewLine {
    line: u64,
    employee_code: String,
    full_name: String,
    before: String,
    after: String,
}

fn account_cell(account: Option<&str>) -> String {
    account.map(str::to_string).unwrap_or_else(|| "(なし)".into())
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
        nav: page.nav(Tab::Links),
        company_code: page.company.code,
        company_name: page.company.name,
        csrf: page.csrf,
        message,
        errors,
        links,
        confirming: false,
        review: Vec::new(),
        unchanged: 0,
        warnings: Vec::new(),
        preview: Vec::new(),
        pending_plan: String::new(),
        effective_from: String::new(),
        history,
    })
}

pub(crate) async fn links_view(
    State(state): State<AppState>,
    CompanyAdmin { signed_in, page }: CompanyAdmin,
) -> Result<LinksPage, UiError> {
    let message = notice::take(&state, &signed_in, SCREEN, &page.company.code).await?;
    links_page(&state, page, message, Vec::new()).await
}

/// The notice kind of this screen's results.
const SCREEN: &str = "links";

#[derive(Deserialize)]
pub(crate) struct EncodingQuery {
    #[serde(default)]
    encoding: String,
}

/// [CSV データ保存]: CP932 by default, UTF-8 with BOM on request.
pub(crate) async fn links_csv(
    State(state): State<AppState>,
    CompanyAdmin { page, .. }: CompanyAdmin,
    Query(q): Query<EncodingQuery>,
) -> Result<Response, UiError> {
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
    CompanyUpload { signed_in, page }: CompanyUpload,
    mut multipart: Multipart,
) -> Result<Response, UiError> {
    // The CSRF token travels as a form field, never in the URL (URLs end up in logs).
    let mut upload = None;
    let mut csrf = String::new();
    let mut effective_from = String::new();
    while let Some(field) = multipart.next_field().await.map_err(upload_error)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(upload_error)?,
            Some("effective_from") => effective_from = field.text().await.map_err(upload_error)?,
            Some("file") => upload = Some(field.bytes().await.map_err(upload_error)?),
            _ => {}
        }
    }
    signed_in.check_csrf(&csrf)?;
    // A refusal shows the screen again with its reasons and the 適用開始 as typed.
    let refused = |page, errors| async {
        let mut again = links_page(&state, page, String::new(), errors).await?;
        again.effective_from = effective_from.clone();
        Ok::<_, UiError>((StatusCode::BAD_REQUEST, again).into_response())
    };
    let Some(bytes) = upload.filter(|b| !b.is_empty()) else {
        return refused(page, vec!["ファイルを選択してください。".into()]).await;
    };
    let tz = page.company.tz()?;
    let effective = match effective_moment(&effective_from, &tz) {
        Ok(effective) => effective,
        Err(e) => return refused(page, vec![e]).await,
    };
    let current = state.store.link_rows(page.company.id).await?;
    let plan = match links::read_import(&bytes, &current) {
        Ok(plan) => plan,
        Err(errors) => return refused(page, errors.iter().map(ToString::to_string).collect()).await,
    };
    // What saving would change, before it is saved: the change itself, rolled back.
    let links = plan.links();
    let preview =
        state.store.change_links(page.company.id, &links, effective, Apply::Preview).await.map_err(UiError::refused)?;
    let review: Vec<ReviewLine> = plan
        .rows
        .iter()
        .filter(|r| r.changes())
        .map(|r| ReviewLine {
            line: r.line,
            employee_code: r.employee_code.clone(),
            full_name: r.full_name.clone(),
            before: account_cell(r.before.as_deref()),
            after: account_cell(r.after.as_deref()),
        })
        .collect();
    if review.is_empty() && preview.recomputed.changes.is_empty() {
        let same = "ファイルの内容はいまの連携設定と同じです。変更はありません。".to_string();
        return Ok(links_page(&state, page, same, Vec::new()).await?.into_response());
    }
    let pending_plan = serde_json::to_string(&links).map_err(|e| UiError::BadRequest(e.to_string()))?;
    let mut confirm = links_page(&state, page, String::new(), Vec::new()).await?;
    confirm.confirming = true;
    confirm.unchanged = plan.rows.len() - review.len();
    confirm.review = review;
    confirm.warnings = plan.warnings().iter().map(ToString::to_string).collect();
    confirm.preview = format::change_rows(&preview.recomputed.changes, &tz);
    confirm.pending_plan = pending_plan;
    confirm.effective_from = effective_from;
    Ok(confirm.into_response())
}

#[derive(Deserialize)]
pub(crate) struct SaveLinksForm {
    plan: String,
    #[serde(default)]
    effective_from: String,
}

/// [保存する] after the review of an import; the result is a page of its own, so that a
/// reload does not import again.
pub(crate) async fn links_save(
    State(state): State<AppState>,
    CompanyPost { signed_in, page, form }: CompanyPost<SaveLinksForm>,
) -> Result<Redirect, UiError> {
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
) -> Result<Redirect, UiError> {
    let report =
        state.store.change_links(page.company.id, plan, effective, Apply::Commit).await.map_err(UiError::refused)?;
    state.banner_cache.forget(page.company.id);
    let message = links::updated_message(report.updated);
    let detail = format!(
        "{message} (適用開始 {}、{} 日の打刻が変わりました)",
        effective
            .map(|t| format::date_time_minutes(
                t.as_millisecond(),
                &page.company.tz().unwrap_or(jiff::tz::TimeZone::UTC)
            ))
            .unwrap_or_else(|| "現在".into()),
        report.recomputed.changes.len()
    );
    state.store.admins().audit(page.company.id, &signed_in.actor(), "連携設定 CSV データ入力", &detail).await?;
    notice::leave(state, signed_in, SCREEN, &page.company.code, &detail).await?;
    Ok(Redirect::to(&format!("/companies/{}/links", path_segment(&page.company.code))))
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

/// A file that did not arrive whole (too large, or the connection cut): said in Japanese, with
/// the transport's own words only in the server log.
fn upload_error(e: axum::extract::multipart::MultipartError) -> UiError {
    tracing::info!(cause = %e, "A 連携設定 upload was not received.");
    UiError::BadRequest(format!(
        "ファイルを受け取れませんでした。{} MB までの CSV ファイルを選んで、もう一度送信してください。",
        MAX_UPLOAD_BYTES / 1024 / 1024
    ))
}
