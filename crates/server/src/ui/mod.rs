//! The administrator's web screens, one module per screen (seed §2–§5), all server-rendered
//! Japanese pages.
//!
//! What every screen guarantees:
//! - a company's screens answer 404 to anyone but its administrators and the operator, and to
//!   ids or codes that are not the company's ([`company::CompanyAdmin`]);
//! - every POST comes from our own pages and carries the session's CSRF token, checked before
//!   the handler runs ([`company::Posted`], [`company::CompanyPost`]);
//! - what a person typed that is wrong is answered in Japanese ([`error::UiError`]); rules
//!   (holidays, business days, punch derivation) live in `loginrec-rules` and the store;
//! - what an administrator changes is written to the audit log, shown in ログ表示.

pub(crate) mod company;
mod daily;
mod day_cells;
mod diagnostics;
mod divergences;
pub(crate) mod error;
mod home;
mod href;
mod links;
mod login;
mod logs;
mod monthly;
mod notice;
mod operator;
mod problems;
pub(crate) mod session;
mod settings;
mod throttle;
mod timecard;
mod timeline;
mod users;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::AppState;
use settings::{departments, employees};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/companies/{code}/links/import",
            post(links::links_import).layer(DefaultBodyLimit::max(links::MAX_UPLOAD_BYTES)),
        )
        .route("/", get(login::root))
        .route("/login", get(login::login_form).post(login::login))
        .route("/logout", post(login::logout))
        .route("/operator", get(operator::operator))
        .route("/operator/companies", post(operator::create_company))
        .route("/operator/companies/{code}/token", get(operator::confirm_token).post(operator::issue_token))
        .route("/operator/companies/{code}/token/issued", get(operator::token_issued))
        .route("/companies/{code}", get(home::company_home))
        .route("/companies/{code}/daily", get(daily::daily))
        .route("/companies/{code}/logs", get(logs::logs))
        .route("/companies/{code}/logs.csv", get(logs::logs_csv))
        .route("/companies/{code}/monthly", get(monthly::monthly))
        .route("/companies/{code}/monthly.csv", get(monthly::monthly_csv))
        .route("/companies/{code}/monthly/settings", post(monthly::save_settings))
        .route("/companies/{code}/divergences", get(divergences::divergences))
        .route("/companies/{code}/divergences.csv", get(divergences::divergences_csv))
        .route("/companies/{code}/divergences/reason", post(divergences::record_reason))
        .route("/companies/{code}/divergences/settings", post(divergences::save_settings))
        .route("/companies/{code}/links", get(links::links_view))
        .route("/companies/{code}/links/save", post(links::links_save))
        .route("/companies/{code}/links.csv", get(links::links_csv))
        .route("/companies/{code}/users", get(users::users_view))
        .route("/companies/{code}/users/sync", post(users::users_sync))
        .route("/companies/{code}/diagnostics", get(diagnostics::diagnostics))
        .route("/companies/{code}/diagnostics/link", post(diagnostics::link_account))
        .route("/companies/{code}/diagnostics/apply", post(diagnostics::apply_account))
        .route(
            "/companies/{code}/settings/departments",
            get(departments::departments).post(departments::create_department),
        )
        .route("/companies/{code}/settings/departments/new", get(departments::new_department))
        .route(
            "/companies/{code}/settings/departments/{id}",
            get(departments::edit_department).post(departments::update_department),
        )
        .route("/companies/{code}/settings/employees", get(employees::employees).post(employees::create_employee))
        .route("/companies/{code}/settings/employees/new", get(employees::new_employee))
        .route(
            "/companies/{code}/settings/employees/{id}",
            get(employees::edit_employee).post(employees::update_employee),
        )
        .route("/companies/{code}/settings/employees/{id}/delete", post(employees::delete_employee))
        .route("/companies/{code}/settings/employees/{id}/restore", post(employees::restore_employee))
        .route("/companies/{code}/timecard.csv", get(timecard::timecard_csv))
        .route("/companies/{code}/timecard", get(timecard::switch_employee))
        .route("/companies/{code}/timecard/{employee_code}", get(timecard::timecard_view))
        .route("/companies/{code}/timecard/{employee_code}/punch", post(timecard::manual_punch))
        .route("/companies/{code}/timecard/{employee_code}/punch/clear", post(timecard::clear_manual_punch))
}
