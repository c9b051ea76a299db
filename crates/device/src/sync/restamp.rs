//! Adopting the stamps the server gave this device's changes.
//!
//! A tablet whose clock ran ahead (two days, or to 2099) writes changes
//! stamped in the future. The server clamps such a stamp to its own clock
//! and says so in the sync answer (`restamped`). Every other replica only
//! ever sees the new stamp, so this device must hold its own versions under
//! the new stamp too, or replicas would disagree about which value wins.
//!
//! For each restamped change, inside the caller's transaction:
//! - the outbox record takes the new stamp (column and body), and later
//!   outbox records that name the old version as a base or in `resolves`
//!   name the new one (so a resend after a server restore says the same);
//! - the version rows the change left (`field_clock`, `conflict`,
//!   `pending_base`, or the `step_event` row) take the new stamp;
//! - a field whose value this change held and that now sorts below a kept
//!   losing value gives the win to that value, as merging the new stamp
//!   would have: the highest version wins, the other is kept as a conflict.
//!
//! Applying the same restamp twice does nothing the second time: the
//! outbox record already carries the new stamp.

use std::collections::HashMap;

use doorstep_core::change::{Change, Version};
use doorstep_core::hlc::Hlc;
use doorstep_core::ids::DeviceId;
use doorstep_core::protocol::Restamp;
use doorstep_core::schema::{EntityKind, FieldValue};
use rusqlite::{Connection, OptionalExtension};

use crate::apply::{Dirty, from_sql, to_sql};
use crate::error::{Result, StoreError};

/// Applies the restamps of one answer; returns how many were new.
pub(crate) fn apply_restamps(
    conn: &Connection,
    own: DeviceId,
    restamps: &[Restamp],
    now: &str,
    dirty: &mut Dirty,
) -> Result<usize> {
    let mut sorted: Vec<&Restamp> = restamps.iter().filter(|r| r.was != r.hlc).collect();
    sorted.sort_by_key(|r| r.seq);
    let mut renamed: HashMap<Hlc, Hlc> = HashMap::new();
    let mut first_seq = None;
    for r in sorted {
        let Some(mut change) = outbox_change(conn, r.seq)? else {
            tracing::warn!(seq = r.seq, "restamp for a seq this device never wrote; ignored");
            continue;
        };
        if change.hlc == r.hlc {
            continue; // applied before (an answer repeated after a lost one)
        }
        if change.hlc != r.was {
            tracing::warn!(seq = r.seq, "restamp names a stamp this change does not carry; ignored");
            continue;
        }
        change.hlc = r.hlc;
        store_outbox_change(conn, &change)?;
        restamp_versions(conn, &change, own, r.was, now, dirty)?;
        renamed.insert(r.was, r.hlc);
        first_seq.get_or_insert(r.seq);
    }
    if let Some(first) = first_seq {
        rename_bases(conn, own, first, &renamed)?;
    }
    Ok(renamed.len())
}

fn hlc_sql(h: Hlc) -> i64 {
    i64::try_from(h.as_u64()).unwrap_or(i64::MAX)
}

fn outbox_change(conn: &Connection, seq: u64) -> Result<Option<Change>> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM outbox WHERE seq = ?1")?
        .query_row([seq], |r| r.get(0))
        .optional()?;
    body.map(|b| serde_json::from_str(&b).map_err(|e| StoreError::Stored(format!("outbox record {seq}: {e}"))))
        .transpose()
}

fn store_outbox_change(conn: &Connection, change: &Change) -> Result<()> {
    let body = serde_json::to_string(change).map_err(|e| StoreError::Stored(e.to_string()))?;
    conn.prepare_cached("UPDATE outbox SET hlc = ?2, body = ?3 WHERE seq = ?1")?
        .execute((change.seq, hlc_sql(change.hlc), body))?;
    Ok(())
}

/// Moves the version rows `change` left from `was` to its new stamp.
fn restamp_versions(
    conn: &Connection,
    change: &Change,
    own: DeviceId,
    was: Hlc,
    now: &str,
    dirty: &mut Dirty,
) -> Result<()> {
    let kind = change.entity;
    let id = change.entity_id.hyphenated().to_string();
    let (old, new, device) = (hlc_sql(was), hlc_sql(change.hlc), own.to_string());
    if kind.is_append_only() {
        let run: Option<String> = conn
            .prepare_cached(
                "UPDATE step_event SET hlc = ?3 WHERE id = ?1 AND device_id = ?4 AND hlc = ?2 RETURNING run_id",
            )?
            .query_row((&id, old, new, &device), |r| r.get(0))
            .optional()?;
        if let Some(run) = run {
            dirty.run(run);
        }
        return Ok(());
    }
    for write in &change.fields {
        let key = (kind.as_str(), &id, write.field.as_str(), old, new, &device);
        let winner = conn
            .prepare_cached(
                "UPDATE field_clock SET hlc = ?5
                 WHERE entity = ?1 AND entity_id = ?2 AND field = ?3 AND device_id = ?6 AND hlc = ?4",
            )?
            .execute(key)?;
        conn.prepare_cached(
            "UPDATE OR REPLACE conflict SET hlc = ?5
             WHERE entity = ?1 AND entity_id = ?2 AND field = ?3 AND device_id = ?6 AND hlc = ?4",
        )?
        .execute(key)?;
        conn.prepare_cached(
            "UPDATE OR REPLACE pending_base SET hlc = ?5
             WHERE entity = ?1 AND entity_id = ?2 AND field = ?3 AND device_id = ?6 AND hlc = ?4",
        )?
        .execute(key)?;
        if winner > 0 {
            let ours = Version {
                hlc: change.hlc,
                device: own,
            };
            reconsider_winner(conn, kind, &id, &write.field, ours, now, dirty)?;
        }
    }
    Ok(())
}

