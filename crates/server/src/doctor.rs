//! One file of about 650 lines: the checks, their thresholds and their advice
//! read together (a split into doctor/ was taken back with the binary's).
//!
//! `doorstep-server doctor`: a health check an office lead can run and
//! read. Each check is data - a [`Check`] with its name, an [`Outcome`]
//! and, when it is not OK, what to do in plain words - so the command
//! prints them, `--json` serialises them, and tests compare them.
//!
//! The checks: the database opens and reads back whole, its schema is the
//! one this build expects; free space on the disks holding the database
//! and the backups; how old the newest backup is; and the computer's clock
//! against the newest stamp in the database. Nothing is written, and no
//! network is used except the configured database.
//!
//! Exit code of the command ([`exit_code`]): 0 when nothing failed (OK or
//! WARN only), 2 when any check failed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use doorstep_core::hlc::{Hlc, HlcClock};
use serde::Serialize;

use doorstep_store::health::DatabaseHealth;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    /// Nothing to do.
    Ok,
    /// Works today; see to it soon.
    Warn,
    /// Something is wrong now.
    Fail,
}

impl Outcome {
    /// `OK`, `WARN` or `FAIL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "OK",
            Outcome::Warn => "WARN",
            Outcome::Fail => "FAIL",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked: `database`, `schema`, `disk`, `backup`, `clock`.
    pub name: &'static str,
    /// How it came out.
    pub outcome: Outcome,
    /// What was found, one sentence.
    pub finding: String,
    /// What to do, for anything not OK.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
}

impl Check {
    fn ok(name: &'static str, finding: impl Into<String>) -> Check {
        Check {
            name,
            outcome: Outcome::Ok,
            finding: finding.into(),
            advice: None,
        }
    }

    fn not_ok(name: &'static str, outcome: Outcome, finding: impl Into<String>, advice: impl Into<String>) -> Check {
        Check {
            name,
            outcome,
            finding: finding.into(),
            advice: Some(advice.into()),
        }
    }

    /// The printed line: outcome, name, finding and, if any, the advice.
    pub fn line(&self) -> String {
        let head = format!("{:<4}  {:<8}  {}", self.outcome.as_str(), self.name, self.finding);
        match &self.advice {
            Some(advice) => format!("{head}. {advice}"),
            None => head,
        }
    }
}

/// The command's exit code for these checks: 2 if any failed, else 0.
pub fn exit_code(checks: &[Check]) -> u8 {
    if checks.iter().any(|c| c.outcome == Outcome::Fail) {
        2
    } else {
        0
    }
}

/// What to do about a damaged database, the same everywhere.
const RESTORE: &str = "Stop the server, keep the damaged file, and restore the newest backup: \
    `doorstep-server restore FILE` (check it first with `--check`); tablets send again what they synced after it";

/// The database could not be opened or read at all (`why` from the store).
pub fn unopened(why: &str) -> Check {
    Check::not_ok(
        "database",
        Outcome::Fail,
        format!("cannot open the database: {why}"),
        "Check that --db names the office database (and --db-key-file its key). If the file is damaged: ".to_owned()
            + RESTORE,
    )
}

/// The database checks: it reads back whole, and its schema.
pub fn database_checks(place: &str, health: &DatabaseHealth) -> Vec<Check> {
    if !health.problems.is_empty() {
        return vec![Check::not_ok(
            "database",
            Outcome::Fail,
            format!(
                "{place} is damaged: SQLite's {} found {}",
                health.checked_with,
                health.problems.join("; ")
            ),
            RESTORE,
        )];
    }
    let opened = Check::ok(
        "database",
        format!(
            "{place} opens and reads back whole ({}); {} changes",
            health.checked_with, health.changes
        ),
    );
    let known = i64::try_from(health.known_schema).unwrap_or(i64::MAX);
    let schema = match health.schema {
        Some(v) if v == known => Check::ok("schema", format!("schema {v}, the one this server expects")),
        Some(v) if v > known => Check::not_ok(
            "schema",
            Outcome::Fail,
            format!("schema {v} was written by a newer doorstep-server (this one knows {known})"),
            "Install that newer doorstep-server on this computer; this one refuses to serve the database",
        ),
        applied => Check::not_ok(
            "schema",
            Outcome::Warn,
            format!(
                "schema {} of {known}: the database has not been brought up to this server yet",
                applied.unwrap_or(0)
            ),
            "Start the server once (`doorstep-server serve`): it updates the database itself",
        ),
    };
    vec![opened, schema]
}

