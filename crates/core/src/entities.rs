//! The entities of a campaign as typed structs, and how each becomes the
//! fields of a change record.
//!
//! Code that creates or edits data builds these (every field already parsed
//! and valid); the store turns them into change records with
//! [`Entity::fields`] or a [`Patch`]. The field names used here are checked
//! against [`EntityKind::fields`] by the tests at the bottom.

use std::marker::PhantomData;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{
    CampaignId, ChecklistRunId, CommuneId, DeviceId, HouseholdId, MemberId, PersonId, StepEventId, VillageId, VisitId,
};
use crate::phone::Phone;
use crate::schema::{EntityKind, FieldValue, format_timestamp};
use crate::text::{BadText, Key, Landmark, LanguageTag, Notes, PersonName, PlaceName};
use crate::vocab::{BlockerReason, PhoneKind, Role, StepOutcome, Unit, VisitOutcome};

/// The fields of a change, by name.
pub type Fields = Vec<(&'static str, FieldValue)>;

/// A typed entity that can be written as a create change.
pub trait Entity {
    /// Which kind of entity.
    const KIND: EntityKind;
    /// Its id.
    fn entity_id(&self) -> Uuid;
    /// Every field, for the create change.
    fn fields(&self) -> Fields;
}

fn text<T: AsRef<str>>(v: &Option<T>) -> FieldValue {
    v.as_ref()
        .map_or(FieldValue::Null, |t| FieldValue::Text(t.as_ref().to_owned()))
}

fn id_text(id: impl Into<Uuid>) -> FieldValue {
    FieldValue::Text(id.into().hyphenated().to_string())
}

fn opt_id(id: Option<impl Into<Uuid>>) -> FieldValue {
    id.map_or(FieldValue::Null, id_text)
}

fn date(d: Option<NaiveDate>) -> FieldValue {
    d.map_or(FieldValue::Null, |d| FieldValue::Text(d.format("%Y-%m-%d").to_string()))
}

fn time(t: DateTime<Utc>) -> FieldValue {
    FieldValue::Text(format_timestamp(t))
}

fn json_list<T: ToString>(items: &[T]) -> FieldValue {
    let items: Vec<String> = items.iter().map(ToString::to_string).collect();
    FieldValue::Text(serde_json::to_string(&items).unwrap_or_else(|_| "[]".to_owned()))
}

macro_rules! as_ref_str {
    ($($t:ty),*) => {$(
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
    )*};
}
as_ref_str!(PersonName, PlaceName, Landmark, Notes, LanguageTag, Phone, Key);

/// A commune (xã): the scope a device syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commune {
    /// Its id.
    pub id: CommuneId,
    /// "Mường Lạn".
    pub name: PlaceName,
    /// "Điện Biên".
    pub province: Option<PlaceName>,
}

impl Entity for Commune {
    const KIND: EntityKind = EntityKind::Commune;
    fn entity_id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn fields(&self) -> Fields {
        vec![("name", self.name.as_str().into()), ("province", text(&self.province))]
    }
}

/// A village (bản) in a commune.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Village {
    /// Its id.
    pub id: VillageId,
    /// The commune it belongs to.
    pub commune_id: CommuneId,
    /// "Tam Tu".
    pub name: PlaceName,
}

impl Entity for Village {
    const KIND: EntityKind = EntityKind::Village;
    fn entity_id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn fields(&self) -> Fields {
        vec![
            ("commune_id", id_text(self.commune_id)),
            ("name", self.name.as_str().into()),
        ]
    }
}

/// A campaign: a drive over some communes with some checklist packs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    /// Its id.
    pub id: CampaignId,
    /// "Go down every alley, knock on every door".
    pub name: PlaceName,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day, if set.
    pub ends_on: Option<NaiveDate>,
    /// Communes it covers.
    pub commune_ids: Vec<CommuneId>,
    /// Checklist packs in use ("vneid", "vssid", ...).
    pub pack_keys: Vec<Key>,
}

