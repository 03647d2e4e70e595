//! The operator commands. Each one mirrors what the web UI does, through the same store and
//! the same pure logic.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, bail};
use jiff::civil::Date;
use loginrec_rules::CompanyCode;
use loginrec_rules::PunchKind;
use loginrec_server::links::{self, CsvEncoding};
use loginrec_server::{ServerOptions, timecard};
use loginrec_store::{Apply, Recomputed};
use loginrec_store::{Company, Store};

use crate::masters;

pub async fn open(url: &str) -> anyhow::Result<Store> {
    Store::connect(url)
        .await
        .with_context(|| format!("cannot open the database {}", loginrec_store::url::redacted(url)))
}

async fn company(store: &Store, code: &str) -> anyhow::Result<Company> {
    store
        .company_by_code(code)
        .await?
        .with_context(|| format!("company {code} does not exist (企業コード {code} はありません)"))
}

pub async fn serve(
    url: &str,
    listen: SocketAddr,
    behind_proxy: bool,
    jobs: loginrec_worker::jobs::JobSettings,
) -> anyhow::Result<()> {
    let store = open(url).await?;
    let (stop_jobs, stop_rx) = tokio::sync::watch::channel(false);
    let job_loop = tokio::spawn(loginrec_worker::jobs::run_jobs(store.clone(), jobs, stop_rx));
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let options = ServerOptions::for_listen_addr(listen, behind_proxy);
    tracing::info!(address = %listen, secure_cookies = options.secure_cookies, "Listening.");
    loginrec_server::serve(listener, store, options, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    let _ = stop_jobs.send(true);
    let _ = job_loop.await;
    Ok(())
}

pub async fn backup(url: &str, to: &Path) -> anyhow::Result<()> {
    let store = open(url).await?;
    store.backup_sqlite(to).await?;
    println!("backed up to {}", to.display());
    Ok(())
}

pub async fn purge(url: &str, years: u16) -> anyhow::Result<()> {
    let store = open(url).await?;
    let before = loginrec_rules::retention::purge_before(jiff::Timestamp::now(), years).as_millisecond();
    let n = store.purge_logs_before(before).await?;
    println!("{n} logs older than {years} years deleted");
    Ok(())
}

pub async fn migrate(url: &str) -> anyhow::Result<()> {
    open(url).await?;
    println!("migrations applied");
    Ok(())
}

pub async fn company_create(url: &str, code: &str, name: &str, timezone: &str) -> anyhow::Result<()> {
    let code = CompanyCode::parse(code)?;
    let store = open(url).await?;
    let company = store.create_company(code.as_str(), name, timezone).await?;
    println!("created company {} ({})", company.code, company.name);
    Ok(())
}

pub async fn issue_token(url: &str, code: &str) -> anyhow::Result<()> {
    let store = open(url).await?;
    let company = company(&store, code).await?;
    let token = store.issue_token(company.id).await?;
    println!("LanScope integration enabled for {}; the previous token, if any, no longer works.", company.code);
    println!("This token is shown once. Give it to the administrator of the connector:");
    println!("{token}");
    Ok(())
}

fn read_file(path: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok((path.display().to_string(), bytes))
}

fn report<E: std::fmt::Display>(errors: &[E]) -> anyhow::Error {
    let mut text = String::from("nothing was imported (取り込みませんでした):");
    for e in errors {
        text.push_str("\n  ");
        text.push_str(&e.to_string());
    }
    anyhow::anyhow!(text)
}

/// Prints each employee-day a change altered (before → after), then how many.
fn print_changes(recomputed: &Recomputed, tz: &jiff::tz::TimeZone, summary: &str) {
    for c in &recomputed.changes {
        let cell = |p| loginrec_server::format::punch_with_date(p, tz);
        println!(
            "{} {} 出勤 {} → {} / 退勤 {} → {}",
            c.employee_code,
            c.business_date,
            cell(c.before.clock_in),
            cell(c.after.clock_in),
            cell(c.before.clock_out),
            cell(c.after.clock_out)
        );
    }
    for d in &recomputed.sent_differences {
        let now = d.now_ms.map(|ms| loginrec_server::format::date_time_minutes(ms, tz)).unwrap_or_else(|| "—".into());
        println!(
            "送信済みの打刻と異なります (already sent, not sent again): {} {} {} sent {} → now {now}",
            d.employee_key,
            d.business_date,
            d.kind.label_ja(),
            loginrec_server::format::date_time_minutes(d.sent_at_ms, tz),
        );
    }
    println!("{}{summary}", recomputed.changes.len());
}

pub async fn department_import(url: &str, code: &str, path: &Path, from: Option<Date>) -> anyhow::Result<()> {
    let (name, bytes) = read_file(path)?;
    let departments = masters::parse_departments(&name, &bytes).map_err(|e| report(&e))?;
    let store = open(url).await?;
    let company = company(&store, code).await?;
    let (n, recomputed) = store.attendance().import_departments(company.id, &departments, from, Apply::Commit).await?;
    println!("{n}件の所属を登録しました ({n} departments imported)");
    print_changes(&recomputed, &company.tz()?, "日の打刻が変わりました (employee-days changed)");
    Ok(())
}

pub async fn employee_import(url: &str, code: &str, path: &Path, from: Option<Date>) -> anyhow::Result<()> {
    let (name, bytes) = read_file(path)?;
    let employees = masters::parse_employees(&name, &bytes).map_err(|e| report(&e))?;
    let store = open(url).await?;
    let company = company(&store, code).await?;
    let known: Vec<String> = store.attendance().departments(company.id).await?.into_iter().map(|d| d.code).collect();
    if let Some(e) = employees.iter().find(|e| !known.contains(&e.department_code)) {
        bail!(
            "{name}: 所属コード {:?} of employee {:?} does not exist; import departments first",
            e.department_code,
            e.code
        );
    }
    let (n, recomputed) = store.attendance().import_employees(company.id, &employees, from, Apply::Commit).await?;
    println!("{n}件の従業員を登録しました ({n} employees imported)");
    print_changes(&recomputed, &company.tz()?, "日の打刻が変わりました (employee-days changed)");
    Ok(())
}

pub async fn link_export(url: &str, code: &str, encoding: CsvEncoding) -> anyhow::Result<()> {
    let store = open(url).await?;
    let company = company(&store, code).await?;
    let rows = store.link_rows(company.id).await?;
    let bytes = links::export(&rows, encoding).map_err(|e| anyhow::anyhow!(e.to_string()))?;
    std::io::stdout().write_all(&bytes)?;
    Ok(())
}

pub async fn link_import(url: &str, code: &str, path: &Path, from: Option<&str>) -> anyhow::Result<()> {
    let (name, bytes) = read_file(path)?;
    let store = open(url).await?;
    let company = company(&store, code).await?;
    let current = store.link_rows(company.id).await?;
    let plan = links::read_import(&bytes, &current).map_err(|errors| {
        let named: Vec<String> = errors.iter().map(|e| format!("{name}: {e}")).collect();
        report(&named)
    })?;
    for warning in plan.warnings() {
        eprintln!("{name}: 確認してください (warning): {warning}");
    }
    let plan = plan.links();
    let tz = company.tz()?;
    let effective = from.map(|typed| company_moment("--effective-from", typed, &tz)).transpose()?;
    let report = store.change_links(company.id, &plan, effective, Apply::Commit).await?;
    println!("{}", links::updated_message(report.updated));
    print_changes(&report.recomputed, &tz, "日の打刻が変わりました (employee-days changed)");
    Ok(())
}

/// `YYYY-MM-DD HH:MM` in the company's time zone, typed for the option `flag`.
fn company_moment(flag: &str, typed: &str, tz: &jiff::tz::TimeZone) -> anyhow::Result<jiff::Timestamp> {
    let local: jiff::civil::DateTime = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M", typed.trim())
        .with_context(|| format!("{flag} {typed:?}: expected 'YYYY-MM-DD HH:MM' (company time)"))?;
    loginrec_rules::local_instant(local, tz).with_context(|| format!("{flag} {typed:?} is out of range"))
}

pub async fn punch_set(
    url: &str,
    code: &str,
    employee: &str,
    date: Date,
    kind: PunchKind,
    at: &str,
) -> anyhow::Result<()> {
    let store = open(url).await?;
    let company = company(&store, code).await?;
    let tz = company.tz()?;
    let at = company_moment("--at", at, &tz)?;
    let recomputed = store
        .attendance()
        .set_manual_punch(company.id, employee, date, kind, at.as_millisecond(), "loginrec punch set")
        .await?;
    print_changes(&recomputed, &tz, "日の打刻が変わりました (employee-days changed)");
    Ok(())
}

pub async fn punch_clear(url: &str, code: &str, employee: &str, date: Date, kind: PunchKind) -> anyhow::Result<()> {
    let store = open(url).await?;
    let company = company(&store, code).await?;
    let recomputed =
        store.attendance().clear_manual_punch(company.id, employee, date, kind, "loginrec punch clear").await?;
    print_changes(&recomputed, &company.tz()?, "日の打刻が変わりました (employee-days changed)");
    Ok(())
}

/// `punches rebuild`: derives the period from scratch and reports every employee-day that
/// differs from what is stored; writes the result unless `dry_run`.
pub async fn punches_rebuild(
    url: &str,
    code: &str,
    from: Option<Date>,
    to: Option<Date>,
    dry_run: bool,
) -> anyhow::Result<()> {
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        bail!("--to ({to}) is before --from ({from})");
    }
    let store = open(url).await?;
    let company = company(&store, code).await?;
    let apply = if dry_run { Apply::Preview } else { Apply::Commit };
    let recomputed = store.rebuild_punches(company.id, from, to, apply).await?;
    print_changes(&recomputed, &company.tz()?, "日の打刻が異なります (employee-days differ)");
    Ok(())
}

