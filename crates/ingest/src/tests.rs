//! The push rules, case by case: gaps, resends, copies, scope, parents,
//! clamped clocks and the office's writes.

use doorstep_core::change::{Change, ChangeOp, Version};
use doorstep_core::hlc::{Hlc, HlcClock};
use doorstep_core::ids::{ChangeId, DeviceId};
use doorstep_core::merge::EntityState;
use doorstep_core::schema::{EntityKind, FieldValue};
use uuid::Uuid;

use super::*;
use doorstep_core::change::FieldWrite;

fn device() -> DeviceId {
    DeviceId::new()
}

/// An existing entity the server knows, in `scope`.
fn known(kind: EntityKind, scope: &str) -> Known {
    Known {
        kind,
        scope: scope.into(),
        state: EntityState {
            exists: true,
            ..EntityState::default()
        },
    }
}

/// The create change of an entity with these fields, no bases.
fn create<'a>(
    dev: DeviceId,
    seq: u64,
    hlc: Hlc,
    kind: EntityKind,
    id: Uuid,
    fields: impl IntoIterator<Item = (&'a str, FieldValue)>,
) -> Change {
    Change {
        id: ChangeId::derive(dev, seq),
        device: dev,
        seq,
        hlc,
        entity: kind,
        entity_id: id,
        op: ChangeOp::Create,
        fields: fields
            .into_iter()
            .map(|(f, v)| FieldWrite {
                field: f.into(),
                value: v,
                base: None,
                resolves: Vec::new(),
            })
            .collect(),
    }
}

fn household(dev: DeviceId, seq: u64, village: Uuid, hlc: Hlc) -> Change {
    let fields = [
        ("village_id", FieldValue::Text(village.hyphenated().to_string())),
        ("head_name", FieldValue::from("Lò Văn Pắn")),
        ("created_at", FieldValue::from("2026-06-01T08:00:00.000Z")),
    ];
    create(dev, seq, hlc, EntityKind::Household, Uuid::now_v7(), fields)
}

fn setup() -> (Pusher, Uuid, Loaded) {
    let village = Uuid::now_v7();
    let mut loaded = Loaded::default();
    loaded.entities.insert(village, known(EntityKind::Village, "c1"));
    let pusher = Pusher {
        device: device(),
        scope: Some("c1".into()),
        last_applied: 0,
    };
    (pusher, village, loaded)
}

const NOW: u64 = 1_780_000_000_000;

#[test]
fn a_gap_names_the_expected_seq() {
    let (pusher, village, loaded) = setup();
    let c = household(pusher.device, 2, village, Hlc::new(NOW, 0));
    let err = plan(&pusher, vec![c], loaded, &mut HlcClock::resume(Hlc::ZERO), NOW).expect_err("gap");
    assert!(matches!(err, Refusal::SeqGap { expected: 1, .. }), "{err:?}");
}

#[test]
fn applied_seqs_are_skipped_and_the_rest_applies() {
    let (mut pusher, village, loaded) = setup();
    pusher.last_applied = 1;
    let a = household(pusher.device, 1, village, Hlc::new(NOW, 0));
    let b = household(pusher.device, 2, village, Hlc::new(NOW, 1));
    let p = plan(&pusher, vec![a, b], loaded, &mut HlcClock::resume(Hlc::ZERO), NOW).expect("plan");
    assert_eq!((p.skipped, p.accepted.len(), p.last_applied), (1, 1, 2));
    assert_eq!(p.accepted[0].scope, "c1");
}

#[test]
fn a_resent_seq_matching_the_log_is_skipped_even_if_restamped() {
    let (mut pusher, village, mut loaded) = setup();
    pusher.last_applied = 1;
    let sent = household(pusher.device, 1, village, Hlc::new(NOW + 600_000, 0));
    let mut logged = sent.clone();
    logged.hlc = Hlc::new(NOW, 3);
    loaded.restamps.insert(sent.hlc, logged.hlc);
    loaded.logged.insert(1, logged);
    let needs = needs(&pusher, std::slice::from_ref(&sent));
    assert_eq!(
        (needs.logged_seqs.as_slice(), needs.own_bases.as_slice()),
        (&[1][..], &[sent.hlc][..])
    );
    let p = plan(&pusher, vec![sent], loaded, &mut HlcClock::resume(Hlc::ZERO), NOW).expect("plan");
    assert_eq!(p.skipped, 1);
}

