//! `loginrec soak`: conservation under faults, with the real programs. The simulator's LanScope
//! files are written into a folder the way a real one sees them ([`lanscope`]); the real
//! `lanscope-connector` service reads them and sends them through a proxy that breaks requests
//! and answers ([`proxy`]) to the real `loginrec serve` (two processes on PostgreSQL); the
//! connector is SIGKILLed at random moments and started again, and the servers are killed or
//! stopped and started again ([`processes`]). When the time is up the faults stop, the connector
//! delivers what it still holds, and the soak counts:
//! - every generated row against the stored logs (none missing, none stored twice, none extra),
//! - every employee-day of the simulator's ground truth against the time card (its oracle is
//!   written from the specification, not with the product's rule functions).
//!
//! Any difference fails the command.

mod check;
mod lanscope;
mod processes;
mod proxy;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use jiff::ToSpan;
use lanscope_connector::config::Config;
use loginrec_rules::{AccessToken, CompanyCode};
use loginrec_store::Store;
use loginrec_store::url::{create_postgres_database, drop_postgres_database, redacted, with_database};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::demo::load_masters;
use processes::Program;
use proxy::{Fault, Proxy};

pub const SOAK_COMPANY: &str = "SOAK01";

pub struct SoakOptions {
    pub users: usize,
    pub days: u32,
    pub minutes: f64,
    /// A PostgreSQL server to create a fresh database on; SQLite in `data_dir` otherwise.
    pub postgres: Option<String>,
    pub data_dir: PathBuf,
    pub seed: u64,
    /// The share of requests that meet a fault.
    pub fault_rate: f64,
    pub connector: Option<PathBuf>,
}

/// The database the soak runs on: its own, created fresh and dropped at the end.
struct SoakDb {
    url: String,
    postgres: Option<(String, String)>,
}

impl SoakDb {
    async fn create(options: &SoakOptions) -> anyhow::Result<SoakDb> {
        match &options.postgres {
            Some(server) => {
                let name = format!("loginrec_soak_{}_{}", std::process::id(), jiff::Timestamp::now().as_second());
                create_postgres_database(server, &name)
                    .await
                    .with_context(|| format!("creating database {name} on {}", redacted(server)))?;
                Ok(SoakDb { url: with_database(server, &name), postgres: Some((server.clone(), name)) })
            }
            None => Ok(SoakDb { url: format!("sqlite://{}/soak.db", options.data_dir.display()), postgres: None }),
        }
    }

    fn engine(&self) -> &'static str {
        if self.postgres.is_some() { "PostgreSQL" } else { "SQLite" }
    }

    async fn drop(self) {
        if let Some((server, name)) = self.postgres
            && let Err(e) = drop_postgres_database(&server, &name).await
        {
            eprintln!("the soak's database {name} could not be dropped: {e}");
        }
    }
}

pub async fn run(options: SoakOptions) -> anyhow::Result<()> {
    reset(&options.data_dir)?;
    let db = SoakDb::create(&options).await?;
    let result = soak(&options, &db).await;
    db.drop().await;
    result
}

