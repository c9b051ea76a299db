//! Pushes: every change applied exactly once, in seq order without a gap;
//! what can never apply rejected without blocking the queue; a copy of a
//! tablet refused and kept aside; another commune's records out of reach.

use doorstep_core::hlc::{Hlc, wall_millis};
use doorstep_core::schema::{EntityKind, FieldValue};
use doorstep_core::vocab::VisitOutcome;
use doorstep_ingest::{MAX_AHEAD_MS, Refusal};
use doorstep_store::accounts::Accounts;
use doorstep_store::{DeviceRecord, Store};

use crate::world::{Tablet, World, now, text};

async fn record<S: Store>(store: &S, tablet: &Tablet) -> DeviceRecord {
    store
        .device_by_token(tablet.token_hash.clone())
        .await
        .expect("the database answers")
        .expect("the tablet is enrolled")
}

pub(crate) async fn a_batch_is_applied_once_and_sent_again_skips_everything<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let mut tablet = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let before = store.change_count().await.expect("count");
    let (house, h) = tablet.household(w.muong_lan.villages[0], "Lò Văn Pắn");
    let (person, p) = tablet.person(house, "Lò Thị Xuân");
    let (_, v) = tablet.visit(house, Some(w.thanh), now(), VisitOutcome::Helped, None, None);
    let batch = vec![h, p, v];

    let pushed = tablet.push(store, batch.clone()).await;
    assert_eq!((pushed.last_applied_seq, pushed.accepted), (3, 3), "{pushed:?}");
    assert!(pushed.rejected.is_empty() && pushed.restamped.is_empty(), "{pushed:?}");
    assert_eq!(store.change_count().await.expect("count"), before + 3);
    assert_eq!(record(store, &tablet).await.last_applied_seq, 3);
    let known = store.entity(house).await.expect("db").expect("the household is known");
    assert_eq!(
        (known.kind, known.scope.as_str()),
        (EntityKind::Household, tablet.scope.as_str())
    );
    assert_eq!(text(known.state.value("head_name")), Some("Lò Văn Pắn"));
    assert!(store.entity(person).await.expect("db").is_some());

    // The answer was lost: the tablet sends the same batch again, from
    // the position it knew.
    let again = store
        .push(tablet.device, 0, batch, now())
        .await
        .expect("db")
        .expect("a resend is taken");
    assert_eq!((again.last_applied_seq, again.accepted), (3, 0), "{again:?}");
    assert_eq!(
        store.change_count().await.expect("count"),
        before + 3,
        "nothing logged twice"
    );
    assert_eq!(record(store, &tablet).await.last_applied_seq, 3);
}

pub(crate) async fn a_batch_sent_from_the_middle_applies_only_the_new_seqs<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let mut tablet = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let (house, h) = tablet.household(w.muong_lan.villages[0], "Lò Văn Pắn");
    let (_, p) = tablet.person(house, "Lò Văn Pắn");
    tablet.push(store, vec![h.clone(), p.clone()]).await;
    let before = store.change_count().await.expect("count");
    let (_, p2) = tablet.person(house, "Lò Thị Xuân");
    let (_, p3) = tablet.person(house, "Lò Văn Tú");
    let pushed = store
        .push(tablet.device, 0, vec![h, p, p2, p3], now())
        .await
        .expect("db")
        .expect("taken");
    assert_eq!((pushed.last_applied_seq, pushed.accepted), (4, 2), "{pushed:?}");
    assert_eq!(store.change_count().await.expect("count"), before + 2);
    assert_eq!(record(store, &tablet).await.last_applied_seq, 4);
}

pub(crate) async fn a_gap_is_refused_and_changes_nothing<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let mut tablet = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let before = store.change_count().await.expect("count");
    let (_, lost) = tablet.household(w.muong_lan.villages[0], "Lò Văn Pắn");
    let (second, h2) = tablet.household(w.muong_lan.villages[0], "Quàng Thị Mường");
    let refusal = tablet.try_push(store, vec![h2.clone()]).await.expect_err("a gap");
    assert!(
        matches!(&refusal, Refusal::SeqGap { expected: 1, message } if message.contains("seq 1")),
        "{refusal:?}"
    );
    assert_eq!(store.change_count().await.expect("count"), before);
    assert_eq!(record(store, &tablet).await.last_applied_seq, 0);
    assert!(store.entity(second).await.expect("db").is_none());

    // From seq 1 it goes through; a later gap names the next seq.
    tablet.push(store, vec![lost, h2]).await;
    let _ = tablet.household(w.muong_lan.villages[0], "skipped");
    let (_, h4) = tablet.household(w.muong_lan.villages[0], "Sùng A Tủa");
    let refusal = tablet.try_push(store, vec![h4]).await.expect_err("a gap");
    assert!(matches!(refusal, Refusal::SeqGap { expected: 3, .. }), "{refusal:?}");
    assert_eq!(record(store, &tablet).await.last_applied_seq, 2);
}

