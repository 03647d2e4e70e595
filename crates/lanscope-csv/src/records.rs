//! CSV records of a file: UTF-8 text split as it is, CP932 bytes split as bytes with each cell
//! decoded on its own.
//!
//! Decoding a whole CP932 file first cost more than splitting it: a second copy of the file,
//! freshly allocated (page faults included), that is then read once. Splitting the bytes
//! themselves gives the same records, because the bytes csv splits on (`,` `"` CR LF) are all
//! below 0x40 and a CP932 trail byte never is: no split falls inside a character. A cell of
//! ASCII (dates, numbers, most accounts) is taken as it is; only the others are decoded.
//!
//! Every byte of the file other than those ASCII ones lands in some cell, so decoding the cells
//! finds exactly the bytes decoding the whole file would reject; the error then names the same
//! offset, found by decoding the whole file once more (a rejected file is rare). Rows before
//! that record have been handed over by then: the file is rejected all the same.

use csv::{ByteRecord, Reader, ReaderBuilder, StringRecord};
use encoding_rs::{DecoderResult, SHIFT_JIS};

use crate::ReadError;
use crate::encoding::cp932_error_offset;
use crate::lines::LineCounter;

/// Reads the records of one text, flexibly (rows may be short or long) and without headers.
pub(crate) struct Records<'a> {
    source: &'a [u8],
    reader: Reader<&'a [u8]>,
    /// Present when `source` is CP932: the record as bytes and a cell being decoded.
    cp932: Option<(ByteRecord, String)>,
}

impl<'a> Records<'a> {
    /// `source` is UTF-8 text when `cp932` is false.
    pub(crate) fn new(source: &'a [u8], cp932: bool) -> Records<'a> {
        let reader = ReaderBuilder::new().has_headers(false).flexible(true).from_reader(source);
        Records { source, reader, cp932: cp932.then(|| (ByteRecord::new(), String::new())) }
    }

    /// Where the record just read ends: csv's position is at or before the start of the next one.
    pub(crate) fn end_of_record(&self) -> usize {
        usize::try_from(self.reader.position().byte()).unwrap_or(usize::MAX)
    }

    /// Reads the next record into `record`, as text; false at the end.
    pub(crate) fn next(&mut self, record: &mut StringRecord, lines: &mut LineCounter<'_>) -> Result<bool, ReadError> {
        let Some((bytes, cell)) = &mut self.cp932 else {
            let read = self.reader.read_record(record);
            return read.map_err(|e| csv_error(&e, &self.reader, lines));
        };
        if !self.reader.read_byte_record(bytes).map_err(|e| csv_error(&e, &self.reader, lines))? {
            return Ok(false);
        }
        record.clear();
        for field in bytes.iter() {
            match std::str::from_utf8(field).ok().filter(|_| field.is_ascii()) {
                Some(text) => record.push_field(text),
                None if decode_cp932_cell(field, cell) => record.push_field(cell),
                None => {
                    let start = bytes.position().map_or(0, csv::Position::byte);
                    let fallback = usize::try_from(start).unwrap_or(usize::MAX);
                    return Err(ReadError::Encoding { offset: cp932_error_offset(self.source).unwrap_or(fallback) });
                }
            }
        }
        record.set_position(bytes.position().cloned());
        Ok(true)
    }
}

/// Decodes one CP932 cell into `into`; false when it holds a byte CP932 does not have.
fn decode_cp932_cell(cell: &[u8], into: &mut String) -> bool {
    into.clear();
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let mut rest = cell;
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
        let mut record = StringRecord::new();
        let mut all = Vec::new();
        while records.next(&mut record, &mut lines)? {
            all.push(record.iter().map(str::to_string).collect());
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
    }
}
