//! Devices: one-time enrolment codes that expire or are cancelled, the
//! token lookup, revoking (and asking to erase), and the erase report.

use chrono::{DateTime, Duration, Utc};
use doorstep_core::ids::DeviceId;
use doorstep_core::schema::format_timestamp;
use doorstep_store::accounts::Accounts;
use doorstep_store::{DeviceRecord, EnrollError, EraseAck, PendingCode, Store};

use crate::world::{Tablet, World, code, id_text, now};

fn minutes(n: i64) -> DateTime<Utc> {
    now() + Duration::minutes(n)
}

async fn by_token<S: Store>(store: &S, token_hash: &str) -> Option<DeviceRecord> {
    store
        .device_by_token(token_hash.to_owned())
        .await
        .expect("the database answers")
}

async fn listed<S: Store>(store: &S, device: DeviceId) -> DeviceRecord {
    store
        .devices()
        .await
        .expect("devices")
        .into_iter()
        .find(|d| d.id == device)
        .expect("the device is listed")
}

pub(crate) async fn a_code_enrols_one_device_once<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let (_, hash) = code(store, w.thanh, w.muong_lan.id, now()).await;
    let pending = store.pending_codes(now()).await.expect("pending");
    assert_eq!(
        pending,
        vec![PendingCode {
            code_hash: hash.clone(),
            member_id: w.thanh,
            commune_id: w.muong_lan.id,
            created_at: format_timestamp(now()),
            expires_at: format_timestamp(now() + Duration::days(1)),
        }]
    );

    let token = store.token_key().hash("dst1_token of the first tablet");
    let label = Some("Máy tính bảng 1".to_owned());
    let enrolled = store
        .enroll(hash.clone(), token.clone(), label.clone(), minutes(1))
        .await
        .expect("enrolled");
    assert_eq!(
        (enrolled.member_id, enrolled.commune_id, enrolled.commune_name.as_str()),
        (w.thanh, w.muong_lan.id, "Mường Lạn")
    );
    assert!(
        store.pending_codes(minutes(1)).await.expect("pending").is_empty(),
        "used"
    );
    let again = store
        .enroll(hash, store.token_key().hash("dst1_another"), None, minutes(2))
        .await
        .expect_err("a code works once");
    assert!(matches!(again, EnrollError::BadCode), "{again:?}");

    let record = by_token(store, &token).await.expect("the token finds its device");
    assert_eq!(
        record,
        DeviceRecord {
            id: enrolled.device_id,
            label,
            member_id: Some(w.thanh),
            commune_id: Some(w.muong_lan.scope()),
            enrolled_at: format_timestamp(minutes(1)),
            last_seen_at: None,
            last_applied_seq: 0,
            revoked_at: None,
            erase_requested_at: None,
            erased_at: None,
            erased_unsent: None,
            backed_up_seq: None,
            copied_kept: 0,
            copied_at: None,
            public_key: None,
        }
    );
    assert_eq!(by_token(store, "no such token").await, None);
    assert_eq!(
        store.devices().await.expect("devices"),
        vec![record],
        "the one tablet; the office's own device is not listed"
    );
}

pub(crate) async fn an_expired_or_cancelled_code_does_not_enrol<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let token = |n: &str| store.token_key().hash(n);
    let bad = |r: Result<doorstep_store::Enrolled, EnrollError>| matches!(r, Err(EnrollError::BadCode));

    let (_, expiring) = code(store, w.thanh, w.muong_lan.id, now()).await;
    let last_second = now() + Duration::days(1) - Duration::seconds(1);
    assert_eq!(store.pending_codes(last_second).await.expect("pending").len(), 1);
    let end = now() + Duration::days(1);
    assert!(store.pending_codes(end).await.expect("pending").is_empty());
    assert!(
        bad(store.enroll(expiring.clone(), token("a"), None, end).await),
        "expired"
    );

    let (_, cancelled) = code(store, w.nga, w.chieng_sinh.id, now()).await;
    assert!(store.cancel_code(cancelled.clone(), minutes(1)).await.expect("db"));
    let pending = store.pending_codes(minutes(1)).await.expect("pending");
    assert_eq!(
        pending.iter().map(|p| p.code_hash.clone()).collect::<Vec<_>>(),
        vec![expiring.clone()],
        "the cancelled code is no longer pending"
    );
    assert!(bad(store.enroll(cancelled.clone(), token("b"), None, minutes(2)).await));
    assert!(
        !store.cancel_code(cancelled, minutes(3)).await.expect("db"),
        "cancelled once"
    );
    assert!(
        !store
            .cancel_code("no such code".to_owned(), minutes(3))
            .await
            .expect("db")
    );
    assert!(bad(store
        .enroll("no such code".to_owned(), token("c"), None, minutes(3))
        .await));

    let (_, used) = code(store, w.nga, w.chieng_sinh.id, minutes(4)).await;
    store
        .enroll(used.clone(), token("d"), None, minutes(5))
        .await
        .expect("enrolled");
    assert!(
        !store.cancel_code(used, minutes(6)).await.expect("db"),
        "a used code is not pending"
    );

    assert_eq!(
        store.devices().await.expect("devices").len(),
        1,
        "only the good code made a device"
    );
    assert_eq!(by_token(store, &token("a")).await, None);
}

