//! "Share with a nearby tablet": two tablets of one commune, or a tablet
//! and a village hub, hand each other their unsent work over the local
//! network, with no server in reach (`doorstep_core::protocol::share`).
//!
//! One side listens ([`Listener`]) and shows a QR code ([`Pairing`]: its
//! address, port and a one-time secret); the other scans it and calls
//! [`exchange`]. One round trip: the caller's [`Offer`] goes, the
//! listener's comes back. Each carries its sender's own unsent changes as
//! batches it signed, the batches it carries for others, and what it knows
//! of each origin's position on the server. Each side keeps what it may
//! carry ([`Store::carry`]) and hands it to the office at its next sync.
//!
//! Module map: `pairing` (the QR code's text and picture), `seal` (the
//! bodies sealed under the pairing secret), `offer` (building an offer and
//! taking one in), `listen` (the endpoint), `exchange` (the caller).
//!
//! **Invariants**
//! - Nothing crosses the network in the clear: both bodies are sealed with
//!   ChaCha20-Poly1305 under keys derived from the secret, which travels
//!   only in the QR code. A wrong or spent secret is refused before
//!   anything is read.
//! - A one-time secret is spent by the first exchange that succeeds; the
//!   listener then shows a new one.
//! - Own changes count as handed on (`CarryStatus::handed_on`) only once
//!   the other side has them: the caller after the answer arrived, the
//!   listener after its answer was written.

mod exchange;
mod listen;
mod offer;
mod pairing;
mod seal;

pub use exchange::{ExchangeReport, exchange};
pub use listen::{Listener, Reuse};
pub use offer::{offer, take_offer};
pub use pairing::Pairing;

use doorstep_core::protocol::share::Offer;

use crate::store::Store;

/// What went wrong in an exchange, in words for the volunteer.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    /// The scanned text is not a Doorstep pairing code.
    #[error("this is not a Doorstep sharing code: {0}")]
    BadCode(String),
    /// The other tablet could not be reached.
    #[error(
        "the other tablet did not answer at {addr}: {detail}. Are both on the same Wi-Fi, with its sharing screen open?"
    )]
    Unreachable {
        /// Its address.
        addr: String,
        /// What failed.
        detail: String,
    },
    /// The other side refused.
    #[error("the other tablet refused: {0}")]
    Refused(String),
    /// What came back is not a sealed offer under this code.
    #[error("the other tablet's answer could not be read: {0}")]
    BadAnswer(String),
    /// This tablet cannot share yet, or its store failed.
    #[error(transparent)]
    Store(#[from] crate::error::StoreError),
}

/// The listener's side of one exchange: takes `offer` into `store` and
/// gives this tablet's own offer back. Refused (nothing kept) when the
/// offer is of another commune.
pub fn answer(store: &mut Store, offer: &Offer) -> Result<(Offer, crate::carry::CarryReport), ShareError> {
    let report = take_offer(store, offer)?;
    Ok((self::offer(store)?, report))
}
