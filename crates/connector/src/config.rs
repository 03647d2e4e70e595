//! The connector's configuration (seed §2.4, §2.5): one TOML file, written atomically and
//! readable only by its owner, because it holds the access token and the proxy password.

use std::fmt;
use std::path::{Path, PathBuf};

use lanscope_csv::ColumnMap;
use loginrec_rules::{AccessToken, CompanyCode, DayChangeTime};
use serde::{Deserialize, Serialize};

/// The ログイン記録 server used when `register` is not given `--server`.
pub const DEFAULT_SERVER_URL: &str = "http://127.0.0.1:8080";

#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// 企業コード
    pub company_code: String,
    /// アクセストークン
    pub access_token: String,
    /// ログサーバーのログ出力先 (LanScope's OUTPUTDIR)
    pub log_dir: PathBuf,
    pub server_url: String,
    /// Time zone the LanScope manager writes local times in.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// LanScope's collection start time (ログ収集の起点時刻), `HH:MM`.
    #[serde(default = "default_collection_start")]
    pub collection_start: String,
    /// A file is read once its size and mtime have not changed for this long.
    #[serde(default = "default_settle_seconds")]
    pub settle_seconds: u64,
    /// The folder is scanned this often even when no file event arrives.
    #[serde(default = "default_scan_interval_seconds")]
    pub scan_interval_seconds: u64,
    #[serde(default = "default_batch_rows")]
    pub batch_rows: usize,
    /// Where the outbox lives; by default next to this file.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// Header names for CSV layouts that differ from LanScope's defaults.
    #[serde(default)]
    pub columns: ColumnMap,
    #[serde(default)]
    pub proxy: ProxyConfig,
}

#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    pub enabled: bool,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub port: u16,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

impl ProxyConfig {
    /// The host and port the proxy is reached at, read from what is stored (an address
    /// written as a URL by an older version included).
    pub fn host_and_port(&self) -> Result<ProxyAddress, String> {
        ProxyAddress::parse(&self.address, (self.port != 0).then_some(self.port))
    }

    /// `http://host:port`: the proxy is spoken to in plain HTTP (an https:// server through
    /// a CONNECT tunnel).
    pub fn url(&self) -> Result<String, String> {
        let address = self.host_and_port()?;
        Ok(format!("http://{}:{}", address.host, address.port))
    }
}

/// Where a proxy is: a host name, an IPv4 address or an IPv6 address in brackets, and a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyAddress {
    /// As it goes into a URL: `proxy.example.jp`, `10.0.0.1`, `[2001:db8::1]`.
    pub host: String,
    pub port: u16,
}

