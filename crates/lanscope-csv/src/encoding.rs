//! Telling UTF-8 from Shift_JIS (CP932), including UTF-8 that has been damaged.
//!
//! The LanScope manager runs on Japanese Windows and writes CP932 by default; exports that were
//! re-saved by other tools are usually UTF-8, often with a BOM. Neither carries a label, so the
//! choice is made from the bytes: a text that is valid UTF-8 is almost never meaningful CP932
//! with Japanese in it, while CP932 Japanese is almost never valid UTF-8.
//!
//! A UTF-8 file with a stray byte (a byte lost in a copy, a row pasted from a CP932 tool) is no
//! longer valid UTF-8, yet it must not be read as CP932: that turns every Japanese name in it
//! into mojibake, and an employee whose name no longer matches gets no punch while nothing says
//! so. The bytes tell the two apart. In damaged UTF-8 nearly every non-ASCII byte still belongs
//! to a valid multi-byte UTF-8 character and the invalid sequences are few; in CP932 Japanese the
//! invalid sequences are the majority, and a valid UTF-8 character only appears where two CP932
//! characters happen to line up. So a file is UTF-8 when it has a BOM, when it is valid UTF-8, or
//! when its valid multi-byte characters outnumber its invalid sequences
//! [`DAMAGED_UTF8_RATIO`] to one; otherwise it is CP932.
//!
//! What must stay true:
//! - The judgement depends on the bytes only, never on how they are cut into chunks: the
//!   whole-file path and the large-file path ([`crate::segments`]) decide alike.
//! - A byte that fits neither encoding never becomes a silent U+FFFD. In CP932 it makes the file
//!   unreadable ([`ReadError::Encoding`]); in a UTF-8 file it is recorded as a [`Damage`], and the
//!   reader reports the row holding it and skips that row (or refuses the file when it is the
//!   header), so the user sees every row that was not read.

use std::borrow::Cow;

use encoding_rs::{DecoderResult, SHIFT_JIS};

use crate::ReadError;

/// The encoding a whole file is in, found while streaming through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileEncoding {
    /// UTF-8, possibly with a few sequences that are not UTF-8 (each one is reported).
    Utf8,
    Cp932,
}

/// The name reported for UTF-8 input.
pub const UTF_8: &str = "UTF-8";
/// The name reported for Shift_JIS input; `encoding_rs`'s Shift_JIS is the WHATWG one, which is
/// Windows CP932 (NEC and IBM extensions such as `①`, `㈱` and `髙` included).
pub const SHIFT_JIS_NAME: &str = "Shift_JIS";

/// How many valid multi-byte UTF-8 characters a file must hold per invalid sequence to be read as
/// damaged UTF-8 rather than as CP932.
///
/// CP932 Japanese stays far below. Files with an English header and one to three rows of names
/// drawn at random from every CP932 kanji, kana (half-width included) and symbol reached 6 once
/// in a million; none of 200,000 files of up to 40 rows passed 3; the CP932 test fixtures stay at
/// 0.1. A damaged UTF-8 LanScope export stays far above: its Japanese header alone holds 40 such
/// characters.
pub const DAMAGED_UTF8_RATIO: u64 = 10;

pub(crate) const UTF_8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decides a file's encoding from its bytes, fed in chunks of any size, by the rule [`decode`]
/// states. Feeding the same bytes in any cuts gives the same answer.
#[derive(Debug, Default)]
pub struct EncodingSniffer {
    start: Vec<u8>,
    /// The start of a character the last chunk ended in the middle of.
    carry: Vec<u8>,
    /// Valid UTF-8 characters of two bytes or more.
    multibyte: u64,
    /// Maximal sequences that are not UTF-8 (as `std::str::from_utf8` delimits them).
    invalid: u64,
}

