//! Reads the CSV files the LanScope manager writes into PC logon / logoff records.
//!
//! Every day the manager exports the previous LanScope day, `[D 05:00, D+1 05:00)` by default,
//! in one of two layouts:
//!
//! - [`Layout::Events`]: one row per PC start (ログ種類 1) or end (ログ種類 2), with both the
//!   time it happened on the PC (イベント日時) and the time the manager recorded it (日時).
//! - [`Layout::DailySummary`] (勤怠簿): one row per user per LanScope day with the first start
//!   and the last end.
//!
//! Both become the same [`LogRecord`]s. The crate is pure (bytes in, records and a report out)
//! so that the connector decides what to do with files and the tests need no clock or disk.
//!
//! A file is read as far as it can be: one bad row becomes a [`RowError`] and the good rows
//! around it are still returned, because a typo in one line must not cost everybody else their
//! punches. Only problems with the whole file (encoding, unknown header, no header) are a
//! [`ReadError`]. The same holds for a UTF-8 file with a few bytes that are not UTF-8: each row
//! holding one is a [`RowError`] and the others are read as UTF-8, never the whole file as CP932
//! (see [`decode`] for how the two are told apart).
#![forbid(unsafe_code)]

mod damage;
mod datetime;
mod encoding;
mod header;
mod lines;
mod records;
mod rows;
mod segments;

use std::fmt;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use loginrec_rules::{DayChangeTime, LogKind};

pub use datetime::{parse_local_date, parse_local_datetime, parse_local_time};
pub use encoding::{DAMAGED_UTF8_RATIO, EncodingSniffer, FileEncoding, SHIFT_JIS_NAME, UTF_8, decode};
pub use header::{ColumnMap, Layout};
pub use lines::LineCounter;
pub use segments::{SegmentSink, SegmentsError, SegmentsSummary, read_in_segments, read_rows_in_segments};

/// How to read a file: the connector's configuration.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// The local time zone of the PCs and the manager; LanScope writes local wall-clock times.
    pub time_zone: TimeZone,
    /// LanScope's collection start time: the hour its day begins, which decides which calendar
    /// day a time-only value in the daily summary falls on.
    pub collection_start: DayChangeTime,
    /// Header names that replace the built-in aliases.
    pub columns: ColumnMap,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            time_zone: tokyo(),
            collection_start: DayChangeTime::LANSCOPE_DEFAULT,
            columns: ColumnMap::default(),
        }
    }
}

/// Asia/Tokyo, or its fixed +09:00 where no time zone database is installed: Japan has had no
/// daylight saving time since 1951, so the two agree for any LanScope log.
fn tokyo() -> TimeZone {
    TimeZone::get("Asia/Tokyo").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(9)))
}

/// One PC start or end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// 1-based physical line of the file where the row starts; the header is line 1.
    pub line: u64,
    /// As in the file (case and any `DOMAIN\` prefix kept); only surrounding whitespace trimmed.
    pub user_name: String,
    pub kind: LogKind,
    /// イベント日時: when it happened on the PC. This is the time that counts for attendance.
    pub event_at: Timestamp,
    /// 日時: when the manager recorded it, which can be much later for a PC that was offline.
    pub recorded_at: Option<Timestamp>,
    pub sub_manager_no: Option<String>,
    pub agent_no: Option<String>,
    pub computer_name: Option<String>,
}

/// One PC start or end as [`read_lanscope_rows`] hands it over: its text borrowed from the row
/// being read, so that reading a file allocates nothing per row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogRow<'a> {
    /// 1-based physical line of the file where the row starts; the header is line 1.
    pub line: u64,
    /// As in the file (case and any `DOMAIN\` prefix kept); only surrounding whitespace trimmed.
    pub user_name: &'a str,
    pub kind: LogKind,
    /// イベント日時: when it happened on the PC.
    pub event_at: Timestamp,
    /// 日時: when the manager recorded it.
    pub recorded_at: Option<Timestamp>,
    pub sub_manager_no: Option<&'a str>,
    pub agent_no: Option<&'a str>,
    pub computer_name: Option<&'a str>,
}

