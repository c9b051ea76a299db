//! The one write path: every local change goes through a [`Writer`], which
//! merges it into the tables and appends it to the outbox in the same
//! transaction, with the next gap-free `seq` and a fresh HLC stamp.
//!
//! There is no other way to change domain data on a device, so "every row
//! has its outbox record and every outbox record its row" holds by
//! construction (and the crash test checks it after SIGKILLs).

use chrono::{DateTime, Utc};
use doorstep_core::change::{Change, ChangeOp, FieldWrite};
use doorstep_core::entities::{Entity, Fields, Patch};
use doorstep_core::hlc::{HlcClock, wall_millis};
use doorstep_core::ids::{ChangeId, DeviceId};
use doorstep_core::schema::{EntityKind, FieldType, FieldValue, format_timestamp};
use rusqlite::{Transaction, TransactionBehavior};
use uuid::Uuid;

use crate::apply::{Applied, Dirty, VersionTable, exists, field_versions, merge_change};
use crate::error::{Result, StoreError};
use crate::packs::PackCache;
use crate::store::Store;

/// Writes inside one transaction. Obtained from [`Store::write`].
pub struct Writer<'s> {
    pub(crate) tx: Transaction<'s>,
    pub(crate) packs: &'s PackCache,
    device: DeviceId,
    clock: HlcClock,
    next_seq: u64,
    now: DateTime<Utc>,
    written: usize,
    dirty: Dirty,
}

impl std::fmt::Debug for Writer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("device", &self.device)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Runs `f` in one transaction: all its writes land together or none do.
    pub fn write<T>(&mut self, f: impl FnOnce(&mut Writer<'_>) -> Result<T>) -> Result<T> {
        let now = self.now();
        let device = self.device_id();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (hlc_last, next_seq): (i64, i64) =
            tx.query_row("SELECT hlc_last, next_seq FROM device_state WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let mut writer = Writer {
            tx,
            packs: &self.packs,
            device,
            clock: HlcClock::resume(doorstep_core::hlc::Hlc::from_u64(u64::try_from(hlc_last).unwrap_or(0))),
            next_seq: u64::try_from(next_seq).unwrap_or(1),
            now,
            written: 0,
            dirty: Dirty::default(),
        };
        let out = f(&mut writer)?;
        writer.finish()?;
        Ok(out)
    }

    /// Records one new entity (its own transaction).
    pub fn insert<E: Entity>(&mut self, entity: &E) -> Result<Change> {
        self.write(|w| w.create(entity))
    }

    /// Changes some fields of one entity (its own transaction).
    pub fn update<E: Entity>(&mut self, id: Uuid, patch: Patch<E>) -> Result<Change> {
        self.write(|w| w.update(id, patch))
    }
}

impl Writer<'_> {
    /// The id the next change written here will carry. An append-only
    /// entity (a step event) takes it as its own id, so a sync batch can
    /// leave the entity id out: it is the change id.
    pub fn next_change_id(&self) -> Uuid {
        ChangeId::derive(self.device, self.next_seq).as_uuid()
    }

    /// The time this transaction started, by the device's wall clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The writing device.
    pub fn device_id(&self) -> DeviceId {
        self.device
    }

    /// How many changes this writer has recorded so far.
    pub fn written(&self) -> usize {
        self.written
    }

    /// Records a new entity.
    pub fn create<E: Entity>(&mut self, entity: &E) -> Result<Change> {
        if exists(&self.tx, E::KIND, &entity.entity_id().hyphenated().to_string())? {
            return Err(StoreError::Rule(format!(
                "{} {} already exists",
                E::KIND,
                entity.entity_id()
            )));
        }
        self.record(E::KIND, entity.entity_id(), ChangeOp::Create, entity.fields())
    }

    /// Records new values for some fields of an existing entity.
    pub fn update<E: Entity>(&mut self, id: Uuid, patch: Patch<E>) -> Result<Change> {
        if patch.is_empty() {
            return Err(StoreError::Rule(format!("nothing to change on {} {id}", E::KIND)));
        }
        if !exists(&self.tx, E::KIND, &id.hyphenated().to_string())? {
            return Err(StoreError::NotFound {
                kind: E::KIND,
                id: id.to_string(),
            });
        }
        self.record(E::KIND, id, ChangeOp::Update, patch.into_fields())
    }

    fn record(&mut self, kind: EntityKind, id: Uuid, op: ChangeOp, fields: Fields) -> Result<Change> {
        self.check_soft_references(kind, &fields)?;
        let hlc = self.clock.tick(wall_millis(self.now));
        let id_text = id.hyphenated().to_string();
        let bases = self.current_versions(kind, &id_text)?;
        let writes = fields
            .into_iter()
            .map(|(field, value)| FieldWrite {
                field: field.to_owned(),
                base: bases.iter().find(|(f, _)| f == field).map(|(_, v)| *v),
                value,
                resolves: Vec::new(),
            })
            .collect();
        let change = Change {
            id: ChangeId::derive(self.device, self.next_seq),
            device: self.device,
            seq: self.next_seq,
            hlc,
            entity: kind,
            entity_id: id,
            op,
            fields: writes,
        };
        change.validate()?;
        match merge_change(&self.tx, &change, &format_timestamp(self.now), &mut self.dirty)? {
            Applied::Merged { .. } => {}
            Applied::AlreadyPresent => {
                return Err(StoreError::Rule(format!("{kind} {id} already exists")));
            }
            Applied::Waiting { kind, id } => return Err(StoreError::NotFound { kind, id }),
        }
        let body = serde_json::to_string(&change).map_err(|e| StoreError::Stored(e.to_string()))?;
        self.tx
            .prepare_cached(
                "INSERT INTO outbox (seq, change_id, entity, entity_id, hlc, body, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute((
                self.next_seq,
                change.id.to_string(),
                kind.as_str(),
                &id_text,
                i64::try_from(hlc.as_u64()).unwrap_or(i64::MAX),
                body,
                format_timestamp(self.now),
            ))?;
        self.next_seq += 1;
        self.written += 1;
        Ok(change)
    }

    /// Versions of the shown values, to name as each write's base.
    fn current_versions(&self, kind: EntityKind, id: &str) -> Result<Vec<(String, doorstep_core::change::Version)>> {
        if kind.is_append_only() {
            return Ok(Vec::new());
        }
        field_versions(&self.tx, VersionTable::FieldClock, kind, id)
    }

    /// Optional references are not enforced by SQL (they may point outside
    /// the commune when pulled), but a local write must name something real.
    fn check_soft_references(&self, kind: EntityKind, fields: &Fields) -> Result<()> {
        for (name, value) in fields {
            let Some(spec) = kind.field(name) else {
                continue;
            };
            if let (FieldType::Ref(target), false, FieldValue::Text(id)) = (spec.ty, spec.required, value)
                && !exists(&self.tx, target, id)?
            {
                return Err(StoreError::NotFound {
                    kind: target,
                    id: id.clone(),
                });
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.dirty.flush(&self.tx, self.packs)?;
        self.tx.execute(
            "UPDATE device_state SET hlc_last = ?1, next_seq = ?2 WHERE id = 1",
            (
                i64::try_from(self.clock.last().as_u64()).unwrap_or(i64::MAX),
                self.next_seq,
            ),
        )?;
        self.tx.commit()?;
        Ok(())
    }
}
