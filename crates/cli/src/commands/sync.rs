//! `enroll`, `sync`, and the sync section of `status`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use doorstep_device::key::KeyChain;
use doorstep_device::sync::{SyncError, SyncOptions, SyncProgress, SyncReport, SyncStatus, enroll, sync};
use doorstep_device::{CreateOptions, Store};
use serde::Serialize;

use super::Ctx;
use crate::cli::{EnrollArgs, SyncArgs};
use crate::output::{self, short};

/// A clock correction smaller than this is not worth a line.
const NOTABLE_OFFSET_MS: i64 = 60_000;

#[derive(Serialize)]
struct Enrolled {
    db: PathBuf,
    server: String,
    device_id: String,
    commune_id: String,
    commune_name: String,
    member_id: String,
}

/// `doorstep enroll`: creates the database if there is none, then enrols it.
/// A database created here and not enrolled is removed again.
pub(crate) fn enrol(
    db: &Path,
    keys: &KeyChain,
    a: &EnrollArgs,
    now: Option<DateTime<Utc>>,
    json: bool,
) -> anyhow::Result<()> {
    let created = !db.exists();
    let mut store = Store::open_or_create_keyed(db, CreateOptions::default(), keys)?;
    if let Some(t) = now {
        store.set_wall_clock(Arc::new(move || t));
    }
    let answer = match enroll(
        &mut store,
        &a.server,
        &a.code,
        a.label.as_deref(),
        &SyncOptions::default(),
    ) {
        Ok(answer) => answer,
        Err(e) => {
            drop(store);
            if created {
                let _ = doorstep_device::sync::delete_database(db, keys);
            }
            return Err(e.into());
        }
    };
    let server = store.sync_status()?.server_url.unwrap_or_default();
    let done = Enrolled {
        db: db.to_owned(),
        server,
        device_id: answer.device_id.to_string(),
        commune_id: answer.commune_id.to_string(),
        commune_name: answer.commune_name.clone(),
        member_id: answer.member_id.to_string(),
    };
    if json {
        return output::json(&done);
    }
    output::line(format!(
        "Enrolled {} as device {} for commune {} with {}.",
        db.display(),
        done.device_id,
        done.commune_name,
        done.server
    ));
    output::line("Run `doorstep sync` to fetch the commune's households.");
    Ok(())
}

/// `doorstep sync`: progress on standard error, the summary on standard
/// output.
pub(crate) fn run(ctx: &mut Ctx, a: &SyncArgs) -> anyhow::Result<()> {
    let mut options = SyncOptions::default();
    if let Some(bytes) = a.batch_bytes {
        options.batch_bytes = bytes;
    }
    if let Some(n) = a.max_attempts {
        options.max_attempts = n;
    }
    if let Some(ms) = a.backoff_ms {
        options.backoff_base = Duration::from_millis(ms);
        options.backoff_max = Duration::from_millis(ms.saturating_mul(60));
    }
    let quiet = ctx.json;
    let mut last_retries = 0;
    let mut show = |p: &SyncProgress| {
        if quiet {
            return;
        }
        if p.retries > last_retries {
            last_retries = p.retries;
            output::note(format!("connection trouble, trying again (retry {})", p.retries));
        } else if p.round_trips > 0 {
            output::note(progress_line(p));
        }
    };
    let report = sync(&mut ctx.store, &options, &mut show)?;
    if ctx.json {
        return output::json(&report);
    }
    let status = ctx.store.sync_status()?;
    print_summary(&report, &status, &ctx.store);
    Ok(())
}

#[derive(Serialize)]
struct Erased {
    erased: bool,
    device_id: String,
    unsent_changes: u64,
    server_told: bool,
}

/// The server answered that this device was revoked with an order to
/// erase its data: the database, its WAL, journal and key go, the server
/// is told, and the command fails (exit 2) saying what was lost.
pub(crate) fn erase(store: Store, keys: &KeyChain, json: bool) -> anyhow::Result<()> {
    let db = store.path().to_owned();
    let notice = doorstep_device::sync::erase_store(store, keys)?;
    let told = doorstep_device::sync::report_erase(&db, &SyncOptions::default());
    if let Err(e) = &told {
        output::note(format!("the server could not be told of the erase: {e}"));
    }
    // Nothing remains to show the notice to later: the CLI's user sees it now.
    doorstep_device::sync::dismiss_notice(&db)?;
    if json {
        output::json(&Erased {
            erased: true,
            device_id: notice.device_id.to_string(),
            unsent_changes: notice.unsent_changes,
            server_told: told.is_ok(),
        })?;
    }
    Err(anyhow::Error::new(SyncError::EraseOrdered).context(format!(
        "{} was erased: {} changes had not been sent and are lost",
        db.display(),
        notice.unsent_changes
    )))
}

fn progress_line(p: &SyncProgress) -> String {
    format!(
        "pushed {}/{} changes, pulled {}{}, {} sent, {} received",
        p.pushed,
        p.to_push,
        p.pulled,
        if p.has_more { " (more to come)" } else { "" },
        size(p.bytes_sent),
        size(p.bytes_received)
    )
}

