//! Test helpers shared by the crates' integration tests: fresh databases ([`TestDb`]), the
//! real server running in the test's process ([`TestServer`]), one company's running app with
//! its administrator logged in ([`TestApp`]), and the macros that run a test on each engine.
//!
//! # Engines, and what is ignored
//!
//! A test written inside [`engine_tests!`] becomes two tests, `NAME_sqlite` and
//! `NAME_postgres`, each with a database of its own: a failure names its engine, and one
//! engine's failure never hides the other's. The SQLite test always runs. The PostgreSQL test,
//! like every test inside [`postgres_tests!`], runs when `LOGINREC_TEST_POSTGRES_URL` names a
//! server (for example `postgres://postgres@127.0.0.1:5432/postgres`; each test creates and
//! drops a database of its own there) and is reported as **ignored** otherwise, never as
//! passed; `cargo test -- --ignored` runs the ignored ones, and fails them without a server.
//!
//! Whether the PostgreSQL tests run is decided when the test crate is built. The build script
//! of each package that has such tests (`build.rs` in `crates/server`, `crates/worker`,
//! `crates/loginrec` and this crate) sets `--cfg loginrec_postgres` when the variable is set
//! and not empty, and the macros mark the PostgreSQL tests
//! `#[cfg_attr(not(loginrec_postgres), ignore = …)]`. That attribute is evaluated in the crate
//! that uses the macro, so a package using the macros needs that build script (without one its
//! PostgreSQL tests are always ignored, with a warning about an unknown cfg). Cargo reruns the
//! script when the variable changes.
//!
//! `LOGINREC_REQUIRE_POSTGRES=1` (as in CI) makes the PostgreSQL tests mandatory: the build
//! script then sets the cfg even without a URL, and the tests fail, saying what to set, instead
//! of being ignored.
//!
//! The server's browser test works the same way with `--cfg loginrec_browser`, set by
//! `crates/server/build.rs` when `/usr/bin/chromium` and `/usr/bin/chromedriver` exist or
//! `LOGINREC_REQUIRE_BROWSER=1`.
//!
//! # Databases
//!
//! Every [`TestDb`] is removed when it is dropped, also when its test panics (see its docs);
//! [`TestDb::cleanup`] and [`TestApp::finish`] do the same without blocking the runtime, and a
//! test that never reaches them leaks nothing.
#![forbid(unsafe_code)]

mod app;
mod client;
mod db;
mod seed;
mod server;

pub use app::{ADMIN_PASSWORD, COMPANY, TestApp};
pub use client::AdminClient;
pub use db::{Engine, POSTGRES_URL_VAR, REQUIRE_POSTGRES_VAR, TestDb, postgres_url};
pub use seed::{LogLine, SeedEmployee, post_batch, post_logs, seed_company};
pub use server::TestServer;

#[doc(hidden)]
pub use pastey as __pastey;

/// Each `async fn NAME(engine: Engine) { … }` inside becomes the tests `NAME_sqlite` and
/// `NAME_postgres`, with `engine` bound to [`Engine::Sqlite`] and [`Engine::Postgres`]; the
/// PostgreSQL one is ignored unless PostgreSQL tests run (see the crate docs).
///
/// A test runs on `#[tokio::test]`; one that needs another runtime starts with its own tokio
/// attribute, before any other attribute:
///
/// ```text
/// test_support::engine_tests! {
///     async fn a_resent_batch_stores_nothing_twice(engine: Engine) {
///         let app = TestApp::start(engine, &[]).await;
///         // …
///     }
///
///     #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
///     async fn two_senders_racing_send_each_punch_once(engine: Engine) {
///         // …
///     }
/// }
/// ```
#[macro_export]
macro_rules! engine_tests {
    () => {};
    (
        #[tokio::test $(($($runtime:tt)*))?]
        $(#[$attr:meta])*
        async fn $name:ident($engine:ident: Engine $(,)?) $body:block
        $($rest:tt)*
    ) => {
        $crate::__engine_test! { [$(($($runtime)*))?] [$(#[$attr])*] $name $engine $body }
        $crate::engine_tests! { $($rest)* }
    };
    (
        $(#[$attr:meta])*
        async fn $name:ident($engine:ident: Engine $(,)?) $body:block
        $($rest:tt)*
    ) => {
        $crate::__engine_test! { [] [$(#[$attr])*] $name $engine $body }
        $crate::engine_tests! { $($rest)* }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __engine_test {
    ([$($runtime:tt)*] [$($attr:tt)*] $name:ident $engine:ident $body:block) => {
        $crate::__pastey::paste! {
            #[::tokio::test $($runtime)*]
            $($attr)*
            async fn [<$name _sqlite>]() {
                #[allow(unused_variables)]
                let $engine = $crate::Engine::Sqlite;
                $body
            }

            #[::tokio::test $($runtime)*]
            #[cfg_attr(
                not(loginrec_postgres),
                ignore = "set LOGINREC_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
            )]
            $($attr)*
            async fn [<$name _postgres>]() {
                #[allow(unused_variables)]
                let $engine = $crate::Engine::Postgres;
                $crate::postgres_url();
                $body
            }
        }
    };
}

/// Each test inside (`#[tokio::test] async fn NAME() { … }`, or a plain `#[test] fn`) needs
/// PostgreSQL: it keeps its name and is ignored unless PostgreSQL tests run (see the crate
/// docs).
#[macro_export]
macro_rules! postgres_tests {
    () => {};
    ($(#[$attr:meta])* async fn $name:ident() $body:block $($rest:tt)*) => {
        $(#[$attr])*
        #[cfg_attr(
            not(loginrec_postgres),
            ignore = "set LOGINREC_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
        )]
        async fn $name() {
            $crate::postgres_url();
            $body
        }
        $crate::postgres_tests! { $($rest)* }
    };
    ($(#[$attr:meta])* fn $name:ident() $body:block $($rest:tt)*) => {
        $(#[$attr])*
        #[cfg_attr(
            not(loginrec_postgres),
            ignore = "set LOGINREC_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
        )]
        fn $name() {
            $crate::postgres_url();
            $body
        }
        $crate::postgres_tests! { $($rest)* }
    };
}
