//! `pack check` and `pack list`.
//!
//! `pack check` is what CI and a translator run: every problem in every
//! pack file - syntax, missing translations, unknown codes, pictures that
//! are missing, unused or not plain drawings, and steps changed without a
//! new version compared with git history - each with its file, step and
//! field, all at once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use doorstep_core::illustration::check_svg;
use doorstep_core::labels::{self, Heading};
use doorstep_core::pack::{NfcUse, Pack, PackContext, PackProblem, PhoneKind, Prerequisite};
use serde::Serialize;

use super::Ctx;
use crate::output::{self, Table};
use crate::pack_history::{HistoryError, Repo};

pub(crate) fn pack_list(ctx: &mut Ctx) -> anyhow::Result<()> {
    let packs = ctx.store.installed_packs(&ctx.lang)?;
    if ctx.json {
        return output::json(&packs);
    }
    let mut table = Table::new(&["PACK", "VERSION", "STEPS", "TITLE"]);
    for p in &packs {
        let title = match &p.audience {
            Some(a) => format!("{} ({a})", p.title),
            None => p.title.clone(),
        };
        table.row(vec![p.key.clone(), p.version.to_string(), p.steps.to_string(), title]);
    }
    table.print();
    Ok(())
}

/// `pack show KEY`: an installed pack.
pub(crate) fn pack_show(ctx: &mut Ctx, key: &str) -> anyhow::Result<()> {
    let pack = ctx.store.latest_pack(key)?;
    show(&pack, &ctx.lang, ctx.json)
}

/// `pack show FILE`: a pack file, without a database.
pub(crate) fn pack_show_file(path: &Path, lang: &str, json: bool) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let pack = Pack::from_toml(&text).map_err(|p| anyhow::anyhow!("{}: {p}", path.display()))?;
    show(&pack, lang, json)
}

/// Prints a pack in one language, every code as its label, so a reader of
/// that language alone can follow it.
fn show(pack: &Pack, lang: &str, json: bool) -> anyhow::Result<()> {
    if json {
        return output::json(pack);
    }
    let t = |text| Pack::text(text, lang);
    let list_sep = if lang == "ar" { "، " } else { "; " };
    let h = |heading| labels::heading(heading, lang);
    let mut title = format!("{} - {} {}", t(&pack.title), h(Heading::Version), pack.version);
    if pack.audience.is_some() {
        title = format!("{title} ({})", h(Heading::ForTrainees));
    }
    output::line(title);
    output::line(t(&pack.summary));
    let needs: Vec<&str> = pack
        .requires
        .iter()
        .filter_map(|r| r.parse::<Prerequisite>().ok())
        .map(|p| labels::prerequisite(p, lang))
        .collect();
    if !needs.is_empty() {
        output::line(format!("\n{}:", h(Heading::Needs)));
        for n in needs {
            output::line(format!("  - {n}"));
        }
    }
    if let Some(phone) = &pack.phone {
        let mut parts: Vec<String> = phone
            .kinds
            .iter()
            .filter_map(|k| k.parse::<PhoneKind>().ok())
            .map(|k| labels::phone_kind(k, lang).to_owned())
            .collect();
        if let Some(v) = &phone.min_android {
            parts.push(format!("{} {v}", h(Heading::FromAndroid)));
        }
        if let Some(v) = &phone.min_ios {
            parts.push(format!("{} {v}", h(Heading::FromIos)));
        }
        if let Some(n) = phone.nfc.as_deref().and_then(|n| n.parse::<NfcUse>().ok()) {
            parts.push(labels::nfc(n, lang).to_owned());
        }
        output::line(format!("{}: {}", h(Heading::Phone), parts.join(list_sep)));
    }
    for (i, step) in pack.steps.iter().enumerate() {
        output::line(format!("\n{} {}. {}", h(Heading::Step), i + 1, t(&step.title)));
        output::line(format!("  {}", t(&step.instruction)));
        if !step.tip.is_empty() {
            output::line(format!("  {}: {}", h(Heading::Tip), t(&step.tip)));
        }
        output::line(format!("  {}: {}", h(Heading::Verify), t(&step.verify)));
        let blockers: Vec<&str> = Pack::blockers(step)
            .into_iter()
            .map(|b| labels::blocker(b, lang))
            .collect();
        output::line(format!("  {}: {}", h(Heading::Blockers), blockers.join(list_sep)));
    }
    output::line(format!("\n{}:", h(Heading::Sources)));
    for s in &pack.sources {
        output::line(format!(
            "  - {} <{}> ({} {})",
            s.title,
            s.url,
            h(Heading::CheckedOn),
            s.checked_on
        ));
    }
    Ok(())
}

