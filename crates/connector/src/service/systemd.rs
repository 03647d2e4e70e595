//! The systemd unit: written to `/etc/systemd/system`, then enabled and started with
//! `systemctl`. Without systemd (a container, say) the unit file is still written and the
//! command says plainly that nothing could be started.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{DISPLAY_NAME, Restart, ServiceOptions, ServiceState, UNIT_NAME};
use crate::SHUTDOWN_GRACE;

pub const DEFAULT_UNIT_DIR: &str = "/etc/systemd/system";

/// The unit file's text.
pub fn unit_file(exe: &Path, config: &Path) -> anyhow::Result<String> {
    Ok(format!(
        "[Unit]\n\
         Description={DISPLAY_NAME}\n\
         After=network-online.target\n\
         Wants=network-online.target\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStart={} --config {} run\n\
         Restart=always\n\
         RestartSec=5\n\
         TimeoutStopSec={}\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n",
        quote(exe)?,
        quote(config)?,
        SHUTDOWN_GRACE.as_secs() + 10,
    ))
}

/// One word of a unit's command line: in double quotes, with `\` and `"` escaped, and `%`
/// and `$` doubled so that systemd does not expand them.
pub fn quote(path: &Path) -> anyhow::Result<String> {
    let text = path.to_str().ok_or_else(|| anyhow::anyhow!("{} is not valid UTF-8", path.display()))?;
    if text.chars().any(char::is_control) {
        anyhow::bail!("{} contains a control character", path.display());
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

pub struct Systemd {
    unit_dir: PathBuf,
    use_systemctl: bool,
    /// `systemctl`, or the program given in its place.
    program: PathBuf,
    /// Whether `program` was given: systemd is then not looked for.
    program_given: bool,
}

impl Systemd {
    pub fn new(options: &ServiceOptions) -> Systemd {
        Systemd {
            unit_dir: options.unit_dir.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_UNIT_DIR)),
            use_systemctl: !options.no_systemctl,
            program: options.systemctl.clone().unwrap_or_else(|| PathBuf::from("systemctl")),
            program_given: options.systemctl.is_some(),
        }
    }

    pub fn unit_path(&self) -> PathBuf {
        self.unit_dir.join(UNIT_NAME)
    }

    fn installed(&self) -> bool {
        self.unit_path().is_file()
    }

    /// Why `systemctl` cannot be used here, if it cannot.
    fn unavailable(&self) -> Option<String> {
        if !self.use_systemctl {
            return Some("systemctl is not used (--no-systemctl)".into());
        }
        if !self.program_given && !Path::new("/run/systemd/system").is_dir() {
            return Some("systemd is not running on this machine (no /run/systemd/system; a container?)".into());
        }
        None
    }

    fn systemctl(&self, args: &[&str]) -> anyhow::Result<std::process::Output> {
        Command::new(&self.program).args(args).output().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                anyhow::anyhow!("systemctl was not found: systemd is not installed on this machine")
            } else {
                anyhow::anyhow!("cannot run systemctl: {e}")
            }
        })
    }

    fn systemctl_ok(&self, args: &[&str]) -> anyhow::Result<()> {
        let output = self.systemctl(args)?;
        if !output.status.success() {
            anyhow::bail!(
                "`systemctl {}` failed ({}): {}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    pub fn install(&self, exe: &Path, config: &Path) -> anyhow::Result<String> {
        let unit = self.unit_path();
        write_unit(&unit, &unit_file(exe, config)?)?;
        let written = format!("ユニットファイルを書き込みました (unit file written): {}", unit.display());
        match self.unavailable() {
            Some(reason) if !self.use_systemctl => Ok(format!("{written}\n{reason}: the service was not started.")),
            Some(reason) => anyhow::bail!(
                "{written}\nサービスを開始できません (cannot start the service): {reason}. \
                 Run `lanscope-connector run` in the foreground instead, or enable the unit where systemd runs."
            ),
            None => {
                self.systemctl_ok(&["daemon-reload"])?;
                self.systemctl_ok(&["enable", "--now", UNIT_NAME])?;
                Ok(format!("{written}\n連携サービスをインストールして開始しました (installed, enabled and started)."))
            }
        }
    }

    pub fn uninstall(&self) -> anyhow::Result<String> {
        let unit = self.unit_path();
        if !self.installed() {
            return Ok(format!("連携サービスはインストールされていません (not installed): no {}", unit.display()));
        }
        let reason = self.unavailable();
        if reason.is_none() {
            // A unit that is not loaded cannot be disabled: that is no reason to keep its file.
            if let Err(e) = self.systemctl_ok(&["disable", "--now", UNIT_NAME]) {
                tracing::warn!(error = %e, "Cannot stop and disable the unit; removing it anyway.");
            }
        }
        std::fs::remove_file(&unit)
            .map_err(|e| anyhow::anyhow!("cannot remove {}: {e}{}", unit.display(), hint(&e)))?;
        let mut message = format!("連携サービスをアンインストールしました (uninstalled): removed {}", unit.display());
        match reason {
            None => self.systemctl_ok(&["daemon-reload"])?,
            Some(reason) => message.push_str(&format!("\n({reason}: systemctl was not run)")),
        }
        Ok(message)
    }

    pub fn start(&self) -> anyhow::Result<String> {
        self.control("start")?;
        Ok("連携サービスを開始しました (started).".into())
    }

    pub fn stop(&self) -> anyhow::Result<String> {
        self.control("stop")?;
        Ok("連携サービスを停止しました (stopped).".into())
    }

    fn control(&self, verb: &str) -> anyhow::Result<()> {
        if !self.installed() {
            anyhow::bail!(
                "連携サービスはインストールされていません (not installed): no {}; install it with `lanscope-connector service install`",
                self.unit_path().display()
            );
        }
        if let Some(reason) = self.unavailable() {
            anyhow::bail!("cannot {verb} the service: {reason}");
        }
        self.systemctl_ok(&[verb, UNIT_NAME])
    }

    pub fn state(&self) -> ServiceState {
        if !self.installed() {
            return ServiceState::NotInstalled;
        }
        if let Some(reason) = self.unavailable() {
            return ServiceState::Unknown(reason);
        }
        // `is-active` answers on standard output and exits non-zero for anything but active.
        match self.systemctl(&["is-active", UNIT_NAME]) {
            Ok(output) => {
                let state = String::from_utf8_lossy(&output.stdout).trim().to_string();
                match state.as_str() {
                    "active" | "reloading" => ServiceState::Running,
                    "activating" | "deactivating" => ServiceState::Pending(state),
                    "" => ServiceState::Unknown(String::from_utf8_lossy(&output.stderr).trim().to_string()),
                    _ => ServiceState::Stopped(state),
                }
            }
            Err(e) => ServiceState::Unknown(format!("{e:#}")),
        }
    }

    pub fn restart_if_running(&self) -> anyhow::Result<Restart> {
        Ok(match self.state() {
            ServiceState::NotInstalled => Restart::NotInstalled,
            ServiceState::Unknown(reason) => Restart::Unknown(reason),
            ServiceState::Stopped(_) => Restart::NotRunning,
            ServiceState::Running | ServiceState::Pending(_) => {
                self.systemctl_ok(&["try-restart", UNIT_NAME])?;
                Restart::Restarted
            }
        })
    }
}

fn hint(e: &std::io::Error) -> &'static str {
    if e.kind() == std::io::ErrorKind::PermissionDenied { " (installing a service needs root: use sudo)" } else { "" }
}

