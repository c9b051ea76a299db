//! `visit record`, `checklist start|step|show`.

use doorstep_core::entities::{StepStatus, Visit};
use doorstep_core::ids::{ChecklistRunId, MemberId, VisitId};
use doorstep_core::schema::EntityKind;
use doorstep_core::text::Notes;
use doorstep_core::vocab::{BlockerReason, VisitOutcome};

use super::Ctx;
use super::households::{household_id, person_id};
use crate::cli::{ChecklistStartArgs, ChecklistStepArgs, VisitArgs};
use crate::output;
use crate::values::{day, time};

pub(crate) fn record_visit(ctx: &mut Ctx, a: &VisitArgs) -> anyhow::Result<()> {
    let now = ctx.store.now();
    let started_at = a
        .started_at
        .as_deref()
        .map(|t| time(t, "--started-at"))
        .transpose()?
        .unwrap_or(now);
    let visit = Visit {
        id: VisitId::new(),
        household_id: household_id(ctx, &a.household)?,
        member_id: match a.member.as_deref() {
            Some(m) => Some(MemberId::from_uuid(ctx.store.resolve_id(EntityKind::Member, m)?)),
            // A tablet is enrolled for a member: the visit is theirs unless
            // another volunteer is named.
            None => ctx
                .store
                .sync_status()?
                .member_id
                .and_then(|m| m.parse().ok())
                .map(MemberId::from_uuid),
        },
        device_id: ctx.store.device_id(),
        started_at,
        ended_at: None,
        outcome: a.outcome.parse::<VisitOutcome>()?,
        follow_up_on: a
            .follow_up
            .as_deref()
            .map(|d| day(d, ctx.store.today(), "--follow-up"))
            .transpose()?,
        notes: a
            .notes
            .as_deref()
            .filter(|n| !n.is_empty())
            .map(Notes::parse)
            .transpose()?,
        referred_by: a.referred_by.as_deref().map(|p| person_id(ctx, p)).transpose()?,
    };
    let change = ctx.store.insert(&visit)?;
    if ctx.json {
        return output::json(&serde_json::json!({ "visit_id": visit.id, "seq": change.seq }));
    }
    output::line(format!(
        "Recorded visit {} ({}){}.",
        visit.id,
        visit.outcome,
        visit.follow_up_on.map(|d| format!(", back on {d}")).unwrap_or_default()
    ));
    Ok(())
}

fn run_id(ctx: &Ctx, raw: &str) -> anyhow::Result<ChecklistRunId> {
    Ok(ChecklistRunId::from_uuid(
        ctx.store.resolve_id(EntityKind::ChecklistRun, raw)?,
    ))
}

pub(crate) fn start(ctx: &mut Ctx, a: &ChecklistStartArgs) -> anyhow::Result<()> {
    let person = person_id(ctx, &a.person)?;
    let visit = a
        .visit
        .as_deref()
        .map(|v| ctx.store.resolve_id(EntityKind::Visit, v).map(VisitId::from_uuid))
        .transpose()?;
    let run = ctx.store.start_checklist(person, &a.pack, visit)?;
    let view = ctx.store.run_view(run.id, &ctx.lang)?;
    if ctx.json {
        return output::json(&view);
    }
    output::line(format!(
        "Started {} v{} for {} (run {}).",
        view.pack_title, view.run.pack_version, view.person_name, run.id
    ));
    if let Some(first) = view.steps.first() {
        output::line(format!(
            "Step 1/{}: {} - {}",
            view.steps.len(),
            first.title,
            first.instruction
        ));
    }
    Ok(())
}

pub(crate) fn step(ctx: &mut Ctx, a: &ChecklistStepArgs) -> anyhow::Result<()> {
    let run = run_id(ctx, &a.run)?;
    let status = match a.outcome.trim().to_ascii_lowercase().as_str() {
        "done" => StepStatus::Done,
        "skip" | "skipped" => StepStatus::Skipped,
        "blocked" => {
            let reason = a.reason.as_deref().ok_or_else(|| {
                anyhow::anyhow!(
                    "a blocked step needs a reason (one of: {})",
                    BlockerReason::CODES.join(", ")
                )
            })?;
            StepStatus::Blocked(reason.parse()?)
        }
        other => anyhow::bail!("step outcome {other:?} is not done, skip or blocked"),
    };
    if a.reason.is_some() && !matches!(status, StepStatus::Blocked(_)) {
        anyhow::bail!("a reason is only given with blocked");
    }
    let note = a
        .note
        .as_deref()
        .filter(|n| !n.is_empty())
        .map(Notes::parse)
        .transpose()?;
    let event = ctx.store.record_step(run, a.step.as_deref(), status, note)?;
    let view = ctx.store.run_view(run, &ctx.lang)?;
    if ctx.json {
        return output::json(&serde_json::json!({ "step_event_id": event.id, "step_id": event.step_id, "run": view }));
    }
    output::line(format!(
        "Step {:?} {}. Progress: {}/{} done, {} skipped, {} blocked ({}).",
        event.step_id.as_str(),
        event.status.outcome(),
        view.run.steps_done,
        view.run.steps_total,
        view.run.steps_skipped,
        view.run.steps_blocked,
        view.run.status.replace('_', " ")
    ));
    if let Some(next) = view
        .run
        .current_step
        .as_deref()
        .and_then(|id| view.steps.iter().find(|s| s.id == id))
    {
        output::line(format!(
            "Next, step {}/{}: {} - {}",
            next.number,
            view.steps.len(),
            next.title,
            next.instruction
        ));
    }
    Ok(())
}

pub(crate) fn show(ctx: &mut Ctx, raw: &str) -> anyhow::Result<()> {
    let view = ctx.store.run_view(run_id(ctx, raw)?, &ctx.lang)?;
    if ctx.json {
        return output::json(&view);
    }
    output::line(format!(
        "{} v{} for {} - {} ({}/{} done, {} skipped, {} blocked)",
        view.pack_title,
        view.run.pack_version,
        view.person_name,
        view.run.status.replace('_', " "),
        view.run.steps_done,
        view.run.steps_total,
        view.run.steps_skipped,
        view.run.steps_blocked
    ));
    for s in &view.steps {
        let mark = match s.outcome.as_deref() {
            Some("done") => "[x]",
            Some("skipped") => "[-]",
            Some("blocked") => "[!]",
            _ => "[ ]",
        };
        let here = if view.run.current_step.as_deref() == Some(s.id.as_str()) {
            "  <- next"
        } else {
            ""
        };
        output::line(format!("{mark} {}. {} ({}){here}", s.number, s.title, s.id));
        output::line(format!("      {}", s.instruction));
        if let Some(b) = &s.blocker {
            output::line(format!(
                "      blocked: {b}{}",
                s.note.as_deref().map(|n| format!(" - {n}")).unwrap_or_default()
            ));
        }
    }
    Ok(())
}
