//! Turning one CSV row into records, a skip, or a [`RowError`].
//!
//! Rows that are not a person's PC start or end (the `SYSTEM` account under any domain, as `NT AUTHORITY\\SYSTEM`; other ログ種類) are
//! counted rather than reported: they are normal in every LanScope export and are nobody's
//! mistake. Each bad row yields exactly one error, for the first problem found, so the report
//! has one line per row to fix.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use loginrec_rules::LogKind;

use crate::datetime::{LocalClock, parse_local_date, parse_local_datetime, parse_local_time};
use crate::header::{Columns, Field, Layout};
use crate::records::Record;
use crate::{LogRow, ReadOptions, RowError};

/// Blank lines and rows of empty cells (as spreadsheets leave behind) carry no data.
pub(crate) fn is_blank(record: Record<'_>) -> bool {
    record.iter().all(|cell| cell.trim().is_empty())
}

pub(crate) fn read_row<'a>(
    row: &Row<'a>,
    options: &ReadOptions,
    clock: &mut LocalClock<'_>,
) -> Result<Outcome<'a>, RowError> {
    match row.columns.layout {
        Layout::Events => event_row(row, clock),
        Layout::DailySummary => summary_row(row, options, clock),
    }
}

#[expect(clippy::large_enum_variant, reason = "consumed at once, row by row; boxing would allocate per row")]
pub(crate) enum Outcome<'a> {
    /// A summary row gives up to two (its start and its end); an event row one.
    Rows(Option<LogRow<'a>>, Option<LogRow<'a>>),
    System,
    OtherType,
}

pub(crate) struct Row<'a> {
    pub(crate) record: Record<'a>,
    pub(crate) line: u64,
    pub(crate) columns: &'a Columns,
}

/// A cell of a field, distinguishing a short row from an empty cell for the error message.
enum Cell<'a> {
    /// The header has no such column, or this row ends before it.
    Missing,
    /// Empty or all whitespace.
    Empty,
    Value(&'a str),
}

impl<'a> Row<'a> {
    fn cell(&self, field: Field) -> Cell<'a> {
        let Some(position) = self.columns.position(field) else {
            return Cell::Missing;
        };
        match self.record.get(position).map(trim) {
            None => Cell::Missing,
            Some("") => Cell::Empty,
            Some(value) => Cell::Value(value),
        }
    }

    fn value(&self, field: Field) -> Option<&'a str> {
        match self.cell(field) {
            Cell::Value(value) => Some(value),
            Cell::Missing | Cell::Empty => None,
        }
    }

    fn required(&self, field: Field, what: &str) -> Result<&'a str, RowError> {
        match self.cell(field) {
            Cell::Value(value) => Ok(value),
            Cell::Empty => Err(self.error(field, "", format!("empty {what}"))),
            Cell::Missing => Err(self.error(field, "", format!("missing {what}: the row ends before this column"))),
        }
    }

    fn error(&self, field: Field, value: &str, reason: impl Into<String>) -> RowError {
        RowError {
            line: self.line,
            field: self.columns.header_name(field),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    fn timestamp(
        &self,
        field: Field,
        value: &str,
        local: DateTime,
        clock: &mut LocalClock<'_>,
    ) -> Result<Timestamp, RowError> {
        clock.instant(local).ok_or_else(|| self.error(field, value, "a date-time outside the supported range"))
    }

    fn date_time(&self, field: Field, value: &str, clock: &mut LocalClock<'_>) -> Result<Timestamp, RowError> {
        let local = parse_local_datetime(value).ok_or_else(|| self.error(field, value, "not a date-time"))?;
        self.timestamp(field, value, local, clock)
    }

    fn log_row(
        &self,
        user_name: &'a str,
        kind: LogKind,
        event_at: Timestamp,
        recorded_at: Option<Timestamp>,
    ) -> LogRow<'a> {
        LogRow {
            line: self.line,
            user_name,
            kind,
            event_at,
            recorded_at,
            sub_manager_no: self.value(Field::SubManagerNo),
            agent_no: self.value(Field::AgentNo),
            computer_name: self.value(Field::ComputerName),
        }
    }
}

