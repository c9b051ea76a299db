//! `doorstep-register`: reading a commune's household register from CSV,
//! as commune offices keep them in spreadsheets.
//!
//! The tablet (`doorstep import households`) and the server
//! (`doorstep-server import households`) import the same files with the
//! same rules, so the rules live here, once. This crate only *reads*: the
//! caller hands in the file's bytes, the villages it knows and the
//! households already on its register, and gets back valid
//! [`Household`](doorstep_core::entities::Household)s to write (each with
//! its line) and an [`ImportReport`]. Writing them, in one transaction, is
//! the caller's job.
//!
//! The rules:
//! - The bytes must be UTF-8 (a byte-order mark is fine). UTF-16 and the
//!   legacy Vietnamese encodings are refused, naming the first bad line and
//!   how to re-save the file ([`decode`]).
//! - The delimiter (comma, semicolon, tab) is taken from the header line.
//! - Headers are recognised in Vietnamese or English, with or without
//!   diacritics ([`columns`]); unknown columns are ignored and listed.
//! - The whole file is checked before anything is written: every bad row is
//!   reported with its line, column and reason, and a file with bad rows
//!   yields nothing unless the caller asks to skip them.
//! - A row's village is matched by name (case and diacritics ignored) or id,
//!   within the row's commune or the one the caller names ([`villages`]).
//! - A row repeating an earlier row, or a household already on the
//!   register, is reported as a duplicate ([`duplicates`]).
//!
//! **Architecture invariant:** no I/O. No files, no SQL, no logging; the
//! time comes in as an argument.

pub mod columns;
pub mod decode;
pub mod duplicates;
mod read;
pub mod report;
pub mod villages;

pub use duplicates::{ExistingHousehold, HouseholdKey};
pub use read::{Register, RegisterRow, read_register};
pub use report::{ImportOptions, ImportReport, RegisterError, RowProblem};
pub use villages::{KnownVillage, VillageError, Villages};
