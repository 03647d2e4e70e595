//! The attendance module's API in the KING OF TIME Web API v1.0 shape, under `/api/v1.0/`:
//! employees, daily time records, daily and monthly totals, and the punch POST. Bearer tokens are per company
//! (`loginrec company issue-api-token`); errors are `{"errors":[{"message","code"}]}`.
//! A remote-mode ログイン記録 can send its punches here, so that mode is tested against a real
//! server.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use kot_protocol::{
    DailyTimeRecords, DailyTotals, DailyWorking, DailyWorkings, ErrorBody, HolidayWork, MonthlyTotals, PunchRequest,
    PunchResponse, RecordCode, TimeRecord,
};
use loginrec_rules::day_error::day_error;
use loginrec_rules::holidays::DayType;
use loginrec_store::remote::RemoteEmployee;
use loginrec_store::{Company, PunchView};
use serde::{Deserialize, Serialize};

use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1.0/company", get(company_info).fallback(method_not_allowed))
        .route("/api/v1.0/employees", get(employees).fallback(method_not_allowed))
        .route("/api/v1.0/employees/{code}", get(employee).fallback(method_not_allowed))
        .route("/api/v1.0/daily-workings", get(daily_workings).fallback(method_not_allowed))
        .route("/api/v1.0/daily-workings/timerecord", get(timerecords).fallback(method_not_allowed))
        .route("/api/v1.0/monthly-workings", get(monthly_workings_of_query).fallback(method_not_allowed))
        .route("/api/v1.0/monthly-workings/{month}", get(monthly_workings).fallback(method_not_allowed))
        .route("/api/v1.0/daily-workings/timerecord/{employee_key}", post(punch).fallback(method_not_allowed))
        // Anything else under /api/ (but the LanScope ingest API) answers in this API's shape.
        .route("/api/{*rest}", any(not_found))
}

async fn not_found() -> KotError {
    KotError::new(StatusCode::NOT_FOUND, 404, "no such resource")
}

async fn method_not_allowed() -> KotError {
    KotError::new(StatusCode::METHOD_NOT_ALLOWED, 405, "method not allowed for this resource")
}

/// An error in the API's own shape.
pub(crate) struct KotError {
    status: StatusCode,
    code: u32,
    message: String,
}

impl KotError {
    fn new(status: StatusCode, code: u32, message: impl Into<String>) -> KotError {
        KotError { status, code, message: message.into() }
    }
}

impl From<loginrec_store::StoreError> for KotError {
    fn from(e: loginrec_store::StoreError) -> Self {
        tracing::error!(error = %e, "An attendance API request failed in the data layer.");
        KotError::new(StatusCode::SERVICE_UNAVAILABLE, 500, "temporarily unavailable")
    }
}

impl IntoResponse for KotError {
    fn into_response(self) -> Response {
        json(self.status, &ErrorBody::one(self.code, self.message))
    }
}

/// A body of the API's shapes, as JSON in UTF-8.
fn json(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_string(body) {
        Ok(text) => (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], text).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn company(state: &AppState, headers: &HeaderMap) -> Result<Company, KotError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| KotError::new(StatusCode::UNAUTHORIZED, 101, "missing access token"))?;
    state
        .store
        .attendance()
        .company_for_api_token(token)
        .await?
        .ok_or_else(|| KotError::new(StatusCode::UNAUTHORIZED, 102, "invalid access token"))
}

fn employee_json(e: &RemoteEmployee) -> kot_protocol::Employee {
    kot_protocol::Employee {
        key: e.key.clone(),
        code: e.code.clone(),
        last_name: e.last_name.clone(),
        first_name: e.first_name.clone(),
        division_code: e.division_code.clone(),
        division_name: e.division_name.clone(),
        type_name: e.type_name.clone(),
    }
}

async fn company_info(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, KotError> {
    let company = company(&state, &headers).await?;
    Ok(json(StatusCode::OK, &kot_protocol::Company { code: company.code, name: company.name }))
}

/// `date` (基準日, `YYYY-MM-DD`, today when absent) and `includeResigner` of the employee routes.
#[derive(Deserialize)]
struct EmployeeQuery {
    date: Option<String>,
    #[serde(rename = "includeResigner", default)]
    include_resigner: Option<String>,
}

impl EmployeeQuery {
    fn date(&self) -> Result<Option<Date>, KotError> {
        match self.date.as_deref().filter(|d| !d.is_empty()) {
            None => Ok(None),
            Some(d) => {
                d.parse().map(Some).map_err(|_| KotError::new(StatusCode::BAD_REQUEST, 300, "date must be YYYY-MM-DD"))
            }
        }
    }

    fn include_resigners(&self) -> Result<bool, KotError> {
        match self.include_resigner.as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(KotError::new(StatusCode::BAD_REQUEST, 300, "includeResigner must be true or false")),
        }
    }
}