/// `str::trim`, without its Unicode scan for the usual cell that starts and ends with a
/// printable ASCII character.
fn trim(cell: &str) -> &str {
    match (cell.as_bytes().first(), cell.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => cell,
        _ => cell.trim(),
    }
}

fn is_system(user_name: Option<&str>) -> bool {
    user_name.is_some_and(loginrec_rules::validation::is_system_user)
}

/// The skips are decided before anything is validated: a `SYSTEM` or type-3 row with a broken
/// date is still just a row nobody needs.
fn event_row<'a>(row: &Row<'a>, clock: &mut LocalClock<'_>) -> Result<Outcome<'a>, RowError> {
    let user_name = row.value(Field::UserName);
    if is_system(user_name) {
        return Ok(Outcome::System);
    }
    let log_type = row.required(Field::LogType, "log type")?;
    let kind = match log_type_number(log_type) {
        Some(1) => LogKind::Logon,
        Some(2) => LogKind::Logoff,
        Some(_) => return Ok(Outcome::OtherType),
        None => return Err(row.error(Field::LogType, log_type, "not a log type number (1 = start, 2 = end)")),
    };
    let user_name = row.required(Field::UserName, "user name")?;
    let event_at = row.required(Field::EventAt, "event time")?;
    let event_at = row.date_time(Field::EventAt, event_at, clock)?;
    let recorded_at = match row.value(Field::RecordedAt) {
        Some(value) => Some(row.date_time(Field::RecordedAt, value, clock)?),
        None => None,
    };
    Ok(Outcome::Rows(Some(row.log_row(user_name, kind, event_at, recorded_at)), None))
}

/// Digits only: `-1` or `+1` is not something LanScope writes, so it is an error, not a skip.
fn log_type_number(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Too many digits to be a real type is still a number that is not 1 or 2.
    Some(value.parse().unwrap_or(u64::MAX))
}

fn summary_row<'a>(row: &Row<'a>, options: &ReadOptions, clock: &mut LocalClock<'_>) -> Result<Outcome<'a>, RowError> {
    let user_name = row.value(Field::UserName);
    if is_system(user_name) {
        return Ok(Outcome::System);
    }
    let start = row.value(Field::Start);
    let end = row.value(Field::End);
    if start.is_none() && end.is_none() {
        // A day the user did not use a PC: LanScope still lists them.
        return Ok(Outcome::Rows(None, None));
    }
    let user_name = row.required(Field::UserName, "user name")?;
    let date = match row.value(Field::Date) {
        Some(value) => Some(summary_date(value).ok_or_else(|| row.error(Field::Date, value, "not a date"))?),
        None => None,
    };
    // Both ends are checked before either is handed over: a row with one bad cell gives its
    // error and no record.
    let mut moment = |field, value: Option<&str>, kind| -> Result<Option<LogRow<'a>>, RowError> {
        let Some(value) = value else { return Ok(None) };
        let at = summary_moment(row, field, value, date, options, clock)?;
        Ok(Some(row.log_row(user_name, kind, at, None)))
    };
    let start = moment(Field::Start, start, LogKind::Logon)?;
    let end = moment(Field::End, end, LogKind::Logoff)?;
    Ok(Outcome::Rows(start, end))
}

/// The day column, which Excel likes to turn into a midnight date-time.
fn summary_date(value: &str) -> Option<Date> {
    parse_local_date(value).or_else(|| {
        let at = parse_local_datetime(value)?;
        (at.time() == jiff::civil::Time::midnight()).then_some(at.date())
    })
}