#[test]
fn a_copy_s_other_change_at_a_logged_seq_is_refused_with_its_batch() {
    let (mut pusher, village, mut loaded) = setup();
    pusher.last_applied = 2;
    let shared = household(pusher.device, 1, village, Hlc::new(NOW, 0));
    loaded.logged.insert(1, shared.clone());
    loaded
        .logged
        .insert(2, household(pusher.device, 2, village, Hlc::new(NOW, 1)));
    // The copy wrote another household at seq 2, and went on to 3.
    let other = household(pusher.device, 2, village, Hlc::new(NOW, 2));
    let next = household(pusher.device, 3, village, Hlc::new(NOW, 3));
    let err = plan(
        &pusher,
        vec![shared, other.clone(), next.clone()],
        loaded,
        &mut HlcClock::resume(Hlc::ZERO),
        NOW,
    )
    .expect_err("a copy");
    let Refusal::Copied { seq, message, changes } = err else {
        panic!("{err:?}");
    };
    assert_eq!(seq, 2);
    assert!(message.contains("copied from another tablet"), "{message}");
    assert_eq!(changes, vec![other, next]);
}

#[test]
fn another_commune_refuses_the_batch() {
    let (mut pusher, village, loaded) = setup();
    pusher.scope = Some("c2".into());
    let c = household(pusher.device, 1, village, Hlc::new(NOW, 0));
    let err = plan(&pusher, vec![c], loaded, &mut HlcClock::resume(Hlc::ZERO), NOW).expect_err("scope");
    assert!(matches!(err, Refusal::Forbidden(_)));
}

#[test]
fn an_unknown_parent_is_rejected_and_the_queue_moves_on() {
    let (pusher, village, loaded) = setup();
    let a = household(pusher.device, 1, Uuid::now_v7(), Hlc::new(NOW, 0));
    let b = household(pusher.device, 2, village, Hlc::new(NOW, 1));
    let p = plan(&pusher, vec![a, b], loaded, &mut HlcClock::resume(Hlc::ZERO), NOW).expect("plan");
    assert_eq!(p.rejected.len(), 1);
    assert!(p.rejected[0].reason.contains("village_id"), "{}", p.rejected[0].reason);
    assert_eq!((p.accepted.len(), p.last_applied), (1, 2));
}

#[test]
fn a_second_create_is_rejected() {
    let (pusher, village, loaded) = setup();
    let a = household(pusher.device, 1, village, Hlc::new(NOW, 0));
    let mut b = household(pusher.device, 2, village, Hlc::new(NOW, 1));
    b.entity_id = a.entity_id;
    let p = plan(&pusher, vec![a, b], loaded, &mut HlcClock::resume(Hlc::ZERO), NOW).expect("plan");
    assert_eq!((p.accepted.len(), p.rejected.len()), (1, 1));
    assert!(
        p.rejected[0].reason.contains("already exists"),
        "{}",
        p.rejected[0].reason
    );
}

#[test]
fn a_rejected_change_far_ahead_is_restamped_so_later_bases_agree() {
    let (pusher, village, loaded) = setup();
    let ahead = NOW + 3 * 24 * 3600 * 1000;
    // Rejected (unknown village), but its stamp is replaced all the same.
    let lost = household(pusher.device, 1, Uuid::now_v7(), Hlc::new(ahead, 0));
    let created = household(pusher.device, 2, village, Hlc::new(ahead, 1));
    let mut edit = household(pusher.device, 3, village, Hlc::new(ahead, 2));
    edit.op = ChangeOp::Update;
    edit.entity_id = created.entity_id;
    edit.fields = vec![FieldWrite {
        field: "head_name".into(),
        value: FieldValue::from("Lò Văn B"),
        base: Some(created.version()),
        resolves: Vec::new(),
    }];
    let p = plan(
        &pusher,
        vec![lost, created, edit],
        loaded,
        &mut HlcClock::resume(Hlc::ZERO),
        NOW,
    )
    .expect("plan");
    assert_eq!(
        p.restamped.len(),
        3,
        "every stamp far ahead is replaced, the rejected one too"
    );
    assert_eq!((p.accepted.len(), p.rejected.len()), (2, 1));
    let base = p.accepted[1].change.fields[0].base.expect("base");
    assert_eq!(base.hlc, p.accepted[0].change.hlc, "the base names the new stamp");
    assert!(p.accepted[1].change.validate().is_ok());
}

#[test]
fn a_base_from_the_future_the_server_never_saw_is_rejected_after_the_restamp() {
    let (pusher, village, loaded) = setup();
    let created = household(pusher.device, 1, village, Hlc::new(NOW, 0));
    let ahead = NOW + 3 * 24 * 3600 * 1000;
    let mut edit = household(pusher.device, 2, village, Hlc::new(ahead, 5));
    edit.op = ChangeOp::Update;
    edit.entity_id = created.entity_id;
    edit.fields = vec![FieldWrite {
        field: "head_name".into(),
        value: FieldValue::from("Lò Văn B"),
        base: Some(Version {
            hlc: Hlc::new(ahead, 1),
            device: pusher.device,
        }),
        resolves: Vec::new(),
    }];
    let p = plan(
        &pusher,
        vec![created, edit],
        loaded,
        &mut HlcClock::resume(Hlc::ZERO),
        NOW,
    )
    .expect("plan");
    assert_eq!((p.accepted.len(), p.rejected.len()), (1, 1), "{:?}", p.rejected);
}

