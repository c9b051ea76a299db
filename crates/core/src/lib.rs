//! `doorstep-core`: the vocabulary every part of Doorstep shares.
//!
//! Ids, the hybrid logical clock, the entities of a door-to-door campaign
//! with their validated field types, change records and the merge rules that
//! make replicas converge, and the checklist-pack model.
//!
//! **Architecture invariant:** this crate does no I/O - no files, no SQL, no
//! network, no reading the clock except through `Id::new()`. Callers pass the
//! time in. That keeps the merge rules testable as pure functions and lets
//! the tablet and the server share them exactly.

#[macro_use]
mod macros;

pub mod change;
pub mod coverage;
pub mod entities;
pub mod hlc;
pub mod ids;
pub mod illustration;
pub mod labels;
pub mod merge;
pub mod pack;
pub mod phone;
pub mod progress;
pub mod protocol;
pub mod replica;
pub mod schema;
pub mod sign;
pub mod text;
pub mod vocab;
