//! The scanning tablet's side: one sealed round trip to the listener.

use std::io::Read;
use std::time::{Duration, Instant};

use doorstep_core::protocol::share::{Offer, PATH};
use serde::Serialize;

use super::seal::{self, Direction};
use super::{Pairing, ShareError, offer, take_offer};
use crate::carry::CarryReport;
use crate::store::Store;

/// What one exchange did, for the screen and the benchmark.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExchangeReport {
    /// Batches this tablet handed over.
    pub sent_batches: u64,
    /// Changes in them.
    pub sent_changes: u64,
    /// What this tablet kept of the other's offer.
    pub received: CarryReport,
    /// Bytes on the wire each way.
    pub bytes_sent: u64,
    /// Bytes on the wire back.
    pub bytes_received: u64,
    /// HTTP round trips (one).
    pub round_trips: u64,
    /// How long it took, in milliseconds.
    pub took_ms: u64,
}

/// Exchanges with the tablet whose code is `pairing`: sends this tablet's
/// offer, keeps what it may carry of the answer. A blocking call.
pub fn exchange(store: &mut Store, pairing: &Pairing, timeout: Duration) -> Result<ExchangeReport, ShareError> {
    let started = Instant::now();
    let mine = offer(store)?;
    let body = pack(&mine)
        .and_then(|g| seal::seal(&pairing.secret, Direction::Request, &g))
        .ok_or_else(|| ShareError::Refused("this tablet could not seal its offer".to_owned()))?;
    let addr = pairing.addr.to_string();
    let unreachable = |detail: String| ShareError::Unreachable {
        addr: addr.clone(),
        detail,
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| unreachable(e.to_string()))?;
    let bytes_sent = body.len() as u64;
    let response = client
        .post(format!("http://{addr}{PATH}"))
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .map_err(|e| unreachable(e.to_string()))?;
    let status = response.status().as_u16();
    let mut answer = Vec::new();
    response
        .take(64 * 1024 * 1024)
        .read_to_end(&mut answer)
        .map_err(|e| unreachable(format!("the answer was cut: {e}")))?;
    if status != 200 {
        let text = String::from_utf8_lossy(&answer).chars().take(300).collect::<String>();
        return Err(ShareError::Refused(text));
    }
    let theirs = seal::open(&pairing.secret, Direction::Answer, &answer)
        .and_then(|g| unpack(&g))
        .ok_or_else(|| ShareError::BadAnswer("it does not open under this code".to_owned()))?;
    let received = take_offer(store, &theirs)?;
    if let Some(seq) = super::offer::own_last_seq(store, &mine) {
        store.mark_shared(seq)?;
    }
    Ok(ExchangeReport {
        sent_batches: mine.batches.len() as u64,
        sent_changes: mine.batches.iter().map(|b| b.changes.len() as u64).sum(),
        received,
        bytes_sent,
        bytes_received: answer.len() as u64,
        round_trips: 1,
        took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// An offer as gzipped JSON.
pub(super) fn pack(offer: &Offer) -> Option<Vec<u8>> {
    serde_json::to_vec(offer)
        .ok()
        .map(|json| crate::sync::gzip_bytes(&json))
}

/// An offer from gzipped JSON (at most 256 MiB once inflated).
pub(super) fn unpack(gzipped: &[u8]) -> Option<Offer> {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(gzipped)
        .take(256 * 1024 * 1024)
        .read_to_end(&mut json)
        .ok()?;
    serde_json::from_slice(&json).ok()
}