impl EncodingSniffer {
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.start.len() < UTF_8_BOM.len() {
            let take = (UTF_8_BOM.len() - self.start.len()).min(chunk.len());
            self.start.extend_from_slice(&chunk[..take]);
        }
        if self.carry.is_empty() {
            self.scan(chunk);
        } else {
            let mut data = std::mem::take(&mut self.carry);
            data.extend_from_slice(chunk);
            self.scan(&data);
        }
    }

    fn scan(&mut self, data: &[u8]) {
        // Counted by hand rather than by calling `from_utf8` again after each invalid sequence:
        // CP932 Japanese has one every few bytes, and each call cost more than the bytes it read.
        let mut at = 0;
        while at < data.len() {
            at += ascii_run(&data[at..]);
            let Some(rest) = data.get(at..).filter(|rest| !rest.is_empty()) else { return };
            match utf8_sequence(rest) {
                Utf8Sequence::Char(length) => {
                    self.multibyte += 1;
                    at += length;
                }
                Utf8Sequence::Invalid(length) => {
                    self.invalid += 1;
                    at += length;
                }
                // An incomplete character at the end may be completed by the next chunk.
                Utf8Sequence::Incomplete => {
                    self.carry = rest.to_vec();
                    return;
                }
            }
        }
    }

    pub fn finish(self) -> FileEncoding {
        // A character still incomplete at the end of the file is one more invalid sequence.
        let invalid = self.invalid + u64::from(!self.carry.is_empty());
        let bom = self.start.as_slice() == UTF_8_BOM;
        if bom || invalid == 0 || self.multibyte >= DAMAGED_UTF8_RATIO.saturating_mul(invalid) {
            FileEncoding::Utf8
        } else {
            FileEncoding::Cp932
        }
    }
}

/// The number of ASCII bytes `bytes` starts with, taken eight at a time where it can.
fn ascii_run(bytes: &[u8]) -> usize {
    let mut run = 0;
    while let Some(word) = bytes.get(run..run + 8).and_then(|word| <[u8; 8]>::try_from(word).ok()) {
        if u64::from_ne_bytes(word) & 0x8080_8080_8080_8080 != 0 {
            break;
        }
        run += 8;
    }
    run + bytes[run..].iter().take_while(|b| b.is_ascii()).count()
}

/// What a non-ASCII byte starts in UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Utf8Sequence {
    /// A character of this many bytes.
    Char(usize),
    /// A sequence that is not UTF-8, of this many bytes: the longest start of a character
    /// there is (at least one byte), as `std::str::from_utf8`'s `error_len` delimits it.
    Invalid(usize),
    /// A start of a character cut off by the end of `bytes`.
    Incomplete,
}

/// The sequence at the start of `bytes`, which starts with a byte from 0x80 up.
fn utf8_sequence(bytes: &[u8]) -> Utf8Sequence {
    let lead = bytes[0];
    // The range the second byte must be in, and the length of the character.
    let (second, length) = match lead {
        0xC2..=0xDF => (0x80..=0xBF, 2),
        0xE0 => (0xA0..=0xBF, 3),
        0xE1..=0xEC | 0xEE..=0xEF => (0x80..=0xBF, 3),
        0xED => (0x80..=0x9F, 3),
        0xF0 => (0x90..=0xBF, 4),
        0xF1..=0xF3 => (0x80..=0xBF, 4),
        0xF4 => (0x80..=0x8F, 4),
        _ => return Utf8Sequence::Invalid(1),
    };
    for i in 1..length {
        let Some(&byte) = bytes.get(i) else { return Utf8Sequence::Incomplete };
        let fits = if i == 1 { second.contains(&byte) } else { (0x80..=0xBF).contains(&byte) };
        if !fits {
            return Utf8Sequence::Invalid(i);
        }
    }
    Utf8Sequence::Char(length)
}

/// The encoding of a whole file held in memory.
pub(crate) fn sniff(bytes: &[u8]) -> FileEncoding {
    let mut sniffer = EncodingSniffer::default();
    sniffer.feed(bytes);
    sniffer.finish()
}

/// A sequence that is not UTF-8 in a file read as UTF-8; it stands in the decoded text as one
/// U+FFFD, which the reader never lets through as data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Damage {
    /// Byte offset of its U+FFFD in the decoded text (which has no BOM).
    pub(crate) at: usize,
    /// Byte offset of the sequence in the bytes that were decoded (BOM included).
    pub(crate) offset: usize,
    /// The sequence as found, at most three bytes.
    pub(crate) bytes: Vec<u8>,
}

impl Damage {
    /// The whole-file error for this damage, with its line and column in `text`.
    pub(crate) fn to_error(&self, text: &str) -> ReadError {
        let before = text.as_bytes().get(..self.at).unwrap_or_default();
        let line = 1 + crate::damage::count_line_breaks(before);
        let column = crate::damage::column_at(text, 0, self.at);
        ReadError::DamagedUtf8 { line, column, offset: self.offset, bytes: self.bytes.clone() }
    }
}

