//! `loginrec`: the ログイン記録 server with the embedded 勤革時 module, its operator commands,
//! and (with the default feature `demo`) the demo and the LanScope simulator, which link the
//! connector; `cargo build --release -p loginrec --no-default-features` builds the server
//! without them.
#![forbid(unsafe_code)]

mod commands;
#[cfg(feature = "demo")]
mod demo;
mod masters;
#[cfg(feature = "demo")]
mod simulate;
#[cfg(feature = "demo")]
mod soak;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use loginrec_rules::retention;
use loginrec_store::DEFAULT_DATABASE_URL;

#[derive(Parser)]
#[command(name = "loginrec", version, about = "勤革時 ログイン記録: LanScope PC logs become attendance punches")]
struct Cli {
    /// Database: sqlite://PATH (default) or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server (ingest API and pages).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// A reverse proxy terminates TLS in front of this server: trust its X-Forwarded-For
        /// and X-Forwarded-Host, and send the session cookie as Secure.
        #[arg(long)]
        behind_proxy: bool,
        /// Local time (company time zone) of the daily 勤革時連携 (連携実行).
        #[arg(long, default_value = "03:00")]
        employee_sync_at: loginrec_rules::DayChangeTime,
        /// Keep received logs this many years (at least 3, the statutory minimum).
        #[arg(long, default_value_t = retention::DEFAULT_YEARS,
              value_parser = clap::value_parser!(u16).range(i64::from(retention::MIN_YEARS)..))]
        retention_years: u16,
        /// How often this process looks for due background jobs.
        #[arg(long, default_value_t = 30)]
        job_poll_seconds: u64,
    },
    /// Applies database migrations and exits.
    Migrate,
    /// Copies the SQLite database into a new file, safely while the server runs.
    Backup {
        #[arg(long)]
        to: PathBuf,
    },
    /// Deletes received logs older than the given number of years now (at least 3).
    Purge {
        #[arg(long, value_parser = clap::value_parser!(u16).range(i64::from(retention::MIN_YEARS)..))]
        older_than_years: u16,
    },
    /// 企業: create a company, issue its LanScope access token.
    #[command(subcommand)]
    Company(CompanyCommand),
    /// Administrator accounts of the web UI.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// 所属設定: import departments (a changed 日付変更時間 holds from --effective-from).
    #[command(subcommand)]
    Department(DatedImportCommand),
    /// 従業員設定: import employees (a changed 所属 holds from --effective-from).
    #[command(subcommand)]
    Employee(DatedImportCommand),
    /// タイムカード: enter or clear a 手入力 punch.
    #[command(subcommand)]
    Punch(PunchCommand),
    /// The punch cache: derive it again from the stored logs and histories.
    #[command(subcommand)]
    Punches(PunchesCommand),
    /// 連携設定: export or import サービスアカウント links.
    #[command(subcommand)]
    Link(LinkCommand),
    /// 日別データ: export punches.
    #[command(subcommand)]
    Timecard(TimecardCommand),
    /// Simulators for tests, demos and benchmarks.
    #[cfg(feature = "demo")]
    #[command(subcommand)]
    Simulate(SimulateCommand),
    /// Runs a complete demo on its own SQLite database: server, simulated LanScope output, connector.
    #[cfg(feature = "demo")]
    Demo {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Where the demo keeps its database and files (reset on every run).
        #[arg(long, default_value = "./data/demo")]
        data_dir: PathBuf,
        /// Number of simulated employees.
        #[arg(long, default_value_t = 20)]
        users: usize,
        /// Exit after the punches are delivered instead of serving until Ctrl-C.
        #[arg(long)]
        no_serve: bool,
    },
    /// Conservation under faults: the real connector and server processes, simulated LanScope
    /// files written badly, a proxy breaking requests and answers, processes killed and started
    /// again; then every generated row and every ground-truth punch is counted. Fails on any
    /// difference. With --database-url postgres://… a fresh database is created on that server
    /// (and dropped), and two server processes run; otherwise SQLite in --data-dir.
    #[cfg(feature = "demo")]
    Soak {
        /// Number of simulated employees.
        #[arg(long, default_value_t = 50)]
        users: usize,
        /// Number of LanScope days (one file each).
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// How long the faults go on, in minutes.
        #[arg(long, default_value_t = 2.0)]
        minutes: f64,
        /// Seed of the simulation and of the faults: the same seed draws the same faults.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The share of requests that meet a fault (0–1).
        #[arg(long, default_value_t = 0.4)]
        fault_rate: f64,
        /// Where the soak keeps its files and its SQLite database (emptied first).
        #[arg(long, default_value = "./data/soak")]
        data_dir: PathBuf,
        /// The lanscope-connector program (default: beside this one).
        #[arg(long)]
        connector: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum CompanyCommand {
    /// Creates a company.
    Create {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "Asia/Tokyo")]
        timezone: String,
    },
    /// Enables LanScope integration and issues a new access token (the last line printed);
    /// the previous token stops working.
    IssueToken {
        #[arg(long)]
        code: String,
    },
    /// Issues a token for the attendance module's KING OF TIME-shaped API (/api/v1.0/), the
    /// last line printed; the previous one stops working.
    IssueApiToken {
        #[arg(long)]
        code: String,
    },
    /// Sends the company's punches to a remote KING OF TIME-shaped service instead of the
    /// embedded module (the service's token is read from standard input); also resumes
    /// sending after a rejected token or a redirect.
    SetRemote {
        #[arg(long)]
        code: String,
        /// Base URL of the API, e.g. https://api.example.com/v1.0. Its host must resolve, and
        /// not to this machine, a link-local or a private address (see --allow-private).
        #[arg(long)]
        base_url: String,
        /// Wait this long after a business day ends before sending its 退勤.
        #[arg(long, default_value_t = 60)]
        settle_minutes: i64,
        #[arg(long, required = true)]
        token_stdin: bool,
        /// Accept a service on this machine (127.0.0.0/8, ::1, localhost), a link-local address
        /// (169.254.0.0/16, fe80::/10) or a private network (10/8, 172.16/12, 192.168/16,
        /// 100.64/10, fc00::/7): a local test service, or one inside the company's network.
        #[arg(long)]
        allow_private: bool,
    },
    /// Sends the company's punches to the embedded attendance module again.
    SetEmbedded {
        #[arg(long)]
        code: String,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Creates a company administrator, or sets a new password; the password is read from
    /// standard input.
    Create {
        /// Company code; leave out for an operator (support center) account.
        #[arg(long)]
        company: Option<String>,
        #[arg(long)]
        login_id: String,
        /// Read the password from standard input (the only way: it never appears in `ps`).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum DatedImportCommand {
    /// Imports a CSV file (CP932 or UTF-8) and prints the employee-days whose punches changed.
    Import {
        #[arg(long)]
        company: String,
        file: PathBuf,
        /// First business date a changed value holds for (YYYY-MM-DD); earlier days keep the
        /// old one. Default: the current business date. New rows hold from the beginning.
        #[arg(long)]
        effective_from: Option<jiff::civil::Date>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    #[value(name = "出勤", alias = "clock-in")]
    ClockIn,
    #[value(name = "退勤", alias = "clock-out")]
    ClockOut,
}

impl KindArg {
    fn kind(self) -> loginrec_rules::PunchKind {
        match self {
            KindArg::ClockIn => loginrec_rules::PunchKind::ClockIn,
            KindArg::ClockOut => loginrec_rules::PunchKind::ClockOut,
        }
    }
}

#[derive(Subcommand)]
enum PunchCommand {
    /// Enters or corrects the 手入力 punch of an employee's business day.
    Set {
        #[arg(long)]
        company: String,
        /// 従業員コード (打刻先アカウント).
        #[arg(long)]
        employee: String,
        /// Business date (YYYY-MM-DD).
        #[arg(long)]
        date: jiff::civil::Date,
        #[arg(long, value_enum)]
        kind: KindArg,
        /// 'YYYY-MM-DD HH:MM', company time.
        #[arg(long)]
        at: String,
    },
    /// Clears the 手入力 punch: the day gets back what PC logs and the API say.
    Clear {
        #[arg(long)]
        company: String,
        #[arg(long)]
        employee: String,
        #[arg(long)]
        date: jiff::civil::Date,
        #[arg(long, value_enum)]
        kind: KindArg,
    },
}

#[derive(Subcommand)]
enum PunchesCommand {
    /// Derives every punch of the period from scratch, prints each employee-day that differs
    /// from the stored punches and `N日の打刻が異なります`, and writes the result.
    Rebuild {
        #[arg(long)]
        company: String,
        /// First business date (default: the first ever).
        #[arg(long)]
        from: Option<jiff::civil::Date>,
        /// Last business date (default: the last ever).
        #[arg(long)]
        to: Option<jiff::civil::Date>,
        /// Only report: write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum EncodingArg {
    Cp932,
    Utf8,
}

#[derive(Subcommand)]
enum LinkCommand {
    /// Writes the 連携設定 CSV to standard output.
    Export {
        #[arg(long)]
        company: String,
        #[arg(long, value_enum, default_value = "cp932")]
        encoding: EncodingArg,
    },
    /// Updates the サービスアカウント of the users listed in the file; all or nothing.
    Import {
        #[arg(long)]
        company: String,
        file: PathBuf,
        /// The moment the rows' links hold from, 'YYYY-MM-DD HH:MM' company time (default
        /// now). An account's first holder holds it from the beginning.
        #[arg(long)]
        effective_from: Option<String>,
    },
}

#[derive(Subcommand)]
enum TimecardCommand {
    /// Writes the punches of a period as UTF-8 CSV to standard output.
    Export {
        #[arg(long)]
        company: String,
        #[arg(long)]
        from: jiff::civil::Date,
        #[arg(long)]
        to: jiff::civil::Date,
    },
}

#[cfg(feature = "demo")]
#[derive(Clone, Copy, ValueEnum)]
enum LayoutArg {
    Events,
    Summary,
}

#[cfg(feature = "demo")]
#[derive(Subcommand)]
enum SimulateCommand {
    /// Writes LanScope manager CSV files for simulated PC activity, the master files
    /// (departments.csv, employees.csv, links.csv) and expected-punches.csv.
    Lanscope {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 20)]
        users: usize,
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// First LanScope day (YYYY-MM-DD).
        #[arg(long)]
        start: jiff::civil::Date,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, value_enum, default_value = "events")]
        layout: LayoutArg,
        #[arg(long, value_enum, default_value = "cp932")]
        encoding: EncodingArg,
        /// Write each LanScope file slowly, in small pieces this many milliseconds apart, as a
        /// manager still at work would.
        #[arg(long, default_value_t = 0)]
        slow_write_ms: u64,
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
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let url = cli.database_url;
    match cli.command {
        Command::Serve { listen, behind_proxy, employee_sync_at, retention_years, job_poll_seconds } => {
            let jobs = loginrec_worker::jobs::JobSettings {
                employee_sync_at: employee_sync_at.as_time(),
                retention_years,
                poll: std::time::Duration::from_secs(job_poll_seconds.max(1)),
                ..Default::default()
            };
            commands::serve(&url, listen, behind_proxy, jobs).await
        }
        Command::Migrate => commands::migrate(&url).await,
        Command::Backup { to } => commands::backup(&url, &to).await,
        Command::Purge { older_than_years } => commands::purge(&url, older_than_years).await,
        Command::Company(CompanyCommand::Create { code, name, timezone }) => {
            commands::company_create(&url, &code, &name, &timezone).await
        }
        Command::Company(CompanyCommand::IssueToken { code }) => commands::issue_token(&url, &code).await,
        Command::Company(CompanyCommand::IssueApiToken { code }) => commands::issue_api_token(&url, &code).await,
        Command::Company(CompanyCommand::SetRemote {
            code,
            base_url,
            settle_minutes,
            token_stdin: _,
            allow_private,
        }) => commands::set_remote(&url, &code, &base_url, settle_minutes, allow_private).await,
        Command::Company(CompanyCommand::SetEmbedded { code }) => commands::set_embedded(&url, &code).await,
        Command::Admin(AdminCommand::Create { company, login_id, password_stdin: _ }) => {
            commands::admin_create(&url, company.as_deref(), &login_id).await
        }
        Command::Department(DatedImportCommand::Import { company, file, effective_from }) => {
            commands::department_import(&url, &company, &file, effective_from).await
        }
        Command::Employee(DatedImportCommand::Import { company, file, effective_from }) => {
            commands::employee_import(&url, &company, &file, effective_from).await
        }
        Command::Punch(PunchCommand::Set { company, employee, date, kind, at }) => {
            commands::punch_set(&url, &company, &employee, date, kind.kind(), &at).await
        }
        Command::Punch(PunchCommand::Clear { company, employee, date, kind }) => {
            commands::punch_clear(&url, &company, &employee, date, kind.kind()).await
        }
        Command::Punches(PunchesCommand::Rebuild { company, from, to, dry_run }) => {
            commands::punches_rebuild(&url, &company, from, to, dry_run).await
        }
        Command::Link(LinkCommand::Export { company, encoding }) => {
            let encoding = match encoding {
                EncodingArg::Cp932 => loginrec_server::links::CsvEncoding::Cp932,
                EncodingArg::Utf8 => loginrec_server::links::CsvEncoding::Utf8Bom,
            };
            commands::link_export(&url, &company, encoding).await
        }
        Command::Link(LinkCommand::Import { company, file, effective_from }) => {
            commands::link_import(&url, &company, &file, effective_from.as_deref()).await
        }
        Command::Timecard(TimecardCommand::Export { company, from, to }) => {
            commands::timecard_export(&url, &company, from, to).await
        }
        #[cfg(feature = "demo")]
        Command::Simulate(SimulateCommand::Lanscope {
            out,
            users,
            days,
            start,
            seed,
            layout,
            encoding,
            slow_write_ms,
        }) => {
            let mut config = lanscope_simulator::SimConfig::new(users, days, start);
            config.seed = seed;
            config.layout = match layout {
                LayoutArg::Events => lanscope_simulator::OutputLayout::Events,
                LayoutArg::Summary => lanscope_simulator::OutputLayout::Summary,
            };
            config.encoding = match encoding {
                EncodingArg::Cp932 => lanscope_simulator::OutputEncoding::Cp932,
                EncodingArg::Utf8 => lanscope_simulator::OutputEncoding::Utf8,
            };
            let written = simulate::write(&config, &out, &out, std::time::Duration::from_millis(slow_write_ms)).await?;
            println!(
                "{} LanScope files, {} expected punch rows written to {}",
                written.files,
                written.expected_rows,
                out.display()
            );
            Ok(())
        }
        #[cfg(feature = "demo")]
        Command::Demo { listen, data_dir, users, no_serve } => demo::run(listen, &data_dir, users, !no_serve).await,
        #[cfg(feature = "demo")]
        Command::Soak { users, days, minutes, seed, fault_rate, data_dir, connector } => {
            let postgres = url.starts_with("postgres").then(|| url.clone());
            soak::run(soak::SoakOptions { users, days, minutes, postgres, data_dir, seed, fault_rate, connector }).await
        }
    }
}
