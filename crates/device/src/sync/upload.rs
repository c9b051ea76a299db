//! A push sent as a resumable upload (`doorstep_core::protocol::upload`).
//!
//! The gzipped request is built once and named by its SHA-256. The first
//! attempt sends it whole, like a plain sync; when the link cuts it, the
//! server keeps what arrived, the device asks how much (one small request)
//! and sends only the rest. The body never changes between attempts, so the
//! server joins the pieces and answers exactly as for a plain sync; a body
//! applied twice is harmless (exactly-once is by device and seq).

use doorstep_core::protocol::SyncResponse;
use sha2::{Digest, Sha256};

use super::batch::Batch;
use super::http::{Exchange, Http, HttpFailure};

/// Requests smaller than this go as plain syncs: resending one whole costs
/// less than asking where to resume (a 2G round trip is about 400 ms, the
/// time of 3 KB at 8 KB/s).
pub(crate) const RESUMABLE_MIN_BYTES: usize = 4 * 1024;

/// One push in flight, kept across failed attempts.
#[derive(Debug)]
pub(crate) struct Upload {
    /// SHA-256 of `body`, in hex: the upload's name.
    key: String,
    /// The gzipped request.
    body: Vec<u8>,
    /// Changes it pushes.
    pub changes: usize,
    /// The acked seq and pull cursor it was built for: it is only resumed
    /// while they are still the store's.
    acked: u64,
    cursor: Option<String>,
    /// Where the next piece starts, when known; `None` after a failed
    /// piece until the server says how much it holds.
    from: Option<usize>,
    /// Where the last piece sent started.
    last_from: usize,
}

impl Upload {
    /// The upload of a built batch.
    pub(crate) fn new(batch: Batch, acked: u64, cursor: Option<String>) -> Upload {
        let key = Sha256::digest(&batch.body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        Upload {
            key,
            body: batch.body,
            changes: batch.changes,
            acked,
            cursor,
            from: Some(0),
            last_from: 0,
        }
    }

    /// Bytes of the whole request.
    pub(crate) fn body_len(&self) -> usize {
        self.body.len()
    }

    /// Whether this upload is still the round to do at this position.
    pub(crate) fn is_for(&self, acked: u64, cursor: Option<&str>) -> bool {
        self.acked == acked && self.cursor.as_deref() == cursor
    }

    /// Where a refused piece should go on, as the server named it.
    pub(crate) fn go_on_at(&mut self, offset: u64) {
        self.from = usize::try_from(offset).ok().filter(|&o| o <= self.body.len());
    }

    /// Sends the next piece (asking first where to start, when that is not
    /// known). Returns the answer and the bytes sent and received,
    /// including the probe's.
    pub(crate) fn send(&mut self, http: &Http) -> Result<Exchange<SyncResponse>, HttpFailure> {
        let mut received = 0;
        let from = match self.from {
            Some(from) => from,
            None => {
                let (held, bytes) = self.probe(http)?;
                received += bytes;
                held
            }
        };
        self.from = None;
        self.last_from = from;
        let mut exchange = http.upload_piece(&self.key, &self.body, from)?;
        exchange.received += received;
        Ok(exchange)
    }

    /// Asks the server how many bytes it holds and resumes from there next
    /// time. Returns them and the answer's bytes.
    pub(crate) fn probe(&mut self, http: &Http) -> Result<(usize, u64), HttpFailure> {
        let exchange = http.upload_probe(&self.key)?;
        // More than the body is not a resume point; start again.
        let held = usize::try_from(exchange.value)
            .ok()
            .filter(|&h| h <= self.body.len())
            .unwrap_or(0);
        self.from = Some(held);
        Ok((held, exchange.received))
    }

    /// Whether the server holds more than when the last piece started: the
    /// failed attempt still moved the upload on.
    pub(crate) fn advanced(&self) -> bool {
        self.from.is_some_and(|f| f > self.last_from)
    }
}