impl Entity for Campaign {
    const KIND: EntityKind = EntityKind::Campaign;
    fn entity_id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn fields(&self) -> Fields {
        vec![
            ("name", self.name.as_str().into()),
            ("starts_on", date(Some(self.starts_on))),
            ("ends_on", date(self.ends_on)),
            ("commune_ids", json_list(&self.commune_ids)),
            ("pack_keys", json_list(&self.pack_keys)),
        ]
    }
}

/// A campaign member: volunteer, lead or admin, from one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Its id.
    pub id: MemberId,
    /// The campaign.
    pub campaign_id: CampaignId,
    /// Full name.
    pub name: PersonName,
    /// What they may do.
    pub role: Role,
    /// Where they come from (youth union, police, ...).
    pub unit: Unit,
    /// Their phone.
    pub phone: Option<Phone>,
    /// Villages assigned to them.
    pub village_ids: Vec<VillageId>,
}

impl Entity for Member {
    const KIND: EntityKind = EntityKind::Member;
    fn entity_id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn fields(&self) -> Fields {
        vec![
            ("campaign_id", id_text(self.campaign_id)),
            ("name", self.name.as_str().into()),
            ("role", self.role.as_str().into()),
            ("unit", self.unit.as_str().into()),
            ("phone", text(&self.phone)),
            ("village_ids", json_list(&self.village_ids)),
        ]
    }
}

/// A point on the map, in units of 1e-7 degree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeoPoint {
    /// Latitude × 10^7.
    pub lat_e7: i32,
    /// Longitude × 10^7.
    pub lng_e7: i32,
}

impl GeoPoint {
    /// Reads decimal degrees, e.g. "21.3856" and "103.0170".
    pub fn parse(lat: &str, lng: &str) -> Result<GeoPoint, BadText> {
        let read = |field: &'static str, raw: &str, limit: f64| -> Result<i32, BadText> {
            let deg: f64 = raw
                .trim()
                .parse()
                .map_err(|_| BadText::new(field, raw, "is not a number of degrees (e.g. 21.3856)"))?;
            if !deg.is_finite() || deg.abs() > limit {
                return Err(BadText::new(field, raw, format!("is outside -{limit}..{limit}")));
            }
            // In range by the check above, so the cast cannot overflow.
            #[allow(clippy::cast_possible_truncation)]
            Ok((deg * 1e7).round() as i32)
        };
        Ok(GeoPoint {
            lat_e7: read("latitude", lat, 90.0)?,
            lng_e7: read("longitude", lng, 180.0)?,
        })
    }
}

/// A household on the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Household {
    /// Its id.
    pub id: HouseholdId,
    /// The village it is in.
    pub village_id: VillageId,
    /// Head of household, as on the register.
    pub head_name: PersonName,
    /// How to find the house.
    pub landmark: Option<Landmark>,
    /// A household phone.
    pub phone: Option<Phone>,
    /// How many people live there.
    pub members_count: Option<u8>,
    /// Language spoken at home.
    pub language: Option<LanguageTag>,
    /// Notes for the next volunteer.
    pub notes: Option<Notes>,
    /// Where the house is, if recorded.
    pub location: Option<GeoPoint>,
    /// When it was added to the register.
    pub created_at: DateTime<Utc>,
}

impl Entity for Household {
    const KIND: EntityKind = EntityKind::Household;
    fn entity_id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn fields(&self) -> Fields {
        vec![
            ("village_id", id_text(self.village_id)),
            ("head_name", self.head_name.as_str().into()),
            ("landmark", text(&self.landmark)),
            ("phone", text(&self.phone)),
            ("members_count", self.members_count.map(i64::from).into()),
            ("language", text(&self.language)),
            ("notes", text(&self.notes)),
            ("lat_e7", self.location.map(|p| i64::from(p.lat_e7)).into()),
            ("lng_e7", self.location.map(|p| i64::from(p.lng_e7)).into()),
            ("created_at", time(self.created_at)),
        ]
    }
}

