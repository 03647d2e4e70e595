//! CSV records of a file: UTF-8 text split as it is, CP932 bytes split as bytes and each record
//! decoded on its own.
//!
//! Decoding a whole CP932 file first cost more than splitting it: a second copy of the file,
//! freshly allocated (page faults included), that is then read once. Splitting the bytes
//! themselves gives the same records, because the bytes csv splits on (`,` `"` CR LF) are all
//! below 0x40 and a CP932 trail byte never is: no split falls inside a character. A line without
//! quotes, as the manager writes them, is decoded in one go and cut at its commas; a record with
//! quotes is decoded cell by cell, and checked as it stands in the file as well, because a
//! quoted cell loses its quotes and a lead byte in front of a closing quote could pair with
//! what follows it. Either way a record is rejected exactly where decoding the whole file would
//! reject it; the error names the offset decoding the whole file once more finds (a rejected
//! file is rare). Rows before that record have been handed over by then: the file is rejected
//! all the same.

use std::ops::Range;

use csv::{ByteRecord, Position, Reader, ReaderBuilder, StringRecord};
use encoding_rs::{DecoderResult, SHIFT_JIS};

use crate::ReadError;
use crate::encoding::cp932_error_offset;
use crate::lines::LineCounter;

/// Reads the records of one text, flexibly (rows may be short or long) and without headers.
pub(crate) struct Records<'a> {
    source: &'a [u8],
    reader: Reader<&'a [u8]>,
    /// The record just read, when `source` is UTF-8.
    text: StringRecord,
    /// The record just read, when `source` is CP932.
    cp932: Option<Cp932Record>,
}

/// A CP932 record: as it stands in the file, and its cells' text one after the other.
struct Cp932Record {
    bytes: ByteRecord,
    text: String,
    /// Where each cell's text is in `text`.
    cells: Vec<Range<usize>>,
}

/// One record's cells as text.
#[derive(Clone, Copy)]
pub(crate) enum Record<'r> {
    Text(&'r StringRecord),
    Cp932 { text: &'r str, cells: &'r [Range<usize>], position: Option<&'r Position> },
}

impl<'r> Record<'r> {
    pub(crate) fn get(self, i: usize) -> Option<&'r str> {
        match self {
            Record::Text(record) => record.get(i),
            Record::Cp932 { text, cells, .. } => text.get(cells.get(i)?.clone()),
        }
    }

    pub(crate) fn len(self) -> usize {
        match self {
            Record::Text(record) => record.len(),
            Record::Cp932 { cells, .. } => cells.len(),
        }
    }

    pub(crate) fn iter(self) -> impl Iterator<Item = &'r str> {
        (0..self.len()).map(move |i| self.get(i).unwrap_or_default())
    }

    /// Where csv says the record starts (possibly in front of line breaks before it).
    pub(crate) fn start(self) -> u64 {
        let position = match self {
            Record::Text(record) => record.position(),
            Record::Cp932 { position, .. } => position,
        };
        position.map_or(0, Position::byte)
    }
}

impl<'a> Records<'a> {
    /// `source` is UTF-8 text when `cp932` is false.
    pub(crate) fn new(source: &'a [u8], cp932: bool) -> Records<'a> {
        let reader = ReaderBuilder::new().has_headers(false).flexible(true).from_reader(source);
        let cp932 = cp932.then(|| Cp932Record { bytes: ByteRecord::new(), text: String::new(), cells: Vec::new() });
        Records { source, reader, text: StringRecord::new(), cp932 }
    }

    /// Where the record just read ends: csv's position is at or before the start of the next one.
    pub(crate) fn end_of_record(&self) -> usize {
        usize::try_from(self.reader.position().byte()).unwrap_or(usize::MAX)
    }

    /// The record the last [`Records::next`] read.
    pub(crate) fn record(&self) -> Record<'_> {
        match &self.cp932 {
            None => Record::Text(&self.text),
            Some(record) => {
                Record::Cp932 { text: &record.text, cells: &record.cells, position: record.bytes.position() }
            }
        }
    }

    /// Reads the next record; false at the end.
    pub(crate) fn next(&mut self, lines: &mut LineCounter<'_>) -> Result<bool, ReadError> {
        let Some(record) = &mut self.cp932 else {
            let read = self.reader.read_record(&mut self.text);
            return read.map_err(|e| csv_error(&e, &self.reader, lines));
        };
        if !self.reader.read_byte_record(&mut record.bytes).map_err(|e| csv_error(&e, &self.reader, lines))? {
            return Ok(false);
        }
        let start = usize::try_from(record.bytes.position().map_or(0, Position::byte)).unwrap_or(usize::MAX);
        let end = usize::try_from(self.reader.position().byte()).unwrap_or(usize::MAX);
        let raw = self.source.get(start..end).unwrap_or_default();
        let valid = match unquoted_line(raw) {
            // The common case, as the manager writes: the line itself decoded in one go.
            Some(line) if line_cells(line, &mut record.text, &mut record.cells) == Some(record.bytes.len()) => true,
            _ => cells_one_by_one(&record.bytes, raw, &mut record.text, &mut record.cells),
        };
        if !valid {
            return Err(ReadError::Encoding { offset: cp932_error_offset(self.source).unwrap_or(start) });
        }
        Ok(true)
    }
}

