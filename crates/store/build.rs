//! Rebuild when a migration changes: `include_str!` embeds them, and Cargo
//! only notices files it is told about.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