/// A person living in a household. ID-card numbers are never stored: only
/// whether the person has a chip-based card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Its id.
    pub id: PersonId,
    /// Their household.
    pub household_id: HouseholdId,
    /// Full name.
    pub name: PersonName,
    /// Year of birth, if known.
    pub birth_year: Option<u16>,
    /// Their own phone number.
    pub phone: Option<Phone>,
    /// What phone they have.
    pub phone_kind: Option<PhoneKind>,
    /// Whether the number is registered in their own name (VNeID needs it).
    pub phone_in_own_name: Option<bool>,
    /// Whether they have a chip-based citizen ID card.
    pub chip_id_card: Option<bool>,
    /// Notes.
    pub notes: Option<Notes>,
}

impl Entity for Person {
    const KIND: EntityKind = EntityKind::Person;
    fn entity_id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn fields(&self) -> Fields {
        vec![
            ("household_id", id_text(self.household_id)),
            ("name", self.name.as_str().into()),
            ("birth_year", self.birth_year.map(i64::from).into()),
            ("phone", text(&self.phone)),
            ("phone_kind", self.phone_kind.map(PhoneKind::as_str).into()),
            ("phone_in_own_name", self.phone_in_own_name.into()),
            ("chip_id_card", self.chip_id_card.into()),
            ("notes", text(&self.notes)),
        ]
    }
}

/// One visit to a household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// Its id.
    pub id: VisitId,
    /// The household visited.
    pub household_id: HouseholdId,
    /// The volunteer, if known on this device.
    pub member_id: Option<MemberId>,
    /// The device it was recorded on.
    pub device_id: DeviceId,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// How it went.
    pub outcome: VisitOutcome,
    /// When to come back.
    pub follow_up_on: Option<NaiveDate>,
    /// Notes.
    pub notes: Option<Notes>,
    /// Who pointed the household to the campaign or taught them first
    /// (peer spread: "taught by neighbour X").
    pub referred_by: Option<PersonId>,
}

impl Entity for Visit {
    const KIND: EntityKind = EntityKind::Visit;
    fn entity_id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn fields(&self) -> Fields {
        vec![
            ("household_id", id_text(self.household_id)),
            ("member_id", opt_id(self.member_id)),
            ("device_id", id_text(self.device_id)),
            ("started_at", time(self.started_at)),
            ("ended_at", self.ended_at.map_or(FieldValue::Null, time)),
            ("outcome", self.outcome.as_str().into()),
            ("follow_up_on", date(self.follow_up_on)),
            ("notes", text(&self.notes)),
            ("referred_by", opt_id(self.referred_by)),
        ]
    }
}

/// One person working through one checklist pack during a visit. Keeps the
/// pack version it started with, so a newer pack never breaks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistRun {
    /// Its id.
    pub id: ChecklistRunId,
    /// The visit it started in.
    pub visit_id: VisitId,
    /// The person being helped.
    pub person_id: PersonId,
    /// Their household (the visit's household).
    pub household_id: HouseholdId,
    /// Which pack.
    pub pack_key: Key,
    /// Which version of it.
    pub pack_version: u32,
    /// When it started.
    pub started_at: DateTime<Utc>,
}

impl Entity for ChecklistRun {
    const KIND: EntityKind = EntityKind::ChecklistRun;
    fn entity_id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn fields(&self) -> Fields {
        vec![
            ("visit_id", id_text(self.visit_id)),
            ("person_id", id_text(self.person_id)),
            ("household_id", id_text(self.household_id)),
            ("pack_key", self.pack_key.as_str().into()),
            ("pack_version", FieldValue::Int(i64::from(self.pack_version))),
            ("started_at", time(self.started_at)),
        ]
    }
}

/// What happened to a step: done, skipped, or blocked for a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "blocker", rename_all = "snake_case")]
pub enum StepStatus {
    /// Done and verified.
    Done,
    /// Skipped on purpose.
    Skipped,
    /// Could not be done.
    Blocked(BlockerReason),
}

