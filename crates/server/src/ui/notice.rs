//! Post/redirect/get for a company's screens: what a POST did is left for the page it
//! redirects to and shown there once, so that reloading the result never repeats the POST.

use crate::AppState;
use crate::ui::error::UiError;
use crate::ui::session::SignedIn;

/// The notice kind of one screen of one company (a session may have several tabs open).
fn kind(screen: &str, company_code: &str) -> String {
    format!("{screen} {company_code}")
}

/// Leaves `message` for the next view of `screen` in this session.
pub(crate) async fn leave(
    state: &AppState,
    signed_in: &SignedIn,
    screen: &str,
    company_code: &str,
    message: &str,
) -> Result<(), UiError> {
    state.store.admins().put_notice(&signed_in.0, &kind(screen, company_code), message).await?;
    Ok(())
}

/// The message left for this view, or an empty one; a reload finds none.
pub(crate) async fn take(
    state: &AppState,
    signed_in: &SignedIn,
    screen: &str,
    company_code: &str,
) -> Result<String, UiError> {
    Ok(state.store.admins().take_notice(&signed_in.0, &kind(screen, company_code)).await?.unwrap_or_default())
}
