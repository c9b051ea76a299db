//! The demo campaign: the communes and villages of the founding report with
//! generated households, so the app and the CLI can be tried with no server.
//!
//! Places, members and name pools live in `assets/demo/campaign.toml`.
//! Households and people come from a seeded generator, so every demo store
//! holds the same ones (same ids, names, phone kinds and ID-card status).
//! With `history`, a week of visits and checklist runs is added, dated
//! relative to the day the demo is loaded.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use doorstep_core::entities::{
    Campaign, ChecklistRun, Commune, GeoPoint, Household, Member, Person, StepEvent, StepStatus, Village, Visit,
};
use doorstep_core::ids::{
    CampaignId, ChecklistRunId, CommuneId, HouseholdId, MemberId, PersonId, StepEventId, VillageId, VisitId,
};
use doorstep_core::pack::Pack;
use doorstep_core::phone::Phone;
use doorstep_core::text::{Key, Landmark, LanguageTag, PersonName, PlaceName};
use doorstep_core::vocab::{BlockerReason, PhoneKind, Role, Unit, VisitOutcome};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::store::Store;
use crate::write::Writer;

const CAMPAIGN_TOML: &str = include_str!("../../../assets/demo/campaign.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoFile {
    seed: u64,
    landmarks: Vec<String>,
    campaign: CampaignDef,
    communes: Vec<CommuneDef>,
    members: Vec<MemberDef>,
    names: BTreeMap<String, NamePool>,
    proportions: Proportions,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignDef {
    name: String,
    starts_on: NaiveDate,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommuneDef {
    name: String,
    province: String,
    centre: [f64; 2],
    villages: Vec<VillageDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VillageDef {
    name: String,
    households: u32,
    people: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberDef {
    name: String,
    role: String,
    unit: String,
    commune: String,
    villages: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamePool {
    language: String,
    surnames: Vec<String>,
    male_middle: String,
    female_middle: String,
    male: Vec<String>,
    female: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Proportions {
    adult_phone: BTreeMap<String, f64>,
    elderly_phone: BTreeMap<String, f64>,
    adult_chip_id_card: f64,
    elderly_chip_id_card: f64,
    phone_in_own_name: f64,
    household_located: f64,
}

/// What to load.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// Also add a week of visits and checklist runs before `today`.
    pub history: bool,
    /// The day the history leads up to.
    pub today: NaiveDate,
}

/// What was loaded.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DemoSummary {
    /// Communes.
    pub communes: usize,
    /// Villages.
    pub villages: usize,
    /// Campaign members.
    pub members: usize,
    /// Households.
    pub households: usize,
    /// People.
    pub people: usize,
    /// Visits (history).
    pub visits: usize,
    /// Checklist runs (history).
    pub runs: usize,
    /// Step events (history).
    pub step_events: usize,
}

/// A seeded source of choices. ChaCha8 keeps the stream the same on every
/// platform and version, which is what "deterministic" needs.
struct Dice(ChaCha8Rng);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        usize::try_from(self.0.next_u64() % n as u64).unwrap_or(0)
    }
    fn chance(&mut self, p: f64) -> bool {
        // 53 random bits as a fraction in [0, 1).
        #[allow(clippy::cast_precision_loss)]
        let x = (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        x < p
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn weighted<'a>(&mut self, shares: &'a BTreeMap<String, f64>) -> &'a str {
        let total: f64 = shares.values().sum();
        #[allow(clippy::cast_precision_loss)]
        let mut x = (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
        for (k, w) in shares {
            if x < *w {
                return k;
            }
            x -= w;
        }
        shares.keys().next_back().map_or("none", String::as_str)
    }
    fn bytes(&mut self) -> [u8; 10] {
        let mut out = [0u8; 10];
        out[..8].copy_from_slice(&self.0.next_u64().to_le_bytes());
        out[8..].copy_from_slice(&self.0.next_u32().to_le_bytes()[..2]);
        out
    }
}

fn bad(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Stored(format!("demo campaign file, {what}: {e}"))
}

fn at_noon(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(5, 0, 0).unwrap_or_default())
}

/// Loads the demo campaign into a store, in one transaction.
pub fn load_demo(store: &mut Store, options: DemoOptions) -> Result<DemoSummary> {
    let file: DemoFile = toml::from_str(CAMPAIGN_TOML).map_err(|e| bad("parse", e))?;
    let packs = crate::packs::bundled()?;
    let mut dice = Dice(ChaCha8Rng::seed_from_u64(file.seed));
    let start = at_noon(file.campaign.starts_on);
    let start_ms = u64::try_from(start.timestamp_millis()).unwrap_or(0);
    // Residents' packs for the history, VNeID first: the first person helped
    // in a house does VNeID, the second one of the others.
    let mut resident_packs: Vec<std::sync::Arc<Pack>> = packs
        .iter()
        .filter(|p| p.audience.is_none())
        .filter_map(|p| store.latest_pack(&p.key).ok())
        .collect();
    resident_packs.sort_by_key(|p| p.key != "vneid");
    // A practice store's campaign also offers the trainees' packs.
    let practice = store.is_practice();
    store.write(|w| {
        let mut summary = DemoSummary::default();
        let mut commune_ids = Vec::new();
        let mut villages: Vec<(VillageId, String, &VillageDef, [f64; 2])> = Vec::new();
        for c in &file.communes {
            let commune = Commune {
                id: CommuneId::from_parts(start_ms, dice.bytes()),
                name: PlaceName::parse(&c.name)?,
                province: Some(PlaceName::parse(&c.province)?),
            };
            w.create(&commune)?;
            commune_ids.push(commune.id);
            summary.communes += 1;
            for v in &c.villages {
                let village = Village {
                    id: VillageId::from_parts(start_ms, dice.bytes()),
                    commune_id: commune.id,
                    name: PlaceName::parse(&v.name)?,
                };
                w.create(&village)?;
                villages.push((village.id, c.name.clone(), v, c.centre));
                summary.villages += 1;
            }
        }
        let campaign = Campaign {
            id: CampaignId::from_parts(start_ms, dice.bytes()),
            name: PlaceName::parse(&file.campaign.name)?,
            starts_on: file.campaign.starts_on,
            ends_on: None,
            commune_ids,
            pack_keys: packs
                .iter()
                .filter(|p| p.audience.is_none() || practice)
                .map(|p| Key::parse(&p.key))
                .collect::<Result<_, _>>()?,
        };
        w.create(&campaign)?;
        let mut members_by_village: BTreeMap<VillageId, Vec<MemberId>> = BTreeMap::new();
        for m in &file.members {
            let ids: Vec<VillageId> = m
                .villages
                .iter()
                .filter_map(|name| {
                    villages
                        .iter()
                        .find(|(_, c, v, _)| *c == m.commune && v.name == *name)
                        .map(|v| v.0)
                })
                .collect();
            let member = Member {
                id: MemberId::from_parts(start_ms, dice.bytes()),
                campaign_id: campaign.id,
                name: PersonName::parse(&m.name)?,
                role: m.role.parse::<Role>()?,
                unit: m.unit.parse::<Unit>()?,
                phone: None,
                village_ids: ids.clone(),
            };
            w.create(&member)?;
            for v in ids {
                members_by_village.entry(v).or_default().push(member.id);
            }
            summary.members += 1;
        }
        for (village_id, _, def, centre) in &villages {
            let pool = file
                .names
                .get(&def.people)
                .ok_or_else(|| bad("names", format!("no pool {:?}", def.people)))?;
            for _ in 0..def.households {
                let (household, people) =
                    generate_household(&mut dice, &file, pool, *village_id, *centre, start, start_ms)?;
                w.create(&household)?;
                for p in &people {
                    w.create(p)?;
                }
                summary.households += 1;
                summary.people += people.len();
                if options.history {
                    let members = members_by_village
                        .get(village_id)
                        .map(Vec::as_slice)
                        .unwrap_or_default();
                    add_history(
                        w,
                        &mut dice,
                        &household,
                        &people,
                        members,
                        &resident_packs,
                        options.today,
                        &mut summary,
                    )?;
                }
            }
        }
        Ok(summary)
    })
}

fn generate_household(
    dice: &mut Dice,
    file: &DemoFile,
    pool: &NamePool,
    village: VillageId,
    centre: [f64; 2],
    created_at: DateTime<Utc>,
    start_ms: u64,
) -> Result<(Household, Vec<Person>)> {
    let id = HouseholdId::from_parts(start_ms, dice.bytes());
    let size = 2 + dice.below(6);
    let surname = dice.pick(&pool.surnames).clone();
    let head_male = dice.chance(0.8);
    let head_born = 1950 + i32::try_from(dice.below(45)).unwrap_or(0);
    let mut people = Vec::new();
    for i in 0..size {
        let (male, born) = match i {
            0 => (head_male, head_born),
            1 => (!head_male, head_born + 2 - i32::try_from(dice.below(6)).unwrap_or(0)),
            _ => (
                dice.chance(0.5),
                head_born + 18 + i32::try_from(dice.below(24)).unwrap_or(0),
            ),
        };
        let born = born.min(2024);
        let own_surname = if i == 1 {
            dice.pick(&pool.surnames).clone()
        } else {
            surname.clone()
        };
        let name = if male {
            format!("{own_surname} {} {}", pool.male_middle, dice.pick(&pool.male))
        } else {
            format!("{own_surname} {} {}", pool.female_middle, dice.pick(&pool.female))
        };
        let age = 2026 - born;
        let (phone_kind, chip) = if age < 15 {
            (PhoneKind::NoPhone, false)
        } else if age >= 60 {
            (
                dice.weighted(&file.proportions.elderly_phone).parse()?,
                dice.chance(file.proportions.elderly_chip_id_card),
            )
        } else {
            (
                dice.weighted(&file.proportions.adult_phone).parse()?,
                dice.chance(file.proportions.adult_chip_id_card),
            )
        };
        let has_number = phone_kind != PhoneKind::NoPhone;
        let phone = if has_number { Some(demo_phone(dice)?) } else { None };
        people.push(Person {
            id: PersonId::from_parts(start_ms, dice.bytes()),
            household_id: id,
            name: PersonName::parse(&name)?,
            birth_year: u16::try_from(born).ok(),
            phone,
            phone_kind: Some(phone_kind),
            phone_in_own_name: has_number.then(|| dice.chance(file.proportions.phone_in_own_name)),
            chip_id_card: Some(chip),
            notes: None,
        });
    }
    let located = dice.chance(file.proportions.household_located);
    let offset = |d: &mut Dice| (i32::try_from(d.below(4000)).unwrap_or(0) - 2000) as f64 / 100_000.0;
    let location = if located {
        let (lat, lng) = (centre[0] + offset(dice), centre[1] + offset(dice));
        Some(GeoPoint::parse(&format!("{lat:.5}"), &format!("{lng:.5}"))?)
    } else {
        None
    };
    let language = if dice.chance(0.9) { &pool.language } else { "vi" };
    let household = Household {
        id,
        village_id: village,
        head_name: people[0].name.clone(),
        landmark: Some(Landmark::parse(dice.pick::<String>(&file.landmarks))?),
        phone: people[0].phone.clone(),
        members_count: u8::try_from(people.len()).ok(),
        language: Some(LanguageTag::parse(language)?),
        notes: None,
        location,
        created_at,
    };
    Ok((household, people))
}

/// A made-up mobile number on a real Vietnamese prefix.
fn demo_phone(dice: &mut Dice) -> Result<Phone> {
    const PREFIXES: [&str; 8] = ["086", "096", "097", "098", "032", "033", "091", "088"];
    let prefix = dice.pick(&PREFIXES);
    Ok(Phone::parse(&format!("{prefix}{:07}", dice.below(10_000_000)))?)
}

#[allow(clippy::too_many_arguments)]
fn add_history(
    w: &mut Writer<'_>,
    dice: &mut Dice,
    household: &Household,
    people: &[Person],
    members: &[MemberId],
    packs: &[std::sync::Arc<Pack>],
    today: NaiveDate,
    summary: &mut DemoSummary,
) -> Result<()> {
    if !dice.chance(0.35) {
        return Ok(());
    }
    let days_ago = i64::try_from(dice.below(7)).unwrap_or(0) + 1;
    let started =
        at_noon(today) - Duration::days(days_ago) + Duration::minutes(i64::try_from(dice.below(480)).unwrap_or(0));
    let outcome = *dice.pick(&[
        VisitOutcome::Helped,
        VisitOutcome::Helped,
        VisitOutcome::Helped,
        VisitOutcome::Partial,
        VisitOutcome::NobodyHome,
        VisitOutcome::Revisit,
        VisitOutcome::Declined,
    ]);
    let follow_up = match outcome {
        VisitOutcome::Partial | VisitOutcome::Revisit => {
            Some(today + Duration::days(i64::try_from(dice.below(5)).unwrap_or(0) - 1))
        }
        _ => None,
    };
    let started_ms = u64::try_from(started.timestamp_millis()).unwrap_or(0);
    let visit = Visit {
        id: VisitId::from_parts(started_ms, dice.bytes()),
        household_id: household.id,
        member_id: (!members.is_empty()).then(|| *dice.pick(members)),
        device_id: w.device_id(),
        started_at: started,
        ended_at: Some(started + Duration::minutes(10 + i64::try_from(dice.below(40)).unwrap_or(0))),
        outcome,
        follow_up_on: follow_up,
        notes: None,
        referred_by: None,
    };
    w.create(&visit)?;
    summary.visits += 1;
    if packs.is_empty() || !matches!(outcome, VisitOutcome::Helped | VisitOutcome::Partial) {
        return Ok(());
    }
    for (nth, person) in people
        .iter()
        .filter(|p| p.phone_kind.is_some_and(PhoneKind::is_smartphone))
        .take(2)
        .enumerate()
    {
        let pack = if nth == 0 { &packs[0] } else { dice.pick(packs) };
        let run = ChecklistRun {
            id: ChecklistRunId::from_parts(started_ms, dice.bytes()),
            visit_id: visit.id,
            person_id: person.id,
            household_id: household.id,
            pack_key: Key::parse(&pack.key)?,
            pack_version: pack.version,
            started_at: started,
        };
        w.create(&run)?;
        summary.runs += 1;
        let stop_after = if outcome == VisitOutcome::Partial {
            dice.below(pack.steps.len())
        } else {
            pack.steps.len()
        };
        for (i, step) in pack.steps.iter().enumerate().take(stop_after) {
            let blockers = Pack::blockers(step);
            let status = if person.chip_id_card == Some(false) && blockers.contains(&BlockerReason::NoChipIdCard) {
                StepStatus::Blocked(BlockerReason::NoChipIdCard)
            } else if person.phone_in_own_name == Some(false) && blockers.contains(&BlockerReason::PhoneNotInOwnName) {
                StepStatus::Blocked(BlockerReason::PhoneNotInOwnName)
            } else {
                StepStatus::Done
            };
            let at = started + Duration::minutes(2 * i64::try_from(i).unwrap_or(0) + 1);
            let event = StepEvent {
                id: StepEventId::from_parts(u64::try_from(at.timestamp_millis()).unwrap_or(0), dice.bytes()),
                run_id: run.id,
                step_id: Key::parse(&step.id)?,
                status,
                at,
                note: None,
            };
            w.create(&event)?;
            summary.step_events += 1;
            if matches!(status, StepStatus::Blocked(_)) {
                break;
            }
        }
    }
    Ok(())
}
