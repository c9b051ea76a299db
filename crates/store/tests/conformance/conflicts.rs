//! Conflicts: two tablets writing one field from the same base leave both
//! values, the newer shown; `conflicts` lists them for a lead, whose pick
//! (an office write that resolves them) closes the conflict everywhere.

use doorstep_core::change::{Change, Version};
use doorstep_core::schema::{EntityKind, FieldValue};
use doorstep_ingest::OfficeWrite;
use doorstep_store::Store;
use doorstep_store::accounts::Accounts;
use doorstep_store::report::Filter;
use uuid::Uuid;

use crate::world::{Tablet, World, id_text, now, today};

fn every_commune() -> Filter {
    Filter {
        today: today(),
        ..Filter::default()
    }
}

fn only(commune: Uuid) -> Filter {
    Filter {
        communes: Some(vec![id_text(commune)]),
        ..every_commune()
    }
}

fn version_text(v: &Version) -> String {
    format!("{:016x}-{}", v.hlc.as_u64(), v.device)
}

/// Two tablets of Mường Lạn that both know a household Thành registered.
async fn two_tablets<S: Store>(store: &S, w: &World) -> (Tablet, Tablet, Uuid, Change) {
    let mut a = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let b = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let (house, created) = a.household(w.muong_lan.villages[0], "Lò Văn Pắn");
    a.push(store, vec![created.clone()]).await;
    let (pulled, _) = b.pull_all(store, 0, 1_000).await;
    assert!(pulled.contains(&created));
    (a, b, house, created)
}

/// Both tablets rename the head from the household's first version.
async fn concurrent_renames<S: Store>(store: &S, w: &World) -> (Uuid, Change, Change) {
    let (mut a, mut b, house, created) = two_tablets(store, w).await;
    let base = Some(created.version());
    let from_a = a.update(
        EntityKind::Household,
        house,
        "head_name",
        FieldValue::from("Lò Văn Pán"),
        base,
    );
    let from_b = b.update(
        EntityKind::Household,
        house,
        "head_name",
        FieldValue::from("Lò Văn Phấn"),
        base,
    );
    a.push(store, vec![from_a.clone()]).await;
    b.push(store, vec![from_b.clone()]).await;
    (house, from_a, from_b)
}

pub(crate) async fn two_tablets_writing_one_field_from_one_base_make_a_conflict<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let (house, from_a, from_b) = concurrent_renames(store, &w).await;
    let (winner, loser) = if from_a.version() > from_b.version() {
        (&from_a, &from_b)
    } else {
        (&from_b, &from_a)
    };

    let known = store.entity(house).await.expect("db").expect("known");
    let field = &known.state.fields["head_name"];
    assert_eq!(field.winner.as_ref().map(|s| s.version), Some(winner.version()));
    assert_eq!(
        field.losers.keys().copied().collect::<Vec<_>>(),
        vec![loser.version()],
        "the other value is kept as a loser"
    );

    let rows = store.conflicts(every_commune()).await.expect("conflicts");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(
        (row.kind.as_str(), row.entity_id.as_str(), row.field.as_str()),
        ("household", id_text(house).as_str(), "head_name")
    );
    assert_eq!(row.commune_id, w.muong_lan.scope());
    let values: Vec<(String, String, String)> = row
        .values
        .iter()
        .map(|v| (v.value.clone(), v.version.clone(), v.device.clone()))
        .collect();
    let expect = |c: &Change| {
        (
            c.fields[0].value.as_text().expect("text").to_owned(),
            version_text(&c.version()),
            c.device.to_string(),
        )
    };
    assert_eq!(values, vec![expect(winner), expect(loser)], "the shown value first");

    assert_eq!(store.conflicts(only(w.muong_lan.id)).await.expect("conflicts"), rows);
    assert!(
        store
            .conflicts(only(w.chieng_sinh.id))
            .await
            .expect("conflicts")
            .is_empty(),
        "another commune's lead does not see it"
    );
}

pub(crate) async fn a_lead_s_pick_closes_the_conflict<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let (house, from_a, from_b) = concurrent_renames(store, &w).await;
    let loser = if from_a.version() > from_b.version() {
        &from_b
    } else {
        &from_a
    };
    let chosen = loser.fields[0].value.clone();
    let pick = OfficeWrite {
        kind: EntityKind::Household,
        id: house,
        create: false,
        fields: vec![("head_name".to_owned(), chosen.clone())],
        resolves_conflicts: true,
    };
    let written = store
        .office_write(vec![pick], now())
        .await
        .expect("the pick is written");
    assert!(
        written[0].fields[0].resolves.contains(&loser.version()),
        "the pick resolves the value that lost: {:?}",
        written[0].fields[0]
    );

    assert!(store.conflicts(every_commune()).await.expect("conflicts").is_empty());
    let known = store.entity(house).await.expect("db").expect("known");
    assert_eq!(known.state.value("head_name"), Some(&chosen));
    assert!(known.state.fields["head_name"].losers.is_empty());

    // The tablets get the pick like any change.
    let reader = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let (pulled, _) = reader.pull_all(store, 0, 1_000).await;
    assert_eq!(pulled.last(), written.last());
}

pub(crate) async fn writes_one_after_the_other_make_no_conflict<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let (mut a, mut b, house, created) = two_tablets(store, &w).await;
    let first = a.update(
        EntityKind::Household,
        house,
        "head_name",
        FieldValue::from("Lò Văn Pán"),
        Some(created.version()),
    );
    a.push(store, vec![first.clone()]).await;
    // b saw a's rename before writing its own.
    let second = b.update(
        EntityKind::Household,
        house,
        "head_name",
        FieldValue::from("Lò Văn Phấn"),
        Some(first.version()),
    );
    b.push(store, vec![second.clone()]).await;

    assert!(store.conflicts(every_commune()).await.expect("conflicts").is_empty());
    let known = store.entity(house).await.expect("db").expect("known");
    assert_eq!(known.state.value("head_name"), Some(&FieldValue::from("Lò Văn Phấn")));
    assert!(known.state.fields["head_name"].losers.is_empty());
}

pub(crate) async fn conflicts_are_listed_newest_record_first<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let (first, _, _) = concurrent_renames(store, &w).await;
    let (second, _, _) = concurrent_renames(store, &w).await;
    let mut expected = vec![id_text(first), id_text(second)];
    expected.sort();
    expected.reverse();
    let rows = store.conflicts(every_commune()).await.expect("conflicts");
    let listed: Vec<String> = rows.iter().map(|r| r.entity_id.clone()).collect();
    assert_eq!(listed, expected, "by record id, highest (newest) first");
}
