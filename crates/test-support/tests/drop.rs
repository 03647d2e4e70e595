//! A PostgreSQL test database never outlives its `TestDb`: dropped at the end of a test, with
//! a panicking task, or while a panic unwinds out of a test's runtime, even with connections
//! still open to it. PostgreSQL only: ignored unless `LOGINREC_TEST_POSTGRES_URL` is set (see
//! the crate docs).

use sqlx::Connection;
use test_support::{Engine, TestDb, postgres_url};

/// Whether the server still lists the database.
async fn exists(name: &str) -> bool {
    let mut conn = sqlx::postgres::PgConnection::connect(&postgres_url()).await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    count == 1
}

/// A test database with a store open on it and a table written, as a test leaves it.
async fn used_database() -> (TestDb, loginrec_store::Store, String) {
    let db = TestDb::new(Engine::Postgres).await;
    let name = db.postgres_name().unwrap().to_string();
    let store = db.store().await;
    store.create_company("ABC", "x", "Asia/Tokyo").await.unwrap();
    assert!(exists(&name).await, "{name} was created");
    (db, store, name)
}

test_support::postgres_tests! {
    #[tokio::test]
    async fn a_dropped_test_database_is_gone_even_with_its_pool_still_open() {
        let (db, store, name) = used_database().await;
        drop(db);
        assert!(!exists(&name).await, "{name} is still listed");
        drop(store);
    }

    #[tokio::test]
    async fn a_test_database_is_dropped_with_the_task_that_panicked_holding_it() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let (_db, _store, name) = used_database().await;
            tx.send(name).unwrap();
            panic!("a failing test");
        });
        let error = task.await.unwrap_err();
        assert!(error.is_panic());
        let name = rx.await.unwrap();
        assert!(!exists(&name).await, "{name} is still listed");
    }

    #[test]
    fn a_test_database_is_dropped_when_a_panic_unwinds_out_of_the_tests_runtime() {
        let name = std::sync::Mutex::new(None);
        let outcome = std::panic::catch_unwind(|| {
            tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
                let (_db, _store, created) = used_database().await;
                *name.lock().unwrap() = Some(created);
                panic!("a failing test");
            })
        });
        assert!(outcome.is_err());
        let name = name.lock().unwrap().take().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        assert!(!runtime.block_on(exists(&name)), "{name} is still listed");
    }

    #[tokio::test]
    async fn cleanup_drops_the_database_at_once() {
        let (db, store, name) = used_database().await;
        store.close().await;
        db.cleanup().await;
        assert!(!exists(&name).await, "{name} is still listed");
    }
}
