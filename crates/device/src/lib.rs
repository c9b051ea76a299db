//! `doorstep-device`: the tablet's side of Doorstep.
//!
//! One SQLite file per device holds the campaign's places, the households
//! of the device's commune, visits, checklist runs and step events, and the
//! **outbox** of every change made here. The app (`src-tauri`) and the
//! `doorstep` CLI are thin layers over [`Store`].
//!
//! **Architecture invariants**
//! - Every domain write goes through [`Writer`]: the row, its change record
//!   and the outbox entry (with the next gap-free `seq`) commit together.
//! - Pulled changes are merged by `doorstep-core`'s rules in one transaction
//!   with the pull cursor ([`Store::apply_pulled`]).
//! - Only [`sync`]'s `http` module knows HTTP; the rest of the sync client
//!   moves change records between the outbox, the store and the wire types
//!   of `doorstep_core::protocol`, and applies each answer in one
//!   transaction.
//! - Personal data (names, phones) and the device token never go to logs.

mod apply;
pub mod carry;
pub mod checklist;
pub mod demo;
pub mod digest;
pub mod encrypt;
mod error;
pub mod export;
pub mod import;
pub mod key;
pub mod lock;
pub mod outbox;
pub mod packs;
pub mod people;
pub mod pull;
pub mod queries;
pub mod share;
mod store;
pub mod sync;
mod write;

pub use error::{Result, StoreError};
pub use store::{CreateOptions, SCHEMA_VERSION, Store, StoreKey, WallClock};
pub use write::Writer;