/// Free and total bytes of a filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Bytes an ordinary program may still write.
    pub available: u64,
    /// The filesystem's size.
    pub total: u64,
}

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
/// Below this (or 10% of the disk), a WARN.
pub const WARN_BELOW: u64 = GIB;
/// Below this, a FAIL: pushes may be refused any moment.
pub const FAIL_BELOW: u64 = 100 * MIB;

/// The free-space check of the disk holding `what` (the database, the
/// backups) at `path`.
pub fn disk_check(what: &str, path: &Path, space: std::io::Result<Space>) -> Check {
    let space = match space {
        Ok(s) => s,
        Err(e) => {
            return Check::not_ok(
                "disk",
                Outcome::Warn,
                format!("cannot tell the free space for {what} at {} ({e})", path.display()),
                "Check the disk in the computer's file manager",
            );
        }
    };
    let free = format_bytes(space.available);
    let percent = space
        .available
        .saturating_mul(100)
        .checked_div(space.total)
        .unwrap_or(0);
    let finding = format!(
        "{free} free ({percent}% of {}) on the disk holding {what} ({})",
        format_bytes(space.total),
        path.display()
    );
    let free_up =
        "Free space on that disk (delete or move old files, empty the recycle bin) or move the folder to a larger disk";
    if space.available < FAIL_BELOW {
        Check::not_ok(
            "disk",
            Outcome::Fail,
            finding,
            format!("{free_up}: when it is full, tablets cannot send their work (they keep it and try again)"),
        )
    } else if space.available < WARN_BELOW || percent < 10 {
        Check::not_ok("disk", Outcome::Warn, finding, format!("{free_up} soon"))
    } else {
        Check::ok("disk", finding)
    }
}

/// The free space of the filesystem holding `path` (or its nearest
/// existing folder, for a file not made yet).
pub fn free_space(path: &Path) -> std::io::Result<Space> {
    let mut at = path;
    while !at.exists() {
        match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => at = p,
            _ => {
                at = Path::new(".");
                break;
            }
        }
    }
    statvfs(at)
}

#[cfg(unix)]
fn statvfs(path: &Path) -> std::io::Result<Space> {
    let s = rustix::fs::statvfs(path).map_err(std::io::Error::from)?;
    Ok(Space {
        available: s.f_bavail.saturating_mul(s.f_frsize),
        total: s.f_blocks.saturating_mul(s.f_frsize),
    })
}

#[cfg(not(unix))]
fn statvfs(_path: &Path) -> std::io::Result<Space> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "not measured on this system",
    ))
}

fn format_bytes(n: u64) -> String {
    if n >= GIB {
        format!("{:.1} GiB", n as f64 / GIB as f64)
    } else {
        format!("{} MiB", n / MIB)
    }
}

/// The newest backup found, with when it was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewestBackup {
    /// The file.
    pub path: PathBuf,
    /// When it was taken (from its name, else its modification time).
    pub taken_at: DateTime<Utc>,
    /// Why it is not a whole backup, if it is not (checked as `restore
    /// --check` does).
    pub broken: Option<String>,
}

/// The newest scheduled backup in `dir` (`crate::backups` names them by
/// their UTC time), `None` if there is none.
pub fn newest_backup(dir: &Path) -> Result<Option<(PathBuf, DateTime<Utc>)>, String> {
    let files = crate::backups::scheduled_in(dir).map_err(|e| e.to_string())?;
    let Some(newest) = files.last() else {
        return Ok(None);
    };
    let from_name = newest
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("doorstep-"))
        .and_then(|n| n.strip_suffix(".db"))
        .and_then(|t| NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%S%.3fZ").ok())
        .map(|t| t.and_utc());
    let taken_at = match from_name {
        Some(t) => t,
        None => std::fs::metadata(newest)
            .and_then(|m| m.modified())
            .map(DateTime::<Utc>::from)
            .map_err(|e| format!("cannot read {}: {e}", newest.display()))?,
    };
    Ok(Some((newest.clone(), taken_at)))
}

