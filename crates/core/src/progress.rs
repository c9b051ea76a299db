//! How far a checklist run has got, derived from its step events.
//!
//! A run has no status field of its own: its status is a pure function of
//! its pack's steps and its append-only step events, so replicas that have
//! the same events agree on it without ever syncing it. The latest event of
//! each step counts (a step blocked yesterday and done today is done).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::change::Version;
use crate::vocab::StepOutcome;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// No step recorded yet.
    NotStarted,
    /// Some steps recorded, none blocked, not finished.
    InProgress,
    /// At least one step is blocked (and not done since).
    Blocked,
    /// Every step is done or skipped.
    Completed,
}

impl RunStatus {
    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::NotStarted => "not_started",
            RunStatus::InProgress => "in_progress",
            RunStatus::Blocked => "blocked",
            RunStatus::Completed => "completed",
        }
    }
}

/// Counts for one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunProgress {
    /// Steps in the pack version the run uses.
    pub total: u32,
    /// Steps whose latest event is done.
    pub done: u32,
    /// Steps whose latest event is skipped.
    pub skipped: u32,
    /// Steps whose latest event is blocked.
    pub blocked: u32,
    /// The derived status.
    pub status: RunStatus,
    /// The first step not yet done or skipped: where to resume.
    pub current_step: Option<String>,
}

/// One step event as progress needs it.
#[derive(Debug, Clone, Copy)]
pub struct StepMark<'a> {
    /// The step.
    pub step_id: &'a str,
    /// What happened.
    pub outcome: StepOutcome,
    /// The event's version: later versions win.
    pub version: Version,
}

/// Derives a run's progress from its pack's step ids (in order) and its
/// events (any order). Events for steps not in the list are ignored.
pub fn run_progress<'a>(steps: &[&str], events: impl IntoIterator<Item = StepMark<'a>>) -> RunProgress {
    let mut latest: BTreeMap<&str, (Version, StepOutcome)> = BTreeMap::new();
    for e in events {
        let newer = latest.get(e.step_id).is_none_or(|(v, _)| e.version > *v);
        if newer {
            latest.insert(e.step_id, (e.version, e.outcome));
        }
    }
    let outcome_of = |s: &str| latest.get(s).map(|(_, o)| *o);
    let count =
        |o: StepOutcome| u32::try_from(steps.iter().filter(|s| outcome_of(s) == Some(o)).count()).unwrap_or(u32::MAX);
    let (done, skipped, blocked) = (
        count(StepOutcome::Done),
        count(StepOutcome::Skipped),
        count(StepOutcome::Blocked),
    );
    let total = u32::try_from(steps.len()).unwrap_or(u32::MAX);
    let current_step = steps
        .iter()
        .find(|s| !matches!(outcome_of(s), Some(StepOutcome::Done | StepOutcome::Skipped)))
        .map(|s| (*s).to_owned());
    let status = if current_step.is_none() && total > 0 {
        RunStatus::Completed
    } else if blocked > 0 {
        RunStatus::Blocked
    } else if done + skipped > 0 {
        RunStatus::InProgress
    } else {
        RunStatus::NotStarted
    };
    RunProgress {
        total,
        done,
        skipped,
        blocked,
        status,
        current_step,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hlc::Hlc;
    use crate::ids::DeviceId;

    fn mark(step: &str, outcome: StepOutcome, at: u64) -> StepMark<'_> {
        StepMark {
            step_id: step,
            outcome,
            version: Version {
                hlc: Hlc::new(at, 0),
                device: DeviceId::from_parts(0, [0; 10]),
            },
        }
    }

    const STEPS: [&str; 3] = ["install", "register", "activate"];

    #[test]
    fn nothing_recorded_is_not_started() {
        let p = run_progress(&STEPS, []);
        assert_eq!(p.status, RunStatus::NotStarted);
        assert_eq!(p.current_step.as_deref(), Some("install"));
    }

    #[test]
    fn latest_event_per_step_counts_whatever_the_order() {
        let events = [
            mark("register", StepOutcome::Done, 3),
            mark("install", StepOutcome::Done, 1),
            mark("register", StepOutcome::Blocked, 2),
        ];
        let p = run_progress(&STEPS, events);
        assert_eq!((p.done, p.blocked, p.status), (2, 0, RunStatus::InProgress));
        assert_eq!(p.current_step.as_deref(), Some("activate"));
    }

    #[test]
    fn a_blocked_step_blocks_the_run_until_done() {
        let blocked = run_progress(
            &STEPS,
            [
                mark("install", StepOutcome::Done, 1),
                mark("register", StepOutcome::Blocked, 2),
            ],
        );
        assert_eq!(blocked.status, RunStatus::Blocked);
        assert_eq!(blocked.current_step.as_deref(), Some("register"));
        let finished = run_progress(
            &STEPS,
            [
                mark("install", StepOutcome::Done, 1),
                mark("register", StepOutcome::Blocked, 2),
                mark("register", StepOutcome::Skipped, 3),
                mark("activate", StepOutcome::Done, 4),
                mark("old-step", StepOutcome::Blocked, 5),
            ],
        );
        assert_eq!(finished.status, RunStatus::Completed);
        assert_eq!((finished.done, finished.skipped, finished.blocked), (2, 1, 0));
    }
}
