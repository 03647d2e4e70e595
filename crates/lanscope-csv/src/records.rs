//! CSV records of a file, read straight from its text (UTF-8) or its bytes (CP932).
//!
//! A line without quotes, as the manager writes them, is a record by itself: it is cut at its
//! commas, its cells borrowed from the file's text (UTF-8) or decoded in one go (CP932). Going
//! through the `csv` crate's records instead copied every cell and checked it for UTF-8 again,
//! which cost as much as finding the cells. A line with a quote is left to `csv_core`, whose
//! rules (a quote opens a cell only at its start, `""` in quotes is a quote, line breaks in
//! quotes) the cut lines follow: a property test holds the two to the same records.
//!
//! CP932 bytes can be cut before they are decoded because the bytes that cut them (`,` `"` CR
//! LF) are all below 0x40 and a CP932 trail byte never is. A record is rejected exactly where
//! decoding the whole file would reject it: an unquoted line is decoded as it stands; a quoted
//! record is decoded cell by cell and checked as it stands as well, because its cells have lost
//! their quotes and a lead byte in front of a closing quote could pair with what follows it.
//! The error names the offset decoding the whole file once more finds (a rejected file is
//! rare). Rows before that record have been handed over by then: the file is rejected all the
//! same.

use std::ops::Range;

use csv_core::ReadRecordResult;

use crate::ReadError;
use crate::encoding::{cp932_error_offset, decode_cp932_onto};

/// What records are read from.
#[derive(Clone, Copy)]
pub(crate) enum Source<'a> {
    Text(&'a str),
    Cp932(&'a [u8]),
}

impl<'a> Source<'a> {
    pub(crate) fn bytes(self) -> &'a [u8] {
        match self {
            Source::Text(text) => text.as_bytes(),
            Source::Cp932(bytes) => bytes,
        }
    }
}

/// Reads the records of one text, flexibly (rows may be short or long) and without headers.
pub(crate) struct Records<'a> {
    source: Source<'a>,
    /// Where the next record is looked for.
    at: usize,
    /// Where the record just read starts and ends in `source`.
    start: usize,
    end: usize,
    /// Where the record's cells are: in the source's text, or in `owned`.
    cells: Vec<Range<usize>>,
    in_owned: bool,
    /// The cells of a record that could not be borrowed from the source.
    owned: String,
    /// For lines with quotes: the parser, and the cells it wrote and where each ends.
    parser: csv_core::Reader,
    unquoted: Vec<u8>,
    unquoted_ends: Vec<usize>,
}

/// One record's cells as text.
#[derive(Clone, Copy)]
pub(crate) struct Record<'r> {
    text: &'r str,
    cells: &'r [Range<usize>],
    start: usize,
}

impl<'r> Record<'r> {
    pub(crate) fn get(self, i: usize) -> Option<&'r str> {
        self.text.get(self.cells.get(i)?.clone())
    }

    pub(crate) fn iter(self) -> impl Iterator<Item = &'r str> {
        self.cells.iter().map(move |cell| self.text.get(cell.clone()).unwrap_or_default())
    }

    /// Where the record starts in the text it was read from.
    pub(crate) fn start(self) -> usize {
        self.start
    }
}

impl<'a> Records<'a> {
    pub(crate) fn new(source: Source<'a>) -> Records<'a> {
        // A byte order mark left at the start of the text (a file saved with two) is not part
        // of the first cell, as csv has it.
        let bom = match source {
            Source::Text(text) if text.starts_with('\u{feff}') => '\u{feff}'.len_utf8(),
            _ => 0,
        };
        // csv_core drops a byte order mark at the start of the first input it is given, which
        // for it may be any quoted line of the file: it is given a blank line first.
        let mut parser = csv_core::ReaderBuilder::new().build();
        parser.read_record(b"\n", &mut [0; 1], &mut [0; 1]);
        Records {
            source,
            at: bom,
            start: 0,
            end: 0,
            cells: Vec::new(),
            in_owned: false,
            owned: String::new(),
            parser,
            unquoted: Vec::new(),
            unquoted_ends: Vec::new(),
        }
    }

    /// Where the record just read ends (its line break included).
    pub(crate) fn end_of_record(&self) -> usize {
        self.end
    }

    /// The record the last [`Records::next`] read.
    pub(crate) fn record(&self) -> Record<'_> {
        let text = match (self.in_owned, self.source) {
            (false, Source::Text(text)) => text,
            _ => &self.owned,
        };
        Record { text, cells: &self.cells, start: self.start }
    }

