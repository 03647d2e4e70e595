//! Properties over generated input: the reader never panics, and what a LanScope-shaped writer
//! produces reads back exactly, in either encoding.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use lanscope_csv::{Layout, LogRecord, ReadOptions, read_lanscope_csv};
use loginrec_rules::LogKind;
use proptest::prelude::*;

const EVENTS_HEADER: [&str; 7] =
    ["日時", "イベント日時", "ログオンユーザ名", "ログ種類", "サブマネージャno", "エージェントno", "コンピュータ名"];

proptest! {
    #[test]
    fn reading_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_lanscope_csv(&bytes, &ReadOptions::default());
    }

    #[test]
    fn reading_arbitrary_rows_under_a_valid_header_never_panics(
        header in prop::sample::select(vec![
            "日時,イベント日時,ログオンユーザ名,ログ種類,サブマネージャno,エージェントno,コンピュータ名",
            "日付,ログオンユーザ名,開始日時,終了日時",
            "ユーザ名,開始,終了",
        ]),
        body in "[0-9/:\\-T. ,\"\r\na-zSYTEM髙①]{0,300}",
        collection_start in 0u8..24,
    ) {
        let options = ReadOptions {
            collection_start: loginrec_rules::DayChangeTime::from_hm(collection_start, 0).unwrap(),
            ..ReadOptions::default()
        };
        let text = format!("{header}\r\n{body}");
        if let Ok(report) = read_lanscope_csv(text.as_bytes(), &options) {
            for error in &report.errors {
                prop_assert!(error.line >= 2);
            }
        }
    }

    #[test]
    fn written_events_read_back_equal_in_utf8_and_cp932(
        events in proptest::collection::vec(event(), 0..20),
        cp932 in any::<bool>(),
        crlf in any::<bool>(),
    ) {
        let mut writer = csv::WriterBuilder::new()
            .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
            .from_writer(Vec::new());
        writer.write_record(EVENTS_HEADER).unwrap();
        let tz = tokyo();
        let mut expected = Vec::new();
        // Lines move down by one per row plus any line breaks written inside quoted cells.
        let mut line = 2;
        for event in &events {
            let cells = [
                event.recorded_at.map(|t| local(t, &tz)).unwrap_or_default(),
                local(event.event_at, &tz),
                event.user_name.clone(),
                event.kind.lanscope_type().to_string(),
                event.sub_manager_no.clone().unwrap_or_default(),
                event.agent_no.clone().unwrap_or_default(),
                event.computer_name.clone().unwrap_or_default(),
            ];
            writer.write_record(&cells).unwrap();
            expected.push(LogRecord { line, ..event.clone() });
            line += 1 + cells.iter().map(|c| c.matches('\n').count() as u64).sum::<u64>();
        }
        let utf8 = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        let bytes = if cp932 {
            let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&utf8);
            prop_assert!(!unmappable);
            bytes.into_owned()
        } else {
            utf8.into_bytes()
        };

        let report = read_lanscope_csv(&bytes, &ReadOptions::default()).unwrap();
        prop_assert_eq!(report.layout, Layout::Events);
        prop_assert!(report.errors.is_empty(), "{:?}", report.errors);
        prop_assert_eq!(report.records, expected);
    }
}