pub async fn timecard_export(url: &str, code: &str, from: Date, to: Date) -> anyhow::Result<()> {
    if to < from {
        bail!("--to ({to}) is before --from ({from})");
    }
    let store = open(url).await?;
    let company = company(&store, code).await?;
    let rows = store.attendance().timecard(company.id, from, to).await?;
    print!("{}", timecard::render(&rows, &company.tz()?));
    Ok(())
}

pub async fn admin_create(url: &str, company_code: Option<&str>, login_id: &str) -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut password)?;
    let password = password.trim_end_matches(['\r', '\n']).to_string();
    if password.chars().count() < 8 {
        bail!("the password must have at least 8 characters (パスワードは 8 文字以上にしてください)");
    }
    let store = open(url).await?;
    let company_id = match company_code {
        Some(code) => company(&store, code).await?.id,
        None => loginrec_store::admins::OPERATOR,
    };
    let hash = loginrec_server::hash_password(password).await?;
    store.admins().upsert_admin(company_id, login_id, &hash).await?;
    match company_code {
        Some(code) => println!("administrator {login_id} of {code} is ready; log in at /login with 企業コード {code}"),
        None => println!("operator {login_id} is ready; log in at /login with an empty 企業コード"),
    }
    Ok(())
}

pub async fn issue_api_token(url: &str, code: &str) -> anyhow::Result<()> {
    let store = open(url).await?;
    let company = company(&store, code).await?;
    let token = store.attendance().issue_api_token(company.id).await?;
    println!("API token for {} (/api/v1.0/); the previous one, if any, no longer works:", company.code);
    println!("{token}");
    Ok(())
}

