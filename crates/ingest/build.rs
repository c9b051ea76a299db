//! Rebuild when the bundled packs change: `include_dir!` embeds them, and
//! Cargo only notices files it is told about.
fn main() {
    println!("cargo:rerun-if-changed=../../assets/packs");
}
