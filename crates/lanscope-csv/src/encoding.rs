//! Telling UTF-8 from Shift_JIS (CP932).
//!
//! The LanScope manager runs on Japanese Windows and writes CP932 by default; exports that were
//! re-saved by other tools are usually UTF-8, often with a BOM. Neither carries a label, so the
//! choice is made from the bytes: a text that is valid UTF-8 is almost never meaningful CP932
//! with Japanese in it, while CP932 Japanese is almost never valid UTF-8.
//!
//! A byte that fits neither is an error, never a U+FFFD: a replaced character in a user name
//! would silently stop matching the employee it belongs to.

use std::borrow::Cow;

use encoding_rs::{DecoderResult, SHIFT_JIS};

use crate::ReadError;

/// The encoding a whole file is in, found while streaming through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileEncoding {
    Utf8,
    Cp932,
}

/// The name reported for UTF-8 input.
pub const UTF_8: &str = "UTF-8";
/// The name reported for Shift_JIS input; `encoding_rs`'s Shift_JIS is the WHATWG one, which is
/// Windows CP932 (NEC and IBM extensions such as `①`, `㈱` and `髙` included).
pub const SHIFT_JIS_NAME: &str = "Shift_JIS";

pub(crate) const UTF_8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes a LanScope CSV into text and names the encoding it was in.
///
/// A UTF-8 BOM means UTF-8 (the BOM is dropped); otherwise valid UTF-8 is UTF-8 and anything
/// else is read as CP932. Bytes invalid in the chosen encoding give [`ReadError::Encoding`]
/// with the offset of the first bad byte in `bytes`.
pub fn decode(bytes: &[u8]) -> Result<(Cow<'_, str>, &'static str), ReadError> {
    if let Some(rest) = bytes.strip_prefix(UTF_8_BOM) {
        return match std::str::from_utf8(rest) {
            Ok(text) => Ok((Cow::Borrowed(text), UTF_8)),
            Err(e) => Err(ReadError::Encoding { offset: UTF_8_BOM.len() + e.valid_up_to() }),
        };
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((Cow::Borrowed(text), UTF_8));
    }
    decode_cp932(bytes).map(|text| (Cow::Owned(text), SHIFT_JIS_NAME))
}

/// Decodes in an encoding decided beforehand for the whole file (see `segments`).
pub(crate) fn decode_as(bytes: &[u8], encoding: FileEncoding) -> Result<(Cow<'_, str>, &'static str), ReadError> {
    match encoding {
        FileEncoding::Utf8 => {
            let body = bytes.strip_prefix(UTF_8_BOM).unwrap_or(bytes);
            let skipped = bytes.len() - body.len();
            std::str::from_utf8(body)
                .map(|text| (Cow::Borrowed(text), UTF_8))
                .map_err(|e| ReadError::Encoding { offset: skipped + e.valid_up_to() })
        }
        FileEncoding::Cp932 => decode_cp932(bytes).map(|text| (Cow::Owned(text), SHIFT_JIS_NAME)),
    }
}

fn decode_cp932(bytes: &[u8]) -> Result<String, ReadError> {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let capacity = decoder.max_utf8_buffer_length_without_replacement(bytes.len()).unwrap_or(bytes.len());
    let mut text = String::with_capacity(capacity);
    let mut read_total = 0;
    loop {
        let rest = bytes.get(read_total..).unwrap_or_default();
        let (result, read) = decoder.decode_to_string_without_replacement(rest, &mut text, true);
        read_total += read;
        match result {
            DecoderResult::InputEmpty => return Ok(text),
            DecoderResult::OutputFull => text.reserve(rest.len().saturating_sub(read).max(16) * 3),
            DecoderResult::Malformed(length, consumed_after) => {
                let offset = read_total.saturating_sub(usize::from(consumed_after)).saturating_sub(usize::from(length));
                return Err(ReadError::Encoding { offset });
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
    fn a_bad_byte_after_a_utf8_bom_is_an_error_not_cp932() {
        assert_eq!(decode(b"\xEF\xBB\xBFab\xff"), Err(ReadError::Encoding { offset: 5 }));
    }
}