pub async fn set_remote(url: &str, code: &str, base_url: &str, settle_minutes: i64) -> anyhow::Result<()> {
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        bail!("--base-url must start with https:// (or http:// for a local test service)");
    }
    if !(0..=7 * 24 * 60).contains(&settle_minutes) {
        bail!("--settle-minutes must be between 0 and one week");
    }
    let mut token = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut token)?;
    let token = token.trim().to_string();
    if token.is_empty() {
        bail!("no token on standard input");
    }
    let store = open(url).await?;
    let company = company(&store, code).await?;
    let remote = loginrec_store::remote::RemoteConfig { base_url: base_url.to_string(), token, settle_minutes };
    store.remote().set_remote(company.id, Some(&remote)).await?;
    println!("{} now sends its punches to {base_url} (run 連携実行 to read its employees)", company.code);
    Ok(())
}

pub async fn set_embedded(url: &str, code: &str) -> anyhow::Result<()> {
    let store = open(url).await?;
    let company = company(&store, code).await?;
    store.remote().set_remote(company.id, None).await?;
    println!("{} now uses the embedded attendance module", company.code);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_database_that_cannot_be_opened_is_named_without_its_password() {
        let Err(e) = super::open("mysql://app:s3cret@db.example/loginrec").await else {
            panic!("MySQL is not an engine of ours");
        };
        let message = format!("{e:#}");
        assert!(message.contains("mysql://app:***@db.example/loginrec"), "{message}");
        assert!(!message.contains("s3cret"), "{message}");
    }
}