impl fmt::Display for ProxyAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl ProxyAddress {
    /// Reads `--address` (with `--port` when given): a bare host (`proxy.example.jp`,
    /// `10.0.0.1`, `[2001:db8::1]`, each optionally with `:port`) or a URL
    /// (`http://proxy.example.jp:8080`). An `https://` proxy (TLS to the proxy itself), a URL with
    /// a path, a query or a user is refused, and so is a port in the address that `--port` contradicts. The messages never
    /// repeat a user or password written into the address.
    pub fn parse(address: &str, port: Option<u16>) -> Result<ProxyAddress, String> {
        let typed = address.trim();
        if typed.is_empty() {
            return Err("プロキシのアドレスを指定してください (the proxy address is required: give --address)".into());
        }
        if typed.contains('@') {
            return Err(
                "プロキシのアドレスにユーザー名やパスワードは書けません (the proxy address cannot carry a user \
                        or password): give the user with --user; the password is asked for, or read from standard \
                        input"
                    .into(),
            );
        }
        let rest = match typed.split_once("://") {
            Some((scheme, rest)) => {
                if scheme.eq_ignore_ascii_case("https") {
                    return Err(
                        "プロキシとは http で通信します。https:// のプロキシには対応していません。http://ホスト:ポート \
                         を指定してください (https:// サーバーへの送信もこのプロキシを経由して暗号化されます) (a proxy \
                         reached over TLS is not supported: give http://host:port; https:// servers are still \
                         reached through it, encrypted end to end in a CONNECT tunnel)"
                            .into(),
                    );
                }
                if !scheme.eq_ignore_ascii_case("http") {
                    return Err(format!(
                        "プロキシのアドレスに使えるのは http:// だけです (the proxy scheme {scheme:?} is not \
                         supported: use http:// or just the host name)"
                    ));
                }
                rest
            }
            None => typed,
        };
        let (authority, tail) = match rest.find(['/', '?', '#']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if !tail.is_empty() && tail != "/" {
            return Err(format!(
                "プロキシのアドレスにパスやクエリは書けません (the proxy address cannot have a path or query: \
                 {tail:?}): give the host and port only, e.g. http://proxy.example.jp:8080"
            ));
        }
        let (host, in_address) = split_host_port(authority)?;
        let port = match (in_address, port) {
            (Some(a), Some(b)) if a != b => {
                return Err(format!(
                    "プロキシのポート番号が食い違っています: アドレスは {a}、--port は {b} (the address says port {a} \
                     but --port says {b}): give the port once, or the same in both"
                ));
            }
            (Some(p), _) | (None, Some(p)) => p,
            (None, None) => {
                return Err("プロキシのポート番号を指定してください (the proxy port is required: give --port, or \
                            write it in the address, e.g. http://proxy.example.jp:8080)"
                    .into());
            }
        };
        if port == 0 {
            return Err("プロキシのポート番号は 1〜65535 です (the proxy port must be 1-65535, not 0)".into());
        }
        Ok(ProxyAddress { host, port })
    }
}

/// A host of this machine: an address in 127.0.0.0/8, `::1` (written `[::1]` in a URL) or
/// `localhost`. Only to such a host may the token travel in plain http.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let name = bare.strip_suffix('.').unwrap_or(bare);
            name.eq_ignore_ascii_case("localhost")
        }
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address.
fn split_host_port(authority: &str) -> Result<(String, Option<u16>), String> {
    let bad_host = || {
        format!(
            "プロキシのホスト名が正しくありません (not a host name or IP address: {authority:?}); e.g. \
             proxy.example.jp, 10.0.0.1 or [2001:db8::1]"
        )
    };
    if let Some(inner) = authority.strip_prefix('[') {
        let (v6, after) = inner.split_once(']').ok_or_else(bad_host)?;
        let ip: std::net::Ipv6Addr = v6.parse().map_err(|_| bad_host())?;
        let port = match after {
            "" => None,
            _ => Some(parse_port(after.strip_prefix(':').ok_or_else(bad_host)?)?),
        };
        return Ok((format!("[{ip}]"), port));
    }
    if let Ok(ip) = authority.parse::<std::net::Ipv6Addr>() {
        return Ok((format!("[{ip}]"), None));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(parse_port(port)?)),
        None => (authority, None),
    };
    if host.parse::<std::net::Ipv4Addr>().is_err() && !is_host_name(host) {
        return Err(bad_host());
    }
    Ok((host.to_string(), port))
}

fn parse_port(text: &str) -> Result<u16, String> {
    let bad = || format!("プロキシのポート番号は 1〜65535 です (the proxy port must be 1-65535: {text:?})");
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    text.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad)
}

