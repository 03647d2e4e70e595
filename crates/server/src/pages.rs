//! The read-only pages: 企業一覧, 日別データ (seed §4.2) and ログ表示 (seed §4.1).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use jiff::civil::{Date, Weekday};
use jiff::{Timestamp, ToSpan};
use loginrec_rules::PunchKind;
use loginrec_store::{Company, LogFilter, PunchView};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::format::{date_time_minutes, date_time_seconds, punch_cell};

pub(crate) async fn healthz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.store.ping().await?;
    Ok("ok")
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Result<String, ApiError> {
    let open_jobs = state.store.open_job_count().await?;
    Ok(state.metrics.render(open_jobs))
}

struct CompanyLine {
    code: String,
    name: String,
    enabled: &'static str,
    last_ingest: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "index.html")]
pub(crate) struct IndexPage {
    companies: Vec<CompanyLine>,
}

pub(crate) async fn index(State(state): State<AppState>) -> Result<IndexPage, ApiError> {
    let mut companies = Vec::new();
    for c in state.store.companies().await? {
        let tz = c.tz()?;
        companies.push(CompanyLine {
            last_ingest: c.last_ingest_at_ms.map(|ms| date_time_minutes(ms, &tz)).unwrap_or_else(|| "-".into()),
            enabled: if c.lanscope_enabled { "有効" } else { "無効" },
            code: c.code,
            name: c.name,
        });
    }
    Ok(IndexPage { companies })
}

async fn company(state: &AppState, code: &str) -> Result<Company, ApiError> {
    state.store.company_by_code(code).await?.ok_or_else(|| ApiError::NotFound(format!("company {code}")))
}

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
    day_type: &'static str,
    clock_in: String,
    clock_out: String,
    worked: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "daily.html")]
pub(crate) struct DailyPage {
    company_code: String,
    company_name: String,
    date: String,
    date_label: String,
    today: String,
    prev_date: String,
    next_date: String,
    department: String,
    departments: Vec<DepartmentOption>,
    rows: Vec<DailyLine>,
}

const WEEKDAYS_JA: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];

pub(crate) async fn daily(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<DailyQuery>,
) -> Result<DailyPage, ApiError> {
    let company = company(&state, &code).await?;
    let tz = company.tz()?;
    let today = tz.to_datetime(Timestamp::now()).date();
    let date = match q.date.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => d.parse::<Date>().map_err(|_| ApiError::BadRequest(format!("日付が不正です: {d}")))?,
        None => today,
    };
    let department = q.department.unwrap_or_default();
    let rows = state.store.daily(company.id, date, Some(department.as_str())).await?;
    let departments = state
        .store
        .departments(company.id)
        .await?
        .into_iter()
        .map(|d| DepartmentOption { selected: d.code == department, code: d.code, name: d.name })
        .collect();
    let weekday = date.weekday();
    let day_type = if matches!(weekday, Weekday::Saturday | Weekday::Sunday) { "休日" } else { "平日" };
    let cell = |p: &Option<PunchView>| p.as_ref().map(|p| punch_cell(&p.method, p.at_ms, &tz)).unwrap_or_default();
    let rows = rows
        .into_iter()
        .map(|r| DailyLine {
            worked: worked_time(r.clock_in.as_ref(), r.clock_out.as_ref()),
            clock_in: cell(&r.clock_in),
            clock_out: cell(&r.clock_out),
            code: r.employee_code,
            name: r.full_name,
            department: format!("{} {}", r.department_code, r.department_name),
            employment_type: r.employment_type,
            day_type,
        })
        .collect();
    Ok(DailyPage {
        company_code: company.code,
        company_name: company.name,
        date_label: format!("{}({})", date.strftime("%Y/%m/%d"), WEEKDAYS_JA[weekday.to_monday_zero_offset() as usize]),
        date: date.to_string(),
        today: today.to_string(),
        prev_date: date.checked_sub(1.day()).unwrap_or(date).to_string(),
        next_date: date.checked_add(1.day()).unwrap_or(date).to_string(),
        department,
        departments,
        rows,
    })
}

/// `H:MM` between 出勤 and 退勤, empty unless both exist.
fn worked_time(clock_in: Option<&PunchView>, clock_out: Option<&PunchView>) -> String {
    match (clock_in, clock_out) {
        (Some(i), Some(o)) if o.at_ms >= i.at_ms => {
            let minutes = (o.at_ms - i.at_ms) / 60_000;
            format!("{}:{:02}", minutes / 60, minutes % 60)
        }
        _ => String::new(),
    }
}

#[derive(Deserialize)]
pub(crate) struct LogsQuery {
    page: Option<i64>,
    account: Option<String>,
}

struct LogLine {
    at: String,
    user_name: String,
    employee: String,
    operation: &'static str,
    version: String,
    pc: String,
    outcome: String,
    unlinked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "logs.html")]
pub(crate) struct LogsPage {
    company_code: String,
    company_name: String,
    account: String,
    total: i64,
    logs: Vec<LogLine>,
    page: i64,
    has_next: bool,
}

const LOGS_PER_PAGE: i64 = 100;

pub(crate) async fn logs(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<LogsQuery>,
) -> Result<LogsPage, ApiError> {
    let company = company(&state, &code).await?;
    let tz = company.tz()?;
    let page = q.page.unwrap_or(1).max(1);
    let account = q.account.unwrap_or_default().trim().to_string();
    let filter = LogFilter {
        account: (!account.is_empty()).then(|| account.clone()),
        limit: LOGS_PER_PAGE + 1,
        offset: (page - 1) * LOGS_PER_PAGE,
        ..LogFilter::default()
    };
    let mut found = state.store.logs(company.id, &filter).await?;
    let has_next = found.len() as i64 > LOGS_PER_PAGE;
    found.truncate(LOGS_PER_PAGE as usize);
    let logs = found
        .into_iter()
        .map(|l| {
            let unlinked = l.employee_code.is_none();
            let outcome = match (unlinked, l.punch_kind.and_then(PunchKind::from_code)) {
                (true, _) => "未連携 (サービスアカウント未設定)".to_string(),
                (false, Some(kind)) => format!("打刻済み ({})", kind.label_ja()),
                (false, None) => "反映済み (打刻なし: その日の最初・最後のログではありません)".to_string(),
            };
            LogLine {
                at: date_time_seconds(l.event_at_ms, &tz),
                user_name: l.user_name,
                employee: match (l.employee_code, l.full_name) {
                    (Some(c), Some(n)) => format!("{c} {n}"),
                    _ => "-".into(),
                },
                operation: loginrec_rules::LogKind::parse(&l.kind).map(|k| k.label_ja()).unwrap_or("-"),
                version: l.connector_version,
                pc: format!(
                    "{} / {}",
                    l.computer_name.unwrap_or_else(|| "-".into()),
                    l.agent_no.unwrap_or_else(|| "-".into())
                ),
                outcome,
                unlinked,
            }
        })
        .collect();
    Ok(LogsPage {
        total: state.store.log_count(company.id).await?,
        company_code: company.code,
        company_name: company.name,
        account,
        logs,
        page,
        has_next,
    })
}
