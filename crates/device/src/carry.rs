//! Signed changes and work carried for other tablets (protocol 2).
//!
//! This tablet's Ed25519 key lives in `device_state` (the encrypted store);
//! its own unsent changes leave for another tablet only as batches it
//! signed ([`Store::own_batches`]). Other tablets' batches it receives are
//! checked - the origin's certificate against the server's key, the
//! signature against the certificate's key, the commune against this
//! tablet's - and kept exactly as signed in `carried` until the server
//! has them ([`Store::settle_carried`], [`Store::learn_acks`]).
//!
//! **Invariant:** a carried batch is never merged into this tablet's own
//! tables: it reaches the replicas only through the server, which checks
//! it again against the key it registered. A carrier that alters one
//! holds a batch nobody takes.

use std::collections::HashMap;

use doorstep_core::ids::{CommuneId, DeviceId};
use doorstep_core::protocol::share::OriginAck;
use doorstep_core::protocol::{CarriedOutcome, RelayOutcome};
use doorstep_core::schema::format_timestamp;
use doorstep_core::sign::{DeviceCert, PublicKey, SignedBatch, SigningKey};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::error::{Result, StoreError};
use crate::store::Store;

/// Own changes per signed batch handed to another tablet.
pub const OWN_BATCH_CHANGES: usize = 500;

/// Where this tablet's work and the work it carries stand: what the sync
/// screen shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CarryStatus {
    /// Own changes the office has not confirmed and no other tablet holds:
    /// lost if this tablet is lost.
    pub only_here: u64,
    /// Own changes the office has not confirmed that another tablet or a
    /// hub also holds.
    pub handed_on: u64,
    /// Own changes the office has confirmed.
    pub reached_office: u64,
    /// Other tablets' changes this tablet carries.
    pub carried_changes: u64,
    /// How many tablets they come from.
    pub carried_origins: u64,
    /// Whether this tablet signs its changes (it registered a key).
    pub signs: bool,
}

/// What became of batches offered by another tablet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CarryReport {
    /// Batches kept to carry.
    pub kept: u64,
    /// Changes in them.
    pub changes: u64,
    /// Batches already carried, or already at the office, or this
    /// tablet's own.
    pub known: u64,
    /// Batches refused, with why (no personal data: ids and reasons).
    pub refused: Vec<String>,
}

impl Store {
    /// This tablet's signing key, once it has one.
    pub fn signing_key(&self) -> Result<Option<SigningKey>> {
        let seed: Option<Vec<u8>> =
            self.conn
                .query_row("SELECT signing_seed FROM device_state WHERE id = 1", [], |r| r.get(0))?;
        seed.map(|s| {
            <[u8; 32]>::try_from(s.as_slice())
                .map(SigningKey::from_seed)
                .map_err(|_| StoreError::Stored("device_state.signing_seed is not 32 bytes".to_owned()))
        })
        .transpose()
    }

    /// Keeps a new signing key, before the server knows it.
    pub(crate) fn put_signing_seed(&self, key: &SigningKey) -> Result<()> {
        self.conn.execute(
            "UPDATE device_state SET signing_seed = ?1, device_cert = NULL, server_key = NULL WHERE id = 1",
            params![key.seed().as_slice()],
        )?;
        Ok(())
    }

    /// Keeps the signing key and what the server said of it.
    pub(crate) fn keep_signing(&self, key: &SigningKey, cert: &DeviceCert, server_key: PublicKey) -> Result<()> {
        let cert =
            serde_json::to_string(cert).map_err(|e| StoreError::Stored(format!("encoding a certificate: {e}")))?;
        self.conn.execute(
            "UPDATE device_state SET signing_seed = ?1, device_cert = ?2, server_key = ?3 WHERE id = 1",
            params![key.seed().as_slice(), cert, server_key.to_string()],
        )?;
        Ok(())
    }