/// Letters, digits, `-` and `_` in dot-separated labels of at most 63 characters.
fn is_host_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn default_time_zone() -> String {
    "Asia/Tokyo".into()
}
fn default_collection_start() -> String {
    "05:00".into()
}
fn default_settle_seconds() -> u64 {
    3
}
fn default_scan_interval_seconds() -> u64 {
    60
}
/// The server commits each batch before it answers, and each commit writes again every index
/// page the batch touched: a company's day in batches of 2 000 took 36 s end to end, in batches
/// of 10 000 20 s (`loginrec-bench end-to-end`). 10 000 rows are about 3 MB of JSON.
fn default_batch_rows() -> usize {
    ingest_protocol::MAX_BATCH_ROWS
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("company_code", &self.company_code)
            .field("access_token", &"***")
            .field("log_dir", &self.log_dir)
            .field("server_url", &self.server_url)
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("enabled", &self.enabled)
            .field("address", &self.address)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no configuration at {0}: run `lanscope-connector register` first")]
    Missing(PathBuf),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid configuration in {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// Every key the file may hold, as written in it (`proxy.password` for `password` under
/// `[proxy]`). Only these are named when the file cannot be read.
const KNOWN_KEYS: &[&str] = &[
    "company_code",
    "access_token",
    "log_dir",
    "server_url",
    "time_zone",
    "collection_start",
    "settle_seconds",
    "scan_interval_seconds",
    "batch_rows",
    "data_dir",
    "columns",
    "columns.recorded_at",
    "columns.event_at",
    "columns.user_name",
    "columns.log_type",
    "columns.sub_manager_no",
    "columns.agent_no",
    "columns.computer_name",
    "columns.date",
    "columns.start",
    "columns.end",
    "proxy",
    "proxy.enabled",
    "proxy.address",
    "proxy.port",
    "proxy.user",
    "proxy.password",
];

/// Says where a file that is not valid TOML (or holds a value of the wrong kind) is wrong: its
/// line and, when it is one of [`KNOWN_KEYS`], its key. Never the line's text nor a value: the
/// `toml` crate's own message quotes the line, and its messages about values quote the value,
/// and in this file that can be the access token or the proxy password.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message();
    let span = error.span();
    let line = span.as_ref().map(|span| {
        let at = span.start.min(text.len().saturating_sub(1));
        text.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1
    });
    let missing = message.starts_with("missing field");
    let key = if missing {
        // `missing field `enabled``, pointing at the `[proxy]` header it is missing from, or
        // at nothing for the top of the file. The name is serde's, never the file's text.
        let name = message.split('`').nth(1).unwrap_or_default();
        let table = match (&span, line) {
            (Some(span), Some(line)) if !span.is_empty() => table_of_line(text, line + 1),
            _ => None,
        };
        Some(table.map_or_else(|| name.to_string(), |t| format!("{t}.{name}")))
    } else {
        // What is written before `=` is a key only if it is one of ours: on a broken line it
        // could be anything, the token included.
        line.and_then(|line| key_on_line(text, line)).filter(|key| KNOWN_KEYS.contains(&key.as_str()))
    };
    let problem = if missing {
        "必要な設定がありません (a required key is missing)"
    } else if message.starts_with("unknown field") {
        "知らない設定です (an unknown key: check its spelling and the [section] it is in)"
    } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
        "値の種類が正しくありません (a value of the wrong kind: text goes in quotes, numbers and true/false without)"
    } else {
        "TOML の書き方が正しくありません (not valid TOML: look for a missing quote, bracket or '=')"
    };
    let place = match (line.filter(|_| !missing), key) {
        (Some(line), Some(key)) => format!("{line} 行目 (line {line}), {key}: "),
        (Some(line), None) => format!("{line} 行目 (line {line}): "),
        (None, Some(key)) => format!("{key}: "),
        (None, None) => String::new(),
    };
    let hidden = if missing {
        ""
    } else {
        "; この行は表示しません (the line is not shown: it may hold the access token or the proxy password)"
    };
    format!("{place}{problem}{hidden}")
}

/// The last `[table]` header above line `line` (1-based).
fn table_of_line(text: &str, line: usize) -> Option<String> {
    text.lines().take(line.saturating_sub(1)).fold(None, |table, l| {
        let l = l.trim();
        match l.strip_prefix('[').filter(|_| !l.starts_with("[[")).and_then(|h| h.split_once(']')) {
            Some((name, _)) => Some(name.trim().to_string()),
            None => table,
        }
    })
}

/// The key that line `line` (1-based) sets (`key = …`), qualified by its table.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let (written, _) = text.lines().nth(line.checked_sub(1)?)?.split_once('=')?;
    let written = written.trim();
    Some(match table_of_line(text, line) {
        Some(table) => format!("{table}.{written}"),
        None => written.to_string(),
    })
}

impl Config {
    pub fn new(company_code: CompanyCode, token: &AccessToken, log_dir: PathBuf, server_url: String) -> Config {
        Config {
            company_code: company_code.to_string(),
            access_token: token.expose().to_string(),
            log_dir,
            server_url,
            time_zone: default_time_zone(),
            collection_start: default_collection_start(),
            settle_seconds: default_settle_seconds(),
            scan_interval_seconds: default_scan_interval_seconds(),
            batch_rows: default_batch_rows(),
            data_dir: None,
            columns: ColumnMap::default(),
            proxy: ProxyConfig::default(),
        }
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let config = Config::read(path)?;
        config.validate().map_err(|message| ConfigError::Invalid { path: path.into(), message })?;
        Ok(config)
    }

