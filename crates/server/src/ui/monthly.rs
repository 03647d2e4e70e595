//! 月別データ: each employee's month (出勤日数, 労働時間, 休憩, 時間外, 深夜, 休日労働, 打刻漏れ and
//! 乖離 days), the long-hours alerts with the month's pace, a bar chart of the page's 時間外 with
//! the 45 h and 80 h lines, and the CSV of the same month.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::civil::Date;
use loginrec_rules::work_time::{MONTHLY_OVERTIME_AND_HOLIDAY_LIMIT_MINUTES, MONTHLY_OVERTIME_LIMIT_MINUTES};
use loginrec_store::{MonthlyFilter, MonthlyRow};
use serde::Deserialize;

use crate::AppState;
use crate::format::hours_minutes;
use crate::ui::company::{CompanyAdmin, CompanyPage, CompanyPost, Nav, Tab};
use crate::ui::error::UiError;
use crate::ui::href;

/// Employees on one page of 月別データ.
const ROWS_PER_PAGE: i64 = 100;

#[derive(Deserialize)]
pub(crate) struct MonthlyQuery {
    /// `YYYY-MM`; this month when absent.
    #[serde(default)]
    month: String,
    #[serde(default)]
    department: String,
    page: Option<String>,
    #[serde(default)]
    done: String,
}

impl MonthlyQuery {
    fn month(&self, today: Date) -> Result<Date, UiError> {
        match self.month.trim() {
            "" => Ok(today.first_of_month()),
            typed => format!("{typed}-01")
                .parse::<Date>()
                .map_err(|_| UiError::BadRequest(format!("月は YYYY-MM で指定してください: {typed}"))),
        }
    }

    fn page(&self) -> Result<i64, UiError> {
        match self.page.as_deref().filter(|p| !p.is_empty()) {
            None => Ok(1),
            Some(p) => p
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=i64::MAX / ROWS_PER_PAGE).contains(n))
                .ok_or_else(|| UiError::BadRequest(format!("ページ番号が不正です: {p}"))),
        }
    }
}

struct MonthlyLine {
    code: String,
    name: String,
    department: String,
    days_worked: u32,
    work: String,
    breaks: String,
    overtime: String,
    late_night: String,
    holiday_work: String,
    missing_punch_days: u32,
    divergence_days: u32,
    year_overtime: String,
    alerts: Vec<String>,
    pace: String,
    timecard_href: String,
}

