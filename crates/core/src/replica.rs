//! An in-memory replica: the merge rules applied to a map of entities.
//!
//! This is the reference the SQLite stores are checked against, and a model
//! small enough to property-test with thousands of delivery orders.

use std::collections::{BTreeMap, BTreeSet};

use crate::change::{Change, Version};
use crate::ids::ChangeId;
use crate::merge::{ChangeEffect, EntityKey, EntityState};
use crate::schema::FieldValue;

/// The observable state of one field: winner and open conflicts.
pub type FieldSnapshot = (Option<(FieldValue, Version)>, Vec<(Version, FieldValue)>);

/// Entities and their fields, in a deterministic order, for comparing replicas.
pub type Snapshot = BTreeMap<EntityKey, (bool, BTreeMap<String, FieldSnapshot>)>;

/// A replica held in memory.
#[derive(Debug, Default, Clone)]
pub struct Replica {
    entities: BTreeMap<EntityKey, EntityState>,
    applied: BTreeSet<ChangeId>,
    waiting: BTreeMap<ChangeId, Change>,
}

impl Replica {
    /// An empty replica.
    pub fn new() -> Replica {
        Replica::default()
    }

    /// Merges a change; duplicates (by change id) are ignored, updates whose
    /// create has not arrived wait for it.
    pub fn apply(&mut self, change: &Change) {
        if self.applied.contains(&change.id) || self.waiting.contains_key(&change.id) {
            return;
        }
        let key = (change.entity, change.entity_id);
        let state = self.entities.entry(key).or_default();
        if state.merge(change) == ChangeEffect::AwaitsCreate {
            self.waiting.insert(change.id, change.clone());
            return;
        }
        self.applied.insert(change.id);
        let ready: Vec<ChangeId> = self
            .waiting
            .values()
            .filter(|c| (c.entity, c.entity_id) == key)
            .map(|c| c.id)
            .collect();
        for id in ready {
            if let Some(c) = self.waiting.remove(&id) {
                self.apply(&c);
            }
        }
    }

    /// One entity's state.
    pub fn entity(&self, key: &EntityKey) -> Option<&EntityState> {
        self.entities.get(key)
    }

    /// Changes waiting for their entity's create.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// What two converged replicas must agree on.
    pub fn snapshot(&self) -> Snapshot {
        self.entities
            .iter()
            .filter(|(_, e)| e.exists)
            .map(|(key, e)| {
                let fields = e
                    .fields
                    .iter()
                    .map(|(name, f)| {
                        let winner = f.winner.as_ref().map(|w| (w.value.clone(), w.version));
                        let losers = f.losers.iter().map(|(v, val)| (*v, val.clone())).collect();
                        (name.clone(), (winner, losers))
                    })
                    .collect();
                (*key, (e.exists, fields))
            })
            .collect()
    }
}
