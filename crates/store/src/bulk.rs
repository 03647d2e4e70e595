//! Sets of rows carried as one value: bound as one parameter by the statements that write a
//! whole import at once ([`json_rows`], [`json`]; [`Listed`] for the hottest), and read back as
//! one value ([`select_json`]).
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

use crate::{Backend, Refusal, Result, StoreError};

/// Rows bound as one text that PostgreSQL splits by control characters: for the rows every
/// ingest inserts, which PostgreSQL read from JSON in a good part of the statement's time (in
/// psql, 10 000 logs of 11 fields: 10 ms to split against 31 ms to read as JSON; 143 ms against
/// 215 ms for the whole insert into an empty `logs`). No stored text holds these characters: the
/// server refuses a row with a control character in any field (`ingest_protocol::validate_row`),
/// and a text that holds one is refused here rather than cut. SQLite reads the same rows as
/// [`json`] by `jsonb_each`, which costs it less than splitting would.
///
/// A list a statement joins to a table stays JSON: PostgreSQL expects 1 000 rows of
/// `string_to_table` and 100 of `jsonb_array_elements`, and from 1 000 it may read the whole
/// table and hash it rather than look each item up (a derivation's logs read by segments sent
/// split: 9.0 s against 1.9 s as JSON over a 100 000-employee morning). A derivation's date
/// ranges (`pipeline::read::DayRows`) are split text all the same, as they were before: their one
/// read took 1.4 s of such a morning against 2.3 s for the three reads it replaced.
///
/// The rows are `j` with the column `key` (the row's place, to keep the order), and the field
/// `i` of a row is [`Listed::text`]`(i)`: text, or NULL for a `None`.
pub(crate) struct Listed {
    backend: Backend,
}

/// Between two rows, between two fields of a row, and a field that is NULL; written in the SQL as
/// `E'\x1E'` and so on, which read the same whatever `standard_conforming_strings` says.
const ROW_SEPARATOR: char = '\u{1e}';
const FIELD_SEPARATOR: char = '\u{1f}';
const NULL_FIELD: char = '\u{1a}';

impl Listed {
    pub(crate) fn new(backend: Backend) -> Listed {
        Listed { backend }
    }

    /// The FROM item over the rows bound as `$param`.
    pub(crate) fn rows(&self, param: usize) -> String {
        match self.backend {
            Backend::Sqlite => json_rows(self.backend, param),
            Backend::Postgres => {
                format!("string_to_table(CAST(${param} AS TEXT), E'\\x1E') WITH ORDINALITY AS j(value, key)")
            }
        }
    }

    /// Field `i` of a row, as text.
    pub(crate) fn text(&self, i: usize) -> String {
        match self.backend {
            Backend::Sqlite => format!("j.value->>{i}"),
            Backend::Postgres => format!("NULLIF(split_part(j.value, E'\\x1F', {}), E'\\x1A')", i + 1),
        }
    }

    /// Field `i` of a row, as a number.
    pub(crate) fn number(&self, i: usize) -> String {
        format!("CAST({} AS BIGINT)", self.text(i))
    }

    /// The rows as the parameter [`Listed::rows`] reads. A text with one of the separators is
    /// refused on both engines alike.
    pub(crate) fn bind<R: Cells + Serialize>(&self, rows: &[R]) -> Result<String> {
        let mut out = String::with_capacity(rows.len() * 64);
        for (n, row) in rows.iter().enumerate() {
            if n > 0 {
                out.push(ROW_SEPARATOR);
            }
            row.put_cells(&mut out)?;
        }
        match self.backend {
            Backend::Sqlite => Ok(json(rows)),
            Backend::Postgres => Ok(out),
        }
    }
}

/// A field of a [`Listed`] row.
pub(crate) trait Cell {
    fn put(&self, out: &mut String) -> Result<()>;
}

impl Cell for i64 {
    fn put(&self, out: &mut String) -> Result<()> {
        use std::fmt::Write;
        write!(out, "{self}").expect("writing to a String does not fail");
        Ok(())
    }
}

impl Cell for str {
    fn put(&self, out: &mut String) -> Result<()> {
        if self.contains([ROW_SEPARATOR, FIELD_SEPARATOR, NULL_FIELD]) {
            return Err(StoreError::Refused(Refusal::ControlCharacters(self.to_string())));
        }
        out.push_str(self);
        Ok(())
    }
}

impl Cell for String {
    fn put(&self, out: &mut String) -> Result<()> {
        self.as_str().put(out)
    }
}

impl<T: Cell + ?Sized> Cell for &T {
    fn put(&self, out: &mut String) -> Result<()> {
        (**self).put(out)
    }
}

impl<T: Cell> Cell for Option<T> {
    fn put(&self, out: &mut String) -> Result<()> {
        match self {
            Some(v) => v.put(out),
            None => {
                out.push(NULL_FIELD);
                Ok(())
            }
        }
    }
}

/// A [`Listed`] row: a tuple of [`Cell`]s.
pub(crate) trait Cells {
    fn put_cells(&self, out: &mut String) -> Result<()>;
}

macro_rules! cells {
    ($first:ident $first_i:tt $(, $t:ident $i:tt)*) => {
        impl<$first: Cell, $($t: Cell),*> Cells for ($first, $($t,)*) {
            fn put_cells(&self, out: &mut String) -> Result<()> {
                self.$first_i.put(out)?;
                $(
                    out.push(FIELD_SEPARATOR);
                    self.$i.put(out)?;
                )*
                Ok(())
            }
        }
    };
}

cells!(A 0);
cells!(A 0, B 1);
cells!(A 0, B 1, C 2);
cells!(A 0, B 1, C 2, D 3);
cells!(A 0, B 1, C 2, D 3, E 4);
cells!(A 0, B 1, C 2, D 3, E 4, F 5);
cells!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
cells!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
cells!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
cells!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
cells!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_rows_keep_empty_texts_apart_from_nulls() {
        let rows: [(i64, &str, Option<&str>); 2] = [(1, "営業部,PC;\"1\"\\", Some("")), (-2, "", None)];
        let text = Listed::new(Backend::Postgres).bind(&rows).unwrap();
        assert_eq!(text, "1\u{1f}営業部,PC;\"1\"\\\u{1f}\u{1e}-2\u{1f}\u{1f}\u{1a}");
        assert_eq!(Listed::new(Backend::Sqlite).bind(&rows).unwrap(), json(&rows));
    }

    #[test]
    fn a_text_holding_a_separator_is_refused_on_both_engines() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            for text in ["a\u{1e}b", "a\u{1f}b", "\u{1a}"] {
                let error = Listed::new(backend).bind(&[(1, Some(text))]).unwrap_err();
                assert!(
                    matches!(error, StoreError::Refused(Refusal::ControlCharacters(ref t)) if t == text),
                    "{error}"
                );
            }
        }
    }
}
