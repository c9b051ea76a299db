//! The store's record of pack versions handed out: kept forever,
//! new wording outside the steps accepted, a changed version refused with
//! nothing recorded.

use chrono::Utc;
use doorstep_core::protocol::PackFile;
use doorstep_ingest::pack_catalog;
use doorstep_store::Store;
use doorstep_store::any::AnyStore;

#[path = "../../../tests/support/pg.rs"]
mod pg;

fn vneid() -> PackFile {
    pack_catalog::bundled()
        .into_iter()
        .find(|f| f.key == "vneid")
        .expect("vneid is built in")
}

/// VNeID with its first step's Vietnamese instruction reworded.
fn reworded(file: &PackFile, version: u32) -> PackFile {
    let pack = doorstep_core::pack::Pack::from_toml(&file.toml).expect("parses");
    let first = pack.steps[0].instruction.get("vi").expect("vi").clone();
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

#[tokio::test]
async fn versions_handed_out_are_kept_and_never_change_their_steps() {
    let dir = tempfile::tempdir().expect("dir");
    let store = AnyStore::open(&pg::db_arg(&dir.path().join("server.db")))
        .await
        .expect("store");
    let v = vneid();
    let n = v.version;
    let all = store
        .record_packs(pack_catalog::bundled(), Utc::now())
        .await
        .expect("db")
        .expect("first start");
    assert_eq!(all.len(), pack_catalog::bundled().len());

    // Next version: both are served from now on, even when only the new
    // one is in the directory.
    let next = reworded(&v, n + 1);
    let all = store
        .record_packs(vec![next.clone()], Utc::now())
        .await
        .expect("db")
        .expect("new version");
    let versions: Vec<u32> = all.iter().filter(|f| f.key == "vneid").map(|f| f.version).collect();
    assert_eq!(versions, vec![n, n + 1]);

    // A new title on the same version is fine and is served from now on.
    let retitled = PackFile {
        toml: next.toml.replacen("title = { vi = \"", "title = { vi = \"Ứng dụng ", 1),
        ..next.clone()
    };
    assert_ne!(retitled.toml, next.toml);
    let all = store
        .record_packs(vec![retitled.clone()], Utc::now())
        .await
        .expect("db")
        .expect("same steps");
    assert!(all.contains(&retitled));

    // Changed steps under a version handed out: refused, nothing recorded
    // (not even the good file in the same batch).
    let changed = reworded(&next, n + 1);
    let other = PackFile {
        version: 99,
        ..reworded(&v, 99)
    };
    let why = store
        .record_packs(vec![other, changed], Utc::now())
        .await
        .expect("db")
        .expect_err("refused");
    // The next free version is above every one known, the batch's v99 too.
    assert!(
        why.contains(&format!("vneid version {} changes the steps", n + 1))
            && why.ends_with("give the changed pack version 100"),
        "{why}"
    );
    let all = store
        .record_packs(Vec::new(), Utc::now())
        .await
        .expect("db")
        .expect("nothing new");
    assert!(
        !all.iter().any(|f| f.version == 99),
        "nothing of the refused batch was kept"
    );
}
