//! Finding the columns of a LanScope CSV by header name.
//!
//! LanScope versions, languages and the manager's export settings all change the column order
//! and sometimes the wording, so a column is only ever found by its name. Each field has a list
//! of names seen in the wild; the connector configuration can replace one list with a single
//! name when a site has renamed a column.

use serde::{Deserialize, Serialize};

use crate::ReadError;

/// Header names from the connector configuration. Each `Some(header)` replaces the built-in
/// alias list of that field with exactly that one name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ColumnMap {
    pub recorded_at: Option<String>,
    pub event_at: Option<String>,
    pub user_name: Option<String>,
    pub log_type: Option<String>,
    pub sub_manager_no: Option<String>,
    pub agent_no: Option<String>,
    pub computer_name: Option<String>,
    pub date: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
}

/// Which of the two LanScope exports a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One row per PC start (ログ種類 1) or end (ログ種類 2).
    Events,
    /// 勤怠簿: one row per user per LanScope day with its first start and last end.
    DailySummary,
}

/// A field this crate reads, whatever its header is called in a given file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    RecordedAt,
    EventAt,
    UserName,
    LogType,
    SubManagerNo,
    AgentNo,
    ComputerName,
    Date,
    Start,
    End,
}

impl Field {
    const ALL: [Field; 10] = [
        Field::RecordedAt,
        Field::EventAt,
        Field::UserName,
        Field::LogType,
        Field::SubManagerNo,
        Field::AgentNo,
        Field::ComputerName,
        Field::Date,
        Field::Start,
        Field::End,
    ];

    fn index(self) -> usize {
        self as usize
    }

    /// Built-in header names; ASCII ones match case-insensitively.
    pub(crate) fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::RecordedAt => &["日時", "記録日時", "RecordTime"],
            Field::EventAt => &["イベント日時", "EventTime", "イベント時刻"],
            Field::UserName => &["ログオンユーザ名", "ログオンユーザー名", "ユーザ名", "ユーザー名", "UserName"],
            Field::LogType => &["ログ種類", "LogType", "種類"],
            Field::SubManagerNo => &["サブマネージャno", "サブマネージャNo", "サブマネージャー番号", "SubManagerNo"],
            Field::AgentNo => &["エージェントno", "エージェントNo", "エージェント番号", "AgentNo"],
            Field::ComputerName => &["コンピュータ名", "コンピューター名", "PC名", "ComputerName"],
            Field::Date => &["日付", "年月日", "勤務日", "Date"],
            Field::Start => &["開始日時", "使用開始", "使用開始日時", "開始", "StartTime"],
            Field::End => &["終了日時", "使用終了", "使用終了日時", "終了", "EndTime"],
        }
    }

    fn configured(self, map: &ColumnMap) -> Option<&str> {
        let name = match self {
            Field::RecordedAt => &map.recorded_at,
            Field::EventAt => &map.event_at,
            Field::UserName => &map.user_name,
            Field::LogType => &map.log_type,
            Field::SubManagerNo => &map.sub_manager_no,
            Field::AgentNo => &map.agent_no,
            Field::ComputerName => &map.computer_name,
            Field::Date => &map.date,
            Field::Start => &map.start,
            Field::End => &map.end,
        };
        name.as_deref()
    }

    fn matches(self, header: &str, map: &ColumnMap) -> bool {
        match self.configured(map) {
            Some(name) => header.eq_ignore_ascii_case(&normalize_header(name)),
            None => self.aliases().iter().any(|alias| header.eq_ignore_ascii_case(alias)),
        }
    }

    /// Fields that take part in a layout; the others are ignored even when present.
    fn used_by(self, layout: Layout) -> bool {
        match layout {
            Layout::Events => matches!(
                self,
                Field::RecordedAt
                    | Field::EventAt
                    | Field::UserName
                    | Field::LogType
                    | Field::SubManagerNo
                    | Field::AgentNo
                    | Field::ComputerName
            ),
            Layout::DailySummary => matches!(
                self,
                Field::UserName
                    | Field::SubManagerNo
                    | Field::AgentNo
                    | Field::ComputerName
                    | Field::Date
                    | Field::Start
                    | Field::End
            ),
        }
    }
}

/// Trims whitespace and surrounding quotes: some exports quote headers with stray spaces around
/// them, which the CSV parser then keeps as literal quote characters.
pub(crate) fn normalize_header(raw: &str) -> String {
    let mut s = raw.trim();
    while let Some(inner) = s.strip_prefix(['"', '\'']).and_then(|rest| rest.strip_suffix(['"', '\''])) {
        s = inner.trim();
    }
    s.to_string()
}

/// Where each field of the detected layout sits, and what the file calls it.
#[derive(Clone, Debug)]
pub(crate) struct Columns {
    pub(crate) layout: Layout,
    /// Normalized header names, as in the file, by position.
    headers: Vec<String>,
    positions: [Option<usize>; Field::ALL.len()],
}