/// A full date-time is taken as it is. A bare time belongs to the row's LanScope day
/// `[D start, D+1 start)`, so a time before the collection start is on the next calendar day.
fn summary_moment(
    row: &Row<'_>,
    field: Field,
    value: &str,
    date: Option<Date>,
    options: &ReadOptions,
    clock: &mut LocalClock<'_>,
) -> Result<Timestamp, RowError> {
    if let Some(local) = parse_local_datetime(value) {
        return row.timestamp(field, value, local, clock);
    }
    let Some(time) = parse_local_time(value) else {
        return Err(row.error(field, value, "not a date-time or a time of day"));
    };
    let Some(date) = date else {
        let reason = match row.columns.position(Field::Date) {
            Some(_) => "a time of day, but the row has no date",
            None => "a time of day, but the file has no date column",
        };
        return Err(row.error(field, value, reason));
    };
    let day = if time < options.collection_start.as_time() {
        date.tomorrow().map_err(|_| row.error(field, value, "a date-time outside the supported range"))?
    } else {
        date
    };
    row.timestamp(field, value, day.to_datetime(time), clock)
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use loginrec_rules::DayChangeTime;

    use super::*;
    use crate::datetime::to_timestamp;
    use crate::{LogRecord, ReadError, ReadReport, read_lanscope_csv};

    fn read(text: &str) -> ReadReport {
        read_lanscope_csv(text.as_bytes(), &ReadOptions::default()).unwrap()
    }

    fn tokyo(local: DateTime) -> Timestamp {
        to_timestamp(local, &ReadOptions::default().time_zone).unwrap()
    }

    const EVENTS: &str = "日時,イベント日時,ログオンユーザ名,ログ種類,サブマネージャno,エージェントno,コンピュータ名\n";
    const SUMMARY: &str = "日付,ログオンユーザ名,開始日時,終了日時\n";

    #[test]
    fn an_event_row_becomes_a_record_with_every_field() {
        let report = read(&format!("{EVENTS}2024/02/09 9:05:00,2024/02/09 9:03:00, CORP\\Tanaka ,1,3,101,PC-01\n"));
        assert_eq!(
            report.records,
            vec![LogRecord {
                line: 2,
                user_name: "CORP\\Tanaka".into(),
                kind: LogKind::Logon,
                event_at: tokyo(date(2024, 2, 9).at(9, 3, 0, 0)),
                recorded_at: Some(tokyo(date(2024, 2, 9).at(9, 5, 0, 0))),
                sub_manager_no: Some("3".into()),
                agent_no: Some("101".into()),
                computer_name: Some("PC-01".into()),
            }]
        );
    }

    #[test]
    fn log_type_two_is_a_logoff() {
        let report = read(&format!("{EVENTS}2024/02/09 18:05:00,2024/02/09 18:03:00,tanaka,2,,,\n"));
        assert_eq!(report.records[0].kind, LogKind::Logoff);
        assert_eq!(report.records[0].sub_manager_no, None);
        assert_eq!(report.records[0].computer_name, None);
    }

    #[test]
    fn the_optional_columns_may_be_absent_altogether() {
        let report = read("イベント日時,ユーザ名,ログ種類\n2024/02/09 9:03,tanaka,1\n");
        assert_eq!(report.records.len(), 1);
        assert_eq!(report.records[0].recorded_at, None);
        assert_eq!(report.records[0].agent_no, None);
    }

    #[test]
    fn a_system_row_is_skipped_and_counted() {
        let report = read(&format!("{EVENTS},2024/02/09 9:03,SYSTEM,1\n,2024/02/09 9:03,system,2\n,bad,SYSTEM,x\n"));
        assert_eq!(report.skipped_system, 3);
        assert!(report.records.is_empty());
        assert!(report.errors.is_empty());
    }

    #[test]
    fn windows_own_account_in_its_own_domain_is_skipped_and_counted() {
        let report =
            read(&format!("{EVENTS},2024/02/09 9:03,NT AUTHORITY\\SYSTEM,1\n,2024/02/09 9:04,NT AUTHORITY¥SYSTEM,2\n"));
        assert_eq!(report.skipped_system, 2);
        assert!(report.records.is_empty());
    }

    #[test]
    fn a_domain_account_named_system_is_a_person_not_the_service_account() {
        let report = read(&format!("{EVENTS},2024/02/09 9:03,CORP\\system,1\n"));
        assert_eq!(report.skipped_system, 0);
        assert_eq!(report.records.len(), 1);
    }

    #[test]
    fn other_log_types_are_skipped_and_counted() {
        let report = read(&format!("{EVENTS},2024/02/09 9:03,tanaka,3\n,2024/02/09 9:03,tanaka,0\n,x,,9\n"));
        assert_eq!(report.skipped_other_types, 3);
        assert!(report.errors.is_empty());
    }

    #[test]
    fn a_non_numeric_log_type_is_a_row_error() {
        let report = read(&format!("{EVENTS},2024/02/09 9:03,tanaka,abc\n,2024/02/09 9:03,tanaka,-1\n"));
        assert_eq!(report.errors.len(), 2);
        assert_eq!(report.errors[0].field, "ログ種類");
        assert_eq!(report.errors[0].value, "abc");
        assert_eq!(report.errors[0].line, 2);
        assert_eq!(report.errors[1].value, "-1");
    }

    #[test]
    fn an_empty_user_name_is_a_row_error() {
        let report = read(&format!("{EVENTS},2024/02/09 9:03,   ,1\n"));
        assert_eq!(
            report.errors,
            vec![RowError {
                line: 2,
                field: "ログオンユーザ名".into(),
                value: "".into(),
                reason: "empty user name".into()
            }]
        );
    }

    #[test]
    fn a_bad_event_time_is_a_row_error_naming_the_field() {
        let report = read(&format!("{EVENTS},2024/13/01 9:00,tanaka,1\n"));
        assert_eq!(report.errors[0].to_string(), "line 2, field イベント日時: not a date-time (\"2024/13/01 9:00\")");
    }

    #[test]
    fn a_bad_recorded_time_is_a_row_error_too() {
        let report = read(&format!("{EVENTS}yesterday,2024/02/09 9:00,tanaka,1\n"));
        assert_eq!(report.errors[0].field, "日時");
        assert!(report.records.is_empty());
    }

    #[test]
    fn a_short_row_missing_a_required_field_is_a_row_error() {
        let report = read(&format!("{EVENTS}2024/02/09 9:05,2024/02/09 9:03,tanaka\n"));
        assert_eq!(report.errors[0].field, "ログ種類");
        assert_eq!(report.errors[0].reason, "missing log type: the row ends before this column");
    }

    #[test]
    fn a_short_row_with_every_required_field_is_read() {
        let report = read(&format!("{EVENTS}2024/02/09 9:05,2024/02/09 9:03,tanaka,1\n"));
        assert_eq!(report.records.len(), 1);
        assert_eq!(report.records[0].computer_name, None);
    }

    #[test]
    fn a_summary_row_yields_a_logon_and_a_logoff() {
        let report = read(&format!("{SUMMARY}2024/02/09,tanaka,9:03,18:30\n"));
        assert_eq!(report.layout, Layout::DailySummary);
        let got: Vec<(LogKind, Timestamp, u64)> = report.records.iter().map(|r| (r.kind, r.event_at, r.line)).collect();
        assert_eq!(
            got,
            vec![
                (LogKind::Logon, tokyo(date(2024, 2, 9).at(9, 3, 0, 0)), 2),
                (LogKind::Logoff, tokyo(date(2024, 2, 9).at(18, 30, 0, 0)), 2),
            ]
        );
        assert_eq!(report.records[0].recorded_at, None);
    }

    #[test]
    fn a_summary_time_before_the_collection_start_is_on_the_next_day() {
        let report = read(&format!("{SUMMARY}2024/02/09,tanaka,5:00,4:59\n"));
        assert_eq!(report.records[0].event_at, tokyo(date(2024, 2, 9).at(5, 0, 0, 0)));
        assert_eq!(report.records[1].event_at, tokyo(date(2024, 2, 10).at(4, 59, 0, 0)));
    }

    #[test]
    fn the_rollover_follows_the_configured_collection_start() {
        let options = ReadOptions { collection_start: DayChangeTime::MIDNIGHT, ..ReadOptions::default() };
        let text = format!("{SUMMARY}2024/02/09,tanaka,0:00,4:59\n");
        let report = read_lanscope_csv(text.as_bytes(), &options).unwrap();
        assert_eq!(report.records[0].event_at, tokyo(date(2024, 2, 9).at(0, 0, 0, 0)));
        assert_eq!(report.records[1].event_at, tokyo(date(2024, 2, 9).at(4, 59, 0, 0)));
    }

    #[test]
    fn the_rollover_crosses_month_and_year_ends() {
        let report = read(&format!("{SUMMARY}2023/12/31,tanaka,22:00,1:30\n"));
        assert_eq!(report.records[1].event_at, tokyo(date(2024, 1, 1).at(1, 30, 0, 0)));
    }

    #[test]
    fn full_date_times_in_a_summary_are_taken_as_they_are() {
        let report = read(&format!("{SUMMARY}2024/02/09,tanaka,2024/02/09 22:00,2024/02/10 01:30\n"));
        assert_eq!(report.records[1].event_at, tokyo(date(2024, 2, 10).at(1, 30, 0, 0)));
        let report = read("ユーザ名,開始日時,終了日時\ntanaka,2024/02/09 22:00,2024/02/10 01:30\n");
        assert_eq!(report.records.len(), 2);
    }

    #[test]
    fn a_summary_date_written_as_a_midnight_date_time_is_accepted() {
        let report = read(&format!("{SUMMARY}2024/02/09 0:00:00,tanaka,9:03,\n"));
        assert_eq!(report.records[0].event_at, tokyo(date(2024, 2, 9).at(9, 3, 0, 0)));
        let report = read(&format!("{SUMMARY}2024/02/09 9:00:00,tanaka,9:03,\n"));
        assert_eq!(report.errors[0].field, "日付");
    }

    #[test]
    fn an_empty_summary_cell_yields_no_record_of_that_kind() {
        let report = read(&format!("{SUMMARY}2024/02/09,tanaka,,18:30\n2024/02/09,suzuki,9:00,\n"));
        let kinds: Vec<(&str, LogKind)> = report.records.iter().map(|r| (r.user_name.as_str(), r.kind)).collect();
        assert_eq!(kinds, vec![("tanaka", LogKind::Logoff), ("suzuki", LogKind::Logon)]);
    }

    #[test]
    fn a_summary_row_with_neither_start_nor_end_is_no_record_and_no_error() {
        let report = read(&format!("{SUMMARY}2024/02/09,tanaka,,\n2024/02/09,,,\nnot a date,suzuki,,\n"));
        assert!(report.records.is_empty());
        assert!(report.errors.is_empty());
    }

    #[test]
    fn a_time_only_summary_without_a_date_column_is_a_row_error() {
        let report = read("ユーザ名,開始,終了\ntanaka,9:03,18:00\n");
        assert_eq!(report.errors[0].field, "開始");
        assert_eq!(report.errors[0].reason, "a time of day, but the file has no date column");
    }

    #[test]
    fn bad_summary_cells_are_row_errors_naming_the_field() {
        let report =
            read(&format!("{SUMMARY}2024/02/09,tanaka,9:03,25:00\n2024/02/30,suzuki,9:00,\n2024/02/09,,9:00,\n"));
        let fields: Vec<(u64, &str)> = report.errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(fields, vec![(2, "終了日時"), (3, "日付"), (4, "ログオンユーザ名")]);
        assert!(report.records.is_empty());
    }

    #[test]
    fn a_system_summary_row_is_skipped_and_counted() {
        let report = read(&format!("{SUMMARY}2024/02/09,SYSTEM,0:00,4:59\n"));
        assert_eq!(report.skipped_system, 1);
        assert!(report.records.is_empty());
    }

    #[test]
    fn a_column_map_override_is_used_when_reading_rows() {
        let options = ReadOptions {
            columns: crate::ColumnMap { event_at: Some("発生日時".into()), ..Default::default() },
            ..ReadOptions::default()
        };
        let text = "発生日時,ユーザ名,ログ種類\n2024/02/09 9:03,tanaka,1\n";
        let report = read_lanscope_csv(text.as_bytes(), &options).unwrap();
        assert_eq!(report.records.len(), 1);
        let err = read_lanscope_csv("イベント日時,ユーザ名,ログ種類\n".as_bytes(), &options).unwrap_err();
        assert!(matches!(err, ReadError::NotLanScope { .. }));
    }

    #[test]
    fn times_are_read_in_the_configured_time_zone() {
        let options = ReadOptions { time_zone: jiff::tz::TimeZone::UTC, ..ReadOptions::default() };
        let text = "イベント日時,ユーザ名,ログ種類\n2024/02/09 9:03,tanaka,1\n";
        let report = read_lanscope_csv(text.as_bytes(), &options).unwrap();
        assert_eq!(report.records[0].event_at.to_string(), "2024-02-09T09:03:00Z");
    }
}
