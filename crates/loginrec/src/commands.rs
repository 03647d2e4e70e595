//! The operator commands. Each one mirrors what the web UI does, through the same store and
//! the same pure logic.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use anyhow::{Context, bail};
use jiff::civil::Date;
use loginrec_rules::CompanyCode;
use loginrec_rules::PunchKind;
use loginrec_server::links::{self, CsvEncoding};
use loginrec_server::{ServerOptions, timecard};
use loginrec_store::remote::shown_base_url;
use loginrec_store::{Apply, Recomputed};
use loginrec_store::{Company, Store};
use loginrec_worker::remote::RemoteHost;

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

/// `company set-remote`: the address is judged before the token is read or anything is
/// stored, and the base URL is printed without its user and password.
pub async fn set_remote(
    url: &str,
    code: &str,
    base_url: &str,
    settle_minutes: i64,
    allow_private: bool,
) -> anyhow::Result<()> {
    if !(0..=7 * 24 * 60).contains(&settle_minutes) {
        bail!("--settle-minutes must be between 0 and one week");
    }
    check_remote_address(base_url, allow_private).await?;
    let mut token = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut token)?;
    let token = token.trim().to_string();
    if token.is_empty() {
        bail!("no token on standard input");
    }
    println!("{}", point_to_remote(url, code, base_url, token, settle_minutes).await?);
    Ok(())
}

/// Stores the company's remote service and says so, in the words `set-remote` prints.
async fn point_to_remote(
    url: &str,
    code: &str,
    base_url: &str,
    token: String,
    settle_minutes: i64,
) -> anyhow::Result<String> {
    let store = open(url).await?;
    let company = company(&store, code).await?;
    let remote = loginrec_store::remote::RemoteConfig { base_url: base_url.to_string(), token, settle_minutes };
    store.remote().set_remote(company.id, Some(&remote)).await?;
    Ok(format!(
        "{} now sends its punches to {} (run 連携実行 to read its employees)",
        company.code,
        shown_base_url(base_url)
    ))
}

/// Where a remote attendance service may not be without `--allow-private`. The server sends it
/// the company's token and reads its answers from inside its own network, so an address here
/// would let whoever sets it reach this machine (loopback), the cloud's metadata service
/// (link-local 169.254.169.254) or the company's private networks.
///
/// The check is made when the address is set, on every address the host name resolves to then.
/// The client never follows a redirect elsewhere (`loginrec_worker::remote::http_client`); a
/// name whose DNS answer changes later is not judged again.
async fn check_remote_address(base_url: &str, allow_private: bool) -> anyhow::Result<()> {
    let Some((host, port)) = loginrec_worker::remote::remote_host(base_url) else {
        bail!(
            "--base-url must be an https:// URL with a host (or http:// for a local test service) \
             (--base-url には https:// で始まり、ホスト名を含む URL を指定してください)"
        );
    };
    let (name, resolved) = match host {
        RemoteHost::Ip(ip) => (ip.to_string(), Ok(vec![ip])),
        // RFC 6761: these names are this machine, whatever a resolver says.
        RemoteHost::Name(name) if is_localhost(&name) => {
            (name, Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)]))
        }
        RemoteHost::Name(name) => {
            let resolved = tokio::net::lookup_host((name.as_str(), port)).await.map(|a| a.map(|s| s.ip()).collect());
            (name, resolved)
        }
    };
    judge_addresses(&shown_base_url(base_url), &name, resolved, allow_private)
}

fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Judges the addresses the host `name` of the base URL `shown` stands for: it must have some,
/// and, unless `allow_private`, none in a refused range.
fn judge_addresses(
    shown: &str,
    name: &str,
    resolved: std::io::Result<Vec<IpAddr>>,
    allow_private: bool,
) -> anyhow::Result<()> {
    let addresses = match resolved {
        Ok(addresses) if !addresses.is_empty() => addresses,
        Ok(_) => bail!("--base-url {shown}: the host {name} has no address (ホスト {name} のアドレスが見つかりません)"),
        Err(e) => {
            bail!("--base-url {shown}: the host {name} cannot be resolved (ホスト {name} の名前解決ができません): {e}")
        }
    };
    if allow_private {
        return Ok(());
    }
    if let Some((ip, (range, range_ja))) = addresses.iter().find_map(|ip| refused_range(*ip).map(|r| (ip, r))) {
        let via = if name == ip.to_string() { String::new() } else { format!(" ({name} → {ip})") };
        bail!(
            "--base-url {shown}: {ip} is {range}{via}; a service on this machine or a private network needs \
             --allow-private (送信先が{range_ja}です。このマシンや社内ネットワーク上の勤怠サービスを指定するには \
             --allow-private を付けてください)"
        );
    }
    Ok(())
}

