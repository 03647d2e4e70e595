//! Reading a large file a piece at a time, holding one piece in memory.
//!
//! A file is cut at record boundaries into segments of about a given size; each segment is
//! read with the file's header in front of it, exactly as the whole file would be, and line
//! numbers are shifted back to the file's own. The cuts follow the csv crate's quoting rules
//! (a quote opens a field only at its start, `""` inside quotes is a quote), so a quoted cell
//! with line breaks is never cut. The bytes that matter (`"`, `,`, `\n`) never occur inside a
//! multi-byte character in UTF-8 or in CP932, so cutting works on the raw bytes of either.
//!
//! The encoding is decided once for the whole file ([`crate::EncodingSniffer`]), because a piece
//! of CP932 text can happen to be valid UTF-8, and a piece of damaged UTF-8 can happen to hold
//! none of the damage or nothing but the damage. Bytes that are not UTF-8 never span a record
//! boundary (a line break is ASCII), so a piece holds the same damage, in the same rows, as the
//! whole file.

use std::io::Read;

use crate::encoding::{FileEncoding, UTF_8_BOM, readable_as};
use crate::{LineShift, LogRecord, LogRow, ReadError, ReadOptions, ReadReport, RowsRead, read_decoded};

/// Where the csv parser is, for finding record boundaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl Scan {
    /// The state after `byte`, and whether `byte` ended a record.
    pub(crate) fn step(self, byte: u8) -> (Scan, bool) {
        match (self, byte) {
            (Scan::Quoted, b'"') => (Scan::QuoteInQuoted, false),
            (Scan::Quoted, _) => (Scan::Quoted, false),
            (Scan::QuoteInQuoted, b'"') => (Scan::Quoted, false),
            (Scan::FieldStart, b'"') => (Scan::Quoted, false),
            (_, b',') => (Scan::FieldStart, false),
            (_, b'\n') => (Scan::FieldStart, true),
            (Scan::FieldStart, b'\r') => (Scan::FieldStart, false),
            _ => (Scan::Unquoted, false),
        }
    }
}

/// What reading a file in segments found, summed over the segments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SegmentsSummary {
    pub segments: usize,
    pub records: usize,
    pub errors: usize,
    pub skipped: u64,
}

/// Failure of [`read_in_segments`]: the file as a whole, its I/O, or the caller's handler.
#[derive(Debug, thiserror::Error)]
pub enum SegmentsError<E> {
    #[error("{0}")]
    File(ReadError),
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Handler(E),
}

