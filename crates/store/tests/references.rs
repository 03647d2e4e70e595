//! A master row that names a company, department or employee that does not exist is refused by
//! both engines, and so is deleting a row that such a row names. SQLite checks each row's foreign
//! keys; PostgreSQL checks the rows of a statement together, after it (migration 0024), so each
//! statement here is a statement of its own.

use loginrec_store::Store;
use loginrec_store::url::{create_postgres_database, drop_postgres_database, with_database};
use sqlx::error::ErrorKind;
use sqlx::{AnyPool, Executor};

/// A fresh database numbers each table's first row 1.
const SETUP: [&str; 4] = [
    "INSERT INTO companies (code, name, time_zone, created_at_ms) VALUES ('c1', 'c', 'Asia/Tokyo', 0)",
    "INSERT INTO departments (company_id, code, name) VALUES (1, 'D1', '本社')",
    "INSERT INTO employees (company_id, employee_key, code, last_name, first_name, department_id) \
     VALUES (1, 'k1', 'E1', '山田', '太郎', 1)",
    "INSERT INTO employee_departments (company_id, employee_id, effective_from, department_id) VALUES (1, 1, NULL, 1)",
];

/// Each statement names one row that does not exist, or deletes one that is named.
const REFUSED: [&str; 9] = [
    "INSERT INTO employees (company_id, employee_key, code, last_name, first_name, department_id) \
     VALUES (1, 'k2', 'E2', '佐藤', '花子', 99)",
    "INSERT INTO employees (company_id, employee_key, code, last_name, first_name, department_id) \
     VALUES (99, 'k2', 'E2', '佐藤', '花子', 1)",
    "UPDATE employees SET department_id = 99 WHERE id = 1",
    "INSERT INTO employee_departments (company_id, employee_id, effective_from, department_id) VALUES (1, 99, 20260401, 1)",
    "INSERT INTO employee_departments (company_id, employee_id, effective_from, department_id) VALUES (1, 1, 20260401, 99)",
    "INSERT INTO lr_users (company_id, employee_key, employee_code, full_name) VALUES (99, 'k1', 'E1', '山田 太郎')",
    "INSERT INTO link_history (company_id, account, employee_id, from_ms, to_ms, changed_at_ms) \
     VALUES (1, 'yamada', 99, NULL, NULL, 0)",
    "DELETE FROM departments WHERE id = 1",
    "DELETE FROM employees WHERE id = 1",
];

async fn refuses_rows_that_name_nothing(url: &str) {
    Store::connect(url).await.unwrap().close().await;
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(url).await.unwrap();
    for sql in SETUP {
        pool.execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    for sql in REFUSED {
        let error = pool.execute(sql).await.expect_err(sql);
        let kind = error.as_database_error().map(|e| e.kind());
        assert!(matches!(kind, Some(ErrorKind::ForeignKeyViolation)), "{sql}: {error}");
    }
    let employees: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM employees").fetch_one(&pool).await.unwrap();
    let departments: i64 = sqlx::query_scalar("SELECT department_id FROM employees").fetch_one(&pool).await.unwrap();
    assert_eq!((employees, departments), (1, 1), "a refused statement left nothing behind");
    // What does name existing rows is taken.
    pool.execute(
        "INSERT INTO link_history (company_id, account, employee_id, from_ms, to_ms, changed_at_ms) \
         VALUES (1, 'yamada', 1, NULL, NULL, 0)",
    )
    .await
    .unwrap();
    pool.close().await;
}

#[tokio::test]
async fn sqlite_refuses_master_rows_that_name_nothing() {
    let dir = tempfile::tempdir().unwrap();
    refuses_rows_that_name_nothing(&format!("sqlite://{}/references.db", dir.path().display())).await;
}

#[tokio::test]
#[cfg_attr(
    not(loginrec_postgres),
    ignore = "set LOGINREC_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn postgres_refuses_master_rows_that_name_nothing() {
    let server = std::env::var("LOGINREC_TEST_POSTGRES_URL").expect("LOGINREC_TEST_POSTGRES_URL");
    let name = format!("loginrec_references_{}", std::process::id());
    create_postgres_database(&server, &name).await.unwrap();
    refuses_rows_that_name_nothing(&with_database(&server, &name)).await;
    drop_postgres_database(&server, &name).await.unwrap();
}