    /// The file as written, parsed but not yet checked.
    fn read(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ConfigError::Missing(path.into())),
            Err(source) => return Err(ConfigError::Read { path: path.into(), source }),
        };
        let mut config: Config = toml::from_str(&text)
            .map_err(|e| ConfigError::Invalid { path: path.into(), message: describe_toml_error(&text, &e) })?;
        // A folder registered by an earlier version may be saved as `\\?\C:\TEMP`: shown and
        // used as `C:\TEMP`.
        config.log_dir = dunce::simplified(&config.log_dir).to_path_buf();
        Ok(config)
    }

    /// Refuses what would carry the access token across the network unencrypted: an http://
    /// server that is not this machine, or an http:// server reached through a proxy that is
    /// not. Checked where settings are saved (`register`, `proxy --enable`) and where the token
    /// would be sent (every [`crate::sender::Sender`]); a file holding such settings still
    /// loads, so that `status` shows it and `register` can put it right.
    pub fn check_transport(&self) -> Result<(), String> {
        let url = reqwest::Url::parse(&self.server_url)
            .map_err(|e| format!("送信先の URL を読めません (the server URL is not a valid URL: {e})"))?;
        if url.scheme() != "http" {
            return Ok(());
        }
        let host = url.host_str().unwrap_or_default();
        if !is_loopback_host(host) {
            return Err(format!(
                "送信先に http:// は使えません。アクセストークンが暗号化されずにネットワークを流れます \
                 (the server http://{host} is not this machine, and plain http would carry the access token across \
                 the network unencrypted): https:// の URL を指定してください (give an https:// server URL; http:// \
                 is accepted only for 127.0.0.1, ::1 and localhost)"
            ));
        }
        if self.proxy.enabled
            && let Ok(proxy) = self.proxy.host_and_port()
            && !is_loopback_host(&proxy.host)
        {
            return Err(format!(
                "http:// の送信先にプロキシ {proxy} を経由して送ると、アクセストークンが暗号化されずにプロキシまで流れます \
                 (the server is plain http and the proxy {proxy} is not this machine: the access token would reach \
                 the proxy unencrypted): https:// の送信先を指定するか、プロキシを使わない設定にしてください (give an \
                 https:// server URL, or turn the proxy off with `lanscope-connector proxy --disable`)"
            ));
        }
        Ok(())
    }

    /// Checks every value, naming the key that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        CompanyCode::parse(&self.company_code).map_err(|e| format!("company_code: {e}"))?;
        AccessToken::parse(&self.access_token).map_err(|e| format!("access_token: {e}"))?;
        jiff::tz::TimeZone::get(&self.time_zone)
            .map_err(|_| format!("time_zone: unknown zone {:?}", self.time_zone))?;
        self.collection_start.parse::<DayChangeTime>().map_err(|e| format!("collection_start: {e}"))?;
        if !(self.server_url.starts_with("http://") || self.server_url.starts_with("https://")) {
            return Err(format!("server_url: must start with http:// or https:// (got {:?})", self.server_url));
        }
        if self.batch_rows == 0 || self.batch_rows > ingest_protocol::MAX_BATCH_ROWS {
            return Err(format!("batch_rows: must be 1..={}", ingest_protocol::MAX_BATCH_ROWS));
        }
        if self.proxy.enabled {
            self.proxy.host_and_port().map_err(|e| format!("proxy: {e}"))?;
        }
        Ok(())
    }

    /// Reads the file for a command that replaces the proxy settings: everything is checked
    /// but the proxy, so that a wrong proxy can be put right (or turned off) with `proxy`.
    pub fn load_for_proxy_change(path: &Path) -> Result<Config, ConfigError> {
        let config = Config::read(path)?;
        let without_proxy = Config { proxy: ProxyConfig::default(), ..config.clone() };
        without_proxy.validate().map_err(|message| ConfigError::Invalid { path: path.into(), message })?;
        Ok(config)
    }

    pub fn token(&self) -> AccessToken {
        // validate() ran on load; a hand-built config with a bad token fails at the server.
        AccessToken::parse(&self.access_token)
            .unwrap_or_else(|_| AccessToken::parse(&"0".repeat(32)).unwrap_or_else(|_| unreachable!()))
    }

    pub fn read_options(&self) -> lanscope_csv::ReadOptions {
        lanscope_csv::ReadOptions {
            time_zone: jiff::tz::TimeZone::get(&self.time_zone).unwrap_or(jiff::tz::TimeZone::UTC),
            collection_start: self.collection_start.parse().unwrap_or(DayChangeTime::LANSCOPE_DEFAULT),
            columns: self.columns.clone(),
        }
    }

    /// Writes the file atomically (temporary file, then rename) with owner-only permissions.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let write_err = |source| ConfigError::Write { path: path.into(), source };
        let text = toml::to_string_pretty(self)
            .map_err(|e| ConfigError::Invalid { path: path.into(), message: e.to_string() })?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(write_err)?;
        }
        let tmp = path.with_extension("toml.tmp");
        // A leftover temporary file could carry wider permissions: start from none.
        let _ = std::fs::remove_file(&tmp);
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&tmp).map_err(write_err)?;
            #[cfg(windows)]
            restrict_to_administrators(&tmp).map_err(write_err)?;
            file.write_all(text.as_bytes()).map_err(write_err)?;
            file.sync_all().map_err(write_err)?;
        }
        std::fs::rename(&tmp, path).map_err(write_err)?;
        Ok(())
    }

    /// The folder of the outbox database.
    pub fn data_dir(&self, config_path: &Path) -> PathBuf {
        match &self.data_dir {
            Some(d) => d.clone(),
            None => config_path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(".")),
        }
    }
}

