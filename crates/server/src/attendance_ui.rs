//! 勤革時 screens: 設定 > 組織 > 所属設定 (seed §2.2.1), 従業員設定 (seed §3.2.2), the time card
//! of an employee and month with its manual punches, and the time card CSV of a period.
//!
//! What must stay true:
//! - every screen goes through [`company_page`]: 404 for another company's administrator, and
//!   for ids or codes that are not the company's;
//! - every POST checks `same_origin` and the session's CSRF token before anything else;
//! - the settings screens change the attendance tables only; ログイン記録's users follow on
//!   連携実行 (manual or 03:00), never on their own;
//! - what an administrator changes is written to the audit log, shown in ログ表示;
//! - handlers validate what people type and answer in Japanese; rules (holidays, business
//!   days, punch derivation) live in `loginrec-rules` and the store.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use loginrec_rules::holidays::DayType;
use loginrec_rules::{DayChangeTime, EmployeeCode, PunchKind};
use loginrec_store::{Apply, DepartmentInput, EMPLOYMENT_TYPES, Employee, EmployeeDetails, PunchView, StoreError};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{SignedIn, same_origin};
use crate::format::{date_time_minutes, punch_cell};
use crate::timecard;
use crate::ui::{CompanyPage, company_page};
use crate::ui_error::UiError;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/companies/{code}/settings/departments", get(departments).post(create_department))
        .route("/companies/{code}/settings/departments/new", get(new_department))
        .route("/companies/{code}/settings/departments/{id}", get(edit_department).post(update_department))
        .route("/companies/{code}/settings/employees", get(employees).post(create_employee))
        .route("/companies/{code}/settings/employees/new", get(new_employee))
        .route("/companies/{code}/settings/employees/{id}", get(edit_employee).post(update_employee))
        .route("/companies/{code}/settings/employees/{id}/delete", post(delete_employee))
        .route("/companies/{code}/settings/employees/{id}/restore", post(restore_employee))
        .route("/companies/{code}/timecard.csv", get(timecard_csv))
        .route("/companies/{code}/timecard/{employee_code}", get(timecard_view))
        .route("/companies/{code}/timecard/{employee_code}/punch", post(manual_punch))
        .route("/companies/{code}/timecard/{employee_code}/punch/clear", post(clear_manual_punch))
}

/// Longest code (所属コード) and name accepted from the forms.
const MAX_CODE_CHARS: usize = 30;
const MAX_NAME_CHARS: usize = 50;
/// Longest period of one time card CSV download.
const MAX_CSV_DAYS: i32 = 366;

// ---- shared by 日別データ and the time card ----

/// 勤務日種別 as the pages show it: 平日, 休日 or 祝日 (name).
pub(crate) fn day_type_label(date: Date) -> String {
    DayType::of(date).label_ja()
}

/// The error a day's punches show: 打刻方法混在 when 出勤 and 退勤 were made by different
/// methods, 打刻漏れ when a past day has only one of them.
pub(crate) fn day_error(
    clock_in: Option<&PunchView>,
    clock_out: Option<&PunchView>,
    date: Date,
    today: Date,
) -> &'static str {
    match (clock_in, clock_out) {
        (Some(i), Some(o)) if i.method != o.method => "打刻方法混在",
        (Some(_), None) | (None, Some(_)) if date < today => "打刻漏れ",
        _ => "",
    }
}

/// Minutes between 出勤 and 退勤, when both exist in that order.
pub(crate) fn worked_minutes(clock_in: Option<&PunchView>, clock_out: Option<&PunchView>) -> Option<i64> {
    match (clock_in, clock_out) {
        (Some(i), Some(o)) if o.at_ms >= i.at_ms => Some((o.at_ms - i.at_ms) / 60_000),
        _ => None,
    }
}

fn hours_minutes(minutes: i64) -> String {
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

/// The time card of an employee for the month of `date`.
pub(crate) fn timecard_href(company_code: &str, employee_code: &str, date: Date) -> String {
    format!(
        "/companies/{}/timecard/{}?month={}",
        path_segment(company_code),
        path_segment(employee_code),
        date.strftime("%Y-%m")
    )
}

/// Percent-encodes everything but unreserved characters, for one path segment.
pub(crate) fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse_id(id: &str) -> Result<i64, UiError> {
    id.parse().map_err(|_| UiError::NotFound)
}

struct SelectOption {
    value: String,
    label: String,
    selected: bool,
}

fn numbers(range: std::ops::RangeInclusive<u8>, selected: u8) -> Vec<SelectOption> {
    range.map(|n| SelectOption { value: n.to_string(), label: format!("{n:02}"), selected: n == selected }).collect()
}

#[derive(Deserialize)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    deleted: String,
}

// ---- 所属設定 ----

