//! Pushes, pulls and office writes: what a batch needs loaded, its plan
//! written to the change log (numbered under the locked clock row) and the
//! entity table, the server's clock, and each device's position in the log.

use chrono::{DateTime, Utc};
use doorstep_core::change::Change;
use doorstep_core::hlc::{Hlc, HlcClock, wall_millis};
use doorstep_core::ids::DeviceId;
use doorstep_core::protocol::{Rejected, Restamp};
use doorstep_core::schema::{EntityKind, format_timestamp};
use tokio_postgres::{IsolationLevel, Row, Transaction};
use uuid::Uuid;

use super::{damaged, i64_of, quarantine, relay, report, rewind, text_id, u64_of};
use crate::{OfficeError, Page, Pushed, StoreError, Via};
use doorstep_ingest::entity_state;
use doorstep_ingest::{self as ingest, Known, Loaded, Plan, Pusher, Refusal};
use doorstep_ingest::{OfficeDraft, OfficeWrite};

/// A device's push (`Store::push`, or `Store::push_carried` when `via` is
/// a carrier), in one transaction; a push with changes comes with a
/// writer's turn and locks the clock row.
pub(super) async fn push(
    client: &mut deadpool_postgres::Object,
    device: DeviceId,
    via: Via,
    changes: Vec<Change>,
    now: DateTime<Utc>,
) -> Result<Result<Pushed, Refusal>, StoreError> {
    let tx = client.transaction().await?;
    let now_text = format_timestamp(now);
    let pull_only = changes.is_empty();
    let accepted = if pull_only {
        0
    } else {
        let mut clock = lock_clock(&tx).await?;
        let Some(row) = device_row(&tx, device).await? else {
            return Ok(Err(Refusal::Forbidden(format!("device {device} is not enrolled"))));
        };
        let pusher = Pusher {
            device,
            scope: row.commune.clone(),
            last_applied: row.last_applied,
        };
        let needs = ingest::needs(&pusher, &changes);
        let loaded = load(&tx, &pusher, &needs, row.restamps > 0).await?;
        let plan = match ingest::plan(&pusher, changes, loaded, &mut clock.hlc, wall_millis(now)) {
            Ok(plan) => plan,
            Err(refusal) => {
                if let Refusal::Copied { changes, .. } = &refusal {
                    quarantine::keep(&tx, device, changes, &now_text).await?;
                    tx.commit().await?;
                }
                return Ok(Err(refusal));
            }
        };
        write_plan(&tx, device, &plan, &mut clock, &now_text, via.seen_at(&now_text)).await?;
        save_clock(&tx, &clock).await?;
        if let Via::Carried { carrier } = via {
            relay::count(&*tx, carrier, device, crate::DELIVERED, &now_text).await?;
        }
        plan.accepted.len()
    };
    let Some(row) = device_row(&tx, device).await? else {
        return Ok(Err(Refusal::Forbidden(format!("device {device} is not enrolled"))));
    };
    let (rejected, restamped) = match via {
        Via::Own { acked_seq } => outcomes_since(&tx, device, acked_seq, row.restamps > 0).await?,
        Via::Carried { .. } => (Vec::new(), Vec::new()),
    };
    tx.commit().await?;
    if pull_only && let Some(seen) = via.seen_at(&now_text) {
        // Bookkeeping a full disk may refuse without failing the pull
        // the tablet came for.
        let touched = client
            .execute(
                "UPDATE device SET last_seen_at = $1 WHERE id = $2",
                &[&seen, &device.to_string()],
            )
            .await;
        match touched.map_err(StoreError::from) {
            Ok(_) => {}
            Err(StoreError::DiskFull(detail)) => {
                tracing::warn!(%device, %detail, "the disk is full: this tablet's last sync time is not recorded");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Ok(Pushed {
        last_applied_seq: row.last_applied,
        rejected,
        restamped,
        accepted,
    }))
}

/// A page of the log for a device (`Store::pull`), from one snapshot.
pub(super) async fn pull_page(
    client: &mut deadpool_postgres::Object,
    scope: String,
    device: DeviceId,
    after: u64,
    limit: usize,
    max_bytes: usize,
) -> Result<Page, StoreError> {
    // One snapshot for the log's end and the rows.
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let high = u64_of(
        tx.query_one("SELECT last_server_seq FROM sync_clock WHERE id = 1", &[])
            .await?
            .try_get(0)?,
    );
    // A cursor beyond the log's end comes from before a restore from
    // backup: start again (the device drops what it already has).
    let after = if after > high { 0 } else { after };
    let dev = device.to_string();
    let stmt = tx
        .prepare(
            "SELECT server_seq, body FROM change_log
                 WHERE scope = $1 AND server_seq > $2 AND device_id <> $3
                 ORDER BY server_seq LIMIT $4",
        )
        .await?;
    // Two index range scans (the commune, then campaign-wide records),
    // merged here: cost follows the page, not the history.
    let mut rows: Vec<(i64, String)> = Vec::new();
    let mut full = false;
    for s in [scope.as_str(), ingest::CAMPAIGN_WIDE] {
        let got = tx
            .query(&stmt, &[&s, &i64_of(after), &dev, &i64_of(limit as u64 + 1)])
            .await?;
        full |= got.len() > limit;
        for r in got {
            rows.push((r.try_get(0)?, r.try_get(1)?));
        }
    }
    tx.commit().await?;
    crate::page_of(rows, after, high, full, limit, max_bytes)
}

/// The office's own changes (`Store::office_write`), as one plan under
/// the clock row.
pub(super) async fn office_write(
    client: &mut deadpool_postgres::Object,
    writes: Vec<OfficeWrite>,
    now: DateTime<Utc>,
) -> Result<Vec<Change>, OfficeError> {
    let tx = client.transaction().await.map_err(StoreError::from)?;
    let mut clock = lock_clock(&tx).await?;
    let office = rewind::office_id(&tx).await?;
    let row = device_row(&tx, office)
        .await?
        .ok_or_else(|| damaged("device", "the office device is missing"))?;
    let draft = OfficeDraft::new(office, row.last_applied, writes);
    let preload = load(&tx, &draft.pusher, &draft.preload(), false).await?;
    let wall = wall_millis(now);
    let stamped = draft.stamp(&preload, &mut clock.hlc, wall);
    let loaded = load(&tx, &stamped.pusher, &stamped.needs, false).await?;
    let plan = stamped
        .plan(loaded, &mut clock.hlc, wall)
        .map_err(OfficeError::Invalid)?;
    let now = format_timestamp(now);
    write_plan(&tx, office, &plan, &mut clock, &now, Some(&now)).await?;
    save_clock(&tx, &clock).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(plan.accepted.into_iter().map(|a| a.change).collect())
}

/// The change log's write lock (the `postgres` module docs): the last
/// server_seq handed out and the server's clock, locked until the
/// transaction ends.
pub(super) struct Clock {
    pub(super) last_seq: u64,
    hlc: HlcClock,
}

pub(super) async fn lock_clock(tx: &Transaction<'_>) -> Result<Clock, StoreError> {
    let row = tx
        .query_one(
            "SELECT last_server_seq, hlc_last FROM sync_clock WHERE id = 1 FOR UPDATE",
            &[],
        )
        .await?;
    Ok(Clock {
        last_seq: u64_of(row.get(0)),
        hlc: HlcClock::resume(Hlc::from_u64(u64_of(row.get(1)))),
    })
}

async fn save_clock(tx: &Transaction<'_>, clock: &Clock) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE sync_clock SET last_server_seq = $1, hlc_last = $2 WHERE id = 1",
        &[&i64_of(clock.last_seq), &i64_of(clock.hlc.last().as_u64())],
    )
    .await?;
    Ok(())
}

pub(super) fn known_row(row: &Row) -> Result<(Uuid, Known), StoreError> {
    let id: String = row.try_get(0)?;
    let kind: String = row.try_get(1)?;
    let scope: String = row.try_get(2)?;
    let state: String = row.try_get(3)?;
    let id = Uuid::parse_str(&id).map_err(|e| damaged("entity.id", e))?;
    let kind = kind.parse::<EntityKind>().map_err(|e| damaged("entity.kind", e))?;
    let state = entity_state::from_json(&state).map_err(|e| damaged(&format!("entity {id}"), e))?;
    Ok((id, Known { kind, scope, state }))
}

/// Loads the entities and restamps a batch needs: one statement each.
async fn load(
    tx: &Transaction<'_>,
    pusher: &Pusher,
    needs: &ingest::Needs,
    has_restamps: bool,
) -> Result<Loaded, StoreError> {
    let mut loaded = Loaded::default();
    let ids: Vec<String> = needs.entities.iter().map(|id| text_id(*id)).collect();
    if !ids.is_empty() {
        for row in tx
            .query("SELECT id, kind, scope, state FROM entity WHERE id = ANY($1)", &[&ids])
            .await?
        {
            let (id, known) = known_row(&row)?;
            loaded.entities.insert(id, known);
        }
    }
    if has_restamps && !needs.own_bases.is_empty() {
        let bases: Vec<i64> = needs.own_bases.iter().map(|h| i64_of(h.as_u64())).collect();
        for row in tx
            .query(
                "SELECT was, hlc FROM restamp WHERE device_id = $1 AND was = ANY($2)",
                &[&pusher.device.to_string(), &bases],
            )
            .await?
        {
            let was: i64 = row.try_get(0)?;
            let hlc: i64 = row.try_get(1)?;
            loaded
                .restamps
                .insert(Hlc::from_u64(u64_of(was)), Hlc::from_u64(u64_of(hlc)));
        }
    }
    if !needs.logged_seqs.is_empty() {
        let seqs: Vec<i64> = needs.logged_seqs.iter().map(|s| i64_of(*s)).collect();
        for row in tx
            .query(
                "SELECT seq, body FROM change_log WHERE device_id = $1 AND seq = ANY($2)",
                &[&pusher.device.to_string(), &seqs],
            )
            .await?
        {
            let seq: i64 = row.try_get(0)?;
            let body: String = row.try_get(1)?;
            let change: Change =
                serde_json::from_str(&body).map_err(|e| damaged(&format!("change_log body of seq {seq}"), e))?;
            loaded.logged.insert(u64_of(seq), change);
        }
    }
    Ok(loaded)
}

/// Writes a plan: log entries (numbered from the locked clock), entity
/// states, rejections, restamps, the device's position (and its last
/// contact, when `seen` is some) and the report rows.
async fn write_plan(
    tx: &Transaction<'_>,
    device: DeviceId,
    plan: &Plan,
    clock: &mut Clock,
    now: &str,
    seen: Option<&str>,
) -> Result<(), StoreError> {
    let dev = device.to_string();
    if !plan.accepted.is_empty() {
        let n = plan.accepted.len();
        let mut server_seq = Vec::with_capacity(n);
        let mut change_id = Vec::with_capacity(n);
        let mut seq = Vec::with_capacity(n);
        let mut scope = Vec::with_capacity(n);
        let mut entity = Vec::with_capacity(n);
        let mut entity_id = Vec::with_capacity(n);
        let mut body = Vec::with_capacity(n);
        for a in &plan.accepted {
            clock.last_seq += 1;
            server_seq.push(i64_of(clock.last_seq));
            change_id.push(a.change.id.to_string());
            seq.push(i64_of(a.change.seq));
            scope.push(a.scope.clone());
            entity.push(a.change.entity.as_str().to_owned());
            entity_id.push(text_id(a.change.entity_id));
            body.push(serde_json::to_string(&a.change).map_err(|e| StoreError::Task(e.to_string()))?);
        }
        tx.execute(
            "INSERT INTO change_log (server_seq, change_id, device_id, seq, scope, entity, entity_id, body, received_at)
             SELECT s, c, $3, q, sc, e, ei, b, $9
             FROM unnest($1::bigint[], $2::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[])
                  AS t(s, c, q, sc, e, ei, b)",
            &[&server_seq, &change_id, &dev, &seq, &scope, &entity, &entity_id, &body, &now],
        )
        .await?;
    }
    if !plan.entities.is_empty() {
        let mut ids = Vec::new();
        let mut kinds = Vec::new();
        let mut scopes = Vec::new();
        let mut states = Vec::new();
        for (id, known) in &plan.entities {
            ids.push(text_id(*id));
            kinds.push(known.kind.as_str().to_owned());
            scopes.push(known.scope.clone());
            states.push(entity_state::to_json(&known.state));
        }
        tx.execute(
            "INSERT INTO entity (id, kind, scope, state)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
             ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, state = excluded.state",
            &[&ids, &kinds, &scopes, &states],
        )
        .await?;
    }
    for r in &plan.rejected {
        tx.execute(
            "INSERT INTO rejected (device_id, seq, reason, at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (device_id, seq) DO UPDATE SET reason = excluded.reason, at = excluded.at",
            &[&dev, &i64_of(r.seq), &r.reason, &now],
        )
        .await?;
    }
    for r in &plan.restamped {
        tx.execute(
            "INSERT INTO restamp (device_id, seq, was, hlc) VALUES ($1, $2, $3, $4)
             ON CONFLICT (device_id, seq) DO UPDATE SET was = excluded.was, hlc = excluded.hlc",
            &[&dev, &i64_of(r.seq), &i64_of(r.was.as_u64()), &i64_of(r.hlc.as_u64())],
        )
        .await?;
    }
    tx.execute(
        "UPDATE device SET last_applied_seq = $1, last_seen_at = coalesce($2, last_seen_at),
                           restamps = restamps + $3 WHERE id = $4",
        &[
            &i64_of(plan.last_applied),
            &seen,
            &i64_of(plan.restamped.len() as u64),
            &dev,
        ],
    )
    .await?;
    report::project(tx, plan).await
}

struct DeviceRow {
    last_applied: u64,
    commune: Option<String>,
    restamps: i64,
}

async fn device_row(tx: &Transaction<'_>, device: DeviceId) -> Result<Option<DeviceRow>, StoreError> {
    let row = tx
        .query_opt(
            "SELECT last_applied_seq, commune_id, restamps FROM device WHERE id = $1",
            &[&device.to_string()],
        )
        .await?;
    row.map(|r| {
        Ok(DeviceRow {
            last_applied: u64_of(r.try_get(0)?),
            commune: r.try_get(1)?,
            restamps: r.try_get(2)?,
        })
    })
    .transpose()
}

/// Everything that happened to the device's seqs above `acked`.
async fn outcomes_since(
    tx: &Transaction<'_>,
    device: DeviceId,
    acked: u64,
    with_restamps: bool,
) -> Result<(Vec<Rejected>, Vec<Restamp>), StoreError> {
    let dev = device.to_string();
    let mut rejected = Vec::new();
    for r in tx
        .query(
            "SELECT seq, reason FROM rejected WHERE device_id = $1 AND seq > $2 ORDER BY seq",
            &[&dev, &i64_of(acked)],
        )
        .await?
    {
        rejected.push(Rejected {
            seq: u64_of(r.try_get(0)?),
            reason: r.try_get(1)?,
        });
    }
    let mut restamped = Vec::new();
    if with_restamps {
        for r in tx
            .query(
                "SELECT seq, was, hlc FROM restamp WHERE device_id = $1 AND seq > $2 ORDER BY seq",
                &[&dev, &i64_of(acked)],
            )
            .await?
        {
            restamped.push(Restamp {
                seq: u64_of(r.try_get(0)?),
                was: Hlc::from_u64(u64_of(r.try_get(1)?)),
                hlc: Hlc::from_u64(u64_of(r.try_get(2)?)),
            });
        }
    }
    Ok((rejected, restamped))
}