#[derive(Serialize)]
struct PackCheck {
    files: usize,
    illustrations: usize,
    /// Whether versions were compared with git history.
    history_checked: bool,
    problems: Vec<PackProblem>,
}

/// Checks every pack file under `path` and the pictures they use; lists
/// every problem. A directory is checked as a whole: keys must be unique
/// across it and every picture must be used by one of its packs.
pub(crate) fn pack_check(
    path: &Path,
    illustrations: Option<&Path>,
    require_history: bool,
    json: bool,
) -> anyhow::Result<()> {
    let whole_dir = path.is_dir();
    let files: Vec<PathBuf> = if whole_dir {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        files
    } else if path.is_file() {
        vec![path.to_owned()]
    } else {
        bail!("{} is neither a pack file nor a directory", path.display());
    };
    if files.is_empty() {
        bail!("no .toml pack files in {}", path.display());
    }
    let dir = if whole_dir {
        path.to_owned()
    } else {
        path.parent().map(Path::to_owned).unwrap_or_default()
    };
    let pictures_dir = illustrations.map_or_else(|| beside(&dir, "illustrations"), Path::to_owned);
    let pictures = list_files(&pictures_dir);
    let mut problems = Vec::new();
    let pictures_found = pictures_dir.is_dir();
    if !pictures_found {
        problems.push(problem(
            &pictures_dir.display().to_string(),
            "",
            "the illustrations directory is not there: give it with --illustrations DIR".into(),
        ));
    }
    let ctx = PackContext {
        illustrations: pictures_found.then_some(&pictures),
        ..PackContext::default()
    };
    let repo = Repo::containing(&dir);
    // Why versions could not be compared with every committed one.
    let history_gap = match &repo {
        Err(HistoryError::Unavailable(why) | HistoryError::Git(why)) => Some(why.clone()),
        Ok(repo) => match repo.is_shallow() {
            Ok(true) => Some("this clone is shallow, so older versions may be missing (git fetch --unshallow)".into()),
            Ok(false) => None,
            Err(e) => Some(e.to_string()),
        },
    };
    if require_history && let Some(why) = &history_gap {
        problems.push(problem(
            "",
            "",
            format!("versions cannot be compared with committed ones: {why}"),
        ));
    }
    let mut uncommitted = Vec::new();
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    for file in &files {
        let name = file.display().to_string();
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                problems.push(problem(&name, "", format!("cannot read: {e}")));
                continue;
            }
        };
        let pack = match Pack::from_toml(&text) {
            Ok(pack) => pack,
            Err(p) => {
                problems.push(located(&name, p));
                continue;
            }
        };
        if let Some(other) = keys.insert(pack.key.clone(), name.clone()) {
            problems.push(problem(
                &name,
                "key",
                format!("key {:?} is also used by {other}", pack.key),
            ));
        }
        problems.extend(pack.validate(&ctx).into_iter().map(|p| located(&name, p)));
        used.extend(pack.steps.iter().filter_map(|s| s.illustration.clone()));
        if let Ok(repo) = &repo {
            let (found, committed) = version_problems(repo, file, &pack);
            problems.extend(found.into_iter().map(|p| located(&name, p)));
            if !committed {
                uncommitted.push(
                    file.file_name()
                        .map_or_else(|| name.clone(), |n| n.to_string_lossy().into_owned()),
                );
            }
        }
    }
    for picture in used.iter().filter(|p| pictures.contains(*p)) {
        let file = pictures_dir.join(picture);
        let name = file.display().to_string();
        match std::fs::read_to_string(&file) {
            Ok(text) => problems.extend(check_svg(&text).into_iter().map(|m| problem(&name, "", m))),
            Err(e) => problems.push(problem(&name, "", format!("cannot read: {e}"))),
        }
    }
    if whole_dir {
        for unused in pictures.difference(&used) {
            let name = pictures_dir.join(unused).display().to_string();
            problems.push(problem(
                &name,
                "",
                "not used by any pack: remove it or refer to it".into(),
            ));
        }
    }
    let report = PackCheck {
        files: files.len(),
        illustrations: used.len(),
        history_checked: repo.is_ok() && history_gap.is_none(),
        problems,
    };
    if json {
        output::json(&report)?;
    } else {
        for p in &report.problems {
            output::note(p);
        }
    }
    if let Some(why) = history_gap.as_ref().filter(|_| !require_history) {
        output::note(format!("warning: versions not compared with committed ones: {why}"));
    }
    if report.problems.is_empty() {
        if !json {
            let history = if !report.history_checked {
                String::new()
            } else if uncommitted.is_empty() {
                ", versions compared with git".to_owned()
            } else {
                format!(
                    ", versions compared with git (not committed yet: {})",
                    uncommitted.join(", ")
                )
            };
            output::line(format!(
                "{} pack files and {} pictures checked{history}: no problems.",
                report.files, report.illustrations
            ));
        }
        Ok(())
    } else {
        bail!("{} problems in {} pack files", report.problems.len(), report.files)
    }
}

