//! 日別データ (seed §4.2): every employee's punches of one business day, filtered by 所属, with
//! the day's type and error marks as the time card shows them.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde::Deserialize;

use loginrec_store::{DailyFilter, DailyOrder, WorkOf};

use crate::AppState;
use crate::format::weekday_ja;
use crate::ui::company::{CompanyAdmin, CompanyPage, Nav, Tab};
use crate::ui::day_cells;
use crate::ui::error::UiError;
use crate::ui::href;

/// Rows of one page of 日別データ.
const ROWS_PER_PAGE: i64 = 100;

#[derive(Deserialize)]
pub(crate) struct DailyQuery {
    date: Option<String>,
    department: Option<String>,
    /// `code` (default), `name`, `department`, `in` or `out`, with `-` first for descending.
    #[serde(default)]
    sort: String,
    page: Option<String>,
}

/// The columns 日別データ sorts by, as the `sort` query names them.
const SORTS: [(&str, DailyOrder); 5] = [
    ("code", DailyOrder::Code),
    ("name", DailyOrder::Name),
    ("department", DailyOrder::Department),
    ("in", DailyOrder::ClockIn),
    ("out", DailyOrder::ClockOut),
];

/// A `sort` value read: the column and whether it is descending. Unknown values sort by code.
fn read_sort(sort: &str) -> (&'static str, DailyOrder, bool) {
    let (descending, name) = match sort.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, sort),
    };
    match SORTS.iter().find(|(n, _)| *n == name) {
        Some((n, order)) => (n, *order, descending),
        None => ("code", DailyOrder::Code, false),
    }
}

/// A column heading's link: sorts by it, or reverses it when it is the current sort.
struct SortLink {
    href: String,
    /// `▲` / `▼` on the current sort's heading.
    mark: &'static str,
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
    work: day_cells::WorkCells,
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
    /// Column headings' sort links, in the order of `SORTS`.
    sorts: Vec<SortLink>,
    /// The current sort as a query value, kept by the pager and the form.
    sort: String,
    /// `1–100 / 2345 名`, and the pager's links (empty at either end).
    shown: String,
    prev_page: String,
    next_page: String,
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
    let (sort_name, order, descending) = read_sort(&q.sort);
    let page_number = match q.page.as_deref().filter(|p| !p.is_empty()) {
        None => 1,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=i64::MAX / ROWS_PER_PAGE).contains(n))
            .ok_or_else(|| UiError::BadRequest(format!("ページ番号が不正です: {p}")))?,
    };
    let filter = DailyFilter {
        date,
        department_code: Some(department.clone()),
        order,
        descending,
        limit: Some(ROWS_PER_PAGE),
        offset: (page_number - 1) * ROWS_PER_PAGE,
    };
    let found = state.store.attendance().daily(company.id, &filter).await?;
    let sort = if descending { format!("-{sort_name}") } else { sort_name.to_string() };
    let base = format!(
        "/companies/{}/daily?date={date}&department={}",
        href::path_segment(&company.code),
        href::query_value(&department)
    );
    let sorts = SORTS
        .iter()
        .map(|(name, _)| {
            let current = *name == sort_name;
            let next = if current && !descending { format!("-{name}") } else { name.to_string() };
            SortLink {
                href: format!("{base}&sort={next}"),
                mark: match (current, descending) {
                    (false, _) => "",
                    (true, false) => "▲",
                    (true, true) => "▼",
                },
            }
        })
        .collect();
    let first_row = (page_number - 1) * ROWS_PER_PAGE;
    let page_href = |n: i64| format!("{base}&sort={sort}&page={n}");
    let shown = if found.rows.is_empty() {
        format!("{} 名", found.total)
    } else {
        format!("{}–{} / {} 名", first_row + 1, first_row + found.rows.len() as i64, found.total)
    };
    let prev_page = if page_number > 1 { page_href(page_number - 1) } else { String::new() };
    let next_page =
        if first_row + (found.rows.len() as i64) < found.total { page_href(page_number + 1) } else { String::new() };
    let rows = found.rows;
    let departments = state
        .store
        .attendance()
        .departments(company.id)
        .await?
        .into_iter()
        .map(|d| DepartmentOption { selected: d.code == department, code: d.code, name: d.name })
        .collect();
    let day_type = day_cells::day_type_label(date);
    let ids: Vec<i64> = rows.iter().map(|r| r.employee_id).collect();
    let work = state.store.attendance().work(company.id, WorkOf::Employees(&ids), date, date, today).await?;
    let rows = rows
        .into_iter()
        .map(|r| {
            let day = work.get(&r.employee_id).and_then(|days| days.first());
            DailyLine {
                work: day_cells::WorkCells::of(day),
                error: day_cells::error_label(r.clock_in.as_ref(), r.clock_out.as_ref(), date, today),
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
        sorts,
        sort,
        shown,
        prev_page,
        next_page,
    })
}