    /// Reads the next record; false at the end.
    pub(crate) fn next(&mut self) -> Result<bool, ReadError> {
        let bytes = self.source.bytes();
        // Blank lines are no record, as in csv.
        let rest = bytes.get(self.at..).unwrap_or_default();
        self.at += rest.iter().position(|b| !matches!(b, b'\r' | b'\n')).unwrap_or(rest.len());
        if self.at >= bytes.len() {
            return Ok(false);
        }
        self.start = self.at;
        let rest = &bytes[self.at..];
        let line = &rest[..memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len())];
        let valid = if memchr::memchr(b'"', line).is_none() {
            self.end = self.start + line.len() + line_break_length(&rest[line.len()..]);
            self.read_line(line)
        } else {
            self.read_quoted()
        };
        self.at = self.end;
        if !valid {
            let offset = cp932_error_offset(bytes).unwrap_or(self.start);
            return Err(ReadError::Encoding { offset });
        }
        Ok(true)
    }

    /// Cuts a line without quotes at its commas (a comma is never part of a CP932 character);
    /// false when it is not CP932.
    fn read_line(&mut self, line: &[u8]) -> bool {
        self.cells.clear();
        let (text, base) = match self.source {
            Source::Text(_) => {
                self.in_owned = false;
                (line, self.start)
            }
            Source::Cp932(_) => {
                self.in_owned = true;
                self.owned.clear();
                if decode_cp932_onto(line, &mut self.owned).is_err() {
                    return false;
                }
                (self.owned.as_bytes(), 0)
            }
        };
        let mut cell = 0;
        for comma in memchr::memchr_iter(b',', text) {
            self.cells.push(base + cell..base + comma);
            cell = comma + 1;
        }
        self.cells.push(base + cell..base + text.len());
        true
    }

    /// Reads a record with quotes through `csv_core`; false when it is not CP932.
    fn read_quoted(&mut self) -> bool {
        let bytes = self.source.bytes();
        let (mut nin, mut nout, mut nend) = (0, 0, 0);
        loop {
            if self.unquoted.len() <= nout {
                self.unquoted.resize((self.unquoted.len() * 2).max(256), 0);
            }
            if self.unquoted_ends.len() <= nend {
                self.unquoted_ends.resize((self.unquoted_ends.len() * 2).max(16), 0);
            }
            let input = bytes.get(self.at + nin..).unwrap_or_default();
            let (result, read, written, ended) =
                self.parser.read_record(input, &mut self.unquoted[nout..], &mut self.unquoted_ends[nend..]);
            nin += read;
            nout += written;
            nend += ended;
            match result {
                ReadRecordResult::Record | ReadRecordResult::End => break,
                ReadRecordResult::InputEmpty | ReadRecordResult::OutputFull | ReadRecordResult::OutputEndsFull => {}
            }
        }
        self.end = self.at + nin;
        self.in_owned = true;
        self.owned.clear();
        self.cells.clear();
        let mut valid = true;
        let mut from = 0;
        for &to in &self.unquoted_ends[..nend] {
            let cell = &self.unquoted[from..to];
            let start = self.owned.len();
            match self.source {
                // The text less some quotes: UTF-8 still, so nothing is lost or replaced.
                Source::Text(_) => self.owned.push_str(&String::from_utf8_lossy(cell)),
                Source::Cp932(_) if cell.is_ascii() => self.owned.push_str(&String::from_utf8_lossy(cell)),
                Source::Cp932(_) => valid &= decode_cp932_onto(cell, &mut self.owned).is_ok(),
            }
            self.cells.push(start..self.owned.len());
            from = to;
        }
        match self.source {
            Source::Text(_) => true,
            Source::Cp932(_) => valid && cp932_error_offset(&bytes[self.start..self.end]).is_none(),
        }
    }
}

/// The length of the line break `rest` starts with: `\r\n`, `\r`, `\n`, or none at the end.
fn line_break_length(rest: &[u8]) -> usize {
    match rest {
        [b'\r', b'\n', ..] => 2,
        [b'\r' | b'\n', ..] => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(source: &[u8], cp932: bool) -> Result<Vec<Vec<String>>, ReadError> {
        let source = if cp932 { Source::Cp932(source) } else { Source::Text(std::str::from_utf8(source).unwrap()) };
        let mut records = Records::new(source);
        let mut all = Vec::new();
        while records.next()? {
            all.push(records.record().iter().map(str::to_string).collect());
        }
        Ok(all)
    }

    /// The records the `csv` crate reads from `text`, flexibly and without headers.
    fn csv_records(text: &str) -> Vec<Vec<String>> {
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
        reader.records().map(|record| record.unwrap().iter().map(str::to_string).collect()).collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        #[test]
        fn lines_cut_at_commas_and_quoted_records_are_the_records_csv_reads(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![",", "\"", "\"\"", "\r", "\n", "\r\n", " ", "a", "1", "日時", "髙", "①", "\u{feff}"]),
                0..40,
            ),
        ) {
            let text = pieces.concat();
            proptest::prop_assert_eq!(cells(text.as_bytes(), false).unwrap(), csv_records(&text));
            // CP932 has no byte order mark.
            let (cp932, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
            if !unmappable {
                proptest::prop_assert_eq!(cells(&cp932, true).unwrap(), csv_records(&text));
            }
        }
    }

    #[test]
    fn a_record_starts_after_the_line_breaks_in_front_of_it_and_ends_after_its_own() {
        let text = "a,b\r\n\r\n\"x\r\ny\",c\nd";
        let mut records = Records::new(Source::Text(text));
        let mut seen = Vec::new();
        while records.next().unwrap() {
            seen.push((records.record().start(), records.end_of_record()));
        }
        assert_eq!(seen, vec![(0, 5), (7, 16), (16, 17)]);
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