async fn employees(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<EmployeeQuery>,
) -> Result<Response, KotError> {
    let company = company(&state, &headers).await?;
    let (on, resigners) = (q.date()?, q.include_resigners()?);
    let list: Vec<kot_protocol::Employee> =
        state.store.attendance().api_employees_on(&company, on, resigners).await?.iter().map(employee_json).collect();
    Ok(json(StatusCode::OK, &list))
}

async fn employee(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(q): Query<EmployeeQuery>,
) -> Result<Response, KotError> {
    let company = company(&state, &headers).await?;
    let (on, resigners) = (q.date()?, q.include_resigners()?);
    let attendance = state.store.attendance();
    // A code a resigner and a current employee share names the current one.
    let mut found = attendance.api_employees_on(&company, on, false).await?.into_iter().find(|e| e.code == code);
    if found.is_none() && resigners {
        found = attendance.api_employees_on(&company, on, true).await?.into_iter().find(|e| e.code == code);
    }
    match found {
        Some(e) => Ok(json(StatusCode::OK, &employee_json(&e))),
        None => Err(KotError::new(StatusCode::NOT_FOUND, 200, format!("employee {code} not found"))),
    }
}

#[derive(Deserialize)]
struct RangeQuery {
    start: Option<String>,
    end: Option<String>,
    /// Comma-separated employee keys; every employee when absent.
    #[serde(rename = "employeeKeys")]
    employee_keys: Option<String>,
}

/// The longest period one request may ask for.
const MAX_RANGE_DAYS: i64 = 62;

fn parse_date(s: &str, name: &str) -> Result<Date, KotError> {
    s.parse().map_err(|_| KotError::new(StatusCode::BAD_REQUEST, 300, format!("{name} must be YYYY-MM-DD")))
}

/// `start` and `end`, both required, in order and within [`MAX_RANGE_DAYS`].
fn period(start: Option<&str>, end: Option<&str>) -> Result<(Date, Date), KotError> {
    let required = |s: Option<&str>, name: &str| -> Result<Date, KotError> {
        let s =
            s.ok_or_else(|| KotError::new(StatusCode::BAD_REQUEST, 300, format!("{name} is required (YYYY-MM-DD)")))?;
        parse_date(s, name)
    };
    let (start, end) = (required(start, "start")?, required(end, "end")?);
    if end < start || (end - start).get_days() as i64 >= MAX_RANGE_DAYS {
        return Err(KotError::new(
            StatusCode::BAD_REQUEST,
            301,
            format!("end must be on or after start, within {MAX_RANGE_DAYS} days"),
        ));
    }
    Ok((start, end))
}

#[derive(Deserialize)]
struct DailyWorkingsQuery {
    /// One day; `start` and `end` ask for a period instead; today when neither is given.
    date: Option<String>,
    start: Option<String>,
    end: Option<String>,
    /// A division code: only the employees in it on each day.
    division: Option<String>,
    /// Comma-separated; `currentDateEmployee` adds each employee as of that day.
    #[serde(rename = "additionalFields")]
    additional_fields: Option<String>,
}

