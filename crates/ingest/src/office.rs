//! The office's own writes (campaigns, places, members, imported
//! households, a lead's pick in a conflict) as change records that go
//! through [`plan`](crate::plan) like any push.
//!
//! Every store runs an office write the same way, in one transaction:
//! [`OfficeDraft::preload`] names the entities written (for the versions
//! they replace), [`OfficeDraft::stamp`] makes the change records and
//! names what planning them needs, [`OfficeStamped::plan`] decides. The
//! store only runs the two loads and writes the plan.

use doorstep_core::change::{Change, ChangeOp, Version};
use doorstep_core::hlc::HlcClock;
use doorstep_core::ids::{ChangeId, DeviceId};
use doorstep_core::merge::EntityState;
use doorstep_core::schema::{EntityKind, FieldValue};
use uuid::Uuid;

use crate::{Loaded, Needs, Plan, Pusher};

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

/// Office writes before they are stamped: who writes, and what.
#[derive(Debug)]
pub struct OfficeDraft {
    /// The office device, as a pusher of its own changes.
    pub pusher: Pusher,
    writes: Vec<OfficeWrite>,
}

impl OfficeDraft {
    /// The office device `office` (whose log ends at `last_applied`)
    /// writing `writes`.
    pub fn new(office: DeviceId, last_applied: u64, writes: Vec<OfficeWrite>) -> OfficeDraft {
        OfficeDraft {
            pusher: Pusher {
                device: office,
                scope: None,
                last_applied,
            },
            writes,
        }
    }

    /// What the store loads first: every entity written, once.
    pub fn preload(&self) -> Needs {
        let mut entities: Vec<Uuid> = self.writes.iter().map(|w| w.id).collect();
        entities.sort_unstable();
        entities.dedup();
        Needs {
            entities,
            own_bases: Vec::new(),
            logged_seqs: Vec::new(),
        }
    }

    /// The change records, based on the versions in `preload`.
    pub fn stamp(self, preload: &Loaded, clock: &mut HlcClock, wall_ms: u64) -> OfficeStamped {
        let next_seq = self.pusher.last_applied + 1;
        let changes = office_changes(self.pusher.device, next_seq, self.writes, preload, clock, wall_ms);
        let needs = crate::needs(&self.pusher, &changes);
        OfficeStamped {
            pusher: self.pusher,
            changes,
            needs,
        }
    }
}

/// Office writes as change records, waiting for what [`Self::needs`]
/// names to be loaded.
#[derive(Debug)]
pub struct OfficeStamped {
    /// The office device.
    pub pusher: Pusher,
    /// What the store loads before [`Self::plan`].
    pub needs: Needs,
    changes: Vec<Change>,
}

impl OfficeStamped {
    /// The plan to write; or, when any write breaks a rule, every reason
    /// (nothing of them is written: the office fixes its input and tries
    /// again).
    pub fn plan(self, loaded: Loaded, clock: &mut HlcClock, wall_ms: u64) -> Result<Plan, String> {
        let plan = crate::plan(&self.pusher, self.changes, loaded, clock, wall_ms).map_err(|r| r.to_string())?;
        if plan.rejected.is_empty() {
            Ok(plan)
        } else {
            let reasons: Vec<&str> = plan.rejected.iter().map(|r| r.reason.as_str()).collect();
            Err(reasons.join("; "))
        }
    }
}
