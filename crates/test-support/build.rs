//! Tells this package's tests whether PostgreSQL is part of this run (see `test-cfg`).

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    test_cfg::postgres();
}