pub(crate) async fn a_change_that_can_never_apply_is_rejected_and_the_queue_moves_on<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let mut tablet = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let before = store.change_count().await.expect("count");
    let nowhere = uuid::Uuid::now_v7();
    let (_, orphan) = tablet.visit(nowhere, None, now(), VisitOutcome::Helped, None, None);
    let (house, h) = tablet.household(w.muong_lan.villages[0], "Lò Văn Pắn");
    let pushed = tablet.push(store, vec![orphan, h]).await;
    assert_eq!((pushed.last_applied_seq, pushed.accepted), (2, 1), "{pushed:?}");
    assert_eq!(pushed.rejected.len(), 1, "{pushed:?}");
    assert_eq!(pushed.rejected[0].seq, 1);
    assert!(
        pushed.rejected[0].reason.contains(&nowhere.hyphenated().to_string()),
        "the reason names the unknown household: {}",
        pushed.rejected[0].reason
    );
    assert_eq!(store.change_count().await.expect("count"), before + 1);
    assert!(store.entity(house).await.expect("db").is_some());

    // The rejection is told again to a tablet that missed the answer, and
    // not to one that confirmed past it.
    let again = store
        .push(tablet.device, 0, Vec::new(), now())
        .await
        .expect("db")
        .expect("ok");
    assert_eq!(again.rejected, pushed.rejected);
    let confirmed = store
        .push(tablet.device, 2, Vec::new(), now())
        .await
        .expect("db")
        .expect("ok");
    assert!(confirmed.rejected.is_empty(), "{confirmed:?}");
}

pub(crate) async fn a_copy_s_other_change_at_a_logged_seq_is_refused_and_kept_aside<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let mut tablet = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let (_, h1) = tablet.household(w.muong_lan.villages[0], "Lò Văn Pắn");
    let mut copy = tablet.copy();
    let (_, h2) = tablet.household(w.muong_lan.villages[0], "Quàng Thị Mường");
    tablet.push(store, vec![h1.clone(), h2]).await;
    let before = store.change_count().await.expect("count");

    // The copy wrote another household at seq 2, then one more.
    let (other, c2) = copy.household(w.muong_lan.villages[1], "Sùng A Tủa");
    let (_, c3) = copy.household(w.muong_lan.villages[1], "Hà Thị Lan");
    let refusal = copy
        .try_push(store, vec![h1, c2.clone(), c3.clone()])
        .await
        .expect_err("a copy");
    let Refusal::Copied { seq, message, changes } = refusal else {
        panic!("not refused as a copy: {refusal:?}");
    };
    assert_eq!(seq, 2);
    assert!(message.contains("copied"), "{message}");
    assert_eq!(changes, vec![c2, c3], "the copy's batch from the differing seq on");
    assert_eq!(
        store.change_count().await.expect("count"),
        before,
        "nothing of it applied"
    );
    assert!(store.entity(other).await.expect("db").is_none());
    assert_eq!(record(store, &tablet).await.last_applied_seq, 2);

    let listed = store.devices().await.expect("devices");
    let device = listed.iter().find(|d| d.id == tablet.device).expect("listed");
    assert_eq!(device.copied_kept, 2, "both changes kept aside: {device:?}");
    assert!(device.copied_at.is_some(), "{device:?}");
}

