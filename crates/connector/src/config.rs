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
fn default_batch_rows() -> usize {
    2_000
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
        toml::from_str(&text).map_err(|e| ConfigError::Invalid { path: path.into(), message: e.to_string() })
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
}