impl Columns {
    /// Detects the layout from the header row. Any ambiguity (a field named twice) or missing
    /// required column makes the file unreadable rather than guessed at.
    pub(crate) fn detect<S: AsRef<str>>(raw_headers: &[S], map: &ColumnMap) -> Result<Columns, ReadError> {
        let headers: Vec<String> = raw_headers.iter().map(|h| normalize_header(h.as_ref())).collect();
        let not_lanscope = || ReadError::NotLanScope { headers: headers.clone() };

        let mut found: [Vec<usize>; Field::ALL.len()] = Default::default();
        for (position, header) in headers.iter().enumerate() {
            if header.is_empty() {
                continue;
            }
            for field in Field::ALL {
                if field.matches(header, map) {
                    found[field.index()].push(position);
                }
            }
        }
        let has = |field: Field| !found[field.index()].is_empty();

        let layout = if has(Field::LogType) {
            if !has(Field::EventAt) {
                return Err(not_lanscope());
            }
            Layout::Events
        } else if has(Field::Start) || has(Field::End) {
            Layout::DailySummary
        } else {
            return Err(not_lanscope());
        };
        if !has(Field::UserName) {
            return Err(not_lanscope());
        }

        let mut positions = [None; Field::ALL.len()];
        for field in Field::ALL {
            if !field.used_by(layout) {
                continue;
            }
            match found[field.index()].as_slice() {
                [] => {}
                [position] => positions[field.index()] = Some(*position),
                _ => return Err(not_lanscope()),
            }
        }
        // One header cannot stand for two fields of the same layout (only possible through a
        // ColumnMap override naming an alias of another field).
        for (i, a) in positions.iter().enumerate() {
            if a.is_some() && positions[i + 1..].contains(a) {
                return Err(not_lanscope());
            }
        }
        Ok(Columns { layout, headers, positions })
    }

    pub(crate) fn position(&self, field: Field) -> Option<usize> {
        self.positions[field.index()]
    }

    /// The header of the column at `position` as the file spells it, for error messages; a
    /// column without a header is named by its number.
    pub(crate) fn header_at(&self, position: usize) -> String {
        match self.headers.get(position) {
            Some(header) if !header.is_empty() => header.clone(),
            _ => format!("column {}", position + 1),
        }
    }

