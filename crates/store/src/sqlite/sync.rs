//! Pushes, pulls and office writes: what a batch needs loaded, its plan
//! written to the change log and the entity table, the server's clock, and
//! each device's position in the log.

use chrono::{DateTime, Utc};
use doorstep_core::change::Change;
use doorstep_core::hlc::{Hlc, HlcClock, wall_millis};
use doorstep_core::ids::DeviceId;
use doorstep_core::protocol::{Rejected, Restamp};
use doorstep_core::schema::{EntityKind, format_timestamp};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params_from_iter};
use uuid::Uuid;

use super::{CHUNK, damaged, i64_of, quarantine, relay, report, rewind, text_id, u64_of};
use crate::{OfficeError, Page, Pushed, StoreError, Via};
use doorstep_ingest::entity_state;
use doorstep_ingest::{self as ingest, Known, Loaded, Plan, Pusher, Refusal};
use doorstep_ingest::{OfficeDraft, OfficeWrite};

/// A device's push (`Store::push`, or `Store::push_carried` when `via` is
/// a carrier), in one immediate transaction.
pub(super) fn push(
    conn: &mut Connection,
    device: DeviceId,
    via: Via,
    changes: Vec<Change>,
    now: DateTime<Utc>,
) -> Result<Result<Pushed, Refusal>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(row) = device_row(&tx, device)? else {
        return Ok(Err(Refusal::Forbidden(format!("device {device} is not enrolled"))));
    };
    let pusher = Pusher {
        device,
        scope: row.commune.clone(),
        last_applied: row.last_applied,
    };
    let now_text = format_timestamp(now);
    let pull_only = changes.is_empty();
    let accepted = if pull_only {
        0
    } else {
        let needs = ingest::needs(&pusher, &changes);
        let loaded = load(&tx, &pusher, &needs, row.restamps > 0)?;
        let mut clock = clock(&tx)?;
        let plan = match ingest::plan(&pusher, changes, loaded, &mut clock, wall_millis(now)) {
            Ok(plan) => plan,
            Err(refusal) => {
                if let Refusal::Copied { changes, .. } = &refusal {
                    quarantine::keep(&tx, device, changes, &now_text)?;
                    tx.commit()?;
                }
                return Ok(Err(refusal));
            }
        };
        write_plan(&tx, device, &plan, &now_text, via.seen_at(&now_text))?;
        save_clock(&tx, &clock)?;
        if let Via::Carried { carrier } = via {
            relay::count(&tx, carrier, device, crate::DELIVERED, &now_text)?;
        }
        plan.accepted.len()
    };
    let (last_applied, restamps): (i64, i64) = tx.query_row(
        "SELECT last_applied_seq, restamps FROM device WHERE id = ?1",
        [device.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (rejected, restamped) = match via {
        Via::Own { acked_seq } => outcomes_since(&tx, device, acked_seq, restamps > 0)?,
        Via::Carried { .. } => (Vec::new(), Vec::new()),
    };
    tx.commit()?;
    if pull_only && let Some(seen) = via.seen_at(&now_text) {
        touch_last_seen(conn, device, seen)?;
    }
    Ok(Ok(Pushed {
        last_applied_seq: u64_of(last_applied),
        rejected,
        restamped,
        accepted,
    }))
}

/// A page of the log for a device (`Store::pull`).
pub(super) fn pull_page(
    conn: &mut Connection,
    scope: &str,
    device: DeviceId,
    after: u64,
    limit: usize,
    max_bytes: usize,
) -> Result<Page, StoreError> {
    let tx = conn.transaction()?;
    let high: i64 = tx.query_row("SELECT coalesce(max(server_seq), 0) FROM change_log", [], |r| r.get(0))?;
    // A cursor beyond the log's end comes from before a restore from
    // backup: start again (the device drops what it already has).
    let after = if after > u64_of(high) { 0 } else { after };
    let dev = device.to_string();
    // Two index range scans (the commune, then campaign-wide records),
    // merged here: cost follows the page, not the history.
    let mut rows: Vec<(i64, String)> = Vec::new();
    let mut full = false;
    for s in [scope, ingest::CAMPAIGN_WIDE] {
        let mut stmt = tx.prepare_cached(
            "SELECT server_seq, body FROM change_log
             WHERE scope = ?1 AND server_seq > ?2 AND device_id != ?3
             ORDER BY server_seq LIMIT ?4",
        )?;
        let got = stmt
            .query_map((s, i64_of(after), &dev, i64_of(limit as u64 + 1)), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<Vec<(i64, String)>>>()?;
        full |= got.len() > limit;
        rows.extend(got);
    }
    tx.commit()?;
    crate::page_of(rows, after, u64_of(high), full, limit, max_bytes)
}

/// The office's own changes (`Store::office_write`), as one plan.
pub(super) fn office_write(
    conn: &mut Connection,
    writes: Vec<OfficeWrite>,
    now: DateTime<Utc>,
) -> Result<Vec<Change>, OfficeError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::from)?;
    let office = rewind::office_id(&tx)?;
    let row = device_row(&tx, office)?.ok_or_else(|| damaged("device", "the office device is missing"))?;
    let draft = OfficeDraft::new(office, row.last_applied, writes);
    let preload = load(&tx, &draft.pusher, &draft.preload(), false)?;
    let mut clock = clock(&tx).map_err(StoreError::from)?;
    let wall = wall_millis(now);
    let stamped = draft.stamp(&preload, &mut clock, wall);
    let loaded = load(&tx, &stamped.pusher, &stamped.needs, false)?;
    let plan = stamped.plan(loaded, &mut clock, wall).map_err(OfficeError::Invalid)?;
    let now = format_timestamp(now);
    write_plan(&tx, office, &plan, &now, Some(&now))?;
    save_clock(&tx, &clock).map_err(StoreError::from)?;
    tx.commit().map_err(StoreError::from)?;
    Ok(plan.accepted.into_iter().map(|a| a.change).collect())
}

