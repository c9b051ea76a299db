//! Batches a tablet (or a village hub) carries for other tablets, sent
//! with its own sync (`SyncRequest::carried`): each is admitted by
//! `doorstep_ingest::relay` (signed by its origin's key, an unrevoked
//! tablet of the carrier's commune, not all applied before), then pushed
//! under its origin exactly as the origin's own push would be, and
//! answered with what became of it. A refusal of one batch never fails
//! the carrier's request; the office counts it per carrier and origin.

use chrono::Utc;
use doorstep_core::protocol::{CarriedOutcome, RelayOutcome};
use doorstep_core::sign::SignedBatch;
use doorstep_ingest::relay::{self, Origin, Refused};
use doorstep_store::{DeviceRecord, Store};

use super::App;
use super::error::ApiError;

/// Most batches one request may carry: a day's work of a village's
/// tablets, in several rounds when there is more.
pub(super) const MAX_CARRIED: usize = 256;

/// Delivers `batches` carried by `carrier` of `commune`, in order.
pub(super) async fn deliver<S: Store>(
    app: &App<S>,
    carrier: &DeviceRecord,
    commune: &str,
    batches: Vec<SignedBatch>,
) -> Result<Vec<CarriedOutcome>, ApiError> {
    if batches.len() > MAX_CARRIED {
        return Err(ApiError::bad_field(
            "carried",
            format!(
                "a request carries at most {MAX_CARRIED} batches, this one {}",
                batches.len()
            ),
        ));
    }
    let mut outcomes = Vec::with_capacity(batches.len());
    for batch in batches {
        let outcome = one(app, carrier, commune, &batch).await?;
        app.metrics.relayed(outcome.outcome);
        if !matches!(outcome.outcome, RelayOutcome::Delivered | RelayOutcome::Waiting) {
            tracing::warn!(
                carrier = %carrier.id,
                origin = %batch.origin,
                outcome = outcome.outcome.as_str(),
                "carried batch refused"
            );
            app.store
                .record_relay(
                    carrier.id,
                    batch.origin,
                    outcome.outcome.as_str().to_owned(),
                    Utc::now(),
                )
                .await
                .map_err(ApiError::store)?;
        }
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

async fn one<S: Store>(
    app: &App<S>,
    carrier: &DeviceRecord,
    commune: &str,
    batch: &SignedBatch,
) -> Result<CarriedOutcome, ApiError> {
    let last_seq = batch.seq_range().map_or(0, |(_, last)| last);
    let record = app.store.device(batch.origin).await.map_err(ApiError::store)?;
    let origin = record.as_ref().map(|d| Origin {
        commune: d.commune_id.as_deref(),
        revoked: d.revoked_at.is_some(),
        public_key: d.public_key.as_deref(),
        last_applied: d.last_applied_seq,
    });
    let before = record.as_ref().map_or(0, |d| d.last_applied_seq);
    let answer = |outcome: RelayOutcome, last_applied_seq: u64, reason: Option<String>| CarriedOutcome {
        origin: batch.origin,
        last_seq,
        outcome,
        last_applied_seq,
        reason,
    };
    let changes = match relay::admit(commune, origin, batch) {
        Ok(changes) => changes,
        Err(Refused { outcome, reason }) => return Ok(answer(outcome, before, Some(reason))),
    };
    let pushed = app
        .store
        .push_carried(batch.origin, carrier.id, changes, Utc::now())
        .await
        .map_err(ApiError::store)?;
    Ok(match pushed {
        Ok(pushed) => {
            app.metrics.synced(pushed.accepted, &[], u64::MAX, 0);
            tracing::info!(
                carrier = %carrier.id,
                origin = %batch.origin,
                accepted = pushed.accepted,
                "carried batch delivered"
            );
            answer(RelayOutcome::Delivered, pushed.last_applied_seq, None)
        }
        Err(refusal) => {
            let Refused { outcome, reason } = relay::refusal(&refusal);
            answer(outcome, before, Some(reason))
        }
    })
}
