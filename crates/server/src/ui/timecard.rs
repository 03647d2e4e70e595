//! タイムカード: one employee's month, day by day, with 手入力 punches entered and cleared
//! here, and the time card CSV of a period (as `loginrec timecard export` writes it). A 手入力
//! punch outranks PC and API punches of its day until it is cleared.

use std::collections::BTreeSet;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use loginrec_rules::PunchKind;
use loginrec_rules::punch_moment::check_punch_moment;
use loginrec_rules::work_time::MonthTotals;
use loginrec_store::{Missing, StoreError, WorkOf};
use serde::Deserialize;

use crate::AppState;
use crate::format::{date_ja, hours_minutes, weekday_ja};
use crate::ui::company::{CompanyAdmin, CompanyPage, CompanyPost, Nav, Tab};
use crate::ui::day_cells;
use crate::ui::error::UiError;
use crate::ui::href::{self, path_segment};

/// Longest period of one time card CSV download.
const MAX_CSV_DAYS: i32 = 366;

#[derive(Deserialize)]
pub(crate) struct MonthQuery {
    #[serde(default)]
    month: String,
    #[serde(default)]
    done: String,
    /// A code typed into the switcher that was not found.
    #[serde(default)]
    missing: String,
}

struct TimecardLine {
    date: String,
    date_label: String,
    day_type: String,
    clock_in: String,
    clock_out: String,
    work: day_cells::WorkCells,
    error: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "timecard.html")]
pub(crate) struct TimecardPage {
    company_code: String,
    company_name: String,
    nav: Nav,
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
    /// The month as an SVG timeline of PC use and punches.
    timeline: String,
    total: String,
    total_breaks: String,
    total_overtime: String,
    total_late_night: String,
    /// 出勤日数.
    worked_days: u32,
    /// The 手入力 forms: what was typed (kept when refused) and why it was refused.
    form_date: String,
    form_kind: String,
    form_at: String,
    punch_error: String,
    clear_error: String,
    /// 前の従業員 / 次の従業員 (time card URLs of the same month), empty at either end.
    prev_employee: String,
    next_employee: String,
    /// An employee code typed into the switcher that names nobody.
    switch_error: String,
    csv_from: String,
    csv_to: String,
    csv_error: String,
}

/// What the time card's forms show: as typed after a refusal, the defaults otherwise.
#[derive(Default)]
struct Entry {
    date: String,
    kind: String,
    at: String,
    punch_error: String,
    clear_error: String,
}

fn parse_month(s: &str) -> Option<Date> {
    let (y, m) = s.trim().split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    Date::new(y.parse().ok()?, m.parse().ok()?, 1).ok()
}

pub(crate) async fn timecard_view(
    State(state): State<AppState>,
    CompanyAdmin { page, .. }: CompanyAdmin,
    Path((_, employee_code)): Path<(String, String)>,
    Query(q): Query<MonthQuery>,
) -> Result<TimecardPage, UiError> {
    let first = match q.month.as_str() {
        "" => None,
        m => Some(parse_month(m).ok_or_else(|| UiError::BadRequest(format!("月は YYYY-MM で指定してください: {m}")))?),
    };
    let message = match q.done.as_str() {
        "punched" => "打刻を保存しました。",
        "cleared" => "手入力の打刻を削除しました。",
        _ => "",
    };
    let mut card = timecard_page(&state, page, &employee_code, first, Entry::default()).await?;
    card.message = message.into();
    if !q.missing.is_empty() {
        card.switch_error = format!("従業員コード「{}」の従業員はいません。", q.missing);
    }
    Ok(card)
}

#[derive(Deserialize)]
pub(crate) struct SwitchQuery {
    #[serde(default)]
    employee: String,
    #[serde(default)]
    month: String,
    /// The employee whose card the switcher was on, to go back to when `employee` is unknown.
    #[serde(default)]
    from: String,
}

