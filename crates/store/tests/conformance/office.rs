//! The office's own writes: change records of the office device with its
//! next seqs, applied like any push, all or nothing.

use doorstep_core::ids::ChangeId;
use doorstep_core::schema::{EntityKind, FieldValue, format_timestamp};
use doorstep_ingest::{CAMPAIGN_WIDE, OfficeWrite};
use doorstep_store::accounts::Accounts;
use doorstep_store::{OfficeError, Store};
use uuid::Uuid;

use crate::world::{Tablet, World, id_text, now, text};

fn create(kind: EntityKind, fields: &[(&str, FieldValue)]) -> (Uuid, OfficeWrite) {
    let id = Uuid::now_v7();
    let write = OfficeWrite {
        kind,
        id,
        create: true,
        fields: fields.iter().map(|(f, v)| ((*f).to_owned(), v.clone())).collect(),
        resolves_conflicts: false,
    };
    (id, write)
}

fn household(village: Uuid, head: &str) -> (Uuid, OfficeWrite) {
    create(
        EntityKind::Household,
        &[
            ("village_id", FieldValue::from(id_text(village))),
            ("head_name", FieldValue::from(head)),
            ("created_at", FieldValue::from(format_timestamp(now()))),
        ],
    )
}

/// The office's highest seq in the log: what tablets of both communes
/// pull of it (every office write so far reaches one or both).
async fn office_seq<S: Store>(store: &S, w: &World) -> u64 {
    let mut highest = 0;
    for (member, commune) in [(w.thanh, &w.muong_lan), (w.nga, &w.chieng_sinh)] {
        let tablet = Tablet::enrol(store, member, commune).await;
        let (all, _) = tablet.pull_all(store, 0, 1_000).await;
        let office = all.iter().filter(|c| c.device == store.office_device());
        highest = highest.max(office.map(|c| c.seq).max().unwrap_or(0));
    }
    assert!(highest > 0, "the campaign was written by the office");
    highest
}

pub(crate) async fn an_office_write_takes_the_office_device_s_next_seqs<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let tablet = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let next = office_seq(store, &w).await + 1;
    let office = store.office_device();

    let (house, h) = household(w.muong_lan.villages[0], "Lò Văn Pắn");
    let (person, p) = create(
        EntityKind::Person,
        &[
            ("household_id", FieldValue::from(id_text(house))),
            ("name", FieldValue::from("Lò Văn Pắn")),
        ],
    );
    let written = store.office_write(vec![h, p], now()).await.expect("written");
    assert_eq!(written.len(), 2);
    for (i, change) in written.iter().enumerate() {
        let seq = next + i as u64;
        assert_eq!((change.device, change.seq), (office, seq));
        assert_eq!(change.id, ChangeId::derive(office, seq));
    }
    assert_eq!((written[0].entity_id, written[1].entity_id), (house, person));
    assert!(written[0].hlc < written[1].hlc, "the office's clock moves on");
    let head = written[0]
        .fields
        .iter()
        .find(|f| f.field == "head_name")
        .expect("head_name");
    assert_eq!(head.value, FieldValue::from("Lò Văn Pắn"));

    let known = store.entity(house).await.expect("db").expect("known");
    assert_eq!(known.scope, w.muong_lan.scope());
    assert_eq!(text(known.state.value("head_name")), Some("Lò Văn Pắn"));
    let (pulled, _) = tablet.pull_all(store, 0, 1_000).await;
    assert_eq!(pulled[pulled.len() - 2..], written[..], "tablets pull them as written");

    // The next write follows on.
    let rename = OfficeWrite {
        kind: EntityKind::Household,
        id: house,
        create: false,
        fields: vec![("head_name".to_owned(), FieldValue::from("Lò Văn Pắn (trưởng bản)"))],
        resolves_conflicts: false,
    };
    let again = store.office_write(vec![rename], now()).await.expect("written");
    assert_eq!(again[0].seq, next + 2);
    let base = again[0].fields[0]
        .base
        .expect("an update names the version it replaces");
    assert_eq!(base, written[0].version());
}

