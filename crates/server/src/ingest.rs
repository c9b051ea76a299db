//! Deciding what a push does, as a pure function over what the store loaded.
//!
//! Every store (SQLite now, PostgreSQL later) runs a push the same way:
//! inside one transaction it locks the device's row, loads the entities the
//! batch touches or refers to ([`needs`]), calls [`plan`], writes the
//! [`Plan`] (log entries, entity states, rejections, restamps, the device's
//! new `last_applied_seq`) and commits. All rules live here, once:
//!
//! * **exactly once**: seqs at or below `last_applied_seq` are skipped; the
//!   rest must follow on without a gap;
//! * **one tablet per token**: a skipped seq whose change is not the logged
//!   one ([`is_resend`]) comes from a copy of the tablet's files; the batch
//!   is refused and kept aside, never skipped and lost;
//! * **scope**: a tablet may only write households, people, visits, runs and
//!   step events of its own commune; anything else refuses the whole batch;
//! * **never blocking the queue**: a change that can never apply (invalid,
//!   unknown parent) is rejected with a reason and the counter moves past it;
//! * **clocks**: a stamp too far ahead of the server's clock is replaced by
//!   the server's, and later bases that named the old stamp are translated.

use std::collections::HashMap;

use doorstep_core::change::{Change, ChangeOp, Version};
use doorstep_core::hlc::{Hlc, HlcClock};
use doorstep_core::ids::{ChangeId, DeviceId};
use doorstep_core::merge::{ChangeEffect, EntityState};
use doorstep_core::protocol::{Rejected, Restamp};
use doorstep_core::schema::{EntityKind, FieldValue};
use uuid::Uuid;

/// The scope of records every device sees (campaigns, members).
pub const CAMPAIGN_WIDE: &str = "*";

/// How far ahead of the server's clock a stamp may be before it is replaced.
pub const MAX_AHEAD_MS: u64 = HlcClock::DEFAULT_MAX_AHEAD_MS;

/// Who is pushing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pusher {
    /// The device.
    pub device: DeviceId,
    /// Its commune; `None` for the office (the server's own writes), which
    /// may write places, campaigns and members anywhere.
    pub scope: Option<String>,
    /// The highest seq already applied from it.
    pub last_applied: u64,
}

/// An entity as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    /// Its kind.
    pub kind: EntityKind,
    /// Its commune id, or [`CAMPAIGN_WIDE`].
    pub scope: String,
    /// Its merged state.
    pub state: EntityState,
}

/// What the store must load before planning a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Entities the batch changes or refers to.
    pub entities: Vec<Uuid>,
    /// Stamps of the pusher's own writes, named as bases or carried by the
    /// changes it sends again: the store looks them up among the pusher's
    /// restamps (only if it has any).
    pub own_bases: Vec<Hlc>,
    /// Seqs the batch sends again (at or below `last_applied`): the store
    /// loads what the log holds for them, to tell a resend from a copy.
    pub logged_seqs: Vec<u64>,
}

/// What the store loaded.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Entities by id (absent: unknown to the server).
    pub entities: HashMap<Uuid, Known>,
    /// The pusher's restamps: stamp it wrote -> stamp in use.
    pub restamps: HashMap<Hlc, Hlc>,
    /// The pusher's logged changes at [`Needs::logged_seqs`] (absent: that
    /// seq was rejected, and the log holds nothing to compare with).
    pub logged: HashMap<u64, Change>,
}

/// A batch the server refuses as a whole; nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The device may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The batch does not start where the server is, or skips a seq.
    #[error("{message}")]
    SeqGap {
        /// The seq the server needs next.
        expected: u64,
        /// What was wrong.
        message: String,
    },
    /// The batch sends again a seq the server has, with another change in
    /// it: two tablets push under one token, one a copy of the other's
    /// files. The store keeps `changes` aside (quarantine), so neither
    /// tablet's work is lost.
    #[error("{message}")]
    Copied {
        /// The first seq whose change differs from the logged one.
        seq: u64,
        /// What was wrong, for the volunteer and the lead.
        message: String,
        /// The batch from that seq on, as the copy sent it.
        changes: Vec<Change>,
    },
}

