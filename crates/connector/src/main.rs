//! `lanscope-connector`: the 連携サービス command line.
#![forbid(unsafe_code)]

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lanscope_connector::config::{self, Config, DEFAULT_SERVER_URL};
use lanscope_connector::delivery::{DeliveryError, RetryPolicy};
use lanscope_connector::sender::{SendError, Sender};
use lanscope_connector::service::{self, Restart, ServiceOptions, ServiceState};
use lanscope_connector::{OnceOutcome, local_dir, logging, run_daemon, run_once, status};
use loginrec_rules::{AccessToken, CompanyCode};

#[derive(Parser)]
#[command(name = "lanscope-connector", version, about = "勤革時 ログイン記録 LanScope 連携サービス")]
struct Cli {
    /// Configuration file (default: the platform's configuration folder).
    #[arg(long, global = true, env = "LANSCOPE_CONNECTOR_CONFIG")]
    config: Option<PathBuf>,
    /// Folder of the systemd unit file (for tests).
    #[arg(long, global = true, hide = true, env = "LANSCOPE_CONNECTOR_UNIT_DIR")]
    unit_dir: Option<PathBuf>,
    /// Never call systemctl (for tests).
    #[arg(long, global = true, hide = true, env = "LANSCOPE_CONNECTOR_NO_SYSTEMCTL",
          value_parser = clap::builder::FalseyValueParser::new(), default_value_t = false)]
    no_systemctl: bool,
    /// The systemctl program to call (for tests).
    #[arg(long, global = true, hide = true, env = "LANSCOPE_CONNECTOR_SYSTEMCTL")]
    systemctl: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// 連携サービスの設定: company code, access token and LanScope's CSV output folder.
    #[command(group(clap::ArgGroup::new("token").args(["access_token", "access_token_stdin"])))]
    Register {
        /// 企業コード (3 or 6 letters/digits)
        #[arg(long, required_unless_present = "check", requires = "token")]
        company_code: Option<String>,
        /// アクセストークン (32 letters/digits). コマンドラインの値はプロセス一覧 (ps、タスクマネージャー)
        /// で他のユーザーにも見えます: --access-token-stdin を推奨します (a token on the command line is
        /// visible to other users in the process list: prefer --access-token-stdin).
        #[arg(long, requires = "company_code")]
        access_token: Option<String>,
        /// アクセストークンを標準入力から読む (推奨) (read the access token from standard input, one
        /// line, spaces trimmed; preferred: it never shows in the process list). On a terminal it is
        /// asked for and not shown as it is typed.
        #[arg(long, requires = "company_code")]
        access_token_stdin: bool,
        /// ログサーバーのログ出力先 (LanScope's OUTPUTDIR; default C:\TEMP on Windows)
        #[arg(long, requires = "company_code")]
        log_dir: Option<PathBuf>,
        /// ログイン記録 server URL: https://, or http:// for this machine only (127.0.0.1, ::1, localhost)
        /// [default: http://127.0.0.1:8080]
        #[arg(long, requires = "company_code")]
        server: Option<String>,
        /// 接続を確認する: try the company code and token against the server (no log is sent).
        /// Alone, it checks the saved settings without changing them.
        #[arg(long)]
        check: bool,
    },
    /// プロキシサーバーの設定
    Proxy {
        /// プロキシを使う (use a proxy): with --address, and --port unless the address has one.
        #[arg(long, conflicts_with = "disable", requires = "address")]
        enable: bool,
        /// プロキシを使わない (stop using the proxy); the stored user and password are forgotten.
        #[arg(long, conflicts_with_all = ["address", "port", "user", "password_stdin"])]
        disable: bool,
        /// プロキシのアドレス (proxy address): a host name, an IP address ([IPv6] too), or a URL such as
        /// http://proxy.example.jp:8080 (no path, no user: use --user; the proxy is spoken to in http, never https://).
        #[arg(long, value_name = "HOST|URL")]
        address: Option<String>,
        /// プロキシのポート番号 (proxy port, 1-65535); may be left out when --address has the port.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
        port: Option<u16>,
        /// 認証プロキシのユーザー名 (user of an authenticating proxy, Basic authentication). The password
        /// is asked for on a terminal, or read from standard input when it is piped in.
        #[arg(long)]
        user: Option<String>,
        /// パスワードを標準入力から読む (read the proxy password from standard input); what happens
        /// anyway with --user when standard input is not a terminal.
        #[arg(long, requires = "user")]
        password_stdin: bool,
    },
    /// Shows the configuration, what is queued, and the last error.
    Status,
    /// Runs the connector in the foreground.
    Run {
        /// Process what is in the folder, deliver it, and exit (0 only when all is delivered).
        #[arg(long)]
        once: bool,
    },
    /// 連携サービスとして登録・操作する (systemd on Linux, the service manager on Windows).
    Service {
        #[command(subcommand)]
        action: ServiceAction,
    },
}