/// The backup check. `dir` is the `--backup-dir` given (none: `found` is
/// the newest backup the database recorded), `found` the newest backup,
/// `max_age` how old it may be.
pub fn backup_check(
    dir: Option<&Path>,
    found: Result<Option<NewestBackup>, String>,
    max_age: Duration,
    now: DateTime<Utc>,
) -> Check {
    let take_one = "Take one with `doorstep-server backup --out FILE`, or run the server with `--backup-dir DIR`";
    let newest = match found {
        Ok(Some(b)) => b,
        Ok(None) => {
            let place = dir.map_or_else(
                || "recorded in the database".to_owned(),
                |d| format!("in {}", d.display()),
            );
            return Check::not_ok(
                "backup",
                Outcome::Fail,
                format!(
                    "no backup {place}: tablets keep every change until one is made, and a broken disk would lose the campaign"
                ),
                take_one,
            );
        }
        Err(e) => {
            return Check::not_ok(
                "backup",
                Outcome::Fail,
                format!("cannot look for backups: {e}"),
                take_one,
            );
        }
    };
    let age = (now - newest.taken_at).to_std().unwrap_or(Duration::ZERO);
    let name = newest.path.display();
    if let Some(why) = &newest.broken {
        return Check::not_ok(
            "backup",
            Outcome::Fail,
            format!("the newest backup {name} is not whole: {why}"),
            take_one,
        );
    }
    let finding = format!("newest backup {name}, taken {} ago", round_age(age));
    if age > max_age {
        Check::not_ok(
            "backup",
            Outcome::Warn,
            format!("{finding}, more than {}", round_age(max_age)),
            format!("Check that the server is running with --backup-dir and has room on that disk. {take_one}"),
        )
    } else {
        Check::ok("backup", finding)
    }
}

/// A duration rounded to what a person reads: minutes, hours or days.
fn round_age(d: Duration) -> String {
    let mins = d.as_secs() / 60;
    match mins {
        0..=1 => "a minute".to_owned(),
        2..=119 => format!("{mins} minutes"),
        120..=2879 => format!("{} hours", mins / 60),
        _ => format!("{} days", mins / 1440),
    }
}

/// How far the newest stamp may be ahead of this computer's clock before
/// it says the clock was set back: what the server lets a tablet's clock
/// run ahead, plus a minute.
const CLOCK_SET_BACK: Duration = Duration::from_millis(HlcClock::DEFAULT_MAX_AHEAD_MS + 60_000);

/// The clock check: `now` (this computer's clock) against the newest stamp
/// the database holds. No network clock is asked.
pub fn clock_check(now: DateTime<Utc>, newest_stamp: Option<Hlc>) -> Check {
    let Some(stamp) = newest_stamp else {
        return Check::ok("clock", "nothing stamped yet: no clock to compare");
    };
    let newest = stamp.to_datetime();
    let ahead = (newest - now).to_std().unwrap_or(Duration::ZERO);
    let when = newest.format("%Y-%m-%d %H:%M UTC");
    let set_right =
        "Set this computer's date and time right (automatic time, correct time zone), then restart the server";
    if ahead > CLOCK_SET_BACK {
        Check::not_ok(
            "clock",
            Outcome::Fail,
            format!(
                "this computer's clock is {} behind the newest change in the database ({when}): it was set back",
                round_age(ahead)
            ),
            set_right,
        )
    } else if ahead > Duration::from_secs(60) {
        Check::not_ok(
            "clock",
            Outcome::Warn,
            format!(
                "the newest change in the database ({when}) is {} ahead of this computer's clock: a tablet's clock runs fast, or this one was set back",
                round_age(ahead)
            ),
            format!("Compare this computer's time with a phone's. If it is wrong: {set_right}"),
        )
    } else {
        Check::ok(
            "clock",
            format!("this computer's clock is not behind the newest change ({when})"),
        )
    }
}

/// What `doctor` is asked to look at.
#[derive(Debug, Clone)]
pub struct Request {
    /// The `--db` value: a SQLite path or a PostgreSQL URL.
    pub db: String,
    /// The SQLite database's key file, if it is encrypted.
    pub key_file: Option<PathBuf>,
    /// The folder the server backs up into.
    pub backup_dir: Option<PathBuf>,
    /// The server's backup schedule, if known: a backup older than twice
    /// it is late (else older than a day).
    pub backup_every: Option<Duration>,
}

