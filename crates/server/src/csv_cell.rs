//! Cells of the CSV files we hand out (連携設定, ログ表示, タイムカード). A spreadsheet runs a cell
//! that starts with `=`, `+`, `-` or `@` as a formula, and some also do after a leading TAB or
//! CR, so every cell we write goes through [`neutralise_formula`]: such a cell gets a leading
//! `'`, which the spreadsheet shows as text. Our own import takes the `'` off again.

use std::borrow::Cow;

/// The first characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell as a spreadsheet will show it as text, never run it.
pub fn neutralise_formula(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) { Cow::Owned(format!("'{cell}")) } else { Cow::Borrowed(cell) }
}

/// A cell of a file we wrote, read back: the `'` [`neutralise_formula`] added is taken off.
pub fn restore_formula(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => cell,
    }
}

/// A CSV file of `header` and `rows` as a download: CRLF lines, every cell through
/// [`neutralise_formula`], in CP932 like the manual's files, or in UTF-8 with a BOM when `utf8`
/// asks for it or a cell cannot be written in CP932. Returns the bytes and their charset.
pub fn download(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>, utf8: bool) -> (Vec<u8>, &'static str) {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    // Writing into memory cannot fail.
    let _ = writer.write_record(header);
    for row in rows {
        let _ = writer.write_record(row.iter().map(|c| neutralise_formula(c).into_owned()));
    }
    let text = String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default();
    match encoding_rs::SHIFT_JIS.encode(&text) {
        (bytes, _, false) if !utf8 => (bytes.into_owned(), "Shift_JIS"),
        _ => ([&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(), "utf-8"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_a_spreadsheet_would_run_is_written_as_text() {
        for cell in ["=1+2", "+81", "-1", "@SUM(A1)", "\t=1+2", "\r=1+2"] {
            assert_eq!(neutralise_formula(cell), format!("'{cell}"));
            assert_eq!(restore_formula(&neutralise_formula(cell)), cell);
        }
        assert_eq!(neutralise_formula("0012"), "0012");
        assert_eq!(restore_formula("'0012"), "'0012", "a quote the user wrote is kept");
    }
}
