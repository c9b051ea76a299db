//! `doorstep-server`: the central endpoint of a Doorstep campaign.
//!
//! Tablets enrol with a one-time code, then sync: each round trip pushes a
//! batch of their outbox (applied exactly once, in seq order) and pulls a
//! page of their commune's changes (from a cursor). The office's own writes
//! (campaigns, places, members, imported households) are changes too,
//! written under the server's own device id, so everything reaches the
//! tablets the same way.
//!
//! **Architecture invariants**
//! - All push rules live in `doorstep-ingest` (pure); a
//!   [`Store`](doorstep_store::Store) only loads and writes, in one
//!   transaction per request.
//! - Merging uses `doorstep-core`'s rules, the same as the tablets.
//! - Tokens and enrolment codes are stored only as keyed hashes (`doorstep_store::auth`).
//! - Logs carry ids and counts, never names, phones or tokens.

pub mod api;
pub mod backups;
pub mod doctor;
pub mod logging;
pub mod metrics;
pub mod serve;
pub mod uploads;
