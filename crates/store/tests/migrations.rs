//! A database made by an earlier version keeps what it holds through the migrations that rebuild
//! a table: its rows, their order in ログ表示, and what counts as a duplicate.

use ingest_protocol::{ConnectorInfo, IngestRow};
use loginrec_rules::LogKind;
use loginrec_store::{LogFilter, Store};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

/// The last migration before the logs' unique key followed the account.
const BEFORE_ACCOUNT_KEY: i64 = 21;

fn row(key: &str, user_name: &str, kind: LogKind, event_at_ms: i64) -> IngestRow {
    IngestRow {
        key: key.into(),
        user_name: user_name.into(),
        kind,
        event_at_ms,
        recorded_at_ms: None,
        sub_manager_no: None,
        agent_no: None,
        computer_name: None,
        source_file: None,
        source_line: None,
    }
}

#[tokio::test]
async fn logs_stored_before_the_key_followed_the_account_stay_whole_and_unique() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let pool =
        SqlitePool::connect_with(SqliteConnectOptions::new().filename(&path).create_if_missing(true)).await.unwrap();
    let mut migrator = sqlx::migrate!("./migrations/sqlite");
    migrator.migrations =
        migrator.migrations.iter().filter(|m| m.version <= BEFORE_ACCOUNT_KEY).cloned().collect::<Vec<_>>().into();
    migrator.run(&pool).await.unwrap();
    sqlx::query(
        "INSERT INTO companies (id, code, name, time_zone, created_at_ms) VALUES (1, 'ABC', 'ABC', 'Asia/Tokyo', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO connectors (id, company_id, version, host) VALUES (1, 1, '1.0.0', 'lanscope-server')")
        .execute(&pool)
        .await
        .unwrap();
    // Two logs at the same instant: ログ表示 shows the one stored last first.
    for (key, user, account, kind, at) in [
        ("k1", "CORP\\sato", "sato", "logon", 1_000),
        ("k3", "CORP\\suzuki", "suzuki", "logon", 2_000),
        ("k2", "CORP\\sato", "sato", "logoff", 2_000),
    ] {
        sqlx::query(
            "INSERT INTO logs (company_id, event_at_ms, idem_key, user_name, account, kind, received_at_ms, connector_id, \
             computer_name) VALUES (1, $1, $2, $3, $4, $5, 0, 1, 'PC-1')",
        )
        .bind(at)
        .bind(key)
        .bind(user)
        .bind(account)
        .bind(kind)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;

    let store = Store::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let company = store.company_by_code("ABC").await.unwrap().unwrap();
    let page = store.logs(company.id, &LogFilter { limit: 10, ..LogFilter::default() }).await.unwrap();
    let seen: Vec<(&str, i64, &str, &str, Option<&str>)> = page
        .iter()
        .map(|l| (l.key.as_str(), l.event_at_ms, l.account.as_str(), l.kind.as_str(), l.computer_name.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("k2", 2_000, "sato", "logoff", Some("PC-1")),
            ("k3", 2_000, "suzuki", "logon", Some("PC-1")),
            ("k1", 1_000, "sato", "logon", Some("PC-1")),
        ]
    );
    assert_eq!(page[0].connector_version, "1.0.0");

    let connector = ConnectorInfo { version: "1.0.1".into(), host: "lanscope-server".into(), collection_start: None };
    let again = [row("k2", "CORP\\sato", LogKind::Logoff, 2_000), row("k4", "CORP\\sato", LogKind::Logon, 3_000)];
    let outcome = store.ingest(&company, &connector, &again).await.unwrap();
    assert_eq!((outcome.accepted, outcome.duplicate), (1, 1), "a log stored before the migration is a duplicate");
    assert_eq!(store.log_count(company.id).await.unwrap(), 4);
    store.close().await;
}