    /// The header of a field as the file spells it, for error messages.
    pub(crate) fn header_name(&self, field: Field) -> String {
        self.position(field)
            .and_then(|p| self.headers.get(p))
            .cloned()
            .unwrap_or_else(|| field.aliases().first().copied().unwrap_or_default().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(headers: &[&str]) -> Result<Columns, ReadError> {
        Columns::detect(headers, &ColumnMap::default())
    }

    const EVENTS: [&str; 7] = [
        "日時",
        "イベント日時",
        "ログオンユーザ名",
        "ログ種類",
        "サブマネージャno",
        "エージェントno",
        "コンピュータ名",
    ];

    #[test]
    fn the_standard_japanese_event_header_is_the_events_layout() {
        let columns = detect(&EVENTS).unwrap();
        assert_eq!(columns.layout, Layout::Events);
        assert_eq!(columns.position(Field::RecordedAt), Some(0));
        assert_eq!(columns.position(Field::EventAt), Some(1));
        assert_eq!(columns.position(Field::UserName), Some(2));
        assert_eq!(columns.position(Field::LogType), Some(3));
        assert_eq!(columns.position(Field::SubManagerNo), Some(4));
        assert_eq!(columns.position(Field::AgentNo), Some(5));
        assert_eq!(columns.position(Field::ComputerName), Some(6));
    }

    #[test]
    fn columns_are_found_by_name_not_by_position() {
        let columns = detect(&["コンピュータ名", "ログ種類", "ユーザー名", "イベント時刻"]).unwrap();
        assert_eq!(columns.layout, Layout::Events);
        assert_eq!(columns.position(Field::ComputerName), Some(0));
        assert_eq!(columns.position(Field::LogType), Some(1));
        assert_eq!(columns.position(Field::UserName), Some(2));
        assert_eq!(columns.position(Field::EventAt), Some(3));
        assert_eq!(columns.position(Field::RecordedAt), None);
    }

    #[test]
    fn english_aliases_match_whatever_their_case() {
        let columns =
            detect(&["recordtime", "EVENTTIME", "userName", "logtype", "SUBMANAGERNO", "agentno", "computername"])
                .unwrap();
        assert_eq!(columns.layout, Layout::Events);
        assert_eq!(columns.position(Field::SubManagerNo), Some(4));
        assert_eq!(columns.position(Field::ComputerName), Some(6));
    }

    #[test]
    fn every_alias_of_every_field_is_recognised() {
        for field in Field::ALL {
            for alias in field.aliases() {
                assert!(field.matches(alias, &ColumnMap::default()), "{field:?} {alias}");
            }
        }
    }

    #[test]
    fn headers_are_matched_after_trimming_spaces_and_quotes() {
        let columns =
            detect(&[" 日時 ", "\"イベント日時\"", " \"ログオンユーザ名\" ", "'ログ種類'", "\u{3000}PC名"]).unwrap();
        assert_eq!(columns.layout, Layout::Events);
        assert_eq!(columns.header_name(Field::EventAt), "イベント日時");
        assert_eq!(columns.position(Field::ComputerName), Some(4));
    }

    #[test]
    fn a_header_with_start_and_end_but_no_log_type_is_the_daily_summary() {
        let columns = detect(&["日付", "ログオンユーザ名", "開始", "終了", "コンピュータ名"]).unwrap();
        assert_eq!(columns.layout, Layout::DailySummary);
        assert_eq!(columns.position(Field::Date), Some(0));
        assert_eq!(columns.position(Field::Start), Some(2));
        assert_eq!(columns.position(Field::End), Some(3));
    }

    #[test]
    fn a_daily_summary_with_only_an_end_column_is_still_recognised() {
        let columns = detect(&["勤務日", "UserName", "使用終了日時"]).unwrap();
        assert_eq!(columns.layout, Layout::DailySummary);
        assert_eq!(columns.position(Field::Start), None);
    }

    #[test]
    fn an_employee_master_is_not_lanscope_and_lists_its_headers() {
        let err = detect(&["従業員コード", "姓", "名", "所属コード"]).unwrap_err();
        assert_eq!(
            err,
            ReadError::NotLanScope {
                headers: vec!["従業員コード".into(), "姓".into(), "名".into(), "所属コード".into()]
            }
        );
    }

    #[test]
    fn an_event_header_without_a_user_column_is_not_lanscope() {
        assert!(matches!(detect(&["イベント日時", "ログ種類"]), Err(ReadError::NotLanScope { .. })));
    }

    #[test]
    fn a_log_type_without_an_event_time_is_not_lanscope() {
        assert!(matches!(detect(&["日時", "ログオンユーザ名", "ログ種類"]), Err(ReadError::NotLanScope { .. })));
    }

    #[test]
    fn two_columns_for_the_same_field_are_refused_rather_than_guessed() {
        let err = detect(&["イベント日時", "ユーザ名", "ログオンユーザ名", "ログ種類"]).unwrap_err();
        assert!(matches!(err, ReadError::NotLanScope { .. }));
        let err = detect(&["イベント日時", "ユーザ名", "ログ種類", "PC名", "PC名"]).unwrap_err();
        assert!(matches!(err, ReadError::NotLanScope { .. }));
    }

    #[test]
    fn duplicate_columns_the_layout_ignores_do_not_matter() {
        let columns = detect(&["イベント日時", "ユーザ名", "ログ種類", "日付", "日付"]).unwrap();
        assert_eq!(columns.layout, Layout::Events);
    }

    #[test]
    fn a_column_map_override_replaces_the_alias_list() {
        let map = ColumnMap { user_name: Some("社員アカウント".into()), ..ColumnMap::default() };
        let columns = Columns::detect(&["イベント日時", "社員アカウント", "ログ種類"], &map).unwrap();
        assert_eq!(columns.position(Field::UserName), Some(1));
        assert_eq!(columns.header_name(Field::UserName), "社員アカウント");

        // The built-in names no longer count for that field.
        let err = Columns::detect(&["イベント日時", "ログオンユーザ名", "ログ種類"], &map).unwrap_err();
        assert!(matches!(err, ReadError::NotLanScope { .. }));
    }

    #[test]
    fn a_column_map_override_resolves_an_otherwise_ambiguous_header() {
        let map = ColumnMap { user_name: Some("ログオンユーザ名".into()), ..ColumnMap::default() };
        let columns = Columns::detect(&["イベント日時", "ユーザ名", "ログオンユーザ名", "ログ種類"], &map).unwrap();
        assert_eq!(columns.position(Field::UserName), Some(2));
    }

    #[test]
    fn a_column_map_override_pointing_at_another_fields_column_is_refused() {
        let map = ColumnMap { computer_name: Some("ログ種類".into()), ..ColumnMap::default() };
        let err = Columns::detect(&["イベント日時", "ユーザ名", "ログ種類"], &map).unwrap_err();
        assert!(matches!(err, ReadError::NotLanScope { .. }));
    }

    #[test]
    fn a_column_map_defaults_missing_keys_and_rejects_unknown_ones() {
        use serde::de::value::{Error, MapDeserializer};

        let empty = MapDeserializer::<_, Error>::new(Vec::<(&str, &str)>::new().into_iter());
        assert_eq!(ColumnMap::deserialize(empty).unwrap(), ColumnMap::default());

        let typo = MapDeserializer::<_, Error>::new(vec![("evnt_at", "発生日時")].into_iter());
        assert!(ColumnMap::deserialize(typo).is_err());
    }
}