pub(crate) async fn a_stamp_far_ahead_is_replaced_and_its_resend_is_no_copy<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let mut tablet = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let other = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let (house, mut h) = tablet.household(w.muong_lan.villages[0], "Lò Văn Pắn");
    let ahead = Hlc::new(wall_millis(now()) + MAX_AHEAD_MS + 3_600_000, 0);
    h.hlc = ahead;
    let pushed = tablet.push(store, vec![h.clone()]).await;
    assert_eq!(pushed.accepted, 1);
    assert_eq!(pushed.restamped.len(), 1, "{pushed:?}");
    let restamp = pushed.restamped[0];
    assert_eq!((restamp.seq, restamp.was), (1, ahead));
    assert!(restamp.hlc.millis() <= wall_millis(now()) + MAX_AHEAD_MS, "{restamp:?}");

    let (pulled, _) = other.pull_all(store, 0, 100).await;
    let logged = pulled.iter().find(|c| c.entity_id == house).expect("pulled");
    assert_eq!(logged.hlc, restamp.hlc, "the log holds the new stamp");
    let known = store.entity(house).await.expect("db").expect("known");
    let version = known.state.fields["head_name"]
        .winner
        .as_ref()
        .expect("a value")
        .version;
    assert_eq!(version.hlc, restamp.hlc);

    // A tablet that missed the answer sends its own stamp again: a resend.
    let again = store
        .push(tablet.device, 0, vec![h.clone()], now())
        .await
        .expect("db")
        .expect("a resend");
    assert_eq!(
        (again.accepted, again.restamped.clone()),
        (0, vec![restamp]),
        "{again:?}"
    );

    // Its next write names the stamp it gave (it has not adopted the new
    // one yet): the store translates the base, so it replaces the value
    // instead of standing beside it as a conflict.
    let base = doorstep_core::change::Version {
        hlc: ahead,
        device: tablet.device,
    };
    let rename = tablet.update(
        EntityKind::Household,
        house,
        "head_name",
        FieldValue::from("Lò Văn Pán"),
        Some(base),
    );
    let pushed = tablet.push(store, vec![rename]).await;
    assert_eq!(pushed.accepted, 1, "{pushed:?}");
    let known = store.entity(house).await.expect("db").expect("known");
    assert_eq!(text(known.state.value("head_name")), Some("Lò Văn Pán"));
    assert!(
        known.state.fields["head_name"].losers.is_empty(),
        "no conflict: {known:?}"
    );
}

pub(crate) async fn a_tablet_cannot_write_another_commune_or_the_office_s_records<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let tablet = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let before = store.change_count().await.expect("count");

    let mut t = tablet.clone();
    let (_, foreign) = t.household(w.chieng_sinh.villages[0], "Lò Thị Nga");
    let refusal = t.try_push(store, vec![foreign]).await.expect_err("another commune");
    assert!(
        matches!(&refusal, Refusal::Forbidden(m) if m.contains("another commune")),
        "{refusal:?}"
    );

    let mut t = tablet.clone();
    let rename = t.update(
        EntityKind::Village,
        w.muong_lan.villages[0],
        "name",
        FieldValue::from("Bản Mới"),
        None,
    );
    let refusal = t.try_push(store, vec![rename]).await.expect_err("an office record");
    assert!(
        matches!(&refusal, Refusal::Forbidden(m) if m.contains("office")),
        "{refusal:?}"
    );

    assert_eq!(store.change_count().await.expect("count"), before);
    assert_eq!(record(store, &tablet).await.last_applied_seq, 0);
}

pub(crate) async fn an_unknown_device_is_refused<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let mut stranger = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let unknown = doorstep_core::ids::DeviceId::new();
    stranger.device = unknown;
    let (_, h) = stranger.household(w.muong_lan.villages[0], "Lò Văn Pắn");
    let before = store.change_count().await.expect("count");
    let refusal = store
        .push(unknown, 0, vec![h], now())
        .await
        .expect("db")
        .expect_err("refused");
    assert!(matches!(refusal, Refusal::Forbidden(_)), "{refusal:?}");
    assert_eq!(store.change_count().await.expect("count"), before);
}

pub(crate) async fn a_push_of_nothing_records_the_contact<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let tablet = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    assert_eq!(record(store, &tablet).await.last_seen_at, None);
    let later = now() + chrono::Duration::minutes(5);
    let pushed = store
        .push(tablet.device, 0, Vec::new(), later)
        .await
        .expect("db")
        .expect("ok");
    assert_eq!(pushed, doorstep_store::Pushed::default());
    assert_eq!(
        record(store, &tablet).await.last_seen_at.as_deref(),
        Some(doorstep_core::schema::format_timestamp(later).as_str())
    );
}

pub(crate) async fn two_pushes_of_one_batch_at_once_apply_it_once<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let mut tablet = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let batch: Vec<_> = (0..20)
        .map(|i| tablet.household(w.muong_lan.villages[0], &format!("Hộ {i}")).1)
        .collect();
    let before = store.change_count().await.expect("count");
    // A tablet that timed out and retried while the first request was
    // still being served.
    let (a, b) = tokio::join!(
        store.push(tablet.device, 0, batch.clone(), now()),
        store.push(tablet.device, 0, batch.clone(), now()),
    );
    let (a, b) = (a.expect("db").expect("taken"), b.expect("db").expect("taken"));
    assert_eq!(a.accepted + b.accepted, 20, "{a:?} {b:?}");
    assert_eq!((a.last_applied_seq, b.last_applied_seq), (20, 20));
    assert_eq!(store.change_count().await.expect("count"), before + 20);
    assert_eq!(record(store, &tablet).await.last_applied_seq, 20);
}
