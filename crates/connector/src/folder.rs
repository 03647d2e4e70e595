//! Picking up LanScope's files: which CSV files are complete, and reading them into the
//! outbox. A file is read only when its size and mtime have not changed for the settle time,
//! and, on Windows, when no one has it open for writing; and again whenever its content
//! changes. Files are opened read-only and never changed.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ingest_protocol::IngestRow;
use lanscope_csv::{Layout, ReadOptions, read_lanscope_csv};
use sha2::{Digest, Sha256};

use crate::outbox::{FileMark, FileRead, Outbox};

#[derive(Clone, Debug)]
pub struct Candidate {
    pub path: PathBuf,
    pub size: u64,
    pub modified: SystemTime,
}

impl Candidate {
    fn mark(&self, sha256: String) -> FileMark {
        FileMark { size: self.size as i64, mtime_ns: mtime_ns(self.modified), sha256 }
    }
}

fn mtime_ns(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

/// The `*.csv` files directly inside `dir`.
pub fn list_csv_files(dir: &Path) -> std::io::Result<Vec<Candidate>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let is_csv = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if !is_csv {
            continue;
        }
        let meta = match entry.metadata() {
            Ok(m) if m.is_file() => m,
            _ => continue,
        };
        out.push(Candidate { path, size: meta.len(), modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH) });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanSummary {
    pub files_read: usize,
    pub rows_queued: u64,
    /// Files that are still changing and will be looked at again.
    pub unsettled: Vec<PathBuf>,
}

/// Reads every complete, new or changed CSV file of the folder into the outbox.
pub async fn read_ready_files(
    dir: &Path,
    company_code: &str,
    options: &ReadOptions,
    settle: Duration,
    outbox: &Outbox,
) -> anyhow::Result<ScanSummary> {
    let mut summary = ScanSummary::default();
    let candidates = list_csv_files(dir).map_err(|e| anyhow::anyhow!("cannot list {}: {e}", dir.display()))?;
    for candidate in candidates {
        let key = candidate.path.display().to_string();
        let known = outbox.file_mark(&key).await?;
        if known.as_ref().is_some_and(|m| m.size == candidate.size as i64 && m.mtime_ns == mtime_ns(candidate.modified))
        {
            continue;
        }
        let age = SystemTime::now().duration_since(candidate.modified).unwrap_or(Duration::ZERO);
        if age < settle {
            summary.unsettled.push(candidate.path.clone());
            continue;
        }
        let bytes = match read_if_complete(&candidate.path) {
            Ok(Some(b)) => b,
            Ok(None) => {
                tracing::debug!(file = %key, "A LanScope file is still open for writing.");
                summary.unsettled.push(candidate.path.clone());
                continue;
            }
            Err(e) => {
                tracing::warn!(file = %key, error = %e, "Cannot read a LanScope file yet; will retry.");
                summary.unsettled.push(candidate.path.clone());
                continue;
            }
        };
        // A writer that was still at work shows as a changed size or mtime after the read.
        let after = std::fs::metadata(&candidate.path).ok();
        if after.as_ref().is_none_or(|m| m.len() != candidate.size || m.modified().ok() != Some(candidate.modified)) {
            summary.unsettled.push(candidate.path.clone());
            continue;
        }
        let mark = candidate.mark(hex::encode(Sha256::digest(&bytes)));
        if known.as_ref().is_some_and(|m| m.sha256 == mark.sha256) {
            outbox.touch_file(&key, &mark).await?;
            continue;
        }
        let file_name = candidate.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let read = parse_file(&bytes, &file_name, company_code, options);
        if let Some(problem) = &read.problem {
            tracing::warn!(file = %key, problem = %problem, "Ignored a file that is not LanScope output.");
        }
        for (line, message) in &read.row_errors {
            tracing::warn!(file = %key, line, message = %message, "Skipped a bad CSV row.");
        }
        let added = outbox.record_file(&key, &mark, &read).await?;
        tracing::info!(file = %key, rows = read.rows.len(), new = added, skipped = read.skipped, errors = read.row_errors.len(), "Read a LanScope file.");
        summary.files_read += 1;
        summary.rows_queued += added;
    }
    Ok(summary)
}

/// The whole file, or `None` while a writer still has it open where the system can tell.
///
/// On Windows the file is opened sharing reading only: while another process holds it open
/// for writing, that open fails with a sharing violation; once it succeeds, no writer can
/// open the file until it has been read.
#[cfg(windows)]
pub fn read_if_complete(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    use std::os::windows::fs::OpenOptionsExt;
    const FILE_SHARE_READ: u32 = 0x0000_0001;
    const ERROR_SHARING_VIOLATION: i32 = 32;
    const ERROR_LOCK_VIOLATION: i32 = 33;
    let mut file = match std::fs::OpenOptions::new().read(true).share_mode(FILE_SHARE_READ).open(path) {
        Ok(f) => f,
        Err(e) if matches!(e.raw_os_error(), Some(ERROR_SHARING_VIOLATION | ERROR_LOCK_VIOLATION)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    match file.read_to_end(&mut bytes) {
        Ok(_) => Ok(Some(bytes)),
        Err(e) if e.raw_os_error() == Some(ERROR_LOCK_VIOLATION) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The whole file. Elsewhere than on Windows a writer cannot be seen; the settle time and the
/// size and mtime check after the read stand for it.
#[cfg(not(windows))]
pub fn read_if_complete(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    std::fs::read(path).map(Some)
}

/// Parses one file into outbox rows (pure).
pub fn parse_file(bytes: &[u8], file_name: &str, company_code: &str, options: &ReadOptions) -> FileRead {
    match read_lanscope_csv(bytes, options) {
        Err(e) => FileRead { problem: Some(format!("{file_name}: {e}")), ..FileRead::default() },
        Ok(report) => FileRead {
            layout: Some(match report.layout {
                Layout::Events => "events".into(),
                Layout::DailySummary => "summary".into(),
            }),
            rows: report
                .records
                .into_iter()
                .map(|r| {
                    let mut row = IngestRow::new(
                        company_code,
                        r.user_name,
                        r.kind,
                        r.event_at.as_millisecond(),
                        r.recorded_at.map(|t| t.as_millisecond()),
                        r.sub_manager_no,
                        r.agent_no,
                        r.computer_name,
                    );
                    row.source_file = Some(file_name.to_string());
                    row.source_line = Some(r.line);
                    row
                })
                .collect(),
            row_errors: report.errors.iter().map(|e| (e.line, format!("{file_name}: {e}"))).collect(),
            skipped: report.skipped_system + report.skipped_other_types,
            problem: None,
        },
    }
}