/// `GET /daily-workings`: each employee's totals by business day, from the same computation
/// as 日別データ and the time card.
async fn daily_workings(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<DailyWorkingsQuery>,
) -> Result<Response, KotError> {
    let company = company(&state, &headers).await?;
    let tz = company.tz()?;
    let today = tz.to_datetime(Timestamp::now()).date();
    let (start, end) = match (q.date.as_deref().filter(|d| !d.is_empty()), q.start.as_deref(), q.end.as_deref()) {
        (Some(date), None, None) => {
            let date = parse_date(date, "date")?;
            (date, date)
        }
        (Some(_), _, _) => {
            return Err(KotError::new(StatusCode::BAD_REQUEST, 300, "give either date, or start and end"));
        }
        (None, None, None) => (today, today),
        (None, start, end) => period(start, end)?,
    };
    let with_employee = asks_for_employee(q.additional_fields.as_deref());
    let division = q.division.as_deref().filter(|d| !d.is_empty());
    let days = state.store.attendance().api_daily_workings(&company, start, end, division, today).await?;
    let body: Vec<DailyWorkings> = days
        .into_iter()
        .map(|day| DailyWorkings {
            date: day.date.to_string(),
            daily_workings: day
                .employees
                .into_iter()
                .map(|e| {
                    let (i, o) =
                        (PunchView::method_of(e.clock_in.as_ref()), PunchView::method_of(e.clock_out.as_ref()));
                    let error = day_error(day.date, i, o, today);
                    let w = &e.work;
                    DailyTotals {
                        date: day.date.to_string(),
                        employee_key: e.employee.key.clone(),
                        work_place_division_code: e.employee.division_code.clone(),
                        work_place_division_name: e.employee.division_name.clone(),
                        current_date_employee: with_employee.then(|| employee_json(&e.employee)),
                        is_closing: false,
                        is_help: false,
                        is_error: error.is_some(),
                        workday_type_name: DayType::of(day.date).label_ja(),
                        // 所定 is the legal eight hours of a weekday; 休日労働 is neither.
                        assigned: w.work - w.overtime - w.holiday_work,
                        unassigned: 0,
                        overtime: w.overtime,
                        late_night: w.late_night - w.late_night_overtime,
                        late_night_unassigned: 0,
                        late_night_overtime: w.late_night_overtime,
                        break_time: w.breaks,
                        late: 0,
                        early_leave: 0,
                        total_work: w.work,
                    }
                })
                .collect(),
        })
        .collect();
    Ok(json(StatusCode::OK, &body))
}

#[derive(Deserialize)]
struct MonthlyWorkingsQuery {
    /// `YYYY-MM` when the month is not in the path; this month when neither gives it.
    date: Option<String>,
    /// A division code: only the employees in it on the month's last day.
    division: Option<String>,
    /// Comma-separated; `currentDateEmployee` adds each employee as of the month's last day.
    #[serde(rename = "additionalFields")]
    additional_fields: Option<String>,
}

/// `GET /monthly-workings/{YYYY-MM}`: each employee's month, from the same computation as
/// 月別データ and `GET /daily-workings`.
async fn monthly_workings(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(month): Path<String>,
    Query(q): Query<MonthlyWorkingsQuery>,
) -> Result<Response, KotError> {
    monthly_workings_of(state, headers, Some(month), q).await
}

/// `GET /monthly-workings?date=YYYY-MM`, as some clients ask for it.
async fn monthly_workings_of_query(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(mut q): Query<MonthlyWorkingsQuery>,
) -> Result<Response, KotError> {
    let month = q.date.take();
    monthly_workings_of(state, headers, month, q).await
}

async fn monthly_workings_of(
    state: AppState,
    headers: HeaderMap,
    month: Option<String>,
    q: MonthlyWorkingsQuery,
) -> Result<Response, KotError> {
    let company = company(&state, &headers).await?;
    let tz = company.tz()?;
    let today = tz.to_datetime(Timestamp::now()).date();
    let first = match month.as_deref().filter(|m| !m.is_empty()) {
        None => today.first_of_month(),
        Some(m) => parse_month(m)?,
    };
    let last = first.last_of_month();
    let with_employee = asks_for_employee(q.additional_fields.as_deref());
    let division = q.division.as_deref().filter(|d| !d.is_empty());
    let months = state.store.attendance().api_monthly_workings(&company, first, last, division, today).await?;
    let body: Vec<MonthlyTotals> = months
        .into_iter()
        .map(|m| {
            let t = m.totals;
            let holiday = HolidayWork { minutes: t.holiday_work, day_count: i64::from(t.holiday_work_days) };
            MonthlyTotals {
                year: first.year(),
                month: first.month(),
                employee_key: m.employee.key.clone(),
                current_date_employee: with_employee.then(|| employee_json(&m.employee)),
                start_date: first.to_string(),
                end_date: last.to_string(),
                is_closing: false,
                working_count: i64::from(t.days_worked),
                workingday_count: i64::from(t.days_worked),
                assigned: t.work - t.overtime - t.holiday_work,
                unassigned: 0,
                overtime: t.overtime,
                night: t.late_night - t.late_night_overtime,
                night_unassigned: 0,
                night_overtime: t.late_night_overtime,
                late: 0,
                early_leave: 0,
                late_count: 0,
                early_leave_count: 0,
                break_sum: t.breaks,
                // 休日労働 is work on the 法定休日; no 所定休日 is kept apart from it.
                holiday_work: holiday,
                legal_holiday_work: holiday,
                general_holiday_work: HolidayWork::default(),
            }
        })
        .collect();
    Ok(json(StatusCode::OK, &body))
}