impl LogRow<'_> {
    pub fn to_record(&self) -> LogRecord {
        LogRecord {
            line: self.line,
            user_name: self.user_name.to_string(),
            kind: self.kind,
            event_at: self.event_at,
            recorded_at: self.recorded_at,
            sub_manager_no: self.sub_manager_no.map(str::to_string),
            agent_no: self.agent_no.map(str::to_string),
            computer_name: self.computer_name.map(str::to_string),
        }
    }
}

/// What reading a file row by row found besides the rows themselves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowsRead {
    pub layout: Layout,
    /// `"UTF-8"` or `"Shift_JIS"` (CP932).
    pub encoding: &'static str,
    /// Rows handed over.
    pub rows: u64,
    /// Rows of the user `SYSTEM`: Windows services, not a person at the PC.
    pub skipped_system: u64,
    /// Events whose ログ種類 is a number other than 1 or 2.
    pub skipped_other_types: u64,
    /// Rows that could not be read, in file order.
    pub errors: Vec<RowError>,
}

/// A row that could not be read; the rest of the file still is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// 1-based physical line where the row starts.
    pub line: u64,
    /// The header of the offending column as the file names it.
    pub field: String,
    /// The cell as found (trimmed); empty when the cell is empty or the row is too short.
    pub value: String,
    /// What is wrong, in plain words.
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, field {}: {} (\"{}\")", self.line, self.field, self.reason, self.value)
    }
}

impl std::error::Error for RowError {}

/// Everything read from one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadReport {
    pub layout: Layout,
    /// `"UTF-8"` or `"Shift_JIS"` (CP932).
    pub encoding: &'static str,
    /// In file order.
    pub records: Vec<LogRecord>,
    /// Rows of the user `SYSTEM`: Windows services, not a person at the PC.
    pub skipped_system: u64,
    /// Events whose ログ種類 is a number other than 1 or 2: other kinds of operation log.
    pub skipped_other_types: u64,
    /// Rows that could not be read, in file order.
    pub errors: Vec<RowError>,
}

/// A problem with the file as a whole; no record of it can be trusted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReadError {
    #[error(
        "the file is neither valid UTF-8 nor valid Shift_JIS (CP932): invalid byte sequence at byte offset {offset}"
    )]
    Encoding { offset: usize },
    /// A file judged to be UTF-8 (see [`decode`]) with bytes that are not UTF-8 where nothing of
    /// the file can be read without them: in its header, or anywhere for [`decode`].
    #[error(
        "UTF-8 のファイルに UTF-8 として読めないバイトがあります ({line} 行目 {column} 文字目) / \
         the file is UTF-8 but holds bytes that are not: {} at line {line}, column {column} (byte offset {offset}); \
         it is not read as Shift_JIS (CP932), which would garble its Japanese text",
        damage::hex_bytes(bytes)
    )]
    DamagedUtf8 { line: u64, column: u64, offset: usize, bytes: Vec<u8> },
    #[error(
        "not a LanScope log file: the header must name, once each, イベント日時, a user name and ログ種類 \
         (event layout) or a user name and 開始/終了 (daily summary layout); headers seen: {}",
        quoted_list(headers)
    )]
    NotLanScope { headers: Vec<String> },
    #[error("the file is empty: there is no header line")]
    Empty,
}

fn quoted_list(items: &[String]) -> String {
    if items.is_empty() {
        return "(none)".to_string();
    }
    items.iter().map(|item| format!("\"{item}\"")).collect::<Vec<_>>().join(", ")
}

/// Reads a LanScope CSV file, in either layout and either encoding.
///
/// Bad rows end up in [`ReadReport::errors`] and never stop the good rows; an `Err` means the
/// file as a whole cannot be read.
pub fn read_lanscope_csv(bytes: &[u8], options: &ReadOptions) -> Result<ReadReport, ReadError> {
    let mut records = Vec::new();
    let read = read_lanscope_rows(bytes, options, |row| records.push(row.to_record()))?;
    Ok(ReadReport::new(read, records))
}

