//! 診断: the four cases of the manual's FAQ (seed §5) as the data shows them — サービスアカウント
//! linked to nobody, departments whose 日付変更時間 differs from LanScope's collection start,
//! one account on several PCs at once, and a connector that stopped delivering — plus 乖離
//! without a reason, the long-hours alerts of last month and this one, and, in remote mode,
//! sending that is paused or failed. Linking an account is previewed (made and
//! rolled back) before [反映する] makes it.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use loginrec_store::Apply;
use serde::Deserialize;

use crate::AppState;
use crate::format::{self, date_time_minutes};
use crate::ui::company::{CompanyAdmin, CompanyPage, CompanyPost, Nav, Tab};
use crate::ui::error::UiError;
use crate::ui::href;
use crate::ui::links::{LinkLine, link_lines};
use crate::ui::problems::Diagnostics;

struct UnlinkedLine {
    account: String,
    logs: i64,
    period: String,
}

/// An employee's month with long-hours alerts, and its 月別データ.
struct AlertLine {
    employee: String,
    department: String,
    month: String,
    alerts: String,
    monthly_href: String,
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
    nav: Nav,
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
    /// 乖離 days without a reason, and the 乖離 screen listing them.
    unexplained_divergences: usize,
    divergences_href: String,
    /// Last month's and this month's long-hours alerts.
    alerts: Vec<AlertLine>,
    /// What the last action on this screen did, after its redirect.
    message: String,
    /// Why a 紐づける was refused.
    error: String,
}

#[derive(Deserialize)]
pub(crate) struct DiagnosticsQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    employee: String,
    #[serde(default)]
    days: usize,
}

struct MismatchLine {
    department: String,
    current: String,
    first_affected: String,
    fix_href: String,
}

pub(crate) async fn diagnostics(
    State(state): State<AppState>,
    CompanyAdmin { page, .. }: CompanyAdmin,
    Query(q): Query<DiagnosticsQuery>,
) -> Result<DiagnosticsPage, UiError> {
    let message = match q.done.as_str() {
        "linked" => format!("{} を {} に紐づけました。{} 日の打刻が変わりました。", q.account, q.employee, q.days),
        _ => String::new(),
    };
    diagnostics_page(&state, page, message, String::new()).await
}

/// 診断 with a message of what was done, or why a 紐づける was refused.
async fn diagnostics_page(
    state: &AppState,
    page: CompanyPage,
    message: String,
    error: String,
) -> Result<DiagnosticsPage, UiError> {
    let nav = page.nav(Tab::Diagnostics);
    let company = page.company;
    let tz = company.tz()?;
    let d = Diagnostics::gather(&state.store, &company).await?;
    state.banner_cache.put(company.id, d.count());
    // Last month is still HR's to close; this month shows where it is heading.
    let today = tz.to_datetime(jiff::Timestamp::now()).date();
    let this_month = today.first_of_month();
    let last_month = this_month.yesterday().map(|d| d.first_of_month()).unwrap_or(this_month);
    let alerts = state
        .store
        .attendance()
        .long_hours(company.id, &[last_month, this_month], today)
        .await?
        .into_iter()
        .map(|a| AlertLine {
            employee: format!("{} {}", a.employee_code, a.full_name),
            department: format!("{} {}", a.department_code, a.department_name),
            month: a.month.strftime("%Y/%m").to_string(),
            alerts: a.alerts.iter().map(|l| l.label_ja()).collect::<Vec<_>>().join("、"),
            monthly_href: format!(
                "/companies/{}/monthly?month={}",
                href::path_segment(&company.code),
                a.month.strftime("%Y-%m")
            ),
        })
        .collect();
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
                    first_affected: m.first_affected.map(format::date_ja).unwrap_or_default(),
                    // The edit form, filled in with LanScope's time from the first wrong day.
                    fix_href: format!(
                        "/companies/{}/settings/departments/{}?hour={}&minute={}&effective_from={from}",
                        href::path_segment(&company.code),
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
            .map(|s| SharedLine {
                account: s.account.clone(),
                day: format::date_ja(s.day),
                agents: s.agents.join(", "),
            })
            .collect(),
        stale: d.stale,
        ingest_status,
        unexplained_divergences: d.unexplained_divergences,
        alerts,
        divergences_href: format!(
            "/companies/{}/divergences?from={}&unexplained=1",
            href::path_segment(&company.code),
            crate::ui::problems::unexplained_since(&company)?
        ),
        remote: company.remote_base_url.as_deref().map(loginrec_store::remote::shown_base_url).unwrap_or_default(),
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
        nav,
        csrf: page.csrf,
        message,
        error,
    })
}

