//! `household add|list|show|edit`, `person add|edit`.

use doorstep_core::entities::{GeoPoint, Household, Patch, Person};
use doorstep_core::ids::{HouseholdId, PersonId, VillageId};
use doorstep_core::phone::Phone;
use doorstep_core::schema::EntityKind;
use doorstep_core::text::{Landmark, LanguageTag, Notes, PersonName};
use doorstep_core::vocab::PhoneKind;
use doorstep_device::queries::{HouseholdFilter, parse_status};

use super::Ctx;
use crate::cli::{HouseholdAddArgs, HouseholdEditArgs, HouseholdListArgs, PersonArgs, PersonEditArgs};
use crate::output::{self, Table, or_dash, short};
use crate::values::{clearable, yes_no};

fn opt<T>(
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, doorstep_core::text::BadText>,
) -> anyhow::Result<Option<T>> {
    Ok(raw.filter(|s| !s.trim().is_empty()).map(parse).transpose()?)
}

pub(crate) fn household_id(ctx: &Ctx, raw: &str) -> anyhow::Result<HouseholdId> {
    Ok(HouseholdId::from_uuid(
        ctx.store.resolve_id(EntityKind::Household, raw)?,
    ))
}

pub(crate) fn person_id(ctx: &Ctx, raw: &str) -> anyhow::Result<PersonId> {
    Ok(PersonId::from_uuid(ctx.store.resolve_id(EntityKind::Person, raw)?))
}

fn village_id(ctx: &Ctx, name: &str, commune: Option<&str>) -> anyhow::Result<VillageId> {
    Ok(ctx.store.find_village(name, commune)?.id.parse()?)
}

pub(crate) fn add(ctx: &mut Ctx, a: &HouseholdAddArgs) -> anyhow::Result<()> {
    let household = Household {
        id: HouseholdId::new(),
        village_id: village_id(ctx, &a.village, a.commune.as_deref())?,
        head_name: PersonName::parse(&a.head)?,
        landmark: opt(a.landmark.as_deref(), Landmark::parse)?,
        phone: opt(a.phone.as_deref(), Phone::parse)?,
        members_count: a.members,
        language: opt(a.language.as_deref(), LanguageTag::parse)?,
        notes: opt(a.notes.as_deref(), Notes::parse)?,
        location: match (&a.lat, &a.lng) {
            (Some(lat), Some(lng)) => Some(GeoPoint::parse(lat, lng)?),
            _ => None,
        },
        created_at: ctx.store.now(),
    };
    let change = ctx.store.insert(&household)?;
    if ctx.json {
        return output::json(&serde_json::json!({ "household_id": household.id, "seq": change.seq }));
    }
    output::line(format!("Added household {} ({}).", household.id, household.head_name));
    Ok(())
}

pub(crate) fn list(ctx: &mut Ctx, a: &HouseholdListArgs) -> anyhow::Result<()> {
    let village = ctx.store.find_village(&a.village, a.commune.as_deref())?;
    let filter = HouseholdFilter {
        status: a.status.as_deref().map(parse_status).transpose()?,
        search: a.search.clone(),
    };
    let rows = ctx.store.village_households(village.id.parse()?, &filter)?;
    if ctx.json {
        return output::json(&rows);
    }
    output::line(format!(
        "{} - {}: {} households",
        village.commune,
        village.name,
        rows.len()
    ));
    let mut table = Table::new(&[
        "ID",
        "HEAD OF HOUSEHOLD",
        "PEOPLE",
        "LAST VISIT",
        "OUTCOME",
        "CHECKLISTS",
        "STATUS",
    ]);
    for r in &rows {
        table.row(vec![
            short(&r.id),
            r.head_name.clone(),
            r.people.to_string(),
            or_dash(r.last_visit_at.as_deref().map(|t| &t[..10.min(t.len())])),
            or_dash(r.last_outcome.as_deref()),
            if r.runs == 0 {
                "-".into()
            } else {
                format!("{}/{} done, {} blocked", r.runs_completed, r.runs, r.runs_blocked)
            },
            serde_json::to_value(r.status)?
                .as_str()
                .unwrap_or_default()
                .replace('_', " "),
        ]);
    }
    table.print();
    Ok(())
}

