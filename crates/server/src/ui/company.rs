//! Who may act on a company's screens, checked once for every handler.
//!
//! - [`CompanyAdmin`]: a signed-in administrator of the company named by the URL's `{code}`, or
//!   the operator; anyone else gets 404 (never 403, which would confirm the company exists).
//! - [`Posted`]: a form posted by a signed-in administrator from our own pages: same origin,
//!   and the session's CSRF token in the form's `csrf` field.
//! - [`CompanyPost`]: both, for the forms of a company's screens.
//!
//! Handlers take one of these and never repeat the checks.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use loginrec_store::Company;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::ui::error::UiError;
use crate::ui::problems::Diagnostics;
use crate::ui::session::{SignedIn, same_origin};

/// Recent diagnostics counts per company (see `AppState::banner_cache`).
#[derive(Debug, Default)]
pub struct BannerCache {
    counts: std::sync::Mutex<HashMap<i64, (std::time::Instant, usize)>>,
}

impl BannerCache {
    const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(60);

    fn get(&self, company_id: i64) -> Option<usize> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.get(&company_id).filter(|(at, _)| at.elapsed() < Self::FRESH_FOR).map(|(_, n)| *n)
    }

    pub(crate) fn put(&self, company_id: i64, count: usize) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.insert(company_id, (std::time::Instant::now(), count));
    }

    /// Forgets a company's count, after something that changes it (a link, an import).
    pub(crate) fn forget(&self, company_id: i64) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.remove(&company_id);
    }
}

/// What every company screen shows around its content.
pub(crate) struct CompanyPage {
    pub company: Company,
    pub csrf: String,
    /// How many diagnostics need attention (for the banner).
    pub problems: usize,
    /// The operator sees the company's screens too, with a way back to サポートセンター.
    pub operator: bool,
}

impl CompanyPage {
    /// The navigation of a page of this company, with `tab` marked as the current one.
    pub fn nav(&self, tab: Tab) -> Nav {
        Nav { tab, operator: self.operator }
    }
}

/// The tabs of a company's navigation (`company_nav.html`), one per screen family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tab {
    Home,
    Daily,
    Monthly,
    Logs,
    Links,
    Users,
    Diagnostics,
    Divergences,
    Departments,
    Employees,
}

/// What the navigation needs beyond the company: the current tab and who is looking.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Nav {
    pub tab: Tab,
    pub operator: bool,
}

impl Nav {
    /// The `aria-current` of a tab's link: `page` for the current one (styled as highlighted).
    pub fn current(&self, tab: Tab) -> &'static str {
        if tab == self.tab { "page" } else { "false" }
    }
}

/// The company of a URL, if this administrator may see it; 404 otherwise.
async fn company_page(state: &AppState, signed_in: &SignedIn, code: &str) -> Result<CompanyPage, UiError> {
    let company = state.store.company_by_code(code).await?.ok_or(UiError::NotFound)?;
    let admin = &signed_in.0.admin;
    if !(admin.is_operator() || admin.company_id == company.id) {
        return Err(UiError::NotFound);
    }
    let problems = match state.banner_cache.get(company.id) {
        Some(n) => n,
        None => {
            let n = Diagnostics::gather(&state.store, &company).await?.count();
            state.banner_cache.put(company.id, n);
            n
        }
    };
    Ok(CompanyPage { company, csrf: signed_in.csrf().to_string(), problems, operator: admin.is_operator() })
}

/// The signed-in administrator and the company of the URL they may see.
pub(crate) struct CompanyAdmin {
    pub signed_in: SignedIn,
    pub page: CompanyPage,
}

