//! The connector on one large LanScope file: the real `lanscope-connector` process reads a CP932
//! events file of the given size into its outbox, against the raw `csv` crate splitting the
//! same file's bytes into records, both measured in this run; the connector's peak memory is
//! read from the kernel while it runs.
//!
//! The server named in the connector's configuration is an address nobody listens on: what is
//! measured is the time until the file's rows are committed to the outbox (the durable
//! hand-over), not the sending.

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use lanscope_connector::config::Config;
use loginrec_rules::{AccessToken, CompanyCode};

use crate::report::{mib_per_second, print_ratio};

const HEADER: &str = "日時,イベント日時,ログオンユーザ名,ログ種類,サブマネージャno,エージェントno,コンピュータ名\r\n";
const USERS: u64 = 100_000;

pub struct ConnectorFigures {
    pub file_bytes: u64,
    pub rows: u64,
    pub raw: Duration,
    pub connector: Duration,
    pub peak_bytes: u64,
}

impl ConnectorFigures {
    pub fn print(&self) {
        let mib = self.file_bytes as f64 / (1024.0 * 1024.0);
        println!(
            "connector, one {mib:.0} MiB CP932 file ({} rows) into the outbox: {:.1} s = {:.1} MB/s, peak memory {:.1} MB",
            self.rows,
            self.connector.as_secs_f64(),
            mib_per_second(self.file_bytes, self.connector) * 1.048_576,
            self.peak_bytes as f64 / 1e6,
        );
        println!(
            "raw csv ByteRecord loop over the same file: {:.2} s = {:.1} MB/s",
            self.raw.as_secs_f64(),
            mib_per_second(self.file_bytes, self.raw) * 1.048_576,
        );
        let mb_per_second = mib_per_second(self.file_bytes, self.connector) * 1.048_576;
        println!("  goal ≥ 50 MB/s into the outbox: {}", if mb_per_second >= 50.0 { "holds" } else { "MISSED" });
        if self.file_bytes >= 1 << 30 {
            println!(
                "  goal ≤ 50 MB peak on a 1 GiB file: {}",
                if self.peak_bytes <= 50_000_000 { "holds" } else { "MISSED" }
            );
        }
        print_ratio("connector / raw csv", self.connector, self.raw, None);
    }
}

