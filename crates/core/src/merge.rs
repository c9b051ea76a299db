//! The merge rules, shared by every replica (tablets and server alike).
//!
//! Mutable entities merge **field by field, last writer wins** by
//! [`Version`] (HLC stamp, then device id), as cr-sqlite does per column.
//! Append-only entities (step events) form a **grow-only set**: the first
//! arrival of an id is kept and nothing can change it.
//!
//! Besides the winning value, each field keeps the **losing leaves**: values
//! that lost to a concurrent write and that no write has since replaced
//! knowingly. Those are the conflicts a team lead reviews. A write replaces
//! what it names as its `base` (the value its writer saw) and anything in
//! its `resolves` list, so:
//!
//! * an edit made on top of another is an ordinary overwrite, no conflict;
//! * two edits made on the same base: the older loses and becomes a conflict;
//! * a lead's resolution lists the losers in `resolves` and clears them.
//!
//! Given the same set of changes, every replica ends with the same winner and
//! the same conflicts, whatever the order of arrival, as long as each change
//! is applied once (stores deduplicate by change id). `pending_bases` is
//! bookkeeping for writes whose base has not arrived yet; it is not part of
//! the state replicas compare.

use std::collections::{BTreeMap, BTreeSet};

use crate::change::{Change, ChangeOp, FieldWrite, Version};
use crate::schema::{EntityKind, FieldValue};

/// A value with the version that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamped {
    /// The value.
    pub value: FieldValue,
    /// Who wrote it, when.
    pub version: Version,
}

/// Everything a replica knows about one field of one entity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldState {
    /// The value shown, if any write has arrived.
    pub winner: Option<Stamped>,
    /// Values that lost to concurrent writes: open conflicts.
    pub losers: BTreeMap<Version, FieldValue>,
    /// Versions named as a base by a write that arrived before them.
    pub pending_bases: BTreeSet<Version>,
}

/// What merging one field write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOutcome {
    /// The write is the new winner.
    Won,
    /// The write lost to a newer value.
    Lost,
    /// This exact version was already here.
    Duplicate,
}

impl FieldState {
    /// Merges one write into this field. Pure; see the module docs.
    pub fn merge(
        &mut self,
        value: &FieldValue,
        version: Version,
        base: Option<Version>,
        resolves: &[Version],
    ) -> FieldOutcome {
        if self.winner.as_ref().is_some_and(|w| w.version == version) || self.losers.contains_key(&version) {
            return FieldOutcome::Duplicate;
        }
        let mut seen_winner = false;
        for replaced in base.iter().chain(resolves) {
            if self.winner.as_ref().is_some_and(|w| w.version == *replaced) {
                seen_winner = true;
            } else if self.losers.remove(replaced).is_none() {
                self.pending_bases.insert(*replaced);
            }
        }
        let already_replaced = self.pending_bases.remove(&version);
        let wins = self.winner.as_ref().is_none_or(|w| version > w.version);
        if wins {
            let new = Stamped {
                value: value.clone(),
                version,
            };
            if let Some(old) = self.winner.replace(new)
                && !seen_winner
            {
                self.losers.insert(old.version, old.value);
            }
            FieldOutcome::Won
        } else {
            if !already_replaced {
                self.losers.insert(version, value.clone());
            }
            FieldOutcome::Lost
        }
    }

    /// The same state without the bookkeeping that may differ between
    /// replicas (for comparing replicas).
    pub fn observable(&self) -> (Option<&Stamped>, &BTreeMap<Version, FieldValue>) {
        (self.winner.as_ref(), &self.losers)
    }
}

/// What a replica knows about one entity, field by field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntityState {
    /// Whether a create for it has arrived.
    pub exists: bool,
    /// Fields by name.
    pub fields: BTreeMap<String, FieldState>,
}

/// What merging one change did to an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeEffect {
    /// Merged: these fields took new values, these lost (now conflicts).
    Merged {
        /// Fields whose shown value changed.
        won: Vec<String>,
        /// Fields where this change's value lost and was kept as a conflict
        /// or was already replaced.
        lost: Vec<String>,
    },
    /// An append-only entity that is already here: grow-only, nothing to do.
    AlreadyPresent,
    /// An update to an entity this replica has not seen created yet; keep the
    /// change and try again once the create arrives.
    AwaitsCreate,
}

impl EntityState {
    /// Merges one change (already validated) into this entity.
    pub fn merge(&mut self, change: &Change) -> ChangeEffect {
        if change.entity.is_append_only() && self.exists {
            return ChangeEffect::AlreadyPresent;
        }
        if change.op == ChangeOp::Update && !self.exists {
            return ChangeEffect::AwaitsCreate;
        }
        if change.op == ChangeOp::Create {
            self.exists = true;
        }
        let version = change.version();
        let (mut won, mut lost) = (Vec::new(), Vec::new());
        for FieldWrite {
            field,
            value,
            base,
            resolves,
        } in &change.fields
        {
            let state = self.fields.entry(field.clone()).or_default();
            match state.merge(value, version, *base, resolves) {
                FieldOutcome::Won => won.push(field.clone()),
                FieldOutcome::Lost => lost.push(field.clone()),
                FieldOutcome::Duplicate => {}
            }
        }
        ChangeEffect::Merged { won, lost }
    }