impl FromRequestParts<AppState> for CompanyAdmin {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let signed_in = SignedIn::from_request_parts(parts, state).await?;
        let Path(params) =
            Path::<HashMap<String, String>>::from_request_parts(parts, state).await.map_err(|_| UiError::NotFound)?;
        let code = params.get("code").ok_or(UiError::NotFound)?;
        let page = company_page(state, &signed_in, code).await?;
        Ok(CompanyAdmin { signed_in, page })
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A form body: `application/x-www-form-urlencoded` fields, read into `T`, with its CSRF token.
fn parse_form<T: DeserializeOwned>(body: &[u8]) -> Result<(T, String), UiError> {
    let csrf = serde_urlencoded::from_bytes::<CsrfField>(body).map(|f| f.csrf).unwrap_or_default();
    let form = serde_urlencoded::from_bytes::<T>(body).map_err(|_| {
        UiError::BadRequest("送信された内容が読めません。画面を開き直してから操作してください。".into())
    })?;
    Ok((form, csrf))
}

/// Refuses a post from another site before anything else is looked at.
fn posted_from_our_pages(parts: &Parts, state: &AppState) -> Result<(), UiError> {
    same_origin(&parts.headers, state.behind_proxy)
}

/// The posted form, once its CSRF token is found to be the session's.
async fn checked_form<T: DeserializeOwned>(
    parts: Parts,
    body: Body,
    state: &AppState,
    signed_in: &SignedIn,
) -> Result<T, UiError> {
    let body = Bytes::from_request(Request::from_parts(parts, body), state)
        .await
        .map_err(|_| UiError::BadRequest("送信された内容を受け取れませんでした。".into()))?;
    let (form, csrf) = parse_form::<T>(&body)?;
    signed_in.check_csrf(&csrf)?;
    Ok(form)
}

/// A form posted from our pages by a signed-in administrator, its CSRF token checked.
pub(crate) struct Posted<T> {
    pub signed_in: SignedIn,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Posted<T> {
    type Rejection = UiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        posted_from_our_pages(&parts, state)?;
        let signed_in = SignedIn::from_request_parts(&mut parts, state).await?;
        let form = checked_form(parts, body, state, &signed_in).await?;
        Ok(Posted { signed_in, form })
    }
}

/// A form posted to a company's screen: [`Posted`] and [`CompanyAdmin`] together.
pub(crate) struct CompanyPost<T> {
    pub signed_in: SignedIn,
    pub page: CompanyPage,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CompanyPost<T> {
    type Rejection = UiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        posted_from_our_pages(&parts, state)?;
        let CompanyAdmin { signed_in, page } = CompanyAdmin::from_request_parts(&mut parts, state).await?;
        let form = checked_form(parts, body, state, &signed_in).await?;
        // Any change may fix (or make) a problem: the next page counts the banner afresh.
        state.banner_cache.forget(page.company.id);
        Ok(CompanyPost { signed_in, page, form })
    }
}

/// A multipart upload to a company's screen: the checks of [`CompanyPost`] but the CSRF token,
/// which travels inside the multipart body and is checked with [`SignedIn::check_csrf`].
pub(crate) struct CompanyUpload {
    pub signed_in: SignedIn,
    pub page: CompanyPage,
}

impl FromRequestParts<AppState> for CompanyUpload {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        posted_from_our_pages(parts, state)?;
        let CompanyAdmin { signed_in, page } = CompanyAdmin::from_request_parts(parts, state).await?;
        Ok(CompanyUpload { signed_in, page })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_banner_count_is_reused_until_something_changes_it() {
        let cache = BannerCache::default();
        assert_eq!(cache.get(7), None);
        cache.put(7, 3);
        assert_eq!(cache.get(7), Some(3));
        assert_eq!(cache.get(8), None, "per company");
        cache.forget(7);
        assert_eq!(cache.get(7), None);
    }

    #[derive(Deserialize)]
    struct Named {
        #[serde(default)]
        name: String,
    }

    #[test]
    fn a_form_is_read_with_its_csrf_token_beside_it() {
        let (form, csrf) = parse_form::<Named>(b"csrf=abc&name=%E5%BA%97").unwrap();
        assert_eq!((form.name.as_str(), csrf.as_str()), ("店", "abc"));
        let (_, csrf) = parse_form::<Named>(b"name=x").unwrap();
        assert_eq!(csrf, "", "a missing token is an empty one, which no session has");
    }
}
