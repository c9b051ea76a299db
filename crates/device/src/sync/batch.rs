//! Building one sync request: as many outbox changes as fit in the byte
//! budget *after* gzip, and always at least one.
//!
//! The budget is on compressed bytes because that is what a 2G link
//! carries and what a cut wastes. The compression ratio is only known by
//! compressing, so the builder guesses a count (from the last batch's
//! bytes per change when there was one), compresses, and narrows the count
//! between "fits" and "too big" in a few steps.

use doorstep_core::change::Change;
use doorstep_core::ids::DeviceId;
use doorstep_core::protocol::{SyncRequest, WireChanges};
use doorstep_core::sign::{SigningKey, batch_message};

use super::http::gzip;
use crate::error::{Result, StoreError};
use crate::store::Store;

/// No batch carries more changes than this, whatever the budget.
pub(crate) const MAX_BATCH_CHANGES: usize = 5000;

/// The count tried first when nothing has been measured yet.
const FIRST_GUESS: usize = 200;

/// Compress-and-measure attempts per batch before taking the best so far.
const MAX_TRIES: usize = 8;

/// A built request.
#[derive(Debug)]
pub(crate) struct Batch {
    /// The gzip-compressed JSON request.
    pub body: Vec<u8>,
    /// The changes it pushes.
    pub changes: usize,
}

/// What the last batches measured: compressed bytes per change.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Estimate {
    bytes_per_change: Option<f64>,
}

impl Estimate {
    fn guess(&self, budget: usize) -> usize {
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        match self.bytes_per_change {
            Some(per) if per > 0.0 => ((budget as f64 / per) * 0.9) as usize,
            _ => FIRST_GUESS,
        }
    }
}

/// Builds the request pushing the outbox changes after `after`, within
/// `budget` compressed bytes. `request` carries everything but the pushes.
pub(crate) fn build(
    store: &Store,
    request: &SyncRequest,
    after: u64,
    budget: usize,
    estimate: &mut Estimate,
) -> Result<Batch> {
    let mut pending = Pending::new(store, after);
    let key = store.signing_key()?;
    let signer = key.as_ref().map(|k| (k, request.device_id));
    // The largest count known to fit (with its body), and the smallest
    // known not to; each try scales the count by how far it was off.
    let mut fits: Option<(usize, Vec<u8>)> = None;
    let mut too_big = usize::MAX;
    let mut want = estimate.guess(budget).clamp(1, MAX_BATCH_CHANGES);
    for _ in 0..MAX_TRIES {
        let available = pending.ensure(want)?;
        let k = want.min(available);
        let body = encode(request, &pending.changes[..k], signer)?;
        if k == 0 {
            return Ok(Batch { body, changes: 0 });
        }
        let size = body.len();
        if size <= budget {
            let full = (k == available && pending.exhausted) || k >= MAX_BATCH_CHANGES || size * 100 >= budget * 85;
            fits = Some((k, body));
            if full {
                break;
            }
        } else {
            too_big = too_big.min(k);
        }
        let lo = fits.as_ref().map_or(0, |(n, _)| *n) + 1;
        let hi = too_big.saturating_sub(1).min(MAX_BATCH_CHANGES);
        if lo > hi {
            break;
        }
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let scaled = ((k as f64) * (budget as f64) / (size.max(1) as f64) * 0.95) as usize;
        want = scaled.clamp(lo, hi);
    }
    let (k, body) = match fits {
        Some(best) => best,
        // Not even one change fits: send one anyway, or nothing ever moves.
        None => (1, encode(request, &pending.changes[..1], signer)?),
    };
    let overhead = encode(request, &[], signer)?.len();
    #[allow(clippy::cast_precision_loss)]
    let per = body.len().saturating_sub(overhead).max(1) as f64 / k as f64;
    estimate.bytes_per_change = Some(per);
    Ok(Batch { body, changes: k })
}

/// The gzipped request pushing `changes`, signed by the device's key
/// when it has one (protocol 2; an empty push is not signed).
fn encode(template: &SyncRequest, changes: &[Change], signer: Option<(&SigningKey, DeviceId)>) -> Result<Vec<u8>> {
    let pushes = WireChanges::encode(changes);
    let signature = match signer {
        Some((key, own)) if !pushes.is_empty() => Some(key.sign(&batch_message(own, &pushes))),
        _ => None,
    };
    let request = SyncRequest {
        pushes,
        signature,
        ..template.clone()
    };
    let json = serde_json::to_vec(&request).map_err(|e| StoreError::Stored(format!("encoding a sync request: {e}")))?;
    Ok(gzip(&json))
}

