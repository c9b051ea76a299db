//! The push/pull loop of one sync.
//!
//! Each round sends one request (a batch of the outbox after the acked seq,
//! and the pull cursor) and applies the answer in one transaction; rounds
//! repeat until nothing is left to push and the server has nothing more to
//! give. Every round is idempotent, so a failure at any byte is handled by
//! doing the same round again:
//! - link failures, 5xx and 429: the same round after a backoff with full
//!   jitter, up to `max_attempts` consecutive failures;
//! - a push of 4 KiB or more goes as a resumable upload (`upload`): after
//!   a cut, the device asks how much arrived and sends only the rest, at
//!   once when the cut still moved the upload on;
//! - 413: the same round with half the byte budget;
//! - 409 seq gap: the server lost changes it had confirmed (restored from a
//!   backup); the acked position moves back and the outbox is resent;
//! - anything else (401, 403, 426, ...): stop and say why.

use doorstep_core::protocol::{CarriedOutcome, ErrorCode, PROTOCOL_VERSION, SCHEMA_VERSION, SyncRequest, WireChanges};
use doorstep_core::schema::format_timestamp;
use doorstep_core::sign::SignedBatch;

use super::backoff::{Backoff, seed};
use super::batch::{self, Estimate};
use super::error::SyncError;
use super::http::{ErrorAnswer, Http, HttpFailure};
use super::packs::{PacksReport, update_packs};
use super::upload::{RESUMABLE_MIN_BYTES, Upload};
use super::{SyncOptions, SyncProgress, SyncReport};
use crate::pull::PullReport;
use crate::store::Store;

/// The smallest byte budget a 413 can shrink a batch to.
const MIN_BATCH_BYTES: usize = 512;

/// The smallest byte budget a cut link shrinks a batch to.
const MIN_LINK_BATCH_BYTES: usize = 8 * 1024;

/// The smallest pull page a cut link shrinks the page to.
const MIN_LINK_PULL_LIMIT: u32 = 200;

/// Rounds in a row that move nothing before the answers count as broken.
const MAX_IDLE_ROUNDS: u32 = 3;

