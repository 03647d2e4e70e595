//! The LanScope ingest API, `POST /api/lanscope/v1/logs`, as both sides see it.
//!
//! The connector sends batches of rows, each with its deterministic idempotency key; the
//! server answers only after the batch is committed, with what became of every row. A row
//! counted as `accepted` or `duplicate` is safe on the server and may leave the connector's
//! outbox; a `rejected` row will never be accepted as it is and goes to the dead-letter table.
#![forbid(unsafe_code)]

use loginrec_rules::LogKind;
use serde::{Deserialize, Serialize};

pub const INGEST_PATH: &str = "/api/lanscope/v1/logs";
/// Header carrying the company code next to the bearer token.
pub const COMPANY_CODE_HEADER: &str = "x-company-code";
/// Most rows one batch may carry (about 3 MB of JSON; a batch of long rows that passes
/// [`MAX_BODY_BYTES`] is refused with 413, and the connector sends it in halves).
pub const MAX_BATCH_ROWS: usize = 10_000;
/// Largest request body the server reads, in bytes.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestBatch {
    pub company_code: String,
    pub connector: ConnectorInfo,
    pub rows: Vec<IngestRow>,
}

/// Who sent the batch: shown in ログ表示 beside every log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorInfo {
    pub version: String,
    pub host: String,
    /// LanScope's collection start time as configured on the connector (`HH:MM`), so the
    /// server can warn when a department's 日付変更時間 differs from it.
    #[serde(default)]
    pub collection_start: Option<String>,
}

/// Longest connector version the server stores.
pub const MAX_CONNECTOR_VERSION_CHARS: usize = 64;
/// Longest connector host name the server stores (a DNS name's limit).
pub const MAX_CONNECTOR_HOST_CHARS: usize = 255;

/// Why the server refuses a whole batch for what it says about its sender.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorProblem {
    #[error("connector.{field} longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("connector.{field} contains control characters")]
    ControlCharacters { field: &'static str },
    #[error("connector.collection_start is not a time of day as HH:MM")]
    CollectionStart,
}