/// Outbox changes read so far, read further on demand.
struct Pending<'s> {
    store: &'s Store,
    after: u64,
    changes: Vec<Change>,
    exhausted: bool,
}

impl<'s> Pending<'s> {
    fn new(store: &'s Store, after: u64) -> Pending<'s> {
        Pending {
            store,
            after,
            changes: Vec::new(),
            exhausted: false,
        }
    }

    /// Reads up to `n` changes in all; returns how many there are.
    fn ensure(&mut self, n: usize) -> Result<usize> {
        if self.changes.len() < n && !self.exhausted {
            let from = self.changes.last().map_or(self.after, |c| c.seq);
            let more = self.store.outbox_after(from, n - self.changes.len())?;
            if self.changes.len() + more.len() < n {
                self.exhausted = true;
            }
            self.changes.extend(more);
        }
        Ok(self.changes.len())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use doorstep_core::protocol::{PROTOCOL_VERSION, SCHEMA_VERSION};

    use super::*;
    use crate::demo::{DemoOptions, load_demo};
    use crate::store::CreateOptions;

    fn demo() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("dir");
        let mut store = Store::create(&dir.path().join("d.db"), CreateOptions::default()).expect("store");
        let today = store.today();
        load_demo(&mut store, DemoOptions { history: true, today }).expect("demo");
        (dir, store)
    }

    fn template(store: &Store) -> SyncRequest {
        SyncRequest {
            protocol: PROTOCOL_VERSION,
            schema_version: SCHEMA_VERSION,
            device_id: store.device_id(),
            acked_seq: 0,
            pushes: WireChanges::default(),
            pull_cursor: Some("42".to_owned()),
            pull_limit: 2000,
            signature: None,
            carried: Vec::new(),
        }
    }

    fn decode(body: &[u8]) -> SyncRequest {
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(body).read_to_end(&mut json).expect("gzip");
        serde_json::from_slice(&json).expect("json")
    }

    #[test]
    fn a_batch_fills_its_compressed_budget_without_passing_it() {
        let (_dir, store) = demo();
        let total = store.sync_position().expect("position").last_seq;
        let mut estimate = Estimate::default();
        let mut after = 0;
        let mut batches = 0;
        while after < total {
            let batch = build(&store, &template(&store), after, 8 * 1024, &mut estimate).expect("batch");
            assert!(batch.body.len() <= 8 * 1024, "{} bytes", batch.body.len());
            let request = decode(&batch.body);
            let seqs: Vec<u64> = request
                .pushes
                .decode()
                .expect("changes")
                .iter()
                .map(|c| c.seq)
                .collect();
            assert_eq!(seqs.len(), batch.changes);
            assert_eq!(
                seqs,
                (after + 1..=after + seqs.len() as u64).collect::<Vec<_>>(),
                "in seq order, no gap"
            );
            assert_eq!(request.pull_cursor.as_deref(), Some("42"));
            after += seqs.len() as u64;
            batches += 1;
            if after < total {
                assert!(
                    batch.body.len() >= 4 * 1024,
                    "only {} bytes with more to send",
                    batch.body.len()
                );
            }
        }
        assert!(batches > 2, "{total} changes in {batches} batches");
    }

    #[test]
    fn one_change_goes_even_when_it_alone_is_over_the_budget() {
        let (_dir, store) = demo();
        let batch = build(&store, &template(&store), 0, 10, &mut Estimate::default()).expect("batch");
        assert_eq!(batch.changes, 1);
        assert_eq!(decode(&batch.body).pushes.len(), 1);
    }

    #[test]
    fn nothing_to_push_gives_a_pull_only_request() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::create(&dir.path().join("d.db"), CreateOptions::default()).expect("store");
        let batch = build(&store, &template(&store), 0, 64 * 1024, &mut Estimate::default()).expect("batch");
        assert_eq!(batch.changes, 0);
        let request = decode(&batch.body);
        assert!(request.pushes.is_empty());
        assert_eq!(request.pull_limit, 2000);
    }
}
