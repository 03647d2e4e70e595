//! Reading a file in segments gives exactly what reading it whole gives: the same records,
//! the same errors, the same line numbers, whatever the segment size; for a damaged UTF-8 file
//! too, whose damaged rows (or damaged header) are reported alike.

use lanscope_csv::{
    EncodingSniffer, FileEncoding, ReadOptions, ReadReport, SegmentsError, read_in_segments, read_lanscope_csv,
};
use proptest::prelude::*;

fn segmented(bytes: &[u8], segment: usize) -> ReadReport {
    segmented_or_error(bytes, segment, usize::MAX).expect("segments")
}

/// A file that gives at most `step` bytes a read, as a disk or a network share may: the state
/// of the record scan is carried from one read to the next.
struct Trickle<'a> {
    bytes: &'a [u8],
    step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.bytes.len().min(buf.len()).min(self.step);
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// The segments' reports summed into one, or the file's error as its message; the file is read
/// at most `step` bytes at a time.
fn segmented_or_error(bytes: &[u8], segment: usize, step: usize) -> Result<ReadReport, String> {
    let mut sniffer = EncodingSniffer::default();
    for chunk in bytes.chunks(7) {
        sniffer.feed(chunk);
    }
    let encoding = sniffer.finish();
    let options = ReadOptions::default();
    let mut all: Option<ReadReport> = None;
    read_in_segments::<_, ()>(Trickle { bytes, step }, encoding, &options, segment, |report| {
        match &mut all {
            None => all = Some(report),
            Some(a) => {
                a.records.extend(report.records);
                a.errors.extend(report.errors);
                a.skipped_system += report.skipped_system;
                a.skipped_other_types += report.skipped_other_types;
            }
        }
        Ok(())
    })
    .map_err(|e| match e {
        SegmentsError::File(e) => e.to_string(),
        other => format!("{other:?}"),
    })?;
    Ok(all.expect("at least one segment"))
}

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9]{0,8}",
        Just("髙橋①㈱".to_string()),
        Just("\"quoted, with comma\"".to_string()),
        Just("\"multi\r\nline\"".to_string()),
        Just("\"a \"\"quote\"\" inside\"".to_string()),
        Just("\"a \"\"quote\"\"\r\nthen a line break\"".to_string()),
        Just("stray\"quote".to_string()),
    ]
}

fn row() -> impl Strategy<Value = String> {
    (
        0u8..30,
        0u8..60,
        prop_oneof![Just("tarou".to_string()), Just("SYSTEM".to_string()), Just("CORP\\hanako".to_string()), cell()],
        prop_oneof![Just("1"), Just("2"), Just("3"), Just("x")],
        cell(),
    )
        .prop_map(|(h, m, user, kind, pc)| {
            let time = if h < 24 { format!("2024/02/09 {h:02}:{m:02}:00") } else { "2024/13/40 99:99".to_string() };
            format!("{time},{time},{user},{kind},1,7,{pc}")
        })
}

fn file() -> impl Strategy<Value = (String, bool, bool)> {
    (proptest::collection::vec(prop_oneof![8 => row(), 1 => Just(String::new())], 0..40), any::<bool>(), any::<bool>())
        .prop_map(|(rows, crlf, trailing)| {
            let nl = if crlf { "\r\n" } else { "\n" };
            let mut text = format!(
                "日時,イベント日時,ログオンユーザ名,ログ種類,サブマネージャno,エージェントno,コンピュータ名{nl}"
            );
            text.push_str(&rows.join(nl));
            if trailing {
                text.push_str(nl);
            }
            (text, crlf, trailing)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn segments_of_any_size_read_like_the_whole_file(
        (text, _, _) in file(),
        segment in 1usize..300,
        cp932 in any::<bool>(),
        bom in any::<bool>(),
        strays in proptest::collection::vec((any::<prop::sample::Index>(), 0x80u8..=0xFF), 0..=3),
        step in prop_oneof![Just(usize::MAX), 1usize..24],
    ) {
        let mut bytes = if cp932 { encoding_rs::SHIFT_JIS.encode(&text).0.into_owned() } else { text.into_bytes() };
        if !cp932 {
            // Stray bytes in UTF-8, each in front of a separator (the header's included): each is
            // one sequence that is not UTF-8, and the header's 40 characters keep the file UTF-8.
            let commas: Vec<usize> = bytes.iter().enumerate().filter(|(_, b)| **b == b',').map(|(i, _)| i).collect();
            let mut at: Vec<usize> = strays.iter().map(|(i, _)| commas[i.index(commas.len())]).collect();
            at.sort_unstable_by(|a, b| b.cmp(a));
            at.dedup();
            for (position, (_, byte)) in at.iter().zip(&strays) {
                bytes.insert(*position, *byte);
            }
        }
        if bom && !cp932 {
            bytes.splice(0..0, [0xEF, 0xBB, 0xBF]);
        }
        let whole = read_lanscope_csv(&bytes, &ReadOptions::default()).map_err(|e| e.to_string());
        prop_assert!(cp932 || strays.is_empty() || whole.as_ref().map_or(true, |r| r.encoding == "UTF-8"));
        let pieces = segmented_or_error(&bytes, segment, step);
        prop_assert_eq!(pieces, whole);
    }
}

#[test]
fn cp932_that_looks_like_utf8_in_one_piece_is_still_read_as_cp932() {
    let text = "日時,イベント日時,ログオンユーザ名,ログ種類\r\n2024/02/09 09:00:00,2024/02/09 09:00:00,tarou,1\r\n2024/02/09 09:00:00,2024/02/09 09:00:00,髙橋,1\r\n";
    let bytes = encoding_rs::SHIFT_JIS.encode(text).0.into_owned();
    let mut sniffer = EncodingSniffer::default();
    sniffer.feed(&bytes);
    assert_eq!(sniffer.finish(), FileEncoding::Cp932);
    let pieces = segmented(&bytes, 1);
    assert_eq!(pieces.records[1].user_name, "髙橋");
    assert_eq!(pieces.records[1].line, 3);
}

#[test]
fn a_header_only_file_reads_as_a_file_without_records() {
    let bytes = "日時,イベント日時,ログオンユーザ名,ログ種類\r\n".as_bytes();
    assert_eq!(segmented(bytes, 10), read_lanscope_csv(bytes, &ReadOptions::default()).unwrap());
}