/// Runs the loop against `http` until the store and the server agree.
pub(crate) fn run(
    store: &mut Store,
    http: &Http,
    options: &SyncOptions,
    progress: &mut dyn FnMut(&SyncProgress),
) -> Result<SyncReport, SyncError> {
    let own = store.device_id();
    let mut backoff = Backoff::new(options.backoff_base, options.backoff_max, seed(&own));
    let mut estimate = Estimate::default();
    let mut budget = options.batch_bytes.max(MIN_BATCH_BYTES);
    // A cut link loses the whole round in flight: after a cut, rounds get
    // smaller (so one gets through before the next cut) and grow back after
    // each success.
    let mut pull_limit = options.pull_limit;
    let start = store.sync_position()?;
    let mut p = SyncProgress {
        to_push: start.last_seq.saturating_sub(start.acked_seq),
        ..SyncProgress::default()
    };
    let mut report = SyncReport::default();
    let (mut failures, mut gaps, mut idle, mut offsets) = (0u32, 0u32, 0u32, 0u32);
    // The push cut on the way, to resume; and whether the server takes
    // resumable uploads (assumed until it answers it has none).
    let mut pending: Option<Upload> = None;
    let mut resumable = options.resume_uploads;
    super::keys::ensure_key(store, http)?;
    // Other tablets' batches go with the first rounds, each once a sync.
    let mut carried = Carried::new(store)?;
    progress(&p);
    loop {
        let position = store.sync_position()?;
        let acked = position.acked_seq;
        // Changes written by the app while the sync runs join this sync.
        p.to_push = p.to_push.max(p.pushed + position.last_seq.saturating_sub(acked));
        let template = SyncRequest {
            protocol: PROTOCOL_VERSION,
            schema_version: SCHEMA_VERSION,
            device_id: own,
            acked_seq: acked,
            pushes: WireChanges::default(),
            pull_cursor: position.pull_cursor.clone(),
            pull_limit,
            signature: None,
            carried: carried.next_round(budget),
        };
        // A push cut on the way is resumed with the same body while the
        // position it was built for holds; otherwise a new batch.
        let mut attempt = match pending.take() {
            Some(upload) if upload.is_for(acked, position.pull_cursor.as_deref()) => Attempt::Upload(upload),
            _ => {
                let batch = batch::build(store, &template, acked, budget, &mut estimate)?;
                if resumable && batch.body.len() >= RESUMABLE_MIN_BYTES {
                    Attempt::Upload(Upload::new(batch, acked, position.pull_cursor.clone()))
                } else {
                    Attempt::Plain(batch)
                }
            }
        };
        let (changes, size) = attempt.size();
        let _round = tracing::debug_span!("round", n = p.round_trips + 1, pushes = changes, bytes = size).entered();
        let sent = match &mut attempt {
            Attempt::Plain(batch) => http.sync(std::mem::take(&mut batch.body)),
            Attempt::Upload(upload) => upload.send(http),
        };
        let failure = match sent {
            Ok(exchange) => {
                failures = 0;
                offsets = 0;
                budget = budget.saturating_mul(2).min(options.batch_bytes.max(MIN_BATCH_BYTES));
                pull_limit = pull_limit.saturating_mul(2).min(options.pull_limit);
                let received_at = store.wall_now();
                p.bytes_sent += exchange.sent;
                p.bytes_received += exchange.received;
                p.round_trips += 1;
                let answer = exchange.value;
                let effect = store.apply_sync_answer(acked, &answer, received_at)?;
                carried.answered(store, &answer.carried)?;
                if effect.rewound {
                    tracing::warn!(from = effect.acked_seq + 1, "the server lost changes; resending");
                    report.resent_from = Some(effect.acked_seq + 1);
                    p.to_push += acked - effect.acked_seq;
                } else {
                    p.pushed += effect.acked_seq.saturating_sub(acked);
                }
                let pulled = u64::try_from(answer.changes.len()).unwrap_or(u64::MAX);
                p.pulled += pulled;
                p.has_more = answer.has_more;
                let moved = effect.acked_seq != acked
                    || pulled > 0
                    || !answer.carried.is_empty()
                    || position.pull_cursor.as_deref() != Some(answer.next_cursor.as_str());
                report.rejected.extend(effect.rejected);
                report.restamped += effect.restamped;
                report.clock_offset_ms = effect.clock_offset_ms;
                add_pulled(&mut report.pulled, &effect.pulled);
                tracing::debug!(
                    acked = effect.acked_seq,
                    pulled,
                    has_more = answer.has_more,
                    "round applied"
                );
                progress(&p);
                let now = store.sync_position()?;
                if now.acked_seq >= now.last_seq && !answer.has_more && carried.is_empty() {
                    break;
                }
                idle = if moved { 0 } else { idle + 1 };
                if idle >= MAX_IDLE_ROUNDS {
                    return Err(SyncError::BadAnswer {
                        detail: format!(
                            "{idle} answers in a row neither confirmed a change nor gave one (the server confirms up to seq {})",
                            answer.last_applied_seq
                        ),
                    });
                }
                continue;
            }
            Err(failure) => failure,
        };
        let mut upload = match attempt {
            Attempt::Upload(upload) => Some(upload),
            Attempt::Plain(_) => None,
        };
        match failure {
            HttpFailure::Status(answer) if upload.is_some() && is_upload_offset(&answer) => {
                // The server named where the upload goes on: at once.
                offsets += 1;
                if offsets > options.max_attempts.max(1) {
                    return Err(answer.to_error());
                }
                if let Some(mut upload) = upload {
                    upload.go_on_at(answer.upload_offset.unwrap_or(0));
                    tracing::info!(offset = answer.upload_offset, "upload goes on where the server says");
                    pending = Some(upload);
                }
            }
            HttpFailure::Status(answer) if upload.is_some() && is_unknown_path(&answer) => {
                // A server from before resumable uploads: plain syncs.
                tracing::info!("the server has no resumable uploads; sending plain syncs");
                resumable = false;
            }
            HttpFailure::Link(e) if upload.is_some() => {
                failures += 1;
                if !e.is_transient() || failures >= options.max_attempts {
                    return Err(e);
                }
                p.retries += 1;
                progress(&p);
                // Ask at once how much arrived; a cut that still moved the
                // upload on is the link, not a server to spare: go on now.
                if let Some(up) = upload.as_mut()
                    && let Ok((held, received)) = up.probe(http)
                {
                    p.bytes_received += received;
                    if up.advanced() {
                        tracing::info!(held, failures, "push cut; resuming where the server's bytes end");
                        failures = 0;
                        pending = upload;
                        continue;
                    }
                }
                pending = upload;
                let wait = backoff.delay(failures, None);
                tracing::info!(
                    failures,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    error = e.kind(),
                    "upload failed; retrying"
                );
                std::thread::sleep(wait);
            }
            HttpFailure::Status(answer) if is_seq_gap(&answer) => {
                p.bytes_sent += size;
                gaps += 1;
                let resend_from = seq_gap_restart(&answer, acked, position.last_seq, position.pruned_seq)?;
                if gaps > options.max_attempts.max(1) {
                    return Err(SyncError::BadAnswer {
                        detail: format!("the server keeps asking for seq {resend_from} although it was sent"),
                    });
                }
                tracing::warn!(from = resend_from, "seq gap: resending from the seq the server needs");
                store.rewind_acked(resend_from - 1)?;
                p.to_push += acked.saturating_sub(resend_from - 1);
                report.resent_from = Some(resend_from);
            }
            HttpFailure::Status(answer) if answer.status == 413 => {
                p.bytes_sent += size;
                if changes <= 1 || budget <= MIN_BATCH_BYTES {
                    return Err(SyncError::Refused {
                        status: 413,
                        message: format!(
                            "even a request of {size} bytes with {changes} change(s) is too large for the server"
                        ),
                        field: None,
                    });
                }
                budget = (budget / 2).max(MIN_BATCH_BYTES);
                tracing::info!(budget, "request too large; halving the batch");
            }
            other => {
                let (error, asked_wait) = match other {
                    HttpFailure::Link(e) => {
                        if changes > 1 {
                            budget = (budget / 2).max(MIN_LINK_BATCH_BYTES.min(budget));
                        }
                        pull_limit = (pull_limit / 2).max(MIN_LINK_PULL_LIMIT.min(pull_limit));
                        (e, None)
                    }
                    HttpFailure::Status(answer) => {
                        p.bytes_sent += size;
                        p.bytes_received += answer.received;
                        (answer.to_error(), answer.retry_after)
                    }
                };
                failures += 1;
                if !error.is_transient() || failures >= options.max_attempts {
                    return Err(error);
                }
                p.retries += 1;
                progress(&p);
                let wait = backoff.delay(failures, asked_wait);
                tracing::info!(
                    failures,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    error = error.kind(),
                    "round failed; retrying"
                );
                std::thread::sleep(wait);
            }
        }
    }
    store.mark_synced()?;
    report.packs = if options.fetch_packs {
        update_packs(store, http)?
    } else {
        PacksReport::default()
    };
    p.bytes_received += report.packs.bytes_received;
    report.progress = p;
    report.finished_at = format_timestamp(store.now());
    Ok(report)
}