struct DepartmentLine {
    id: i64,
    code: String,
    name: String,
    day_change: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_departments.html")]
pub(crate) struct DepartmentsPage {
    company_code: String,
    company_name: String,
    csrf: String,
    problems: usize,
    message: String,
    departments: Vec<DepartmentLine>,
}

pub(crate) async fn departments(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(code): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<DepartmentsPage, UiError> {
    let CompanyPage { company, csrf, problems } = company_page(&state, &signed_in, &code).await?;
    let departments = state
        .store
        .department_list(company.id)
        .await?
        .into_iter()
        .map(|d| DepartmentLine { id: d.id, code: d.code, name: d.name, day_change: d.day_change.to_string() })
        .collect();
    let message = match q.done.as_str() {
        "created" => "所属を登録しました。",
        "updated" => "所属を変更しました。",
        _ => "",
    };
    Ok(DepartmentsPage {
        company_code: company.code,
        company_name: company.name,
        csrf,
        problems,
        message: message.into(),
        departments,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_department_form.html")]
pub(crate) struct DepartmentFormPage {
    company_code: String,
    company_name: String,
    csrf: String,
    heading: &'static str,
    action: String,
    errors: Vec<String>,
    code: String,
    name: String,
    hours: Vec<SelectOption>,
    minutes: Vec<SelectOption>,
    /// Editing only: 適用開始日 of a changed 日付変更時間.
    editing: bool,
    effective_from: String,
    /// The employee-days saving would change, shown before saving.
    preview: Vec<crate::format::ChangeRow>,
    /// 日付変更時間 over time: (適用開始, time).
    history: Vec<(String, String)>,
}

#[derive(Deserialize)]
pub(crate) struct DepartmentForm {
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    hour: String,
    #[serde(default)]
    minute: String,
    /// 適用開始日 (`YYYY-MM-DD`); empty: the department's current business date.
    #[serde(default)]
    effective_from: String,
    /// `1` once the administrator has seen the preview.
    #[serde(default)]
    confirm: String,
}

/// 適用開始日 as typed: empty is the default, anything else must be a date.
fn effective_date(typed: &str) -> Result<Option<Date>, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    typed.parse::<Date>().map(Some).map_err(|_| format!("適用開始日は YYYY-MM-DD で入力してください (入力: {typed})。"))
}

impl DepartmentForm {
    /// The department typed, or every problem with it.
    fn input(&self) -> Result<DepartmentInput, Vec<String>> {
        let mut errors = Vec::new();
        let code = self.code.trim();
        if code.is_empty() {
            errors.push("所属コードを入力してください。".to_string());
        } else if code.chars().count() > MAX_CODE_CHARS || code.chars().any(|c| c.is_whitespace() || c.is_control()) {
            errors.push(format!("所属コードは空白を含まない {MAX_CODE_CHARS} 文字以内で入力してください。"));
        }
        let name = self.name.trim();
        if name.is_empty() {
            errors.push("所属名を入力してください。".to_string());
        } else if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            errors.push(format!("所属名は {MAX_NAME_CHARS} 文字以内で入力してください。"));
        }
        let hour = if self.hour.trim().is_empty() { Some(0) } else { self.hour.trim().parse::<u8>().ok() };
        let minute = if self.minute.trim().is_empty() { Some(0) } else { self.minute.trim().parse::<u8>().ok() };
        let day_change = match (hour, minute) {
            (Some(h), Some(m)) => DayChangeTime::from_hm(h, m).ok(),
            _ => None,
        };
        if day_change.is_none() {
            errors.push(format!(
                "日付変更時間は 00:00〜23:59 の範囲で指定してください ({}:{} は指定できません)。",
                self.hour.trim(),
                self.minute.trim()
            ));
        }
        match day_change {
            Some(day_change) if errors.is_empty() => {
                Ok(DepartmentInput { code: code.to_string(), name: name.to_string(), day_change })
            }
            _ => Err(errors),
        }
    }

    /// The form again with what was typed and what is wrong with it.
    fn page(self, page: CompanyPage, id: Option<i64>, errors: Vec<String>) -> Response {
        let values = DepartmentValues {
            hour: self.hour.trim().parse().unwrap_or(0),
            minute: self.minute.trim().parse().unwrap_or(0),
            code: self.code,
            name: self.name,
            effective_from: self.effective_from,
        };
        (StatusCode::BAD_REQUEST, department_form(page, id, values, errors)).into_response()
    }
}

struct DepartmentValues {
    code: String,
    name: String,
    hour: u8,
    minute: u8,
    effective_from: String,
}

fn department_form(
    page: CompanyPage,
    id: Option<i64>,
    values: DepartmentValues,
    errors: Vec<String>,
) -> DepartmentFormPage {
    let CompanyPage { company, csrf, .. } = page;
    let base = format!("/companies/{}/settings/departments", path_segment(&company.code));
    DepartmentFormPage {
        heading: if id.is_some() { "所属の編集" } else { "所属の登録" },
        action: match id {
            Some(id) => format!("{base}/{id}"),
            None => base,
        },
        company_code: company.code,
        company_name: company.name,
        csrf,
        errors,
        code: values.code,
        name: values.name,
        hours: numbers(0..=23, values.hour),
        minutes: numbers(0..=59, values.minute),
        editing: id.is_some(),
        effective_from: values.effective_from,
        preview: Vec::new(),
        history: Vec::new(),
    }
}

pub(crate) async fn new_department(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(code): Path<String>,
) -> Result<DepartmentFormPage, UiError> {
    let page = company_page(&state, &signed_in, &code).await?;
    let values = DepartmentValues {
        code: String::new(),
        name: String::new(),
        hour: 0,
        minute: 0,
        effective_from: String::new(),
    };
    Ok(department_form(page, None, values, Vec::new()))
}

/// A fix proposed elsewhere (診断 §5.2.1): the time and 適用開始日 to fill in.
#[derive(Deserialize)]
pub(crate) struct DepartmentProposal {
    hour: Option<u8>,
    minute: Option<u8>,
    #[serde(default)]
    effective_from: String,
}

pub(crate) async fn edit_department(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path((code, id)): Path<(String, String)>,
    Query(proposal): Query<DepartmentProposal>,
) -> Result<DepartmentFormPage, UiError> {
    let page = company_page(&state, &signed_in, &code).await?;
    let d = state.store.department(page.company.id, parse_id(&id)?).await?.ok_or(UiError::NotFound)?;
    let values = DepartmentValues {
        hour: proposal.hour.filter(|h| *h < 24).unwrap_or(d.day_change.hour()),
        minute: proposal.minute.filter(|m| *m < 60).unwrap_or(d.day_change.minute()),
        code: d.code,
        name: d.name,
        effective_from: proposal.effective_from.chars().filter(|c| c.is_ascii_digit() || *c == '-').collect(),
    };
    let history = state.store.department_day_change_history(page.company.id, d.id).await?;
    let mut form = department_form(page, Some(d.id), values, Vec::new());
    form.history = history.into_iter().map(|(from, change)| (from_label(from), change.to_string())).collect();
    Ok(form)
}

fn taken_department_code(code: &str) -> String {
    format!("所属コード {code} はすでに使われています。別のコードを入力してください。")
}

pub(crate) async fn create_department(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path(code): Path<String>,
    Form(form): Form<DepartmentForm>,
) -> Result<Response, UiError> {
    same_origin(&headers, state.behind_proxy)?;
    signed_in.check_csrf(&form.csrf)?;
    let page = company_page(&state, &signed_in, &code).await?;
    let input = match form.input() {
        Ok(input) => input,
        Err(errors) => return Ok(form.page(page, None, errors)),
    };
    match state.store.create_department(page.company.id, &input).await {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => return Ok(form.page(page, None, vec![taken_department_code(&input.code)])),
        Err(e) => return Err(e.into()),
    }
    let company = page.company;
    let detail = format!("{} {} 日付変更時間 {}", input.code, input.name, input.day_change);
    state.store.audit(company.id, &signed_in.actor(), "所属設定 (登録)", &detail).await?;
    let target = format!("/companies/{}/settings/departments?done=created", path_segment(&company.code));
    Ok(Redirect::to(&target).into_response())
}

pub(crate) async fn update_department(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path((code, id)): Path<(String, String)>,
    Form(form): Form<DepartmentForm>,
) -> Result<Response, UiError> {
    same_origin(&headers, state.behind_proxy)?;
    signed_in.check_csrf(&form.csrf)?;
    let page = company_page(&state, &signed_in, &code).await?;
    let before = state.store.department(page.company.id, parse_id(&id)?).await?.ok_or(UiError::NotFound)?;
    let input = match form.input() {
        Ok(input) => input,
        Err(errors) => return Ok(form.page(page, Some(before.id), errors)),
    };
    let from = match effective_date(&form.effective_from) {
        Ok(from) => from,
        Err(e) => return Ok(form.page(page, Some(before.id), vec![e])),
    };
    // What saving would change, before it is saved: the change itself, rolled back.
    let apply = if form.confirm == "1" { Apply::Commit } else { Apply::Preview };
    let recomputed = match state.store.update_department_from(page.company.id, before.id, &input, from, apply).await {
        Ok(recomputed) => recomputed,
        Err(StoreError::Conflict(_)) => {
            return Ok(form.page(page, Some(before.id), vec![taken_department_code(&input.code)]));
        }
        Err(StoreError::NotFound(_)) => return Err(UiError::NotFound),
        Err(e) => return Err(e.into()),
    };
    if apply == Apply::Preview {
        if !recomputed.changes.is_empty() {
            let tz = page.company.tz()?;
            let values = DepartmentValues {
                hour: input.day_change.hour(),
                minute: input.day_change.minute(),
                code: form.code,
                name: form.name,
                effective_from: form.effective_from,
            };
            let mut confirm = department_form(page, Some(before.id), values, Vec::new());
            confirm.preview = crate::format::change_rows(&recomputed.changes, &tz);
            return Ok(confirm.into_response());
        }
        state.store.update_department_from(page.company.id, before.id, &input, from, Apply::Commit).await?;
    }
    let company = page.company;
    let mut detail = format!("{} {}", input.code, input.name);
    if before.code != input.code || before.name != input.name {
        detail = format!("{} {} → {detail}", before.code, before.name);
    }
    if before.day_change != input.day_change {
        let from = from.map(|d| d.to_string()).unwrap_or_else(|| "現在の勤務日".to_string());
        detail.push_str(&format!(
            " 日付変更時間 {} → {} (適用開始 {from}、{} 日の打刻が変わりました)",
            before.day_change,
            input.day_change,
            recomputed.changes.len()
        ));
    }
    state.store.audit(company.id, &signed_in.actor(), "所属設定 (変更)", &detail).await?;
    let target = format!("/companies/{}/settings/departments?done=updated", path_segment(&company.code));
    Ok(Redirect::to(&target).into_response())
}

// ---- 従業員設定 ----

struct EmployeeLine {
    id: i64,
    code: String,
    name: String,
    department: String,
    employment_type: String,
    deleted: bool,
    deleted_at: String,
    timecard_href: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_employees.html")]
pub(crate) struct EmployeesPage {
    company_code: String,
    company_name: String,
    csrf: String,
    problems: usize,
    message: String,
    error: String,
    show_deleted: bool,
    employees: Vec<EmployeeLine>,
}

async fn employees_page(
    state: &AppState,
    page: CompanyPage,
    show_deleted: bool,
    message: &str,
    error: String,
) -> Result<EmployeesPage, UiError> {
    let CompanyPage { company, csrf, problems } = page;
    let tz = company.tz()?;
    let today = tz.to_datetime(Timestamp::now()).date();
    let employees = state
        .store
        .employee_list(company.id, show_deleted)
        .await?
        .into_iter()
        .map(|e| EmployeeLine {
            timecard_href: timecard_href(&company.code, &e.code, today),
            id: e.id,
            name: e.full_name(),
            department: format!("{} {}", e.department_code, e.department_name),
            deleted: e.deleted_at_ms.is_some(),
            deleted_at: e.deleted_at_ms.map(|ms| date_time_minutes(ms, &tz)).unwrap_or_default(),
            code: e.code,
            employment_type: e.employment_type,
        })
        .collect();
    Ok(EmployeesPage {
        company_code: company.code,
        company_name: company.name,
        csrf,
        problems,
        message: message.into(),
        error,
        show_deleted,
        employees,
    })
}

pub(crate) async fn employees(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(code): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<EmployeesPage, UiError> {
    let page = company_page(&state, &signed_in, &code).await?;
    let message = match q.done.as_str() {
        "created" => "従業員を登録しました。ログイン記録には次の連携実行で反映されます。",
        "updated" => "従業員を変更しました。ログイン記録には次の連携実行で反映されます。",
        "deleted" => "従業員を削除しました。ログイン記録には次の連携実行で反映されます。",
        "restored" => "従業員を復帰しました。ログイン記録には次の連携実行で反映されます。",
        _ => "",
    };
    employees_page(&state, page, q.deleted == "1", message, String::new()).await
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_employee_form.html")]
pub(crate) struct EmployeeFormPage {
    company_code: String,
    company_name: String,
    csrf: String,
    heading: &'static str,
    action: String,
    errors: Vec<String>,
    code: String,
    last_name: String,
    first_name: String,
    departments: Vec<SelectOption>,
    employment_types: Vec<SelectOption>,
    /// Editing only: 適用開始日 of a changed 所属.
    editing: bool,
    effective_from: String,
    preview: Vec<crate::format::ChangeRow>,
    /// 所属 over time: (適用開始, department).
    history: Vec<(String, String)>,
}

#[derive(Deserialize)]
pub(crate) struct EmployeeForm {
    csrf: String,
    /// 適用開始日 of a changed 所属 (`YYYY-MM-DD`); empty: the employee's current business date.
    #[serde(default)]
    effective_from: String,
    /// `1` once the administrator has seen the preview.
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    department_code: String,
    #[serde(default)]
    employment_type: String,
}

impl EmployeeForm {
    /// The employee typed, or every problem with it. `current_type` (the employee's 雇用区分
    /// when edited) is accepted even when it is not in the fixed list.
    fn details(&self, current_type: Option<&str>) -> Result<EmployeeDetails, Vec<String>> {
        let mut errors = Vec::new();
        let code = self.code.trim();
        if code.is_empty() {
            errors.push("従業員コードを入力してください。".to_string());
        } else if EmployeeCode::parse(code).is_err() {
            errors.push(format!("従業員コードは空白を含まない {} 文字以内で入力してください。", EmployeeCode::MAX_LEN));
        }
        for (value, label) in [(&self.last_name, "姓"), (&self.first_name, "名")] {
            let value = value.trim();
            if value.is_empty() {
                errors.push(format!("{label}を入力してください。"));
            } else if value.chars().count() > MAX_NAME_CHARS || value.chars().any(char::is_control) {
                errors.push(format!("{label}は {MAX_NAME_CHARS} 文字以内で入力してください。"));
            }
        }
        if self.department_code.is_empty() {
            errors.push("所属を選択してください。".to_string());
        }
        let employment_type = self.employment_type.trim();
        if !(EMPLOYMENT_TYPES.contains(&employment_type) || current_type == Some(employment_type)) {
            errors.push(format!("雇用区分は {} から選択してください。", EMPLOYMENT_TYPES.join("、")));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(EmployeeDetails {
            code: code.to_string(),
            last_name: self.last_name.trim().to_string(),
            first_name: self.first_name.trim().to_string(),
            department_code: self.department_code.clone(),
            employment_type: employment_type.to_string(),
        })
    }
}

struct EmployeeFormValues {
    code: String,
    last_name: String,
    first_name: String,
    department_code: String,
    employment_type: String,
    effective_from: String,
}

async fn employee_form(
    state: &AppState,
    page: CompanyPage,
    id: Option<i64>,
    values: EmployeeFormValues,
    errors: Vec<String>,
) -> Result<EmployeeFormPage, UiError> {
    let CompanyPage { company, csrf, .. } = page;
    let departments = state
        .store
        .department_list(company.id)
        .await?
        .into_iter()
        .map(|d| SelectOption {
            selected: d.code == values.department_code,
            label: format!("{} {}", d.code, d.name),
            value: d.code,
        })
        .collect();
    let mut types: Vec<&str> = EMPLOYMENT_TYPES.to_vec();
    if !values.employment_type.is_empty() && !types.contains(&values.employment_type.as_str()) {
        types.push(&values.employment_type);
    }
    let employment_types = types
        .into_iter()
        .map(|t| SelectOption { value: t.into(), label: t.into(), selected: t == values.employment_type })
        .collect();
    let base = format!("/companies/{}/settings/employees", path_segment(&company.code));
    Ok(EmployeeFormPage {
        heading: if id.is_some() { "従業員の編集" } else { "従業員の登録" },
        action: match id {
            Some(id) => format!("{base}/{id}"),
            None => base,
        },
        company_code: company.code,
        company_name: company.name,
        csrf,
        errors,
        code: values.code,
        last_name: values.last_name,
        first_name: values.first_name,
        departments,
        employment_types,
        editing: id.is_some(),
        effective_from: values.effective_from,
        preview: Vec::new(),
        history: Vec::new(),
    })
}

impl From<EmployeeForm> for EmployeeFormValues {
    fn from(f: EmployeeForm) -> Self {
        EmployeeFormValues {
            code: f.code,
            last_name: f.last_name,
            first_name: f.first_name,
            department_code: f.department_code,
            employment_type: f.employment_type,
            effective_from: f.effective_from,
        }
    }
}

impl From<Employee> for EmployeeFormValues {
    fn from(e: Employee) -> Self {
        EmployeeFormValues {
            code: e.code,
            last_name: e.last_name,
            first_name: e.first_name,
            department_code: e.department_code,
            employment_type: e.employment_type,
            effective_from: String::new(),
        }
    }
}

pub(crate) async fn new_employee(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(code): Path<String>,
) -> Result<EmployeeFormPage, UiError> {
    let page = company_page(&state, &signed_in, &code).await?;
    let values = EmployeeFormValues {
        code: String::new(),
        last_name: String::new(),
        first_name: String::new(),
        department_code: String::new(),
        employment_type: EMPLOYMENT_TYPES[0].into(),
        effective_from: String::new(),
    };
    employee_form(&state, page, None, values, Vec::new()).await
}

pub(crate) async fn edit_employee(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path((code, id)): Path<(String, String)>,
) -> Result<EmployeeFormPage, UiError> {
    let page = company_page(&state, &signed_in, &code).await?;
    let employee = state.store.employee(page.company.id, parse_id(&id)?).await?.ok_or(UiError::NotFound)?;
    if employee.deleted_at_ms.is_some() {
        return Err(UiError::BadRequest("削除済みの従業員は編集できません。先に復帰してください。".into()));
    }
    let id = employee.id;
    let history = state.store.employee_department_history(page.company.id, id).await?;
    let mut form = employee_form(&state, page, Some(id), employee.into(), Vec::new()).await?;
    form.history = history.into_iter().map(|(from, department)| (from_label(from), department)).collect();
    Ok(form)
}

/// `2024-02-01 から`, or `最初から` for the first entry of a history.
fn from_label(from: Option<Date>) -> String {
    match from {
        Some(d) => format!("{d} から"),
        None => "最初から".to_string(),
    }
}

fn taken_employee_code(code: &str) -> String {
    format!("従業員コード {code} はほかの従業員が使用しています。別のコードを入力してください。")
}

/// Maps what the store refused to the form's messages.
fn employee_store_error(e: StoreError, details: &EmployeeDetails) -> Result<Vec<String>, UiError> {
    match e {
        StoreError::Conflict(_) => Ok(vec![taken_employee_code(&details.code)]),
        StoreError::NotFound(what) if what.starts_with("所属") => Ok(vec!["所属を選択してください。".into()]),
        StoreError::NotFound(_) => Err(UiError::NotFound),
        e => Err(e.into()),
    }
}

pub(crate) async fn create_employee(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path(code): Path<String>,
    Form(form): Form<EmployeeForm>,
) -> Result<Response, UiError> {
    same_origin(&headers, state.behind_proxy)?;
    signed_in.check_csrf(&form.csrf)?;
    let page = company_page(&state, &signed_in, &code).await?;
    let company_id = page.company.id;
    let company_code = page.company.code.clone();
    let errors = match form.details(None) {
        Ok(details) => match state.store.create_employee(company_id, &details).await {
            Ok(_) => {
                let detail = format!("{} {} {}", details.code, details.last_name, details.first_name);
                state.store.audit(company_id, &signed_in.actor(), "従業員設定 (登録)", &detail).await?;
                let target = format!("/companies/{}/settings/employees?done=created", path_segment(&company_code));
                return Ok(Redirect::to(&target).into_response());
            }
            Err(e) => employee_store_error(e, &details)?,
        },
        Err(errors) => errors,
    };
    let page = employee_form(&state, page, None, form.into(), errors).await?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

pub(crate) async fn update_employee(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path((code, id)): Path<(String, String)>,
    Form(form): Form<EmployeeForm>,
) -> Result<Response, UiError> {
    same_origin(&headers, state.behind_proxy)?;
    signed_in.check_csrf(&form.csrf)?;
    let page = company_page(&state, &signed_in, &code).await?;
    let company_id = page.company.id;
    let company_code = page.company.code.clone();
    let before = state.store.employee(company_id, parse_id(&id)?).await?.ok_or(UiError::NotFound)?;
    if before.deleted_at_ms.is_some() {
        return Err(UiError::BadRequest("削除済みの従業員は編集できません。先に復帰してください。".into()));
    }
    let from = match effective_date(&form.effective_from) {
        Ok(from) => from,
        Err(e) => {
            let page = employee_form(&state, page, Some(before.id), form.into(), vec![e]).await?;
            return Ok((StatusCode::BAD_REQUEST, page).into_response());
        }
    };
    // What saving would change, before it is saved: the change itself, rolled back.
    let apply = if form.confirm == "1" { Apply::Commit } else { Apply::Preview };
    let errors = match form.details(Some(&before.employment_type)) {
        Ok(details) => match state.store.update_employee_from(company_id, before.id, &details, from, apply).await {
            Ok(recomputed) if apply == Apply::Preview && !recomputed.changes.is_empty() => {
                let tz = page.company.tz()?;
                let mut confirm = employee_form(&state, page, Some(before.id), form.into(), Vec::new()).await?;
                confirm.preview = crate::format::change_rows(&recomputed.changes, &tz);
                return Ok(confirm.into_response());
            }
            Ok(recomputed) => {
                let recomputed = if apply == Apply::Preview {
                    state.store.update_employee_from(company_id, before.id, &details, from, Apply::Commit).await?
                } else {
                    recomputed
                };
                let mut detail = format!(
                    "{} {} → {} {} {} {} {}",
                    before.code,
                    before.full_name(),
                    details.code,
                    details.last_name,
                    details.first_name,
                    details.department_code,
                    details.employment_type
                );
                if before.department_code != details.department_code {
                    let from = from.map(|d| d.to_string()).unwrap_or_else(|| "現在の勤務日".to_string());
                    detail.push_str(&format!(
                        " 所属 {} → {} (適用開始 {from}、{} 日の打刻が変わりました)",
                        before.department_code,
                        details.department_code,
                        recomputed.changes.len()
                    ));
                }
                state.store.audit(company_id, &signed_in.actor(), "従業員設定 (変更)", &detail).await?;
                let target = format!("/companies/{}/settings/employees?done=updated", path_segment(&company_code));
                return Ok(Redirect::to(&target).into_response());
            }
            Err(e) => employee_store_error(e, &details)?,
        },
        Err(errors) => errors,
    };
    let page = employee_form(&state, page, Some(before.id), form.into(), errors).await?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    csrf: String,
}

pub(crate) async fn delete_employee(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path((code, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, UiError> {
    same_origin(&headers, state.behind_proxy)?;
    signed_in.check_csrf(&form.csrf)?;
    let CompanyPage { company, .. } = company_page(&state, &signed_in, &code).await?;
    let employee = state.store.employee(company.id, parse_id(&id)?).await?.ok_or(UiError::NotFound)?;
    match state.store.delete_employee(company.id, employee.id).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Err(UiError::BadRequest("この従業員はすでに削除されています。".into())),
        Err(e) => return Err(e.into()),
    }
    let detail = format!("{} {}", employee.code, employee.full_name());
    state.store.audit(company.id, &signed_in.actor(), "従業員設定 (削除)", &detail).await?;
    let target = format!("/companies/{}/settings/employees?done=deleted", path_segment(&company.code));
    Ok(Redirect::to(&target).into_response())
}

pub(crate) async fn restore_employee(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path((code, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, UiError> {
    same_origin(&headers, state.behind_proxy)?;
    signed_in.check_csrf(&form.csrf)?;
    let page = company_page(&state, &signed_in, &code).await?;
    let company_id = page.company.id;
    let company_code = page.company.code.clone();
    let employee = state.store.employee(company_id, parse_id(&id)?).await?.ok_or(UiError::NotFound)?;
    match state.store.restore_employee(company_id, employee.id).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            let holder = state
                .store
                .employee_by_code(company_id, &employee.code)
                .await?
                .filter(|e| e.deleted_at_ms.is_none())
                .map(|e| format!(" ({})", e.full_name()))
                .unwrap_or_default();
            let error = format!(
                "{} {} は復帰できません: 従業員コード {} は現在ほかの従業員{holder}が使用しています。\
                 その従業員の従業員コードを変更してから、もう一度復帰してください。",
                employee.code,
                employee.full_name(),
                employee.code
            );
            let page = employees_page(&state, page, true, "", error).await?;
            return Ok((StatusCode::CONFLICT, page).into_response());
        }
        Err(StoreError::NotFound(_)) => return Err(UiError::BadRequest("この従業員は削除されていません。".into())),
        Err(e) => return Err(e.into()),
    }
    let detail = format!("{} {}", employee.code, employee.full_name());
    state.store.audit(company_id, &signed_in.actor(), "従業員設定 (復帰)", &detail).await?;
    let target = format!("/companies/{}/settings/employees?done=restored", path_segment(&company_code));
    Ok(Redirect::to(&target).into_response())
}

// ---- タイムカード ----

#[derive(Deserialize)]
pub(crate) struct MonthQuery {
    #[serde(default)]
    month: String,
    #[serde(default)]
    done: String,
}

struct TimecardLine {
    date: String,
    date_label: String,
    day_type: String,
    clock_in: String,
    clock_out: String,
    worked: String,
    error: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "timecard.html")]
pub(crate) struct TimecardPage {
    company_code: String,
    company_name: String,
    csrf: String,
    problems: usize,
    message: String,
    employee_code: String,
    employee_path: String,
    employee_name: String,
    department: String,
    employment_type: String,
    deleted: bool,
    month: String,
    month_label: String,
    prev_month: String,
    next_month: String,
    rows: Vec<TimecardLine>,
    total: String,
    worked_days: usize,
    form_date: String,
    form_at: String,
    csv_from: String,
    csv_to: String,
}

const WEEKDAYS_JA: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];

fn parse_month(s: &str) -> Option<Date> {
    let (y, m) = s.trim().split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    Date::new(y.parse().ok()?, m.parse().ok()?, 1).ok()
}

pub(crate) async fn timecard_view(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path((code, employee_code)): Path<(String, String)>,
    Query(q): Query<MonthQuery>,
) -> Result<TimecardPage, UiError> {
    let CompanyPage { company, csrf, problems } = company_page(&state, &signed_in, &code).await?;
    let employee = state.store.employee_by_code(company.id, &employee_code).await?.ok_or(UiError::NotFound)?;
    let tz = company.tz()?;
    let today = tz.to_datetime(Timestamp::now()).date();
    let first = match q.month.as_str() {
        "" => today.first_of_month(),
        m => parse_month(m).ok_or_else(|| UiError::BadRequest(format!("月は YYYY-MM で指定してください: {m}")))?,
    };
    let last = first.last_of_month();
    let punches = state.store.employee_timecard(company.id, employee.id, first, last).await?;
    let mut rows = Vec::new();
    let mut total = 0;
    let mut worked_days = 0;
    let mut day = first;
    while day <= last {
        let found = punches.iter().find(|p| p.business_date == day);
        let clock_in = found.and_then(|p| p.clock_in.as_ref());
        let clock_out = found.and_then(|p| p.clock_out.as_ref());
        let worked = worked_minutes(clock_in, clock_out);
        if let Some(m) = worked {
            total += m;
            worked_days += 1;
        }
        let cell = |p: Option<&PunchView>| p.map(|p| punch_cell(&p.method, p.at_ms, &tz)).unwrap_or_default();
        rows.push(TimecardLine {
            date: day.to_string(),
            date_label: format!(
                "{}({})",
                day.strftime("%m/%d"),
                WEEKDAYS_JA[day.weekday().to_monday_zero_offset() as usize]
            ),
            day_type: day_type_label(day),
            clock_in: cell(clock_in),
            clock_out: cell(clock_out),
            worked: worked.map(hours_minutes).unwrap_or_default(),
            error: day_error(clock_in, clock_out, day, today),
        });
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    let form_date = if today.first_of_month() == first { today } else { first };
    let message = match q.done.as_str() {
        "punched" => "打刻を保存しました。",
        "cleared" => "手入力の打刻を削除しました。",
        _ => "",
    };
    Ok(TimecardPage {
        company_code: company.code,
        company_name: company.name,
        csrf,
        problems,
        message: message.into(),
        employee_path: path_segment(&employee.code),
        employee_name: employee.full_name(),
        department: format!("{} {}", employee.department_code, employee.department_name),
        employment_type: employee.employment_type,
        deleted: employee.deleted_at_ms.is_some(),
        employee_code: employee.code,
        month: first.strftime("%Y-%m").to_string(),
        month_label: first.strftime("%Y年%m月").to_string(),
        prev_month: first.checked_sub(1.month()).unwrap_or(first).strftime("%Y-%m").to_string(),
        next_month: first.checked_add(1.month()).unwrap_or(first).strftime("%Y-%m").to_string(),
        rows,
        total: hours_minutes(total),
        worked_days,
        form_at: format!("{form_date}T09:00"),
        form_date: form_date.to_string(),
        csv_from: first.to_string(),
        csv_to: last.to_string(),
    })
}

#[derive(Deserialize)]
pub(crate) struct PunchForm {
    csrf: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    at: String,
}

impl PunchForm {
    /// 勤務日 and 種別 as chosen.
    fn day_and_kind(&self) -> Result<(Date, PunchKind), UiError> {
        let date: Date =
            self.date.trim().parse().map_err(|_| UiError::BadRequest(format!("勤務日が不正です: {}", self.date)))?;
        let kind = match self.kind.as_str() {
            "1" | "in" => PunchKind::ClockIn,
            "2" | "out" => PunchKind::ClockOut,
            other => return Err(UiError::BadRequest(format!("種別は出勤か退勤を選択してください: {other}"))),
        };
        Ok((date, kind))
    }
}

/// A `datetime-local` value: `YYYY-MM-DDTHH:MM` (seconds allowed, a space for the `T` too).
fn parse_local(s: &str) -> Option<DateTime> {
    s.trim().replacen(' ', "T", 1).parse().ok()
}

fn to_millis(at: DateTime, tz: &TimeZone) -> Option<i64> {
    loginrec_rules::local_instant(at, tz).map(|t| t.as_millisecond())
}

/// Clears a 手入力 punch: the day gets back what PC logs and the API say.
pub(crate) async fn clear_manual_punch(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path((code, employee_code)): Path<(String, String)>,
    Form(form): Form<PunchForm>,
) -> Result<Response, UiError> {
    same_origin(&headers, state.behind_proxy)?;
    signed_in.check_csrf(&form.csrf)?;
    let CompanyPage { company, .. } = company_page(&state, &signed_in, &code).await?;
    let employee = state.store.employee_by_code(company.id, &employee_code).await?.ok_or(UiError::NotFound)?;
    let (date, kind) = form.day_and_kind()?;
    match state.store.clear_manual_punch(company.id, &employee.code, date, kind, &signed_in.actor()).await {
        Ok(_) => {}
        Err(StoreError::NotFound(_)) => {
            return Err(UiError::BadRequest(format!("{date} に手入力の{}はありません。", kind.label_ja())));
        }
        Err(e) => return Err(e.into()),
    }
    let target = format!("{}&done=cleared", timecard_href(&company.code, &employee.code, date));
    Ok(Redirect::to(&target).into_response())
}

/// Enters or corrects a punch by hand (`手入力`).
pub(crate) async fn manual_punch(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path((code, employee_code)): Path<(String, String)>,
    Form(form): Form<PunchForm>,
) -> Result<Response, UiError> {
    same_origin(&headers, state.behind_proxy)?;
    signed_in.check_csrf(&form.csrf)?;
    let CompanyPage { company, .. } = company_page(&state, &signed_in, &code).await?;
    let employee = state.store.employee_by_code(company.id, &employee_code).await?.ok_or(UiError::NotFound)?;
    if employee.deleted_at_ms.is_some() {
        return Err(UiError::BadRequest("削除済みの従業員には打刻できません。".into()));
    }
    let tz = company.tz()?;
    let (date, kind) = form.day_and_kind()?;
    let at = parse_local(&form.at)
        .ok_or_else(|| UiError::BadRequest(format!("日時は YYYY-MM-DD HH:MM で入力してください: {}", form.at)))?;
    let next_day = date.tomorrow().unwrap_or(date);
    if at.date() != date && at.date() != next_day {
        return Err(UiError::BadRequest(format!(
            "日時は勤務日 {date} の当日か翌日にしてください (入力: {}).",
            at.strftime("%Y-%m-%d %H:%M")
        )));
    }
    let at_ms = to_millis(at, &tz).ok_or_else(|| UiError::BadRequest("日時が不正です。".into()))?;
    let day = state.store.employee_timecard(company.id, employee.id, date, date).await?;
    let day = day.first();
    let out_of_order = match kind {
        PunchKind::ClockIn => day.and_then(|d| d.clock_out.as_ref()).is_some_and(|o| o.at_ms < at_ms),
        PunchKind::ClockOut => day.and_then(|d| d.clock_in.as_ref()).is_some_and(|i| i.at_ms > at_ms),
    };
    if out_of_order {
        return Err(UiError::BadRequest("退勤は出勤より後の時刻にしてください。".into()));
    }
    match state.store.set_manual_punch(company.id, &employee.code, date, kind, at_ms, &signed_in.actor()).await {
        Ok(_) => {}
        Err(StoreError::NotFound(_)) => return Err(UiError::NotFound),
        Err(e) => return Err(e.into()),
    }
    let target = format!("{}&done=punched", timecard_href(&company.code, &employee.code, date));
    Ok(Redirect::to(&target).into_response())
}

#[derive(Deserialize)]
pub(crate) struct PeriodQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// The time card CSV of a period, as `loginrec timecard export` writes it, UTF-8 with BOM.
pub(crate) async fn timecard_csv(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(code): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, UiError> {
    let CompanyPage { company, .. } = company_page(&state, &signed_in, &code).await?;
    let parse = |s: &str, label: &str| -> Result<Date, UiError> {
        s.trim().parse().map_err(|_| UiError::BadRequest(format!("{label}を YYYY-MM-DD で指定してください: {s}")))
    };
    let from = parse(&q.from, "期間の開始日")?;
    let to = parse(&q.to, "期間の終了日")?;
    if to < from {
        return Err(UiError::BadRequest(format!("期間の終了日 {to} が開始日 {from} より前です。")));
    }
    if from.until(to).map(|span| span.get_days()).unwrap_or(i32::MAX) >= MAX_CSV_DAYS {
        return Err(UiError::BadRequest(format!("期間は {MAX_CSV_DAYS} 日以内で指定してください。")));
    }
    let rows = state.store.timecard(company.id, from, to).await?;
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(timecard::render(&rows, &company.tz()?).as_bytes());
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"timecard-{}-{from}-{to}.csv\"", company.code),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn punch(method: &str, at_ms: i64) -> PunchView {
        PunchView { at_ms, method: method.into() }
    }

    #[test]
    fn a_past_day_with_one_punch_misses_a_punch_and_today_does_not_yet() {
        let today = date(2024, 2, 9);
        let p = punch("PC", 0);
        assert_eq!(day_error(Some(&p), None, date(2024, 2, 8), today), "打刻漏れ");
        assert_eq!(day_error(None, Some(&p), date(2024, 2, 8), today), "打刻漏れ");
        assert_eq!(day_error(Some(&p), None, today, today), "");
        assert_eq!(day_error(None, None, date(2024, 2, 8), today), "");
    }

    #[test]
    fn punches_of_different_methods_are_marked_mixed() {
        let today = date(2024, 2, 9);
        let (i, o) = (punch("手入力", 0), punch("PC", 60_000));
        assert_eq!(day_error(Some(&i), Some(&o), date(2024, 2, 8), today), "打刻方法混在");
        let o = punch("手入力", 60_000);
        assert_eq!(day_error(Some(&i), Some(&o), date(2024, 2, 8), today), "");
    }

    #[test]
    fn path_segments_keep_codes_intact() {
        assert_eq!(path_segment("0012"), "0012");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(path_segment("髙"), "%E9%AB%99");
    }

    #[test]
    fn months_are_year_dash_month() {
        assert_eq!(parse_month("2024-02"), Some(date(2024, 2, 1)));
        for bad in ["2024-2", "2024-13", "24-02", "2024/02", ""] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
    }
}