/// Writes the unit atomically, readable by all (it holds no secret).
fn write_unit(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let fail = |e: std::io::Error| anyhow::anyhow!("cannot write {}: {e}{}", path.display(), hint(&e));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let tmp = path.with_extension("service.tmp");
    let _ = std::fs::remove_file(&tmp);
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o644);
        }
        let mut file = options.open(&tmp).map_err(fail)?;
        file.write_all(text.as_bytes()).map_err(fail)?;
        file.sync_all().map_err(fail)?;
    }
    std::fs::rename(&tmp, path).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_runs_the_daemon_with_absolute_quoted_paths_and_restarts_it() {
        let unit = unit_file(
            Path::new("/opt/lanscope connector/bin/lanscope-connector"),
            Path::new("/etc/lanscope-connector/100%\"$HOME\\.toml"),
        )
        .unwrap();
        let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
        assert_eq!(
            exec,
            r#"ExecStart="/opt/lanscope connector/bin/lanscope-connector" --config "/etc/lanscope-connector/100%%\"$$HOME\\.toml" run"#
        );
        for line in ["Restart=always", "WantedBy=multi-user.target", "Type=simple", "[Service]", "[Install]"] {
            assert!(unit.lines().any(|l| l == line), "{line} missing:\n{unit}");
        }
        assert!(unit.contains(&format!("Description={DISPLAY_NAME}")));
    }

    #[test]
    fn a_path_with_a_newline_cannot_go_into_a_unit() {
        assert!(quote(Path::new("/tmp/a\nExecStartPre=/bin/evil")).is_err());
    }
}
