//! Reading a ~20 MB events-layout LanScope file: `read_lanscope_csv` (records collected) and
//! `read_lanscope_rows` (rows handed over, as the connector reads) on UTF-8 and CP932 bytes,
//! against the raw `csv` crate splitting the same UTF-8 bytes into `StringRecord`s (the floor:
//! no decoding, no date parsing, no records built).
//!
//! `cargo bench -p lanscope-csv` prints the time and throughput of each; the ratio to the
//! baseline is the figure to watch, since absolute times vary from machine to machine.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use lanscope_csv::{ReadOptions, read_lanscope_csv, read_lanscope_rows};

const HEADER: &str = "日時,イベント日時,ログオンユーザ名,ログ種類,サブマネージャno,エージェントno,コンピュータ名";
const TARGET_BYTES: usize = 20 * 1024 * 1024;

/// A deterministic events-layout file of at least [`TARGET_BYTES`]: users log on in the morning
/// and off in the evening, over as many days as it takes; every 50th row is `SYSTEM` and every
/// 97th is another ログ種類, as real exports have. Returns the text and the number of rows that
/// must become records.
fn events_file() -> (String, usize) {
    let mut text = String::with_capacity(TARGET_BYTES + 4096);
    text.push_str(HEADER);
    text.push_str("\r\n");
    let mut records = 0;
    let mut n: u64 = 0;
    'days: for day in 0u64.. {
        let (month, date) = (1 + (day / 28) % 12, 1 + day % 28);
        for user in 0..1000u64 {
            for (kind, hour) in [(1, 8 + user % 3), (2, 17 + user % 4)] {
                if text.len() >= TARGET_BYTES {
                    break 'days;
                }
                n += 1;
                let (minute, second) = ((n * 7) % 60, (n * 13) % 60);
                let name = if matches!(n % 50, 0) { "SYSTEM".to_string() } else { format!("CORP\\user{user:05}") };
                let log_type = if matches!(n % 97, 0) { 5 } else { kind };
                text.push_str(&format!(
                    "2024/{month:02}/{date:02} {hour:02}:{:02}:{second:02},2024/{month:02}/{date:02} {hour:02}:{minute:02}:{second:02},\
                     {name},{log_type},{},{},営業部-PC{user:05}\r\n",
                    (minute + 1) % 60,
                    1 + user % 4,
                    10_000 + user,
                ));
                if name != "SYSTEM" && log_type != 5 {
                    records += 1;
                }
            }
        }
    }
    (text, records)
}

fn read(c: &mut Criterion) {
    let (text, expected) = events_file();
    let utf8 = text.into_bytes();
    let (cp932, _, unmappable) = encoding_rs::SHIFT_JIS.encode(std::str::from_utf8(&utf8).expect("UTF-8"));
    assert!(!unmappable, "the generated file must be representable in CP932");
    let cp932 = cp932.into_owned();

    // The benchmark is only meaningful if every reader reads every row.
    let options = ReadOptions::default();
    for bytes in [&utf8, &cp932] {
        let report = read_lanscope_csv(bytes, &options).expect("readable");
        assert_eq!(report.records.len(), expected);
        assert!(report.errors.is_empty(), "{:?}", report.errors.first());
    }
    let rows = utf8.iter().filter(|&&b| b == b'\n').count() - 1;
    assert_eq!(raw_records(&utf8), rows);

    let mut group = c.benchmark_group("read_20mb");
    // Each iteration takes tens of milliseconds: flat sampling, few samples, a short run.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));

    group.throughput(Throughput::Bytes(utf8.len() as u64));
    group.bench_function("csv_string_records_utf8", |b| b.iter(|| raw_records(black_box(&utf8))));
    group.bench_function("read_lanscope_csv_utf8", |b| {
        b.iter(|| read_lanscope_csv(black_box(&utf8), &options).expect("readable").records.len())
    });
    group.bench_function("read_lanscope_rows_utf8", |b| b.iter(|| streamed_rows(black_box(&utf8), &options)));
    group.throughput(Throughput::Bytes(cp932.len() as u64));
    group.bench_function("read_lanscope_csv_cp932", |b| {
        b.iter(|| read_lanscope_csv(black_box(&cp932), &options).expect("readable").records.len())
    });
    group.bench_function("read_lanscope_rows_cp932", |b| b.iter(|| streamed_rows(black_box(&cp932), &options)));
    group.finish();
}

/// The rows handed over one at a time, as the connector takes them.
fn streamed_rows(bytes: &[u8], options: &ReadOptions) -> u64 {
    read_lanscope_rows(bytes, options, |row| {
        black_box(&row);
    })
    .expect("readable")
    .rows
}

/// The baseline: the `csv` crate alone, as `read_lanscope_csv` configures it.
fn raw_records(bytes: &[u8]) -> usize {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(bytes);
    let mut record = csv::StringRecord::new();
    let mut count = 0;
    while reader.read_record(&mut record).expect("valid CSV") {
        black_box(&record);
        count += 1;
    }
    count
}

criterion_group!(benches, read);
criterion_main!(benches);