/// The version-bump rule against git history: steps that differ from an
/// earlier committed version need a higher version, and a version never
/// goes down.
fn version_problems(repo: &Repo, file: &Path, pack: &Pack) -> (Vec<PackProblem>, bool) {
    let history = match repo.history(file, pack) {
        Ok(h) => h,
        Err(e) => {
            let found = problem("", "version", format!("cannot read the committed versions: {e}"));
            return (vec![found], true);
        }
    };
    let mut out = Vec::new();
    if let Some((commit, last)) = &history.last_committed
        && pack.version < last.version
    {
        out.push(problem(
            "",
            "version",
            format!(
                "version {} is lower than the committed version {} (commit {commit})",
                pack.version, last.version
            ),
        ));
    }
    if let Some((commit, earlier)) = &history.last_other_steps
        && let Some(mut p) = pack.check_bump(earlier)
    {
        p.message = format!(
            "steps differ from version {} committed in {commit}, but the version is still {}; bump it to {}",
            earlier.version,
            pack.version,
            earlier.version + 1
        );
        out.push(p);
    }
    (out, history.last_committed.is_some())
}

/// The directory `name` next to `dir` (`assets/packs` -> `assets/illustrations`).
fn beside(dir: &Path, name: &str) -> PathBuf {
    match dir.parent() {
        Some(parent) if !dir.as_os_str().is_empty() && dir.file_name().is_some() => parent.join(name),
        _ => dir.join("..").join(name),
    }
}

fn problem(file: &str, location: &str, message: String) -> PackProblem {
    PackProblem {
        file: (!file.is_empty()).then(|| file.to_owned()),
        location: location.to_owned(),
        message,
    }
}

fn located(file: &str, mut p: PackProblem) -> PackProblem {
    if p.file.is_none() && !file.is_empty() {
        p.file = Some(file.to_owned());
    }
    p
}

/// Every file under `dir`, as paths relative to it with `/` separators.
fn list_files(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
            if p.is_dir() && !is_link {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.insert(
                    rel.components()
                        .map(|c| c.as_os_str().to_string_lossy())
                        .collect::<Vec<_>>()
                        .join("/"),
                );
            }
        }
    }
    out
}
