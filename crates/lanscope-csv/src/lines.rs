//! Physical line numbers of records.
//!
//! `csv::Position::line()` cannot be used for this: it counts a CRLF terminator late and does
//! not count skipped blank lines, so in the CRLF files LanScope writes every record after the
//! header would be reported one line too early. The record's byte offset is reliable up to the
//! terminators in front of it, so the line is counted from the text itself.

/// Counts line breaks (`\n`, `\r\n`, or a lone `\r`) up to record starts, moving forward only
/// so that a whole file is counted once.
pub struct LineCounter<'a> {
    text: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    pub fn new(text: &'a str) -> Self {
        LineCounter::of_bytes(text.as_bytes())
    }

    /// Counts in text not decoded yet: line breaks are the same bytes in UTF-8 and in CP932.
    pub fn of_bytes(text: &'a [u8]) -> Self {
        LineCounter { text, offset: 0, line: 1 }
    }

    /// The 1-based line of the record whose reported position is `byte`.
    pub fn line_of_record_at(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte).unwrap_or(usize::MAX).min(self.text.len());
        // The reported position may still be in front of the previous record's terminator or of
        // skipped blank lines; a record never starts with a line break.
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        let text = self.text;
        // memchr finds the few line-break bytes among many others far faster than a byte loop.
        for i in memchr::memchr2_iter(b'\n', b'\r', &text[self.offset..start]) {
            let i = self.offset + i;
            let is_break = text[i] == b'\n' || text.get(i + 1) != Some(&b'\n');
            if is_break {
                self.line += 1;
            }
        }
        self.offset = start;
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &str) -> Vec<u64> {
        let mut counter = LineCounter::new(text);
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
        let mut record = csv::StringRecord::new();
        let mut lines = Vec::new();
        while reader.read_record(&mut record).unwrap() {
            lines.push(counter.line_of_record_at(record.position().unwrap().byte()));
        }
        lines
    }

    #[test]
    fn crlf_records_are_on_consecutive_lines() {
        assert_eq!(lines_of("a,b\r\n1,2\r\n3,4\r\n"), vec![1, 2, 3]);
    }

    #[test]
    fn blank_lines_count_even_though_they_yield_no_record() {
        assert_eq!(lines_of("\na,b\n\n1,2\n\n\n3,4\n"), vec![2, 4, 7]);
        assert_eq!(lines_of("a,b\r\n\r\n1,2\r\n\r\n\r\n3,4"), vec![1, 3, 6]);
    }

    #[test]
    fn a_newline_inside_quotes_pushes_the_following_records_down() {
        assert_eq!(lines_of("a,b\r\n\"x\r\ny\",2\r\n3,4\r\n"), vec![1, 2, 4]);
        assert_eq!(lines_of("a,b\n\"x\n\ny\",2\n3,4\n"), vec![1, 2, 5]);
    }

    #[test]
    fn a_lone_carriage_return_is_a_line_break() {
        assert_eq!(lines_of("a\rb\rc"), vec![1, 2, 3]);
    }

    #[test]
    fn asking_again_for_an_earlier_record_recounts_from_the_start() {
        let mut counter = LineCounter::new("a\nb\nc\n");
        assert_eq!(counter.line_of_record_at(4), 3);
        assert_eq!(counter.line_of_record_at(2), 2);
        assert_eq!(counter.line_of_record_at(99), 4);
    }
}
