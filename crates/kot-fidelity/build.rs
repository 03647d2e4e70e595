//! Tells the integration tests whether PostgreSQL and the browser are part of this run (see
//! `test-cfg`).

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    test_cfg::postgres();
    test_cfg::browser();
}
