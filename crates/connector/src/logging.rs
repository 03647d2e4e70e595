//! Where the connector's log goes: standard error always, and for `run` and the service a
//! file in `<data_dir>/logs/`, a new one each day (UTC), the last [`KEEP_LOG_FILES`] kept.
//!
//! Every line is an event with fields (`file=… rows=… error=…`). No secret is ever a field:
//! the access token and the proxy password are not logged, and their `Debug` is masked.
//!
//! The file is written as each event happens (not through a background thread), so the lines
//! before a crash or a `kill -9` are on disk.

use std::path::{Path, PathBuf};

use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt;
use tracing_subscriber::prelude::*;

/// Log files are `connector.YYYY-MM-DD.log`.
pub const LOG_FILE_PREFIX: &str = "connector";
pub const LOG_FILE_SUFFIX: &str = "log";
/// Daily files kept: two weeks.
pub const KEEP_LOG_FILES: usize = 14;
/// Used when `RUST_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn";

/// The folder of the log files for a data folder.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("logs")
}

/// The rotating log file appender for `dir`.
pub fn file_appender(dir: &Path) -> anyhow::Result<RollingFileAppender> {
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(LOG_FILE_PREFIX)
        .filename_suffix(LOG_FILE_SUFFIX)
        .max_log_files(KEEP_LOG_FILES)
        .build(dir)
        .map_err(|e| anyhow::anyhow!("cannot open a log file in {}: {e}", dir.display()))
}

/// Installs the global subscriber: standard error, plus the rotating file in `file_dir` when
/// given. When the file cannot be opened the log goes to standard error only, and the reason
/// is returned (and logged).
pub fn init(file_dir: Option<&Path>) -> Option<String> {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(filter());
    let (file, problem) = match file_dir.map(file_appender) {
        Some(Ok(appender)) => {
            (Some(fmt::layer().with_writer(appender).with_ansi(false).with_target(true).with_filter(filter())), None)
        }
        Some(Err(e)) => (None, Some(format!("{e:#}"))),
        None => (None, None),
    };
    let installed = tracing_subscriber::registry().with(stderr).with(file).try_init().is_ok();
    if let (true, Some(problem)) = (installed, &problem) {
        tracing::warn!(problem = %problem, "Logging to standard error only.");
    }
    problem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_file_is_named_by_day_in_the_logs_folder() {
        let dir = tempfile::tempdir().unwrap();
        let logs = log_dir(dir.path());
        let appender = file_appender(&logs).unwrap();
        let subscriber = tracing_subscriber::registry().with(fmt::layer().with_writer(appender).with_ansi(false));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(file = "kintai_20240209.csv", rows = 12, "Read a LanScope file.");
        });
        let names: Vec<String> =
            std::fs::read_dir(&logs).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let name = &names[0];
        assert!(
            name.starts_with("connector.") && name.ends_with(".log") && name.len() == "connector.2024-02-09.log".len()
        );
        let text = std::fs::read_to_string(logs.join(name)).unwrap();
        assert!(text.contains("Read a LanScope file.") && text.contains("rows=12"), "{text}");
    }
}