/// The sentence a copied tablet is told.
pub fn copied_message(seq: u64) -> String {
    format!(
        "this tablet's data was copied from another tablet: its change {seq} is not the one the server has from this device; \
         nothing is lost (its changes are kept on the tablet and set aside at the office), and the team lead must enrol this tablet again"
    )
}

/// Whether `pushed` is the change the log holds as `logged` for the same
/// device and seq, sent again: the same entity, operation and field
/// values, and the same stamp (or the stamp the server put in its place).
/// Bases are not compared: the server translates restamped ones.
pub fn is_resend(pushed: &Change, logged: &Change, restamps: &HashMap<Hlc, Hlc>) -> bool {
    let stamp = pushed.hlc == logged.hlc || restamps.get(&pushed.hlc) == Some(&logged.hlc);
    stamp
        && pushed.entity == logged.entity
        && pushed.entity_id == logged.entity_id
        && pushed.op == logged.op
        && pushed.fields.len() == logged.fields.len()
        && pushed
            .fields
            .iter()
            .zip(&logged.fields)
            .all(|(a, b)| a.field == b.field && a.value == b.value)
}

/// One accepted change, as it goes into the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The change (restamped and with translated bases where needed).
    pub change: Change,
    /// Its scope.
    pub scope: String,
}

/// What a push does.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Changes to append to the log, in order.
    pub accepted: Vec<Accepted>,
    /// Changes refused for good.
    pub rejected: Vec<Rejected>,
    /// Stamps replaced.
    pub restamped: Vec<Restamp>,
    /// Entities whose state changed: id -> new state.
    pub entities: HashMap<Uuid, Known>,
    /// The device's position after this batch.
    pub last_applied: u64,
    /// Changes skipped because they were applied before.
    pub skipped: usize,
}

/// The field whose entity decides the scope of a new entity of this kind.
fn parent_field(kind: EntityKind) -> Option<(&'static str, EntityKind)> {
    match kind {
        EntityKind::Village => Some(("commune_id", EntityKind::Commune)),
        EntityKind::Household => Some(("village_id", EntityKind::Village)),
        EntityKind::Person | EntityKind::Visit => Some(("household_id", EntityKind::Household)),
        EntityKind::ChecklistRun => Some(("person_id", EntityKind::Person)),
        EntityKind::StepEvent => Some(("run_id", EntityKind::ChecklistRun)),
        EntityKind::Commune | EntityKind::Campaign | EntityKind::Member => None,
    }
}