/// The time card's employee switcher: the typed code's card of the same month.
pub(crate) async fn switch_employee(
    State(state): State<AppState>,
    CompanyAdmin { page, .. }: CompanyAdmin,
    Query(q): Query<SwitchQuery>,
) -> Result<Redirect, UiError> {
    let month = parse_month(&q.month);
    let code = q.employee.trim();
    let found = state.store.attendance().employee_by_code(page.company.id, code).await?;
    let target = match (found, month) {
        (Some(e), Some(m)) => href::timecard(&page.company.code, &e.code, m),
        (Some(e), None) => {
            format!("/companies/{}/timecard/{}", path_segment(&page.company.code), path_segment(&e.code))
        }
        (None, _) => {
            let back = format!(
                "/companies/{}/timecard/{}?month={}&missing={}",
                path_segment(&page.company.code),
                path_segment(&q.from),
                href::query_value(&q.month),
                href::query_value(code)
            );
            return Ok(Redirect::to(&back));
        }
    };
    Ok(Redirect::to(&target))
}

/// One employee's month (`first`, or this month), with the 手入力 forms as `entry` says.
async fn timecard_page(
    state: &AppState,
    page: CompanyPage,
    employee_code: &str,
    first: Option<Date>,
    entry: Entry,
) -> Result<TimecardPage, UiError> {
    let nav = page.nav(Tab::Daily);
    let CompanyPage { company, csrf, problems, .. } = page;
    let employee =
        state.store.attendance().employee_by_code(company.id, employee_code).await?.ok_or(UiError::NotFound)?;
    let tz = company.tz()?;
    let today = tz.to_datetime(Timestamp::now()).date();
    let first = first.unwrap_or_else(|| today.first_of_month());
    let last = first.last_of_month();
    let punches = state.store.attendance().employee_timecard(company.id, employee.id, first, last).await?;
    let work = state
        .store
        .attendance()
        .work(company.id, WorkOf::Employees(&[employee.id]), first, last, today)
        .await?
        .remove(&employee.id)
        .unwrap_or_default();
    let totals = MonthTotals::of(&work);
    let mut rows = Vec::new();
    let mut day = first;
    while day <= last {
        let found = punches.iter().find(|p| p.business_date == day);
        let clock_in = found.and_then(|p| p.clock_in.as_ref());
        let clock_out = found.and_then(|p| p.clock_out.as_ref());
        rows.push(TimecardLine {
            date: day.to_string(),
            date_label: format!("{}({})", day.strftime("%m/%d"), weekday_ja(day)),
            day_type: day_cells::day_type_label(day),
            clock_in: day_cells::punch(clock_in, &tz),
            clock_out: day_cells::punch(clock_out, &tz),
            work: day_cells::WorkCells::of(work.iter().find(|w| w.date == day)),
            error: day_cells::error_label(clock_in, clock_out, day, today),
        });
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    let pc = state.store.pc_use_days(company.id, &employee.code, first, last).await?;
    let diverged: BTreeSet<Date> = state
        .store
        .divergences(
            company.id,
            &loginrec_store::DivergenceFilter {
                from: Some(first),
                to: Some(last),
                employee_code: Some(employee.code.clone()),
                ..Default::default()
            },
        )
        .await?
        .into_iter()
        .map(|d| d.business_date)
        .collect();
    let timeline = crate::ui::timeline::month_timeline(first, last, &tz, &pc, &punches, &diverged);
    let (before, after) = state.store.attendance().neighbour_codes(company.id, &employee.code).await?;
    let neighbour = |code: Option<String>| code.map(|c| href::timecard(&company.code, &c, first)).unwrap_or_default();
    let default_date = if today.first_of_month() == first { today } else { first };
    let typed = !entry.date.is_empty() || !entry.at.is_empty();
    Ok(TimecardPage {
        prev_employee: neighbour(before),
        next_employee: neighbour(after),
        switch_error: String::new(),
        company_code: company.code,
        company_name: company.name,
        nav,
        csrf,
        problems,
        message: String::new(),
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
        timeline,
        total: hours_minutes(totals.work),
        total_breaks: hours_minutes(totals.breaks),
        total_overtime: hours_minutes(totals.overtime),
        total_late_night: hours_minutes(totals.late_night),
        worked_days: totals.days_worked,
        form_date: if typed { entry.date } else { default_date.to_string() },
        form_kind: if entry.kind.is_empty() { "in".into() } else { entry.kind },
        form_at: if typed { entry.at } else { format!("{default_date}T09:00") },
        punch_error: entry.punch_error,
        clear_error: entry.clear_error,
        csv_from: first.to_string(),
        csv_to: last.to_string(),
        csv_error: String::new(),
    })
}

#[derive(Deserialize)]
pub(crate) struct PunchForm {
    #[serde(default)]
    date: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    at: String,
}

impl PunchForm {
    /// 勤務日 and 種別 as chosen, or why they cannot be used.
    fn day_and_kind(&self) -> Result<(Date, PunchKind), String> {
        let date: Date = self.date.trim().parse().map_err(|_| format!("勤務日が不正です: {}", self.date))?;
        let kind = match self.kind.as_str() {
            "1" | "in" => PunchKind::ClockIn,
            "2" | "out" => PunchKind::ClockOut,
            other => return Err(format!("種別は出勤か退勤を選択してください: {other}")),
        };
        Ok((date, kind))
    }

    /// The time card again, of the month of the typed 勤務日, with the form as typed.
    async fn refused(
        self,
        state: &AppState,
        page: CompanyPage,
        employee_code: &str,
        clearing: bool,
        error: String,
    ) -> Result<Response, UiError> {
        let month = self.date.trim().parse::<Date>().ok().map(|d| d.first_of_month());
        let (punch_error, clear_error) = if clearing { (String::new(), error) } else { (error, String::new()) };
        let entry = Entry { date: self.date, kind: self.kind, at: self.at, punch_error, clear_error };
        let card = timecard_page(state, page, employee_code, month, entry).await?;
        Ok((StatusCode::BAD_REQUEST, card).into_response())
    }
}

/// A `datetime-local` value: `YYYY-MM-DDTHH:MM` (seconds allowed, a space for the `T` too).
fn parse_local(s: &str) -> Option<DateTime> {
    s.trim().replacen(' ', "T", 1).parse().ok()
}

/// Clears a 手入力 punch: the day gets back what PC logs and the API say.
pub(crate) async fn clear_manual_punch(
    State(state): State<AppState>,
    Path((_, employee_code)): Path<(String, String)>,
    CompanyPost { signed_in, page, form }: CompanyPost<PunchForm>,
) -> Result<Response, UiError> {
    let company = &page.company;
    let employee =
        state.store.attendance().employee_by_code(company.id, &employee_code).await?.ok_or(UiError::NotFound)?;
    let (date, kind) = match form.day_and_kind() {
        Ok(chosen) => chosen,
        Err(error) => return form.refused(&state, page, &employee_code, true, error).await,
    };
    match state.store.attendance().clear_manual_punch(company.id, &employee.code, date, kind, &signed_in.actor()).await
    {
        Ok(_) => {}
        Err(StoreError::NotFound(missing @ Missing::ManualPunch { .. })) => {
            return form.refused(&state, page, &employee_code, true, missing.to_string()).await;
        }
        Err(e) => return Err(UiError::refused(e)),
    }
    let target = format!("{}&done=cleared", href::timecard(&company.code, &employee.code, date));
    Ok(Redirect::to(&target).into_response())
}

/// Enters or corrects a punch by hand (`手入力`).
pub(crate) async fn manual_punch(
    State(state): State<AppState>,
    Path((_, employee_code)): Path<(String, String)>,
    CompanyPost { signed_in, page, form }: CompanyPost<PunchForm>,
) -> Result<Response, UiError> {
    let company = &page.company;
    let employee =
        state.store.attendance().employee_by_code(company.id, &employee_code).await?.ok_or(UiError::NotFound)?;
    if employee.deleted_at_ms.is_some() {
        return Err(UiError::BadRequest("削除済みの従業員には打刻できません。".into()));
    }
    let tz = company.tz()?;
    let checked = match form.day_and_kind() {
        Ok((date, kind)) => punch_moment(&form.at, date, &tz).map(|at_ms| (date, kind, at_ms)),
        Err(error) => Err(error),
    };
    let (date, kind, at_ms) = match checked {
        Ok(checked) => checked,
        Err(error) => return form.refused(&state, page, &employee_code, false, error).await,
    };
    let day = state.store.attendance().employee_timecard(company.id, employee.id, date, date).await?;
    let day = day.first();
    let out_of_order = match kind {
        PunchKind::ClockIn => day.and_then(|d| d.clock_out.as_ref()).is_some_and(|o| o.at_ms < at_ms),
        PunchKind::ClockOut => day.and_then(|d| d.clock_in.as_ref()).is_some_and(|i| i.at_ms > at_ms),
    };
    if out_of_order {
        let error = "退勤は出勤より後の時刻にしてください。".to_string();
        return form.refused(&state, page, &employee_code, false, error).await;
    }
    match state
        .store
        .attendance()
        .set_manual_punch(company.id, &employee.code, date, kind, at_ms, &signed_in.actor())
        .await
    {
        Ok(_) => {}
        Err(StoreError::NotFound(_)) => return Err(UiError::NotFound),
        Err(e) => return Err(e.into()),
    }
    let target = format!("{}&done=punched", href::timecard(&company.code, &employee.code, date));
    Ok(Redirect::to(&target).into_response())
}

/// The instant of a 手入力 日時, which must fall on the 勤務日 or the day after it
/// ([`check_punch_moment`], the rule of every way a punch is given).
fn punch_moment(typed: &str, date: Date, tz: &TimeZone) -> Result<i64, String> {
    let at = parse_local(typed).ok_or_else(|| format!("日時は YYYY-MM-DD HH:MM で入力してください: {typed}"))?;
    let instant = loginrec_rules::local_instant(at, tz).ok_or_else(|| "日時が不正です。".to_string())?;
    check_punch_moment(date, instant, tz).map_err(|e| e.to_string())?;
    Ok(instant.as_millisecond())
}

#[derive(Deserialize)]
pub(crate) struct PeriodQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// The time card the form was on, shown again with the reason when the period is refused.
    #[serde(default)]
    employee: String,
}

