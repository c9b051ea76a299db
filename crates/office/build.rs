//! Rebuild when the demo campaign changes: `include_str!` embeds it, and
//! Cargo only notices files it is told about.
fn main() {
    println!("cargo:rerun-if-changed=../../assets/demo");
}
