//! `import households`, `follow-ups`, `coverage`, `conflicts`, `status`, `export`.

use anyhow::Context;
use doorstep_device::export::ExportTable;
use doorstep_device::import::{ImportError, ImportOptions, RegisterError};

use super::Ctx;
use crate::cli::{ExportArgs, FollowUpArgs, ImportArgs};
use crate::output::{self, Table, or_dash, short};
use crate::values::day;

pub(crate) fn import(ctx: &mut Ctx, a: &ImportArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let options = ImportOptions {
        commune: a.commune.clone(),
        skip_bad_rows: a.skip_bad_rows,
        dry_run: a.dry_run,
    };
    let result = ctx.store.import_households(&bytes, &options);
    let report = match &result {
        Ok(r) => r,
        Err(ImportError::Register(RegisterError::BadRows(r))) => r,
        Err(_) => {
            return result
                .map(drop)
                .with_context(|| format!("{} was not imported", a.file.display()));
        }
    };
    if ctx.json {
        output::json(report)?;
    } else {
        for p in &report.problems {
            output::note(format!("{}: {p}", a.file.display()));
        }
        if !report.ignored_columns.is_empty() {
            output::note(format!("ignored columns: {}", report.ignored_columns.join(", ")));
        }
    }
    match result {
        Ok(r) => {
            if !ctx.json {
                let verb = if r.dry_run { "would import" } else { "imported" };
                let count = if r.dry_run { r.rows - r.skipped } else { r.imported };
                output::line(format!(
                    "{}: {verb} {count} households ({} rows read, {} skipped).",
                    a.file.display(),
                    r.rows,
                    r.skipped
                ));
            }
            Ok(())
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("{}", a.file.display()))),
    }
}

pub(crate) fn follow_ups(ctx: &mut Ctx, a: &FollowUpArgs) -> anyhow::Result<()> {
    let today = ctx.store.today();
    let by =
        a.by.as_deref()
            .map(|d| day(d, today, "--by"))
            .transpose()?
            .unwrap_or(today);
    let village = a
        .village
        .as_deref()
        .map(|v| ctx.store.find_village(v, None))
        .transpose()?;
    let rows = ctx
        .store
        .follow_ups_due(by, village.map(|v| v.id.parse()).transpose()?)?;
    if ctx.json {
        return output::json(&rows);
    }
    output::line(format!("{} households to go back to by {by}", rows.len()));
    let mut table = Table::new(&["ID", "VILLAGE", "HEAD OF HOUSEHOLD", "LANDMARK", "DUE", "LAST OUTCOME"]);
    for r in &rows {
        table.row(vec![
            short(&r.household_id),
            r.village.clone(),
            r.head_name.clone(),
            or_dash(r.landmark.as_deref()),
            r.follow_up_on.clone().unwrap_or_else(|| "now".into()),
            r.last_outcome.clone(),
        ]);
    }
    table.print();
    Ok(())
}

pub(crate) fn coverage(ctx: &mut Ctx) -> anyhow::Result<()> {
    let rows = ctx.store.coverage()?;
    if ctx.json {
        return output::json(&rows);
    }
    let mut table = Table::new(&[
        "COMMUNE",
        "VILLAGE",
        "HOUSEHOLDS",
        "VISITED",
        "HELPED",
        "NOT VISITED",
        "FOLLOW-UPS DUE",
        "CHECKLISTS DONE",
        "BLOCKED",
    ]);
    for c in &rows {
        table.row(vec![
            c.commune.clone(),
            c.village.clone(),
            c.households.to_string(),
            c.visited.to_string(),
            c.helped.to_string(),
            c.not_visited.to_string(),
            c.follow_ups_due.to_string(),
            c.runs_completed.to_string(),
            c.runs_blocked.to_string(),
        ]);
    }
    table.print();
    Ok(())
}

pub(crate) fn conflicts(ctx: &mut Ctx) -> anyhow::Result<()> {
    let rows = ctx.store.conflicts()?;
    if ctx.json {
        return output::json(&rows);
    }
    if rows.is_empty() {
        output::line("No conflicts.");
    }
    for c in &rows {
        output::line(format!(
            "{} {} field {}: shown {} / other value {} (from device {})",
            c.entity,
            short(&c.entity_id),
            c.field,
            c.current,
            c.losing,
            short(&c.losing_device)
        ));
    }
    Ok(())
}

pub(crate) fn status(ctx: &mut Ctx) -> anyhow::Result<()> {
    let s = ctx.store.status()?;
    let key = ctx.store.key().map(|k| (k.holder(), k.location().to_owned()));
    if ctx.json {
        let mut v = serde_json::to_value(&s)?;
        if let Some(map) = v.as_object_mut() {
            map.insert(
                "key_held_by".to_owned(),
                key.as_ref().map_or(serde_json::Value::Null, |(h, _)| h.code().into()),
            );
            map.insert(
                "key_location".to_owned(),
                key.as_ref().map_or(serde_json::Value::Null, |(_, l)| l.clone().into()),
            );
        }
        return output::json(&v);
    }
    output::line(format!(
        "Device {}{}",
        s.device_id,
        if s.practice {
            " (practice database: never syncs)"
        } else {
            ""
        }
    ));
    output::line(match &key {
        Some((holder, location)) => format!("Encrypted; key held by: {} ({location})", holder.describe()),
        None => "Not encrypted".to_owned(),
    });
    output::line(format!(
        "Outbox: {} changes waiting to sync ({} written in all)",
        s.outbox_pending, s.outbox_total
    ));
    output::line(format!("Last sync: {}", s.last_sync_at.as_deref().unwrap_or("never")));
    super::sync::print_status(&s.sync, s.practice);
    output::line(format!("Conflicts to review: {}", s.conflicts));
    if s.waiting_changes + s.invalid_changes > 0 {
        output::line(format!(
            "Received changes on hold: {} waiting, {} unreadable",
            s.waiting_changes, s.invalid_changes
        ));
    }
    output::line(format!("Households: {}, visits: {}", s.households, s.visits));
    Ok(())
}

pub(crate) fn export(ctx: &mut Ctx, a: &ExportArgs) -> anyhow::Result<()> {
    let table = ExportTable::parse(&a.what)?;
    let rows = match &a.out {
        Some(path) => {
            let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            ctx.store.export_csv(table, std::io::BufWriter::new(file), a.excel)?
        }
        None => ctx.store.export_csv(table, std::io::stdout().lock(), a.excel)?,
    };
    if let Some(path) = &a.out {
        if ctx.json {
            output::json(&serde_json::json!({ "file": path, "rows": rows }))?;
        } else {
            output::line(format!("Wrote {rows} rows to {}.", path.display()));
        }
    }
    Ok(())
}