/// The refused range `ip` falls in, in English and Japanese; `None` for any other address.
fn refused_range(ip: IpAddr) -> Option<(&'static str, &'static str)> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if v6.is_unspecified() {
                Some(UNSPECIFIED)
            } else if v6.is_loopback() {
                Some(LOOPBACK)
            } else if let Some(v4) = v6.to_ipv4_mapped() {
                refused_v4(v4)
            } else if s[0] & 0xffc0 == 0xfe80 {
                Some(LINK_LOCAL)
            } else if s[0] & 0xfe00 == 0xfc00 || s[0] & 0xffc0 == 0xfec0 {
                // Unique local fc00::/7, and the old site-local fec0::/10.
                Some(PRIVATE)
            } else if s[..6] == [0; 6] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                // IPv4-compatible ::a.b.c.d and NAT64 64:ff9b::a.b.c.d reach the IPv4 address.
                let [a, b] = [s[6].to_be_bytes(), s[7].to_be_bytes()];
                refused_v4(Ipv4Addr::new(a[0], a[1], b[0], b[1]))
            } else {
                None
            }
        }
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<(&'static str, &'static str)> {
    let [a, b, ..] = ip.octets();
    if a == 0 {
        Some(UNSPECIFIED)
    } else if ip.is_loopback() {
        Some(LOOPBACK)
    } else if ip.is_link_local() {
        Some(LINK_LOCAL)
    } else if ip.is_private() {
        Some(PRIVATE)
    } else if a == 100 && b & 0xc0 == 64 {
        Some(SHARED)
    } else if ip.is_broadcast() {
        Some(UNSPECIFIED)
    } else {
        None
    }
}

const LOOPBACK: (&str, &str) = ("a loopback address", "ループバックアドレス");
const LINK_LOCAL: (&str, &str) = ("a link-local address", "リンクローカルアドレス");
const PRIVATE: (&str, &str) = ("a private address", "プライベートアドレス");
const SHARED: (&str, &str) =
    ("a shared address of a carrier or cloud network (100.64.0.0/10)", "共有アドレス (100.64.0.0/10)");
const UNSPECIFIED: (&str, &str) = ("not the address of a host", "ホストのアドレスではありません");

