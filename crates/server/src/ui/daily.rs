//! 日別データ (seed §4.2): every employee's punches of one business day, filtered by 所属, with
//! the day's type and error marks as the time card shows them.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde::Deserialize;

use loginrec_store::{DailyCursor, DailyFilter, DailyKey, DailyOrder, WorkOf};

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
    /// Keyset paging: the page after the row with this key (次へ), or before it (前へ), as
    /// [`cursor_text`] writes it; `page` then only numbers the rows.
    after: Option<String>,
    before: Option<String>,
}

/// A row's key as the pager's links carry it.
fn cursor_text(key: &DailyKey) -> String {
    serde_json::to_string(key).expect("a key of strings and an integer serialises")
}

fn parse_cursor(typed: &str) -> Result<DailyKey, UiError> {
    serde_json::from_str(typed).map_err(|_| UiError::BadRequest(format!("ページの位置が不正です: {typed}")))
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
    let cursor = match (q.after.as_deref().filter(|c| !c.is_empty()), q.before.as_deref().filter(|c| !c.is_empty())) {
        (Some(after), _) => Some(DailyCursor::After(parse_cursor(after)?)),
        (None, Some(before)) => Some(DailyCursor::Before(parse_cursor(before)?)),
        (None, None) => None,
    };
    // One row more than the page shows says whether there is a page beyond it, on the side the
    // cursor reads towards; the side it came from has a page whenever it came from one.
    let filter = DailyFilter {
        date,
        department_code: Some(department.clone()),
        order,
        descending,
        limit: Some(ROWS_PER_PAGE + 1),
        offset: if cursor.is_none() { (page_number - 1) * ROWS_PER_PAGE } else { 0 },
        cursor,
    };
    let mut found = state.store.attendance().daily(company.id, &filter).await?;
    let more = found.rows.len() as i64 > ROWS_PER_PAGE;
    let (more_before, more_after) = match &filter.cursor {
        Some(DailyCursor::Before(_)) => {
            if more {
                found.rows.remove(0);
            }
            (more, true)
        }
        _ => {
            found.rows.truncate(ROWS_PER_PAGE as usize);
            (page_number > 1 || filter.cursor.is_some(), more)
        }
    };
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
    let page_href = |n: i64, side: &str, key: &DailyKey| {
        format!("{base}&sort={sort}&page={n}&{side}={}", href::query_value(&cursor_text(key)))
    };
    let shown = if found.rows.is_empty() {
        format!("{} 名", found.total)
    } else {
        format!("{}–{} / {} 名", first_row + 1, first_row + found.rows.len() as i64, found.total)
    };
    let prev_page = match found.rows.first() {
        Some(row) if more_before => page_href((page_number - 1).max(1), "before", &row.key(order)),
        _ => String::new(),
    };
    let next_page = match found.rows.last() {
        Some(row) if more_after => page_href(page_number + 1, "after", &row.key(order)),
        _ => String::new(),
    };
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
