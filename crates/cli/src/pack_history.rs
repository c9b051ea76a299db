//! A pack file's committed history, read from git, for the version-bump
//! rule: a pack whose steps differ from an earlier committed version must
//! carry a higher version than it.
//!
//! Git is run as a subprocess (`git log`, `git show`): it is already on
//! every machine that has a clone, and reading history needs nothing more.

use std::path::{Path, PathBuf};
use std::process::Command;

use doorstep_core::pack::Pack;

/// Why history could not be read for a file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HistoryError {
    /// The file is not in a git work tree, or git is not installed.
    #[error("{0}")]
    Unavailable(String),
    /// Git ran but failed.
    #[error("git failed: {0}")]
    Git(String),
}

/// What the committed history says about one pack file.
#[derive(Debug, Default)]
pub(crate) struct PackHistory {
    /// The version in the last commit that has the file, if any.
    pub last_committed: Option<(String, Pack)>,
    /// The newest committed version whose steps differ from the file's
    /// current steps, with its commit.
    pub last_other_steps: Option<(String, Pack)>,
}

/// A git work tree that pack files are read from.
#[derive(Debug)]
pub(crate) struct Repo {
    root: PathBuf,
}

impl Repo {
    /// The work tree containing `dir`.
    pub(crate) fn containing(dir: &Path) -> Result<Repo, HistoryError> {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["rev-parse", "--show-toplevel"])
            .output()
            .map_err(|e| HistoryError::Unavailable(format!("git cannot be run ({e})")))?;
        if !out.status.success() {
            let said = String::from_utf8_lossy(&out.stderr);
            let said = said.lines().next().unwrap_or_default().trim();
            return Err(HistoryError::Unavailable(format!(
                "{} is not in a git work tree ({said})",
                dir.display()
            )));
        }
        let root = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Ok(Repo {
            root: PathBuf::from(root),
        })
    }

    /// Runs git in the work tree: its output, or `Err(stderr)` when it fails.
    fn git(&self, args: &[&str]) -> Result<Result<String, String>, HistoryError> {
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(args)
            .output()
            .map_err(|e| HistoryError::Git(e.to_string()))?;
        if out.status.success() {
            Ok(Ok(String::from_utf8_lossy(&out.stdout).into_owned()))
        } else {
            Ok(Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()))
        }
    }

    /// Whether history is cut short (a shallow clone), so older versions
    /// may be missing.
    pub(crate) fn is_shallow(&self) -> Result<bool, HistoryError> {
        match self.git(&["rev-parse", "--is-shallow-repository"])? {
            Ok(text) => Ok(text.trim() == "true"),
            Err(e) => Err(HistoryError::Git(e)),
        }
    }

    /// Whether the work tree has any commit yet.
    fn has_commits(&self) -> Result<bool, HistoryError> {
        Ok(self.git(&["rev-parse", "--verify", "--quiet", "HEAD"])?.is_ok())
    }

    /// The history of `file` relative to `current` (the file as it is now).
    /// Committed versions that no longer parse (an older pack schema) are
    /// passed over.
    pub(crate) fn history(&self, file: &Path, current: &Pack) -> Result<PackHistory, HistoryError> {
        let absolute =
            std::fs::canonicalize(file).map_err(|e| HistoryError::Git(format!("{}: {e}", file.display())))?;
        let root = std::fs::canonicalize(&self.root).map_err(|e| HistoryError::Git(e.to_string()))?;
        let relative = absolute
            .strip_prefix(&root)
            .map_err(|_| HistoryError::Unavailable(format!("{} is outside {}", file.display(), root.display())))?
            .to_string_lossy()
            .replace('\\', "/");
        let mut history = PackHistory::default();
        if !self.has_commits()? {
            return Ok(history);
        }
        let log = self
            .git(&["log", "--format=%H", "--", &relative])?
            .map_err(|e| HistoryError::Git(format!("git log -- {relative}: {e}")))?;
        for commit in log.lines().map(str::trim).filter(|c| !c.is_empty()) {
            let Ok(text) = self.git(&["show", &format!("{commit}:{relative}")])? else {
                continue; // the commit deleted the file
            };
            let Ok(pack) = Pack::from_toml(&text) else {
                continue;
            };
            let short = commit.chars().take(10).collect::<String>();
            if history.last_committed.is_none() {
                history.last_committed = Some((short.clone(), pack.clone()));
            }
            if pack.steps_differ(current) {
                history.last_other_steps = Some((short, pack));
                break;
            }
        }
        Ok(history)
    }
}
