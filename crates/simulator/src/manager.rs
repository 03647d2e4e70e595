//! LanScope's manager: which rows its daily query selects, and how it writes them.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use loginrec_rules::{LogKind, business_day_window};

use crate::{ActivityEvent, OutputEncoding, OutputLayout, SimConfig, SimError, SimEvent, SimFile};

/// Header of the event layout.
pub const EVENTS_HEADER: &str =
    "日時,イベント日時,ログオンユーザ名,ログ種類,サブマネージャno,エージェントno,コンピュータ名";
/// Header of the summary (勤怠簿) layout.
pub const SUMMARY_HEADER: &str = "日付,ログオンユーザ名,使用開始,使用終了";

/// The instants `[D collection_start, D+1 collection_start)` of LanScope day `D`.
pub fn manager_window(config: &SimConfig, day: Date) -> (Timestamp, Timestamp) {
    business_day_window(day, &config.time_zone, config.collection_start)
}

/// `kintai_YYYYMMDD.csv` for LanScope day `D`.
pub fn file_name(day: Date) -> String {
    format!("kintai_{:04}{:02}{:02}.csv", day.year(), day.month(), day.day())
}

/// `YYYY/MM/DD HH:MM:SS`, as SQL Server's style 111 date followed by style 108 time.
pub fn format_date_time(at: DateTime) -> String {
    format!("{:04}/{:02}/{:02} {:02}:{:02}:{:02}", at.year(), at.month(), at.day(), at.hour(), at.minute(), at.second())
}

pub(crate) fn format_date_slash(day: Date) -> String {
    format!("{:04}/{:02}/{:02}", day.year(), day.month(), day.day())
}

/// The order of `ORDER BY ログオンユーザ名` under SQL Server's default Japanese collation,
/// which ignores case; names equal but for case then keep a fixed (binary) order.
pub fn user_name_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.to_lowercase().cmp(&b.to_lowercase()).then_with(|| a.cmp(b))
}

/// A character the chosen encoding cannot represent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnmappableCharacter(pub char);

impl fmt::Display for UnmappableCharacter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} (U+{:04X}) has no CP932 code", self.0, u32::from(self.0))
    }
}

impl std::error::Error for UnmappableCharacter {}

/// Encodes `text` as the manager writes it. CP932 refuses a character it cannot represent
/// rather than writing an HTML numeric reference in its place.
pub fn encode_text(text: &str, encoding: OutputEncoding) -> Result<Vec<u8>, UnmappableCharacter> {
    match encoding {
        OutputEncoding::Utf8 => Ok(text.as_bytes().to_vec()),
        OutputEncoding::Cp932 => {
            let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
            if !unmappable {
                return Ok(bytes.into_owned());
            }
            let mut buffer = [0u8; 4];
            let culprit = text
                .chars()
                .find(|c| encoding_rs::SHIFT_JIS.encode(c.encode_utf8(&mut buffer)).2)
                .unwrap_or(char::REPLACEMENT_CHARACTER);
            Err(UnmappableCharacter(culprit))
        }
    }
}

/// A CSV field: quoted (with inner quotes doubled) only when it has to be.
pub(crate) fn field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) { quoted(value) } else { value.to_string() }
}

/// A CSV field, always quoted.
pub(crate) fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('"', "\"\""))
}

/// The file of LanScope day `day` and the records it presents.
pub(crate) fn render_day(
    config: &SimConfig,
    day: Date,
    activity: &[ActivityEvent],
) -> Result<(SimFile, Vec<SimEvent>), SimError> {
    let window = manager_window(config, day);
    let mut rows: Vec<&ActivityEvent> = activity.iter().filter(|e| e.passes_manager_filter(window)).collect();
    rows.sort_by(|a, b| {
        user_name_order(&a.user_name, &b.user_name).then_with(|| {
            (a.event_at, a.recorded_at, a.log_type, &a.agent_no).cmp(&(
                b.event_at,
                b.recorded_at,
                b.log_type,
                &b.agent_no,
            ))
        })
    });
    let (text, events) = match config.layout {
        OutputLayout::Events => events_layout(config, &rows),
        OutputLayout::Summary => summary_layout(config, day, &rows),
    };
    let name = file_name(day);
    let bytes =
        encode_text(&text, config.encoding).map_err(|source| SimError::Unmappable { file: name.clone(), source })?;
    Ok((SimFile { name, lanscope_day: day, bytes }, events))
}

fn local(config: &SimConfig, at: Timestamp) -> String {
    format_date_time(config.time_zone.to_datetime(at))
}

fn events_layout(config: &SimConfig, rows: &[&ActivityEvent]) -> (String, Vec<SimEvent>) {
    let mut text = format!("{EVENTS_HEADER}\r\n");
    let mut events = Vec::with_capacity(rows.len());
    for e in rows {
        let Some(kind) = e.kind() else { continue };
        text.push_str(&format!(
            "{},{},{},{},{},{},{}\r\n",
            local(config, e.recorded_at),
            local(config, e.event_at),
            field(&e.user_name),
            e.log_type,
            field(&e.sub_manager_no),
            field(&e.agent_no),
            field(&e.computer_name),
        ));
        events.push(SimEvent {
            user_name: e.user_name.clone(),
            kind,
            event_at: e.event_at,
            recorded_at: e.recorded_at,
            sub_manager_no: e.sub_manager_no.clone(),
            agent_no: e.agent_no.clone(),
            computer_name: e.computer_name.clone(),
        });
    }
    (text, events)
}

