//! Pulls: pages in server order that follow on from their cursor without
//! a skip or a repeat, cut by count and by bytes; a commune's changes and
//! the campaign-wide ones, never another commune's nor the device's own.

use std::collections::HashSet;

use doorstep_core::change::Change;
use doorstep_core::schema::{EntityKind, FieldValue};
use doorstep_ingest::OfficeWrite;
use doorstep_store::accounts::Accounts;
use doorstep_store::{Page, Store};

use crate::world::{Tablet, World, member, now};

async fn page<S: Store>(store: &S, tablet: &Tablet, after: u64, limit: usize, max_bytes: usize) -> Page {
    store
        .pull(tablet.scope.clone(), tablet.device, after, limit, max_bytes)
        .await
        .expect("the database answers")
}

/// A tablet of Mường Lạn that pushed `n` households.
async fn busy_tablet<S: Store>(store: &S, w: &World, n: usize) -> (Tablet, Vec<Change>) {
    let mut tablet = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let batch: Vec<Change> = (0..n)
        .map(|i| tablet.household(w.muong_lan.villages[i % 2], &format!("Hộ {i}")).1)
        .collect();
    tablet.push(store, batch.clone()).await;
    (tablet, batch)
}

pub(crate) async fn pages_follow_on_without_skip_or_repeat<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let (_, pushed) = busy_tablet(store, &w, 7).await;
    let reader = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let (everything, end) = reader.pull_all(store, 0, 1_000).await;

    let mut cursor = 0;
    let mut paged = Vec::new();
    loop {
        let p = page(store, &reader, cursor, 3, usize::MAX).await;
        assert!(p.changes.len() <= 3, "a page holds at most the limit");
        assert!(p.next_cursor >= cursor, "the cursor never goes back");
        if p.has_more {
            assert_eq!(p.changes.len(), 3, "a page is short only at the end");
        }
        paged.extend(p.changes);
        cursor = p.next_cursor;
        if !p.has_more {
            break;
        }
    }
    assert_eq!(paged, everything, "pages of 3 bring what one big page brings, in order");
    assert_eq!(cursor, end);
    let ids: HashSet<_> = paged.iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), paged.len(), "no change twice");
    let tail: Vec<_> = paged
        .iter()
        .filter(|c| c.device != store.office_device())
        .cloned()
        .collect();
    assert_eq!(tail, pushed, "the other tablet's changes, as pushed, in its order");

    // Nothing new: an empty page, the cursor stays; something new: it
    // comes after the cursor, and only it.
    let p = page(store, &reader, cursor, 3, usize::MAX).await;
    assert!(p.changes.is_empty() && !p.has_more && p.next_cursor == cursor, "{p:?}");
    let (_, more) = busy_tablet(store, &w, 3).await;
    let p = page(store, &reader, cursor, 3, usize::MAX).await;
    assert_eq!(p.changes, more, "exactly a page's worth");
    assert!(!p.has_more, "and nothing after it");
    let cursor = p.next_cursor;

    // The commune's and the campaign-wide changes interleaved: pages of
    // two cut across both and keep the log's order.
    let mut expected = Vec::new();
    for i in 0..3 {
        expected.extend(busy_tablet(store, &w, 1).await.1);
        let rename = OfficeWrite {
            kind: EntityKind::Campaign,
            id: w.campaign,
            create: false,
            fields: vec![("name".to_owned(), FieldValue::from(format!("Chiến dịch {i}")))],
            resolves_conflicts: false,
        };
        expected.extend(store.office_write(vec![rename], now()).await.expect("written"));
    }
    let (mixed, _) = reader.pull_all(store, cursor, 2).await;
    assert_eq!(mixed, expected);
}

pub(crate) async fn a_byte_limit_cuts_pages_but_never_to_nothing<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    busy_tablet(store, &w, 4).await;
    let reader = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let (everything, _) = reader.pull_all(store, 0, 1_000).await;
    assert!(everything.len() > 4);

    // A limit below one change: one change per page, never an empty page.
    let mut cursor = 0;
    let mut paged = Vec::new();
    loop {
        let p = page(store, &reader, cursor, 100, 1).await;
        assert_eq!(p.changes.len(), 1, "the first change always fits: {p:?}");
        paged.extend(p.changes);
        cursor = p.next_cursor;
        if !p.has_more {
            break;
        }
    }
    assert_eq!(paged, everything);

    // Room for about two changes: pages of two.
    let size = |c: &Change| serde_json::to_string(c).expect("serialises").len();
    let two = size(&everything[0]) + size(&everything[1]);
    let p = page(store, &reader, 0, 100, two).await;
    assert_eq!(p.changes, everything[..2], "{} bytes hold the first two", two);
    assert!(p.has_more);
    let p = page(store, &reader, p.next_cursor, 100, usize::MAX).await;
    assert_eq!(p.changes, everything[2..], "the next page starts at the third");
}

