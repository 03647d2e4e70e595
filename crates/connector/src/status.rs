//! `lanscope-connector status`: what the connector knows, in plain words.

use std::fmt::Write as _;
use std::path::Path;

use crate::config::Config;
use crate::outbox::Outbox;

pub const LAST_SUCCESS: &str = "last_success_ms";
pub const LAST_ERROR: &str = "last_error";

pub async fn render(config: &Config, config_path: &Path) -> anyhow::Result<String> {
    let mut out = String::new();
    let token = config.token();
    writeln!(out, "設定ファイル (config):        {}", config_path.display())?;
    writeln!(out, "企業コード (company code):    {}", config.company_code)?;
    writeln!(out, "アクセストークン (token):     {}", token.masked())?;
    writeln!(out, "ログ出力先 (log folder):      {}", config.log_dir.display())?;
    writeln!(out, "送信先 (server):              {}", config.server_url)?;
    let proxy = if config.proxy.enabled {
        let address = match config.proxy.host_and_port() {
            Ok(address) => address.to_string(),
            Err(_) => format!("{}:{}", config.proxy.address, config.proxy.port),
        };
        format!(
            "{address}{}",
            config.proxy.user.as_ref().map(|u| format!(" (user {u}, password ***)")).unwrap_or_default()
        )
    } else {
        "使用しない (not used)".to_string()
    };
    writeln!(out, "プロキシ (proxy):             {proxy}")?;
    let outbox = Outbox::open(&config.data_dir(config_path)).await?;
    let tz = jiff::tz::TimeZone::get(&config.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let last_success = outbox
        .state(LAST_SUCCESS)
        .await?
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map(|t| tz.to_datetime(t).strftime("%Y/%m/%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "まだありません (never)".into());
    writeln!(out, "最終送信成功 (last delivery): {last_success}")?;
    writeln!(out, "読み込んだファイル (files):   {}", outbox.files_read().await?)?;
    writeln!(out, "送信待ち (rows queued):       {}", outbox.queued().await?)?;
    let dead = outbox.dead_letters().await?;
    writeln!(out, "送信不可 (dead letters):      {}", dead.len())?;
    for d in dead.iter().rev().take(5) {
        let origin = serde_json::from_str::<ingest_protocol::IngestRow>(&d.payload)
            .ok()
            .and_then(|r| Some(format!("{} line {}: ", r.source_file?, r.source_line?)))
            .unwrap_or_default();
        writeln!(out, "  - {origin}{}", d.reason)?;
    }
    let row_errors = outbox.row_errors().await?;
    writeln!(out, "読めない行 (bad CSV lines):   {}", row_errors.len())?;
    for (_, _, message) in row_errors.iter().take(5) {
        writeln!(out, "  - {message}")?;
    }
    for (_, problem) in outbox.file_problems().await? {
        writeln!(out, "  無視したファイル (ignored file): {problem}")?;
    }
    let last_error = outbox.state(LAST_ERROR).await?.unwrap_or_else(|| "なし (none)".into());
    writeln!(out, "最後のエラー (last error):    {last_error}")?;
    outbox.close().await;
    Ok(out)
}
