//! タイムカード: one employee's month, day by day, with 手入力 punches entered and cleared
//! here, and the time card CSV of a period (as `loginrec timecard export` writes it). A 手入力
//! punch outranks PC and API punches of its day until it is cleared.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use loginrec_rules::PunchKind;
use loginrec_store::StoreError;
use serde::Deserialize;

use crate::AppState;
use crate::format::{hours_minutes, weekday_ja};
use crate::ui::company::{CompanyAdmin, CompanyPage, CompanyPost};
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
}

struct TimecardLine {
    date: String,
    date_label: String,
    day_type: String,
    clock_in: String,
    clock_out: String,
    worked: String,
    overtime: String,
    late_night: String,
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
    total_overtime: String,
    total_late_night: String,
    worked_days: usize,
    form_date: String,
    form_at: String,
    csv_from: String,
    csv_to: String,
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
    CompanyAdmin { page: CompanyPage { company, csrf, problems }, .. }: CompanyAdmin,
    Path((_, employee_code)): Path<(String, String)>,
    Query(q): Query<MonthQuery>,
) -> Result<TimecardPage, UiError> {
    let employee =
        state.store.attendance().employee_by_code(company.id, &employee_code).await?.ok_or(UiError::NotFound)?;
    let tz = company.tz()?;
    let today = tz.to_datetime(Timestamp::now()).date();
    let first = match q.month.as_str() {
        "" => today.first_of_month(),
        m => parse_month(m).ok_or_else(|| UiError::BadRequest(format!("月は YYYY-MM で指定してください: {m}")))?,
    };
    let last = first.last_of_month();
    let punches = state.store.attendance().employee_timecard(company.id, employee.id, first, last).await?;
    let mut rows = Vec::new();
    let (mut total, mut total_overtime, mut total_late_night) = (0, 0, 0);
    let mut worked_days = 0;
    let mut day = first;
    while day <= last {
        let found = punches.iter().find(|p| p.business_date == day);
        let clock_in = found.and_then(|p| p.clock_in.as_ref());
        let clock_out = found.and_then(|p| p.clock_out.as_ref());
        let totals = day_cells::totals(clock_in, clock_out, day, today, &tz);
        if totals.total_work > 0 {
            total += totals.total_work;
            total_overtime += totals.overtime;
            total_late_night += totals.late_night + totals.late_night_overtime;
            worked_days += 1;
        }
        rows.push(TimecardLine {
            date: day.to_string(),
            date_label: format!("{}({})", day.strftime("%m/%d"), weekday_ja(day)),
            day_type: day_cells::day_type_label(day),
            clock_in: day_cells::punch(clock_in, &tz),
            clock_out: day_cells::punch(clock_out, &tz),
            worked: day_cells::minutes_cell(totals.total_work),
            overtime: day_cells::minutes_cell(totals.overtime),
            late_night: day_cells::minutes_cell(totals.late_night + totals.late_night_overtime),
            error: day_cells::error_label(&totals),
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
        total_overtime: hours_minutes(total_overtime),
        total_late_night: hours_minutes(total_late_night),
        worked_days,
        form_at: format!("{form_date}T09:00"),
        form_date: form_date.to_string(),
        csv_from: first.to_string(),
        csv_to: last.to_string(),
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
    Path((_, employee_code)): Path<(String, String)>,
    CompanyPost { signed_in, page: CompanyPage { company, .. }, form }: CompanyPost<PunchForm>,
) -> Result<Response, UiError> {
    let employee =
        state.store.attendance().employee_by_code(company.id, &employee_code).await?.ok_or(UiError::NotFound)?;
    let (date, kind) = form.day_and_kind()?;
    state
        .store
        .attendance()
        .clear_manual_punch(company.id, &employee.code, date, kind, &signed_in.actor())
        .await
        .map_err(UiError::refused)?;
    let target = format!("{}&done=cleared", href::timecard(&company.code, &employee.code, date));
    Ok(Redirect::to(&target).into_response())
}

/// Enters or corrects a punch by hand (`手入力`).
pub(crate) async fn manual_punch(
    State(state): State<AppState>,
    Path((_, employee_code)): Path<(String, String)>,
    CompanyPost { signed_in, page: CompanyPage { company, .. }, form }: CompanyPost<PunchForm>,
) -> Result<Response, UiError> {
    let employee =
        state.store.attendance().employee_by_code(company.id, &employee_code).await?.ok_or(UiError::NotFound)?;
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
    let day = state.store.attendance().employee_timecard(company.id, employee.id, date, date).await?;
    let day = day.first();
    let out_of_order = match kind {
        PunchKind::ClockIn => day.and_then(|d| d.clock_out.as_ref()).is_some_and(|o| o.at_ms < at_ms),
        PunchKind::ClockOut => day.and_then(|d| d.clock_in.as_ref()).is_some_and(|i| i.at_ms > at_ms),
    };
    if out_of_order {
        return Err(UiError::BadRequest("退勤は出勤より後の時刻にしてください。".into()));
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
    CompanyAdmin { page: CompanyPage { company, .. }, .. }: CompanyAdmin,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, UiError> {
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