impl MonthlyLine {
    fn new(company_code: &str, first: Date, r: &MonthlyRow) -> MonthlyLine {
        let t = r.totals;
        MonthlyLine {
            code: r.employee_code.clone(),
            name: r.full_name.clone(),
            department: format!("{} {}", r.department_code, r.department_name),
            days_worked: t.days_worked,
            work: hours_minutes(t.work),
            breaks: hours_minutes(t.breaks),
            overtime: hours_minutes(t.overtime),
            late_night: hours_minutes(t.late_night),
            holiday_work: hours_minutes(t.holiday_work),
            missing_punch_days: t.missing_punch_days,
            divergence_days: t.divergence_days,
            year_overtime: hours_minutes(r.year_overtime),
            alerts: r.alerts.iter().map(|a| a.label_ja()).collect(),
            pace: r
                .overtime_pace
                .filter(|pace| *pace > t.overtime)
                .map(|pace| format!("このペースで月末 {}", hours_minutes(pace)))
                .unwrap_or_default(),
            timecard_href: href::timecard(company_code, &r.employee_code, first),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "monthly.html")]
pub(crate) struct MonthlyPage {
    company_code: String,
    company_name: String,
    nav: Nav,
    csrf: String,
    problems: usize,
    /// `YYYY-MM`, and the months before and after it.
    month: String,
    month_label: String,
    prev_month: String,
    next_month: String,
    department: String,
    /// The department as a URL query value.
    department_query: String,
    departments: Vec<(String, String)>,
    lines: Vec<MonthlyLine>,
    alerted: usize,
    shown: String,
    prev_page: String,
    next_page: String,
    chart: String,
    /// The company's 法定休日 (`日`…`土`, with its 0–6 value selected) and 36協定 first month.
    legal_day_off: String,
    weekdays: Vec<(i8, &'static str, bool)>,
    agreement_month: i8,
    /// What the last save did, after its redirect.
    message: String,
}

/// 日 … 土 by their Sunday-zero offsets, as the 法定休日 form offers them.
const WEEKDAYS_FROM_SUNDAY: [&str; 7] = ["日", "月", "火", "水", "木", "金", "土"];

fn month_value(first: Date) -> String {
    first.strftime("%Y-%m").to_string()
}

pub(crate) async fn monthly(
    State(state): State<AppState>,
    CompanyAdmin { page, .. }: CompanyAdmin,
    Query(q): Query<MonthlyQuery>,
) -> Result<MonthlyPage, UiError> {
    let nav = page.nav(Tab::Monthly);
    let CompanyPage { company, csrf, problems, .. } = page;
    let tz = company.tz()?;
    let today = tz.to_datetime(Timestamp::now()).date();
    let month = q.month(today)?;
    let page_number = q.page()?;
    let filter = MonthlyFilter {
        month,
        department_code: Some(q.department.clone()),
        limit: Some(ROWS_PER_PAGE),
        offset: (page_number - 1) * ROWS_PER_PAGE,
    };
    let found = state.store.attendance().monthly(company.id, &filter, today).await?;
    let first = found.first;
    let base = format!(
        "/companies/{}/monthly?month={}&department={}",
        href::path_segment(&company.code),
        month_value(first),
        href::query_value(&q.department)
    );
    let first_row = (page_number - 1) * ROWS_PER_PAGE;
    let shown = if found.rows.is_empty() {
        format!("{} 名", found.total)
    } else {
        format!("{}–{} / {} 名", first_row + 1, first_row + found.rows.len() as i64, found.total)
    };
    let prev_page = if page_number > 1 { format!("{base}&page={}", page_number - 1) } else { String::new() };
    let next_page = if first_row + (found.rows.len() as i64) < found.total {
        format!("{base}&page={}", page_number + 1)
    } else {
        String::new()
    };
    let departments =
        state.store.attendance().departments(company.id).await?.into_iter().map(|d| (d.code, d.name)).collect();
    let step = |months: i32| first.checked_add(jiff::Span::new().months(months)).map(month_value).unwrap_or_default();
    let lines: Vec<MonthlyLine> = found.rows.iter().map(|r| MonthlyLine::new(&company.code, first, r)).collect();
    let day_off = found.settings.rules.legal_day_off.to_sunday_zero_offset();
    Ok(MonthlyPage {
        legal_day_off: WEEKDAYS_FROM_SUNDAY[day_off as usize].to_string(),
        weekdays: (0..7).map(|d| (d, WEEKDAYS_FROM_SUNDAY[d as usize], d == day_off)).collect(),
        agreement_month: found.settings.agreement_month,
        message: if q.done == "settings" { "設定を保存しました。".into() } else { String::new() },
        company_code: company.code.clone(),
        company_name: company.name.clone(),
        nav,
        csrf,
        problems,
        month: month_value(first),
        month_label: first.strftime("%Y年%m月").to_string(),
        prev_month: step(-1),
        next_month: step(1),
        department: q.department.clone(),
        department_query: href::query_value(&q.department),
        departments,
        alerted: lines.iter().filter(|l| !l.alerts.is_empty()).count(),
        chart: overtime_chart(&found.rows),
        lines,
        shown,
        prev_page,
        next_page,
    })
}

#[derive(Deserialize)]
pub(crate) struct SettingsForm {
    #[serde(default)]
    legal_day_off: String,
    #[serde(default)]
    agreement_month: String,
    /// The month shown, `YYYY-MM`, to come back to.
    #[serde(default)]
    month: String,
}

/// Saves the company's 法定休日 and 36協定 first month, and shows the month again.
pub(crate) async fn save_settings(
    State(state): State<AppState>,
    CompanyPost { page, form, .. }: CompanyPost<SettingsForm>,
) -> Result<Response, UiError> {
    let company = &page.company;
    let day_off = form
        .legal_day_off
        .trim()
        .parse::<i8>()
        .ok()
        .and_then(|d| jiff::civil::Weekday::from_sunday_zero_offset(d).ok())
        .ok_or_else(|| UiError::BadRequest(format!("法定休日の曜日が不正です: {}", form.legal_day_off)))?;
    let month: i64 = form.agreement_month.trim().parse().map_err(|_| {
        UiError::BadRequest(format!("36協定の起算月は月の数で入力してください: {}", form.agreement_month))
    })?;
    state.store.attendance().set_work_settings(company.id, day_off, month).await.map_err(|e| match e {
        loginrec_store::StoreError::Refused(refusal) => UiError::BadRequest(refusal.to_string()),
        e => e.into(),
    })?;
    let shown = if form.month.len() == 7 && format!("{}-01", form.month).parse::<Date>().is_ok() {
        form.month.as_str()
    } else {
        ""
    };
    let to = format!("/companies/{}/monthly?month={shown}&done=settings", href::path_segment(&company.code));
    Ok(axum::response::Redirect::to(&to).into_response())
}

/// The page's 時間外 (and 休日労働 stacked on it) per employee as horizontal bars, with the 45 h
/// and 80 h lines: an SVG drawn here, so the picture needs no script.
pub(crate) fn overtime_chart(rows: &[MonthlyRow]) -> String {
    const LABEL: f64 = 150.0;
    const WIDTH: f64 = 520.0;
    const BAR: f64 = 16.0;
    const GAP: f64 = 6.0;
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let most = rows.iter().map(|r| r.totals.overtime + r.totals.holiday_work).max().unwrap_or(0);
    let scale_minutes = most.max(MONTHLY_OVERTIME_AND_HOLIDAY_LIMIT_MINUTES + 20 * 60) as f64;
    let x = |minutes: i64| LABEL + WIDTH * minutes as f64 / scale_minutes;
    let height = 30.0 + rows.len() as f64 * (BAR + GAP) + 10.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"overtime-chart\" role=\"img\" \
         aria-label=\"従業員ごとの時間外・休日労働\" width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\" \
         font-size=\"12\" font-family=\"sans-serif\">",
        LABEL + WIDTH + 20.0,
        LABEL + WIDTH + 20.0
    );
    for (i, r) in rows.iter().enumerate() {
        let y = 24.0 + i as f64 * (BAR + GAP);
        let (overtime, holiday) = (r.totals.overtime, r.totals.holiday_work);
        let over = !r.alerts.is_empty();
        svg.push_str(&format!(
            "<g class=\"employee\" data-code=\"{code}\" data-overtime-minutes=\"{overtime}\" data-holiday-minutes=\"{holiday}\">\
             <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{code} {name}</text>\
             <rect class=\"overtime\" x=\"{LABEL}\" y=\"{y}\" width=\"{ow:.1}\" height=\"{BAR}\" fill=\"{color}\"><title>時間外 {oh}</title></rect>\
             <rect class=\"holiday\" x=\"{hx:.1}\" y=\"{y}\" width=\"{hw:.1}\" height=\"{BAR}\" fill=\"#8e6bb8\"><title>休日労働 {hh}</title></rect>\
             <text x=\"{vx:.1}\" y=\"{ty}\">{oh}</text></g>",
            code = escape(&r.employee_code),
            name = escape(&r.full_name),
            lx = LABEL - 6.0,
            ty = y + BAR - 4.0,
            ow = x(overtime) - LABEL,
            color = if over { "#c0392b" } else { "#1b4f8a" },
            oh = hours_minutes(overtime),
            hx = x(overtime),
            hw = x(overtime + holiday) - x(overtime),
            hh = hours_minutes(holiday),
            vx = x(overtime + holiday) + 4.0,
        ));
    }
    for (minutes, label, id) in [
        (MONTHLY_OVERTIME_LIMIT_MINUTES, "45時間", "line-45"),
        (MONTHLY_OVERTIME_AND_HOLIDAY_LIMIT_MINUTES, "80時間", "line-80"),
    ] {
        let lx = x(minutes);
        svg.push_str(&format!(
            "<line id=\"{id}\" x1=\"{lx:.1}\" y1=\"14\" x2=\"{lx:.1}\" y2=\"{y2}\" stroke=\"#c0392b\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{lx:.1}\" y=\"11\" text-anchor=\"middle\" fill=\"#c0392b\">{label}</text>",
            y2 = height - 6.0
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// The month as CSV ([`crate::csv_cell::download`]).
pub(crate) async fn monthly_csv(
    State(state): State<AppState>,
    CompanyAdmin { page: CompanyPage { company, .. }, .. }: CompanyAdmin,
    Query(q): Query<MonthlyQuery>,
) -> Result<Response, UiError> {
    let tz = company.tz()?;
    let today = tz.to_datetime(Timestamp::now()).date();
    let month = q.month(today)?;
    let filter = MonthlyFilter { month, department_code: Some(q.department.clone()), limit: None, offset: 0 };
    let found = state.store.attendance().monthly(company.id, &filter, today).await?;
    let header = [
        "月",
        "従業員コード",
        "従業員",
        "所属",
        "出勤日数",
        "労働時間",
        "休憩",
        "時間外",
        "深夜",
        "休日労働",
        "打刻漏れ",
        "乖離",
        "年の時間外",
        "アラート",
    ];
    let rows = found.rows.iter().map(|r| {
        let line = MonthlyLine::new(&company.code, found.first, r);
        vec![
            month_value(found.first),
            line.code,
            line.name,
            line.department,
            line.days_worked.to_string(),
            line.work,
            line.breaks,
            line.overtime,
            line.late_night,
            line.holiday_work,
            line.missing_punch_days.to_string(),
            line.divergence_days.to_string(),
            line.year_overtime,
            line.alerts.join(" / "),
        ]
    });
    let (bytes, charset) = crate::csv_cell::download(&header, rows, false);
    Ok((
        [
            (header::CONTENT_TYPE, format!("text/csv; charset={charset}")),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"monthly-{}-{}.csv\"", company.code, month_value(found.first)),
            ),
        ],
        bytes,
    )
        .into_response())
}