pub async fn set_embedded(url: &str, code: &str) -> anyhow::Result<()> {
    let store = open(url).await?;
    let company = company(&store, code).await?;
    store.remote().set_remote(company.id, None).await?;
    println!("{} now uses the embedded attendance module", company.code);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use test_support::{Engine, TestDb};

    use super::{check_remote_address, judge_addresses, point_to_remote};

    #[tokio::test]
    async fn a_database_that_cannot_be_opened_is_named_without_its_password() {
        let Err(e) = super::open("mysql://app:s3cret@db.example/loginrec").await else {
            panic!("MySQL is not an engine of ours");
        };
        let message = format!("{e:#}");
        assert!(message.contains("mysql://app:***@db.example/loginrec"), "{message}");
        assert!(!message.contains("s3cret"), "{message}");
    }

    /// Addresses of this machine, its link and private networks, written every way a URL may
    /// write them. Judging them opens no connection: they are literals, or `localhost`.
    const REFUSED: &[&str] = &[
        "http://127.0.0.1:8080/api/v1.0",
        "http://127.8.9.10/api",
        "http://2130706433/api",
        "http://localhost:8080/api",
        "http://LOCALHOST./api",
        "http://api.localhost/api",
        "http://[::1]:8080/api",
        "http://10.0.0.1/api",
        "http://172.16.5.4/api",
        "http://192.168.1.1/api",
        "http://169.254.169.254/latest/meta-data",
        "http://100.100.100.200/latest",
        "http://0.0.0.0/api",
        "http://[::]/api",
        "http://[fe80::1]/api",
        "http://[fd00:ec2::254]/api",
        "http://[::ffff:10.0.0.1]/api",
        "http://[::ffff:169.254.169.254]/api",
        "http://[64:ff9b::a9fe:a9fe]/api",
        "https://admin:s3cret@10.0.0.1/api",
    ];

    #[tokio::test]
    async fn a_service_on_this_machine_or_a_private_network_is_refused_without_allow_private() {
        for url in REFUSED {
            let Err(e) = check_remote_address(url, false).await else {
                panic!("{url} was accepted");
            };
            let message = format!("{e:#}");
            assert!(message.contains("--allow-private"), "{url}: {message}");
            assert!(check_remote_address(url, true).await.is_ok(), "{url} with --allow-private");
        }
    }

    #[tokio::test]
    async fn a_public_address_is_accepted_and_a_url_that_is_not_http_is_refused() {
        // Documentation addresses: judged, never contacted.
        for url in ["https://203.0.113.10/v1.0", "https://[2001:db8::10]:8443/v1.0", "http://172.32.0.1/api"] {
            assert!(check_remote_address(url, false).await.is_ok(), "{url}");
        }
        for url in
            ["ftp://203.0.113.10/v1.0", "https://", "http://:8080/api", "api.example.com/v1.0", "file:///etc/passwd"]
        {
            let Err(e) = check_remote_address(url, true).await else { panic!("{url} was accepted") };
            assert!(format!("{e:#}").contains("must be an https:// URL with a host"), "{url}: {e:#}");
        }
    }

    #[test]
    fn a_host_name_is_judged_by_every_address_it_resolves_to() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let shown = "https://api.example.com/v1.0";
        let public = || Ok(vec![ip("203.0.113.10"), ip("2001:db8::10")]);
        assert!(judge_addresses(shown, "api.example.com", public(), false).is_ok());
        let one_private = Ok(vec![ip("203.0.113.10"), ip("10.1.2.3")]);
        let e = judge_addresses(shown, "api.example.com", one_private, false).unwrap_err().to_string();
        assert!(e.contains("api.example.com → 10.1.2.3") && e.contains("プライベートアドレス"), "{e}");
        let none = judge_addresses(shown, "api.example.com", Ok(vec![]), true).unwrap_err().to_string();
        assert!(none.contains("has no address"), "{none}");
        let failed = Err(std::io::Error::other("no such host"));
        let e = judge_addresses(shown, "api.example.com", failed, true).unwrap_err().to_string();
        assert!(e.contains("cannot be resolved") && e.contains("名前解決ができません"), "{e}");
    }

    #[tokio::test]
    async fn a_refused_base_url_is_named_without_its_user_and_password() {
        let e = check_remote_address("https://admin:s3cret@10.0.0.1/api", false).await.unwrap_err();
        let message = format!("{e:#}");
        assert!(message.contains("https://***:***@10.0.0.1/api"), "{message}");
        assert!(!message.contains("s3cret") && !message.contains("admin"), "{message}");
    }

    #[tokio::test]
    async fn set_remote_says_where_punches_go_without_the_user_and_password() {
        let db = TestDb::new(Engine::Sqlite).await;
        let store = db.store().await;
        store.create_company("ABC", "連携元", "Asia/Tokyo").await.unwrap();
        let base_url = "https://operator:s3cret@api.example.com/v1.0";
        let said = point_to_remote(&db.url, "ABC", base_url, "remote-token".into(), 60).await.unwrap();
        assert!(said.contains("https://***:***@api.example.com/v1.0"), "{said}");
        assert!(!said.contains("s3cret") && !said.contains("operator"), "{said}");
        // The client still needs them: they are stored as given.
        let company = store.company_by_code("ABC").await.unwrap().unwrap();
        assert_eq!(store.remote().remote_config(company.id).await.unwrap().unwrap().base_url, base_url);
        store.close().await;
        db.cleanup().await;
    }
}