/// The line of a record without quotes, its terminator and any line breaks csv counted in front
/// of it left out; `None` when the record has a quote.
fn unquoted_line(raw: &[u8]) -> Option<&[u8]> {
    if memchr::memchr(b'"', raw).is_some() {
        return None;
    }
    let from = raw.iter().position(|b| !matches!(b, b'\r' | b'\n')).unwrap_or(raw.len());
    let line = &raw[from..];
    Some(&line[..memchr::memchr2(b'\r', b'\n', line).unwrap_or(line.len())])
}

/// Decodes an unquoted line into `text` and where its cells are into `cells` (a comma is never
/// part of a CP932 character); the number of cells, or `None` when the line is not CP932.
fn line_cells(line: &[u8], text: &mut String, cells: &mut Vec<Range<usize>>) -> Option<usize> {
    text.clear();
    cells.clear();
    if !decode_cp932(line, text) {
        return None;
    }
    let mut start = 0;
    for comma in memchr::memchr_iter(b',', text.as_bytes()) {
        cells.push(start..comma);
        start = comma + 1;
    }
    cells.push(start..text.len());
    Some(cells.len())
}

/// Decodes a record cell by cell into `text` and `cells`; false when it is not CP932, in a cell
/// or as it stands in the file (`raw`, quotes included). The cells have lost their quotes, so a
/// lead byte in front of a closing quote can pair with a byte after it there; in the file it is
/// followed by the quote.
fn cells_one_by_one(record: &ByteRecord, raw: &[u8], text: &mut String, cells: &mut Vec<Range<usize>>) -> bool {
    text.clear();
    cells.clear();
    let mut valid = true;
    for cell in record {
        let start = text.len();
        match std::str::from_utf8(cell).ok().filter(|_| cell.is_ascii()) {
            Some(ascii) => text.push_str(ascii),
            None => valid &= decode_cp932(cell, text),
        }
        cells.push(start..text.len());
    }
    valid && decode_cp932(raw, &mut String::new())
}

/// Decodes CP932 bytes onto the end of `into`; false when they hold a byte CP932 does not have.
fn decode_cp932(bytes: &[u8], into: &mut String) -> bool {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let mut rest = bytes;
    loop {
        into.reserve(decoder.max_utf8_buffer_length_without_replacement(rest.len()).unwrap_or(rest.len() * 3));
        let (result, read) = decoder.decode_to_string_without_replacement(rest, into, true);
        rest = rest.get(read..).unwrap_or_default();
        match result {
            DecoderResult::InputEmpty => return true,
            DecoderResult::OutputFull => continue,
            DecoderResult::Malformed(..) => return false,
        }
    }
}

fn csv_error(error: &csv::Error, reader: &Reader<&[u8]>, lines: &mut LineCounter<'_>) -> ReadError {
    // Text read flexibly from memory leaves csv nothing to fail on (no I/O, no record-length
    // check; UTF-8 was checked before), but should it ever report something, say where.
    let byte = error.position().map_or_else(|| reader.position().byte(), csv::Position::byte);
    ReadError::Csv { line: lines.line_of_record_at(byte), message: error.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(source: &[u8], cp932: bool) -> Result<Vec<Vec<String>>, ReadError> {
        let mut records = Records::new(source, cp932);
        let mut lines = LineCounter::of_bytes(source);
        let mut all = Vec::new();
        while records.next(&mut lines)? {
            all.push(records.record().iter().map(str::to_string).collect());
        }
        Ok(all)
    }

    #[test]
    fn cp932_cells_are_decoded_and_ascii_cells_taken_as_they_are() {
        // 髙橋 (IBM extension), ① (NEC special), a quoted cell with a comma and a line break.
        let bytes = b"\xfb\xfc\x8b\xb4,\x87\x40,CORP\\user\r\n\"\x93\x63,\r\n\x92\x86\",2024/02/09 9:00\r\n";
        assert_eq!(
            cells(bytes, true).unwrap(),
            vec![vec!["髙橋", "①", "CORP\\user"], vec!["田,\r\n中", "2024/02/09 9:00"]]
        );
    }

    #[test]
    fn a_byte_cp932_does_not_have_is_the_whole_file_error_at_its_offset() {
        assert_eq!(cells(b"a,b\r\nabc,\x82\xff\r\n", true), Err(ReadError::Encoding { offset: 9 }));
        // A lead byte whose trail would be a separator.
        assert_eq!(cells(b"a,\x93,b", true), Err(ReadError::Encoding { offset: 2 }));
        assert_eq!(cells(b"a,\"\x93\"\"\",b", true), Err(ReadError::Encoding { offset: 3 }));
        // A lead byte before a closing quote, followed by a byte it would pair with without it.
        assert_eq!(cells(b"a,\"\x93\"c,b", true), Err(ReadError::Encoding { offset: 3 }));
        assert_eq!(cells(b"a,\"\xE0\"SYSTEM\r\n", true), Err(ReadError::Encoding { offset: 3 }));
    }
}
