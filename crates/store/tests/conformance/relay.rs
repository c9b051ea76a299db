//! Relays (issue 17): a tablet's signing key registered once; a batch of
//! one tablet's carried to the office by another, applied under its origin
//! exactly as the origin's own push would be, without counting as the
//! origin's contact; and what became of carried batches, counted per
//! carrier, origin and outcome.

use chrono::Duration;
use doorstep_core::ids::DeviceId;
use doorstep_core::schema::format_timestamp;
use doorstep_core::vocab::VisitOutcome;
use doorstep_ingest::Refusal;
use doorstep_store::accounts::Accounts;
use doorstep_store::{DeviceRecord, KeyRegistered, RelayRecord, Store};

use crate::world::{Tablet, World, now};

const KEY: &str = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
const OTHER_KEY: &str = "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025";

async fn device<S: Store>(store: &S, id: DeviceId) -> Option<DeviceRecord> {
    store.device(id).await.expect("the database answers")
}

async fn relays<S: Store>(store: &S) -> Vec<RelayRecord> {
    store.relays().await.expect("the database answers")
}

pub(crate) async fn a_key_registers_once<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let tablet = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    assert_eq!(device(store, tablet.device).await.expect("enrolled").public_key, None);
    let register = |id: DeviceId, key: &str| store.register_key(id, key.to_owned());

    assert_eq!(
        register(tablet.device, KEY).await.expect("db"),
        KeyRegistered::Registered
    );
    assert_eq!(
        register(tablet.device, KEY).await.expect("db"),
        KeyRegistered::Same,
        "the same key again is harmless"
    );
    assert_eq!(
        register(tablet.device, OTHER_KEY).await.expect("db"),
        KeyRegistered::Other,
        "a key is never replaced"
    );
    assert_eq!(
        device(store, tablet.device)
            .await
            .expect("enrolled")
            .public_key
            .as_deref(),
        Some(KEY)
    );
    let by_token = store
        .device_by_token(tablet.token_hash.clone())
        .await
        .expect("db")
        .expect("the token finds it");
    assert_eq!(by_token.public_key.as_deref(), Some(KEY));
    let listed = store.devices().await.expect("devices");
    assert_eq!(listed[0].public_key.as_deref(), Some(KEY));

    assert_eq!(
        register(DeviceId::new(), KEY).await.expect("db"),
        KeyRegistered::NoDevice
    );
    assert_eq!(
        register(store.office_device(), KEY).await.expect("db"),
        KeyRegistered::NoDevice,
        "the office signs nothing"
    );
}

pub(crate) async fn device_finds_a_revoked_tablet_but_not_the_office<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let tablet = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let found = device(store, tablet.device).await.expect("an enrolled tablet");
    assert_eq!(
        (found.id, found.commune_id.as_deref(), found.revoked_at.as_deref()),
        (tablet.device, Some(w.muong_lan.scope().as_str()), None)
    );
    let later = now() + Duration::minutes(3);
    assert!(store.revoke(tablet.device, false, later).await.expect("db"));
    let revoked = device(store, tablet.device)
        .await
        .expect("a revoked tablet is still found");
    assert_eq!(revoked.revoked_at, Some(format_timestamp(later)));
    assert_eq!(
        device(store, store.office_device()).await,
        None,
        "the office is no tablet"
    );
    assert_eq!(device(store, DeviceId::new()).await, None);
}