/// Writes the file, measures the raw loop and the connector, and checks that every row of the
/// file is in the outbox.
pub async fn run(mib: u64) -> anyhow::Result<ConnectorFigures> {
    let exe = connector_exe()?;
    let dir = tempfile::tempdir()?;
    let log_dir = dir.path().join("lanscope");
    std::fs::create_dir_all(&log_dir)?;
    let file = log_dir.join("kintai_20240209.csv");
    let rows = write_events_file(&file, mib * 1024 * 1024)?;
    let file_bytes = std::fs::metadata(&file)?.len();
    // Older than any settle time: the connector reads it at once.
    std::fs::File::options().write(true).open(&file)?.set_modified(SystemTime::now() - Duration::from_secs(3600))?;

    let raw_start = Instant::now();
    let raw_rows = raw_records(&file)?;
    let raw = raw_start.elapsed();
    anyhow::ensure!(raw_rows == rows, "the raw loop read {raw_rows} rows of {rows}");

    let config_path = dir.path().join("connector").join("config.toml");
    std::fs::create_dir_all(config_path.parent().expect("a folder"))?;
    let company = CompanyCode::parse("BENCH1").map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut config = Config::new(
        company,
        &AccessToken::parse(&loginrec_store::tokens::random_token()[..32]).map_err(|e| anyhow::anyhow!("{e}"))?,
        log_dir,
        format!("http://{}", unused_address()?),
    );
    config.settle_seconds = 1;
    config.save(&config_path)?;

    let start = Instant::now();
    let mut child = std::process::Command::new(&exe)
        .arg("--config")
        .arg(&config_path)
        .args(["run", "--once"])
        .env_remove("LANSCOPE_CONNECTOR_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))?;
    let status_file = PathBuf::from(format!("/proc/{}/status", child.id()));
    let outbox = config.data_dir(&config_path).join("outbox.db");
    let mut peak_bytes = 0;
    let mut polls = 0u32;
    // Done when the file's rows are committed to the outbox; what the connector does next
    // (trying the unreachable server) is not measured, and it is stopped.
    let connector = loop {
        if let Some(kb) = std::fs::read_to_string(&status_file).ok().as_deref().and_then(high_water_mark_kb) {
            peak_bytes = peak_bytes.max(kb * 1024);
        }
        polls += 1;
        if polls.is_multiple_of(5) && outbox.exists() && outbox_rows(&outbox).await.unwrap_or(0) >= rows {
            break start.elapsed();
        }
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("the connector ended ({status}) before the file's rows were in its outbox");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    child.kill()?;
    child.wait()?;
    let queued = outbox_rows(&outbox).await?;
    anyhow::ensure!(queued == rows, "the outbox holds {queued} rows of the file's {rows}");
    if std::env::var_os("LOGINREC_BENCH_KEEP").is_some() {
        // To run the connector again by hand: `lanscope-connector --config DIR/connector/config.toml run --once`.
        println!("kept: {}", dir.keep().display());
    }
    Ok(ConnectorFigures { file_bytes, rows, raw, connector, peak_bytes })
}

/// `lanscope-connector` built beside this program (`cargo build --release --workspace --bins`).
pub(crate) fn connector_exe() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let exe = me.with_file_name(format!("lanscope-connector{}", std::env::consts::EXE_SUFFIX));
    anyhow::ensure!(
        exe.exists(),
        "{} is missing: build it first with `cargo build --release --workspace --bins`",
        exe.display()
    );
    Ok(exe)
}

fn unused_address() -> anyhow::Result<std::net::SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// `VmHWM` of `/proc/PID/status`: the most resident memory the process has had.
fn high_water_mark_kb(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn outbox_rows(outbox: &Path) -> anyhow::Result<u64> {
    let url = format!("sqlite://{}?mode=ro", outbox.display());
    let pool = sqlx::SqlitePool::connect(&url).await?;
    let count: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(rows), 0) FROM pieces").fetch_one(&pool).await?;
    pool.close().await;
    Ok(u64::try_from(count)?)
}

/// An events-layout file in CP932 of at least `target` bytes, as the manager writes it: each
/// of [`USERS`] users logs on and off once a day, day after day. Returns its rows.
pub(crate) fn write_events_file(path: &Path, target: u64) -> anyhow::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let encode = |text: &str| encoding_rs::SHIFT_JIS.encode(text).0.into_owned();
    out.write_all(&encode(HEADER))?;
    let pc = encode("営業部-PC");
    let (mut written, mut rows) = (HEADER.len() as u64, 0u64);
    let mut line = Vec::with_capacity(160);
    'days: for day in 0u64.. {
        let date = jiff::civil::date(2024, 1, 1) + jiff::Span::new().days(i64::try_from(day)?);
        // As the manager writes it: 2024/01/01.
        let day_text = format!("{:04}/{:02}/{:02}", date.year(), date.month(), date.day());
        for user in 0..USERS {
            for (kind, hour) in [(1, 8 + user % 3), (2, 17 + user % 4)] {
                if written >= target {
                    break 'days;
                }
                let (minute, second) = ((user * 7 + day) % 60, (user * 13) % 60);
                line.clear();
                write!(
                    line,
                    "{day_text} {hour}:{:02}:{second:02},{day_text} {hour}:{minute:02}:{second:02},CORP\\user{user:06},{kind},{},{},",
                    (minute + 1) % 60,
                    1 + user % 4,
                    10_000 + user,
                )?;
                line.extend_from_slice(&pc);
                write!(line, "{user:06}\r\n")?;
                out.write_all(&line)?;
                written += line.len() as u64;
                rows += 1;
            }
        }
    }
    out.flush()?;
    Ok(rows)
}

/// The baseline: the `csv` crate's ByteRecord loop over the file, read from disk.
fn raw_records(path: &Path) -> anyhow::Result<u64> {
    let source = BufReader::with_capacity(1 << 16, std::fs::File::open(path)?);
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(source);
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while reader.read_byte_record(&mut record)? {
        std::hint::black_box(&record);
        rows += 1;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_file_is_read_by_the_lanscope_reader_row_for_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kintai.csv");
        let rows = write_events_file(&path, 64 * 1024).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let report = lanscope_csv::read_lanscope_csv(&bytes, &lanscope_csv::ReadOptions::default()).unwrap();
        assert_eq!(report.encoding, "Shift_JIS");
        assert!(report.errors.is_empty(), "{:?}", report.errors.first());
        assert_eq!(report.records.len() as u64, rows);
        assert_eq!(raw_records(&path).unwrap(), rows);
        assert_eq!(report.records[0].computer_name.as_deref(), Some("営業部-PC000000"));
    }

    #[test]
    fn the_high_water_mark_is_read_from_the_status_file() {
        assert_eq!(high_water_mark_kb("Name:\tx\nVmPeak:\t  10 kB\nVmHWM:\t    4242 kB\n"), Some(4242));
        assert_eq!(high_water_mark_kb("Name:\tx\n"), None);
    }
}
