//! The rows of a waiting piece the server already answered for, as spans of consecutive row ids.
//!
//! Answers come batch by batch in the order the rows were read, so a piece's answered rows are
//! a handful of spans however many rows they are; a batch reads and rewrites only its piece's
//! spans.

use sqlx::{Sqlite, SqliteConnection};

use super::piece::id_range;

/// A piece's answered row ids: disjoint, ordered spans `first..end`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Settled {
    spans: Vec<(i64, i64)>,
}

impl Settled {
    /// The spans noted for `piece`.
    pub(crate) async fn of_piece(conn: &mut SqliteConnection, piece: i64) -> Result<Settled, sqlx::Error> {
        let (first, end) = id_range(piece);
        let spans = sqlx::query_as::<Sqlite, (i64, i64)>(
            "SELECT first_id, end_id FROM settled_spans WHERE first_id >= ? AND first_id < ? ORDER BY first_id",
        )
        .bind(first)
        .bind(end)
        .fetch_all(&mut *conn)
        .await?;
        Ok(Settled { spans })
    }

    pub(crate) fn contains(&self, id: i64) -> bool {
        let after = self.spans.partition_point(|(first, _)| *first <= id);
        after > 0 && id < self.spans[after - 1].1
    }

    /// How many rows the spans hold.
    pub(crate) fn count(&self) -> i64 {
        self.spans.iter().map(|(first, end)| end - first).sum()
    }

    /// These spans and `ids`, merged where they touch.
    pub(crate) fn with(&self, ids: impl IntoIterator<Item = i64>) -> Settled {
        let mut all: Vec<(i64, i64)> =
            self.spans.iter().copied().chain(ids.into_iter().map(|id| (id, id + 1))).collect();
        all.sort_unstable();
        let mut spans: Vec<(i64, i64)> = Vec::with_capacity(all.len().min(16));
        for (first, end) in all {
            match spans.last_mut() {
                Some(last) if first <= last.1 => last.1 = last.1.max(end),
                _ => spans.push((first, end)),
            }
        }
        Settled { spans }
    }

    /// Puts these spans in place of those noted for `piece`.
    pub(crate) async fn store(&self, conn: &mut SqliteConnection, piece: i64) -> Result<(), sqlx::Error> {
        forget(conn, piece).await?;
        for (first, end) in &self.spans {
            sqlx::query("INSERT INTO settled_spans (first_id, end_id) VALUES (?, ?)")
                .bind(first)
                .bind(end)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

/// Drops the spans noted for `piece`.
pub(crate) async fn forget(conn: &mut SqliteConnection, piece: i64) -> Result<(), sqlx::Error> {
    let (first, end) = id_range(piece);
    sqlx::query("DELETE FROM settled_spans WHERE first_id >= ? AND first_id < ?")
        .bind(first)
        .bind(end)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_merge_into_spans_and_count_once() {
        let settled = Settled::default().with([5, 3, 4, 9, 4]);
        assert_eq!(settled.spans, vec![(3, 6), (9, 10)]);
        assert_eq!(settled.count(), 4, "an id answered twice counts once");
        let settled = settled.with([6, 7, 8]);
        assert_eq!(settled.spans, vec![(3, 10)]);
        assert!(settled.contains(3) && settled.contains(9));
        assert!(!settled.contains(2) && !settled.contains(10));
        assert!(!Settled::default().contains(0));
    }

    /// An outbox that noted answered rows one by one keeps them answered, a piece's spans never
    /// running into the next piece's.
    #[tokio::test]
    async fn rows_noted_one_by_one_become_spans() {
        use sqlx::Connection;
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE TABLE settled_rows (id INTEGER PRIMARY KEY)").execute(&mut conn).await.unwrap();
        let piece = |p: i64, index: i64| super::super::piece::row_id(p, index as usize);
        let last_of_first = (1 << 20) - 1;
        let ids =
            [piece(1, 0), piece(1, 1), piece(1, 2), piece(1, 7), piece(1, last_of_first), piece(2, 0), piece(2, 1)];
        for id in ids {
            sqlx::query("INSERT INTO settled_rows (id) VALUES (?)").bind(id).execute(&mut conn).await.unwrap();
        }
        sqlx::raw_sql(include_str!("../../migrations/0004_settled_spans.sql")).execute(&mut conn).await.unwrap();
        let first = Settled::of_piece(&mut conn, 1).await.unwrap();
        let second = Settled::of_piece(&mut conn, 2).await.unwrap();
        assert_eq!(
            first.spans,
            vec![(piece(1, 0), piece(1, 3)), (piece(1, 7), piece(1, 8)), (piece(1, last_of_first), piece(2, 0))]
        );
        assert_eq!(second.spans, vec![(piece(2, 0), piece(2, 2))]);
        assert_eq!(first.count() + second.count(), ids.len() as i64);
    }
}
