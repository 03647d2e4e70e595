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

use crate::encoding::{FileEncoding, UTF_8_BOM, decode_as};
use crate::{ReadError, ReadOptions, ReadReport, read_decoded};

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

/// Reads `source` in segments of about `segment_bytes`, handing each segment's report (with
/// file line numbers) to `on_segment` in file order. Records and errors are those the whole
/// file read at once would give.
pub fn read_in_segments<R: Read, E>(
    mut source: R,
    encoding: FileEncoding,
    options: &ReadOptions,
    segment_bytes: usize,
    mut on_segment: impl FnMut(ReadReport) -> Result<(), E>,
) -> Result<SegmentsSummary, SegmentsError<E>> {
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
    let mut at_end = false;
    while !at_end {
        let n = source.read(&mut chunk)?;
        at_end = n == 0;
        for &byte in &chunk[..n] {
            let (next, ended) = scan.step(byte);
            scan = next;
            pending.push(byte);
            if ended {
                boundary = pending.len();
                if header.is_none() && !is_blank_line(&pending[..boundary]) {
                    let lines = count_newlines(&pending[..boundary]);
                    header = Some((pending[..boundary].to_vec(), lines));
                    lines_before = lines;
                    pending.clear();
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
            let mut text = Vec::with_capacity(header_bytes.len() + cut);
            text.extend_from_slice(header_bytes);
            text.extend_from_slice(&pending[..cut]);
            let mut report = read_segment(&text, encoding, options).map_err(SegmentsError::File)?;
            let shift = |line: u64| line.saturating_sub(header_lines) + lines_before;
            if header_lines > 0 {
                for r in &mut report.records {
                    r.line = shift(r.line);
                }
                for e in &mut report.errors {
                    e.line = shift(e.line);
                }
            }
            lines_before += count_newlines(&pending[..cut]);
            pending.drain(..cut);
            boundary = 0;
            summary.segments += 1;
            summary.records += report.records.len();
            summary.errors += report.errors.len();
            summary.skipped += report.skipped_system + report.skipped_other_types;
            on_segment(report).map_err(SegmentsError::Handler)?;
        }
    }
    if summary.segments == 0 {
        // Only a header (or nothing): read it as the whole file would be.
        let text = header.map(|h| h.0).unwrap_or_default();
        let report = read_segment(&text, encoding, options).map_err(SegmentsError::File)?;
        summary.segments = 1;
        on_segment(report).map_err(SegmentsError::Handler)?;
    }
    Ok(summary)
}

fn read_segment(bytes: &[u8], encoding: FileEncoding, options: &ReadOptions) -> Result<ReadReport, ReadError> {
    read_decoded(&decode_as(bytes, encoding)?, options)
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

/// A line of nothing but separators and spaces, which the reader skips before the header.
fn is_blank_line(bytes: &[u8]) -> bool {
    let body = bytes.strip_prefix(UTF_8_BOM).unwrap_or(bytes);
    body.iter().all(|b| matches!(b, b',' | b' ' | b'\t' | b'\r' | b'\n'))
}