fn print_summary(report: &SyncReport, status: &SyncStatus, store: &Store) {
    let p = &report.progress;
    output::line(format!(
        "Synced with {}{}.",
        status.server_url.as_deref().unwrap_or("the server"),
        status
            .commune_name
            .as_deref()
            .map(|c| format!(" (commune {c})"))
            .unwrap_or_default()
    ));
    output::line(format!(
        "Pushed {} changes, pulled {} ({} merged) in {} round trip{}: {} sent, {} received.",
        p.pushed,
        p.pulled,
        report.pulled.merged,
        p.round_trips,
        if p.round_trips == 1 { "" } else { "s" },
        size(p.bytes_sent),
        size(p.bytes_received)
    ));
    if report.pulled.conflicts > 0 {
        output::line(format!(
            "{} fields were edited on two devices at once: see `doorstep conflicts`.",
            report.pulled.conflicts
        ));
    }
    if let Some(from) = report.resent_from {
        output::line(format!(
            "The server had lost changes from this device; they were sent again from change {from}."
        ));
    }
    if !report.rejected.is_empty() {
        output::line(format!(
            "The server refused {} records; correct them and sync again:",
            report.rejected.len()
        ));
        let rejected = store.rejected_changes().unwrap_or_default();
        for (seq, reason) in &report.rejected {
            let what = rejected
                .iter()
                .find(|r| r.seq == *seq)
                .map(|r| format!("{} {}", r.entity, short(&r.entity_id)))
                .unwrap_or_else(|| "record".to_owned());
            output::line(format!("  change {seq}, {what}: {reason}"));
        }
    }
    if report.clock_offset_ms.abs() >= NOTABLE_OFFSET_MS {
        output::line(format!(
            "This device's clock is {}; dates now follow the server's clock.",
            describe_offset(report.clock_offset_ms)
        ));
    }
    if !report.packs.installed.is_empty() {
        output::line(format!("New checklist packs: {}.", report.packs.installed.join(", ")));
    }
    for refused in &report.packs.refused {
        output::note(format!("checklist pack refused: {refused}"));
    }
    if let Some(e) = &report.packs.error {
        output::note(format!("checklist packs not updated: {e}"));
    }
}

/// The sync lines of `doorstep status`.
pub(crate) fn print_status(s: &SyncStatus, practice: bool) {
    if practice {
        return;
    }
    if !s.enrolled {
        output::line("Sync: not enrolled (doorstep enroll --server URL --code CODE)");
        return;
    }
    output::line(format!(
        "Server: {}{}",
        s.server_url.as_deref().unwrap_or("-"),
        s.commune_name
            .as_deref()
            .map(|c| format!(", commune {c}"))
            .unwrap_or_default()
    ));
    if let Some(e) = &s.last_error {
        output::line(format!("Last sync failed: {e}"));
    }
    output::line(backup_line(s));
    if s.clock_offset_ms.abs() >= NOTABLE_OFFSET_MS {
        output::line(format!(
            "Clock: this device's clock is {}; shown dates are corrected",
            describe_offset(s.clock_offset_ms)
        ));
    }
    if !s.rejected.is_empty() {
        output::line(format!("Records refused by the server: {}", s.rejected.len()));
        for r in &s.rejected {
            output::line(format!(
                "  change {}, {} {}: {}",
                r.seq,
                r.entity,
                short(&r.entity_id),
                r.reason
            ));
        }
    }
}

/// What the office's backups mean for this tablet's outbox.
fn backup_line(s: &SyncStatus) -> String {
    match s.backed_up_seq {
        None => "Office backup: none holds this tablet's work yet, so it keeps every change it made".to_owned(),
        Some(_) if s.awaiting_backup > 0 => format!(
            "Office backup: {} sent change(s) are kept here until the office's next backup holds them",
            s.awaiting_backup
        ),
        Some(_) => "Office backup: every sent change is in the office's backup".to_owned(),
    }
}

/// "2 days 3 hours behind the server's" for an offset of server minus device.
fn describe_offset(offset_ms: i64) -> String {
    let direction = if offset_ms > 0 { "behind" } else { "ahead of" };
    let minutes = offset_ms.unsigned_abs() / 60_000;
    let (days, hours, mins) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let amount = match (days, hours, mins) {
        (0, 0, m) => plural(m, "minute"),
        (0, h, m) => format!("{} {}", plural(h, "hour"), plural(m, "minute")),
        (d, h, _) => format!("{} {}", plural(d, "day"), plural(h, "hour")),
    };
    format!("{amount} {direction} the server's")
}

/// Bytes for people: 512 B, 42 KB, 3.1 MB.
fn size(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.0} KB", b / 1024.0)
    } else {
        format!("{:.1} MB", b / (1024.0 * 1024.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_sizes_read_well() {
        assert_eq!(describe_offset(60_000), "1 minute behind the server's");
        assert_eq!(
            describe_offset(-(2 * 86_400_000 + 3 * 3_600_000)),
            "2 days 3 hours ahead of the server's"
        );
        assert_eq!(describe_offset(90 * 60_000), "1 hour 30 minutes behind the server's");
        assert_eq!(size(512), "512 B");
        assert_eq!(size(43_008), "42 KB");
        assert_eq!(size(3_250_000), "3.1 MB");
    }
}
