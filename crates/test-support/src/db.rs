//! Fresh databases, one per test, that never outlive their [`TestDb`].

use loginrec_store::Store;
use rand::Rng;

/// The variable naming the PostgreSQL server the tests create their databases on.
pub const POSTGRES_URL_VAR: &str = "LOGINREC_TEST_POSTGRES_URL";
/// `1` makes PostgreSQL tests mandatory: without a server they fail instead of being ignored.
pub const REQUIRE_POSTGRES_VAR: &str = "LOGINREC_REQUIRE_POSTGRES";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server's URL. Panics, saying what to set, when there is none: a PostgreSQL
/// test runs only when one was configured or required (see the crate docs).
pub fn postgres_url() -> String {
    match std::env::var(POSTGRES_URL_VAR).ok().filter(|url| !url.is_empty()) {
        Some(url) => url,
        None => panic!(
            "{POSTGRES_URL_VAR} is not set, and this PostgreSQL test runs ({REQUIRE_POSTGRES_VAR}=1, or the test crate \
             was built with it set): set {POSTGRES_URL_VAR}=postgres://postgres@127.0.0.1:5432/postgres"
        ),
    }
}

/// A fresh, empty database, removed when this value is dropped.
///
/// A SQLite database lives in a temporary folder deleted with it. A PostgreSQL database
/// `loginrec_test_<pid>_<hex>` is created on the server named by `LOGINREC_TEST_POSTGRES_URL`
/// and dropped from it when the `TestDb` is dropped, whether the test ended, returned early or
/// panicked (the value is dropped while the panic unwinds, or with the task that owned it).
/// `Drop` cannot wait on async work, and blocking a runtime's thread on that runtime's own
/// tasks can hang it, so the drop runs on a thread of its own with a small runtime of its own,
/// and is joined. `DROP DATABASE … WITH (FORCE)` ends the connections still open to it (a pool
/// not closed, a server task still running), so nothing a test leaves behind keeps the database
/// alive. Only a killed process leaves its databases behind.
pub struct TestDb {
    pub url: String,
    pub engine: Engine,
    place: Place,
}

enum Place {
    /// Kept for its `Drop`, which deletes the folder and the database in it.
    Sqlite {
        _folder: tempfile::TempDir,
    },
    Postgres(PostgresDatabase),
}

impl TestDb {
    pub async fn new(engine: Engine) -> TestDb {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary folder");
                let url = format!("sqlite://{}/loginrec.db", dir.path().display());
                TestDb { url, engine, place: Place::Sqlite { _folder: dir } }
            }
            Engine::Postgres => {
                let admin_url = postgres_url();
                let name = format!("loginrec_test_{}_{:08x}", std::process::id(), rand::rng().random::<u32>());
                loginrec_store::url::create_postgres_database(&admin_url, &name).await.expect("create test database");
                let url = loginrec_store::url::with_database(&admin_url, &name);
                TestDb { url, engine, place: Place::Postgres(PostgresDatabase { admin_url, name, dropped: false }) }
            }
        }
    }

    pub async fn store(&self) -> Store {
        Store::connect(&self.url).await.expect("open the test database")
    }

    /// The name of the PostgreSQL database (`loginrec_test_<pid>_<hex>`); `None` on SQLite.
    pub fn postgres_name(&self) -> Option<&str> {
        match &self.place {
            Place::Postgres(db) => Some(&db.name),
            Place::Sqlite { .. } => None,
        }
    }

    /// Removes the database now, without blocking the runtime; dropping the `TestDb` does the
    /// same, so a test that never gets here leaks nothing.
    pub async fn cleanup(mut self) {
        if let Place::Postgres(db) = &mut self.place
            && drop_database(&db.admin_url, &db.name).await.is_ok()
        {
            db.dropped = true;
        }
    }
}

/// A database created on the PostgreSQL server, dropped from it with this value.
struct PostgresDatabase {
    admin_url: String,
    name: String,
    dropped: bool,
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let outcome = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            runtime.block_on(drop_database(&admin_url, &name)).map_err(|e| e.to_string())
        })
        .join();
        // Never panic here: this may run while a failing test unwinds, where a second panic aborts.
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: the test database {} was not dropped: {e}", self.name),
            Err(_) => {
                eprintln!("warning: the test database {} was not dropped: the dropping thread panicked", self.name)
            }
        }
    }
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), sqlx::Error> {
    loginrec_store::url::drop_postgres_database(admin_url, name).await
}
