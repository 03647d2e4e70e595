//! 設定 > 組織 > 所属設定 (seed §2.2.1): departments and their 日付変更時間. A changed time
//! applies from a 適用開始日 and is previewed (made and rolled back) before it is saved; the
//! history of each department's time is shown beside the form.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use loginrec_rules::DayChangeTime;
use loginrec_store::{Apply, DepartmentInput, StoreError};
use serde::Deserialize;

use super::{DoneQuery, MAX_CODE_CHARS, MAX_NAME_CHARS, SelectOption, effective_date, from_label, numbers, parse_id};
use crate::AppState;
use crate::format;
use crate::ui::company::{CompanyAdmin, CompanyPage, CompanyPost, Nav, Tab};
use crate::ui::error::UiError;
use crate::ui::href::path_segment;

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
    nav: Nav,
    csrf: String,
    problems: usize,
    message: String,
    departments: Vec<DepartmentLine>,
}

pub(crate) async fn departments(
    State(state): State<AppState>,
    CompanyAdmin { page, .. }: CompanyAdmin,
    Query(q): Query<DoneQuery>,
) -> Result<DepartmentsPage, UiError> {
    let nav = page.nav(Tab::Departments);
    let CompanyPage { company, csrf, problems, .. } = page;
    let departments = state
        .store
        .attendance()
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
        nav,
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
    nav: Nav,
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
    preview: Vec<format::ChangeRow>,
    /// 日付変更時間 over time: (適用開始, time).
    history: Vec<(String, String)>,
}

#[derive(Deserialize)]
pub(crate) struct DepartmentForm {
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
    let nav = page.nav(Tab::Departments);
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
        nav,
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

pub(crate) async fn new_department(CompanyAdmin { page, .. }: CompanyAdmin) -> DepartmentFormPage {
    let values = DepartmentValues {
        code: String::new(),
        name: String::new(),
        hour: 0,
        minute: 0,
        effective_from: String::new(),
    };
    department_form(page, None, values, Vec::new())
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
    CompanyAdmin { page, .. }: CompanyAdmin,
    Path((_, id)): Path<(String, String)>,
    Query(proposal): Query<DepartmentProposal>,
) -> Result<DepartmentFormPage, UiError> {
    let d = state.store.attendance().department(page.company.id, parse_id(&id)?).await?.ok_or(UiError::NotFound)?;
    let values = DepartmentValues {
        hour: proposal.hour.filter(|h| *h < 24).unwrap_or(d.day_change.hour()),
        minute: proposal.minute.filter(|m| *m < 60).unwrap_or(d.day_change.minute()),
        code: d.code,
        name: d.name,
        effective_from: proposal.effective_from.chars().filter(|c| c.is_ascii_digit() || *c == '-').collect(),
    };
    let history = state.store.attendance().department_day_change_history(page.company.id, d.id).await?;
    let mut form = department_form(page, Some(d.id), values, Vec::new());
    form.history = history.into_iter().map(|(from, change)| (from_label(from), change.to_string())).collect();
    Ok(form)
}

pub(crate) async fn create_department(
    State(state): State<AppState>,
    CompanyPost { signed_in, page, form }: CompanyPost<DepartmentForm>,
) -> Result<Response, UiError> {
    let input = match form.input() {
        Ok(input) => input,
        Err(errors) => return Ok(form.page(page, None, errors)),
    };
    match state.store.attendance().create_department(page.company.id, &input).await {
        Ok(_) => {}
        Err(StoreError::Taken(taken)) => return Ok(form.page(page, None, vec![taken.to_string()])),
        Err(e) => return Err(e.into()),
    }
    let company = page.company;
    let detail = format!("{} {} 日付変更時間 {}", input.code, input.name, input.day_change);
    state.store.admins().audit(company.id, &signed_in.actor(), "所属設定 (登録)", &detail).await?;
    let target = format!("/companies/{}/settings/departments?done=created", path_segment(&company.code));
    Ok(Redirect::to(&target).into_response())
}

pub(crate) async fn update_department(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    CompanyPost { signed_in, page, form }: CompanyPost<DepartmentForm>,
) -> Result<Response, UiError> {
    let before =
        state.store.attendance().department(page.company.id, parse_id(&id)?).await?.ok_or(UiError::NotFound)?;
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
    let recomputed =
        match state.store.attendance().update_department_from(page.company.id, before.id, &input, from, apply).await {
            Ok(recomputed) => recomputed,
            Err(StoreError::Taken(taken)) => {
                return Ok(form.page(page, Some(before.id), vec![taken.to_string()]));
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
            confirm.preview = format::change_rows(&recomputed.changes, &tz);
            return Ok(confirm.into_response());
        }
        state
            .store
            .attendance()
            .update_department_from(page.company.id, before.id, &input, from, Apply::Commit)
            .await?;
    }
    let company = page.company;
    let mut detail = format!("{} {}", input.code, input.name);
    if before.code != input.code || before.name != input.name {
        detail = format!("{} {} → {detail}", before.code, before.name);
    }
    if before.day_change != input.day_change {
        let from = from.map(format::date_ja).unwrap_or_else(|| "現在の勤務日".to_string());
        detail.push_str(&format!(
            " 日付変更時間 {} → {} (適用開始 {from}、{} 日の打刻が変わりました)",
            before.day_change,
            input.day_change,
            recomputed.changes.len()
        ));
    }
    state.store.admins().audit(company.id, &signed_in.actor(), "所属設定 (変更)", &detail).await?;
    let target = format!("/companies/{}/settings/departments?done=updated", path_segment(&company.code));
    Ok(Redirect::to(&target).into_response())
}
