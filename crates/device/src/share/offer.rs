//! Building this tablet's offer, and taking another's in.

use doorstep_core::protocol::PROTOCOL_VERSION;
use doorstep_core::protocol::share::Offer;

use super::ShareError;
use crate::carry::CarryReport;
use crate::store::Store;

/// Most batches one offer carries (a village's tablets' days).
const MAX_OFFER_BATCHES: usize = 512;

/// This tablet's offer: its own unsent changes, signed, then what it
/// carries, and what it knows of origins' positions. Refused on a tablet
/// that has no key from the server yet (it has never synced as protocol 2).
pub fn offer(store: &Store) -> Result<Offer, ShareError> {
    let commune = store
        .commune()?
        .ok_or_else(|| ShareError::Refused("this tablet is not enrolled: enrol it with the office first".to_owned()))?;
    if store.device_cert()?.is_none() {
        return Err(ShareError::Refused(
            "this tablet has no signing key from the office yet: sync with the office once first".to_owned(),
        ));
    }
    let mut batches = store.own_batches()?;
    let room = MAX_OFFER_BATCHES.saturating_sub(batches.len());
    batches.extend(store.carried(room)?);
    Ok(Offer {
        protocol: PROTOCOL_VERSION,
        device: store.device_id(),
        commune,
        batches,
        acks: store.origin_acks()?,
    })
}

/// The last own seq an offer of `store` hands on.
pub(super) fn own_last_seq(store: &Store, offer: &Offer) -> Option<u64> {
    let own = store.device_id();
    offer
        .batches
        .iter()
        .filter(|b| b.origin == own)
        .filter_map(|b| b.seq_range().map(|(_, last)| last))
        .max()
}

/// Takes `offer` (another tablet's) into `store`: the origins' positions
/// first (so what the office already has is not kept), then every batch
/// this tablet may carry. Refused whole when the offer is of another
/// commune or from this tablet itself.
pub fn take_offer(store: &mut Store, offer: &Offer) -> Result<CarryReport, ShareError> {
    let commune = store.commune()?;
    if commune != Some(offer.commune) {
        return Err(ShareError::Refused(
            "the two tablets work for different communes; they share nothing".to_owned(),
        ));
    }
    if offer.device == store.device_id() {
        return Err(ShareError::Refused("that is this tablet's own code".to_owned()));
    }
    store.learn_acks(&offer.acks)?;
    let report = store.carry(&offer.batches, offer.device)?;
    tracing::info!(
        from = %offer.device,
        kept = report.kept,
        changes = report.changes,
        known = report.known,
        refused = report.refused.len(),
        "offer taken"
    );
    Ok(report)
}