async fn soak(options: &SoakOptions, db: &SoakDb) -> anyhow::Result<()> {
    let connector_program = processes::connector_program(options.connector.as_deref())?;
    let loginrec_program = std::env::current_exe()?;
    let logs_dir = options.data_dir.join("logs");
    let lanscope_dir = options.data_dir.join("lanscope");
    std::fs::create_dir_all(&logs_dir)?;
    std::fs::create_dir_all(&lanscope_dir)?;

    // The company, its masters and the LanScope files to come, all from the simulation.
    let store = Store::connect(&db.url).await?;
    let company = store.create_company(SOAK_COMPANY, "耐久試験株式会社", "Asia/Tokyo").await?;
    let tz = company.tz()?;
    let today = tz.to_datetime(jiff::Timestamp::now()).date();
    let start = today.checked_sub(i64::from(options.days + 2).days())?;
    let mut config = lanscope_simulator::SimConfig::new(options.users, options.days, start);
    config.seed = options.seed;
    let sim = lanscope_simulator::try_simulate(&config).context("cannot simulate")?;
    load_masters(&store, company.id, &sim).await?;
    let token = store.issue_token(company.id).await?;
    store.close().await;

    let servers = if db.postgres.is_some() { 2 } else { 1 };
    let mut server_programs = Vec::new();
    let mut upstreams = Vec::new();
    for n in 1..=servers {
        let port = processes::free_port()?;
        let args =
            ["--database-url", &db.url, "serve", "--listen", &format!("127.0.0.1:{port}"), "--job-poll-seconds", "5"];
        let mut server =
            Program::new(&format!("server-{n}"), &loginrec_program, args.map(String::from).to_vec(), &logs_dir);
        server.start()?;
        upstreams.push(format!("http://127.0.0.1:{port}"));
        server_programs.push(server);
    }
    for base in &upstreams {
        processes::wait_healthy(base, Duration::from_secs(30)).await?;
    }
    let proxy = Proxy::start(upstreams.clone(), options.seed, options.fault_rate).await?;

    let connector_dir = options.data_dir.join("connector");
    let config_path = connector_dir.join("connector.toml");
    let mut connector_config = Config::new(
        CompanyCode::parse(SOAK_COMPANY)?,
        &AccessToken::parse(&token)?,
        std::fs::canonicalize(&lanscope_dir)?,
        format!("http://{}", proxy.address),
    );
    connector_config.settle_seconds = 1;
    connector_config.scan_interval_seconds = 2;
    // Small batches: many requests, so many faults.
    connector_config.batch_rows = 50;
    connector_config.save(&config_path)?;
    let config_arg = config_path.display().to_string();
    let mut connector = Program::new(
        "connector",
        &connector_program,
        vec!["--config".into(), config_arg.clone(), "run".into()],
        &logs_dir,
    );

    println!(
        "soak: {} users, {} days of LanScope files ({} rows), faults for {} min on {} ({} server process{}), seed {}",
        options.users,
        options.days,
        sim.events_in_files.len(),
        options.minutes,
        db.engine(),
        servers,
        if servers == 1 { "" } else { "es" },
        options.seed
    );
    let file_faults = Arc::new(lanscope::FileFaults::default());
    let duration = Duration::from_secs_f64(options.minutes * 60.0);
    let writer = tokio::spawn({
        let files = sim.files.clone();
        let dir = lanscope_dir.clone();
        let faults = file_faults.clone();
        let seed = options.seed;
        async move { lanscope::write_files(files, dir, duration.mul_f64(0.5), Duration::from_secs(1), seed, &faults).await }
    });
    connector.start()?;

    // Chaos until the time is up.
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed ^ 0xc4a05);
    let began = Instant::now();
    let mut connector_kills = 0u64;
    let mut server_kills = 0u64;
    let mut server_stops = 0u64;
    let mut next_connector_kill = began + Duration::from_millis(rng.random_range(3_000..12_000));
    let mut next_server_restart = began + Duration::from_millis(rng.random_range(10_000..30_000));
    while began.elapsed() < duration {
        tokio::time::sleep(Duration::from_millis(200)).await;
        for server in &mut server_programs {
            if let Some(status) = server.exited() {
                bail!("{} ended by itself ({status}); see {}", server.name, server.log().display());
            }
        }
        if let Some(status) = connector.exited() {
            bail!("the connector ended by itself ({status}); see {}", connector.log().display());
        }
        let now = Instant::now();
        if now >= next_connector_kill {
            connector.kill().await;
            connector_kills += 1;
            tokio::time::sleep(Duration::from_millis(rng.random_range(200..2_000))).await;
            connector.start()?;
            next_connector_kill = Instant::now() + Duration::from_millis(rng.random_range(3_000..12_000));
        }
        if now >= next_server_restart {
            let server = &mut server_programs[rng.random_range(0..servers)];
            if rng.random_bool(0.5) {
                server.kill().await;
                server_kills += 1;
            } else {
                server.interrupt(Duration::from_secs(20)).await;
                server_stops += 1;
            }
            tokio::time::sleep(Duration::from_millis(rng.random_range(200..3_000))).await;
            server.start()?;
            next_server_restart = Instant::now() + Duration::from_millis(rng.random_range(15_000..40_000));
        }
    }
    writer.await.context("the LanScope writer")??;

    // The faults stop; the connector delivers what it holds.
    connector.kill().await;
    proxy.stop_faults();
    for base in &upstreams {
        processes::wait_healthy(base, Duration::from_secs(60)).await?;
    }
    let mut delivered = false;
    for attempt in 1..=10 {
        let mut once = Program::new(
            "connector-once",
            &connector_program,
            vec!["--config".into(), config_arg.clone(), "run".into(), "--once".into()],
            &logs_dir,
        );
        let status = once.run_to_end(Duration::from_secs(600)).await?;
        if status.success() {
            delivered = true;
            break;
        }
        eprintln!("run --once ended with {status} (attempt {attempt}); trying again");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    for server in &mut server_programs {
        server.interrupt(Duration::from_secs(30)).await;
    }

    let store = Store::connect(&db.url).await?;
    let rows = check::rows(&store, company.id, &sim).await?;
    let punches = check::punches(&store, company.id, &tz, &sim).await?;
    store.close().await;

    println!("{}", rows.summary());
    println!("{}", punches.summary());
    let faults: Vec<String> = Fault::ALL.iter().map(|f| format!("{} {}", f.name(), proxy.count(*f))).collect();
    println!(
        "requests: {}, no server to answer (restarting) {}",
        faults.join(", "),
        proxy.no_upstream.load(std::sync::atomic::Ordering::SeqCst)
    );
    println!(
        "processes: connector killed {connector_kills}, server killed {server_kills}, server stopped and started {server_stops}"
    );
    println!("{}", file_faults.summary());
    println!("took {:.0} s; logs of the programs in {}", began.elapsed().as_secs_f64(), logs_dir.display());
    let mut leaks = check::secret_in_logs(&logs_dir, &token)?;
    leaks.extend(check::secret_in_logs(&connector_dir.join("logs"), &token)?);
    if !leaks.is_empty() {
        bail!("the access token appears in {}", leaks.join(", "));
    }
    println!("secrets: the access token appears in none of the programs' logs (theirs and the connector's own)");
    if !delivered {
        bail!("the connector could not deliver everything once the faults stopped; see {}", logs_dir.display());
    }
    if !rows.is_exact() || !punches.is_exact() {
        for line in rows.examples().iter().chain(punches.examples().iter()) {
            eprintln!("  {line}");
        }
        bail!("the soak found differences (see above)");
    }
    println!("soak passed: every row stored once, every punch as the ground truth says");
    Ok(())
}

const MARKER: &str = ".loginrec-soak";

/// Starts from an empty folder; refuses one the soak did not make.
fn reset(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        let ours = dir.join(MARKER).exists();
        let empty = std::fs::read_dir(dir)?.next().is_none();
        if !ours && !empty {
            bail!(
                "{} は耐久試験が作ったフォルダではありません。--data-dir で別のフォルダを指定してください \
                 (exists and was not made by the soak; choose another --data-dir)",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot empty {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(dir.join(MARKER), "This folder is recreated by every `loginrec soak` run.\n")?;
    Ok(())
}
