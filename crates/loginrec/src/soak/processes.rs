//! The real processes under test: `loginrec serve` (one, or two on PostgreSQL) and the
//! `lanscope-connector` service loop, each started as its own program with its output in a log
//! file, killed with SIGKILL or stopped with SIGINT, and started again.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

/// One program the soak starts and restarts.
pub struct Program {
    pub name: String,
    program: PathBuf,
    args: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
}

impl Program {
    pub fn new(name: &str, program: &Path, args: Vec<String>, log_dir: &Path) -> Program {
        Program {
            name: name.to_string(),
            program: program.to_path_buf(),
            args,
            log: log_dir.join(format!("{name}.log")),
            child: None,
        }
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    pub fn start(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("cannot open {}", self.log.display()))?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .env("RUST_LOG", "info,sqlx=warn")
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", self.program.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILL: no chance to finish anything.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// SIGINT, as Ctrl-C: the server finishes the requests in flight; killed after `grace`.
    pub async fn interrupt(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else { return };
        if let Some(pid) = child.id() {
            let _ = Command::new("kill").arg("-INT").arg(pid.to_string()).status().await;
        }
        if tokio::time::timeout(grace, child.wait()).await.is_err() {
            let _ = child.kill().await;
        }
    }

    /// Whether the program ended by itself, and how.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// Runs the program to its end (for `run --once`), within `limit`.
    pub async fn run_to_end(&mut self, limit: Duration) -> anyhow::Result<std::process::ExitStatus> {
        self.start()?;
        let Some(child) = self.child.as_mut() else { bail!("{} did not start", self.name) };
        match tokio::time::timeout(limit, child.wait()).await {
            Ok(status) => {
                self.child = None;
                Ok(status?)
            }
            Err(_) => {
                self.kill().await;
                bail!("{} did not finish within {limit:?}", self.name)
            }
        }
    }
}

/// A free port on the loopback address (bound and released: the server binds it again).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until the server at `base` answers `/healthz`.
pub async fn wait_healthy(base: &str, limit: Duration) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(2)).build()?;
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("{base} did not become healthy within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The `lanscope-connector` program beside this one (cargo builds both into one folder), unless
/// named.
pub fn connector_program(named: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = named {
        return Ok(path.to_path_buf());
    }
    let here = std::env::current_exe()?;
    let beside = here.with_file_name(format!("lanscope-connector{}", std::env::consts::EXE_SUFFIX));
    if !beside.exists() {
        bail!(
            "{} がありません。cargo build --bin lanscope-connector でビルドするか --connector で指定してください \
             (build the connector beside loginrec, or name it with --connector)",
            beside.display()
        );
    }
    Ok(beside)
}
