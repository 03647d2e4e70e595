//! `loginrec-bench`: benchmarks of ログイン記録 that print ratios measured within one run, so
//! that the figure to compare holds on a noisy machine where absolute times do not. Kept out of
//! the `loginrec` binary: a production server has no use for them.
#![forbid(unsafe_code)]

mod connector;
mod csv_read;
mod end_to_end;
mod ingest;
mod kot;
mod masters;
mod report;
mod workload;
mod year;

use clap::{Parser, Subcommand};
use loginrec_store::DEFAULT_DATABASE_URL;

#[derive(Parser)]
#[command(name = "loginrec-bench", version, about = "ログイン記録 benchmarks: ratios measured in one run")]
struct Cli {
    /// Engine to measure: sqlite://… (a temporary file is used) or postgres://USER@HOST/DB (a
    /// database is created on that server and dropped afterwards).
    #[arg(long, global = true, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The 05:00 burst of one company through the ingest API, against a raw batched insert of
    /// the same rows, on a fresh database.
    Ingest {
        /// Employees of the company; each has four logs (two logons, two logoffs) that day.
        #[arg(long, default_value_t = 100_000)]
        employees: usize,
        /// Ingest requests in flight at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// The LanScope CSV reader against the raw csv crate, on UTF-8 and CP932 text.
    Csv,
    /// The lanscope-connector process reading one large CP932 file into its outbox, against
    /// the raw csv crate over the same file, with the connector's peak memory.
    Connector {
        /// Size of the file, MiB.
        #[arg(long, default_value_t = 512)]
        mib: u64,
    },
    /// A company's day from CP932 files through the connector, HTTP and the server into
    /// punches, against the database's own bulk load of the same rows.
    EndToEnd {
        #[arg(long, default_value_t = 100_000)]
        employees: usize,
    },
    /// The employee import and the 連携設定 import of a whole company, each against a raw
    /// multi-row upsert of the same pairs, on a fresh database.
    Masters {
        #[arg(long, default_value_t = 100_000)]
        employees: usize,
    },
    /// The embedded KING OF TIME API's GET /daily-workings/timerecord over a long period and
    /// over half of it.
    Kot {
        #[arg(long, default_value_t = 1_000)]
        employees: usize,
        /// The period, days (the API answers at most 62).
        #[arg(long, default_value_t = 62)]
        days: usize,
    },
    /// ログ表示 over a year of logs: each filter, first to last page.
    Year {
        /// Employees of the company (each account's logs are as many as at 100 000).
        #[arg(long, default_value_t = 1_000)]
        employees: usize,
        #[arg(long, default_value_t = 365)]
        days: usize,
    },
    /// Every measurement, one after the other: csv, connector on 512 MiB and on 1 GiB, then
    /// end to end, masters, ingest, ログ表示 over a year and the KING OF TIME API on the database of --database-url and, when given, on PostgreSQL.
    All {
        #[arg(long, default_value_t = 100_000)]
        employees: usize,
        /// A PostgreSQL server to measure ingest on as well (postgres://USER@HOST/DB).
        #[arg(long)]
        postgres_url: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Ingest { employees, concurrency } => {
            ingest::run(&cli.database_url, employees, concurrency.max(1)).await
        }
        Command::Csv => csv_read::run(),
        Command::Connector { mib } => {
            connector::run(mib).await?.print();
            Ok(())
        }
        Command::EndToEnd { employees } => end_to_end::run(&cli.database_url, employees).await,
        Command::Masters { employees } => masters::run(&cli.database_url, employees).await,
        Command::Kot { employees, days } => kot::run(&cli.database_url, employees, days).await,
        Command::Year { employees, days } => year::run(&cli.database_url, employees, days).await,
        Command::All { employees, postgres_url } => {
            println!("== LanScope CSV reading");
            csv_read::run()?;
            for mib in [512, 1024] {
                println!("== connector, {mib} MiB");
                connector::run(mib).await?.print();
            }
            let mut engines = vec![cli.database_url.clone()];
            engines.extend(postgres_url);
            for url in &engines {
                let engine = if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
                println!("== end to end, {engine}");
                end_to_end::run(url, employees).await?;
                println!("== masters, {engine}");
                masters::run(url, employees).await?;
                println!("== ingest, {engine}");
                ingest::run(url, employees, 4).await?;
                println!("== ログ表示 over a year, {engine}");
                year::run(url, 1_000, 365).await?;
                println!("== KING OF TIME API, {engine}");
                kot::run(url, 1_000, 62).await?;
            }
            Ok(())
        }
    }
}
