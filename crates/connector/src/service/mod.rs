//! Running the connector as a service: a systemd unit on Linux, a service of the service
//! control manager on Windows. Services start in a folder of the system's choosing (System32
//! on Windows, `/` under systemd), so the service is always given absolute paths.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::logging;
use crate::outbox::OUTBOX_FILE;

#[cfg(not(windows))]
pub mod systemd;
#[cfg(windows)]
pub mod windows;

/// The Windows service's name.
pub const SERVICE_NAME: &str = "LanScopeConnector";
/// The systemd unit's name.
pub const UNIT_NAME: &str = "lanscope-connector.service";
pub const DISPLAY_NAME: &str = "勤革時 ログイン記録 LanScope 連携サービス";
pub const DESCRIPTION: &str = "LanScope のログオン・ログオフのログを勤革時 ログイン記録へ送ります (sends LanScope's logon/logoff logs to ログイン記録).";

/// How the systemd side is reached; ignored on Windows.
#[derive(Clone, Debug, Default)]
pub struct ServiceOptions {
    /// Where the unit file goes (default `/etc/systemd/system`).
    pub unit_dir: Option<PathBuf>,
    /// Write and remove unit files but never call `systemctl`.
    pub no_systemctl: bool,
    /// The `systemctl` program to call instead of the one on the `PATH`; systemd is then taken
    /// to be running (for tests).
    pub systemctl: Option<PathBuf>,
}

/// What the service is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceState {
    NotInstalled,
    Running,
    /// Installed and not running, with the system's word for it.
    Stopped(String),
    /// Starting or stopping.
    Pending(String),
    /// Installed, but the state cannot be asked for (no systemd, no access).
    Unknown(String),
}

impl ServiceState {
    pub fn is_installed(&self) -> bool {
        !matches!(self, ServiceState::NotInstalled)
    }
}

impl fmt::Display for ServiceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceState::NotInstalled => write!(f, "インストールされていません (not installed)"),
            ServiceState::Running => write!(f, "稼働中 (installed, running)"),
            ServiceState::Stopped(detail) => write!(f, "停止中 (installed, stopped: {detail})"),
            ServiceState::Pending(detail) => write!(f, "状態の変更中 (installed, {detail})"),
            ServiceState::Unknown(reason) => {
                write!(f, "インストール済み、状態不明 (installed; state unknown: {reason})")
            }
        }
    }
}

/// What asking a running service to restart did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Restart {
    Restarted,
    NotRunning,
    NotInstalled,
    /// The service is installed but cannot be reached to ask.
    Unknown(String),
}

/// Registers the service to start at boot, and starts it. The configuration must exist.
pub fn install(options: &ServiceOptions, config_path: &Path) -> anyhow::Result<String> {
    let (exe, config) = service_paths(config_path)?;
    #[cfg(windows)]
    {
        let _ = options;
        windows::install(&exe, &config)
    }
    #[cfg(not(windows))]
    {
        systemd::Systemd::new(options).install(&exe, &config)
    }
}

/// Stops and removes the service. The configuration and the outbox stay unless `purge`.
pub fn uninstall(options: &ServiceOptions, config_path: &Path, purge: bool) -> anyhow::Result<String> {
    #[cfg(windows)]
    let mut message = {
        let _ = options;
        windows::uninstall()?
    };
    #[cfg(not(windows))]
    let mut message = systemd::Systemd::new(options).uninstall()?;
    if purge {
        let removed = purge_data(config_path);
        message.push_str(&format!(
            "\n設定と送信待ちのデータを削除しました (removed {} files and folders):",
            removed.len()
        ));
        for path in removed {
            message.push_str(&format!("\n  {}", path.display()));
        }
    } else {
        message.push_str(&format!(
            "\n設定と送信待ちのデータは残っています (the configuration and the outbox are kept): {}",
            config_path.display()
        ));
    }
    Ok(message)
}