/// Reads a LanScope CSV file as [`read_lanscope_csv`] does, handing each row to `on_row` as it
/// is read instead of collecting them.
///
/// A CP932 file is decoded as it is read, so a byte CP932 does not have can be found after
/// rows in front of it were handed over: an `Err` means none of them can be trusted.
pub fn read_lanscope_rows(
    bytes: &[u8],
    options: &ReadOptions,
    on_row: impl FnMut(LogRow<'_>),
) -> Result<RowsRead, ReadError> {
    read_decoded(&encoding::readable_whole(bytes), options, LineShift::NONE, on_row)
}

impl ReadReport {
    pub(crate) fn new(read: RowsRead, records: Vec<LogRecord>) -> ReadReport {
        ReadReport {
            layout: read.layout,
            encoding: read.encoding,
            records,
            skipped_system: read.skipped_system,
            skipped_other_types: read.skipped_other_types,
            errors: read.errors,
        }
    }
}

/// Moves the line numbers of a piece of a file (read with the file's header in front of it)
/// back to the file's own.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LineShift {
    /// Lines of the header put in front of the piece; 0 leaves line numbers as they are.
    pub(crate) header_lines: u64,
    /// Lines of the file in front of the piece, its header included.
    pub(crate) lines_before: u64,
}

impl LineShift {
    pub(crate) const NONE: LineShift = LineShift { header_lines: 0, lines_before: 0 };

    fn apply(self, line: u64) -> u64 {
        if self.header_lines == 0 { line } else { line.saturating_sub(self.header_lines) + self.lines_before }
    }
}