/// 勤怠簿: `GROUP BY ログオンユーザ名` with `MIN(イベント日時)` of 開始 and `MAX(イベント日時)`
/// of 終了 (sub-manager and agent are not grouped on, so one user on two PCs is one row).
fn summary_layout(config: &SimConfig, day: Date, rows: &[&ActivityEvent]) -> (String, Vec<SimEvent>) {
    // Rows arrive in user-name order; group while keeping that order.
    let mut groups: Vec<(&str, Option<&ActivityEvent>, Option<&ActivityEvent>)> = Vec::new();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for &e in rows {
        let i = *index.entry(e.user_name.as_str()).or_insert_with(|| {
            groups.push((e.user_name.as_str(), None, None));
            groups.len() - 1
        });
        let group = &mut groups[i];
        match e.kind() {
            Some(LogKind::Logon) if group.1.is_none_or(|first| e.event_at < first.event_at) => group.1 = Some(e),
            Some(LogKind::Logoff) if group.2.is_none_or(|last| e.event_at > last.event_at) => group.2 = Some(e),
            _ => {}
        }
    }

    let date = format_date_slash(day);
    let mut text = format!("{SUMMARY_HEADER}\r\n");
    let mut events = Vec::new();
    for (user, first, last) in groups {
        let cell = |e: Option<&ActivityEvent>| e.map(|e| local(config, e.event_at)).unwrap_or_default();
        text.push_str(&format!("{date},{},{},{}\r\n", field(user), cell(first), cell(last)));
        for (kind, source) in [(LogKind::Logon, first), (LogKind::Logoff, last)] {
            if let Some(e) = source {
                events.push(SimEvent {
                    user_name: user.to_string(),
                    kind,
                    event_at: e.event_at,
                    recorded_at: e.recorded_at,
                    sub_manager_no: String::new(),
                    agent_no: String::new(),
                    computer_name: String::new(),
                });
            }
        }
    }
    (text, events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn event(user: &str, log_type: u8, event_at: Timestamp, recorded_at: Timestamp) -> ActivityEvent {
        ActivityEvent {
            user_name: user.to_string(),
            log_type,
            event_at,
            recorded_at,
            sub_manager_no: "1".to_string(),
            agent_no: "1".to_string(),
            computer_name: "PC-0001".to_string(),
        }
    }

    fn at(config: &SimConfig, day: Date, h: i8, m: i8, s: i8) -> Timestamp {
        config.time_zone.to_ambiguous_timestamp(day.at(h, m, s, 0)).compatible().unwrap()
    }

    #[test]
    fn the_window_includes_its_start_and_excludes_its_end() {
        let config = SimConfig::new(1, 1, date(2024, 2, 9));
        let window = manager_window(&config, config.start);
        let five = at(&config, config.start, 5, 0, 0);
        let next_five = at(&config, date(2024, 2, 10), 5, 0, 0);
        let just_before = at(&config, date(2024, 2, 10), 4, 59, 59);
        assert!(event("sato0001", 1, five, five).passes_manager_filter(window));
        assert!(event("sato0001", 2, just_before, just_before).passes_manager_filter(window));
        assert!(!event("sato0001", 2, just_before, next_five).passes_manager_filter(window));
        assert!(!event("sato0001", 2, next_five, next_five).passes_manager_filter(window));
        let before = at(&config, config.start, 4, 59, 59);
        assert!(!event("sato0001", 1, before, five).passes_manager_filter(window));
    }

    #[test]
    fn system_and_other_log_types_never_pass() {
        let config = SimConfig::new(1, 1, date(2024, 2, 9));
        let window = manager_window(&config, config.start);
        let noon = at(&config, config.start, 12, 0, 0);
        assert!(!event("SYSTEM", 1, noon, noon).passes_manager_filter(window));
        assert!(!event("system", 2, noon, noon).passes_manager_filter(window));
        for log_type in [0, 3, 4, 5] {
            assert!(!event("sato0001", log_type, noon, noon).passes_manager_filter(window));
        }
    }

    #[test]
    fn user_names_sort_without_regard_to_case() {
        let mut names = vec!["sato0001", "Tanaka0003", "CORP\\suzuki0002", "kiosk", "髙橋健太", "Ito0007"];
        names.sort_by(|a, b| user_name_order(a, b));
        assert_eq!(names, ["CORP\\suzuki0002", "Ito0007", "kiosk", "sato0001", "Tanaka0003", "髙橋健太"]);
    }

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        assert_eq!(field("CORP\\sato"), "CORP\\sato");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quoted("0001"), "\"0001\"");
    }

    #[test]
    fn date_times_are_written_like_sql_server_style_111_and_108() {
        assert_eq!(format_date_time(date(2024, 2, 9).at(4, 5, 6, 0)), "2024/02/09 04:05:06");
        assert_eq!(file_name(date(2024, 2, 9)), "kintai_20240209.csv");
    }
}