pub fn start(options: &ServiceOptions) -> anyhow::Result<String> {
    #[cfg(windows)]
    {
        let _ = options;
        windows::start()
    }
    #[cfg(not(windows))]
    {
        systemd::Systemd::new(options).start()
    }
}

pub fn stop(options: &ServiceOptions) -> anyhow::Result<String> {
    #[cfg(windows)]
    {
        let _ = options;
        windows::stop()
    }
    #[cfg(not(windows))]
    {
        systemd::Systemd::new(options).stop()
    }
}

pub fn state(options: &ServiceOptions) -> ServiceState {
    #[cfg(windows)]
    {
        let _ = options;
        windows::state()
    }
    #[cfg(not(windows))]
    {
        systemd::Systemd::new(options).state()
    }
}

/// Restarts the service if it runs, so that it reads the configuration again.
pub fn restart_if_running(options: &ServiceOptions) -> anyhow::Result<Restart> {
    #[cfg(windows)]
    {
        let _ = options;
        windows::restart_if_running()
    }
    #[cfg(not(windows))]
    {
        systemd::Systemd::new(options).restart_if_running()
    }
}

/// Where the service finds its program and its configuration, both absolute.
fn service_paths(config_path: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let exe = std::env::current_exe().map_err(|e| anyhow::anyhow!("cannot find this program's path: {e}"))?;
    let config = std::path::absolute(config_path)
        .map_err(|e| anyhow::anyhow!("cannot make {} absolute: {e}", config_path.display()))?;
    // A service without a valid configuration would only fail over and over.
    Config::load(&config)?;
    Ok((exe, config))
}

/// Removes the configuration, the outbox and the connector's log files, and then the folders
/// they were in if nothing else is left there. Returns what was removed.
pub fn purge_data(config_path: &Path) -> Vec<PathBuf> {
    let config_dir = config_path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let data_dir = Config::load(config_path).map(|c| c.data_dir(config_path)).unwrap_or_else(|_| config_dir.clone());
    let logs = logging::log_dir(&data_dir);
    let mut files = vec![config_path.to_path_buf(), config_path.with_extension("toml.tmp")];
    for suffix in ["", "-wal", "-shm", "-journal"] {
        files.push(data_dir.join(format!("{OUTBOX_FILE}{suffix}")));
    }
    files.push(data_dir.join(crate::instance::LOCK_FILE));
    if let Ok(entries) = std::fs::read_dir(&logs) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = name.starts_with(&format!("{}.", logging::LOG_FILE_PREFIX))
                && name.ends_with(&format!(".{}", logging::LOG_FILE_SUFFIX));
            if ours {
                files.push(entry.path());
            }
        }
    }
    let mut removed = Vec::new();
    for file in files {
        if std::fs::remove_file(&file).is_ok() {
            removed.push(file);
        }
    }
    // Only empty folders go: the configuration may have been put in a shared one.
    for dir in [logs, data_dir, config_dir] {
        if std::fs::remove_dir(&dir).is_ok() {
            removed.push(dir);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purging_removes_only_the_connectors_files_and_empty_folders() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("conf");
        std::fs::create_dir_all(conf.join("logs")).unwrap();
        let config = conf.join("connector.toml");
        std::fs::write(&config, "not even valid").unwrap();
        std::fs::write(conf.join(OUTBOX_FILE), "db").unwrap();
        std::fs::write(conf.join(format!("{OUTBOX_FILE}-wal")), "wal").unwrap();
        std::fs::write(conf.join("logs").join("connector.2024-02-09.log"), "log").unwrap();
        std::fs::write(conf.join("logs").join("someone-else.txt"), "keep").unwrap();

        let removed = purge_data(&config);
        assert!(removed.contains(&config), "{removed:?}");
        assert!(!conf.join(OUTBOX_FILE).exists() && !conf.join(format!("{OUTBOX_FILE}-wal")).exists());
        assert!(!conf.join("logs").join("connector.2024-02-09.log").exists());
        assert!(conf.join("logs").join("someone-else.txt").exists(), "a file that is not ours stays");
        assert!(conf.is_dir(), "a folder that is not empty stays");
    }
}
