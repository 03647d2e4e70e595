//! Rebuilds the crate when a migration is added: `sqlx::migrate!` reads the folder at compile
//! time, and a build script that names what it watches is rerun for nothing else.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=migrations");
}
