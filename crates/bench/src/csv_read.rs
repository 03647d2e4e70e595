//! Reading LanScope CSV (decode, parse, timestamps) against the raw `csv` crate splitting the
//! same text into `StringRecord`s, in this process, best of five each.

use std::hint::black_box;
use std::time::{Duration, Instant};

use lanscope_csv::{ReadOptions, read_lanscope_rows};

use crate::report::{mib_per_second, print_ratio};

const FILE_MIB: u64 = 20;
const RUNS: usize = 5;

pub fn run() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("kintai.csv");
    let rows = crate::connector::write_events_file(&path, FILE_MIB * 1024 * 1024)?;
    let cp932 = std::fs::read(&path)?;
    let (utf8, _, _) = encoding_rs::SHIFT_JIS.decode(&cp932);
    let utf8 = utf8.into_owned().into_bytes();
    let options = ReadOptions::default();

    let raw = best_of(|| raw_records(&utf8))?;
    let read_utf8 = best_of(|| read_rows(&utf8, &options, rows))?;
    let read_cp932 = best_of(|| read_rows(&cp932, &options, rows))?;
    println!(
        "LanScope CSV reading, {rows} rows: raw csv StringRecords (UTF-8) {:.1} MiB/s; read_lanscope_rows UTF-8 {:.1} MiB/s, CP932 {:.1} MiB/s",
        mib_per_second(utf8.len() as u64, raw),
        mib_per_second(utf8.len() as u64, read_utf8),
        mib_per_second(cp932.len() as u64, read_cp932),
    );
    print_ratio("UTF-8 reading / raw csv", read_utf8, raw, Some(2.0));
    print_ratio("CP932 reading / raw csv", read_cp932, raw, Some(2.0));
    Ok(())
}

fn best_of(mut run: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..RUNS {
        let start = Instant::now();
        run()?;
        best = best.min(start.elapsed());
    }
    Ok(best)
}

/// Every row must come out, or the time means nothing.
fn read_rows(bytes: &[u8], options: &ReadOptions, expected: u64) -> anyhow::Result<()> {
    let read = read_lanscope_rows(bytes, options, |row| {
        black_box(&row);
    })?;
    anyhow::ensure!(read.rows == expected && read.errors.is_empty(), "read {} rows of {expected}", read.rows);
    Ok(())
}

fn raw_records(bytes: &[u8]) -> anyhow::Result<()> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(bytes);
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record)? {
        black_box(&record);
    }
    Ok(())
}
