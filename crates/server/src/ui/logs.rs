//! ログ表示 (seed §4.1): the LanScope logs received, newest first, with filters and paging,
//! what became of each (the punch it made, or why none), the CSV of the same filters, and the
//! audit log of what administrators changed.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use jiff::ToSpan;
use jiff::civil::Date;
use loginrec_rules::PunchKind;
use loginrec_store::{LogCursor, LogFilter, LogView, MATCHING_LOGS_COUNTED};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::format::date_time_seconds;
use crate::ui::company::{CompanyAdmin, CompanyPage, Nav, Tab};
use crate::ui::error::UiError;

#[derive(Clone, Default, Deserialize, Serialize)]
pub(crate) struct LogsQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    outcome: String,
    #[serde(default, skip_serializing)]
    page: Option<i64>,
    /// Keyset paging: the page of the logs older than `ms.id` (次へ), or newer than it (前へ).
    #[serde(default, skip_serializing)]
    before: Option<String>,
    #[serde(default, skip_serializing)]
    after: Option<String>,
}

/// `event_at_ms.id` of a log, as 次へ / 前へ carry it.
fn cursor_text(log: &LogView) -> String {
    format!("{}.{}", log.event_at_ms, log.id)
}

fn parse_cursor(typed: &str) -> Result<(i64, i64), UiError> {
    let bad = || UiError::BadRequest(format!("ページの位置が不正です: {typed}"));
    let (at, id) = typed.split_once('.').ok_or_else(bad)?;
    Ok((at.parse().map_err(|_| bad())?, id.parse().map_err(|_| bad())?))
}

impl LogsQuery {
    fn filter(&self, tz: &jiff::tz::TimeZone) -> Result<LogFilter, UiError> {
        let day_start = |s: &str, plus: i64| -> Result<Option<i64>, UiError> {
            if s.is_empty() {
                return Ok(None);
            }
            let d: Date = s.parse().map_err(|_| UiError::BadRequest(format!("日付が不正です: {s}")))?;
            let d = d.checked_add(plus.days()).map_err(|_| UiError::BadRequest(format!("日付が不正です: {s}")))?;
            let ts = loginrec_rules::local_instant(d.to_datetime(jiff::civil::Time::midnight()), tz);
            Ok(ts.map(|t| t.as_millisecond()))
        };
        let kind = match self.kind.as_str() {
            "" => None,
            "logon" | "logoff" => Some(self.kind.clone()),
            other => return Err(UiError::BadRequest(format!("操作が不正です: {other}"))),
        };
        let linked = match self.outcome.as_str() {
            "" => None,
            "linked" => Some(true),
            "unlinked" => Some(false),
            other => return Err(UiError::BadRequest(format!("状態が不正です: {other}"))),
        };
        Ok(LogFilter {
            from_ms: day_start(&self.from, 0)?,
            to_ms: day_start(&self.to, 1)?,
            account: (!self.account.trim().is_empty()).then(|| self.account.trim().to_string()),
            kind,
            linked,
            limit: LOGS_PER_PAGE,
            offset: 0,
            cursor: match (&self.before, &self.after) {
                (Some(before), _) if !before.is_empty() => {
                    let (at, id) = parse_cursor(before)?;
                    Some(LogCursor::Older(at, id))
                }
                (_, Some(after)) if !after.is_empty() => {
                    let (at, id) = parse_cursor(after)?;
                    Some(LogCursor::Newer(at, id))
                }
                _ => None,
            },
        })
    }
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

/// What a log that became a punch says, in words that hold whatever its own kind: the day's
/// first log is its 出勤 and its last is its 退勤, a ログオン or a ログオフ alike.
fn outcome_of_punch(log: Option<loginrec_rules::LogKind>, punch: PunchKind) -> &'static str {
    use loginrec_rules::LogKind::{Logoff, Logon};
    match (log, punch) {
        (Some(Logon), PunchKind::ClockIn) => "出勤として打刻 (その日の最初のログ)",
        (Some(Logoff), PunchKind::ClockIn) => "出勤として打刻 (その日の最初のログがログオフでした)",
        (Some(Logoff), PunchKind::ClockOut) => "退勤として打刻 (その日の最後のログ)",
        (Some(Logon), PunchKind::ClockOut) => "退勤として打刻 (その日の最後のログがログオンでした)",
        (None, PunchKind::ClockIn) => "出勤として打刻",
        (None, PunchKind::ClockOut) => "退勤として打刻",
    }
}