#[test]
fn a_run_naming_another_communes_visit_refuses_the_batch() {
    use doorstep_core::entities::{ChecklistRun, Entity};
    use doorstep_core::ids::{ChecklistRunId, HouseholdId, PersonId, VisitId};
    let (pusher, _, mut loaded) = setup();
    let (person, household, visit) = (PersonId::new(), HouseholdId::new(), VisitId::new());
    loaded
        .entities
        .insert(person.as_uuid(), known(EntityKind::Person, "c1"));
    loaded
        .entities
        .insert(household.as_uuid(), known(EntityKind::Household, "c1"));
    loaded.entities.insert(visit.as_uuid(), known(EntityKind::Visit, "c2"));
    let run = ChecklistRun {
        id: ChecklistRunId::new(),
        visit_id: visit,
        person_id: person,
        household_id: household,
        pack_key: doorstep_core::text::Key::parse("vneid").expect("key"),
        pack_version: 1,
        started_at: chrono::DateTime::from_timestamp_millis(NOW as i64).expect("time"),
    };
    let change = create(
        pusher.device,
        1,
        Hlc::new(NOW, 0),
        EntityKind::ChecklistRun,
        run.id.as_uuid(),
        run.fields(),
    );
    let err = plan(&pusher, vec![change], loaded, &mut HlcClock::resume(Hlc::ZERO), NOW).expect_err("scope");
    assert!(err.to_string().contains("visit_id"), "{err}");
}

#[test]
fn members_stay_within_the_commune_of_their_villages() {
    use doorstep_core::entities::{Entity, Member};
    use doorstep_core::ids::{CampaignId, MemberId, VillageId};
    let office = Pusher {
        device: DeviceId::new(),
        scope: None,
        last_applied: 0,
    };
    let campaign = CampaignId::new();
    let (v1, v2, v3) = (VillageId::new(), VillageId::new(), VillageId::new());
    let mut loaded = Loaded::default();
    loaded
        .entities
        .insert(campaign.as_uuid(), known(EntityKind::Campaign, CAMPAIGN_WIDE));
    loaded.entities.insert(v1.as_uuid(), known(EntityKind::Village, "c1"));
    loaded.entities.insert(v2.as_uuid(), known(EntityKind::Village, "c1"));
    loaded.entities.insert(v3.as_uuid(), known(EntityKind::Village, "c2"));
    let member = |seq: u64, villages: Vec<VillageId>| {
        let m = Member {
            id: MemberId::new(),
            campaign_id: campaign,
            name: doorstep_core::text::PersonName::parse("Quàng Thị Hoa").expect("name"),
            role: doorstep_core::vocab::Role::Volunteer,
            unit: doorstep_core::vocab::Unit::YouthUnion,
            phone: None,
            village_ids: villages,
        };
        create(
            office.device,
            seq,
            Hlc::new(NOW, seq as u16),
            EntityKind::Member,
            m.id.as_uuid(),
            m.fields(),
        )
    };
    let changes = vec![member(1, vec![v1, v2]), member(2, vec![v1, v3]), member(3, Vec::new())];
    let p = plan(&office, changes, loaded, &mut HlcClock::resume(Hlc::ZERO), NOW).expect("plan");
    let scopes: Vec<&str> = p.accepted.iter().map(|a| a.scope.as_str()).collect();
    assert_eq!(scopes, vec!["c1", CAMPAIGN_WIDE, CAMPAIGN_WIDE], "{:?}", p.rejected);
}

#[test]
fn stamps_far_ahead_are_replaced_in_order() {
    let (pusher, village, loaded) = setup();
    let ahead = NOW + 2 * 24 * 3600 * 1000;
    let a = household(pusher.device, 1, village, Hlc::new(ahead, 0));
    let b = household(pusher.device, 2, village, Hlc::new(ahead, 1));
    let mut clock = HlcClock::resume(Hlc::ZERO);
    let p = plan(&pusher, vec![a, b], loaded, &mut clock, NOW).expect("plan");
    assert_eq!(p.restamped.len(), 2);
    let (x, y) = (p.accepted[0].change.hlc, p.accepted[1].change.hlc);
    assert!(x < y && y.millis() <= NOW + 1, "{x:?} {y:?}");
}