/// On Windows, files under %ProgramData% are readable by every local user by inheritance: the
/// token and the proxy password must not be. The file keeps only SYSTEM and the
/// Administrators group (well-known SIDs, so it works on any display language), before the
/// secrets are written into it.
#[cfg(windows)]
fn restrict_to_administrators(path: &Path) -> std::io::Result<()> {
    let status = std::process::Command::new("icacls")
        .arg(path)
        .args(["/inheritance:r", "/grant:r", "*S-1-5-18:F", "*S-1-5-32-544:F"])
        .stdout(std::process::Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("icacls could not restrict {} to administrators", path.display())))
    }
}

/// Where the configuration lives when `--config` is not given.
pub fn default_config_path() -> PathBuf {
    #[cfg(windows)]
    {
        let base =
            std::env::var_os("ProgramData").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"));
        base.join("LanScopeConnector").join("connector.toml")
    }
    #[cfg(not(windows))]
    {
        if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
            return PathBuf::from(xdg).join("lanscope-connector").join("connector.toml");
        }
        if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            return PathBuf::from(home).join(".config").join("lanscope-connector").join("connector.toml");
        }
        PathBuf::from("/etc/lanscope-connector/connector.toml")
    }
}

/// The log folder used when `register` is not given `--log-dir`: LanScope's default OUTPUTDIR.
pub fn default_log_dir() -> Option<PathBuf> {
    if cfg!(windows) { Some(PathBuf::from(r"C:\TEMP")) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token_or_the_proxy_password() {
        let token = "abcdEFGH0123456789abcdEFGH012345";
        let password = "p@ss:w#rd%/";
        let mut config = Config::new(
            CompanyCode::parse("ACME01").unwrap(),
            &AccessToken::parse(token).unwrap(),
            PathBuf::from("/lanscope"),
            DEFAULT_SERVER_URL.into(),
        );
        config.proxy = ProxyConfig {
            enabled: true,
            address: "proxy.example.jp".into(),
            port: 8080,
            user: Some("alice".into()),
            password: Some(password.into()),
        };
        for text in [format!("{config:?}"), format!("{config:#?}"), format!("{:?}", config.proxy)] {
            assert!(!text.contains(token) && !text.contains("EFGH0123456789"), "{text}");
            assert!(!text.contains(password) && !text.contains("w#rd"), "{text}");
            assert!(text.contains("proxy.example.jp") && text.contains("alice"), "the rest is shown: {text}");
        }
        assert!(!format!("{config:?}").contains(&config.access_token));
    }

    fn toml_error(text: &str) -> String {
        let error = toml::from_str::<Config>(text).expect_err("the text is refused");
        describe_toml_error(text, &error)
    }

    #[test]
    fn a_toml_error_names_the_line_and_known_key_but_never_a_value() {
        let token = "abcdEFGH0123456789abcdEFGH012345";
        let head = "company_code = \"ACME01\"\n";
        let tail = "log_dir = \"/l\"\nserver_url = \"https://x\"\n";
        let cases = [
            (format!("{head}access_token = \"{token}\n{tail}"), token, "2 行目 (line 2), access_token: TOML"),
            (format!("{head}access_token = 12345678901234567890123456789012\n{tail}"), "1234567890", "値の種類"),
            (format!("{head}access_token = \"{token}\"\n{tail}settle_seconds = \"soon\"\n"), "soon", "settle_seconds"),
            (format!("{head}access_token = \"{token}\"\n{tail}acess_tokn = \"{token}\"\n"), "acess_tokn", "5 行目"),
            // Before `=` on a broken line can be anything: it is named only when it is a key.
            (format!("{head}{token} = \n{tail}"), token, "2 行目 (line 2): TOML"),
            (
                format!("{head}access_token = \"{token}\"\n{tail}[proxy]\nenabled = true\npassword = 'p@ss\n"),
                "p@ss",
                "7 行目 (line 7), proxy.password",
            ),
        ];
        for (text, secret, said) in cases {
            let message = toml_error(&text);
            assert!(message.contains(said), "{said:?} in {message:?}");
            assert!(!message.contains(secret), "{secret:?} in {message:?}");
            assert!(!message.contains('"'), "no text of the file in {message:?}");
        }
        let message = toml_error("access_token = \"x\"\n");
        assert!(message.starts_with("company_code: 必要な設定がありません"), "{message}");
        let message = toml_error(&format!("{head}access_token = \"x\"\n{tail}[proxy]\naddress = \"p\"\n"));
        assert!(message.starts_with("proxy.enabled: 必要な設定がありません"), "{message}");
    }

    #[test]
    fn every_key_a_saved_file_can_hold_is_known() {
        let mut config = Config::new(
            CompanyCode::parse("ACME01").unwrap(),
            &AccessToken::parse(&"a".repeat(32)).unwrap(),
            PathBuf::from("/lanscope"),
            DEFAULT_SERVER_URL.into(),
        );
        config.data_dir = Some(PathBuf::from("/data"));
        config.proxy = ProxyConfig {
            enabled: true,
            address: "p".into(),
            port: 1,
            user: Some("u".into()),
            password: Some("w".into()),
        };
        let some = || Some(String::from("h"));
        config.columns = ColumnMap {
            recorded_at: some(),
            event_at: some(),
            user_name: some(),
            log_type: some(),
            sub_manager_no: some(),
            agent_no: some(),
            computer_name: some(),
            date: some(),
            start: some(),
            end: some(),
        };
        let table: toml::Table = toml::from_str(&toml::to_string(&config).unwrap()).unwrap();
        for (key, value) in &table {
            assert!(KNOWN_KEYS.contains(&key.as_str()), "{key}");
            for inner in value.as_table().into_iter().flat_map(|t| t.keys()) {
                assert!(KNOWN_KEYS.contains(&format!("{key}.{inner}").as_str()), "{key}.{inner}");
            }
        }
    }

    #[test]
    fn the_token_travels_in_plain_http_only_to_this_machine() {
        let mut config = Config::new(
            CompanyCode::parse("ACME01").unwrap(),
            &AccessToken::parse(&"a".repeat(32)).unwrap(),
            PathBuf::from("/lanscope"),
            DEFAULT_SERVER_URL.into(),
        );
        for (server, accepted) in [
            ("http://127.0.0.1:8080", true),
            ("http://127.1.2.3", true),
            ("http://[::1]:8080/loginrec", true),
            ("http://LOCALHOST:8080", true),
            ("https://loginrec.example.jp", true),
            ("HTTPS://192.0.2.10", true),
            ("http://192.0.2.10", false),
            ("http://[::ffff:c000:20a]", false),
            ("http://localhost.example.jp", false),
            ("http://", false),
        ] {
            config.server_url = server.into();
            assert_eq!(config.check_transport().is_ok(), accepted, "{server}: {:?}", config.check_transport());
        }
        config.server_url = "http://127.0.0.1:8080".into();
        for (proxy, accepted) in [("127.0.0.1", true), ("localhost", true), ("[::1]", true), ("10.0.0.1", false)] {
            config.proxy = ProxyConfig { enabled: true, address: proxy.into(), port: 3128, ..ProxyConfig::default() };
            assert_eq!(config.check_transport().is_ok(), accepted, "{proxy}");
        }
        config.server_url = "https://loginrec.example.jp".into();
        assert!(config.check_transport().is_ok(), "https:// goes through any proxy in a tunnel");
    }
}
