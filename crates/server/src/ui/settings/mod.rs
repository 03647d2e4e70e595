//! 設定: the attendance system's masters as its administrator edits them — 所属設定 and
//! 従業員設定. These screens change the attendance tables only; ログイン記録's users follow on
//! 連携実行 (manual or 03:00), never on their own. Every change is written to the audit log,
//! shown in ログ表示.

pub(crate) mod departments;
pub(crate) mod employees;

use jiff::civil::Date;
use serde::Deserialize;

use crate::ui::error::UiError;

/// Longest code (所属コード) and name accepted from the forms.
const MAX_CODE_CHARS: usize = 30;
const MAX_NAME_CHARS: usize = 50;

/// An id in a URL; anything else is a page that does not exist.
fn parse_id(id: &str) -> Result<i64, UiError> {
    id.parse().map_err(|_| UiError::NotFound)
}

/// One `<option>` of a `<select>`.
pub(crate) struct SelectOption {
    value: String,
    label: String,
    selected: bool,
}

fn numbers(range: std::ops::RangeInclusive<u8>, selected: u8) -> Vec<SelectOption> {
    range.map(|n| SelectOption { value: n.to_string(), label: format!("{n:02}"), selected: n == selected }).collect()
}

/// What the list screens say after a redirect from a saved form.
#[derive(Deserialize)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    deleted: String,
}

/// 適用開始日 as typed: empty is the default, anything else must be a date.
fn effective_date(typed: &str) -> Result<Option<Date>, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    typed.parse::<Date>().map(Some).map_err(|_| format!("適用開始日は YYYY-MM-DD で入力してください (入力: {typed})。"))
}

/// `2024/02/01 から`, or `最初から` for the first entry of a history.
fn from_label(from: Option<Date>) -> String {
    match from {
        Some(d) => format!("{} から", crate::format::date_ja(d)),
        None => "最初から".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_effective_date_is_empty_or_a_date() {
        assert_eq!(effective_date(" "), Ok(None));
        assert_eq!(effective_date("2024-02-01"), Ok(Some(jiff::civil::date(2024, 2, 1))));
        assert!(effective_date("2024/02/01").unwrap_err().contains("2024/02/01"), "keeps what was typed");
        assert_eq!(from_label(None), "最初から");
    }
}