fn clock(tx: &Transaction<'_>) -> rusqlite::Result<HlcClock> {
    let last: Option<String> = tx
        .query_row("SELECT value FROM server_meta WHERE key = 'hlc_last'", [], |r| r.get(0))
        .optional()?;
    let last = last.and_then(|t| t.parse::<Hlc>().ok()).unwrap_or(Hlc::ZERO);
    Ok(HlcClock::resume(last))
}

fn save_clock(tx: &Transaction<'_>, clock: &HlcClock) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO server_meta (key, value) VALUES ('hlc_last', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [clock.last().to_string()],
    )?;
    Ok(())
}

/// Loads the entities and restamps a batch needs.
fn load(
    tx: &Transaction<'_>,
    pusher: &Pusher,
    needs: &ingest::Needs,
    has_restamps: bool,
) -> Result<Loaded, StoreError> {
    let mut loaded = Loaded::default();
    for chunk in needs.entities.chunks(CHUNK) {
        let marks = vec!["?"; chunk.len()].join(",");
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT id, kind, scope, state FROM entity WHERE id IN ({marks})"
        ))?;
        let ids = chunk.iter().map(|id| text_id(*id));
        let mut rows = stmt.query(params_from_iter(ids))?;
        while let Some(row) = rows.next()? {
            let (id, known) = known_row(row)?;
            loaded.entities.insert(id, known);
        }
    }
    if has_restamps {
        for chunk in needs.own_bases.chunks(CHUNK) {
            let marks = vec!["?"; chunk.len()].join(",");
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT was, hlc FROM restamp WHERE device_id = ?1 AND was IN ({marks})"
            ))?;
            // Stamps are compared as integers: bind them as such.
            let mut values = vec![rusqlite::types::Value::Text(pusher.device.to_string())];
            values.extend(
                chunk
                    .iter()
                    .map(|h| rusqlite::types::Value::Integer(i64_of(h.as_u64()))),
            );
            let mut rows = stmt.query(params_from_iter(values))?;
            while let Some(row) = rows.next()? {
                let was: i64 = row.get(0)?;
                let hlc: i64 = row.get(1)?;
                loaded
                    .restamps
                    .insert(Hlc::from_u64(u64_of(was)), Hlc::from_u64(u64_of(hlc)));
            }
        }
    }
    for chunk in needs.logged_seqs.chunks(CHUNK) {
        let marks = vec!["?"; chunk.len()].join(",");
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT seq, body FROM change_log WHERE device_id = ?1 AND seq IN ({marks})"
        ))?;
        let mut values = vec![rusqlite::types::Value::Text(pusher.device.to_string())];
        values.extend(chunk.iter().map(|s| rusqlite::types::Value::Integer(i64_of(*s))));
        let mut rows = stmt.query(params_from_iter(values))?;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let body: String = row.get(1)?;
            let change: Change =
                serde_json::from_str(&body).map_err(|e| damaged(&format!("change_log body of seq {seq}"), e))?;
            loaded.logged.insert(u64_of(seq), change);
        }
    }
    Ok(loaded)
}

pub(super) fn known_row(row: &rusqlite::Row<'_>) -> Result<(Uuid, Known), StoreError> {
    let id: String = row.get(0)?;
    let kind: String = row.get(1)?;
    let scope: String = row.get(2)?;
    let state: String = row.get(3)?;
    let id = Uuid::parse_str(&id).map_err(|e| damaged("entity.id", e))?;
    let kind = kind.parse::<EntityKind>().map_err(|e| damaged("entity.kind", e))?;
    let state = entity_state::from_json(&state).map_err(|e| damaged(&format!("entity {id}"), e))?;
    Ok((id, Known { kind, scope, state }))
}

