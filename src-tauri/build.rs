//! Tauri's build step: reads tauri.conf.json and embeds the built UI
//! (`ui/dist`), which must exist first (`npm --prefix ui run build`).
fn main() {
    let dist = std::path::Path::new("../ui/dist/index.html");
    if !dist.exists() {
        println!(
            "cargo:warning=ui/dist is missing: build the UI first (npm --prefix ui ci && npm --prefix ui run build); .ci/test and .ci/demo do"
        );
    }
    println!("cargo:rerun-if-changed=../ui/dist");
    tauri_build::build();
}
