//! Pack versions handed out: every one kept forever and returned in order
//! (by key, then version); new wording outside the steps accepted; a
//! version whose steps change refused, and nothing of its batch recorded.

use doorstep_core::protocol::PackFile;
use doorstep_ingest::pack_catalog;
use doorstep_store::Store;
use doorstep_store::accounts::Accounts;

use crate::world::{now, pack};

/// `file` with its first step's Vietnamese instruction reworded, as
/// version `version`.
fn reworded(file: &PackFile, version: u32) -> PackFile {
    let parsed = doorstep_core::pack::Pack::from_toml(&file.toml).expect("parses");
    let first = parsed.steps[0].instruction.get("vi").expect("vi").clone();
    PackFile {
        key: file.key.clone(),
        version,
        toml: file
            .toml
            .replacen(&first, &format!("{first} Làm chậm thôi."), 1)
            .replacen(
                &format!("version = {}", file.version),
                &format!("version = {version}"),
                1,
            ),
    }
}

/// `file` with a new title, steps untouched.
fn retitled(file: &PackFile) -> PackFile {
    let toml = file.toml.replacen("title = { vi = \"", "title = { vi = \"Ứng dụng ", 1);
    assert_ne!(toml, file.toml, "the pack has a Vietnamese title to change");
    PackFile { toml, ..file.clone() }
}

fn in_order(mut files: Vec<PackFile>) -> Vec<PackFile> {
    files.sort_by(|a, b| (&a.key, a.version).cmp(&(&b.key, b.version)));
    files
}

async fn record<S: Store>(store: &S, files: Vec<PackFile>) -> Result<Vec<PackFile>, String> {
    store.record_packs(files, now()).await.expect("the database answers")
}

pub(crate) async fn the_first_start_records_every_bundled_pack_in_order<S: Store + Accounts>(store: &S) {
    let bundled = pack_catalog::bundled();
    assert!(bundled.len() > 1, "a suite worth running");
    let mut shuffled = bundled.clone();
    shuffled.reverse();
    let all = record(store, shuffled).await.expect("first start");
    assert_eq!(all, in_order(bundled.clone()));
    // A start with no pack folder serves what was handed out.
    assert_eq!(record(store, Vec::new()).await.expect("nothing new"), all);
}

pub(crate) async fn a_new_version_is_kept_beside_the_old<S: Store + Accounts>(store: &S) {
    let bundled = pack_catalog::bundled();
    record(store, bundled.clone()).await.expect("first start");
    let v = pack("vneid");
    let next = reworded(&v, v.version + 1);
    // Only the new version is in the folder now: the old one stays.
    let all = record(store, vec![next.clone()]).await.expect("a new version");
    let mut expected = bundled;
    expected.push(next);
    assert_eq!(all, in_order(expected));
    let versions: Vec<u32> = all.iter().filter(|f| f.key == "vneid").map(|f| f.version).collect();
    assert_eq!(versions, vec![v.version, v.version + 1]);
}

pub(crate) async fn new_wording_outside_the_steps_is_accepted<S: Store + Accounts>(store: &S) {
    record(store, pack_catalog::bundled()).await.expect("first start");
    let v = pack("vneid");
    let new_title = retitled(&v);
    let all = record(store, vec![new_title.clone()]).await.expect("same steps");
    assert!(all.contains(&new_title), "the new wording is served");
    assert!(!all.contains(&v), "instead of the old");
    assert_eq!(all.len(), pack_catalog::bundled().len(), "no version added");
    assert_eq!(record(store, Vec::new()).await.expect("kept"), all);
}

pub(crate) async fn changed_steps_are_refused_with_nothing_recorded<S: Store + Accounts>(store: &S) {
    let first = record(store, pack_catalog::bundled()).await.expect("first start");
    let v = pack("vneid");
    let changed = reworded(&v, v.version);
    let other = reworded(&v, 99);
    let new_title = retitled(&pack("vssid"));
    let why = record(store, vec![other, new_title, changed])
        .await
        .expect_err("refused");
    // The next free version is above every one known, the batch's v99 too.
    assert!(
        why.contains(&format!("vneid version {} changes the steps", v.version))
            && why.ends_with("give the changed pack version 100"),
        "{why}"
    );
    let after = record(store, Vec::new()).await.expect("nothing new");
    assert_eq!(
        after, first,
        "nothing of the refused batch was kept, not even its good files"
    );
}