pub(crate) async fn a_device_does_not_pull_its_own_changes<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let (writer, pushed) = busy_tablet(store, &w, 3).await;
    let (own, _) = writer.pull_all(store, 0, 2).await;
    assert!(own.iter().all(|c| c.device != writer.device), "{own:?}");
    let reader = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let (theirs, _) = reader.pull_all(store, 0, 2).await;
    assert_eq!(theirs.len(), own.len() + pushed.len());
}

pub(crate) async fn campaign_wide_changes_reach_every_commune_and_communes_stay_apart<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let (_, pushed) = busy_tablet(store, &w, 2).await;
    let muong_lan = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let chieng_sinh = Tablet::enrol(store, w.nga, &w.chieng_sinh).await;
    let (ml_before, ml_cursor) = muong_lan.pull_all(store, 0, 4).await;
    let (cs_before, cs_cursor) = chieng_sinh.pull_all(store, 0, 4).await;

    let ids = |changes: &[Change]| -> HashSet<uuid::Uuid> { changes.iter().map(|c| c.entity_id).collect() };
    let (ml, cs) = (ids(&ml_before), ids(&cs_before));
    for (commune, seen, unseen) in [(&w.muong_lan, &ml, &cs), (&w.chieng_sinh, &cs, &ml)] {
        assert!(seen.contains(&commune.id), "its commune");
        assert!(commune.villages.iter().all(|v| seen.contains(v)), "its villages");
        assert!(!unseen.contains(&commune.id), "not another commune");
        assert!(commune.villages.iter().all(|v| !unseen.contains(v)), "nor its villages");
    }
    for (mine, theirs, member) in [(&ml, &cs, w.thanh), (&cs, &ml, w.nga)] {
        assert!(mine.contains(&member), "a member of one commune reaches it");
        assert!(!theirs.contains(&member), "and only it");
    }
    assert!(
        ml.contains(&w.campaign) && cs.contains(&w.campaign),
        "the campaign reaches both"
    );
    assert!(
        pushed
            .iter()
            .all(|c| ml.contains(&c.entity_id) && !cs.contains(&c.entity_id))
    );

    // A member walking villages of both communes, and a campaign renamed:
    // campaign-wide, so both pull them.
    let both = member(
        store,
        "Cầm Văn Hùng",
        &[w.muong_lan.villages[1], w.chieng_sinh.villages[0]],
    )
    .await;
    let rename = OfficeWrite {
        kind: EntityKind::Campaign,
        id: w.campaign,
        create: false,
        fields: vec![("name".to_owned(), FieldValue::from("Chiến dịch mùa đông"))],
        resolves_conflicts: false,
    };
    let written = store.office_write(vec![rename], now()).await.expect("renamed");
    for (tablet, cursor) in [(&muong_lan, ml_cursor), (&chieng_sinh, cs_cursor)] {
        let (new, _) = tablet.pull_all(store, cursor, 1).await;
        let new_ids: Vec<_> = new.iter().map(|c| c.entity_id).collect();
        assert_eq!(new_ids, vec![both, w.campaign], "{:?}", tablet.scope);
        assert_eq!(new[1], written[0]);
    }
    assert_eq!(
        store.entity(both).await.expect("db").expect("known").scope,
        doorstep_ingest::CAMPAIGN_WIDE
    );
}

pub(crate) async fn a_cursor_past_the_log_s_end_starts_again<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    busy_tablet(store, &w, 2).await;
    let reader = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let (everything, end) = reader.pull_all(store, 0, 1_000).await;
    // A cursor from before a restore: beyond anything the log holds.
    let (again, _) = reader.pull_all(store, end + 1_000, 1_000).await;
    assert_eq!(again, everything);
}
