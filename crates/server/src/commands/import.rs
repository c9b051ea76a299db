//! `import households`: per-row problems on standard error, the summary
//! (or the report as JSON) on standard output, exit code 2 when the file is
//! refused.

use doorstep_office::admin::{self, AdminError};
use doorstep_register::{ImportOptions, RegisterError};

use super::Ctx;
use super::shared::{Failure, json, out};
use crate::cli::ImportArgs;

pub(crate) async fn households(ctx: &Ctx, args: &ImportArgs) -> Result<(), Failure> {
    let file = args.file.display();
    let bytes = std::fs::read(&args.file).map_err(|e| Failure::Input(format!("cannot read {file}: {e}")))?;
    let options = ImportOptions {
        commune: args.commune.clone(),
        skip_bad_rows: args.skip_bad_rows,
        dry_run: args.dry_run,
    };
    let result = admin::import_households(&ctx.store, &bytes, &options, ctx.now).await;
    let report = match &result {
        Ok(r) | Err(AdminError::Register(RegisterError::BadRows(r))) => r,
        Err(AdminError::Register(e)) => return Err(Failure::Input(format!("{file}: {e}"))),
        Err(_) => return result.map(drop).map_err(Failure::from),
    };
    if ctx.json {
        json(report)?;
    } else {
        for p in &report.problems {
            eprintln!("{file}: {p}");
        }
        if !report.ignored_columns.is_empty() {
            eprintln!("{file}: ignored columns: {}", report.ignored_columns.join(", "));
        }
    }
    match result {
        Ok(r) if !ctx.json => {
            let (verb, count) = if r.dry_run {
                ("would import", r.rows.saturating_sub(r.skipped))
            } else {
                ("imported", r.imported)
            };
            out(&format!(
                "{file}: {verb} {count} households ({} rows read, {} skipped).",
                r.rows, r.skipped
            ))
        }
        Ok(_) => Ok(()),
        Err(e) => Err(Failure::Input(format!("{file}: {e}"))),
    }
}
