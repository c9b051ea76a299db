//! `doctor`: one line per check (or JSON); exit code 2 when one failed.

use std::path::PathBuf;

use chrono::Utc;
use doorstep_server::doctor;

use super::shared::{Failure, json, out};
use crate::cli::Cli;

/// Runs the checks on the database as it is: never made, never migrated.
pub(crate) async fn run(
    cli: &Cli,
    backup_dir: Option<PathBuf>,
    backup_every: Option<std::time::Duration>,
) -> Result<(), Failure> {
    let request = doctor::Request {
        db: cli.db.clone(),
        key_file: cli.db_key_file.clone(),
        backup_dir,
        backup_every,
    };
    let checks = doctor::run(&request, Utc::now()).await;
    if cli.json {
        json(&checks)?;
    } else {
        for c in &checks {
            out(&c.line())?;
        }
    }
    match doctor::exit_code(&checks) {
        0 => Ok(()),
        _ => Err(Failure::Checks),
    }
}