/// After this device's winning version of a field moved down to `ours`, a
/// kept losing value may now sort above it: that value wins and ours is
/// kept as the conflict, exactly as every replica that merged the new stamp
/// decided.
fn reconsider_winner(
    conn: &Connection,
    kind: EntityKind,
    id: &str,
    field: &str,
    ours: Version,
    now: &str,
    dirty: &mut Dirty,
) -> Result<()> {
    let Some(spec) = kind.field(field) else {
        return Ok(());
    };
    let entity = kind.as_str();
    let mut best: Option<(Version, String)> = None;
    {
        let mut stmt = conn.prepare_cached(
            "SELECT hlc, device_id, value FROM conflict WHERE entity = ?1 AND entity_id = ?2 AND field = ?3",
        )?;
        let rows = stmt.query_map((entity, id, field), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })?;
        for row in rows {
            let (hlc, device, value) = row?;
            let version = Version {
                hlc: Hlc::from_u64(u64::try_from(hlc).unwrap_or(0)),
                device: device
                    .parse()
                    .map_err(|e| StoreError::Stored(format!("conflict device id: {e}")))?,
            };
            if version > ours && best.as_ref().is_none_or(|(b, _)| version > *b) {
                best = Some((version, value));
            }
        }
    }
    let Some((winner, value_json)) = best else {
        return Ok(());
    };
    let value: FieldValue =
        serde_json::from_str(&value_json).map_err(|e| StoreError::Stored(format!("conflict value: {e}")))?;
    let table = kind.table();
    let current: FieldValue = conn
        .prepare_cached(&format!("SELECT {} FROM {table} WHERE id = ?1", spec.name))?
        .query_row([id], |r| Ok(from_sql(spec.ty, r.get_ref(0)?)))?;
    let current_json = serde_json::to_string(&current).map_err(|e| StoreError::Stored(e.to_string()))?;
    conn.prepare_cached(&format!("UPDATE {table} SET {} = ?2 WHERE id = ?1", spec.name))?
        .execute((id, to_sql(&value)))?;
    conn.prepare_cached(
        "UPDATE field_clock SET hlc = ?4, device_id = ?5 WHERE entity = ?1 AND entity_id = ?2 AND field = ?3",
    )?
    .execute((entity, id, field, hlc_sql(winner.hlc), winner.device.to_string()))?;
    conn.prepare_cached(
        "DELETE FROM conflict WHERE entity = ?1 AND entity_id = ?2 AND field = ?3 AND hlc = ?4 AND device_id = ?5",
    )?
    .execute((entity, id, field, hlc_sql(winner.hlc), winner.device.to_string()))?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO conflict (entity, entity_id, field, hlc, device_id, value, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute((
        entity,
        id,
        field,
        hlc_sql(ours.hlc),
        ours.device.to_string(),
        current_json,
        now,
    ))?;
    dirty.touched(conn, kind, id)?;
    Ok(())
}

/// Later outbox records that named a renamed version of this device (as a
/// base or in `resolves`) name its new stamp instead.
fn rename_bases(conn: &Connection, own: DeviceId, after_seq: u64, renamed: &HashMap<Hlc, Hlc>) -> Result<()> {
    let rename = |v: &mut Version| -> bool {
        match renamed.get(&v.hlc) {
            Some(new) if v.device == own => {
                v.hlc = *new;
                true
            }
            _ => false,
        }
    };
    let mut stmt = conn.prepare_cached("SELECT body FROM outbox WHERE seq > ?1 ORDER BY seq")?;
    let bodies: Vec<String> = stmt
        .query_map([after_seq], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for body in bodies {
        let mut change: Change =
            serde_json::from_str(&body).map_err(|e| StoreError::Stored(format!("outbox record: {e}")))?;
        let mut changed = false;
        for write in &mut change.fields {
            if let Some(base) = write.base.as_mut() {
                changed |= rename(base);
            }
            for r in &mut write.resolves {
                changed |= rename(r);
            }
        }
        if changed {
            store_outbox_change(conn, &change)?;
        }
    }
    Ok(())
}