impl StepStatus {
    /// The outcome code.
    pub fn outcome(self) -> StepOutcome {
        match self {
            StepStatus::Done => StepOutcome::Done,
            StepStatus::Skipped => StepOutcome::Skipped,
            StepStatus::Blocked(_) => StepOutcome::Blocked,
        }
    }

    /// The blocker reason, for a blocked step.
    pub fn blocker(self) -> Option<BlockerReason> {
        match self {
            StepStatus::Blocked(r) => Some(r),
            _ => None,
        }
    }
}

/// One step outcome in a run. Append-only: a step redone later is a new
/// event, and the latest event of each step counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepEvent {
    /// Its id.
    pub id: StepEventId,
    /// The run.
    pub run_id: ChecklistRunId,
    /// The step, by its id in the pack.
    pub step_id: Key,
    /// What happened.
    pub status: StepStatus,
    /// When.
    pub at: DateTime<Utc>,
    /// A note ("son will bring the ID card on Sunday").
    pub note: Option<Notes>,
}

impl Entity for StepEvent {
    const KIND: EntityKind = EntityKind::StepEvent;
    fn entity_id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn fields(&self) -> Fields {
        vec![
            ("run_id", id_text(self.run_id)),
            ("step_id", self.step_id.as_str().into()),
            ("outcome", self.status.outcome().as_str().into()),
            ("blocker", self.status.blocker().map(BlockerReason::as_str).into()),
            ("at", time(self.at)),
            ("note", text(&self.note)),
        ]
    }
}

/// Changes to some fields of an existing entity, built with typed setters so
/// only valid values of mutable fields can be set.
#[derive(Debug, Clone)]
pub struct Patch<E> {
    fields: Fields,
    entity: PhantomData<E>,
}

impl<E: Entity> Default for Patch<E> {
    fn default() -> Patch<E> {
        Patch {
            fields: Vec::new(),
            entity: PhantomData,
        }
    }
}

impl<E: Entity> Patch<E> {
    /// An empty patch.
    pub fn new() -> Patch<E> {
        Patch::default()
    }

    /// The fields it sets.
    pub fn into_fields(self) -> Fields {
        self.fields
    }

    /// Whether it sets nothing.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    fn set(mut self, name: &'static str, value: FieldValue) -> Patch<E> {
        self.fields.retain(|(n, _)| *n != name);
        self.fields.push((name, value));
        self
    }

    /// Marks the entity deleted (or restores it).
    #[must_use]
    pub fn deleted(self, deleted: bool) -> Patch<E> {
        self.set("deleted", FieldValue::Bool(deleted))
    }
}

impl Patch<Household> {
    /// Moves the household to another village.
    #[must_use]
    pub fn village(self, v: VillageId) -> Self {
        self.set("village_id", id_text(v))
    }
    /// Corrects the head of household's name.
    #[must_use]
    pub fn head_name(self, v: PersonName) -> Self {
        self.set("head_name", v.as_str().into())
    }
    /// Sets or clears the landmark.
    #[must_use]
    pub fn landmark(self, v: Option<Landmark>) -> Self {
        self.set("landmark", text(&v))
    }
    /// Sets or clears the phone.
    #[must_use]
    pub fn phone(self, v: Option<Phone>) -> Self {
        self.set("phone", text(&v))
    }
    /// Sets or clears the number of members.
    #[must_use]
    pub fn members_count(self, v: Option<u8>) -> Self {
        self.set("members_count", v.map(i64::from).into())
    }
    /// Sets or clears the home language.
    #[must_use]
    pub fn language(self, v: Option<LanguageTag>) -> Self {
        self.set("language", text(&v))
    }
    /// Sets or clears the notes.
    #[must_use]
    pub fn notes(self, v: Option<Notes>) -> Self {
        self.set("notes", text(&v))
    }
    /// Sets or clears the location.
    #[must_use]
    pub fn location(self, v: Option<GeoPoint>) -> Self {
        self.set("lat_e7", v.map(|p| i64::from(p.lat_e7)).into())
            .set("lng_e7", v.map(|p| i64::from(p.lng_e7)).into())
    }
}

