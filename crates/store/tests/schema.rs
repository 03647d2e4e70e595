//! The two engines' migrations are kept as two sets of files (their DDL differs, and an
//! applied migration may never change), so nothing but this test keeps them in step: after
//! migrating, both engines have the same tables, the same columns, the same NOT NULL columns
//! and the same indexes. Ignored unless `LOGINREC_TEST_POSTGRES_URL` names a server.

use std::collections::BTreeSet;

use loginrec_store::Store;
use loginrec_store::url::{create_postgres_database, drop_postgres_database, with_database};
use sqlx::Row;

/// ログ表示's account filter has a trigram index of each engine's own kind: an FTS5 table on
/// SQLite (its content stays in `log_accounts`; FTS5 keeps its index in tables of its own) and
/// `pg_trgm` GIN indexes on PostgreSQL. They are left out of the comparison, by name.
const SQLITE_TEXT_SEARCH_TABLE: &str = "log_accounts_text";
const POSTGRES_TEXT_SEARCH_INDEXES: [&str; 2] = ["log_accounts_user_name_text", "log_accounts_account_text"];

/// ログ表示's kind filter reads SQLite's `logs_by_kind` (kind, then time); PostgreSQL reads the
/// kind from the third column of `logs_by_time` (time, then kind), and has no `logs_by_kind`.
const SQLITE_ONLY_INDEXES: [(&str, &str); 1] = [("logs", "logs_by_kind")];

/// (table, column, NOT NULL) of every column, and (table, index) of every named index.
type Schema = (BTreeSet<(String, String, bool)>, BTreeSet<(String, String)>);

fn only<T: Ord + Clone>(a: &BTreeSet<T>, b: &BTreeSet<T>) -> Vec<T> {
    a.difference(b).cloned().collect()
}

async fn sqlite_schema(url: &str) -> Schema {
    let pool = sqlx::SqlitePool::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut columns = BTreeSet::new();
    let mut indexes = BTreeSet::new();
    for table in tables.into_iter().filter(|t| !t.starts_with(SQLITE_TEXT_SEARCH_TABLE)) {
        for r in sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA table_info({table})"))).fetch_all(&pool).await.unwrap()
        {
            let name: String = r.get("name");
            // A primary key is NOT NULL on PostgreSQL; SQLite reports its rowid alias as nullable.
            let not_null = r.get::<i64, _>("notnull") == 1 || r.get::<i64, _>("pk") > 0;
            columns.insert((table.clone(), name, not_null));
        }
    }
    for r in sqlx::query("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        .fetch_all(&pool)
        .await
        .unwrap()
    {
        let (table, name): (String, String) = (r.get("tbl_name"), r.get("name"));
        if !SQLITE_ONLY_INDEXES.contains(&(table.as_str(), name.as_str())) {
            indexes.insert((table, name));
        }
    }
    pool.close().await;
    (columns, indexes)
}

async fn postgres_schema(url: &str) -> Schema {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let mut columns = BTreeSet::new();
    for r in sqlx::query(
        "SELECT table_name::TEXT AS t, column_name::TEXT AS c, is_nullable::TEXT AS n FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    {
        columns.insert((r.get("t"), r.get("c"), r.get::<String, _>("n") == "NO"));
    }
    let mut indexes = BTreeSet::new();
    // Indexes that back a PRIMARY KEY or UNIQUE constraint are SQLite's autoindexes, which it
    // does not list with SQL: only the ones created by name are compared.
    for r in sqlx::query(
        "SELECT i.tablename::TEXT AS t, i.indexname::TEXT AS n FROM pg_indexes i WHERE i.schemaname = 'public' \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    {
        let name: String = r.get("n");
        if !POSTGRES_TEXT_SEARCH_INDEXES.contains(&name.as_str()) {
            indexes.insert((r.get("t"), name));
        }
    }
    pool.close().await;
    (columns, indexes)
}

#[tokio::test]
#[cfg_attr(
    not(loginrec_postgres),
    ignore = "set LOGINREC_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn both_engines_migrate_to_the_same_schema() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}/schema.db", dir.path().display());
    Store::connect(&sqlite_url).await.unwrap().close().await;

    let server = std::env::var("LOGINREC_TEST_POSTGRES_URL").expect("LOGINREC_TEST_POSTGRES_URL");
    let name = format!("loginrec_schema_{}", std::process::id());
    create_postgres_database(&server, &name).await.unwrap();
    let postgres_url = with_database(&server, &name);
    Store::connect(&postgres_url).await.unwrap().close().await;
    let postgres = postgres_schema(&postgres_url).await;
    drop_postgres_database(&server, &name).await.unwrap();

    let sqlite = sqlite_schema(&sqlite_url).await;
    assert_eq!(only(&sqlite.0, &postgres.0), Vec::<(String, String, bool)>::new(), "columns only SQLite has so");
    assert_eq!(only(&postgres.0, &sqlite.0), Vec::<(String, String, bool)>::new(), "columns only PostgreSQL has so");
    assert_eq!(only(&sqlite.1, &postgres.1), Vec::<(String, String)>::new(), "indexes only SQLite has");
    assert_eq!(only(&postgres.1, &sqlite.1), Vec::<(String, String)>::new(), "indexes only PostgreSQL has");
}