pub(crate) async fn a_carried_batch_applies_once_under_its_origin<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let mut origin = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let carrier = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let before = store.change_count().await.expect("count");
    let nowhere = uuid::Uuid::now_v7();
    let (house, h) = origin.household(w.muong_lan.villages[0], "Lò Văn Pắn");
    let (_, p) = origin.person(house, "Lò Thị Xuân");
    let (_, orphan) = origin.visit(nowhere, None, now(), VisitOutcome::Helped, None, None);
    let batch = vec![h, p, orphan];
    let at = now() + Duration::minutes(10);

    let pushed = store
        .push_carried(origin.device, carrier.device, batch.clone(), at)
        .await
        .expect("db")
        .expect("the carried batch is taken");
    assert_eq!((pushed.last_applied_seq, pushed.accepted), (3, 2), "{pushed:?}");
    assert!(
        pushed.rejected.is_empty() && pushed.restamped.is_empty(),
        "the carrier is told nothing of the origin's rejections: {pushed:?}"
    );
    assert_eq!(store.change_count().await.expect("count"), before + 2);
    assert!(store.entity(house).await.expect("db").is_some());
    let record = device(store, origin.device).await.expect("enrolled");
    assert_eq!(record.last_applied_seq, 3);
    assert_eq!(record.last_seen_at, None, "the origin itself did not sync");
    assert_eq!(
        device(store, carrier.device).await.expect("enrolled").last_seen_at,
        None,
        "nor did the carrier, by carrying"
    );
    // The changes are the origin's: its own pull leaves them out, the
    // carrier's brings them.
    let (own, _) = origin.pull_all(store, 0, 100).await;
    assert!(own.iter().all(|c| c.device != origin.device), "{own:?}");
    let (carried, _) = carrier.pull_all(store, 0, 100).await;
    assert_eq!(carried.iter().filter(|c| c.device == origin.device).count(), 2);

    // Carried again (another hub had a copy too): nothing applies twice.
    let again = store
        .push_carried(origin.device, carrier.device, batch, at + Duration::minutes(1))
        .await
        .expect("db")
        .expect("a repeat is taken");
    assert_eq!((again.last_applied_seq, again.accepted), (3, 0), "{again:?}");
    assert_eq!(store.change_count().await.expect("count"), before + 2);
    assert_eq!(
        device(store, origin.device).await.expect("enrolled").last_applied_seq,
        3
    );

    // Each delivery counts, on one row for this carrier and origin.
    assert_eq!(
        relays(store).await,
        vec![RelayRecord {
            carrier: carrier.device,
            origin: origin.device,
            outcome: "delivered".to_owned(),
            count: 2,
            last_at: format_timestamp(at + Duration::minutes(1)),
        }]
    );

    // The origin syncing itself later learns of its rejected change.
    let own = origin.try_push(store, Vec::new()).await.expect("ok");
    assert_eq!((own.last_applied_seq, own.rejected.len()), (3, 1), "{own:?}");
    assert_eq!(own.rejected[0].seq, 3);
    assert!(
        device(store, origin.device)
            .await
            .expect("enrolled")
            .last_seen_at
            .is_some()
    );
}

pub(crate) async fn a_carried_batch_with_a_gap_is_refused_and_counts_nothing<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let mut origin = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let carrier = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let before = store.change_count().await.expect("count");
    let (_, lost) = origin.household(w.muong_lan.villages[0], "Lò Văn Pắn");
    let (second, h2) = origin.household(w.muong_lan.villages[0], "Quàng Thị Mường");
    let refusal = store
        .push_carried(origin.device, carrier.device, vec![h2.clone()], now())
        .await
        .expect("db")
        .expect_err("a gap");
    assert!(matches!(refusal, Refusal::SeqGap { expected: 1, .. }), "{refusal:?}");
    assert_eq!(store.change_count().await.expect("count"), before);
    assert!(store.entity(second).await.expect("db").is_none());
    assert_eq!(
        device(store, origin.device).await.expect("enrolled").last_applied_seq,
        0
    );
    assert!(
        relays(store).await.is_empty(),
        "a refused batch is the server's to record"
    );

    // A batch of a device the server does not know is refused too.
    let refusal = store
        .push_carried(DeviceId::new(), carrier.device, vec![lost, h2], now())
        .await
        .expect("db")
        .expect_err("unknown origin");
    assert!(matches!(refusal, Refusal::Forbidden(_)), "{refusal:?}");
    assert_eq!(store.change_count().await.expect("count"), before);
    assert!(relays(store).await.is_empty());
}

pub(crate) async fn relays_count_up_and_are_listed_by_origin_carrier_and_outcome<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let a = Tablet::enrol(store, w.thanh, &w.muong_lan).await.device;
    let b = Tablet::enrol(store, w.nga, &w.chieng_sinh).await.device;
    let stranger = DeviceId::new();
    let t = |m: i64| now() + Duration::minutes(m);
    let record = |carrier: DeviceId, origin: DeviceId, outcome: &str, m: i64| {
        store.record_relay(carrier, origin, outcome.to_owned(), t(m))
    };
    record(a, b, "other_commune", 1).await.expect("db");
    record(b, a, "bad_signature", 2).await.expect("db");
    record(a, stranger, "unknown_origin", 3).await.expect("db");
    record(b, a, "bad_signature", 4).await.expect("db");
    record(b, a, "replayed", 5).await.expect("db");
    record(a, b, "other_commune", 6).await.expect("db");
    record(b, a, "bad_signature", 7).await.expect("db");

    let row = |carrier: DeviceId, origin: DeviceId, outcome: &str, count: u64, m: i64| RelayRecord {
        carrier,
        origin,
        outcome: outcome.to_owned(),
        count,
        last_at: format_timestamp(t(m)),
    };
    let mut expected = vec![
        row(a, b, "other_commune", 2, 6),
        row(b, a, "bad_signature", 3, 7),
        row(b, a, "replayed", 1, 5),
        row(a, stranger, "unknown_origin", 1, 3),
    ];
    expected.sort_by_key(|r| (r.origin.to_string(), r.carrier.to_string(), r.outcome.clone()));
    assert_eq!(relays(store).await, expected);
}