/// Where [`read_rows_in_segments`] hands what it reads: each row as it is read, then what the
/// segment found besides its rows, once the segment is done.
pub trait SegmentSink {
    type Error;
    fn row(&mut self, row: LogRow<'_>);
    fn end_segment(&mut self, read: RowsRead) -> Result<(), Self::Error>;
}

/// Reads `source` in segments of about `segment_bytes`, handing each segment's report (with
/// file line numbers) to `on_segment` in file order. Records and errors are those the whole
/// file read at once would give.
pub fn read_in_segments<R: Read, E>(
    source: R,
    encoding: FileEncoding,
    options: &ReadOptions,
    segment_bytes: usize,
    on_segment: impl FnMut(ReadReport) -> Result<(), E>,
) -> Result<SegmentsSummary, SegmentsError<E>> {
    struct Reports<F> {
        records: Vec<LogRecord>,
        on_segment: F,
    }
    impl<E, F: FnMut(ReadReport) -> Result<(), E>> SegmentSink for Reports<F> {
        type Error = E;
        fn row(&mut self, row: LogRow<'_>) {
            self.records.push(row.to_record());
        }
        fn end_segment(&mut self, read: RowsRead) -> Result<(), E> {
            (self.on_segment)(ReadReport::new(read, std::mem::take(&mut self.records)))
        }
    }
    read_rows_in_segments(source, encoding, options, segment_bytes, &mut Reports { records: Vec::new(), on_segment })
}

/// [`read_in_segments`] without building records: each row goes to `sink` as it is read, with
/// its file line number, and nothing of a segment is kept once it is read.
pub fn read_rows_in_segments<R: Read, S: SegmentSink>(
    mut source: R,
    encoding: FileEncoding,
    options: &ReadOptions,
    segment_bytes: usize,
    sink: &mut S,
) -> Result<SegmentsSummary, SegmentsError<S::Error>> {
    let segment_bytes = segment_bytes.max(1);
    let mut summary = SegmentsSummary::default();
    // The header record, kept to put in front of every segment.
    let mut header: Option<(Vec<u8>, u64)> = None;
    // Bytes not yet handed on, and the scan state at its end.
    let mut pending: Vec<u8> = Vec::new();
    let mut scan = Scan::FieldStart;
    // The end of the last complete record in `pending`.
    let mut boundary = 0usize;
    // Line breaks in the file before `pending` (header included).
    let mut lines_before: u64 = 0;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut text = Vec::new();
    let mut at_end = false;
    while !at_end {
        let n = source.read(&mut chunk)?;
        at_end = n == 0;
        let mut at = pending.len();
        pending.extend_from_slice(&chunk[..n]);
        while at < pending.len() {
            if header.is_some() {
                // Between quotes, only line breaks matter: skip to the next quote at once.
                let (next, last_record_end) = skip_to_quote(scan, &pending[at..]);
                if let Some(end) = last_record_end {
                    boundary = at + end;
                }
                at += next.1;
                scan = next.0;
                if at == pending.len() {
                    break;
                }
            }
            let (next, ended) = scan.step(pending[at]);
            scan = next;
            at += 1;
            if ended {
                boundary = at;
                if header.is_none() && !is_blank_line(&pending[..boundary]) {
                    let lines = count_newlines(&pending[..boundary]);
                    header = Some((pending[..boundary].to_vec(), lines));
                    lines_before = lines;
                    pending.drain(..boundary);
                    at = 0;
                    boundary = 0;
                }
            }
        }
        let full = boundary > 0 && boundary >= segment_bytes;
        if full || (at_end && !pending.is_empty()) {
            let cut = if at_end { pending.len() } else { boundary };
            let (header_bytes, header_lines) = match &header {
                Some(h) => (h.0.as_slice(), h.1),
                // A file without a line break: its one line is the header.
                None => (&[][..], 0),
            };
            text.clear();
            text.extend_from_slice(header_bytes);
            text.extend_from_slice(&pending[..cut]);
            let shift = LineShift { header_lines, lines_before };
            let read = read_segment(&text, encoding, options, shift, sink).map_err(SegmentsError::File)?;
            lines_before += count_newlines(&pending[..cut]);
            pending.drain(..cut);
            boundary = 0;
            summary.segments += 1;
            summary.records += usize::try_from(read.rows).unwrap_or(usize::MAX);
            summary.errors += read.errors.len();
            summary.skipped += read.skipped_system + read.skipped_other_types;
            sink.end_segment(read).map_err(SegmentsError::Handler)?;
        }
    }
    if summary.segments == 0 {
        // Only a header (or nothing): read it as the whole file would be.
        let text = header.map(|h| h.0).unwrap_or_default();
        let read = read_segment(&text, encoding, options, LineShift::NONE, sink).map_err(SegmentsError::File)?;
        summary.segments = 1;
        sink.end_segment(read).map_err(SegmentsError::Handler)?;
    }
    Ok(summary)
}

fn read_segment<S: SegmentSink>(
    bytes: &[u8],
    encoding: FileEncoding,
    options: &ReadOptions,
    shift: LineShift,
    sink: &mut S,
) -> Result<RowsRead, ReadError> {
    read_decoded(&readable_as(bytes, encoding), options, shift, |row| sink.row(row))
}

fn count_newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Where stepping [`Scan`] from `scan` over `bytes` reaches the next quote it must look at (or
/// the end), the state there, and the end of the last record ended on the way. Stepping byte by
/// byte through a file of unquoted fields was the largest cost of cutting it.
fn skip_to_quote(scan: Scan, bytes: &[u8]) -> ((Scan, usize), Option<usize>) {
    match scan {
        Scan::Quoted => {
            // Inside quotes nothing ends a record until the closing quote.
            let quote = memchr::memchr(b'"', bytes).unwrap_or(bytes.len());
            ((Scan::Quoted, quote), None)
        }
        Scan::QuoteInQuoted => ((scan, 0), None),
        Scan::FieldStart | Scan::Unquoted => {
            let quote = memchr::memchr(b'"', bytes).unwrap_or(bytes.len());
            let span = &bytes[..quote];
            let last_record_end = memchr::memrchr(b'\n', span).map(|i| i + 1);
            // The state at the quote depends only on what follows the last separator.
            let (from, mut state) = match memchr::memrchr2(b',', b'\n', span) {
                Some(i) => (i + 1, Scan::FieldStart),
                None => (0, scan),
            };
            for &byte in &span[from..] {
                state = state.step(byte).0;
            }
            ((state, quote), last_record_end)
        }
    }
}

/// A line of nothing but separators and spaces, which the reader skips before the header.
fn is_blank_line(bytes: &[u8]) -> bool {
    let body = bytes.strip_prefix(UTF_8_BOM).unwrap_or(bytes);
    body.iter().all(|b| matches!(b, b',' | b' ' | b'\t' | b'\r' | b'\n'))
}
