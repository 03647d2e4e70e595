//! Rows of a UTF-8 file that hold bytes that are not UTF-8.
//!
//! Such a row is never read: its cell would carry a U+FFFD (or, had the file been read as CP932,
//! mojibake) into a user name that then matches nobody. It becomes one [`RowError`] naming the
//! field, the bytes and their column, in Japanese and English, and every other row of the file is
//! read as usual. The message holds no position that depends on where the file was cut into
//! segments (the row's line is shifted like any other row error), so a file read in pieces
//! reports exactly what it reports read whole.

use std::iter::Peekable;
use std::slice::Iter;

use crate::RowError;
use crate::encoding::Damage;
use crate::header::Columns;
use crate::records::Record;
use crate::segments::Scan;

/// The first damage lying before `end` (a byte offset in the text), after moving past all of
/// it: the damage of the record that ends there.
pub(crate) fn take_before<'d>(damage: &mut Peekable<Iter<'d, Damage>>, end: usize) -> Option<&'d Damage> {
    let first = damage.next_if(|d| d.at < end)?;
    while damage.next_if(|d| d.at < end).is_some() {}
    Some(first)
}

/// The error for a row of `text` starting at byte `start` (as csv reports it) on `line`.
pub(crate) fn row_error(
    text: &str,
    record: Record<'_>,
    start: usize,
    line: u64,
    damage: &Damage,
    columns: &Columns,
) -> RowError {
    let bytes = text.as_bytes();
    // csv may report a record's start in front of the line break that ends the previous one.
    let mut start = start.min(damage.at);
    while matches!(bytes.get(start), Some(b'\r' | b'\n')) && start < damage.at {
        start += 1;
    }
    let in_row = bytes.get(start..damage.at).unwrap_or_default();
    let field = field_index(in_row);
    let lines_into_row = count_line_breaks(in_row);
    let column = column_at(text, start, damage.at);
    let shown = hex_bytes(&damage.bytes);
    let reason = if lines_into_row == 0 {
        format!(
            "UTF-8 として読めないバイト {shown} があります ({column} 文字目) / a byte that is not UTF-8: {shown} at column {column}"
        )
    } else {
        let nth = lines_into_row + 1;
        format!(
            "UTF-8 として読めないバイト {shown} があります (この行から数えて {nth} 行目の {column} 文字目) / \
             a byte that is not UTF-8: {shown} at line {nth} of the row, column {column}"
        )
    };
    RowError {
        line,
        field: columns.header_at(field),
        value: record.get(field).map(str::trim).unwrap_or_default().to_string(),
        reason,
    }
}

/// Which field of a record the end of `in_row` (the record's text up to a point) is in.
fn field_index(in_row: &[u8]) -> usize {
    let mut scan = Scan::FieldStart;
    let mut field = 0;
    for &byte in in_row {
        let (next, _) = scan.step(byte);
        if byte == b',' && next == Scan::FieldStart {
            field += 1;
        }
        scan = next;
    }
    field
}

/// Line breaks as the reader counts them: `\n`, `\r\n` and a lone `\r` are one each.
pub(crate) fn count_line_breaks(bytes: &[u8]) -> u64 {
    let mut breaks = 0;
    for (i, byte) in bytes.iter().enumerate() {
        match byte {
            b'\n' => breaks += 1,
            b'\r' if bytes.get(i + 1) != Some(&b'\n') => breaks += 1,
            _ => {}
        }
    }
    breaks
}

/// The 1-based column, in characters, of byte `at` of `text` on its line; the line is looked for
/// no further back than `floor`.
pub(crate) fn column_at(text: &str, floor: usize, at: usize) -> u64 {
    let bytes = text.as_bytes();
    let line_start = bytes
        .get(floor..at)
        .and_then(|before| before.iter().rposition(|b| matches!(b, b'\r' | b'\n')))
        .map_or(floor, |i| floor + i + 1);
    text.get(line_start..at).map_or(0, |before| before.chars().count() as u64) + 1
}

/// `0xE6 0x9C`
pub(crate) fn hex_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("0x{b:02X}")).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_is_found_by_separators_outside_quotes() {
        assert_eq!(field_index(b""), 0);
        assert_eq!(field_index(b"a,b,"), 2);
        assert_eq!(field_index(b"\"a,b\",c"), 1);
        assert_eq!(field_index(b"\"a \"\"x,y\"\" b\",c,"), 2);
        assert_eq!(field_index(b"\"multi\r\nline,\",x"), 1);
    }

    #[test]
    fn columns_count_characters_from_the_last_line_break() {
        let text = "ab\r\n日本\u{fffd}x";
        let at = text.find('\u{fffd}').unwrap();
        assert_eq!(column_at(text, 0, at), 3);
        assert_eq!(column_at(text, 0, 0), 1);
        assert_eq!(column_at("a\rbc", 0, 3), 2);
    }

    #[test]
    fn line_breaks_count_crlf_once() {
        assert_eq!(count_line_breaks(b"a\r\nb\nc\rd"), 3);
        assert_eq!(count_line_breaks(b"\r"), 1);
    }

    #[test]
    fn hex_bytes_are_upper_case_and_spaced() {
        assert_eq!(hex_bytes(&[0xE6, 0x9C]), "0xE6 0x9C");
        assert_eq!(hex_bytes(&[0x0F]), "0x0F");
    }
}
