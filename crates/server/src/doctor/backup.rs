//! How old the newest backup is, and whether it is whole.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::{Check, Outcome, round_age};

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        doorstep_core::schema::parse_timestamp(s).unwrap()
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