/// Whether `additionalFields` asks for `currentDateEmployee`.
fn asks_for_employee(additional_fields: Option<&str>) -> bool {
    additional_fields.is_some_and(|f| f.split(',').any(|f| f.trim() == "currentDateEmployee"))
}

/// A month as the API writes it: `YYYY-MM`.
fn parse_month(s: &str) -> Result<Date, KotError> {
    let refused = || KotError::new(StatusCode::BAD_REQUEST, 300, "date must be YYYY-MM");
    let (year, month) = s.split_once('-').ok_or_else(refused)?;
    if year.len() != 4 || month.len() != 2 {
        return Err(refused());
    }
    let (year, month) = (year.parse::<i16>().map_err(|_| refused())?, month.parse::<i8>().map_err(|_| refused())?);
    Date::new(year, month, 1).map_err(|_| refused())
}

async fn timerecords(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RangeQuery>,
) -> Result<Response, KotError> {
    let company = company(&state, &headers).await?;
    let tz = company.tz()?;
    let (start, end) = period(q.start.as_deref(), q.end.as_deref())?;
    let wanted: Option<std::collections::BTreeSet<&str>> =
        q.employee_keys.as_deref().map(|keys| keys.split(',').map(str::trim).filter(|k| !k.is_empty()).collect());
    let records = state.store.attendance().api_timerecords(company.id, start, end).await?;
    // One pass: each record goes to its day and employee, in the order the store gives them.
    let mut by_day: std::collections::BTreeMap<&str, Vec<DailyWorking>> = std::collections::BTreeMap::new();
    for r in &records {
        if wanted.as_ref().is_some_and(|w| !w.contains(r.employee_key.as_str())) {
            continue;
        }
        let Some(code) = RecordCode::new(r.code) else { continue };
        let time = Timestamp::from_millisecond(r.at_ms).map(|t| kot_protocol::format_time(t, &tz)).unwrap_or_default();
        let record = TimeRecord {
            time,
            code,
            name: code.name().to_string(),
            division_code: r.division_code.clone(),
            division_name: r.division_name.clone(),
        };
        let workings = by_day.entry(r.date.as_str()).or_default();
        match workings.last_mut().filter(|w| w.employee_key == r.employee_key) {
            Some(working) => working.time_record.push(record),
            None => workings.push(DailyWorking {
                date: r.date.clone(),
                employee_key: r.employee_key.clone(),
                time_record: vec![record],
            }),
        }
    }
    let mut days = Vec::new();
    let mut date = start;
    while date <= end {
        let ds = date.to_string();
        let daily_workings = by_day.remove(ds.as_str()).unwrap_or_default();
        days.push(DailyTimeRecords { date: ds, daily_workings });
        date =
            date.checked_add(1.day()).map_err(|_| KotError::new(StatusCode::BAD_REQUEST, 301, "date out of range"))?;
    }
    Ok(json(StatusCode::OK, &days))
}

async fn punch(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(employee_key): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, KotError> {
    let company = company(&state, &headers).await?;
    let body: PunchRequest = serde_json::from_slice(&body)
        .map_err(|e| KotError::new(StatusCode::BAD_REQUEST, 300, format!("malformed body: {e}")))?;
    // Exactly YYYY-MM-DD: the answer repeats the date as sent, so it must be the date recorded.
    let date = Date::strptime("%Y-%m-%d", &body.date)
        .ok()
        .filter(|d| d.strftime("%Y-%m-%d").to_string() == body.date)
        .ok_or_else(|| KotError::new(StatusCode::BAD_REQUEST, 300, "date must be YYYY-MM-DD"))?;
    let time = kot_protocol::parse_time(&body.time)
        .ok_or_else(|| KotError::new(StatusCode::BAD_REQUEST, 300, "time must be like 2016-05-01T09:00:00+09:00"))?;
    let code = i64::from(body.code.0);
    match state.store.attendance().record_api_punch(&company, &employee_key, date, time.as_millisecond(), code).await {
        Ok(()) => {}
        Err(loginrec_store::StoreError::NotFound(_)) => {
            return Err(KotError::new(StatusCode::NOT_FOUND, 200, format!("employee {employee_key} not found")));
        }
        Err(loginrec_store::StoreError::Refused(loginrec_store::Refusal::PunchMoment(e))) => {
            return Err(KotError::new(StatusCode::BAD_REQUEST, 300, e.english()));
        }
        Err(e) => return Err(e.into()),
    }
    let name = body.code.name().to_string();
    Ok(json(StatusCode::CREATED, &PunchResponse { date: body.date, time: body.time, code: body.code, name }))
}
