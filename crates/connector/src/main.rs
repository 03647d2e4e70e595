//! `lanscope-connector`: the 連携サービス command line.
#![forbid(unsafe_code)]

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lanscope_connector::config::{self, Config, DEFAULT_SERVER_URL};
use lanscope_connector::delivery::{DeliveryError, RetryPolicy};
use lanscope_connector::sender::SendError;
use lanscope_connector::{OnceOutcome, local_dir, run_daemon, run_once, status};
use loginrec_rules::{AccessToken, CompanyCode};

#[derive(Parser)]
#[command(name = "lanscope-connector", version, about = "勤革時 ログイン記録 LanScope 連携サービス")]
struct Cli {
    /// Configuration file (default: the platform's configuration folder).
    #[arg(long, global = true, env = "LANSCOPE_CONNECTOR_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// 連携サービスの設定: company code, access token and LanScope's CSV output folder.
    Register {
        /// 企業コード (3 or 6 letters/digits)
        #[arg(long)]
        company_code: String,
        /// アクセストークン (32 letters/digits)
        #[arg(long)]
        access_token: String,
        /// ログサーバーのログ出力先 (LanScope's OUTPUTDIR; default C:\TEMP on Windows)
        #[arg(long)]
        log_dir: Option<PathBuf>,
        /// ログイン記録 server URL
        #[arg(long, default_value = DEFAULT_SERVER_URL)]
        server: String,
    },
    /// プロキシサーバーの設定
    Proxy {
        #[arg(long, conflicts_with = "disable", requires_all = ["address", "port"])]
        enable: bool,
        #[arg(long)]
        disable: bool,
        #[arg(long)]
        address: Option<String>,
        #[arg(long)]
        port: Option<u16>,
        /// User of an authenticating proxy.
        #[arg(long)]
        user: Option<String>,
        /// Read the proxy password from standard input.
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
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let config_path = cli.config.clone().unwrap_or_else(config::default_config_path);
    match execute(cli.command, config_path) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

fn execute(command: Command, config_path: PathBuf) -> anyhow::Result<ExitCode> {
    match command {
        Command::Register { company_code, access_token, log_dir, server } => {
            let code = CompanyCode::parse(&company_code)?;
            let token = AccessToken::parse(&access_token)?;
            let log_dir = log_dir
                .or_else(config::default_log_dir)
                .ok_or_else(|| anyhow::anyhow!("--log-dir is required: the folder LanScope writes its CSV files to"))?;
            if let Some(reason) = local_dir::refuse_reason(&log_dir) {
                anyhow::bail!("ログ出力先を登録できません (cannot use the log folder): {reason}");
            }
            let log_dir = std::fs::canonicalize(&log_dir).unwrap_or(log_dir);
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
            config.save(&config_path)?;
            println!("登録しました (registered): {}", config_path.display());
            println!(
                "連携サービスは稼働していません (no connector service is running): start it with `lanscope-connector run`."
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Proxy { enable, disable, address, port, user, password_stdin } => {
            let mut config = Config::load(&config_path)?;
            if disable {
                config.proxy = config::ProxyConfig::default();
            } else if enable {
                let password = if password_stdin {
                    let mut text = String::new();
                    std::io::stdin().read_to_string(&mut text)?;
                    Some(text.trim_end_matches(['\r', '\n']).to_string())
                } else {
                    None
                };
                config.proxy = config::ProxyConfig {
                    enabled: true,
                    address: address.unwrap_or_default(),
                    port: port.unwrap_or_default(),
                    user,
                    password,
                };
            } else {
                anyhow::bail!("say --enable (with --address and --port) or --disable");
            }
            config.validate().map_err(|m| anyhow::anyhow!(m))?;
            config.save(&config_path)?;
            println!("プロキシ設定を保存しました (proxy settings saved).");
            Ok(ExitCode::SUCCESS)
        }
        Command::Status => {
            let config = Config::load(&config_path)?;
            let text = runtime()?.block_on(status::render(&config, &config_path))?;
            print!("{text}");
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
            runtime()?.block_on(run_daemon(&config, &config_path, async {
                let _ = tokio::signal::ctrl_c().await;
            }))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
