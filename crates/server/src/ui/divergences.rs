//! 乖離: the days whose PC use passes the 手入力 or API 出勤 / 退勤 by more than the company's
//! threshold, the reason an administrator records for each (the record of the investigation
//! the MHLW guideline asks for), the CSV of the same list, and the threshold and reason choices.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use loginrec_store::{DivergenceDay, DivergenceFilter, StoreError};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::format::{date_ja, date_time_minutes, hours_minutes, punch_cell, weekday_ja};
use crate::ui::company::{CompanyAdmin, CompanyPage, CompanyPost, Nav, Tab};
use crate::ui::error::UiError;
use crate::ui::href;

#[derive(Clone, Default, Deserialize, Serialize)]
pub(crate) struct DivergenceQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    employee: String,
    /// `1`: only the days without a reason.
    #[serde(default)]
    unexplained: String,
    /// `utf8` for the CSV in UTF-8 with a BOM; CP932 otherwise.
    #[serde(default, skip_serializing)]
    encoding: String,
    /// What was just done, for the message at the top.
    #[serde(default, skip_serializing)]
    done: String,
}

impl DivergenceQuery {
    /// The filter the query names; the period defaults to this month up to today.
    fn filter(&self, today: Date) -> Result<(DivergenceFilter, Date, Date), UiError> {
        let parse = |s: &str| -> Result<Option<Date>, UiError> {
            match s.trim() {
                "" => Ok(None),
                s => s.parse().map(Some).map_err(|_| UiError::BadRequest(format!("日付が不正です: {s}"))),
            }
        };
        let from = parse(&self.from)?.unwrap_or_else(|| today.first_of_month());
        let to = parse(&self.to)?.unwrap_or(today);
        let filter = DivergenceFilter {
            from: Some(from),
            to: Some(to),
            department_code: Some(self.department.trim().to_string()).filter(|c| !c.is_empty()),
            employee_code: Some(self.employee.trim().to_string()).filter(|c| !c.is_empty()),
            only_unexplained: self.unexplained == "1",
        };
        Ok((filter, from, to))
    }

    fn query_string(&self, from: Date, to: Date) -> String {
        let kept = DivergenceQuery { from: from.to_string(), to: to.to_string(), ..self.clone() };
        serde_urlencoded::to_string(&kept).unwrap_or_default()
    }
}

/// One flagged day as the screen and the CSV show it.
struct DivergenceLine {
    date: String,
    date_iso: String,
    employee_code: String,
    employee: String,
    department: String,
    pc_first: String,
    declared_in: String,
    early: String,
    pc_last: String,
    declared_out: String,
    late: String,
    /// `理由: 説明` and `記録者 日時`, empty while unexplained.
    reason: String,
    recorded: String,
    timecard_href: String,
}

impl DivergenceLine {
    fn new(company_code: &str, d: DivergenceDay, tz: &TimeZone) -> DivergenceLine {
        let time = |ms: Option<i64>| ms.map(|ms| punch_cell("PC", ms, tz)).unwrap_or_else(|| "—".into());
        let declared = |p: &Option<loginrec_store::DeclaredPunch>| {
            p.as_ref().map(|p| punch_cell(&p.method, p.at_ms, tz)).unwrap_or_else(|| "—".into())
        };
        let minutes = |m: i64| if m > 0 { hours_minutes(m) } else { String::new() };
        DivergenceLine {
            date: format!("{} ({})", date_ja(d.business_date), weekday_ja(d.business_date)),
            date_iso: d.business_date.to_string(),
            timecard_href: href::timecard(company_code, &d.employee_code, d.business_date),
            employee: format!("{} {}", d.employee_code, d.full_name),
            department: format!("{} {}", d.department_code, d.department_name),
            pc_first: time(d.pc_first_ms),
            declared_in: declared(&d.declared_in),
            early: minutes(d.early_minutes),
            pc_last: time(d.pc_last_ms),
            declared_out: declared(&d.declared_out),
            late: minutes(d.late_minutes),
            reason: d
                .reason
                .as_ref()
                .map(|r| if r.note.is_empty() { r.reason.clone() } else { format!("{}: {}", r.reason, r.note) })
                .unwrap_or_default(),
            recorded: d
                .reason
                .as_ref()
                .map(|r| format!("{} {}", r.recorded_by, date_time_minutes(r.recorded_at_ms, tz)))
                .unwrap_or_default(),
            employee_code: d.employee_code,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "divergences.html")]
pub(crate) struct DivergencesPage {
    company_code: String,
    company_name: String,
    nav: Nav,
    csrf: String,
    problems: usize,
    q: DivergenceQuery,
    from: String,
    to: String,
    query_string: String,
    departments: Vec<(String, String)>,
    lines: Vec<DivergenceLine>,
    unexplained: usize,
    threshold: i64,
    choices: Vec<String>,
    /// The reason choices one per line, for the settings form.
    choices_text: String,
    message: String,
}

pub(crate) async fn divergences(
    State(state): State<AppState>,
    CompanyAdmin { page, .. }: CompanyAdmin,
    Query(q): Query<DivergenceQuery>,
) -> Result<DivergencesPage, UiError> {
    let nav = page.nav(Tab::Divergences);
    let CompanyPage { company, csrf, problems, .. } = page;
    let tz = company.tz()?;
    let today = tz.to_datetime(Timestamp::now()).date();
    let (filter, from, to) = q.filter(today)?;
    let found = state.store.divergences(company.id, &filter).await?;
    let unexplained = found.iter().filter(|d| d.reason.is_none()).count();
    let lines = found.into_iter().map(|d| DivergenceLine::new(&company.code, d, &tz)).collect();
    let departments =
        state.store.attendance().departments(company.id).await?.into_iter().map(|d| (d.code, d.name)).collect();
    let threshold = state.store.divergence_threshold(company.id).await?;
    let choices = state.store.divergence_reason_choices(company.id).await?;
    let message = match q.done.as_str() {
        "reason" => "理由を記録しました。".to_string(),
        "settings" => "乖離の基準と理由の選択肢を保存しました。".to_string(),
        _ => String::new(),
    };
    Ok(DivergencesPage {
        company_code: company.code.clone(),
        company_name: company.name.clone(),
        nav,
        csrf,
        problems,
        query_string: q.query_string(from, to),
        from: from.to_string(),
        to: to.to_string(),
        q,
        departments,
        lines,
        unexplained,
        threshold,
        choices_text: choices.join("\n"),
        choices,
        message,
    })
}

#[derive(Deserialize)]
pub(crate) struct ReasonForm {
    #[serde(default)]
    employee: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
    /// The list's query, to go back to it.
    #[serde(default)]
    back: String,
}

/// Records the reason of one day, then goes back to the list as it was.
pub(crate) async fn record_reason(
    State(state): State<AppState>,
    CompanyPost { signed_in, page, form }: CompanyPost<ReasonForm>,
) -> Result<Response, UiError> {
    let company = &page.company;
    let date: Date =
        form.date.trim().parse().map_err(|_| UiError::BadRequest(format!("勤務日が不正です: {}", form.date)))?;
    match state
        .store
        .record_divergence_reason(company.id, form.employee.trim(), date, &form.reason, &form.note, &signed_in.actor())
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Err(UiError::NotFound),
        Err(StoreError::Refused(refusal)) => return Err(UiError::BadRequest(refusal.to_string())),
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("{}&done=reason", list_href(&company.code, &form.back))).into_response())
}

