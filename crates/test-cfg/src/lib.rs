//! What a package's build script tells its integration tests about the optional parts of this
//! run, as `--cfg` flags the tests' `cfg_attr(…, ignore)` read (see `test-support`):
//!
//! - [`postgres`]: `--cfg loginrec_postgres` when `LOGINREC_TEST_POSTGRES_URL` names a
//!   PostgreSQL server, or `LOGINREC_REQUIRE_POSTGRES=1` makes PostgreSQL tests mandatory (they
//!   then fail on the missing URL); without it the `…_postgres` tests are ignored;
//! - [`browser`]: `--cfg loginrec_browser` when Debian's Chromium and ChromeDriver are
//!   installed, or `LOGINREC_REQUIRE_BROWSER=1` makes the browser test mandatory (it then fails
//!   on the missing program); without it the browser test is ignored.
#![forbid(unsafe_code)]

use std::path::Path;

/// The programs the browser test drives.
pub const BROWSER: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromedriver"];

/// Declares and, when PostgreSQL tests are to run, sets `loginrec_postgres`.
pub fn postgres() {
    println!("cargo::rustc-check-cfg=cfg(loginrec_postgres)");
    println!("cargo::rerun-if-env-changed=LOGINREC_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-env-changed=LOGINREC_REQUIRE_POSTGRES");
    let configured = std::env::var("LOGINREC_TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty());
    let required = std::env::var("LOGINREC_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    if configured || required {
        println!("cargo::rustc-cfg=loginrec_postgres");
    }
}

/// Declares and, when the browser test is to run, sets `loginrec_browser`.
pub fn browser() {
    println!("cargo::rustc-check-cfg=cfg(loginrec_browser)");
    println!("cargo::rerun-if-env-changed=LOGINREC_REQUIRE_BROWSER");
    let installed = BROWSER.iter().all(|program| Path::new(program).exists());
    // Watch the programs while they are there (a removal shows as a change); while one is
    // missing, watch its folder, whose modification time changes when the program is installed.
    for program in BROWSER {
        match Path::new(program).exists() {
            true => println!("cargo::rerun-if-changed={program}"),
            false => println!("cargo::rerun-if-changed=/usr/bin"),
        }
    }
    if installed || std::env::var("LOGINREC_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        println!("cargo::rustc-cfg=loginrec_browser");
    }
}
