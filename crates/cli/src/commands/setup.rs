//! `init`, `villages`, `pack check|list`, `check`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use doorstep_core::pack::{Pack, PackContext, PackProblem};
use doorstep_device::demo::{DemoOptions, load_demo};
use doorstep_device::{CreateOptions, Store};
use serde::Serialize;

use super::Ctx;
use crate::cli::InitArgs;
use crate::output::{self, Table};

#[derive(Serialize)]
struct Initialised {
    db: PathBuf,
    device_id: String,
    practice: bool,
    demo: Option<doorstep_device::demo::DemoSummary>,
    packs: Vec<String>,
}

pub(crate) fn init(db: &Path, args: &InitArgs, now: Option<DateTime<Utc>>, json: bool) -> anyhow::Result<()> {
    let mut store = Store::create(
        db,
        CreateOptions {
            practice: args.practice,
            device_id: None,
        },
    )?;
    if let Some(t) = now {
        store.set_wall_clock(Arc::new(move || t));
    }
    let demo = if args.demo {
        let today = store.today();
        match load_demo(
            &mut store,
            DemoOptions {
                history: args.history,
                today,
            },
        ) {
            Ok(summary) => Some(summary),
            Err(e) => {
                drop(store);
                // Do not leave a half-initialised file behind.
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
                }
                return Err(e.into());
            }
        }
    } else {
        None
    };
    let packs = store
        .installed_packs("en")?
        .into_iter()
        .map(|p| format!("{} v{}", p.key, p.version))
        .collect();
    let done = Initialised {
        db: db.to_owned(),
        device_id: store.device_id().to_string(),
        practice: args.practice,
        demo,
        packs,
    };
    if json {
        return output::json(&done);
    }
    output::line(format!(
        "Created {} (device {}){}.",
        db.display(),
        done.device_id,
        if args.practice {
            ", a practice database that never syncs"
        } else {
            ""
        }
    ));
    if let Some(d) = &done.demo {
        output::line(format!(
            "Demo campaign: {} communes, {} villages, {} members, {} households, {} people{}.",
            d.communes,
            d.villages,
            d.members,
            d.households,
            d.people,
            if d.visits > 0 {
                format!(", {} visits, {} checklist runs", d.visits, d.runs)
            } else {
                String::new()
            }
        ));
    }
    output::line(format!("Checklist packs: {}.", done.packs.join(", ")));
    Ok(())
}

pub(crate) fn villages(ctx: &mut Ctx) -> anyhow::Result<()> {
    let villages = ctx.store.villages()?;
    if ctx.json {
        return output::json(&villages);
    }
    let mut table = Table::new(&["COMMUNE", "VILLAGE", "HOUSEHOLDS", "ID"]);
    for v in &villages {
        table.row(vec![
            v.commune.clone(),
            v.name.clone(),
            v.households.to_string(),
            v.id.clone(),
        ]);
    }
    table.print();
    Ok(())
}

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

#[derive(Serialize)]
struct PackCheck {
    files: usize,
    problems: Vec<PackProblem>,
}

/// Checks every pack file under `path`; lists every problem.
pub(crate) fn pack_check(path: &Path, illustrations: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let files: Vec<PathBuf> = if path.is_dir() {
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
    let dir = if path.is_dir() {
        path.to_owned()
    } else {
        path.parent().map(Path::to_owned).unwrap_or_default()
    };
    let illustrations_dir = illustrations.map_or_else(|| dir.join("../illustrations"), Path::to_owned);
    let pictures = list_files(&illustrations_dir);
    let ctx = PackContext {
        illustrations: Some(&pictures),
        ..PackContext::default()
    };
    let mut problems = Vec::new();
    let mut keys: Vec<(String, String)> = Vec::new();
    for file in &files {
        let name = file.display().to_string();
        let located = |mut p: PackProblem| {
            p.file = Some(name.clone());
            p
        };
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                problems.push(located(PackProblem {
                    file: None,
                    location: String::new(),
                    message: format!("cannot read: {e}"),
                }));
                continue;
            }
        };
        match Pack::from_toml(&text) {
            Err(p) => problems.push(located(p)),
            Ok(pack) => {
                if let Some((_, other)) = keys.iter().find(|(k, _)| *k == pack.key) {
                    problems.push(located(PackProblem {
                        file: None,
                        location: "key".into(),
                        message: format!("key {:?} is also used by {other}", pack.key),
                    }));
                }
                keys.push((pack.key.clone(), name.clone()));
                problems.extend(pack.validate(&ctx).into_iter().map(located));
            }
        }
    }
    if files.is_empty() {
        bail!("no .toml pack files in {}", path.display());
    }
    let report = PackCheck {
        files: files.len(),
        problems,
    };
    if json {
        output::json(&report)?;
    } else {
        for p in &report.problems {
            output::note(p);
        }
    }
    if report.problems.is_empty() {
        if !json {
            output::line(format!("{} pack files checked: no problems.", report.files));
        }
        Ok(())
    } else {
        bail!("{} problems in {} pack files", report.problems.len(), report.files)
    }
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
            if p.is_dir() {
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

pub(crate) fn check(ctx: &mut Ctx) -> anyhow::Result<()> {
    let problems = ctx.store.integrity_problems()?;
    if ctx.json {
        output::json(&serde_json::json!({ "ok": problems.is_empty(), "problems": problems }))?;
    } else if problems.is_empty() {
        output::line(format!("{}: no damage found.", ctx.store.path().display()));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        for p in &problems {
            output::note(p);
        }
        bail!(
            "{} is damaged ({} problems); restore it from a backup or sync a fresh copy",
            ctx.store.path().display(),
            problems.len()
        )
    }
}
