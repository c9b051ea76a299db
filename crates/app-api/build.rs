//! Rebuild when the illustrations change: `include_dir!` embeds them.
fn main() {
    println!("cargo:rerun-if-changed=../../assets/illustrations");
}