impl LogLine {
    fn new(l: LogView, tz: &jiff::tz::TimeZone) -> LogLine {
        let unlinked = l.employee_code.is_none();
        let log_kind = loginrec_rules::LogKind::parse(&l.kind);
        let outcome = match (unlinked, l.punch_kind.and_then(PunchKind::from_code)) {
            (true, _) => "未連携 (サービスアカウント未設定)".to_string(),
            (false, Some(kind)) => outcome_of_punch(log_kind, kind).to_string(),
            (false, None) => "反映済み (打刻なし: その日の最初・最後のログではありません)".to_string(),
        };
        LogLine {
            at: date_time_seconds(l.event_at_ms, tz),
            user_name: l.user_name,
            employee: match (l.employee_code, l.full_name) {
                (Some(c), Some(n)) => format!("{c} {n}"),
                _ => "-".into(),
            },
            operation: log_kind.map(|k| k.label_ja()).unwrap_or("-"),
            version: l.connector_version,
            pc: format!(
                "{} / {}",
                l.computer_name.unwrap_or_else(|| "-".into()),
                l.agent_no.unwrap_or_else(|| "-".into())
            ),
            outcome,
            unlinked,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "logs.html")]
pub(crate) struct LogsPage {
    company_code: String,
    company_name: String,
    nav: Nav,
    csrf: String,
    problems: usize,
    q: LogsQuery,
    query_string: String,
    /// Logs that pass the filters (counted up to [`MATCHING_LOGS_COUNTED`]), and all the company
    /// received.
    matching: String,
    total: i64,
    logs: Vec<LogLine>,
    page: i64,
    /// The number of the page 前へ leads to (new logs may have come in since page 1 was read).
    previous_page: i64,
    /// `before=…` of 次へ and `after=…` of 前へ, when there is such a page.
    next: Option<String>,
    previous: Option<String>,
    events: Vec<(String, String, String, String)>,
}

const LOGS_PER_PAGE: i64 = 100;
const CSV_EXPORT_MAX_ROWS: i64 = 100_000;

pub(crate) async fn logs(
    State(state): State<AppState>,
    CompanyAdmin { page, .. }: CompanyAdmin,
    Query(q): Query<LogsQuery>,
) -> Result<LogsPage, UiError> {
    let nav = page.nav(Tab::Logs);
    let CompanyPage { company, csrf, problems, .. } = page;
    let tz = company.tz()?;
    // A page past what an offset can count is an edited URL: said, not wrapped round to page 1.
    let page = q.page.unwrap_or(1);
    if !(1..=i64::MAX / LOGS_PER_PAGE).contains(&page) {
        return Err(UiError::BadRequest(format!("ページ番号が不正です: {page}")));
    }
    let mut filter = q.filter(&tz)?;
    filter.limit = LOGS_PER_PAGE + 1;
    filter.offset = (page - 1) * LOGS_PER_PAGE;
    let mut found = state.store.logs(company.id, &filter).await?;
    // One log more than the page shows says whether there is a page beyond it, on the side the
    // cursor reads towards; the side it came from has a page whenever it came from one.
    let more = found.len() as i64 > LOGS_PER_PAGE;
    let (more_older, more_newer) = match &filter.cursor {
        Some(LogCursor::Newer(..)) => {
            if more {
                found.remove(0);
            }
            (true, more)
        }
        _ => {
            found.truncate(LOGS_PER_PAGE as usize);
            (more, page > 1 || filter.cursor.is_some())
        }
    };
    let next = found.last().filter(|_| more_older).map(cursor_text);
    let previous = found.first().filter(|_| more_newer).map(cursor_text);
    let matching = state.store.log_count_matching(company.id, &filter, MATCHING_LOGS_COUNTED + 1).await?;
    let events = state
        .store
        .admins()
        .audit_events(company.id, 50)
        .await?
        .into_iter()
        .map(|e| (date_time_seconds(e.at_ms, &tz), e.actor, e.action, e.detail))
        .collect();
    Ok(LogsPage {
        matching: if matching > MATCHING_LOGS_COUNTED {
            format!("{MATCHING_LOGS_COUNTED} 件以上")
        } else {
            format!("{matching} 件")
        },
        total: state.store.log_count(company.id).await?,
        query_string: serde_urlencoded::to_string(&q).unwrap_or_default(),
        logs: found.into_iter().map(|l| LogLine::new(l, &tz)).collect(),
        company_code: company.code,
        company_name: company.name,
        nav,
        csrf,
        problems,
        q,
        page,
        previous_page: (page - 1).max(1),
        next,
        previous,
        events,
    })
}

/// ログ表示 as CSV (UTF-8 with BOM, so that Excel reads it), with the page's filters.
pub(crate) async fn logs_csv(
    State(state): State<AppState>,
    CompanyAdmin { page: CompanyPage { company, .. }, .. }: CompanyAdmin,
    Query(q): Query<LogsQuery>,
) -> Result<impl IntoResponse, UiError> {
    let tz = company.tz()?;
    let mut filter = q.filter(&tz)?;
    filter.limit = CSV_EXPORT_MAX_ROWS;
    let found = state.store.logs(company.id, &filter).await?;
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(vec![0xEF, 0xBB, 0xBF]);
    let _ = writer.write_record([
        "日時",
        "サービスアカウント",
        "従業員",
        "操作",
        "連携元",
        "バージョン",
        "PC / エージェント",
        "状態",
    ]);
    for l in found {
        let line = LogLine::new(l, &tz);
        let cells = [
            line.at,
            line.user_name,
            line.employee,
            line.operation.into(),
            "LanScope".into(),
            line.version,
            line.pc,
            line.outcome,
        ];
        let _ = writer.write_record(cells.iter().map(|c| crate::csv_cell::neutralise_formula(c).into_owned()));
    }
    let bytes = writer.into_inner().unwrap_or_default();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"logs-{}.csv\"", company.code)),
        ],
        bytes,
    ))
}
