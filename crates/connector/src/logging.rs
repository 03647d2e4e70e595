//! Where the connector's log goes: standard error always, and for `run` and the service a
//! file in `<data_dir>/logs/`, a new one each day (UTC), the last [`KEEP_LOG_FILES`] kept.
//!
//! Every line is an event with fields (`file=… rows=… error=…`). No secret is ever a field:
//! the access token and the proxy password are not logged, and their `Debug` is masked.
//!
//! The file is written as each event happens (not through a background thread), so the lines
//! before a crash or a `kill -9` are on disk.
//!
//! The lines name users, PCs, files and the server: on Unix each file is created with mode
//! 0600 (readable by its owner only), a file of the day left wider by an older version is
//! narrowed when it is opened, and no file is ever created wider and narrowed afterwards.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jiff::civil::Date;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt;
use tracing_subscriber::fmt::MakeWriter;
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

/// The name of the log file of a day (UTC).
pub fn log_file_name(day: Date) -> String {
    format!("{LOG_FILE_PREFIX}.{day}.{LOG_FILE_SUFFIX}")
}

/// The log files in `dir`: a new one each day (UTC), owner-only, the last [`KEEP_LOG_FILES`]
/// kept. Each event is one `write` of one whole line, appended.
pub struct DailyLogFile {
    dir: PathBuf,
    current: Mutex<Option<(Date, File)>>,
}

impl DailyLogFile {
    /// Opens today's file in `dir` (made when missing), so that a folder that cannot be
    /// written is known before the first event.
    pub fn open(dir: &Path) -> anyhow::Result<DailyLogFile> {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        let log = DailyLogFile { dir: dir.to_path_buf(), current: Mutex::new(None) };
        let today = today();
        let file =
            log.open_day(today).map_err(|e| anyhow::anyhow!("cannot open a log file in {}: {e}", dir.display()))?;
        *log.current.lock().unwrap_or_else(|p| p.into_inner()) = Some((today, file));
        Ok(log)
    }

    fn open_day(&self, day: Date) -> std::io::Result<File> {
        let path = self.dir.join(log_file_name(day));
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if file.metadata()?.permissions().mode() & 0o077 != 0 {
                file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            }
        }
        self.remove_old_files();
        Ok(file)
    }

    /// Keeps the newest [`KEEP_LOG_FILES`] daily files; the names sort by day.
    fn remove_old_files(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        let mut days: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| {
                name.strip_prefix(&format!("{LOG_FILE_PREFIX}."))
                    .and_then(|rest| rest.strip_suffix(&format!(".{LOG_FILE_SUFFIX}")))
                    .is_some_and(|day| day.parse::<Date>().is_ok())
            })
            .collect();
        days.sort();
        let surplus = days.len().saturating_sub(KEEP_LOG_FILES);
        for name in &days[..surplus] {
            let _ = std::fs::remove_file(self.dir.join(name));
        }
    }

    /// Appends `line` to the file of the day, changing files when the day (UTC) changed. When
    /// the new day's file cannot be opened, the line goes to the previous day's.
    fn append(&self, line: &[u8]) -> std::io::Result<()> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let today = today();
        if !matches!(&*current, Some((day, _)) if *day == today) {
            match self.open_day(today) {
                Ok(file) => *current = Some((today, file)),
                Err(e) if current.is_none() => return Err(e),
                Err(_) => {}
            }
        }
        match &mut *current {
            Some((_, file)) => file.write_all(line),
            None => Ok(()),
        }
    }
}

fn today() -> Date {
    jiff::tz::TimeZone::UTC.to_datetime(jiff::Timestamp::now()).date()
}

/// What the `fmt` layer writes one event through.
pub struct DailyLogWriter<'a>(&'a DailyLogFile);

impl Write for DailyLogWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.append(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for DailyLogFile {
    type Writer = DailyLogWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        DailyLogWriter(self)
    }
}

/// The daily log files in `dir`.
pub fn file_appender(dir: &Path) -> anyhow::Result<DailyLogFile> {
    DailyLogFile::open(dir)
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
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(logs.join(name)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "the log file is readable by its owner only");
        }
    }

    #[test]
    fn only_the_newest_daily_files_are_kept_and_other_files_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let logs = log_dir(dir.path());
        std::fs::create_dir_all(&logs).unwrap();
        let first = jiff::civil::date(2020, 1, 1);
        for n in 0..20 {
            std::fs::write(logs.join(log_file_name(first + jiff::Span::new().days(n))), "old\n").unwrap();
        }
        std::fs::write(logs.join("connector.notes.log"), "mine\n").unwrap();
        let _appender = file_appender(&logs).unwrap();
        let mut names: Vec<String> =
            std::fs::read_dir(&logs).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(names.len(), KEEP_LOG_FILES + 1, "{names:?}");
        assert!(names.contains(&"connector.notes.log".to_string()), "{names:?}");
        assert!(!names.contains(&log_file_name(first)), "the oldest went: {names:?}");
        assert!(names.contains(&log_file_name(today())), "{names:?}");
    }
}