pub(crate) async fn an_invalid_office_write_names_the_problem_and_changes_nothing<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let next = office_seq(store, &w).await + 1;
    let before = store.change_count().await.expect("count");

    let (commune, good) = create(EntityKind::Commune, &[("name", FieldValue::from("Chiềng Mai"))]);
    let nowhere = Uuid::now_v7();
    let (_, bad) = create(
        EntityKind::Village,
        &[
            ("commune_id", FieldValue::from(id_text(nowhere))),
            ("name", FieldValue::from("Bản Hẻo")),
        ],
    );
    let err = store.office_write(vec![good, bad], now()).await.expect_err("refused");
    let OfficeError::Invalid(why) = err else {
        panic!("not refused as invalid: {err:?}");
    };
    assert!(why.contains("commune_id") && why.contains(&id_text(nowhere)), "{why}");
    assert_eq!(store.change_count().await.expect("count"), before, "nothing written");
    assert!(
        store.entity(commune).await.expect("db").is_none(),
        "not even the good write"
    );

    // A create without a required field names it.
    let (_, missing) = create(EntityKind::Household, &[("head_name", FieldValue::from("Lò Văn Pắn"))]);
    let err = store.office_write(vec![missing], now()).await.expect_err("refused");
    assert!(
        matches!(&err, OfficeError::Invalid(why) if why.contains("village_id") && why.contains("required")),
        "{err:?}"
    );
    assert_eq!(store.change_count().await.expect("count"), before);

    // The refused writes used up no seq.
    let (_, h) = household(w.muong_lan.villages[0], "Lò Văn Pắn");
    let written = store.office_write(vec![h], now()).await.expect("written");
    assert_eq!(written[0].seq, next);
}

pub(crate) async fn an_office_update_of_an_unknown_record_is_refused<S: Store + Accounts>(store: &S) {
    World::create(store).await;
    let before = store.change_count().await.expect("count");
    let ghost = Uuid::now_v7();
    let update = OfficeWrite {
        kind: EntityKind::Household,
        id: ghost,
        create: false,
        fields: vec![("head_name".to_owned(), FieldValue::from("Ai đó"))],
        resolves_conflicts: false,
    };
    let err = store.office_write(vec![update], now()).await.expect_err("refused");
    assert!(
        matches!(&err, OfficeError::Invalid(why) if why.contains(&id_text(ghost))),
        "{err:?}"
    );
    assert_eq!(store.change_count().await.expect("count"), before);
    assert!(store.entity(ghost).await.expect("db").is_none());
}

pub(crate) async fn entities_lists_every_record_of_a_kind_with_its_scope<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let villages = store.entities(EntityKind::Village).await.expect("villages");
    let mut expected: Vec<(Uuid, String)> = [&w.muong_lan, &w.chieng_sinh]
        .iter()
        .flat_map(|c| c.villages.iter().map(|v| (*v, c.scope())))
        .collect();
    expected.sort();
    let got: Vec<(Uuid, String)> = villages.iter().map(|(id, k)| (*id, k.scope.clone())).collect();
    assert_eq!(got, expected, "every village once, by id, in its commune");
    assert!(
        villages
            .iter()
            .all(|(_, k)| k.kind == EntityKind::Village && k.state.exists)
    );

    let communes = store.entities(EntityKind::Commune).await.expect("communes");
    let mut expected = vec![w.muong_lan.id, w.chieng_sinh.id];
    expected.sort();
    assert_eq!(communes.iter().map(|(id, _)| *id).collect::<Vec<_>>(), expected);
    assert!(
        communes.iter().all(|(id, k)| k.scope == id_text(*id)),
        "a commune is its own scope"
    );

    let campaigns = store.entities(EntityKind::Campaign).await.expect("campaigns");
    assert_eq!(campaigns.len(), 1);
    assert_eq!(
        (campaigns[0].0, campaigns[0].1.scope.as_str()),
        (w.campaign, CAMPAIGN_WIDE)
    );
    assert!(
        store
            .entities(EntityKind::Household)
            .await
            .expect("households")
            .is_empty()
    );
}

pub(crate) async fn office_writes_at_once_take_distinct_seqs<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let next = office_seq(store, &w).await + 1;
    let writes = |n: usize| -> Vec<OfficeWrite> {
        (0..n)
            .map(|i| household(w.muong_lan.villages[0], &format!("Hộ {i}")).1)
            .collect()
    };
    // Two leads saving at the same moment.
    let (a, b) = tokio::join!(
        store.office_write(writes(5), now()),
        store.office_write(writes(5), now())
    );
    let (a, b) = (a.expect("written"), b.expect("written"));
    let mut seqs: Vec<u64> = a.iter().chain(&b).map(|c| c.seq).collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (next..next + 10).collect::<Vec<_>>(),
        "one office history, no seq twice"
    );
    let mut stamps: Vec<_> = a.iter().chain(&b).map(|c| c.hlc).collect();
    stamps.sort_unstable();
    stamps.dedup();
    assert_eq!(stamps.len(), 10, "no stamp twice");
}
