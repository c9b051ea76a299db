//! The clone drill: a tablet's files are copied to a second tablet (same
//! device id, same token), and both go on working and syncing. The server
//! must not skip the copy's changes as resends of seqs it already has:
//! it refuses the copy with "this tablet's data was copied from another
//! tablet", keeps the copy's batch aside (shown on the tablets page and in
//! `device list`), and the copy keeps every change in its outbox. The
//! original syncs on as before. Enrolled again with a new code, the copy's
//! own changes move to its new device id and arrive; both tablets then
//! hold the same records.

#![allow(clippy::unwrap_used)]

use doorstep_device::sync::SyncError;
use doorstep_e2e::{
    Server, Tablet, admin, assert_each_change_once, campaign, code, quick, server_rows, visit_new_household,
};

fn quarantined(db: &std::path::Path) -> u64 {
    server_rows(db, "quarantine")
}

#[test]
fn a_copied_tablet_is_refused_and_nothing_of_either_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.db");
    let c = campaign(&db);
    let village = c.communes[0].1[0].clone();
    let server = Server::start(&db);
    let mut original = Tablet::enrol(&server.url, &code(&db, &c.member, &c.communes[0].0));
    original.sync(&server.url);
    visit_new_household(&mut original.store, &village, "Lò Văn Một");
    original.sync(&server.url);

    // Copied with something unsent: both hold it, and it reaches the
    // server once, whichever sends it.
    visit_new_household(&mut original.store, &village, "Lò Văn Hai");
    let mut copy = original.copy();
    let at_copy = original.store.sync_position().unwrap().last_seq;
    assert_eq!(copy.store.device_id(), original.store.device_id());

    visit_new_household(&mut original.store, &village, "Lò Văn Ba");
    original.sync(&server.url);

    visit_new_household(&mut copy.store, &village, "Quàng Thị Bốn");
    visit_new_household(&mut copy.store, &village, "Quàng Thị Năm");
    let copy_seq = copy.store.sync_position().unwrap().last_seq;
    let refused = copy.try_sync(&server.url, &quick()).unwrap_err();
    let SyncError::Copied { seq } = refused else {
        panic!("the copy was not told it is a copy: {refused}");
    };
    assert!(refused.to_string().contains("copied from another tablet"), "{refused}");
    // The first seq the two wrote differently: the one after the copy was
    // made (the unsent one they share is a resend, not a difference).
    assert_eq!(seq, at_copy + 1, "first differing seq");
    let kept = quarantined(&db);
    assert_eq!(
        kept,
        copy_seq - at_copy,
        "the copy's batch from that seq on is kept aside"
    );

    // Refused again, it is kept once; the copy's outbox still holds all.
    assert!(matches!(
        copy.try_sync(&server.url, &quick()),
        Err(SyncError::Copied { .. })
    ));
    assert_eq!(quarantined(&db), kept);
    assert_eq!(copy.store.sync_position().unwrap().last_seq, copy_seq);
    assert!(copy.store.sync_position().unwrap().acked_seq < seq);

    // The original is untouched by its copy: it syncs on, and the server
    // holds each of its changes once.
    visit_new_household(&mut original.store, &village, "Lò Văn Sáu");
    original.sync(&server.url);
    assert_each_change_once(&db, std::slice::from_ref(&original));

    let listed = admin(&db, &["device", "list"]);
    assert!(listed.contains("COPY SEEN"), "{listed}");
    assert!(listed.contains(&format!("{kept} changes set aside")), "{listed}");

    // The lead enrols the copy again: its own changes move to its new
    // device id and arrive, and the two tablets converge.
    let old_id = copy.store.device_id();
    assert_eq!(copy.store.copied_seq().unwrap(), Some(at_copy + 1));
    let again = code(&db, &c.member, &c.communes[0].0);
    doorstep_device::sync::enroll(&mut copy.store, &server.url, &again, Some("the copy"), &quick()).unwrap();
    assert_ne!(copy.store.device_id(), old_id);
    assert_eq!(copy.store.copied_seq().unwrap(), None);
    assert_eq!(copy.store.sync_position().unwrap().last_seq, kept);
    visit_new_household(&mut copy.store, &village, "Quàng Thị Bảy");
    for _ in 0..2 {
        copy.sync(&server.url);
        original.sync(&server.url);
    }
    let tablets = [original, copy];
    assert_each_change_once(&db, &tablets);
    let digests: Vec<String> = tablets.iter().map(|t| t.store.state_digest().unwrap()).collect();
    assert_eq!(digests[0], digests[1], "the original and the re-enrolled copy differ");
    // Một, Hai (made before the copy, sent once), Ba and Sáu from the
    // original; Bốn, Năm and Bảy from the copy.
    assert_eq!(doorstep_e2e::household_ids(&tablets[0].store).len(), 7);
}