/// Writes a plan: log entries, entity states, rejections, restamps and the
/// device's position (and its last contact, when `seen` is some).
fn write_plan(
    tx: &Transaction<'_>,
    device: DeviceId,
    plan: &Plan,
    now: &str,
    seen: Option<&str>,
) -> Result<(), StoreError> {
    let dev = device.to_string();
    {
        let mut log = tx.prepare_cached(
            "INSERT INTO change_log (change_id, device_id, seq, scope, entity, entity_id, body, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for a in &plan.accepted {
            let body = serde_json::to_string(&a.change).map_err(|e| StoreError::Task(e.to_string()))?;
            log.execute((
                a.change.id.to_string(),
                &dev,
                i64_of(a.change.seq),
                &a.scope,
                a.change.entity.as_str(),
                text_id(a.change.entity_id),
                body,
                now,
            ))?;
        }
        let mut put = tx.prepare_cached(
            "INSERT INTO entity (id, kind, scope, state) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(id) DO UPDATE SET scope = excluded.scope, state = excluded.state",
        )?;
        for (id, known) in &plan.entities {
            put.execute((
                text_id(*id),
                known.kind.as_str(),
                &known.scope,
                entity_state::to_json(&known.state),
            ))?;
        }
        let mut reject =
            tx.prepare_cached("INSERT OR REPLACE INTO rejected (device_id, seq, reason, at) VALUES (?1, ?2, ?3, ?4)")?;
        for r in &plan.rejected {
            reject.execute((&dev, i64_of(r.seq), &r.reason, now))?;
        }
        let mut restamp =
            tx.prepare_cached("INSERT OR REPLACE INTO restamp (device_id, seq, was, hlc) VALUES (?1, ?2, ?3, ?4)")?;
        for r in &plan.restamped {
            restamp.execute((&dev, i64_of(r.seq), i64_of(r.was.as_u64()), i64_of(r.hlc.as_u64())))?;
        }
    }
    tx.execute(
        "UPDATE device SET last_applied_seq = ?1, last_seen_at = coalesce(?2, last_seen_at),
                           restamps = restamps + ?3 WHERE id = ?4",
        (i64_of(plan.last_applied), seen, plan.restamped.len(), &dev),
    )?;
    report::project(tx, plan)
}

struct DeviceRow {
    last_applied: u64,
    commune: Option<String>,
    restamps: i64,
}

/// Records when a tablet that pushed nothing last synced, after its
/// answer is read: bookkeeping a full disk may refuse without failing the
/// pull the tablet came for (SQLite reads work on a full disk).
fn touch_last_seen(conn: &Connection, device: DeviceId, now: &str) -> Result<(), StoreError> {
    match conn.execute(
        "UPDATE device SET last_seen_at = ?1 WHERE id = ?2",
        (now, device.to_string()),
    ) {
        Ok(_) => Ok(()),
        Err(e) => match StoreError::from(e) {
            StoreError::DiskFull(detail) => {
                tracing::warn!(%device, %detail, "the disk is full: this tablet's last sync time is not recorded");
                Ok(())
            }
            other => Err(other),
        },
    }
}

fn device_row(tx: &Transaction<'_>, device: DeviceId) -> Result<Option<DeviceRow>, StoreError> {
    Ok(tx
        .query_row(
            "SELECT last_applied_seq, commune_id, restamps FROM device WHERE id = ?1",
            [device.to_string()],
            |r| {
                Ok(DeviceRow {
                    last_applied: u64_of(r.get(0)?),
                    commune: r.get(1)?,
                    restamps: r.get(2)?,
                })
            },
        )
        .optional()?)
}

/// Everything that happened to the device's seqs above `acked`.
fn outcomes_since(
    tx: &Transaction<'_>,
    device: DeviceId,
    acked: u64,
    with_restamps: bool,
) -> Result<(Vec<Rejected>, Vec<Restamp>), StoreError> {
    let dev = device.to_string();
    let rejected = tx
        .prepare_cached("SELECT seq, reason FROM rejected WHERE device_id = ?1 AND seq > ?2 ORDER BY seq")?
        .query_map((&dev, i64_of(acked)), |r| {
            Ok(Rejected {
                seq: u64_of(r.get(0)?),
                reason: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let restamped = if with_restamps {
        tx.prepare_cached("SELECT seq, was, hlc FROM restamp WHERE device_id = ?1 AND seq > ?2 ORDER BY seq")?
            .query_map((&dev, i64_of(acked)), |r| {
                Ok(Restamp {
                    seq: u64_of(r.get(0)?),
                    was: Hlc::from_u64(u64_of(r.get(1)?)),
                    hlc: Hlc::from_u64(u64_of(r.get(2)?)),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
    } else {
        Vec::new()
    };
    Ok((rejected, restamped))
}