pub(crate) fn show(ctx: &mut Ctx, raw: &str) -> anyhow::Result<()> {
    let detail = ctx.store.household(household_id(ctx, raw)?)?;
    if ctx.json {
        return output::json(&detail);
    }
    output::line(format!(
        "Household {} - {} ({})",
        detail.id, detail.head_name, detail.village
    ));
    output::line(format!(
        "  landmark: {}  phone: {}  language: {}  status: {}",
        or_dash(detail.landmark.as_deref()),
        or_dash(detail.phone.as_deref()),
        or_dash(detail.language.as_deref()),
        serde_json::to_value(detail.status)?
            .as_str()
            .unwrap_or_default()
            .replace('_', " ")
    ));
    if let Some(n) = &detail.notes {
        output::line(format!("  notes: {n}"));
    }
    output::line("\nPeople:");
    let mut people = Table::new(&["  ID", "NAME", "BORN", "PHONE", "KIND", "OWN NUMBER", "CHIP ID"]);
    let yn = |b: Option<bool>| match b {
        Some(true) => "yes".to_owned(),
        Some(false) => "no".to_owned(),
        None => "-".to_owned(),
    };
    for p in &detail.people {
        people.row(vec![
            format!("  {}", short(&p.id)),
            p.name.clone(),
            p.birth_year.map_or("-".into(), |y| y.to_string()),
            or_dash(p.phone.as_deref()),
            or_dash(p.phone_kind.as_deref()),
            yn(p.phone_in_own_name),
            yn(p.chip_id_card),
        ]);
    }
    people.print();
    output::line("\nVisits:");
    if detail.visits.is_empty() {
        output::line("  none yet");
    }
    for v in &detail.visits {
        output::line(format!(
            "  {}  {}  {}{}{}",
            short(&v.id),
            v.started_at,
            v.outcome,
            v.follow_up_on
                .as_deref()
                .map(|d| format!(", back on {d}"))
                .unwrap_or_default(),
            v.notes.as_deref().map(|n| format!(" - {n}")).unwrap_or_default()
        ));
    }
    output::line("\nChecklists:");
    if detail.runs.is_empty() {
        output::line("  none yet");
    }
    for r in &detail.runs {
        let person = detail
            .people
            .iter()
            .find(|p| p.id == r.person_id)
            .map_or("?", |p| p.name.as_str());
        output::line(format!(
            "  {}  {} v{} for {}: {} ({}/{} done, {} skipped, {} blocked)",
            short(&r.id),
            r.pack_key,
            r.pack_version,
            person,
            r.status.replace('_', " "),
            r.steps_done,
            r.steps_total,
            r.steps_skipped,
            r.steps_blocked
        ));
    }
    Ok(())
}

pub(crate) fn edit(ctx: &mut Ctx, a: &HouseholdEditArgs) -> anyhow::Result<()> {
    let id = household_id(ctx, &a.id)?;
    let mut patch = Patch::<Household>::new();
    if let Some(h) = &a.head {
        patch = patch.head_name(PersonName::parse(h)?);
    }
    if let Some(v) = clearable(a.phone.as_deref(), Phone::parse)? {
        patch = patch.phone(v);
    }
    if let Some(v) = clearable(a.landmark.as_deref(), Landmark::parse)? {
        patch = patch.landmark(v);
    }
    if let Some(n) = a.members {
        patch = patch.members_count(Some(n));
    }
    if let Some(v) = clearable(a.language.as_deref(), LanguageTag::parse)? {
        patch = patch.language(v);
    }
    if let Some(v) = clearable(a.notes.as_deref(), Notes::parse)? {
        patch = patch.notes(v);
    }
    if let Some(v) = &a.village {
        patch = patch.village(village_id(ctx, v, None)?);
    }
    if a.delete {
        patch = patch.deleted(true);
    }
    let change = ctx.store.update(id.as_uuid(), patch)?;
    if ctx.json {
        return output::json(
            &serde_json::json!({ "household_id": id, "seq": change.seq, "fields": change.fields.len() }),
        );
    }
    output::line(format!("Updated household {id} ({} fields).", change.fields.len()));
    Ok(())
}

fn phone_kind(raw: Option<&str>) -> anyhow::Result<Option<PhoneKind>> {
    Ok(raw.map(str::parse::<PhoneKind>).transpose()?)
}

pub(crate) fn add_person(ctx: &mut Ctx, a: &PersonArgs) -> anyhow::Result<()> {
    let person = Person {
        id: PersonId::new(),
        household_id: household_id(ctx, &a.household)?,
        name: PersonName::parse(&a.name)?,
        birth_year: a.birth_year,
        phone: opt(a.phone.as_deref(), Phone::parse)?,
        phone_kind: phone_kind(a.phone_kind.as_deref())?,
        phone_in_own_name: a.own_number.as_deref().map(|v| yes_no(v, "--own-number")).transpose()?,
        chip_id_card: a.chip_id.as_deref().map(|v| yes_no(v, "--chip-id")).transpose()?,
        notes: opt(a.notes.as_deref(), Notes::parse)?,
    };
    let change = ctx.store.insert(&person)?;
    if ctx.json {
        return output::json(&serde_json::json!({ "person_id": person.id, "seq": change.seq }));
    }
    output::line(format!(
        "Added {} ({}) to household {}.",
        person.name, person.id, person.household_id
    ));
    Ok(())
}

pub(crate) fn edit_person(ctx: &mut Ctx, a: &PersonEditArgs) -> anyhow::Result<()> {
    let id = person_id(ctx, &a.id)?;
    let mut patch = Patch::<Person>::new();
    if let Some(n) = &a.name {
        patch = patch.name(PersonName::parse(n)?);
    }
    if let Some(y) = a.birth_year {
        patch = patch.birth_year(Some(y));
    }
    if let Some(v) = clearable(a.phone.as_deref(), Phone::parse)? {
        patch = patch.phone(v);
    }
    if let Some(k) = phone_kind(a.phone_kind.as_deref())? {
        patch = patch.phone_kind(Some(k));
    }
    if let Some(v) = &a.own_number {
        patch = patch.phone_in_own_name(Some(yes_no(v, "--own-number")?));
    }
    if let Some(v) = &a.chip_id {
        patch = patch.chip_id_card(Some(yes_no(v, "--chip-id")?));
    }
    if let Some(v) = clearable(a.notes.as_deref(), Notes::parse)? {
        patch = patch.notes(v);
    }
    let change = ctx.store.update(id.as_uuid(), patch)?;
    if ctx.json {
        return output::json(&serde_json::json!({ "person_id": id, "seq": change.seq, "fields": change.fields.len() }));
    }
    output::line(format!("Updated person {id} ({} fields).", change.fields.len()));
    Ok(())
}
