//! The LanScope manager as the soak plays it: the simulation's daily files land in the output
//! folder one after another, each written in one of the ways a real folder sees: slowly, header
//! first, with its last line left half-written for a while, rewritten later with the same
//! content, or exported again under another name and encoding. Whatever the way, each file ends
//! with exactly the simulation's rows, so the ground truth holds.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lanscope_simulator::SimFile;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::AsyncWriteExt;

/// How the files were written, counted.
#[derive(Default)]
pub struct FileFaults {
    pub written: AtomicU64,
    pub slowly: AtomicU64,
    pub header_first: AtomicU64,
    pub partial_last_line: AtomicU64,
    pub rewritten: AtomicU64,
    pub re_exported: AtomicU64,
}

impl FileFaults {
    pub fn summary(&self) -> String {
        let n = |c: &AtomicU64| c.load(Ordering::SeqCst);
        format!(
            "files: written {}, slowly {}, header only at first {}, partial last line {}, rewritten {}, re-exported {}",
            n(&self.written),
            n(&self.slowly),
            n(&self.header_first),
            n(&self.partial_last_line),
            n(&self.rewritten),
            n(&self.re_exported)
        )
    }
}

/// Writes `files` into `dir`, spread over `span`; `settle` is the connector's settle time, which
/// a half-written file outlasts on purpose.
pub async fn write_files(
    files: Vec<SimFile>,
    dir: PathBuf,
    span: Duration,
    settle: Duration,
    seed: u64,
    faults: &FileFaults,
) -> anyhow::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_f11e);
    let gap = span / (files.len().max(1) as u32);
    let outlast = settle * 2 + Duration::from_secs(1);
    let mut later: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for file in &files {
        let path = dir.join(&file.name);
        match rng.random_range(0..4) {
            0 => {
                faults.slowly.fetch_add(1, Ordering::SeqCst);
                write_slowly(&path, &file.bytes, Duration::from_millis(rng.random_range(5..40))).await?;
            }
            1 => {
                faults.header_first.fetch_add(1, Ordering::SeqCst);
                let header_end = file.bytes.iter().position(|b| *b == b'\n').map_or(file.bytes.len(), |i| i + 1);
                write_whole(&path, &file.bytes[..header_end]).await?;
                tokio::time::sleep(outlast).await;
                write_whole(&path, &file.bytes).await?;
            }
            2 => {
                faults.partial_last_line.fetch_add(1, Ordering::SeqCst);
                let body = file.bytes.strip_suffix(b"\r\n").unwrap_or(&file.bytes);
                let last_line = body.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                let cut = last_line + rng.random_range(1..(body.len() - last_line).max(2));
                write_whole(&path, &file.bytes[..cut]).await?;
                tokio::time::sleep(outlast).await;
                append(&path, &file.bytes[cut..]).await?;
            }
            _ => write_whole(&path, &file.bytes).await?,
        }
        faults.written.fetch_add(1, Ordering::SeqCst);
        if rng.random_bool(0.5) {
            later.push((path.clone(), file.bytes.clone()));
        }
        tokio::time::sleep(gap).await;
    }
    // Some files again: the same bytes rewritten, or the same rows exported anew as UTF-8.
    for (path, bytes) in later {
        if rng.random_bool(0.5) {
            faults.rewritten.fetch_add(1, Ordering::SeqCst);
            write_whole(&path, &bytes).await?;
        } else {
            faults.re_exported.fetch_add(1, Ordering::SeqCst);
            let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&bytes);
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("kintai");
            let mut utf8 = vec![0xEF, 0xBB, 0xBF];
            utf8.extend_from_slice(text.as_bytes());
            write_whole(&path.with_file_name(format!("{stem}_再出力.csv")), &utf8).await?;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..2_000))).await;
    }
    Ok(())
}

async fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = tokio::fs::File::create(path).await?;
    file.write_all(bytes).await?;
    file.sync_all().await
}

async fn append(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = tokio::fs::OpenOptions::new().append(true).open(path).await?;
    file.write_all(bytes).await?;
    file.sync_all().await
}

async fn write_slowly(path: &Path, bytes: &[u8], pause: Duration) -> std::io::Result<()> {
    let mut file = tokio::fs::File::create(path).await?;
    for chunk in bytes.chunks(1024) {
        file.write_all(chunk).await?;
        file.flush().await?;
        tokio::time::sleep(pause).await;
    }
    file.sync_all().await
}