/// The carried batches still to send in this sync.
#[derive(Debug)]
struct Carried {
    waiting: std::collections::VecDeque<SignedBatch>,
    in_flight: usize,
}

impl Carried {
    fn new(store: &Store) -> Result<Carried, SyncError> {
        Ok(Carried {
            waiting: store.carried(usize::MAX)?.into(),
            in_flight: 0,
        })
    }

    /// The batches for the next round: the ones the last round did not get
    /// answered, then more up to about `budget` compressed bytes (JSON
    /// compresses about four times; at least one batch).
    fn next_round(&mut self, budget: usize) -> Vec<SignedBatch> {
        let mut bytes = 0usize;
        let mut n = 0usize;
        for batch in &self.waiting {
            let size = batch.changes.len() * 120;
            if n > 0 && (bytes + size > budget.saturating_mul(4) || n >= CARRIED_PER_ROUND) {
                break;
            }
            bytes += size;
            n += 1;
        }
        self.in_flight = n;
        self.waiting.iter().take(n).cloned().collect()
    }

    /// The server answered for the batches in flight.
    fn answered(&mut self, store: &mut Store, outcomes: &[CarriedOutcome]) -> Result<(), SyncError> {
        store.settle_carried(outcomes)?;
        if outcomes.len() == self.in_flight {
            self.waiting.drain(..self.in_flight);
        } else if self.in_flight > 0 {
            // A server before protocol 2 ignores them: carry them on.
            tracing::info!(
                sent = self.in_flight,
                "the server did not answer for carried batches; they stay"
            );
            self.waiting.clear();
        }
        self.in_flight = 0;
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

/// Most carried batches in one round.
const CARRIED_PER_ROUND: usize = 64;

/// One round's request: a plain sync, or a resumable upload.
#[derive(Debug)]
enum Attempt {
    Plain(batch::Batch),
    Upload(Upload),
}

impl Attempt {
    /// Changes pushed and bytes of the whole request.
    fn size(&self) -> (usize, u64) {
        let (changes, bytes) = match self {
            Attempt::Plain(batch) => (batch.changes, batch.body.len()),
            Attempt::Upload(upload) => (upload.changes, upload.body_len()),
        };
        (changes, u64::try_from(bytes).unwrap_or(u64::MAX))
    }
}

fn is_upload_offset(answer: &ErrorAnswer) -> bool {
    answer.status == 409 && answer.body.as_ref().is_some_and(|b| b.error == ErrorCode::UploadOffset)
}

/// 404 or 405 without the protocol's error body: no such endpoint.
fn is_unknown_path(answer: &ErrorAnswer) -> bool {
    matches!(answer.status, 404 | 405) && answer.body.is_none()
}

fn is_seq_gap(answer: &ErrorAnswer) -> bool {
    answer.status == 409 && answer.body.as_ref().is_some_and(|b| b.error == ErrorCode::SeqGap)
}

/// The seq to resend from after a seq-gap answer, checked against the
/// outbox: the server may need changes it had confirmed (restored from a
/// backup), never ones this device has not written.
fn seq_gap_restart(answer: &ErrorAnswer, acked: u64, last_seq: u64, pruned: u64) -> Result<u64, SyncError> {
    let expected = answer.body.as_ref().and_then(|b| b.expected_seq).unwrap_or(0);
    if expected == 0 {
        return Err(SyncError::BadAnswer {
            detail: "a seq-gap answer without a valid expected_seq".to_owned(),
        });
    }
    if expected - 1 > last_seq {
        return Err(SyncError::Diverged {
            server_seq: expected - 1,
            device_seq: last_seq,
        });
    }
    if expected <= pruned {
        return Err(SyncError::OfficeLost {
            from: expected,
            to: pruned,
        });
    }
    if expected > acked + 1 {
        return Err(SyncError::BadAnswer {
            detail: format!(
                "the server asks for seq {expected} but this device sent from {}, which it had not confirmed",
                acked + 1
            ),
        });
    }
    Ok(expected)
}

fn add_pulled(total: &mut PullReport, page: &PullReport) {
    total.merged += page.merged;
    total.duplicates += page.duplicates;
    total.own += page.own;
    total.invalid += page.invalid;
    total.conflicts += page.conflicts;
    total.waiting = page.waiting;
}
