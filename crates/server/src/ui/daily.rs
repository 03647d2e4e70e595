//! 日別データ (seed §4.2): every employee's punches of one business day, filtered by 所属, with
//! the day's type and error marks as the time card shows them.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde::Deserialize;

use crate::AppState;
use crate::format::weekday_ja;
use crate::ui::company::{CompanyAdmin, CompanyPage, Nav, Tab};
use crate::ui::day_cells;
use crate::ui::error::UiError;
use crate::ui::href;

#[derive(Deserialize)]
pub(crate) struct DailyQuery {
    date: Option<String>,
    department: Option<String>,
}

struct DepartmentOption {
    code: String,
    name: String,
    selected: bool,
}

struct DailyLine {
    code: String,
    name: String,
    department: String,
    employment_type: String,
    day_type: String,
    clock_in: String,
    clock_out: String,
    worked: String,
    overtime: String,
    late_night: String,
    error: &'static str,
    timecard_href: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "daily.html")]
pub(crate) struct DailyPage {
    company_code: String,
    company_name: String,
    nav: Nav,
    csrf: String,
    problems: usize,
    date: String,
    date_label: String,
    today: String,
    prev_date: String,
    next_date: String,
    /// The department code as a URL query value.
    department_query: String,
    departments: Vec<DepartmentOption>,
    rows: Vec<DailyLine>,
}

pub(crate) async fn daily(
    State(state): State<AppState>,
    CompanyAdmin { page, .. }: CompanyAdmin,
    Query(q): Query<DailyQuery>,
) -> Result<DailyPage, UiError> {
    let nav = page.nav(Tab::Daily);
    let CompanyPage { company, csrf, problems, .. } = page;
    let tz = company.tz()?;
    let today = tz.to_datetime(Timestamp::now()).date();
    let date = match q.date.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => d.parse::<Date>().map_err(|_| UiError::BadRequest(format!("日付が不正です: {d}")))?,
        None => today,
    };
    let department = q.department.unwrap_or_default();
    let rows = state.store.attendance().daily(company.id, date, Some(department.as_str())).await?;
    let departments = state
        .store
        .attendance()
        .departments(company.id)
        .await?
        .into_iter()
        .map(|d| DepartmentOption { selected: d.code == department, code: d.code, name: d.name })
        .collect();
    let day_type = day_cells::day_type_label(date);
    let rows = rows
        .into_iter()
        .map(|r| {
            let totals = day_cells::totals(r.clock_in.as_ref(), r.clock_out.as_ref(), date, today, &tz);
            DailyLine {
                worked: day_cells::minutes_cell(totals.total_work),
                overtime: day_cells::minutes_cell(totals.overtime),
                late_night: day_cells::minutes_cell(totals.late_night + totals.late_night_overtime),
                error: day_cells::error_label(&totals),
                timecard_href: href::timecard(&company.code, &r.employee_code, date),
                clock_in: day_cells::punch(r.clock_in.as_ref(), &tz),
                clock_out: day_cells::punch(r.clock_out.as_ref(), &tz),
                code: r.employee_code,
                name: r.full_name,
                department: format!("{} {}", r.department_code, r.department_name),
                employment_type: r.employment_type,
                day_type: day_type.clone(),
            }
        })
        .collect();
    Ok(DailyPage {
        company_code: company.code,
        company_name: company.name,
        nav,
        csrf,
        problems,
        date_label: format!("{}({})", date.strftime("%Y/%m/%d"), weekday_ja(date)),
        date: date.to_string(),
        today: today.to_string(),
        prev_date: date.checked_sub(1.day()).unwrap_or(date).to_string(),
        next_date: date.checked_add(1.day()).unwrap_or(date).to_string(),
        department_query: href::query_value(&department),
        departments,
        rows,
    })
}
