//! `doorstep-office`: what a team lead does at the commune office, over any
//! [`Store`](doorstep_store::Store) - the `doorstep-server` subcommands and
//! the dashboard's forms call the same functions.
//!
//! **Invariants**
//! - No SQL: every read and write goes through the store's traits, and
//!   everything the tablets must see is an office change
//!   ([`doorstep_ingest::OfficeWrite`]), so it reaches them by the normal pull.
//! - [`export`] is pure: the same filter gives the same file from the
//!   command line and from the dashboard.
//! - Secrets handed out (enrolment codes) are shown once and stored hashed;
//!   [`attempts`] bounds how often anything guessable may be tried.

pub mod admin;
pub mod attempts;
pub mod export;