impl ConnectorInfo {
    /// Checks what the batch says about its sender, as the server will: these values are
    /// stored and shown in ログ表示, so they are bounded and free of control characters.
    pub fn validate(&self) -> Result<(), ConnectorProblem> {
        let fields =
            [("version", &self.version, MAX_CONNECTOR_VERSION_CHARS), ("host", &self.host, MAX_CONNECTOR_HOST_CHARS)];
        for (field, value, max) in fields {
            if value.chars().count() > max {
                return Err(ConnectorProblem::TooLong { field, max });
            }
            if value.chars().any(char::is_control) {
                return Err(ConnectorProblem::ControlCharacters { field });
            }
        }
        if let Some(start) = &self.collection_start
            && (start.len() > 5 || start.trim() != start || start.parse::<loginrec_rules::DayChangeTime>().is_err())
        {
            return Err(ConnectorProblem::CollectionStart);
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestRow {
    /// The row's idempotency key (`loginrec_rules::idempotency_key`).
    pub key: String,
    /// ログオンユーザ名, exactly as LanScope wrote it.
    pub user_name: String,
    pub kind: LogKind,
    /// イベント日時 as Unix epoch milliseconds.
    pub event_at_ms: i64,
    /// 日時 (when the manager recorded it) as Unix epoch milliseconds.
    #[serde(default)]
    pub recorded_at_ms: Option<i64>,
    #[serde(default)]
    pub sub_manager_no: Option<String>,
    #[serde(default)]
    pub agent_no: Option<String>,
    #[serde(default)]
    pub computer_name: Option<String>,
    /// Where the row came from, for messages: file name and line.
    #[serde(default)]
    pub source_file: Option<String>,
    #[serde(default)]
    pub source_line: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestResponse {
    pub accepted: u64,
    pub duplicate: u64,
    pub rejected: u64,
    /// One entry per rejected row.
    pub rejections: Vec<RowRejection>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowRejection {
    pub key: String,
    pub reason: String,
}

/// The body of every error answer of the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable machine-readable code, e.g. `token_rejected`.
    pub error: String,
    pub message: String,
}

/// Earliest and latest event instants a row may carry (2000-01-01 and 2100-01-01 UTC).
const EARLIEST_MS: i64 = 946_684_800_000;
const LATEST_MS: i64 = 4_102_444_800_000;
const MAX_FIELD_CHARS: usize = 256;

/// Why the server refuses a row. Its text is the `reason` of a [`RowRejection`], shown to the
/// administrator in the connector's dead-letter table.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    #[error("empty user name (ログオンユーザ名が空です)")]
    EmptyUserName,
    #[error("{field} longer than {MAX_FIELD_CHARS} characters")]
    TooLong { field: &'static str },
    #[error("{field} contains control characters")]
    ControlCharacters { field: &'static str },
    #[error("Windows のシステムアカウント (SYSTEM) のログは記録しません (rows of the SYSTEM account are not recorded)")]
    SystemAccount,
    #[error("event time {0} ms is outside 2000–2099")]
    OutOfRange(i64),
    #[error("idempotency key does not match the row's fields")]
    KeyMismatch,
}

/// Checks one row as the server will.
pub fn validate_row(company_code: &str, row: &IngestRow) -> Result<(), RowProblem> {
    if row.user_name.trim().is_empty() {
        return Err(RowProblem::EmptyUserName);
    }
    let fields = [
        ("user_name", Some(&row.user_name)),
        ("sub_manager_no", row.sub_manager_no.as_ref()),
        ("agent_no", row.agent_no.as_ref()),
        ("computer_name", row.computer_name.as_ref()),
        ("source_file", row.source_file.as_ref()),
    ];
    for (field, value) in fields {
        if let Some(v) = value {
            if v.chars().count() > MAX_FIELD_CHARS {
                return Err(RowProblem::TooLong { field });
            }
            if v.chars().any(char::is_control) {
                return Err(RowProblem::ControlCharacters { field });
            }
        }
    }
    // The connector skips these as it reads; an older one may still send them.
    if loginrec_rules::validation::is_system_user(&row.user_name) {
        return Err(RowProblem::SystemAccount);
    }
    if !(EARLIEST_MS..LATEST_MS).contains(&row.event_at_ms) {
        return Err(RowProblem::OutOfRange(row.event_at_ms));
    }
    let expected = loginrec_rules::idempotency_key(
        company_code,
        &row.user_name,
        row.kind,
        row.event_at_ms,
        row.sub_manager_no.as_deref(),
        row.agent_no.as_deref(),
    );
    if row.key != expected {
        return Err(RowProblem::KeyMismatch);
    }
    Ok(())
}

impl IngestRow {
    /// A row with its key computed from its fields.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        company_code: &str,
        user_name: String,
        kind: LogKind,
        event_at_ms: i64,
        recorded_at_ms: Option<i64>,
        sub_manager_no: Option<String>,
        agent_no: Option<String>,
        computer_name: Option<String>,
    ) -> IngestRow {
        let key = loginrec_rules::idempotency_key(
            company_code,
            &user_name,
            kind,
            event_at_ms,
            sub_manager_no.as_deref(),
            agent_no.as_deref(),
        );
        IngestRow {
            key,
            user_name,
            kind,
            event_at_ms,
            recorded_at_ms,
            sub_manager_no,
            agent_no,
            computer_name,
            source_file: None,
            source_line: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> IngestRow {
        IngestRow::new("ABC", "tarou".into(), LogKind::Logon, 1_707_436_980_000, None, Some("1".into()), None, None)
    }

    #[test]
    fn a_row_built_with_its_key_is_valid() {
        assert_eq!(validate_row("ABC", &row()), Ok(()));
    }

    #[test]
    fn a_row_whose_key_belongs_to_another_company_is_refused() {
        assert!(validate_row("XYZ", &row()).unwrap_err().to_string().contains("idempotency key"));
    }

    #[test]
    fn a_row_with_a_tampered_field_is_refused() {
        let mut r = row();
        r.event_at_ms += 1;
        assert!(validate_row("ABC", &r).is_err());
    }

    fn connector() -> ConnectorInfo {
        ConnectorInfo { version: "1.0.0.5".into(), host: "lsmgr".into(), collection_start: Some("05:00".into()) }
    }

    #[test]
    fn a_connector_as_the_connector_describes_itself_is_valid() {
        assert_eq!(connector().validate(), Ok(()));
        assert_eq!(ConnectorInfo { host: String::new(), collection_start: None, ..connector() }.validate(), Ok(()));
    }

    #[test]
    fn an_over_long_or_forged_connector_is_refused_with_the_field_named() {
        let long = ConnectorInfo { version: "9".repeat(20_000), ..connector() };
        assert!(long.validate().unwrap_err().to_string().contains("connector.version longer than 64"));
        let host = ConnectorInfo { host: "pc\nINFO forged".into(), ..connector() };
        assert!(host.validate().unwrap_err().to_string().contains("connector.host contains control"));
        let start = ConnectorInfo { collection_start: Some("25:00".into()), ..connector() };
        assert_eq!(start.validate(), Err(ConnectorProblem::CollectionStart));
        let padded = ConnectorInfo { collection_start: Some("\n05:00".into()), ..connector() };
        assert_eq!(padded.validate(), Err(ConnectorProblem::CollectionStart));
    }

    #[test]
    fn an_over_long_source_file_name_is_refused() {
        let mut r = row();
        r.source_file = Some("a".repeat(10_000));
        assert!(validate_row("ABC", &r).unwrap_err().to_string().contains("source_file"));
    }

    #[test]
    fn the_system_account_is_refused_under_its_own_domain_only() {
        let system = IngestRow::new(
            "ABC",
            "NT AUTHORITY\\SYSTEM".into(),
            LogKind::Logon,
            1_707_436_980_000,
            None,
            None,
            None,
            None,
        );
        assert_eq!(validate_row("ABC", &system), Err(RowProblem::SystemAccount));
        let person =
            IngestRow::new("ABC", "CORP\\system".into(), LogKind::Logon, 1_707_436_980_000, None, None, None, None);
        assert_eq!(validate_row("ABC", &person), Ok(()));
    }

    #[test]
    fn empty_users_and_absurd_times_are_refused_with_a_reason() {
        let mut r = row();
        r.user_name = " ".into();
        assert!(validate_row("ABC", &r).unwrap_err().to_string().contains("user name"));
        let r = IngestRow::new("ABC", "t".into(), LogKind::Logon, 0, None, None, None, None);
        assert!(validate_row("ABC", &r).unwrap_err().to_string().contains("outside"));
    }
}
