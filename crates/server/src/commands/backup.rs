//! `backup --out FILE`: a consistent copy of the database, taken while a
//! server may be running on it.

use std::path::Path;

use super::Ctx;
use super::shared::{Failure, json, out};

pub(crate) async fn run(ctx: &Ctx, file: &Path) -> Result<(), Failure> {
    let taken = ctx.store.backup(file).await?;
    if ctx.json {
        return json(&taken);
    }
    out(&format!(
        "backup {} ({} bytes, {}), changes up to {}, epoch {}",
        taken.path.display(),
        taken.bytes,
        if taken.encrypted { "encrypted" } else { "plain" },
        taken.server_seq,
        taken.epoch
    ))
}