/// The required references a change sets (its parent among them): each
/// must name a known entity of the same commune.
fn required_refs(change: &Change) -> Vec<(&str, EntityKind)> {
    change
        .fields
        .iter()
        .filter_map(|w| match change.entity.field(&w.field) {
            Some(spec) if spec.required => match spec.ty {
                doorstep_core::schema::FieldType::Ref(target) => Some((w.field.as_str(), target)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The villages a member's change assigns (its `village_ids` list).
fn member_villages(change: &Change) -> Vec<Uuid> {
    if change.entity != EntityKind::Member {
        return Vec::new();
    }
    match change.get("village_ids") {
        Some(FieldValue::Text(list)) => serde_json::from_str::<Vec<String>>(list)
            .unwrap_or_default()
            .iter()
            .filter_map(|v| Uuid::parse_str(v).ok())
            .collect(),
        _ => Vec::new(),
    }
}

/// A member's scope: the commune of its villages when they are all in one
/// commune (so its name and phone stay within that commune's tablets), the
/// whole campaign otherwise.
fn member_scope(change: &Change, loaded: &Loaded, existing: Option<&Known>) -> String {
    let villages = member_villages(change);
    if change.get("village_ids").is_none() {
        return existing.map_or_else(|| CAMPAIGN_WIDE.to_owned(), |k| k.scope.clone());
    }
    let mut communes = villages
        .iter()
        .map(|v| loaded.entities.get(v).map(|k| k.scope.as_str()));
    match communes.next() {
        Some(Some(first)) if communes.all(|c| c == Some(first)) => first.to_owned(),
        _ => CAMPAIGN_WIDE.to_owned(),
    }
}

/// Kinds only the office writes.
fn office_only(kind: EntityKind) -> bool {
    matches!(
        kind,
        EntityKind::Commune | EntityKind::Village | EntityKind::Campaign | EntityKind::Member
    )
}

fn ref_id(change: &Change, field: &str) -> Option<Uuid> {
    match change.get(field) {
        Some(FieldValue::Text(t)) => Uuid::parse_str(t).ok(),
        _ => None,
    }
}

/// The entities and own bases a batch needs loaded.
pub fn needs(pusher: &Pusher, changes: &[Change]) -> Needs {
    let mut out = Needs::default();
    for change in changes {
        if change.seq <= pusher.last_applied {
            out.logged_seqs.push(change.seq);
            out.own_bases.push(change.hlc);
            continue;
        }
        // Step events are never looked up: nothing refers to them and their
        // ids are their change ids, unique by (device, seq).
        if change.entity != EntityKind::StepEvent {
            out.entities.push(change.entity_id);
        }
        for (field, _) in required_refs(change) {
            out.entities.extend(ref_id(change, field));
        }
        out.entities.extend(member_villages(change));
        for write in &change.fields {
            for v in write.base.iter().chain(&write.resolves) {
                if v.device == pusher.device {
                    out.own_bases.push(v.hlc);
                }
            }
        }
    }
    out.entities.sort_unstable();
    out.entities.dedup();
    out.own_bases.sort_unstable();
    out.own_bases.dedup();
    out
}

/// Plans a push. `clock` is the server's clock (it moves only forward);
/// `wall_ms` the server's wall time.
pub fn plan(
    pusher: &Pusher,
    changes: Vec<Change>,
    mut loaded: Loaded,
    clock: &mut HlcClock,
    wall_ms: u64,
) -> Result<Plan, Refusal> {
    let mut plan = Plan {
        last_applied: pusher.last_applied,
        ..Plan::default()
    };
    let mut expected = pusher.last_applied + 1;
    let mut changes = changes.into_iter().enumerate();
    while let Some((n, mut change)) = changes.next() {
        if change.device != pusher.device {
            return Err(Refusal::Forbidden(format!(
                "change {n} (seq {}) claims device {}, but this token belongs to device {}",
                change.seq, change.device, pusher.device
            )));
        }
        if change.seq < expected {
            if let Some(logged) = loaded.logged.get(&change.seq)
                && !is_resend(&change, logged, &loaded.restamps)
            {
                let seq = change.seq;
                let mut kept = vec![change];
                kept.extend(changes.map(|(_, c)| c).filter(|c| c.device == pusher.device));
                return Err(Refusal::Copied {
                    seq,
                    message: copied_message(seq),
                    changes: kept,
                });
            }
            plan.skipped += 1;
            continue;
        }
        if change.seq > expected {
            return Err(Refusal::SeqGap {
                expected: pusher.last_applied + 1,
                message: format!(
                    "pushed seq {} but the server needs seq {expected} next; send the outbox from seq {}",
                    change.seq,
                    pusher.last_applied + 1
                ),
            });
        }
        expected += 1;
        plan.last_applied = change.seq;
        let seq = change.seq;
        if change.id != ChangeId::derive(change.device, change.seq) {
            plan.rejected.push(Rejected {
                seq,
                reason: format!("change id {} is not the one derived from its device and seq", change.id),
            });
            continue;
        }
        // Bases naming this device's own restamped writes use the new stamp.
        for write in &mut change.fields {
            for v in write.base.iter_mut().chain(write.resolves.iter_mut()) {
                if v.device == pusher.device
                    && let Some(new) = loaded.restamps.get(&v.hlc)
                {
                    v.hlc = *new;
                }
            }
        }
        // Replace a stamp too far ahead before anything can reject the
        // change: the device adopts every restamp, rejected changes too, so
        // a later write naming this one as its base names the same stamp
        // on every replica. Validation then sees the stamps replicas keep.
        if change.hlc.millis() > wall_ms.saturating_add(MAX_AHEAD_MS) {
            let was = change.hlc;
            change.hlc = clock.tick(wall_ms);
            loaded.restamps.insert(was, change.hlc);
            plan.restamped.push(Restamp {
                seq,
                was,
                hlc: change.hlc,
            });
        } else {
            clock.observe_trusted(change.hlc);
        }
        if let Err(problems) = change.validate() {
            plan.rejected.push(Rejected {
                seq,
                reason: problems.to_string(),
            });
            continue;
        }
        if pusher.scope.is_some() && office_only(change.entity) {
            return Err(Refusal::Forbidden(format!(
                "seq {seq}: a tablet cannot change a {}; places, campaigns and members are managed at the office",
                change.entity
            )));
        }
        let scope = match scope_of(pusher, &change, &loaded)? {
            Ok(scope) => scope,
            Err(reason) => {
                plan.rejected.push(Rejected { seq, reason });
                continue;
            }
        };
        if change.entity == EntityKind::StepEvent {
            // Grow-only and owned by its device: its id is the id of the
            // change that creates it, so the log's (device, seq) key is all
            // the deduplication it needs and no entity state is kept.
            if change.op != ChangeOp::Create || change.entity_id != change.id.as_uuid() {
                plan.rejected.push(Rejected {
                    seq,
                    reason: format!(
                        "step event {}: a step event is created once, with the id of the change that creates it",
                        change.entity_id
                    ),
                });
                continue;
            }
            plan.accepted.push(Accepted { change, scope });
            continue;
        }
        let known = loaded.entities.entry(change.entity_id).or_insert_with(|| Known {
            kind: change.entity,
            scope: scope.clone(),
            state: EntityState::default(),
        });
        if change.op == ChangeOp::Create && known.state.exists {
            plan.rejected.push(Rejected {
                seq,
                reason: format!(
                    "{} {} already exists; a change to it must be an update",
                    change.entity, change.entity_id
                ),
            });
            continue;
        }
        if known.kind != change.entity {
            plan.rejected.push(Rejected {
                seq,
                reason: format!(
                    "{} {} is already known as a {}",
                    change.entity, change.entity_id, known.kind
                ),
            });
            continue;
        }
        match known.state.merge(&change) {
            ChangeEffect::AwaitsCreate => {
                plan.rejected.push(Rejected {
                    seq,
                    reason: format!(
                        "updates {} {}, which the server has never seen created",
                        change.entity, change.entity_id
                    ),
                });
                continue;
            }
            ChangeEffect::AlreadyPresent | ChangeEffect::Merged { .. } => {}
        }
        if change.op == ChangeOp::Update {
            // A household moved to another village stays in its commune.
            known.scope = scope.clone();
        }
        plan.entities.insert(change.entity_id, known.clone());
        plan.accepted.push(Accepted { change, scope });
    }
    Ok(plan)
}

/// The scope of a change: `Err` refuses the batch (another commune),
/// `Ok(Err)` rejects the change (it can never apply).
fn scope_of(pusher: &Pusher, change: &Change, loaded: &Loaded) -> Result<Result<String, String>, Refusal> {
    let own = |scope: &str| -> Result<(), Refusal> {
        match &pusher.scope {
            Some(mine) if scope != mine && scope != CAMPAIGN_WIDE => Err(Refusal::Forbidden(format!(
                "seq {}: {} {} belongs to another commune than this device's",
                change.seq, change.entity, change.entity_id
            ))),
            _ => Ok(()),
        }
    };
    let existing = loaded.entities.get(&change.entity_id);
    if let Some(known) = existing {
        own(&known.scope)?;
    }
    let scope = match (change.entity, parent_field(change.entity)) {
        (EntityKind::Commune, _) => change.entity_id.hyphenated().to_string(),
        (EntityKind::Member, _) => member_scope(change, loaded, existing),
        (EntityKind::Campaign, _) => CAMPAIGN_WIDE.to_owned(),
        (_, Some((field, parent_kind))) => match ref_id(change, field) {
            // Updates that do not move the entity keep its scope.
            None => match existing {
                Some(known) => known.scope.clone(),
                None => {
                    return Ok(Err(format!(
                        "{} {} is unknown to the server",
                        change.entity, change.entity_id
                    )));
                }
            },
            Some(parent) => match loaded.entities.get(&parent) {
                Some(p) if p.kind == parent_kind && p.state.exists => {
                    if change.entity == EntityKind::Village {
                        parent.hyphenated().to_string()
                    } else {
                        p.scope.clone()
                    }
                }
                _ => {
                    return Ok(Err(format!(
                        "{field} names {parent_kind} {parent}, which the server does not know"
                    )));
                }
            },
        },
        (_, None) => CAMPAIGN_WIDE.to_owned(),
    };
    own(&scope)?;
    // The other required references (a run's visit and household) must be
    // known records of the same commune.
    let parent = parent_field(change.entity).map(|p| p.0);
    for (field, target) in required_refs(change) {
        if Some(field) == parent {
            continue;
        }
        let Some(id) = ref_id(change, field) else { continue };
        match loaded.entities.get(&id) {
            Some(r) if r.kind == target && r.state.exists => {
                if pusher.scope.is_some() && r.scope != scope && r.scope != CAMPAIGN_WIDE {
                    return Err(Refusal::Forbidden(format!(
                        "seq {}: {field} names {target} {id} of another commune",
                        change.seq
                    )));
                }
            }
            _ => {
                return Ok(Err(format!(
                    "{field} names {target} {id}, which the server does not know"
                )));
            }
        }
    }
    if let Some(known) = existing
        && known.scope != scope
        && pusher.scope.is_some()
    {
        return Err(Refusal::Forbidden(format!(
            "seq {}: {} {} cannot move to another commune",
            change.seq, change.entity, change.entity_id
        )));
    }
    Ok(Ok(scope))
}

/// The version a new write replaces in `state`'s `field`.
pub fn current_version(state: &EntityState, field: &str) -> Option<Version> {
    state
        .fields
        .get(field)
        .and_then(|f| f.winner.as_ref())
        .map(|w| w.version)
}

/// Builds the office's change records: the next seqs from `next_seq`, the
/// server clock's stamps, and as base of each field the version the office
/// sees in `loaded`. The records then go through [`plan`] like any push.
pub fn office_changes(
    device: DeviceId,
    next_seq: u64,
    writes: Vec<crate::store::OfficeWrite>,
    loaded: &Loaded,
    clock: &mut HlcClock,
    wall_ms: u64,
) -> Vec<Change> {
    writes
        .into_iter()
        .enumerate()
        .map(|(i, w)| {
            let seq = next_seq + i as u64;
            let state = loaded.entities.get(&w.id).map(|k| &k.state);
            Change {
                id: ChangeId::derive(device, seq),
                device,
                seq,
                hlc: clock.tick(wall_ms),
                entity: w.kind,
                entity_id: w.id,
                op: if w.create { ChangeOp::Create } else { ChangeOp::Update },
                fields: w
                    .fields
                    .into_iter()
                    .map(|(field, value)| doorstep_core::change::FieldWrite {
                        base: state.and_then(|s| current_version(s, &field)),
                        resolves: if w.resolves_conflicts {
                            state
                                .and_then(|s| s.fields.get(&field))
                                .map(|f| f.losers.keys().copied().collect())
                                .unwrap_or_default()
                        } else {
                            Vec::new()
                        },
                        field,
                        value,
                    })
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
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
}
