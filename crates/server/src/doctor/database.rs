//! The database checks: it opens, reads back whole, and has the schema
//! this build expects.

use doorstep_store::health::DatabaseHealth;

use super::{Check, Outcome};

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::doctor::exit_code;

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
}
