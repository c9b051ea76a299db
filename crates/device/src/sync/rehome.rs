//! Enrolling a copied tablet again: its own changes move to the new device
//! id, so they reach the server with nothing lost.
//!
//! A copy shares its original's history up to the seq the server named
//! (`device_state.copied_seq`): everything below it is on the server under
//! the old id, exactly as here. From that seq on the changes are this
//! tablet's own. Enrolling again, in one transaction:
//!
//! * drops the shared part of the outbox (the server has it);
//! * renumbers the own part from seq 1 under the new id: change ids are
//!   derived anew, a step event's id is its change's id, and every
//!   version `(old id, stamp)` of an own change, named as a base in a later
//!   own change or kept in `field_clock`, `conflict`, `pending_base`,
//!   `step_event`, becomes `(new id, stamp)`, and the copy's visits name
//!   the new id as the tablet that recorded them;
//! * keeps the pull cursor (same commune): the original's changes, pulled
//!   from now on under the old id, merge like any other tablet's.
//!
//! **Invariant:** every own change of the copy is in the new outbox once,
//! and the tablet's records read as before.

use std::collections::{HashMap, HashSet};

use doorstep_core::change::{Change, ChangeOp};
use doorstep_core::hlc::Hlc;
use doorstep_core::ids::{ChangeId, DeviceId};
use doorstep_core::schema::{EntityKind, FieldValue};
use rusqlite::{OptionalExtension, Transaction};

use crate::error::{Result, StoreError};
use crate::store::Store;

impl Store {
    /// The seq from which the server said this store is a copy, if it did.
    pub fn copied_seq(&self) -> Result<Option<u64>> {
        Ok(self
            .conn
            .query_row("SELECT copied_seq FROM device_state WHERE id = 1", [], |r| {
                r.get::<_, Option<u64>>(0)
            })
            .optional()?
            .flatten())
    }

    /// Remembers that the server called this store a copy from `seq` on.
    pub(crate) fn record_copied(&mut self, seq: u64) -> Result<()> {
        if seq > 0 {
            self.conn
                .execute("UPDATE device_state SET copied_seq = ?1 WHERE id = 1", [seq])?;
        }
        Ok(())
    }
}

/// Moves the copy's own changes (seq `from` on) to `new`, in `tx`; returns
/// how many it moved. The caller records the new enrolment in the same
/// transaction.
pub(crate) fn rehome(tx: &Transaction<'_>, old: DeviceId, new: DeviceId, from: u64) -> Result<u64> {
    let mut own: Vec<(Change, String)> = {
        let mut stmt = tx.prepare("SELECT body, created_at FROM outbox WHERE seq >= ?1 ORDER BY seq")?;
        let rows = stmt.query_map([from], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        rows.map(|row| {
            let (body, created_at) = row?;
            let change = serde_json::from_str(&body).map_err(|e| StoreError::Stored(format!("outbox record: {e}")))?;
            Ok((change, created_at))
        })
        .collect::<Result<_>>()?
    };
    let stamps: HashSet<Hlc> = own.iter().map(|(c, _)| c.hlc).collect();
    let mut step_ids: HashMap<String, String> = HashMap::new();
    let (old_id, new_id) = (old.to_string(), new.to_string());
    tx.execute("DELETE FROM outbox", [])?;
    for (n, (change, created_at)) in own.iter_mut().enumerate() {
        let seq = n as u64 + 1;
        let was = change.id;
        change.device = new;
        change.seq = seq;
        change.id = ChangeId::derive(new, seq);
        if change.entity == EntityKind::StepEvent {
            step_ids.insert(was.to_string(), change.id.to_string());
            change.entity_id = change.id.as_uuid();
        }
        for write in &mut change.fields {
            // A visit names the tablet that recorded it: now the new id.
            if change.entity == EntityKind::Visit
                && write.field == "device_id"
                && write.value == FieldValue::Text(old_id.clone())
            {
                write.value = FieldValue::Text(new_id.clone());
            }
            for v in write.base.iter_mut().chain(write.resolves.iter_mut()) {
                if v.device == old && stamps.contains(&v.hlc) {
                    v.device = new;
                }
            }
        }
        let body = serde_json::to_string(&*change).map_err(|e| StoreError::Stored(e.to_string()))?;
        tx.execute(
            "INSERT INTO outbox (seq, change_id, entity, entity_id, hlc, body, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            (
                seq,
                change.id.to_string(),
                change.entity.as_str(),
                change.entity_id.hyphenated().to_string(),
                i64::try_from(change.hlc.as_u64()).unwrap_or(i64::MAX),
                &body,
                &*created_at,
            ),
        )?;
    }
    for (was, now) in &step_ids {
        tx.execute(
            "UPDATE step_event SET id = ?2, device_id = ?3 WHERE id = ?1",
            (was, now, &new_id),
        )?;
    }
    // The outbox now holds exactly the own changes: their stamps are the
    // versions to move, one statement per table.
    for table in ["field_clock", "conflict", "pending_base"] {
        tx.execute(
            &format!("UPDATE {table} SET device_id = ?1 WHERE device_id = ?2 AND hlc IN (SELECT hlc FROM outbox)"),
            (&new_id, &old_id),
        )?;
    }
    let visits = own
        .iter()
        .map(|(c, _)| c)
        .filter(|c| c.entity == EntityKind::Visit && c.op == ChangeOp::Create);
    for change in visits {
        tx.execute(
            "UPDATE visit SET device_id = ?1 WHERE id = ?2 AND device_id = ?3",
            (&new_id, change.entity_id.hyphenated().to_string(), &old_id),
        )?;
    }
    let moved = own.len() as u64;
    tx.execute(
        "UPDATE device_state SET next_seq = ?1, acked_seq = 0, copied_seq = NULL, pruned_seq = 0, backed_up_seq = NULL
         WHERE id = 1",
        [moved + 1],
    )?;
    Ok(moved)
}
