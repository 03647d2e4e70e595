//! 勤革時 screens: 所属設定, 従業員設定, manual punches, time cards.

use axum::Router;

use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