    /// The server's certificate for this tablet's key.
    pub fn device_cert(&self) -> Result<Option<DeviceCert>> {
        let text: Option<String> =
            self.conn
                .query_row("SELECT device_cert FROM device_state WHERE id = 1", [], |r| r.get(0))?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Stored(format!("device_state.device_cert: {e}"))))
            .transpose()
    }

    /// The server's certificate key.
    pub fn server_key(&self) -> Result<Option<PublicKey>> {
        let text: Option<String> =
            self.conn
                .query_row("SELECT server_key FROM device_state WHERE id = 1", [], |r| r.get(0))?;
        text.map(|t| {
            t.parse()
                .map_err(|e| StoreError::Stored(format!("device_state.server_key: {e}")))
        })
        .transpose()
    }

    /// The commune this tablet is enrolled for.
    pub fn commune(&self) -> Result<Option<CommuneId>> {
        let text: Option<String> =
            self.conn
                .query_row("SELECT commune_id FROM device_state WHERE id = 1", [], |r| r.get(0))?;
        Ok(text.and_then(|t| t.parse().ok()))
    }

    /// This tablet's changes the server has not confirmed, signed, in
    /// batches of [`OWN_BATCH_CHANGES`]; none before it has a key.
    pub fn own_batches(&self) -> Result<Vec<SignedBatch>> {
        let (Some(key), Some(cert)) = (self.signing_key()?, self.device_cert()?) else {
            return Ok(Vec::new());
        };
        let own = self.device_id();
        let mut after = self.sync_position()?.acked_seq;
        let mut batches = Vec::new();
        loop {
            let changes = self.outbox_after(after, OWN_BATCH_CHANGES)?;
            let Some(last) = changes.last().map(|c| c.seq) else {
                break;
            };
            batches.push(SignedBatch::sign(&key, own, &changes, Some(cert)));
            after = last;
        }
        Ok(batches)
    }

    /// Records that own changes up to `seq` were handed to another tablet.
    pub fn mark_shared(&self, seq: u64) -> Result<()> {
        self.conn.execute(
            "UPDATE device_state SET shared_seq = max(shared_seq, ?1) WHERE id = 1",
            [seq],
        )?;
        Ok(())
    }

    /// Up to `limit` carried batches, oldest origin position first.
    pub fn carried(&self, limit: usize) -> Result<Vec<SignedBatch>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT batch FROM carried ORDER BY origin, first_seq, last_seq LIMIT ?1")?;
        let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&row?).map_err(|e| StoreError::Stored(format!("a carried batch: {e}")))?);
        }
        Ok(out)
    }

    /// Checks `batches` offered by tablet `from` and keeps the ones to carry.
    pub fn carry(&mut self, batches: &[SignedBatch], from: DeviceId) -> Result<CarryReport> {
        let own = self.device_id();
        let commune = self.commune()?;
        let server_key = self.server_key()?;
        let acks = self.ack_map()?;
        let now = format_timestamp(self.now());
        let mut report = CarryReport::default();
        let tx = self.conn.transaction()?;
        for batch in batches {
            if batch.origin == own {
                report.known += 1;
                continue;
            }
            let changes = match check(batch, commune, server_key) {
                Ok(changes) => changes,
                Err(why) => {
                    tracing::warn!(origin = %batch.origin, %from, why, "offered batch refused");
                    report.refused.push(format!("tablet {}: {why}", batch.origin));
                    continue;
                }
            };
            let (first, last) = (changes[0].seq, changes[changes.len() - 1].seq);
            let origin = batch.origin.to_string();
            let covered: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM carried WHERE origin = ?1 AND first_seq <= ?2 AND last_seq >= ?3)",
                params![origin, first, last],
                |r| r.get(0),
            )?;
            if covered || acks.get(&batch.origin).is_some_and(|&a| a >= last) {
                report.known += 1;
                continue;
            }
            // A wider batch of the same origin replaces those it covers.
            tx.execute(
                "DELETE FROM carried WHERE origin = ?1 AND first_seq >= ?2 AND last_seq <= ?3",
                params![origin, first, last],
            )?;
            let json =
                serde_json::to_string(batch).map_err(|e| StoreError::Stored(format!("encoding a batch: {e}")))?;
            tx.execute(
                "INSERT INTO carried (origin, first_seq, last_seq, changes, batch, received_from, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![origin, first, last, changes.len(), json, from.to_string(), now],
            )?;
            report.kept += 1;
            report.changes += changes.len() as u64;
        }
        tx.commit()?;
        Ok(report)
    }

    /// Applies the server's word on carried batches: the origins'
    /// positions, and batches refused for good are dropped.
    pub fn settle_carried(&mut self, outcomes: &[CarriedOutcome]) -> Result<()> {
        let acks: Vec<OriginAck> = outcomes
            .iter()
            .map(|o| OriginAck {
                origin: o.origin,
                seq: o.last_applied_seq,
            })
            .collect();
        self.learn_acks(&acks)?;
        for o in outcomes
            .iter()
            .filter(|o| o.outcome.settled() && o.outcome != RelayOutcome::Delivered)
        {
            self.conn.execute(
                "DELETE FROM carried WHERE origin = ?1 AND last_seq = ?2",
                params![o.origin.to_string(), o.last_seq],
            )?;
        }
        Ok(())
    }

    /// Origins' positions on the server, as heard: carried batches wholly
    /// at or below them are dropped.
    pub fn learn_acks(&mut self, acks: &[OriginAck]) -> Result<()> {
        let own = self.device_id();
        let tx = self.conn.transaction()?;
        for ack in acks.iter().filter(|a| a.origin != own && a.seq > 0) {
            let origin = ack.origin.to_string();
            tx.execute(
                "INSERT INTO origin_ack (origin, seq) VALUES (?1, ?2)
                 ON CONFLICT (origin) DO UPDATE SET seq = max(seq, excluded.seq)",
                params![origin, ack.seq],
            )?;
            tx.execute(
                "DELETE FROM carried WHERE origin = ?1 AND last_seq <= ?2",
                params![origin, ack.seq],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// What this tablet knows of origins' positions, its own included.
    pub fn origin_acks(&self) -> Result<Vec<OriginAck>> {
        let mut acks: Vec<OriginAck> = self
            .ack_map()?
            .into_iter()
            .map(|(origin, seq)| OriginAck { origin, seq })
            .collect();
        let acked = self.sync_position()?.acked_seq;
        if acked > 0 {
            acks.push(OriginAck {
                origin: self.device_id(),
                seq: acked,
            });
        }
        acks.sort_by_key(|a| a.origin);
        Ok(acks)
    }

    fn ack_map(&self) -> Result<HashMap<DeviceId, u64>> {
        let mut stmt = self.conn.prepare_cached("SELECT origin, seq FROM origin_ack")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?;
        let mut out = HashMap::new();
        for row in rows {
            let (origin, seq) = row?;
            if let Ok(origin) = origin.parse() {
                out.insert(origin, seq);
            }
        }
        Ok(out)
    }

    /// Where this tablet's work and the work it carries stand.
    pub fn carry_status(&self) -> Result<CarryStatus> {
        let position = self.sync_position()?;
        let (shared, signs): (u64, bool) = self.conn.query_row(
            "SELECT shared_seq, signing_seed IS NOT NULL FROM device_state WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let (carried_changes, carried_origins): (u64, u64) = self.conn.query_row(
            "SELECT coalesce(sum(changes), 0), count(DISTINCT origin) FROM carried",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let safe = position.acked_seq.max(shared.min(position.last_seq));
        Ok(CarryStatus {
            only_here: position.last_seq.saturating_sub(safe),
            handed_on: safe.saturating_sub(position.acked_seq),
            reached_office: position.acked_seq,
            carried_changes,
            carried_origins,
            signs,
        })
    }

    /// Whether this store has a signing key but the server's key is not
    /// known (enrolled before protocol 2): the sync registers it.
    pub(crate) fn needs_key(&self) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM device_state WHERE id = 1 AND token IS NOT NULL AND device_cert IS NULL",
                [],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}

/// Whether a batch offered by another tablet may be carried: its origin's
/// certificate was issued by this tablet's server for this tablet's
/// commune, and it opens with the certificate's key. The changes, or why not.
fn check(
    batch: &SignedBatch,
    commune: Option<CommuneId>,
    server_key: Option<PublicKey>,
) -> std::result::Result<Vec<doorstep_core::change::Change>, String> {
    let (Some(commune), Some(server_key)) = (commune, server_key) else {
        return Err("this tablet has no key from the server yet: sync with the office once first".to_owned());
    };
    let Some(cert) = batch.cert else {
        return Err("the batch has no certificate".to_owned());
    };
    if cert.device != batch.origin || !cert.issued_by(&server_key) {
        return Err("its certificate was not issued by this tablet's server for that tablet".to_owned());
    }
    if cert.commune != commune {
        return Err("it belongs to another commune".to_owned());
    }
    batch.open(&cert.key).map_err(|e| e.to_string())
}