proptest! {
    // Cheap, and its bad cases are a lead byte meeting a quote: many cases find them.
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// CP932 bytes are split before they are decoded; decoding the whole file first and reading
    /// its text must give the same rows and errors, and a byte CP932 does not have must reject
    /// the file at the offset a whole-file decoder names.
    #[test]
    fn cp932_read_as_bytes_reads_as_its_decoded_text(
        body in proptest::collection::vec(prop_oneof![
            4 => prop::sample::select(vec![
                &b","[..], b"\"", b"\r\n", b"\n", b"\r", b" ", b"1", b"2", b"SYSTEM", b"CORP\\",
                b"2024/02/09 9:03", b"2024/02/09 18:00:00",
                // 田 中 髙 ① ｱ (half-width), and 表 whose trail byte is a backslash.
                b"\x93\x63", b"\x92\x86", b"\xfb\xfc", b"\x87\x40", b"\xb1", b"\x95\x5c",
            ]).prop_map(<[u8]>::to_vec),
            // Now and then a byte of any kind: lone lead bytes, bytes CP932 does not have.
            1 => any::<u8>().prop_map(|b| vec![b]),
        ], 0..80),
    ) {
        let header = "日時,イベント日時,ログオンユーザ名,ログ種類,コンピュータ名\r\n";
        let mut bytes = encoding_rs::SHIFT_JIS.encode(header).0.into_owned();
        bytes.extend(body.concat());
        let options = ReadOptions::default();
        let read = read_lanscope_csv(&bytes, &options);
        match encoding_rs::SHIFT_JIS.decode_without_bom_handling_and_without_replacement(&bytes) {
            None => {
                let mut decoder = encoding_rs::SHIFT_JIS.new_decoder_without_bom_handling();
                let mut sink = String::with_capacity(bytes.len() * 3 + 16);
                let (result, read_up_to) = decoder.decode_to_string_without_replacement(&bytes, &mut sink, true);
                let encoding_rs::DecoderResult::Malformed(length, after) = result else {
                    panic!("decoding failed without a malformed sequence: {result:?}")
                };
                let offset = read_up_to - usize::from(after) - usize::from(length);
                prop_assert_eq!(read, Err(lanscope_csv::ReadError::Encoding { offset }));
            }
            Some(text) => {
                let mut expected = read_lanscope_csv(text.as_bytes(), &options);
                if let Ok(report) = &mut expected {
                    report.encoding = "Shift_JIS";
                }
                prop_assert_eq!(read, expected);
            }
        }
    }
}

fn tokyo() -> TimeZone {
    TimeZone::get("Asia/Tokyo").unwrap()
}

/// How the manager writes a time, with milliseconds so that they round-trip too.
fn local(at: Timestamp, tz: &TimeZone) -> String {
    tz.to_datetime(at).strftime("%Y/%m/%d %-H:%M:%S%.3f").to_string()
}

/// Text that survives CP932 both ways: kana, common kanji, the NEC/IBM extensions LanScope
/// users actually have in names, and CSV-significant punctuation.
fn text(max: usize) -> impl Strategy<Value = String> {
    let pattern = format!("[a-zA-Z0-9\\\\ ,\"\\n\\-_.()あいうアイウ田中髙橋﨑①②㈱]{{1,{max}}}");
    proptest::string::string_regex(&pattern).unwrap().prop_filter_map("trimmed, non-empty, not SYSTEM", |s: String| {
        let trimmed = s.trim();
        (!trimmed.is_empty() && !trimmed.eq_ignore_ascii_case("SYSTEM")).then(|| trimmed.to_string())
    })
}

fn user_name() -> impl Strategy<Value = String> {
    // No line breaks in a Windows account name.
    text(12).prop_map(|s| s.replace('\n', "_"))
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    // 2000-01-01 .. 2100-01-01, whole milliseconds.
    (946_684_800_000i64..4_102_444_800_000).prop_map(|ms| Timestamp::from_millisecond(ms).unwrap())
}

fn event() -> impl Strategy<Value = LogRecord> {
    (
        user_name(),
        prop_oneof![Just(LogKind::Logon), Just(LogKind::Logoff)],
        timestamp(),
        proptest::option::of(timestamp()),
        proptest::option::of("[0-9]{1,3}"),
        proptest::option::of("[0-9]{1,5}"),
        proptest::option::of(text(20)),
    )
        .prop_map(|(user_name, kind, event_at, recorded_at, sub_manager_no, agent_no, computer_name)| LogRecord {
            line: 0,
            user_name,
            kind,
            event_at,
            recorded_at,
            sub_manager_no,
            agent_no,
            computer_name,
        })
}