#[derive(Deserialize)]
pub(crate) struct SettingsForm {
    #[serde(default)]
    threshold: String,
    #[serde(default)]
    choices: String,
    #[serde(default)]
    back: String,
}

/// Saves the threshold and the reason choices (one per line).
pub(crate) async fn save_settings(
    State(state): State<AppState>,
    CompanyPost { page, form, .. }: CompanyPost<SettingsForm>,
) -> Result<Response, UiError> {
    let company = &page.company;
    let minutes: i64 = form
        .threshold
        .trim()
        .parse()
        .map_err(|_| UiError::BadRequest(format!("乖離の基準は分の数で入力してください: {}", form.threshold)))?;
    let refused = |e: StoreError| match e {
        StoreError::Refused(refusal) => UiError::BadRequest(refusal.to_string()),
        e => e.into(),
    };
    state.store.set_divergence_threshold(company.id, minutes).await.map_err(refused)?;
    let choices: Vec<String> = form.choices.lines().map(str::to_string).collect();
    state.store.set_divergence_reason_choices(company.id, &choices).await.map_err(refused)?;
    Ok(Redirect::to(&format!("{}&done=settings", list_href(&company.code, &form.back))).into_response())
}

/// The list's address with the query it was shown with; only a query of its own fields is kept.
fn list_href(company_code: &str, back: &str) -> String {
    let kept: DivergenceQuery = serde_urlencoded::from_str(back).unwrap_or_default();
    let kept = DivergenceQuery { done: String::new(), encoding: String::new(), ..kept };
    format!(
        "/companies/{}/divergences?{}",
        href::path_segment(company_code),
        serde_urlencoded::to_string(&kept).unwrap_or_default()
    )
}

/// The list as CSV ([`crate::csv_cell::download`]; `encoding=utf8` asks for UTF-8).
pub(crate) async fn divergences_csv(
    State(state): State<AppState>,
    CompanyAdmin { page: CompanyPage { company, .. }, .. }: CompanyAdmin,
    Query(q): Query<DivergenceQuery>,
) -> Result<Response, UiError> {
    let tz = company.tz()?;
    let today = tz.to_datetime(Timestamp::now()).date();
    let (filter, from, to) = q.filter(today)?;
    let found = state.store.divergences(company.id, &filter).await?;
    let header = [
        "勤務日",
        "従業員コード",
        "従業員",
        "所属",
        "PC 最初の使用",
        "申告の出勤",
        "早出",
        "PC 最後の使用",
        "申告の退勤",
        "居残り",
        "理由",
        "記録者",
    ];
    let rows = found.into_iter().map(|d| {
        let name = d.full_name.clone();
        let line = DivergenceLine::new(&company.code, d, &tz);
        // A missing punch is an empty cell: the screen's "—" has no place in CP932.
        let cell = |s: String| if s == "—" { String::new() } else { s };
        vec![
            line.date_iso,
            line.employee_code,
            name,
            line.department,
            cell(line.pc_first),
            cell(line.declared_in),
            line.early,
            cell(line.pc_last),
            cell(line.declared_out),
            line.late,
            line.reason,
            line.recorded,
        ]
    });
    let utf8 = q.encoding == "utf8" || q.encoding == "utf-8";
    let (bytes, charset) = crate::csv_cell::download(&header, rows, utf8);
    Ok((
        [
            (header::CONTENT_TYPE, format!("text/csv; charset={charset}")),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"divergences-{}-{from}-{to}.csv\"", company.code),
            ),
        ],
        bytes,
    )
        .into_response())
}
