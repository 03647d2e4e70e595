//! 従業員設定 (seed §3.2.2): employees of the attendance system, with delete and restore that
//! keep their links. A changed 所属 applies from a 適用開始日 and is previewed (made and rolled
//! back) before it is saved. ログイン記録's users follow on 連携実行, never on their own.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use loginrec_rules::EmployeeCode;
use loginrec_store::{Apply, EMPLOYMENT_TYPES, Employee, EmployeeDetails, Missing, StoreError};
use serde::Deserialize;

use super::{DoneQuery, MAX_NAME_CHARS, SelectOption, effective_date, from_label, parse_id};
use crate::AppState;
use crate::format::{self, date_time_minutes};
use crate::ui::company::{CompanyAdmin, CompanyPage, CompanyPost, Nav, Tab};
use crate::ui::error::UiError;
use crate::ui::href::{self, path_segment};
use crate::ui::login::Button;

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
    nav: Nav,
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
    let nav = page.nav(Tab::Employees);
    let CompanyPage { company, csrf, problems, .. } = page;
    let tz = company.tz()?;
    let today = tz.to_datetime(Timestamp::now()).date();
    let employees = state
        .store
        .attendance()
        .employee_list(company.id, show_deleted)
        .await?
        .into_iter()
        .map(|e| EmployeeLine {
            timecard_href: href::timecard(&company.code, &e.code, today),
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
        nav,
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
    CompanyAdmin { page, .. }: CompanyAdmin,
    Query(q): Query<DoneQuery>,
) -> Result<EmployeesPage, UiError> {
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
    nav: Nav,
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
    preview: Vec<format::ChangeRow>,
    /// 所属 over time: (適用開始, department).
    history: Vec<(String, String)>,
}

#[derive(Deserialize)]
pub(crate) struct EmployeeForm {
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
    let nav = page.nav(Tab::Employees);
    let CompanyPage { company, csrf, .. } = page;
    let departments = state
        .store
        .attendance()
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
        nav,
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
    CompanyAdmin { page, .. }: CompanyAdmin,
) -> Result<EmployeeFormPage, UiError> {
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
    CompanyAdmin { page, .. }: CompanyAdmin,
    Path((_, id)): Path<(String, String)>,
) -> Result<EmployeeFormPage, UiError> {
    let employee =
        state.store.attendance().employee(page.company.id, parse_id(&id)?).await?.ok_or(UiError::NotFound)?;
    if employee.deleted_at_ms.is_some() {
        return Err(UiError::BadRequest("削除済みの従業員は編集できません。先に復帰してください。".into()));
    }
    let id = employee.id;
    let history = state.store.attendance().employee_department_history(page.company.id, id).await?;
    let mut form = employee_form(&state, page, Some(id), employee.into(), Vec::new()).await?;
    form.history = history.into_iter().map(|(from, department)| (from_label(from), department)).collect();
    Ok(form)
}

/// Maps what the store refused to the form's messages.
fn employee_store_error(e: StoreError) -> Result<Vec<String>, UiError> {
    match e {
        StoreError::Taken(taken) => Ok(vec![taken.to_string()]),
        StoreError::NotFound(Missing::DepartmentCode(_)) => Ok(vec!["所属を選択してください。".into()]),
        StoreError::NotFound(_) => Err(UiError::NotFound),
        e => Err(e.into()),
    }
}

pub(crate) async fn create_employee(
    State(state): State<AppState>,
    CompanyPost { signed_in, page, form }: CompanyPost<EmployeeForm>,
) -> Result<Response, UiError> {
    let company_id = page.company.id;
    let company_code = page.company.code.clone();
    let errors = match form.details(None) {
        Ok(details) => match state.store.attendance().create_employee(company_id, &details).await {
            Ok(_) => {
                let detail = format!("{} {} {}", details.code, details.last_name, details.first_name);
                state.store.admins().audit(company_id, &signed_in.actor(), "従業員設定 (登録)", &detail).await?;
                let target = format!("/companies/{}/settings/employees?done=created", path_segment(&company_code));
                return Ok(Redirect::to(&target).into_response());
            }
            Err(e) => employee_store_error(e)?,
        },
        Err(errors) => errors,
    };
    let page = employee_form(&state, page, None, form.into(), errors).await?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

pub(crate) async fn update_employee(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    CompanyPost { signed_in, page, form }: CompanyPost<EmployeeForm>,
) -> Result<Response, UiError> {
    let company_id = page.company.id;
    let company_code = page.company.code.clone();
    let before = state.store.attendance().employee(company_id, parse_id(&id)?).await?.ok_or(UiError::NotFound)?;
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
        Ok(details) => {
            match state.store.attendance().update_employee_from(company_id, before.id, &details, from, apply).await {
                Ok(recomputed) if apply == Apply::Preview && !recomputed.changes.is_empty() => {
                    let tz = page.company.tz()?;
                    let mut confirm = employee_form(&state, page, Some(before.id), form.into(), Vec::new()).await?;
                    confirm.preview = format::change_rows(&recomputed.changes, &tz);
                    return Ok(confirm.into_response());
                }
                Ok(recomputed) => {
                    let recomputed = if apply == Apply::Preview {
                        state
                            .store
                            .attendance()
                            .update_employee_from(company_id, before.id, &details, from, Apply::Commit)
                            .await?
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
                        let from = from.map(format::date_ja).unwrap_or_else(|| "現在の勤務日".to_string());
                        detail.push_str(&format!(
                            " 所属 {} → {} (適用開始 {from}、{} 日の打刻が変わりました)",
                            before.department_code,
                            details.department_code,
                            recomputed.changes.len()
                        ));
                    }
                    state.store.admins().audit(company_id, &signed_in.actor(), "従業員設定 (変更)", &detail).await?;
                    let target = format!("/companies/{}/settings/employees?done=updated", path_segment(&company_code));
                    return Ok(Redirect::to(&target).into_response());
                }
                Err(e) => employee_store_error(e)?,
            }
        }
        Err(errors) => errors,
    };
    let page = employee_form(&state, page, Some(before.id), form.into(), errors).await?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

pub(crate) async fn delete_employee(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    CompanyPost { signed_in, page: CompanyPage { company, .. }, form: Button {} }: CompanyPost<Button>,
) -> Result<Response, UiError> {
    let employee = state.store.attendance().employee(company.id, parse_id(&id)?).await?.ok_or(UiError::NotFound)?;
    match state.store.attendance().delete_employee(company.id, employee.id).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Err(UiError::BadRequest("この従業員はすでに削除されています。".into())),
        Err(e) => return Err(e.into()),
    }
    let detail = format!("{} {}", employee.code, employee.full_name());
    state.store.admins().audit(company.id, &signed_in.actor(), "従業員設定 (削除)", &detail).await?;
    let target = format!("/companies/{}/settings/employees?done=deleted", path_segment(&company.code));
    Ok(Redirect::to(&target).into_response())
}

pub(crate) async fn restore_employee(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    CompanyPost { signed_in, page, form: Button {} }: CompanyPost<Button>,
) -> Result<Response, UiError> {
    let company_id = page.company.id;
    let company_code = page.company.code.clone();
    let employee = state.store.attendance().employee(company_id, parse_id(&id)?).await?.ok_or(UiError::NotFound)?;
    match state.store.attendance().restore_employee(company_id, employee.id).await {
        Ok(()) => {}
        Err(StoreError::Taken(_)) => {
            let holder = state
                .store
                .attendance()
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
    state.store.admins().audit(company_id, &signed_in.actor(), "従業員設定 (復帰)", &detail).await?;
    let target = format!("/companies/{}/settings/employees?done=restored", path_segment(&company_code));
    Ok(Redirect::to(&target).into_response())
}
