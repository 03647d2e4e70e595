//! How the web UI answers errors: a Japanese page, the login page, or 404 for anything the
//! signed-in administrator may not see (never 403, which would confirm it exists). The words
//! a person reads for each error are written here and nowhere else.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use loginrec_store::StoreError;

#[derive(Debug)]
pub enum UiError {
    SignIn,
    NotFound,
    Csrf,
    BadRequest(String),
    /// Logins from here to this account must wait this long.
    TooManyAttempts {
        wait_minutes: i64,
    },
    Store(StoreError),
    /// A failure of ours outside the data layer; the cause goes to the log only.
    Internal(String),
}

impl From<StoreError> for UiError {
    fn from(e: StoreError) -> Self {
        match e {
            // What a URL names and the company does not have: a page that does not exist.
            StoreError::NotFound(_) => UiError::NotFound,
            StoreError::Taken(taken) => UiError::BadRequest(taken.to_string()),
            StoreError::Refused(refusal) => UiError::BadRequest(refusal.to_string()),
            e => UiError::Store(e),
        }
    }
}

impl UiError {
    /// A store error about what a form asked for: whatever it names that is missing, taken or
    /// refused is the form's mistake, said in the store's words; anything else is ours.
    pub fn refused(e: StoreError) -> UiError {
        match e {
            StoreError::NotFound(missing) => UiError::BadRequest(missing.to_string()),
            StoreError::Taken(taken) => UiError::BadRequest(taken.to_string()),
            StoreError::Refused(refusal) => UiError::BadRequest(refusal.to_string()),
            e => UiError::Store(e),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

fn page(status: StatusCode, title: &str, message: &str) -> Response {
    (status, ErrorPage { title, message }).into_response()
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::SignIn => Redirect::to("/login").into_response(),
            UiError::NotFound => {
                page(StatusCode::NOT_FOUND, "ページが見つかりません", "指定されたページは存在しません。")
            }
            UiError::Csrf => {
                page(StatusCode::FORBIDDEN, "不正なリクエストです", "画面を開き直してから操作してください。")
            }
            UiError::BadRequest(m) => page(StatusCode::BAD_REQUEST, "入力内容に誤りがあります", &m),
            UiError::TooManyAttempts { wait_minutes } => page(
                StatusCode::TOO_MANY_REQUESTS,
                "ログインできません",
                &format!(
                    "ログインの失敗が続いたため、しばらくログインできません。{wait_minutes}分後に再度お試しください。"
                ),
            ),
            UiError::Store(e) => {
                tracing::error!(error = %e, "A page failed in the data layer.");
                page(StatusCode::SERVICE_UNAVAILABLE, "一時的なエラー", "しばらくしてから再度お試しください。")
            }
            UiError::Internal(cause) => {
                tracing::error!(error = %cause, "A page failed.");
                page(StatusCode::SERVICE_UNAVAILABLE, "一時的なエラー", "しばらくしてから再度お試しください。")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn what_a_person_typed_is_shown_escaped() {
        let response = UiError::BadRequest("<script>alert(1)</script> は不正です".into()).into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains("&#60;script&#62;") || body.contains("&lt;script&gt;"), "{body}");
        assert!(!body.contains("<script>"), "{body}");
        assert!(body.contains("トップへ戻る"));
    }
}
