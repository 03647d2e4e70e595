//! A company's first morning fills its empty tables faster than autovacuum comes round (once a
//! minute, if it is on): the store brings the planner's statistics of the tables a burst grew up
//! to date itself. Ignored unless `LOGINREC_TEST_POSTGRES_URL` names a server.

use std::time::Duration;

use ingest_protocol::{ConnectorInfo, IngestRow};
use loginrec_rules::LogKind;
use loginrec_store::Store;
use loginrec_store::url::{create_postgres_database, drop_postgres_database, with_database};

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(loginrec_postgres),
    ignore = "set LOGINREC_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn a_burst_brings_the_statistics_of_the_tables_it_grew_up_to_date_postgres() {
    let server = std::env::var("LOGINREC_TEST_POSTGRES_URL").expect("LOGINREC_TEST_POSTGRES_URL");
    let name = format!("loginrec_test_{}_statistics", std::process::id());
    create_postgres_database(&server, &name).await.unwrap();
    let url = with_database(&server, &name);
    let analyzed: Result<Option<String>, Box<dyn std::error::Error>> = async {
        let store = Store::connect(&url).await?;
        let pool = sqlx::PgPool::connect(&url).await?;
        // Only the store may analyze the logs, whatever this server's autovacuum does.
        sqlx::query("ALTER TABLE logs SET (autovacuum_enabled = false)").execute(&pool).await?;
        let company = store.create_company("STATS", "統計", "Asia/Tokyo").await?;
        let connector = ConnectorInfo { version: "1.0.0.5".into(), host: "lsmgr".into(), collection_start: None };
        let log = |i: i64| {
            IngestRow::new(
                &company.code,
                format!("CORP\\user{i:05}"),
                LogKind::Logon,
                1_796_400_000_000 + i,
                None,
                None,
                None,
                None,
            )
        };
        // 6 000 logs into an empty table; then a log now and then, as batches keep coming: the
        // counts of changed rows reach the statistics views within a second or so.
        store.ingest(&company, &connector, &(0..6_000).map(log).collect::<Vec<_>>()).await?;
        for i in 0..60 {
            let last: Option<String> =
                sqlx::query_scalar("SELECT CAST(last_analyze AS TEXT) FROM pg_stat_user_tables WHERE relname = 'logs'")
                    .fetch_one(&pool)
                    .await?;
            if last.is_some() {
                return Ok(last);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            store.ingest(&company, &connector, &[log(6_000 + i)]).await?;
        }
        Ok(None)
    }
    .await;
    drop_postgres_database(&server, &name).await.unwrap();
    assert!(analyzed.unwrap().is_some(), "the logs were analyzed once the burst had outgrown their statistics");
}