#[derive(Subcommand)]
enum ServiceAction {
    /// Registers the service to start with the machine, and starts it.
    Install,
    /// Stops and removes the service; the configuration and the outbox stay unless --purge.
    Uninstall {
        /// Also remove the configuration, the rows waiting to be sent, and the log files.
        #[arg(long)]
        purge: bool,
    },
    /// Starts the installed service.
    Start,
    /// Stops the service; the batch being sent is finished first.
    Stop,
    /// Shows whether the service is installed and running (exit 0 only when it runs).
    Status,
    /// The entry the service manager starts.
    #[command(hide = true)]
    Run,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config_path = cli.config.clone().unwrap_or_else(config::default_config_path);
    // Services start in a folder of the system's choosing: work with absolute paths only.
    let config_path = std::path::absolute(&config_path).unwrap_or(config_path);
    // `run` and the service log to a file beside the outbox as well. A service has no console:
    // even when its configuration cannot be read, the reason goes to a file beside it.
    let log_dir = match &cli.command {
        Command::Run { .. } => Config::load(&config_path).ok().map(|c| logging::log_dir(&c.data_dir(&config_path))),
        Command::Service { action: ServiceAction::Run } => Some(logging::log_dir(
            &Config::load(&config_path)
                .map(|c| c.data_dir(&config_path))
                .unwrap_or_else(|_| config_path.parent().map(Path::to_path_buf).unwrap_or_default()),
        )),
        _ => None,
    };
    logging::init(log_dir.as_deref());
    let options = ServiceOptions {
        unit_dir: cli.unit_dir.clone(),
        no_systemctl: cli.no_systemctl,
        systemctl: cli.systemctl.clone(),
    };
    match execute(cli.command, config_path, &options) {
        Ok(code) => code,
        Err(e) => {
            tracing::debug!(error = %format!("{e:#}"), "The command failed.");
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

/// Ctrl+C, and on Unix also SIGTERM (what systemd sends to stop the service).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("Asked to stop.");
}

/// After the configuration changed: a running service is restarted to use it.
fn restart_service(options: &ServiceOptions) -> ExitCode {
    match service::restart_if_running(options) {
        Ok(Restart::Restarted) => {
            println!("連携サービスを再起動しました (restarted): the service uses the new settings.");
            ExitCode::SUCCESS
        }
        Ok(Restart::NotRunning) => {
            println!(
                "連携サービスは停止しています (the service is installed but not running): start it with `lanscope-connector service start`."
            );
            ExitCode::SUCCESS
        }
        Ok(Restart::NotInstalled) => {
            println!(
                "連携サービスはインストールされていません (no service is installed): install it with `lanscope-connector service install`, or run `lanscope-connector run`."
            );
            ExitCode::SUCCESS
        }
        Ok(Restart::Unknown(reason)) => {
            println!(
                "連携サービスの状態が分かりません (cannot tell whether the service runs: {reason}); restart it to use the new settings."
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "連携サービスを再起動できませんでした (the service could not be restarted; the settings are saved): {e:#}"
            );
            ExitCode::from(1)
        }
    }
}

/// `register --check`: one request to the server with the saved settings.
fn check_connection(config: &Config) -> anyhow::Result<ExitCode> {
    let sender = Sender::new(config)?;
    match runtime()?.block_on(sender.check()) {
        Ok(()) => {
            println!("接続を確認しました (the server accepted the company code and token)");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            tracing::debug!(error = %e, "The check failed.");
            eprintln!("接続を確認できませんでした (the check failed): {e}");
            Ok(ExitCode::from(e.exit_code()))
        }
    }
}

/// The proxy password: asked for on a terminal (not shown as it is typed, where the terminal
/// allows), otherwise read from standard input. It is never printed.
fn read_proxy_password(from_stdin: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() && !from_stdin {
        let hidden = HiddenInput::start();
        if hidden.is_some() {
            eprint!("プロキシのパスワード (proxy password): ");
        } else {
            eprint!("プロキシのパスワード (proxy password; 入力した文字は表示されます / what you type is shown): ");
        }
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        let read = stdin.lock().read_line(&mut line);
        if hidden.is_some() {
            // The Enter key was not shown either.
            eprintln!();
        }
        drop(hidden);
        read?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let mut text = String::new();
        stdin.lock().read_to_string(&mut text)?;
        text.trim_end_matches(['\r', '\n']).to_string()
    };
    if password.is_empty() {
        anyhow::bail!(
            "プロキシのパスワードが必要です (the proxy password is required with --user): type it when asked, or \
             give it on standard input"
        );
    }
    Ok(password)
}

/// `register --access-token-stdin`: one line of standard input, spaces trimmed. On a terminal
/// it is asked for, and not shown as it is typed where the terminal allows. Never printed.
fn read_access_token() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let mut line = String::new();
    if stdin.is_terminal() {
        let hidden = HiddenInput::start();
        if hidden.is_some() {
            eprint!("アクセストークン (access token): ");
        } else {
            eprint!("アクセストークン (access token; 入力した文字は表示されます / what you type is shown): ");
        }
        let _ = std::io::stderr().flush();
        let read = stdin.lock().read_line(&mut line);
        if hidden.is_some() {
            eprintln!();
        }
        drop(hidden);
        read?;
    } else {
        stdin.lock().read_line(&mut line)?;
    }
    let token = line.trim();
    if token.is_empty() {
        anyhow::bail!(
            "アクセストークンが標準入力にありません (no access token on standard input): give it as one line, e.g. \
             `lanscope-connector register --access-token-stdin … < token.txt`"
        );
    }
    Ok(token.to_string())
}

/// Turns the terminal's echo off while it lives (Unix, through `stty`); `None` where it
/// cannot, and the password is then read as typed.
#[cfg_attr(not(unix), allow(dead_code))]
struct HiddenInput;

impl HiddenInput {
    fn start() -> Option<HiddenInput> {
        #[cfg(unix)]
        if stty("-echo") {
            return Some(HiddenInput);
        }
        None
    }
}

impl Drop for HiddenInput {
    fn drop(&mut self) {
        #[cfg(unix)]
        stty("echo");
    }
}

/// `stty` on the terminal this process reads from.
#[cfg(unix)]
fn stty(setting: &str) -> bool {
    std::process::Command::new("stty")
        .arg(setting)
        .stdin(std::process::Stdio::inherit())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn execute(command: Command, config_path: PathBuf, options: &ServiceOptions) -> anyhow::Result<ExitCode> {
    match command {
        Command::Register { company_code, access_token, access_token_stdin, log_dir, server, check } => {
            let Some(company_code) = company_code else {
                // `--check` alone: the saved settings, unchanged.
                let config = Config::load(&config_path)?;
                return check_connection(&config);
            };
            let code = CompanyCode::parse(&company_code)?;
            let access_token = match access_token {
                Some(token) => token,
                None if access_token_stdin => read_access_token()?,
                None => {
                    anyhow::bail!("--access-token-stdin か --access-token を指定してください (give the access token)")
                }
            };
            let token = AccessToken::parse(&access_token)?;
            let server = server.unwrap_or_else(|| DEFAULT_SERVER_URL.to_string());
            let log_dir = log_dir
                .or_else(config::default_log_dir)
                .ok_or_else(|| anyhow::anyhow!("--log-dir is required: the folder LanScope writes its CSV files to"))?;
            if let Some(reason) = local_dir::refuse_reason(&log_dir) {
                anyhow::bail!("ログ出力先を登録できません (cannot use the log folder): {reason}");
            }
            let log_dir = dunce::canonicalize(&log_dir).unwrap_or(log_dir);
            let mut config = match Config::load(&config_path) {
                Ok(existing) => existing,
                Err(config::ConfigError::Missing(_)) => {
                    Config::new(code.clone(), &token, log_dir.clone(), server.clone())
                }
                Err(e) => return Err(e.into()),
            };
            config.company_code = code.to_string();
            config.access_token = token.expose().to_string();
            config.log_dir = log_dir;
            config.server_url = server;
            config.validate().map_err(|m| anyhow::anyhow!(m))?;
            config.check_transport().map_err(|m| anyhow::anyhow!("登録できません (not registered): {m}"))?;
            config.save(&config_path)?;
            println!("登録しました (registered): {}", config_path.display());
            if !check {
                println!(
                    "サーバーとの接続は `lanscope-connector register --check` で確認できます \
                     (run `lanscope-connector register --check` to try the company code and token against the server)."
                );
            }
            let restarted = restart_service(options);
            if !check {
                return Ok(restarted);
            }
            let checked = check_connection(&config)?;
            Ok(if checked == ExitCode::SUCCESS { restarted } else { checked })
        }
        Command::Proxy { enable, disable, address, port, user, password_stdin } => {
            let mut config = Config::load_for_proxy_change(&config_path)?;
            if disable {
                config.proxy = config::ProxyConfig::default();
            } else if enable {
                let address = config::ProxyAddress::parse(address.as_deref().unwrap_or_default(), port)
                    .map_err(|m| anyhow::anyhow!(m))?;
                let user = user.map(|u| u.trim().to_string());
                if let Some(user) = &user {
                    if user.is_empty() {
                        anyhow::bail!("プロキシのユーザー名が空です (the proxy user is empty)");
                    }
                    if user.contains(':') {
                        anyhow::bail!(
                            "プロキシのユーザー名に「:」は使えません (the proxy user cannot contain ':', which separates \
                             it from the password in Basic authentication)"
                        );
                    }
                }
                let password = match &user {
                    Some(_) => Some(read_proxy_password(password_stdin)?),
                    None => None,
                };
                config.proxy = config::ProxyConfig {
                    enabled: true,
                    address: address.host.clone(),
                    port: address.port,
                    user,
                    password,
                };
            } else {
                anyhow::bail!(
                    "--enable (--address と --port を添えて) か --disable を指定してください \
                     (say --enable with --address and --port, or --disable)"
                );
            }
            config.validate().map_err(|m| anyhow::anyhow!(m))?;
            if config.proxy.enabled {
                config
                    .check_transport()
                    .map_err(|m| anyhow::anyhow!("プロキシ設定を保存できません (not saved): {m}"))?;
            }
            config.save(&config_path)?;
            match config.proxy.host_and_port() {
                Ok(address) if config.proxy.enabled => {
                    println!("プロキシ設定を保存しました (proxy settings saved): {address}")
                }
                _ => println!("プロキシ設定を保存しました (proxy settings saved)."),
            }
            Ok(restart_service(options))
        }
        Command::Status => {
            let config = Config::load(&config_path)?;
            let text = runtime()?.block_on(status::render(&config, &config_path))?;
            print!("{text}");
            println!("連携サービス (service):       {}", service::state(options));
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { once: true } => {
            let config = Config::load(&config_path)?;
            let outcome = runtime()?.block_on(run_once(&config, &config_path, RetryPolicy::once()))?;
            match outcome {
                OnceOutcome::Done { delivered, dead } => {
                    println!("送信完了 (delivered): {delivered} rows; dead letters: {dead}");
                    Ok(ExitCode::SUCCESS)
                }
                OnceOutcome::Failed(e) => {
                    eprintln!("送信できませんでした (not delivered; rows are kept): {e}");
                    Ok(match e {
                        DeliveryError::Stopped(SendError::TokenRejected(_)) => ExitCode::from(2),
                        DeliveryError::Stopped(SendError::ProxyAuth) => ExitCode::from(4),
                        _ => ExitCode::from(3),
                    })
                }
            }
        }
        Command::Run { once: false } => {
            let config = Config::load(&config_path)?;
            runtime()?.block_on(run_daemon(&config, &config_path, || {}, shutdown_signal()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Service { action } => service_command(action, &config_path, options),
    }
}

fn service_command(action: ServiceAction, config_path: &Path, options: &ServiceOptions) -> anyhow::Result<ExitCode> {
    let message = match action {
        ServiceAction::Install => service::install(options, config_path)?,
        ServiceAction::Uninstall { purge } => service::uninstall(options, config_path, purge)?,
        ServiceAction::Start => service::start(options)?,
        ServiceAction::Stop => service::stop(options)?,
        ServiceAction::Status => {
            let state = service::state(options);
            println!("連携サービス (service): {state}");
            return Ok(if state == ServiceState::Running { ExitCode::SUCCESS } else { ExitCode::from(3) });
        }
        ServiceAction::Run => {
            #[cfg(windows)]
            lanscope_connector::service::windows::run_dispatcher(config_path)?;
            #[cfg(not(windows))]
            {
                // Under systemd the unit runs `run`; this is the same.
                let config = Config::load(config_path)?;
                runtime()?.block_on(run_daemon(&config, config_path, || {}, shutdown_signal()))?;
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    println!("{message}");
    Ok(ExitCode::SUCCESS)
}
