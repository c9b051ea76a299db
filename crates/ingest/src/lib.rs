//! `doorstep-ingest`: the server's rules, as pure functions over what a
//! store loaded - what a push does, what an office write becomes
//! ([`office_changes`]), epochs and pull cursors ([`epoch`]), how an
//! entity's state is kept ([`entity_state`]), which pack versions may be
//! handed out ([`pack_catalog`]). No database, no network, no clock: the
//! only I/O is reading a pack folder given at start-up.
//!
//! Deciding what a push does:
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

use doorstep_core::change::Change;
use doorstep_core::hlc::{Hlc, HlcClock};
use doorstep_core::ids::DeviceId;
use doorstep_core::merge::EntityState;
use doorstep_core::protocol::{Rejected, Restamp};
use doorstep_core::schema::EntityKind;
use uuid::Uuid;

pub mod entity_state;
pub mod epoch;
mod office;
pub mod pack_catalog;
mod plan;
pub mod relay;
#[cfg(test)]
mod tests;

pub use office::{OfficeDraft, OfficeStamped, OfficeWrite, current_version, office_changes};
pub use plan::{needs, plan};

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
