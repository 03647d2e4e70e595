//! How the web UI answers errors: a Japanese page, the login page, or 404 for anything the
//! signed-in administrator may not see (never 403, which would confirm it exists).

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use loginrec_store::StoreError;

#[derive(Debug)]
pub enum UiError {
    SignIn,
    NotFound,
    Csrf,
    BadRequest(String),
    TooManyAttempts,
    Store(StoreError),
}

impl From<StoreError> for UiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => UiError::NotFound,
            StoreError::Invalid(m) => UiError::BadRequest(m),
            StoreError::Conflict(m) => UiError::BadRequest(format!("{m} はすでに使われています。")),
            e => UiError::Store(e),
        }
    }
}

fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p id=\"message\">{}</p><p><a href=\"/\">トップへ戻る</a></p></body></html>",
        html_escape(message)
    );
    (status, Html(body)).into_response()
}

pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
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
            UiError::TooManyAttempts => page(
                StatusCode::TOO_MANY_REQUESTS,
                "ログインできません",
                "ログインの失敗が続いたため、しばらくログインできません。15分後に再度お試しください。",
            ),
            UiError::Store(e) => {
                tracing::error!(error = %e, "A page failed in the data layer.");
                page(StatusCode::SERVICE_UNAVAILABLE, "一時的なエラー", "しばらくしてから再度お試しください。")
            }
        }
    }
}