/// A day: how old a backup may be when the schedule is not given.
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Runs every check, in the order printed. Changes nothing; a SQLite
/// database is read, never made or migrated.
pub async fn run(request: &Request, now: DateTime<Utc>) -> Vec<Check> {
    use doorstep_store::postgres::PgStore;
    use doorstep_store::sqlite::SqliteStore;

    let mut checks = Vec::new();
    let sqlite = doorstep_store::any::sqlite_path(&request.db);
    let health = match &sqlite {
        Some(path) => {
            let (path, key) = (path.clone(), request.key_file.clone());
            tokio::task::spawn_blocking(move || SqliteStore::health(&path, key.as_deref()))
                .await
                .unwrap_or_else(|e| Err(doorstep_store::StoreError::Task(e.to_string())))
        }
        None => match PgStore::open(&request.db).await {
            Ok(store) => store.health().await,
            Err(e) => Err(e),
        },
    };
    let place = match &sqlite {
        Some(path) => path.display().to_string(),
        None => "the PostgreSQL database".to_owned(),
    };
    let recorded = health.as_ref().ok().and_then(|h| h.recorded_backup.clone());
    let stamp = match &health {
        Ok(h) => {
            checks.extend(database_checks(&place, h));
            h.newest_stamp
        }
        Err(e) => {
            checks.push(unopened(&e.to_string()));
            None
        }
    };
    if let Some(path) = &sqlite {
        checks.push(disk_check("the database", path, free_space(path)));
    }
    if let Some(dir) = &request.backup_dir {
        checks.push(disk_check("the backups", dir, free_space(dir)));
    }
    if health.is_ok() || request.backup_dir.is_some() {
        let check_file = |path: &Path| {
            sqlite
                .as_ref()
                .filter(|_| path.is_file())
                .and_then(|_| SqliteStore::check_backup(path, request.key_file.as_deref()).err())
                .map(|e| e.to_string())
        };
        let found = match &request.backup_dir {
            Some(dir) => newest_backup(dir).map(|newest| {
                newest.map(|(path, taken_at)| {
                    let broken = check_file(&path);
                    NewestBackup { path, taken_at, broken }
                })
            }),
            // The database's own record of the backups taken.
            None => Ok(recorded.and_then(|(file, taken_at)| {
                let taken_at = doorstep_core::schema::parse_timestamp(&taken_at).ok()?;
                let path = PathBuf::from(file);
                let broken = check_file(&path);
                Some(NewestBackup { path, taken_at, broken })
            })),
        };
        let max_age = request.backup_every.map_or(DAY, |every| every.saturating_mul(2));
        checks.push(backup_check(request.backup_dir.as_deref(), found, max_age, now));
    }
    if health.is_ok() {
        checks.push(clock_check(now, stamp));
    }
    checks
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap()
    }

    fn health(problems: &[&str], schema: Option<i64>) -> DatabaseHealth {
        DatabaseHealth {
            problems: problems.iter().map(|p| (*p).to_owned()).collect(),
            checked_with: "integrity_check",
            schema,
            known_schema: 7,
            newest_stamp: None,
            changes: 12,
            recorded_backup: None,
        }
    }

    fn outcomes(checks: &[Check]) -> Vec<(&'static str, Outcome)> {
        checks.iter().map(|c| (c.name, c.outcome)).collect()
    }

    #[test]
    fn a_whole_current_database_is_ok_and_others_say_what_to_do() {
        let ok = database_checks("office.db", &health(&[], Some(7)));
        assert_eq!(outcomes(&ok), [("database", Outcome::Ok), ("schema", Outcome::Ok)]);
        assert!(ok.iter().all(|c| c.advice.is_none()));
        assert_eq!(exit_code(&ok), 0);

        let damaged = database_checks(
            "office.db",
            &health(&["Page 12: btreeInitPage() returns error code 11"], None),
        );
        assert_eq!(outcomes(&damaged), [("database", Outcome::Fail)]);
        assert!(
            damaged[0].line().contains("office.db is damaged"),
            "{}",
            damaged[0].line()
        );
        assert!(damaged[0].line().contains("doorstep-server restore FILE"));
        assert_eq!(exit_code(&damaged), 2);

        let newer = database_checks("office.db", &health(&[], Some(9)));
        assert_eq!(newer[1].outcome, Outcome::Fail);
        assert!(newer[1].finding.contains("newer doorstep-server"));
        let older = database_checks("office.db", &health(&[], Some(5)));
        assert_eq!(older[1].outcome, Outcome::Warn);
        assert_eq!(exit_code(&older), 0, "a WARN alone exits 0");
    }

    #[test]
    fn disk_space_thresholds() {
        let p = Path::new("/srv/doorstep/office.db");
        let check = |available, total| disk_check("the database", p, Ok(Space { available, total })).outcome;
        assert_eq!(check(50 * GIB, 100 * GIB), Outcome::Ok);
        assert_eq!(check(5 * GIB, 100 * GIB), Outcome::Warn, "under 10%");
        assert_eq!(check(900 * MIB, 4 * GIB), Outcome::Warn, "under 1 GiB");
        assert_eq!(check(99 * MIB, 100 * GIB), Outcome::Fail);
        let full = disk_check(
            "the database",
            p,
            Ok(Space {
                available: 0,
                total: GIB,
            }),
        );
        assert!(
            full.line().contains("tablets cannot send their work"),
            "{}",
            full.line()
        );
        let unknown = disk_check("the database", p, Err(std::io::Error::other("no statvfs")));
        assert_eq!(unknown.outcome, Outcome::Warn);
    }

    #[test]
    fn backup_age_and_absence() {
        let now = at("2026-12-07T12:00:00Z");
        let dir = Path::new("/backups");
        let day = Duration::from_secs(24 * 3600);
        let newest = |taken: &str| {
            Ok(Some(NewestBackup {
                path: dir.join("doorstep-x.db"),
                taken_at: at(taken),
                broken: None,
            }))
        };
        let fresh = backup_check(Some(dir), newest("2026-12-07T09:00:00Z"), day, now);
        assert_eq!(fresh.outcome, Outcome::Ok, "{}", fresh.line());
        assert!(fresh.finding.contains("3 hours ago"), "{}", fresh.finding);
        let old = backup_check(Some(dir), newest("2026-12-04T12:00:00Z"), day, now);
        assert_eq!(old.outcome, Outcome::Warn);
        assert!(old.finding.contains("3 days ago"), "{}", old.finding);
        let none = backup_check(Some(dir), Ok(None), day, now);
        assert_eq!(none.outcome, Outcome::Fail);
        assert!(
            none.line().contains("tablets keep every change until one is made")
                && none.line().contains("doorstep-server backup --out FILE"),
            "{}",
            none.line()
        );
        let unrecorded = backup_check(None, Ok(None), day, now);
        assert_eq!(unrecorded.outcome, Outcome::Fail);
        assert!(
            unrecorded.finding.contains("recorded in the database"),
            "{}",
            unrecorded.finding
        );
        let broken = backup_check(
            Some(dir),
            Ok(Some(NewestBackup {
                path: dir.join("doorstep-x.db"),
                taken_at: now,
                broken: Some("cut short".into()),
            })),
            day,
            now,
        );
        assert_eq!(broken.outcome, Outcome::Fail);
    }

    #[test]
    fn a_clock_set_back_is_named() {
        let now = at("2026-12-07T12:00:00Z");
        let stamp = |t: &str| Some(Hlc::new(u64::try_from(at(t).timestamp_millis()).unwrap(), 0));
        assert_eq!(clock_check(now, None).outcome, Outcome::Ok);
        assert_eq!(clock_check(now, stamp("2026-12-07T11:59:00Z")).outcome, Outcome::Ok);
        assert_eq!(clock_check(now, stamp("2026-12-07T12:00:30Z")).outcome, Outcome::Ok);
        assert_eq!(clock_check(now, stamp("2026-12-07T12:03:00Z")).outcome, Outcome::Warn);
        let back = clock_check(now, stamp("2026-12-08T12:00:00Z"));
        assert_eq!(back.outcome, Outcome::Fail);
        assert!(back.finding.contains("it was set back"), "{}", back.finding);
        assert!(back.finding.contains("24 hours behind"), "{}", back.finding);
    }

    #[test]
    fn newest_backup_is_read_from_its_name() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(newest_backup(dir.path()).unwrap(), None);
        for name in [
            "doorstep-20261205T060000.000Z.db",
            "doorstep-20261206T060000.000Z.db",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let (path, taken) = newest_backup(dir.path()).unwrap().unwrap();
        assert!(path.ends_with("doorstep-20261206T060000.000Z.db"));
        assert_eq!(taken, at("2026-12-06T06:00:00Z"));
    }
}
