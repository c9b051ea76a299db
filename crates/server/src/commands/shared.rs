//! What every command uses: the [`Failure`] that decides the exit code,
//! printing to standard output, and opening the store.

use std::io::Write;
use std::path::Path;

use doorstep_office::admin::AdminError;
use doorstep_store::StoreError;
use doorstep_store::any::AnyStore;

/// Why a command stopped; `main` turns it into the exit code.
pub(crate) enum Failure {
    /// Bad input, nothing was written: exit code 2.
    Input(String),
    /// The database, the disk or the network failed: exit code 1.
    System(String),
    /// `doctor` found a failing check (already printed): exit code 2.
    Checks,
}

impl From<AdminError> for Failure {
    fn from(e: AdminError) -> Failure {
        match e {
            AdminError::Input(m) => Failure::Input(m),
            AdminError::Store(s) => s.into(),
            AdminError::Register(r) => Failure::Input(r.to_string()),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        match e {
            StoreError::Refused(m) => Failure::Input(m),
            other => Failure::System(other.to_string()),
        }
    }
}

/// Opens (and if need be makes and migrates) the office database.
pub(crate) async fn open(db: &str, key_file: Option<&Path>) -> Result<AnyStore, Failure> {
    Ok(AnyStore::open_keyed(db, key_file).await?)
}

/// Writes one line to standard output; a reader that went away
/// (`... | head`) is not an error.
pub(crate) fn out(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::System(format!("writing output: {e}"))),
        _ => Ok(()),
    }
}

/// Prints a value as pretty JSON.
pub(crate) fn json(value: &impl serde::Serialize) -> Result<(), Failure> {
    out(&serde_json::to_string_pretty(value).map_err(|e| Failure::System(e.to_string()))?)
}

/// Writes bytes (a CSV or XLSX file) to standard output as they are.
pub(crate) fn out_bytes(bytes: &[u8]) -> Result<(), Failure> {
    std::io::stdout()
        .lock()
        .write_all(bytes)
        .map_err(|e| Failure::System(format!("writing output: {e}")))
}

/// Writes a file, naming it if that fails.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    std::fs::write(path, bytes).map_err(|e| Failure::System(format!("cannot write {}: {e}", path.display())))
}
