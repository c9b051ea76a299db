//! Merging pulled changes: a page from the server, applied in one
//! transaction together with the new pull cursor.
//!
//! Storing the cursor with the data (not before it) means a cut connection
//! or a killed app can only make the device ask for the same page again,
//! and a page applied twice merges once (changes are deduplicated by id).

use doorstep_core::change::Change;
use doorstep_core::hlc::{Hlc, HlcClock};
use doorstep_core::ids::DeviceId;
use doorstep_core::schema::{EntityKind, format_timestamp};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::apply::{Applied, Dirty, merge_change};
use crate::error::{Result, StoreError};
use crate::store::Store;

/// What applying a page did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PullReport {
    /// Changes merged now (including earlier-parked ones that could now go in).
    pub merged: usize,
    /// Changes already merged before (a page pulled twice).
    pub duplicates: usize,
    /// This device's own changes coming back: already applied locally.
    pub own: usize,
    /// Changes waiting for an entity that has not arrived yet.
    pub waiting: usize,
    /// Changes that break the schema (from a newer app?): kept aside.
    pub invalid: usize,
    /// Losing values newly kept as conflicts for review.
    pub conflicts: usize,
}

impl Store {
    /// Applies a page of pulled changes and stores `cursor` (the server's
    /// position after this page) in the same transaction.
    pub fn apply_pulled(&mut self, changes: &[Change], cursor: Option<&str>) -> Result<PullReport> {
        let now = format_timestamp(self.now());
        let own_device = self.device_id();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut dirty = Dirty::default();
        let mut report = merge_page(&tx, own_device, changes, cursor, &now, &mut dirty)?;
        dirty.flush(&tx, &self.packs)?;
        report.waiting = count_waiting(&tx)?;
        tx.commit()?;
        Ok(report)
    }
}

/// Merges a pulled page and stores its cursor, inside the caller's
/// transaction (a plain pull, or a whole sync answer). Derived columns are
/// marked in `dirty`; the caller flushes them and fills `waiting` before it
/// commits.
pub(crate) fn merge_page(
    conn: &Connection,
    own_device: DeviceId,
    changes: &[Change],
    cursor: Option<&str>,
    now: &str,
    dirty: &mut Dirty,
) -> Result<PullReport> {
    let hlc_last: i64 = conn.query_row("SELECT hlc_last FROM device_state WHERE id = 1", [], |r| r.get(0))?;
    let mut clock = HlcClock::resume(Hlc::from_u64(u64::try_from(hlc_last).unwrap_or(0)));
    let mut report = PullReport::default();
    for change in changes {
        if change.device == own_device {
            report.own += 1;
            continue;
        }
        let id = change.id.to_string();
        let seen = conn
            .prepare_cached("SELECT 1 FROM applied_change WHERE change_id = ?1")?
            .query_row([&id], |_| Ok(()))
            .optional()?;
        let parked = conn
            .prepare_cached("SELECT 1 FROM parked_change WHERE change_id = ?1")?
            .query_row([&id], |_| Ok(()))
            .optional()?;
        if seen.is_some() || parked.is_some() {
            report.duplicates += 1;
            continue;
        }
        // Later local writes must sort after everything this device saw.
        clock.observe_trusted(change.hlc);
        if let Err(problems) = change.validate() {
            park(conn, change, None, &format!("invalid: {problems}"), now)?;
            report.invalid += 1;
            continue;
        }
        apply_and_unpark(conn, change, now, &mut report, dirty)?;
    }
    conn.execute(
        "UPDATE device_state SET hlc_last = max(hlc_last, ?1), pull_cursor = coalesce(?2, pull_cursor) WHERE id = 1",
        (i64::try_from(clock.last().as_u64()).unwrap_or(i64::MAX), cursor),
    )?;
    Ok(report)
}

/// Pulled changes still waiting for an entity to arrive.
pub(crate) fn count_waiting(conn: &Connection) -> Result<usize> {
    Ok(conn.query_row(
        "SELECT count(*) FROM parked_change WHERE awaits_kind IS NOT NULL",
        [],
        |r| r.get(0),
    )?)
}

/// Merges a change, or parks it; when it merges, retries whatever was
/// parked waiting for its entity (and so on, transitively).
fn apply_and_unpark(
    conn: &Connection,
    first: &Change,
    now: &str,
    report: &mut PullReport,
    dirty: &mut Dirty,
) -> Result<()> {
    let mut work = vec![first.clone()];
    while let Some(change) = work.pop() {
        let merged = match merge_isolated(conn, &change, now, dirty)? {
            Ok(applied) => applied,
            Err(refused) => {
                // The schema allowed it but the database refused it: keep it
                // aside like an invalid change so one bad record never
                // blocks the page (and every later sync) behind it.
                park(conn, &change, None, &format!("invalid: {refused}"), now)?;
                report.invalid += 1;
                continue;
            }
        };
        match merged {
            Applied::Waiting { kind, id } => {
                park(conn, &change, Some((kind, &id)), &format!("waits for {kind} {id}"), now)?;
                continue;
            }
            Applied::Merged { conflicts, .. } => {
                report.merged += 1;
                report.conflicts += conflicts;
            }
            Applied::AlreadyPresent => report.duplicates += 1,
        }
        conn.prepare_cached("INSERT OR IGNORE INTO applied_change (change_id) VALUES (?1)")?
            .execute([change.id.to_string()])?;
        work.extend(take_parked(
            conn,
            change.entity,
            &change.entity_id.hyphenated().to_string(),
        )?);
    }
    Ok(())
}

/// Merges one change inside a savepoint. A constraint the database enforces
/// (and validation missed) rolls back just this change and comes back as
/// `Ok(Err(reason))`; any other failure (disk, I/O) fails the whole page.
fn merge_isolated(
    conn: &Connection,
    change: &Change,
    now: &str,
    dirty: &mut Dirty,
) -> Result<std::result::Result<Applied, String>> {
    conn.execute_batch("SAVEPOINT merge_one")?;
    match merge_change(conn, change, now, dirty) {
        Ok(applied) => {
            conn.execute_batch("RELEASE merge_one")?;
            Ok(Ok(applied))
        }
        Err(StoreError::Sqlite(e))
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::ConstraintViolation | rusqlite::ErrorCode::TypeMismatch)
            ) =>
        {
            conn.execute_batch("ROLLBACK TO merge_one; RELEASE merge_one")?;
            Ok(Err(e.to_string()))
        }
        Err(other) => {
            conn.execute_batch("ROLLBACK TO merge_one; RELEASE merge_one")?;
            Err(other)
        }
    }
}

fn park(conn: &Connection, change: &Change, awaits: Option<(EntityKind, &str)>, reason: &str, now: &str) -> Result<()> {
    let body = serde_json::to_string(change).map_err(|e| StoreError::Stored(e.to_string()))?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO parked_change (change_id, awaits_kind, awaits_id, reason, body, parked_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute((
        change.id.to_string(),
        awaits.map(|a| a.0.as_str()),
        awaits.map(|a| a.1),
        reason,
        body,
        now,
    ))?;
    Ok(())
}

fn take_parked(conn: &Connection, kind: EntityKind, id: &str) -> Result<Vec<Change>> {
    let mut stmt =
        conn.prepare_cached("DELETE FROM parked_change WHERE awaits_kind = ?1 AND awaits_id = ?2 RETURNING body")?;
    let bodies: Vec<String> = stmt
        .query_map((kind.as_str(), id), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    bodies
        .iter()
        .map(|b| serde_json::from_str(b).map_err(|e| StoreError::Stored(format!("parked change: {e}"))))
        .collect()
}
