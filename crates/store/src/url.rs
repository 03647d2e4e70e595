//! Database URLs as people pass them: shown without their password, and the same server with
//! another database (for the fresh databases of tests and benchmarks). One definition of each,
//! so no message anywhere prints a password.

/// The URL without its password, for messages and logs: `postgres://user:***@host/db`.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user_part = &url[scheme + 3..at];
            let user = user_part.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// The URL with its database replaced by `name`, keeping user, host, port and parameters.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map(|(b, q)| (b, Some(q))).unwrap_or((url, None));
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end).unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Creates database `name` (letters, digits and `_` only) on the PostgreSQL server `server_url`.
pub async fn create_postgres_database(server_url: &str, name: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "database name {name:?}");
    let mut conn = sqlx::postgres::PgConnection::connect(server_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await?;
    conn.close().await
}

/// Drops database `name` from the PostgreSQL server, ending the connections still open to it.
pub async fn drop_postgres_database(server_url: &str, name: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "database name {name:?}");
    let mut conn = sqlx::postgres::PgConnection::connect(server_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut conn).await?;
    conn.close().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_shows() {
        assert_eq!(redacted("postgres://app:s3cr@t@db.example/lr"), "postgres://app:***@db.example/lr");
        assert_eq!(redacted("postgres://app@db.example/lr"), "postgres://app:***@db.example/lr");
        assert_eq!(redacted("sqlite://./data/loginrec.db"), "sqlite://./data/loginrec.db");
    }

    #[test]
    fn the_database_name_is_replaced_keeping_the_rest() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h/postgres?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