/// A file's text, the name of the encoding it was in, and where it was not UTF-8.
#[derive(Debug)]
pub(crate) struct Decoded<'a> {
    pub(crate) text: Cow<'a, str>,
    pub(crate) encoding: &'static str,
    /// In text order; always empty for CP932.
    pub(crate) damage: Vec<Damage>,
}

/// Decodes a LanScope CSV (or any CSV import) into text and names the encoding it was in.
///
/// A file is UTF-8 when it starts with a UTF-8 BOM, when it is valid UTF-8, or when its valid
/// multi-byte UTF-8 characters outnumber its sequences that are not UTF-8 [`DAMAGED_UTF8_RATIO`]
/// to one (UTF-8 with a few damaged bytes); otherwise it is CP932. Bytes invalid in CP932 give
/// [`ReadError::Encoding`] with the offset of the first bad byte in `bytes`; bytes that are not
/// UTF-8 in a file judged to be UTF-8 give [`ReadError::DamagedUtf8`] for the first of them. To
/// read the rest of such a file, see [`crate::read_lanscope_csv`], which skips only the rows
/// holding them.
pub fn decode(bytes: &[u8]) -> Result<(Cow<'_, str>, &'static str), ReadError> {
    let decoded = decode_whole(bytes)?;
    match decoded.damage.first() {
        Some(damage) => Err(damage.to_error(&decoded.text)),
        None => Ok((decoded.text, decoded.encoding)),
    }
}

/// Decodes a whole file held in memory by the rule of [`decode`], keeping its damage. Valid
/// UTF-8 (the usual re-saved file) is checked once and borrowed.
fn decode_whole(bytes: &[u8]) -> Result<Decoded<'_>, ReadError> {
    match readable_whole(bytes) {
        Readable::Text(decoded) => Ok(decoded),
        Readable::Cp932(bytes) => {
            let mut text = String::new();
            decode_cp932_onto(bytes, &mut text).map_err(|offset| ReadError::Encoding { offset })?;
            Ok(Decoded { text: Cow::Owned(text), encoding: SHIFT_JIS_NAME, damage: Vec::new() })
        }
    }
}

/// What the reader splits into records: a file's text when it is UTF-8, its bytes when it is
/// CP932 (see [`crate::records`] for why those are not decoded first).
#[derive(Debug)]
pub(crate) enum Readable<'a> {
    Text(Decoded<'a>),
    Cp932(&'a [u8]),
}

/// A whole file held in memory, ready to read, its encoding decided by the rule of [`decode`].
pub(crate) fn readable_whole(bytes: &[u8]) -> Readable<'_> {
    let body = bytes.strip_prefix(UTF_8_BOM).unwrap_or(bytes);
    match std::str::from_utf8(body) {
        Ok(text) => Readable::Text(Decoded { text: Cow::Borrowed(text), encoding: UTF_8, damage: Vec::new() }),
        Err(_) => readable_as(bytes, sniff(bytes)),
    }
}

/// Bytes ready to read in an encoding decided beforehand for the whole file (see `segments`).
pub(crate) fn readable_as(bytes: &[u8], encoding: FileEncoding) -> Readable<'_> {
    match encoding {
        FileEncoding::Utf8 => Readable::Text(decode_utf8(bytes)),
        FileEncoding::Cp932 => Readable::Cp932(bytes),
    }
}

/// The offset of the first byte of `bytes` that CP932 does not have, if there is one.
pub(crate) fn cp932_error_offset(bytes: &[u8]) -> Option<usize> {
    decode_cp932_onto(bytes, &mut String::new()).err()
}

