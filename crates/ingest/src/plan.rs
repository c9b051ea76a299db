//! [`needs`] and [`plan`]: what a batch must load, and what it does.

use doorstep_core::change::{Change, ChangeOp};
use doorstep_core::hlc::HlcClock;
use doorstep_core::ids::ChangeId;
use doorstep_core::merge::{ChangeEffect, EntityState};
use doorstep_core::protocol::{Rejected, Restamp};
use doorstep_core::schema::{EntityKind, FieldValue};
use uuid::Uuid;

use crate::{
    Accepted, CAMPAIGN_WIDE, Known, Loaded, MAX_AHEAD_MS, Needs, Plan, Pusher, Refusal, copied_message, is_resend,
};

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
