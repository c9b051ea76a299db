//! The office's own writes (campaigns, places, members, imported
//! households, a lead's pick in a conflict) as change records that go
//! through [`plan`](crate::plan) like any push.

use doorstep_core::change::{Change, ChangeOp, Version};
use doorstep_core::hlc::HlcClock;
use doorstep_core::ids::{ChangeId, DeviceId};
use doorstep_core::merge::EntityState;
use doorstep_core::schema::{EntityKind, FieldValue};
use uuid::Uuid;

use crate::Loaded;

/// One write the office makes (campaign, member, place, household import):
/// the store gives it the office's next seq, stamp and the bases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeWrite {
    /// Entity kind.
    pub kind: EntityKind,
    /// Entity id.
    pub id: Uuid,
    /// A create (every field given) or an update.
    pub create: bool,
    /// The fields to set.
    pub fields: Vec<(String, FieldValue)>,
    /// A team lead's pick in a conflict: each field's write also resolves
    /// every value that lost to its current winner, so the conflict closes
    /// on every tablet.
    pub resolves_conflicts: bool,
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
    writes: Vec<OfficeWrite>,
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
