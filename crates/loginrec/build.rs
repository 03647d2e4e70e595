//! Sets `--cfg loginrec_postgres` for the integration tests when PostgreSQL tests are to run:
//! `LOGINREC_TEST_POSTGRES_URL` names a server, or `LOGINREC_REQUIRE_POSTGRES=1` makes them
//! mandatory (they then fail on the missing URL). Without it the `…_postgres` tests and
//! `tests/fleet.rs` are ignored. See `test-support`.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=LOGINREC_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-env-changed=LOGINREC_REQUIRE_POSTGRES");
    println!("cargo::rustc-check-cfg=cfg(loginrec_postgres)");
    let configured = std::env::var("LOGINREC_TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty());
    let required = std::env::var("LOGINREC_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    if configured || required {
        println!("cargo::rustc-cfg=loginrec_postgres");
    }
}
