//! Sets of rows carried as one JSON value: bound as one parameter by the statements that write a
//! whole import at once ([`json_rows`], [`json`]), and read back as one value ([`select_json`]).
//!
//! `Any` binds no arrays, and sqlx-sqlite looks up the name of every `$N` parameter in a list,
//! so a statement with P named parameters costs O(P²) to bind: one JSON text parameter carries
//! any number of rows for the cost of one. Each row is a JSON array; `value->>N` reads its Nth
//! field on both engines (as text on PostgreSQL, hence the casts to `BIGINT` where the field is
//! a number), and a JSON `null` reads as SQL `NULL`.
//!
//! On SQLite a JSON row source that drives an `UPDATE … FROM` must be a `MATERIALIZED` CTE:
//! otherwise the planner may put the updated table on the outer loop and scan the JSON again for
//! each of its rows, which is quadratic.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{AnyConnection, Row};

use crate::{Backend, Result, StoreError};

/// A FROM item over the JSON array bound as `$param`, named `j` with the columns `value` (one
/// row) and `key` (its position, to keep the array's order).
pub(crate) fn json_rows(backend: Backend, param: usize) -> String {
    match backend {
        // `jsonb_each`, not `json_each`: each row's `value` comes as SQLite's binary JSON, which
        // `->>` reads as it is; as text it was parsed again for every field (2.5× the time).
        Backend::Sqlite => format!("jsonb_each(${param}) AS j"),
        Backend::Postgres => {
            format!("jsonb_array_elements(CAST(${param} AS jsonb)) WITH ORDINALITY AS j(value, key)")
        }
    }
}

/// The rows as the JSON text [`json_rows`] reads: tuples become arrays.
pub(crate) fn json<T: Serialize>(rows: &[T]) -> String {
    // Serialising fails only for maps with non-string keys and for failing `Serialize` impls;
    // the rows are tuples of strings, integers and options.
    serde_json::to_string(rows).expect("tuples of strings and integers serialise")
}

/// Reads `SELECT columns FROM …` (`from` is the rest of the statement, with the company as `$1`)
/// as one JSON array of arrays that the database builds: a single value crosses the driver
/// instead of a row per item, which costs far less at 100 000 rows.
pub(crate) async fn select_json<T: DeserializeOwned>(
    conn: &mut AnyConnection,
    backend: Backend,
    columns: &str,
    from: &str,
    company_id: i64,
) -> Result<Vec<T>> {
    select_json_of(conn, backend, columns, from, company_id, None, &[]).await
}

/// [`select_json`] of a statement that also reads rows given as JSON ([`json_rows`] of `$2`),
/// and the numbers `more` as `$3`, `$4`, ….
pub(crate) async fn select_json_given<T: DeserializeOwned>(
    conn: &mut AnyConnection,
    backend: Backend,
    columns: &str,
    from: &str,
    company_id: i64,
    given: String,
    more: &[i64],
) -> Result<Vec<T>> {
    select_json_of(conn, backend, columns, from, company_id, Some(given), more).await
}

async fn select_json_of<T: DeserializeOwned>(
    conn: &mut AnyConnection,
    backend: Backend,
    columns: &str,
    from: &str,
    company_id: i64,
    given: Option<String>,
    more: &[i64],
) -> Result<Vec<T>> {
    let sql = match backend {
        Backend::Sqlite => format!("SELECT json_group_array(json_array({columns})) AS rows {from}"),
        Backend::Postgres => {
            format!("SELECT CAST(COALESCE(json_agg(json_build_array({columns})), '[]') AS TEXT) AS rows {from}")
        }
    };
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id);
    if let Some(given) = given {
        query = query.bind(given);
    }
    for n in more {
        query = query.bind(*n);
    }
    let row = query.fetch_one(&mut *conn).await?;
    let text: String = row.try_get("rows")?;
    serde_json::from_str(&text).map_err(|e| StoreError::corrupt(format!("rows read as JSON: {e}")))
}