pub(crate) async fn pending_codes_are_listed_oldest_first<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let (_, third) = code(store, w.thanh, w.muong_lan.id, minutes(2)).await;
    let (_, first) = code(store, w.nga, w.chieng_sinh.id, now()).await;
    let (_, second) = code(store, w.thanh, w.muong_lan.id, minutes(1)).await;
    let pending = store.pending_codes(minutes(3)).await.expect("pending");
    let hashes: Vec<_> = pending.iter().map(|p| p.code_hash.clone()).collect();
    assert_eq!(hashes, vec![first, second, third]);
    assert_eq!(pending[0].commune_id, w.chieng_sinh.id);
}

pub(crate) async fn revoking_keeps_the_first_time_and_may_add_an_erase<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let tablet = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let other = Tablet::enrol(store, w.nga, &w.chieng_sinh).await;

    assert!(store.revoke(tablet.device, false, minutes(10)).await.expect("db"));
    let r = by_token(store, &tablet.token_hash)
        .await
        .expect("still found, marked revoked");
    assert_eq!(r.revoked_at, Some(format_timestamp(minutes(10))));
    assert_eq!(r.erase_requested_at, None);

    assert!(store.revoke(tablet.device, true, minutes(20)).await.expect("db"));
    let r = listed(store, tablet.device).await;
    assert_eq!(
        r.revoked_at,
        Some(format_timestamp(minutes(10))),
        "the first revoke's time stays"
    );
    assert_eq!(
        r.erase_requested_at,
        Some(format_timestamp(minutes(20))),
        "the erase is added"
    );
    assert!(store.revoke(tablet.device, true, minutes(30)).await.expect("db"));
    let r = listed(store, tablet.device).await;
    assert_eq!(r.erase_requested_at, Some(format_timestamp(minutes(20))));

    assert!(
        !store.revoke(DeviceId::new(), false, now()).await.expect("db"),
        "no such device"
    );
    assert!(
        !store.revoke(store.office_device(), true, now()).await.expect("db"),
        "the office's own device is not a tablet"
    );
    let untouched = listed(store, other.device).await;
    assert_eq!((untouched.revoked_at, untouched.erase_requested_at), (None, None));
    assert_eq!(
        listed(store, tablet.device).await.commune_id,
        Some(id_text(w.muong_lan.id))
    );
}

pub(crate) async fn an_erase_report_is_recorded_once<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let tablet = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let early = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let erased = |d: DeviceId, unsent, reported, at| store.record_erased(d, unsent, reported, at);

    let ack = erased(tablet.device, 3, minutes(5), minutes(5)).await.expect("db");
    assert_eq!(ack, EraseAck::NotRequested);
    assert_eq!(listed(store, tablet.device).await.erased_at, None);

    store.revoke(tablet.device, true, minutes(10)).await.expect("db");
    let ack = erased(tablet.device, 3, minutes(15), minutes(20)).await.expect("db");
    assert_eq!(ack, EraseAck::Recorded);
    let r = listed(store, tablet.device).await;
    assert_eq!(
        (r.erased_at, r.erased_unsent),
        (Some(format_timestamp(minutes(15))), Some(3)),
        "the time the tablet reports, when it is plausible"
    );

    let ack = erased(tablet.device, 5, minutes(25), minutes(25)).await.expect("db");
    assert_eq!(ack, EraseAck::AlreadyRecorded);
    let r = listed(store, tablet.device).await;
    assert_eq!(
        (r.erased_at, r.erased_unsent),
        (Some(format_timestamp(minutes(15))), Some(3))
    );

    // A tablet clock that says it erased before it was asked: the
    // server's time is kept.
    store.revoke(early.device, true, minutes(10)).await.expect("db");
    let ack = erased(early.device, 0, minutes(1), minutes(30)).await.expect("db");
    assert_eq!(ack, EraseAck::Recorded);
    let r = listed(store, early.device).await;
    assert_eq!(
        (r.erased_at, r.erased_unsent),
        (Some(format_timestamp(minutes(30))), Some(0))
    );

    let ack = erased(DeviceId::new(), 0, now(), now()).await.expect("db");
    assert_eq!(ack, EraseAck::NoDevice);
}

pub(crate) async fn devices_are_listed_in_the_order_they_enrolled<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let mut expected: Vec<(i64, DeviceId)> = Vec::new();
    for (i, at) in [3, 1, 2].into_iter().enumerate() {
        let (_, hash) = code(store, w.thanh, w.muong_lan.id, now()).await;
        let token = store.token_key().hash(&format!("dst1_token {i}"));
        let enrolled = store.enroll(hash, token, None, minutes(at)).await.expect("enrolled");
        expected.push((at, enrolled.device_id));
    }
    expected.sort();
    let listed: Vec<DeviceId> = store.devices().await.expect("devices").iter().map(|d| d.id).collect();
    assert_eq!(
        listed,
        expected.into_iter().map(|(_, d)| d).collect::<Vec<_>>(),
        "oldest first"
    );
}