/// The period of a time card CSV, or why it cannot be exported.
fn csv_period(q: &PeriodQuery) -> Result<(Date, Date), String> {
    let parse = |s: &str, label: &str| -> Result<Date, String> {
        s.trim().parse().map_err(|_| format!("{label}を YYYY-MM-DD で指定してください: {s}"))
    };
    let from = parse(&q.from, "期間の開始日")?;
    let to = parse(&q.to, "期間の終了日")?;
    if to < from {
        return Err(format!("期間の終了日 {} が開始日 {} より前です。", date_ja(to), date_ja(from)));
    }
    if from.until(to).map(|span| span.get_days()).unwrap_or(i32::MAX) >= MAX_CSV_DAYS {
        return Err(format!("期間は {MAX_CSV_DAYS} 日以内で指定してください。"));
    }
    Ok((from, to))
}

/// The time card CSV of a period, as `loginrec timecard export` writes it, UTF-8 with BOM.
pub(crate) async fn timecard_csv(
    State(state): State<AppState>,
    CompanyAdmin { page, .. }: CompanyAdmin,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, UiError> {
    let (from, to) = match csv_period(&q) {
        Ok(period) => period,
        Err(error) if q.employee.is_empty() => return Err(UiError::BadRequest(error)),
        Err(error) => {
            let month = q.from.trim().parse::<Date>().ok().map(|d| d.first_of_month());
            let mut card = timecard_page(&state, page, &q.employee, month, Entry::default()).await?;
            (card.csv_from, card.csv_to, card.csv_error) = (q.from, q.to, error);
            return Ok((StatusCode::BAD_REQUEST, card).into_response());
        }
    };
    let company = page.company;
    let rows = state.store.attendance().timecard(company.id, from, to).await?;
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(crate::timecard::render(&rows, &company.tz()?).as_bytes());
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

    #[test]
    fn months_are_year_dash_month() {
        assert_eq!(parse_month("2024-02"), Some(date(2024, 2, 1)));
        for bad in ["2024-2", "2024-13", "24-02", "2024/02", ""] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
    }
}