#[derive(Deserialize)]
pub(crate) struct LinkAccountForm {
    account: String,
    #[serde(default)]
    employee_code: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "preview.html")]
pub(crate) struct PreviewPage {
    company_code: String,
    company_name: String,
    nav: Nav,
    csrf: String,
    account: String,
    employee_code: String,
    employee: String,
    rows: Vec<format::ChangeRow>,
}

/// Shows what linking an unlinked LanScope user to an employee would punch (the change is made
/// and rolled back); [反映する] makes it.
pub(crate) async fn link_account(
    State(state): State<AppState>,
    CompanyPost { page, form, .. }: CompanyPost<LinkAccountForm>,
) -> Result<Response, UiError> {
    let current = state.store.link_rows(page.company.id).await?;
    let chosen = match current.iter().find(|r| r.employee_code == form.employee_code) {
        None if form.employee_code.is_empty() => Err("紐づける従業員を選んでください。".to_string()),
        None => Err(format!("従業員 {} は見つかりません。", form.employee_code)),
        Some(user) if user.service_account.is_some() => {
            Err(format!("打刻先アカウント {} はすでに紐づけられています。", user.employee_code))
        }
        Some(user) => Ok(user),
    };
    let user = match chosen {
        Ok(user) => user,
        Err(error) => {
            let again = diagnostics_page(&state, page, String::new(), error).await?;
            return Ok((StatusCode::BAD_REQUEST, again).into_response());
        }
    };
    let nav = page.nav(Tab::Diagnostics);
    let company = page.company;
    let recomputed =
        state.store.preview_link(&company, &user.employee_code, &form.account).await.map_err(UiError::refused)?;
    let tz = company.tz()?;
    Ok(PreviewPage {
        employee: format!("{} {}", user.employee_code, user.full_name),
        employee_code: user.employee_code.clone(),
        company_code: company.code,
        company_name: company.name,
        nav,
        csrf: page.csrf,
        account: form.account,
        rows: format::change_rows(&recomputed.changes, &tz),
    }
    .into_response())
}

/// Links the LanScope user to the employee from now on; its logs from before (linked to nobody)
/// become the employee's punches in the same transaction.
pub(crate) async fn apply_account(
    State(state): State<AppState>,
    CompanyPost { signed_in, page, form }: CompanyPost<LinkAccountForm>,
) -> Result<Redirect, UiError> {
    let company = page.company;
    let report = state
        .store
        .change_links(company.id, &[(form.employee_code.clone(), Some(form.account.clone()))], None, Apply::Commit)
        .await
        .map_err(UiError::refused)?;
    state.banner_cache.forget(company.id);
    let days = report.recomputed.changes.len();
    state
        .store
        .admins()
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
    let employee = state
        .store
        .attendance()
        .employee_by_code(company.id, &form.employee_code)
        .await?
        .map(|e| format!("{} {}", e.code, e.full_name()))
        .unwrap_or_else(|| form.employee_code.clone());
    Ok(Redirect::to(&format!(
        "/companies/{}/diagnostics?done=linked&account={}&employee={}&days={days}",
        href::path_segment(&company.code),
        href::query_value(&form.account),
        href::query_value(&employee)
    )))
}