impl Patch<Person> {
    /// Corrects the name.
    #[must_use]
    pub fn name(self, v: PersonName) -> Self {
        self.set("name", v.as_str().into())
    }
    /// Sets or clears the birth year.
    #[must_use]
    pub fn birth_year(self, v: Option<u16>) -> Self {
        self.set("birth_year", v.map(i64::from).into())
    }
    /// Sets or clears the phone.
    #[must_use]
    pub fn phone(self, v: Option<Phone>) -> Self {
        self.set("phone", text(&v))
    }
    /// Sets or clears the phone kind.
    #[must_use]
    pub fn phone_kind(self, v: Option<PhoneKind>) -> Self {
        self.set("phone_kind", v.map(PhoneKind::as_str).into())
    }
    /// Records whether the number is in their own name.
    #[must_use]
    pub fn phone_in_own_name(self, v: Option<bool>) -> Self {
        self.set("phone_in_own_name", v.into())
    }
    /// Records whether they have a chip ID card.
    #[must_use]
    pub fn chip_id_card(self, v: Option<bool>) -> Self {
        self.set("chip_id_card", v.into())
    }
    /// Sets or clears the notes.
    #[must_use]
    pub fn notes(self, v: Option<Notes>) -> Self {
        self.set("notes", text(&v))
    }
}

