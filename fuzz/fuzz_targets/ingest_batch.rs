//! Any body sent to the ingest API (`POST /api/lanscope/v1/logs`): it is refused as malformed,
//! or parsed and judged as the server's handler judges it (`ConnectorInfo::validate`, then
//! `validate_row` for every row), and nothing panics.
//!
//! What must stay true, checked against rules written out here rather than by calling the
//! checks again: a connector or a row is accepted exactly when it is what the server may store
//! and show in ログ表示 (bounded, free of control characters, an event in 2000–2099, keyed by
//! its own fields), and a parsed batch is written back by the connector's serializer unchanged.
#![no_main]

use ingest_protocol::{ConnectorInfo, IngestBatch, IngestRow, MAX_CONNECTOR_HOST_CHARS, MAX_CONNECTOR_VERSION_CHARS};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use libfuzzer_sys::fuzz_target;

/// Longest row field the server stores.
const MAX_ROW_FIELD_CHARS: usize = 256;

fuzz_target!(|data: &[u8]| {
    let Ok(batch) = serde_json::from_slice::<IngestBatch>(data) else { return };
    let written = serde_json::to_vec(&batch).expect("a parsed batch can be written");
    assert_eq!(serde_json::from_slice::<IngestBatch>(&written).ok(), Some(batch.clone()), "the batch reads back");

    assert_eq!(
        batch.connector.validate().is_ok(),
        storable_connector(&batch.connector),
        "connector {:?}: {:?}",
        batch.connector,
        batch.connector.validate()
    );
    // The handler stops at a refused connector; the rows are judged here regardless, so every
    // row of every input is exercised.
    for row in &batch.rows {
        let verdict = ingest_protocol::validate_row(&batch.company_code, row);
        assert_eq!(verdict.is_ok(), storable_row(&batch.company_code, row), "row {row:?}: {verdict:?}");
    }
});

/// At most `max` characters, none of them a control character (a forged log line, a tab
/// splitting a CSV cell).
fn printable_within(value: &str, max: usize) -> bool {
    value.chars().count() <= max && !value.chars().any(char::is_control)
}

/// `HH:MM` or `H:MM` from 00:00 to 23:59, or nothing (00:00), around spaces.
fn is_time_of_day(text: &str) -> bool {
    let text = text.trim();
    if text.is_empty() {
        return true;
    }
    let Some((hour, minute)) = text.split_once(':') else { return false };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (1..=2).contains(&hour.len())
        && minute.len() == 2
        && digits(hour)
        && digits(minute)
        && hour.parse::<u8>().is_ok_and(|h| h < 24)
        && minute.parse::<u8>().is_ok_and(|m| m < 60)
}

fn storable_connector(connector: &ConnectorInfo) -> bool {
    printable_within(&connector.version, MAX_CONNECTOR_VERSION_CHARS)
        && printable_within(&connector.host, MAX_CONNECTOR_HOST_CHARS)
        && connector.collection_start.as_deref().is_none_or(|s| s.len() <= 16 && is_time_of_day(s))
}

fn storable_row(company_code: &str, row: &IngestRow) -> bool {
    let optional = [&row.sub_manager_no, &row.agent_no, &row.computer_name, &row.source_file];
    let fields_ok = printable_within(&row.user_name, MAX_ROW_FIELD_CHARS)
        && optional.iter().all(|v| v.as_deref().is_none_or(|v| printable_within(v, MAX_ROW_FIELD_CHARS)));
    // The event's UTC year, read by jiff rather than from the protocol's own bounds.
    let in_years = Timestamp::from_millisecond(row.event_at_ms)
        .is_ok_and(|at| (2000..=2099).contains(&at.to_zoned_datetime(TimeZone::UTC).year()));
    let keyed = row.key.len() == 32
        && row.key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && row.key
            == loginrec_rules::idempotency_key(
                company_code,
                &row.user_name,
                row.kind,
                row.event_at_ms,
                row.sub_manager_no.as_deref(),
                row.agent_no.as_deref(),
            );
    let plainly_system = ["SYSTEM", "NT AUTHORITY\\SYSTEM", "NT AUTHORITY¥SYSTEM", "NT AUTHORITY＼SYSTEM"]
        .iter()
        .any(|s| row.user_name.eq_ignore_ascii_case(s));
    let system = loginrec_rules::validation::is_system_user(&row.user_name);
    assert!(!plainly_system || system, "{:?} is Windows' own account", row.user_name);
    !row.user_name.trim().is_empty() && fields_ok && !system && in_years && keyed
}