    /// The shown value of a field.
    pub fn value(&self, field: &str) -> Option<&FieldValue> {
        self.fields.get(field).and_then(|f| f.winner.as_ref()).map(|s| &s.value)
    }
}

/// Which entity a change is about.
pub type EntityKey = (EntityKind, uuid::Uuid);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hlc::Hlc;
    use crate::ids::DeviceId;

    fn v(ms: u64, dev: u8) -> Version {
        Version {
            hlc: Hlc::new(ms, 0),
            device: DeviceId::from_parts(0, [dev; 10]),
        }
    }

    fn text(s: &str) -> FieldValue {
        FieldValue::from(s)
    }

    #[test]
    fn an_edit_on_top_of_another_is_no_conflict() {
        let mut f = FieldState::default();
        f.merge(&text("a"), v(1, 1), None, &[]);
        assert_eq!(f.merge(&text("b"), v(2, 2), Some(v(1, 1)), &[]), FieldOutcome::Won);
        assert!(f.losers.is_empty());
        assert_eq!(f.winner.as_ref().map(|w| &w.value), Some(&text("b")));
    }

    #[test]
    fn two_edits_on_one_base_conflict_whatever_the_order() {
        let writes = [(text("b"), v(2, 1)), (text("c"), v(3, 2))];
        for order in [[0, 1], [1, 0]] {
            let mut f = FieldState::default();
            f.merge(&text("a"), v(1, 1), None, &[]);
            for i in order {
                f.merge(&writes[i].0, writes[i].1, Some(v(1, 1)), &[]);
            }
            assert_eq!(f.winner.as_ref().map(|w| &w.value), Some(&text("c")));
            assert_eq!(f.losers.into_iter().collect::<Vec<_>>(), vec![(v(2, 1), text("b"))]);
        }
    }

    #[test]
    fn equal_stamps_are_broken_by_device_id() {
        let mut f = FieldState::default();
        f.merge(&text("from 9"), v(5, 9), None, &[]);
        f.merge(&text("from 1"), v(5, 1), None, &[]);
        assert_eq!(f.winner.as_ref().map(|w| &w.value), Some(&text("from 9")));
    }

    #[test]
    fn a_resolution_clears_the_losers() {
        let mut f = FieldState::default();
        f.merge(&text("a"), v(1, 1), None, &[]);
        f.merge(&text("b"), v(2, 1), Some(v(1, 1)), &[]);
        f.merge(&text("c"), v(3, 2), Some(v(1, 1)), &[]);
        assert_eq!(f.losers.len(), 1);
        f.merge(&text("b"), v(4, 3), Some(v(3, 2)), &[v(2, 1)]);
        assert!(f.losers.is_empty());
        assert_eq!(f.winner.as_ref().map(|w| &w.value), Some(&text("b")));
    }

    #[test]
    fn a_write_that_arrives_after_its_successor_is_no_conflict() {
        let mut f = FieldState::default();
        f.merge(&text("b"), v(2, 2), Some(v(1, 1)), &[]);
        assert_eq!(f.merge(&text("a"), v(1, 1), None, &[]), FieldOutcome::Lost);
        assert!(f.losers.is_empty() && f.pending_bases.is_empty());
    }

    #[test]
    fn append_only_entities_keep_the_first_arrival() {
        use crate::change::ChangeOp;
        use crate::ids::ChangeId;
        let change = Change {
            id: ChangeId::new(),
            device: DeviceId::new(),
            seq: 1,
            hlc: Hlc::new(1, 0),
            entity: EntityKind::StepEvent,
            entity_id: uuid::Uuid::now_v7(),
            op: ChangeOp::Create,
            fields: vec![FieldWrite {
                field: "note".into(),
                value: text("x"),
                base: None,
                resolves: vec![],
            }],
        };
        let mut e = EntityState::default();
        assert!(matches!(e.merge(&change), ChangeEffect::Merged { .. }));
        assert_eq!(e.merge(&change), ChangeEffect::AlreadyPresent);
    }

    #[test]
    fn updates_before_the_create_wait() {
        use crate::change::ChangeOp;
        use crate::ids::ChangeId;
        let change = Change {
            id: ChangeId::new(),
            device: DeviceId::new(),
            seq: 2,
            hlc: Hlc::new(2, 0),
            entity: EntityKind::Household,
            entity_id: uuid::Uuid::now_v7(),
            op: ChangeOp::Update,
            fields: vec![FieldWrite {
                field: "notes".into(),
                value: text("x"),
                base: None,
                resolves: vec![],
            }],
        };
        assert_eq!(EntityState::default().merge(&change), ChangeEffect::AwaitsCreate);
    }
}