impl Patch<Visit> {
    /// Corrects the outcome.
    #[must_use]
    pub fn outcome(self, v: VisitOutcome) -> Self {
        self.set("outcome", v.as_str().into())
    }
    /// Sets or clears the end time.
    #[must_use]
    pub fn ended_at(self, v: Option<DateTime<Utc>>) -> Self {
        self.set("ended_at", v.map_or(FieldValue::Null, time))
    }
    /// Sets or clears the follow-up date.
    #[must_use]
    pub fn follow_up_on(self, v: Option<NaiveDate>) -> Self {
        self.set("follow_up_on", date(v))
    }
    /// Sets or clears the notes.
    #[must_use]
    pub fn notes(self, v: Option<Notes>) -> Self {
        self.set("notes", text(&v))
    }
    /// Sets or clears who referred the household.
    #[must_use]
    pub fn referred_by(self, v: Option<PersonId>) -> Self {
        self.set("referred_by", opt_id(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{Change, ChangeOp, FieldWrite};
    use crate::hlc::Hlc;
    use crate::ids::ChangeId;

    fn as_change(kind: EntityKind, op: ChangeOp, id: Uuid, fields: Fields) -> Change {
        Change {
            id: ChangeId::new(),
            device: DeviceId::new(),
            seq: 1,
            hlc: Hlc::new(1_795_000_000_000, 0),
            entity: kind,
            entity_id: id,
            op,
            fields: fields
                .into_iter()
                .map(|(f, value)| FieldWrite {
                    field: f.to_owned(),
                    value,
                    base: None,
                    resolves: vec![],
                })
                .collect(),
        }
    }

    fn check<E: Entity>(e: &E) {
        let change = as_change(E::KIND, ChangeOp::Create, e.entity_id(), e.fields());
        change.validate().unwrap_or_else(|p| panic!("{}: {p}", E::KIND));
        let names: Vec<_> = e.fields().iter().map(|(n, _)| *n).collect();
        for spec in E::KIND.fields() {
            assert!(
                spec.name == "deleted" || names.contains(&spec.name),
                "{} misses {}",
                E::KIND,
                spec.name
            );
        }
    }

    fn name(s: &str) -> PersonName {
        PersonName::parse(s).expect("valid name")
    }

    #[test]
    fn every_entity_writes_a_valid_create_with_every_field() {
        let now = Utc::now();
        let commune = Commune {
            id: CommuneId::new(),
            name: PlaceName::parse("Mường Lạn").expect("ok"),
            province: None,
        };
        let village = Village {
            id: VillageId::new(),
            commune_id: commune.id,
            name: PlaceName::parse("Tam Tu").expect("ok"),
        };
        let campaign = Campaign {
            id: CampaignId::new(),
            name: PlaceName::parse("Every door").expect("ok"),
            starts_on: now.date_naive(),
            ends_on: None,
            commune_ids: vec![commune.id],
            pack_keys: vec![Key::parse("vneid").expect("ok")],
        };
        let member = Member {
            id: MemberId::new(),
            campaign_id: campaign.id,
            name: name("Lường Thị Mai"),
            role: Role::Volunteer,
            unit: Unit::YouthUnion,
            phone: None,
            village_ids: vec![village.id],
        };
        let household = Household {
            id: HouseholdId::new(),
            village_id: village.id,
            head_name: name("Lò Văn Hùng"),
            landmark: None,
            phone: Some(Phone::parse("0912345678").expect("ok")),
            members_count: Some(5),
            language: None,
            notes: None,
            location: Some(GeoPoint::parse("21.3856", "103.0170").expect("ok")),
            created_at: now,
        };
        let person = Person {
            id: PersonId::new(),
            household_id: household.id,
            name: name("Lò Thị Xuân"),
            birth_year: Some(1990),
            phone: None,
            phone_kind: Some(PhoneKind::Android),
            phone_in_own_name: Some(true),
            chip_id_card: Some(true),
            notes: None,
        };
        let visit = Visit {
            id: VisitId::new(),
            household_id: household.id,
            member_id: Some(member.id),
            device_id: DeviceId::new(),
            started_at: now,
            ended_at: None,
            outcome: VisitOutcome::Helped,
            follow_up_on: None,
            notes: None,
            referred_by: None,
        };
        let run = ChecklistRun {
            id: ChecklistRunId::new(),
            visit_id: visit.id,
            person_id: person.id,
            household_id: household.id,
            pack_key: Key::parse("vneid").expect("ok"),
            pack_version: 1,
            started_at: now,
        };
        let step = StepEvent {
            id: StepEventId::new(),
            run_id: run.id,
            step_id: Key::parse("install").expect("ok"),
            status: StepStatus::Blocked(BlockerReason::NoSignal),
            at: now,
            note: None,
        };
        check(&commune);
        check(&village);
        check(&campaign);
        check(&member);
        check(&household);
        check(&person);
        check(&visit);
        check(&run);
        check(&step);
    }

    #[test]
    fn patches_set_only_mutable_fields() {
        let id = Uuid::now_v7();
        let household = Patch::<Household>::new()
            .head_name(name("Lò Văn Hùng"))
            .phone(None)
            .location(GeoPoint::parse("21.1", "103.2").ok())
            .deleted(false);
        let person = Patch::<Person>::new()
            .chip_id_card(Some(true))
            .phone_kind(Some(PhoneKind::Ios));
        let visit = Patch::<Visit>::new().outcome(VisitOutcome::Revisit).follow_up_on(None);
        for (kind, fields) in [
            (EntityKind::Household, household.into_fields()),
            (EntityKind::Person, person.into_fields()),
            (EntityKind::Visit, visit.into_fields()),
        ] {
            as_change(kind, ChangeOp::Update, id, fields)
                .validate()
                .unwrap_or_else(|p| panic!("{p}"));
        }
    }

    #[test]
    fn geo_points_read_degrees() {
        let p = GeoPoint::parse(" 21.3856 ", "103.017").expect("valid");
        assert_eq!((p.lat_e7, p.lng_e7), (213_856_000, 1_030_170_000));
        assert!(GeoPoint::parse("91", "0").is_err());
        assert!(
            GeoPoint::parse("north", "0")
                .expect_err("bad")
                .to_string()
                .contains("latitude")
        );
    }
}
