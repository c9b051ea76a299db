//! Applying one sync answer to the store, in one SQLite transaction.
//!
//! Everything an answer says lands together or not at all: the outbox
//! acknowledgement, the rejected and restamped pushes, the pulled page with
//! its cursor, and the measured clock offset. A connection cut after the
//! server answered, or the app killed halfway, can only make the device ask
//! again; the server repeats what happened to every seq above the acked one
//! and the page is deduplicated by change id, so applying an answer twice
//! is the same as applying it once.

use chrono::{DateTime, Utc};
use doorstep_core::hlc::Hlc;
use doorstep_core::protocol::SyncResponse;
use doorstep_core::schema::{format_timestamp, parse_timestamp};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use super::error::SyncError;
use super::restamp::apply_restamps;
use crate::apply::Dirty;
use crate::error::Result;
use crate::pull::{PullReport, count_waiting, merge_page};
use crate::store::Store;

/// How far the HLC may run ahead of the corrected clock before a fully
/// acknowledged device brings it back to the newest stamp it holds.
const HLC_AHEAD_SLACK_MS: u64 = 60_000;

/// What applying one answer did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct AnswerEffect {
    /// The acknowledged position after the answer.
    pub acked_seq: u64,
    /// Rejections recorded now (not already known), by seq.
    pub rejected: Vec<(u64, String)>,
    /// Restamps applied now.
    pub restamped: usize,
    /// The pulled page.
    pub pulled: PullReport,
    /// Server clock minus this device's wall clock, as now stored.
    pub clock_offset_ms: i64,
    /// Whether the server knew less than the device had been told (it was
    /// restored from a backup): the outbox is resent from `acked_seq`.
    pub rewound: bool,
    /// Changes dropped from the outbox now (confirmed and backed up).
    pub pruned: u64,
}

