//! `init`, `villages`, `check`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::bail;
use chrono::{DateTime, Utc};
use doorstep_device::demo::{DemoOptions, load_demo};
use doorstep_device::key::KeyChain;
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

pub(crate) fn init(
    db: &Path,
    keys: &KeyChain,
    args: &InitArgs,
    now: Option<DateTime<Utc>>,
    json: bool,
) -> anyhow::Result<()> {
    let mut store = Store::create_keyed(
        db,
        CreateOptions {
            practice: args.practice,
            device_id: None,
        },
        keys,
    )?;
    if let Some(t) = now {
        store.set_wall_clock(Arc::new(move || t));
    }
    // A practice database needs households to practise on.
    let demo = if args.demo || args.practice {
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
                // Do not leave a half-initialised file (or its key) behind.
                let _ = doorstep_device::sync::delete_database(db, keys);
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
