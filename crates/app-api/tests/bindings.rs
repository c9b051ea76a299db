//! `ui/src/lib/bindings.ts` is generated from the Rust types: this test
//! fails when the checked-in file differs, so the UI and the commands never
//! drift. `DOORSTEP_BLESS=1 cargo test -p doorstep-app-api --test bindings`
//! rewrites it.

use std::path::PathBuf;

#[test]
fn the_ui_bindings_match_the_rust_types() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(doorstep_app_api::bindings::PATH);
    let wanted = doorstep_app_api::bindings::render();
    if std::env::var_os("DOORSTEP_BLESS").is_some() {
        if let Err(e) = std::fs::write(&path, &wanted) {
            panic!("writing {}: {e}", path.display());
        }
        return;
    }
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    if found != wanted {
        let first = found
            .lines()
            .zip(wanted.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| found.lines().count().min(wanted.lines().count()));
        panic!(
            "{} is out of date (first difference at line {}): run \
             `DOORSTEP_BLESS=1 cargo test -p doorstep-app-api --test bindings` and commit it",
            path.display(),
            first + 1
        );
    }
}