/// UTF-8 decoded leniently: each sequence that is not UTF-8 becomes a [`Damage`].
fn decode_utf8(bytes: &[u8]) -> Decoded<'_> {
    let body = bytes.strip_prefix(UTF_8_BOM).unwrap_or(bytes);
    let skipped = bytes.len() - body.len();
    if let Ok(text) = std::str::from_utf8(body) {
        return Decoded { text: Cow::Borrowed(text), encoding: UTF_8, damage: Vec::new() };
    }
    let mut text = String::with_capacity(body.len() + 16);
    let mut damage = Vec::new();
    let mut offset = skipped;
    for chunk in body.utf8_chunks() {
        text.push_str(chunk.valid());
        offset += chunk.valid().len();
        let invalid = chunk.invalid();
        if !invalid.is_empty() {
            damage.push(Damage { at: text.len(), offset, bytes: invalid.to_vec() });
            text.push(char::REPLACEMENT_CHARACTER);
            offset += invalid.len();
        }
    }
    Decoded { text: Cow::Owned(text), encoding: UTF_8, damage }
}

/// Decodes CP932 bytes onto the end of `into`; the offset in `bytes` of the first byte CP932
/// does not have, if there is one.
pub(crate) fn decode_cp932_onto(bytes: &[u8], into: &mut String) -> Result<(), usize> {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let mut read_total = 0;
    loop {
        let rest = bytes.get(read_total..).unwrap_or_default();
        into.reserve(decoder.max_utf8_buffer_length_without_replacement(rest.len()).unwrap_or(rest.len() * 3));
        let (result, read) = decoder.decode_to_string_without_replacement(rest, into, true);
        read_total += read;
        match result {
            DecoderResult::InputEmpty => return Ok(()),
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(length, consumed_after) => {
                return Err(read_total.saturating_sub(usize::from(consumed_after)).saturating_sub(usize::from(length)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ascii_is_utf8_and_borrowed() {
        let (text, encoding) = decode(b"a,b\r\n").unwrap();
        assert_eq!(text, "a,b\r\n");
        assert_eq!(encoding, "UTF-8");
        assert!(matches!(text, Cow::Borrowed(_)));
    }

    #[test]
    fn a_utf8_bom_is_stripped() {
        let (text, encoding) = decode("\u{feff}日時".as_bytes()).unwrap();
        assert_eq!(text, "日時");
        assert_eq!(encoding, "UTF-8");
    }

    #[test]
    fn cp932_specific_characters_decode() {
        // 髙橋 ① ㈱ in CP932: 髙 is an IBM extension, ① and ㈱ are NEC special characters.
        let bytes = b"\xfb\xfc\x8b\xb4,\x87\x40,\x87\x8a";
        let (text, encoding) = decode(bytes).unwrap();
        assert_eq!(text, "髙橋,①,㈱");
        assert_eq!(encoding, "Shift_JIS");
    }

    #[test]
    fn a_yen_backslash_in_cp932_stays_a_backslash() {
        let (text, _) = decode(b"CORP\\\x93\x63\x92\x86").unwrap();
        assert_eq!(text, "CORP\\田中");
    }

    #[test]
    fn bytes_invalid_in_both_encodings_report_the_offset_of_the_first_bad_one() {
        assert_eq!(decode(b"abc,\x82\xff\r\n"), Err(ReadError::Encoding { offset: 4 }));
        assert_eq!(decode(b"\x93\x63\x92\x86\x82\xff"), Err(ReadError::Encoding { offset: 4 }));
        assert_eq!(decode(b"\xff"), Err(ReadError::Encoding { offset: 0 }));
        // A lead byte at the very end has no trail byte.
        assert_eq!(decode(b"ab\x93"), Err(ReadError::Encoding { offset: 2 }));
    }

    #[test]
    fn a_bad_byte_after_a_utf8_bom_is_damaged_utf8_not_cp932() {
        assert_eq!(
            decode(b"\xEF\xBB\xBFab\xff"),
            Err(ReadError::DamagedUtf8 { line: 1, column: 3, offset: 5, bytes: vec![0xFF] })
        );
    }

    #[test]
    fn utf8_japanese_with_one_stray_byte_is_damaged_utf8_not_cp932() {
        let mut bytes = "ユーザ名,日時\r\n佐藤花子,2024/02/09\r\n".as_bytes().to_vec();
        // After 佐藤 on line 2.
        let at = "ユーザ名,日時\r\n佐藤".len();
        bytes.insert(at, 0xFF);
        assert_eq!(decode(&bytes), Err(ReadError::DamagedUtf8 { line: 2, column: 3, offset: at, bytes: vec![0xFF] }));
    }

    #[test]
    fn the_sniffer_counts_characters_and_invalid_sequences_across_chunk_cuts() {
        // 日 (3 bytes) cut after each of its bytes, then a stray 0xFF, then 本 cut in two.
        let bytes = "a日".bytes().chain([0xFF]).chain("本b".bytes()).collect::<Vec<u8>>();
        for cut in 0..=bytes.len() {
            let (a, b) = bytes.split_at(cut);
            let mut sniffer = EncodingSniffer::default();
            sniffer.feed(a);
            sniffer.feed(b);
            assert_eq!((sniffer.multibyte, sniffer.invalid, sniffer.carry.len()), (2, 1, 0), "cut at {cut}");
        }
    }

    /// The counts as `std::str::from_utf8` delimits valid text and invalid sequences.
    fn counted_by_std(data: &[u8]) -> (u64, u64, usize) {
        let (mut multibyte, mut invalid) = (0, 0);
        let mut rest = data;
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    return (multibyte + valid.chars().filter(|c| c.len_utf8() > 1).count() as u64, invalid, 0);
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    let valid = std::str::from_utf8(valid).unwrap();
                    multibyte += valid.chars().filter(|c| c.len_utf8() > 1).count() as u64;
                    match e.error_len() {
                        Some(length) => {
                            invalid += 1;
                            rest = &after[length..];
                        }
                        None => return (multibyte, invalid, after.len()),
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn the_sniffer_counts_what_std_delimits(
            data in proptest::collection::vec(proptest::prop_oneof![
                proptest::prelude::any::<u8>(),
                0x80u8..=0xBF,
                0xC0u8..,
            ], 0..64),
        ) {
            let mut sniffer = EncodingSniffer::default();
            sniffer.feed(&data);
            proptest::prop_assert_eq!((sniffer.multibyte, sniffer.invalid, sniffer.carry.len()), counted_by_std(&data));
        }
    }

    #[test]
    fn every_two_and_three_byte_start_is_counted_as_std_delimits_it() {
        for first in 0x80u8..=0xFF {
            for second in 0u8..=0xFF {
                for third in [0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF] {
                    for data in [&[first][..], &[first, second], &[first, second, third], &[first, second, third, 0x80]]
                    {
                        let mut sniffer = EncodingSniffer::default();
                        sniffer.feed(data);
                        let counted = (sniffer.multibyte, sniffer.invalid, sniffer.carry.len());
                        assert_eq!(counted, counted_by_std(data), "{data:02X?}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_character_left_incomplete_at_the_end_counts_as_invalid() {
        let mut bytes = "日時".repeat(DAMAGED_UTF8_RATIO as usize).into_bytes();
        bytes.extend_from_slice(&"本".as_bytes()[..2]);
        let mut sniffer = EncodingSniffer::default();
        sniffer.feed(&bytes);
        assert_eq!(sniffer.finish(), FileEncoding::Utf8);
        let decoded = decode_utf8(&bytes);
        assert_eq!(
            decoded.damage,
            vec![Damage { at: bytes.len() - 2, offset: bytes.len() - 2, bytes: vec![0xE6, 0x9C] }]
        );
    }

    #[test]
    fn too_few_utf8_characters_per_invalid_sequence_is_cp932() {
        // Nine valid characters and one invalid sequence: below the ratio.
        let mut bytes = "日".repeat(DAMAGED_UTF8_RATIO as usize - 1).into_bytes();
        bytes.push(0xFF);
        assert_eq!(sniff(&bytes), FileEncoding::Cp932);
        bytes.splice(0..0, "日".bytes());
        assert_eq!(sniff(&bytes), FileEncoding::Utf8);
    }

    #[test]
    fn damage_records_where_each_bad_sequence_is_in_the_text_and_in_the_bytes() {
        let bytes = b"\xEF\xBB\xBFa\xff\xfeb\xe6\x9c,";
        let decoded = decode_utf8(bytes);
        assert_eq!(decoded.text, "a\u{fffd}\u{fffd}b\u{fffd},");
        assert_eq!(
            decoded.damage,
            vec![
                Damage { at: 1, offset: 4, bytes: vec![0xFF] },
                Damage { at: 4, offset: 5, bytes: vec![0xFE] },
                Damage { at: 8, offset: 7, bytes: vec![0xE6, 0x9C] },
            ]
        );
    }
}