impl Store {
    /// Applies the answer to a request that carried `sent_acked` as its
    /// `acked_seq`. `received_at` is the wall clock (uncorrected) when the
    /// answer arrived. An answer that contradicts the store (a page that
    /// does not decode, a server ahead of this device's outbox) changes
    /// nothing and is returned as an error.
    pub(crate) fn apply_sync_answer(
        &mut self,
        sent_acked: u64,
        answer: &SyncResponse,
        received_at: DateTime<Utc>,
    ) -> std::result::Result<AnswerEffect, SyncError> {
        let pulled = answer.changes.decode().map_err(|e| SyncError::BadAnswer {
            detail: format!("pulled changes, {e}"),
        })?;
        let server_time = parse_timestamp(&answer.server_time).map_err(|e| SyncError::BadAnswer {
            detail: format!("server_time: {e}"),
        })?;
        let offset_ms = (server_time - received_at).num_milliseconds();
        let now = format_timestamp(server_time);
        let own = self.device_id();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (acked, next_seq, hlc_last, pruned): (u64, u64, i64, u64) = tx.query_row(
            "SELECT acked_seq, next_seq, hlc_last, pruned_seq FROM device_state WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let last_seq = next_seq.saturating_sub(1);
        if answer.last_applied_seq > last_seq {
            return Err(SyncError::Diverged {
                server_seq: answer.last_applied_seq,
                device_seq: last_seq,
            });
        }
        // The server applied less than it once confirmed: it lost changes
        // (restored from a backup). Resend from where it stands.
        let rewound = answer.last_applied_seq < sent_acked;
        if answer.last_applied_seq < pruned {
            return Err(SyncError::OfficeLost {
                from: answer.last_applied_seq + 1,
                to: pruned,
            });
        }
        let acked_seq = if rewound {
            answer.last_applied_seq
        } else {
            acked.max(answer.last_applied_seq)
        };
        let mut effect = AnswerEffect {
            acked_seq,
            rewound,
            clock_offset_ms: offset_ms,
            ..AnswerEffect::default()
        };
        for r in &answer.rejected {
            if r.seq == 0 || r.seq > answer.last_applied_seq {
                continue;
            }
            let added = tx
                .prepare_cached("INSERT OR IGNORE INTO push_rejected (seq, reason, rejected_at) VALUES (?1, ?2, ?3)")?
                .execute((r.seq, &r.reason, &now))?;
            if added > 0 {
                effect.rejected.push((r.seq, r.reason.clone()));
            }
        }
        let mut dirty = Dirty::default();
        let restamps: Vec<_> = answer
            .restamped
            .iter()
            .filter(|r| r.seq <= answer.last_applied_seq)
            .copied()
            .collect();
        effect.restamped = apply_restamps(&tx, own, &restamps, &now, &mut dirty)?;
        effect.pulled = merge_page(&tx, own, &pulled, Some(&answer.next_cursor), &now, &mut dirty)?;
        tx.execute(
            "UPDATE device_state SET acked_seq = ?1, clock_offset_ms = ?2, last_sync_error = NULL WHERE id = 1",
            (acked_seq, offset_ms),
        )?;
        let clock_ms = doorstep_core::hlc::wall_millis(server_time);
        if acked_seq == last_seq
            && Hlc::from_u64(u64::try_from(hlc_last).unwrap_or(0)).millis() > clock_ms + HLC_AHEAD_SLACK_MS
        {
            settle_clock(&tx)?;
        }
        effect.pruned = prune_outbox(&tx, acked_seq, answer.backed_up_seq, pruned)?;
        dirty.flush(&tx, &self.packs)?;
        effect.pulled.waiting = count_waiting(&tx)?;
        tx.commit()?;
        self.set_clock_offset_ms(offset_ms);
        Ok(effect)
    }

    /// Moves the acknowledged position back to `seq` (the server answered
    /// that it needs the outbox from `seq + 1` again).
    pub(crate) fn rewind_acked(&mut self, seq: u64) -> Result<()> {
        self.conn.execute(
            "UPDATE device_state SET acked_seq = ?1 WHERE id = 1 AND acked_seq > ?1",
            [seq],
        )?;
        Ok(())
    }
}

/// Drops from the outbox every change the server has confirmed (up to
/// `acked`) *and* its newest backup holds (up to `backed_up`): a restored
/// server asks again only for changes after its backup. Refused changes
/// stay, so the volunteer still sees what they were. Records what the
/// server said of its backups, and how far the outbox is pruned; returns
/// how many changes were dropped now.
fn prune_outbox(conn: &Connection, acked: u64, backed_up: Option<u64>, pruned: u64) -> Result<u64> {
    conn.execute("UPDATE device_state SET backed_up_seq = ?1 WHERE id = 1", [backed_up])?;
    let Some(backed_up) = backed_up else {
        return Ok(0);
    };
    let upto = acked.min(backed_up);
    if upto <= pruned {
        return Ok(0);
    }
    let dropped = conn
        .prepare_cached(
            "DELETE FROM outbox WHERE seq > ?1 AND seq <= ?2 AND seq NOT IN (SELECT seq FROM push_rejected)",
        )?
        .execute((pruned, upto))?;
    conn.execute("UPDATE device_state SET pruned_seq = ?1 WHERE id = 1", [upto])?;
    Ok(u64::try_from(dropped).unwrap_or(0))
}

/// Brings the HLC back to the newest stamp the device holds, once every
/// local change is acknowledged: a device whose clock ran ahead, and whose
/// stamps the server clamped, stops stamping in the future. Never below a
/// stored stamp, so a new write still sorts after every version it replaces.
fn settle_clock(conn: &Connection) -> Result<()> {
    let stored: Option<i64> = conn.query_row(
        "SELECT max(m) FROM (
             SELECT max(hlc) AS m FROM outbox
             UNION ALL SELECT max(hlc) FROM field_clock
             UNION ALL SELECT max(hlc) FROM step_event
             UNION ALL SELECT max(hlc) FROM conflict
             UNION ALL SELECT max(hlc) FROM pending_base)",
        [],
        |r| r.get(0),
    )?;
    // Parked changes were observed when pulled; keep the clock above them.
    let parked: Option<String> = conn
        .query_row("SELECT max(json_extract(body, '$.hlc')) FROM parked_change", [], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    let parked = parked
        .and_then(|h| h.parse::<Hlc>().ok())
        .map(|h| i64::try_from(h.as_u64()).unwrap_or(i64::MAX));
    let floor = stored.unwrap_or(0).max(parked.unwrap_or(0));
    conn.execute(
        "UPDATE device_state SET hlc_last = min(hlc_last, ?1) WHERE id = 1",
        [floor],
    )?;
    Ok(())
}

#[cfg(test)]
#[path = "answer_tests.rs"]
mod tests;
