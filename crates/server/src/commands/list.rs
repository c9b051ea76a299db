//! `campaign list` and `member list`: the current records of one kind, one
//! line each, or as JSON objects keyed by the table's header.

use doorstep_core::schema::EntityKind;
use doorstep_office::admin;

use super::Ctx;
use super::shared::{Failure, json, out};

pub(crate) async fn run(ctx: &Ctx, kind: EntityKind) -> Result<(), Failure> {
    let (header, rows) = admin::table(&ctx.store, kind).await?;
    if ctx.json {
        let objects: Vec<serde_json::Map<String, serde_json::Value>> = rows
            .iter()
            .map(|r| {
                header
                    .iter()
                    .cloned()
                    .zip(r.iter().map(|v| serde_json::Value::String(v.clone())))
                    .collect()
            })
            .collect();
        return json(&objects);
    }
    if rows.is_empty() {
        return out(&format!("no {kind} yet"));
    }
    for r in rows {
        out(&r.join("  "))?;
    }
    Ok(())
}
