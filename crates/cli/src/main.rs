//! `doorstep`: a thin command line over `doorstep-device`.
//!
//! `main` parses flags, opens the store, runs one command and prints its
//! result (as a table or, with `--json`, as JSON). Errors print once, on one
//! line, naming the bad value; the exit code says whose fault it was: 2 for
//! bad input or a refusal by the server (a value, a file, a name, a damaged
//! or newer database file, a revoked device), 3 when the server could not
//! be reached or answered unreadably, 1 when SQLite or the disk failed while
//! working.

mod cli;
mod commands;
mod output;
mod pack_history;
mod values;

use std::process::ExitCode;

use clap::Parser;
use doorstep_device::StoreError;
use doorstep_device::import::ImportError;
use doorstep_device::sync::SyncError;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if reader_went_away(&err) => ExitCode::SUCCESS,
        Err(err) => {
            output::error(&err);
            ExitCode::from(exit_code(&err))
        }
    }
}

/// `doorstep export | head`: the reader closing the pipe is not an error.
fn reader_went_away(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// 2 for anything the user can fix by changing the input (or that the
/// server refused); 3 when the network or the server failed; 1 for failures
/// of the database file or the machine.
fn exit_code(err: &anyhow::Error) -> u8 {
    if let Some(sync) = err.downcast_ref::<SyncError>() {
        if sync.is_network() {
            return 3;
        }
        if !matches!(sync, SyncError::Store(_)) {
            return 2;
        }
    }
    let store = err
        .downcast_ref::<StoreError>()
        .or_else(|| match err.downcast_ref::<ImportError>() {
            Some(ImportError::Store(e)) => Some(e),
            _ => None,
        })
        .or_else(|| match err.downcast_ref::<SyncError>() {
            Some(SyncError::Store(e)) => Some(e),
            _ => None,
        });
    match store {
        Some(StoreError::Sqlite(_) | StoreError::Stored(_) | StoreError::Export(_)) => 1,
        _ => 2,
    }
}
