//! Rebuild when the bundled assets change: `include_dir!` and
//! `include_str!` embed them, and Cargo only notices files it is told about.
fn main() {
    for path in ["../../assets/packs", "../../assets/demo", "migrations"] {
        println!("cargo:rerun-if-changed={path}");
    }
}
