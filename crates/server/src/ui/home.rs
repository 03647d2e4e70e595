//! A company's home screen: whether LanScope 連携 is on, when the connector last delivered,
//! and the banner of what needs attention.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

use crate::AppState;
use crate::format::date_time_minutes;
use crate::ui::company::{CompanyAdmin, CompanyPage, Nav, Tab};
use crate::ui::error::UiError;
use crate::ui::{href, problems};

#[derive(Template, WebTemplate)]
#[template(path = "company_home.html")]
pub(crate) struct CompanyHome {
    company_code: String,
    company_name: String,
    nav: Nav,
    csrf: String,
    problems: usize,
    enabled: &'static str,
    last_ingest: String,
    connector: String,
    /// 乖離 days without a reason since the first of last month, and where they are listed.
    unexplained_divergences: usize,
    divergences_href: String,
}

pub(crate) async fn company_home(
    State(state): State<AppState>,
    CompanyAdmin { page, .. }: CompanyAdmin,
) -> Result<CompanyHome, UiError> {
    let nav = page.nav(Tab::Home);
    let CompanyPage { company, csrf, problems, .. } = page;
    let tz = company.tz()?;
    let unexplained_divergences = problems::unexplained_divergences(&state.store, &company).await?;
    let divergences_href = format!(
        "/companies/{}/divergences?from={}&unexplained=1",
        href::path_segment(&company.code),
        problems::unexplained_since(&company)?
    );
    Ok(CompanyHome {
        unexplained_divergences,
        divergences_href,
        enabled: if company.lanscope_enabled { "有効" } else { "無効" },
        last_ingest: company
            .last_ingest_at_ms
            .map(|ms| date_time_minutes(ms, &tz))
            .unwrap_or_else(|| "まだありません".into()),
        connector: match (&company.connector_version, &company.connector_host) {
            (Some(v), Some(h)) => format!("バージョン {v} ({h})"),
            _ => "-".into(),
        },
        company_code: company.code,
        company_name: company.name,
        nav,
        csrf,
        problems,
    })
}