/// Reads a file's text or CP932 bytes; rows holding damage are reported and skipped, damage in
/// the header makes the file unreadable.
pub(crate) fn read_decoded(
    readable: &encoding::Readable<'_>,
    options: &ReadOptions,
    shift: LineShift,
    mut on_row: impl FnMut(LogRow<'_>),
) -> Result<RowsRead, ReadError> {
    let (text, source, damage, encoding) = match readable {
        encoding::Readable::Text(decoded) => {
            (&*decoded.text, records::Source::Text(&decoded.text), &decoded.damage[..], decoded.encoding)
        }
        // CP932 has no damage: a byte it does not have rejects the file.
        encoding::Readable::Cp932(bytes) => ("", records::Source::Cp932(bytes), &[][..], SHIFT_JIS_NAME),
    };
    let mut reader = records::Records::new(source);
    let mut lines = lines::LineCounter::of_bytes(source.bytes());
    let mut damage = damage.iter().peekable();

    let columns = loop {
        if !reader.next()? {
            return Err(ReadError::Empty);
        }
        let record = reader.record();
        if !rows::is_blank(record) {
            if let Some(first) = damage::take_before(&mut damage, reader.end_of_record()) {
                return Err(first.to_error(text));
            }
            let headers: Vec<&str> = record.iter().collect();
            break header::Columns::detect(&headers, &options.columns)?;
        }
    };

    let mut read = RowsRead {
        layout: columns.layout,
        encoding,
        rows: 0,
        skipped_system: 0,
        skipped_other_types: 0,
        errors: Vec::new(),
    };
    let mut clock = datetime::LocalClock::new(&options.time_zone);
    while reader.next()? {
        let record = reader.record();
        if rows::is_blank(record) {
            continue;
        }
        let start = record.start();
        let line = shift.apply(lines.line_of_record_at(u64::try_from(start).unwrap_or(u64::MAX)));
        if let Some(first) = damage::take_before(&mut damage, reader.end_of_record()) {
            read.errors.push(damage::row_error(text, record, start, line, first, &columns));
            continue;
        }
        let row = rows::Row { record, line, columns: &columns };
        match rows::read_row(&row, options, &mut clock) {
            Ok(rows::Outcome::Rows(first, second)) => {
                for row in [first, second].into_iter().flatten() {
                    read.rows += 1;
                    on_row(row);
                }
            }
            Ok(rows::Outcome::System) => read.skipped_system += 1,
            Ok(rows::Outcome::OtherType) => read.skipped_other_types += 1,
            Err(error) => read.errors.push(error),
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<ReadReport, ReadError> {
        read_lanscope_csv(text.as_bytes(), &ReadOptions::default())
    }

    #[test]
    fn the_default_options_are_tokyo_and_five_o_clock() {
        let options = ReadOptions::default();
        assert_eq!(options.time_zone.iana_name(), Some("Asia/Tokyo"));
        assert_eq!(options.collection_start, DayChangeTime::LANSCOPE_DEFAULT);
        assert_eq!(options.columns, ColumnMap::default());
    }

    #[test]
    fn a_row_error_reads_as_a_sentence_naming_line_field_and_value() {
        let error = RowError {
            line: 7,
            field: "イベント日時".into(),
            value: "2024/13/01 9:00".into(),
            reason: "not a date-time".into(),
        };
        assert_eq!(error.to_string(), "line 7, field イベント日時: not a date-time (\"2024/13/01 9:00\")");
    }

    #[test]
    fn a_file_without_any_line_is_empty() {
        assert_eq!(read(""), Err(ReadError::Empty));
        assert_eq!(read("\r\n\n"), Err(ReadError::Empty));
        assert_eq!(read_lanscope_csv(b"\xEF\xBB\xBF", &ReadOptions::default()), Err(ReadError::Empty));
    }

    #[test]
    fn a_header_only_file_has_no_records_and_no_errors() {
        let report = read("日時,イベント日時,ログオンユーザ名,ログ種類\r\n").unwrap();
        assert_eq!(report.layout, Layout::Events);
        assert!(report.records.is_empty());
        assert!(report.errors.is_empty());
    }

    #[test]
    fn blank_lines_are_skipped_and_line_numbers_stay_physical() {
        let report =
            read("\nイベント日時,ユーザ名,ログ種類\n\n2024/02/09 9:03,tanaka,1\n\n\n2024/02/09 18:00,tanaka,2\n")
                .unwrap();
        let lines: Vec<u64> = report.records.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![4, 7]);
    }

    #[test]
    fn a_row_of_empty_cells_is_a_blank_line_not_an_error() {
        let report = read("イベント日時,ユーザ名,ログ種類\n,,\n , ,\n").unwrap();
        assert!(report.records.is_empty());
        assert!(report.errors.is_empty());
    }

    #[test]
    fn the_not_lanscope_message_lists_the_headers_seen() {
        let err = read("従業員コード,姓,名,所属コード\n").unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("not a LanScope log file"), "{message}");
        assert!(message.ends_with("headers seen: \"従業員コード\", \"姓\", \"名\", \"所属コード\""), "{message}");
    }

    #[test]
    fn a_stray_byte_at_the_very_end_of_a_row_or_of_the_file_belongs_to_that_row() {
        let header = "日時,イベント日時,ログオンユーザ名,ログ種類,コンピュータ名\r\n";
        let row = |pc: &str| format!("2024/02/09 9:00,2024/02/09 9:00,佐藤花子,1,{pc}");
        for ending in ["\r\n", "\n", ""] {
            let mut bytes = format!("{header}{}\r\n{}", row("PC-1"), row("PC-2")).into_bytes();
            bytes.push(0xFF);
            bytes.extend_from_slice(ending.as_bytes());
            bytes.extend_from_slice(format!("{}\r\n", row("PC-3")).as_bytes());
            let report = read_lanscope_csv(&bytes, &ReadOptions::default()).unwrap();
            let read: Vec<(u64, Option<&str>)> =
                report.records.iter().map(|r| (r.line, r.computer_name.as_deref())).collect();
            let errors: Vec<(u64, &str, &str)> =
                report.errors.iter().map(|e| (e.line, e.field.as_str(), e.value.as_str())).collect();
            if ending.is_empty() {
                // Without a line break the next row runs on in the same last cell.
                assert_eq!(read, vec![(2, Some("PC-1"))]);
                assert_eq!(errors.len(), 1);
                assert_eq!((errors[0].0, errors[0].1), (3, "コンピュータ名"));
            } else {
                assert_eq!(read, vec![(2, Some("PC-1")), (4, Some("PC-3"))], "ending {ending:?}");
                assert_eq!(errors, vec![(3, "コンピュータ名", "PC-2\u{fffd}")], "ending {ending:?}");
            }
        }
        // The last byte of the file.
        let mut bytes = format!("{header}{}", row("PC-1")).into_bytes();
        bytes.push(0xE6);
        let report = read_lanscope_csv(&bytes, &ReadOptions::default()).unwrap();
        assert!(report.records.is_empty());
        assert_eq!(report.errors[0].line, 2);
        assert!(report.errors[0].reason.contains("0xE6"), "{}", report.errors[0]);
    }

    #[test]
    fn the_encoding_message_names_the_offset() {
        let err = read_lanscope_csv(b"abc,\x82\xff", &ReadOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file is neither valid UTF-8 nor valid Shift_JIS (CP932): invalid byte sequence at byte offset 4"
        );
    }
}
