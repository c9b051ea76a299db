//! Ids of every entity: UUIDv7, made on the device that creates the row.
//!
//! UUIDv7 sorts by creation time and needs no server round trip, so a tablet
//! with no signal can create households all day. Each entity gets its own
//! newtype so a `PersonId` can never be passed where a `HouseholdId` is meant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A text that should have been an id and is not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} is not a valid id (expected a UUID such as 01936f3e-5a2b-7c4d-8e9f-0a1b2c3d4e5f)")]
pub struct BadId {
    /// Which kind of id was expected.
    pub what: &'static str,
    /// The offending text, as given.
    pub value: String,
}

macro_rules! entity_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new id stamped with the current time (UUIDv7).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// An id built from a given time and random bytes, for callers
            /// that must be deterministic (the demo campaign, tests).
            pub fn from_parts(unix_ms: u64, random: [u8; 10]) -> Self {
                Self(uuid::Builder::from_unix_timestamp_millis(unix_ms, &random).into_uuid())
            }

            /// Wraps a UUID that is already known to name this kind of entity.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// What this id names, for messages.
            pub const WHAT: &'static str = $what;
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = BadId;
            fn from_str(s: &str) -> Result<Self, BadId> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| BadId { what: $what, value: s.to_owned() })
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

entity_id!(
    /// A commune (xã), the unit a device is scoped to.
    CommuneId, "commune id"
);
entity_id!(
    /// A village (bản / thôn) inside a commune.
    VillageId, "village id"
);
entity_id!(
    /// A campaign: a drive over some communes with some checklist packs.
    CampaignId, "campaign id"
);
entity_id!(
    /// A campaign member: volunteer, team lead or admin.
    MemberId, "member id"
);
entity_id!(
    /// A household on the register.
    HouseholdId, "household id"
);
entity_id!(
    /// A person living in a household.
    PersonId, "person id"
);
entity_id!(
    /// One visit of a volunteer to a household.
    VisitId, "visit id"
);
entity_id!(
    /// One person working through one checklist pack.
    ChecklistRunId, "checklist run id"
);
entity_id!(
    /// One step outcome inside a checklist run.
    StepEventId, "step event id"
);
entity_id!(
    /// An enrolled tablet (or the CLI acting as one).
    DeviceId, "device id"
);
entity_id!(
    /// One change record in an outbox.
    ChangeId, "change id"
);

/// The namespace of change ids derived from `(device, seq)` (UUIDv5).
const CHANGE_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6d0f_4b2e_9c1a_4e57_8a3d_2f61_c0de_5eed);

impl ChangeId {
    /// The id of the change a device writes at outbox position `seq`.
    ///
    /// `(device, seq)` already names a change uniquely, so the id is derived
    /// from it (UUIDv5) instead of drawn at random: a sync batch can leave it
    /// out and the receiver recomputes it, which saves about a fifth of the
    /// bytes a change costs on a 2G link. Changes whose id was made any other
    /// way still travel with their id.
    pub fn derive(device: DeviceId, seq: u64) -> ChangeId {
        let mut name = [0u8; 24];
        name[..16].copy_from_slice(device.as_uuid().as_bytes());
        name[16..].copy_from_slice(&seq.to_be_bytes());
        ChangeId(Uuid::new_v5(&CHANGE_ID_NAMESPACE, &name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text() {
        let id = HouseholdId::new();
        let back: HouseholdId = id.to_string().parse().expect("own output parses");
        assert_eq!(id, back);
        assert_eq!(id.as_uuid().get_version_num(), 7);
    }

    #[test]
    fn deterministic_ids_are_repeatable_and_time_ordered() {
        let a = VisitId::from_parts(1_000, [1; 10]);
        let b = VisitId::from_parts(1_000, [1; 10]);
        let later = VisitId::from_parts(2_000, [0; 10]);
        assert_eq!(a, b);
        assert!(later > a, "UUIDv7 sorts by time");
    }

    #[test]
    fn change_ids_are_derived_from_device_and_seq() {
        let (a, b) = (DeviceId::from_parts(1, [1; 10]), DeviceId::from_parts(1, [2; 10]));
        assert_eq!(
            ChangeId::derive(a, 7),
            ChangeId::derive(a, 7),
            "the receiver recomputes it"
        );
        assert_ne!(ChangeId::derive(a, 7), ChangeId::derive(a, 8));
        assert_ne!(ChangeId::derive(a, 7), ChangeId::derive(b, 7));
        assert_eq!(ChangeId::derive(a, 7).as_uuid().get_version_num(), 5);
    }

    #[test]
    fn a_bad_id_names_the_value_and_the_kind() {
        let err = "12-34".parse::<PersonId>().expect_err("not a uuid");
        let msg = err.to_string();
        assert!(msg.contains("person id") && msg.contains("\"12-34\""), "{msg}");
    }
}
