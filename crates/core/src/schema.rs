//! The shape of every entity as the sync engine sees it: a kind, an id and a
//! set of named fields holding [`FieldValue`]s.
//!
//! Typed structs (`Household`, `Visit`, ...) are what code works with; this
//! generic form is what travels in change records and what the merge rules
//! act on, one field at a time. The field tables below are the single source
//! of truth for field names, their types, which are required when an entity
//! is created and which may change afterwards. Stores build their tables and
//! SQL from them, so a field added here is added everywhere.

use std::fmt;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::phone::Phone;
use crate::text::{Landmark, LanguageTag, Notes, PersonName, PlaceName};
use crate::vocab::{BlockerReason, PhoneKind, Role, StepOutcome, Unit, VisitOutcome};

/// One field's value. Deliberately small: what SQLite and JSON share without
/// loss (no floats: GPS is stored in 1e-7 degrees as integers).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldValue {
    /// No value.
    Null,
    /// Yes or no.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// Text: names, codes, ids, dates and timestamps.
    Text(String),
}

impl FieldValue {
    /// Text of a value that is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Text(s) => Some(s),
            _ => None,
        }
    }

    /// What kind of value this is, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldValue::Null => "null",
            FieldValue::Bool(_) => "true/false",
            FieldValue::Int(_) => "a number",
            FieldValue::Text(_) => "text",
        }
    }
}

impl From<bool> for FieldValue {
    fn from(v: bool) -> FieldValue {
        FieldValue::Bool(v)
    }
}

impl From<i64> for FieldValue {
    fn from(v: i64) -> FieldValue {
        FieldValue::Int(v)
    }
}

impl From<String> for FieldValue {
    fn from(v: String) -> FieldValue {
        FieldValue::Text(v)
    }
}

impl From<&str> for FieldValue {
    fn from(v: &str) -> FieldValue {
        FieldValue::Text(v.to_owned())
    }
}

impl<T: Into<FieldValue>> From<Option<T>> for FieldValue {
    fn from(v: Option<T>) -> FieldValue {
        v.map_or(FieldValue::Null, Into::into)
    }
}

/// In JSON a value is plain: `null`, `true`, `42` or `"text"`.
impl Serialize for FieldValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FieldValue::Null => s.serialize_none(),
            FieldValue::Bool(b) => s.serialize_bool(*b),
            FieldValue::Int(i) => s.serialize_i64(*i),
            FieldValue::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for FieldValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FieldValue, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = FieldValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("null, true/false, a whole number or text")
            }
            fn visit_unit<E: de::Error>(self) -> Result<FieldValue, E> {
                Ok(FieldValue::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<FieldValue, E> {
                Ok(FieldValue::Null)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<FieldValue, E> {
                Ok(FieldValue::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FieldValue, E> {
                Ok(FieldValue::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FieldValue, E> {
                i64::try_from(v)
                    .map(FieldValue::Int)
                    .map_err(|_| E::custom("number too large"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<FieldValue, E> {
                Err(E::custom("fractional numbers are not field values"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FieldValue, E> {
                Ok(FieldValue::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<FieldValue, E> {
                Ok(FieldValue::Text(v))
            }
        }
        d.deserialize_any(ValueVisitor)
    }
}

crate::macros::vocabulary!(
    /// The kinds of entity that are synced.
    EntityKind, "entity kind" {
        /// A commune (xã).
        Commune = "commune",
        /// A village in a commune.
        Village = "village",
        /// A campaign over some communes.
        Campaign = "campaign",
        /// A campaign member.
        Member = "member",
        /// A household on the register.
        Household = "household",
        /// A person in a household.
        Person = "person",
        /// A visit to a household.
        Visit = "visit",
        /// A person working through one checklist pack.
        ChecklistRun = "checklist_run",
        /// One step outcome in a run; append-only.
        StepEvent = "step_event",
    }
);

/// What a field holds and how its text is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// The id of another entity of the given kind, as UUID text.
    Ref(EntityKind),
    /// A UUID that names something outside the synced entities (a device).
    Uuid,
    /// A person's name ([`PersonName`]).
    PersonName,
    /// A place or campaign name ([`PlaceName`]).
    PlaceName,
    /// How to find a house ([`Landmark`]).
    Landmark,
    /// Free notes ([`Notes`]).
    Notes,
    /// A Vietnamese phone number in national form ([`Phone`]).
    Phone,
    /// A BCP 47 language tag ([`LanguageTag`]).
    Language,
    /// A whole number within bounds.
    Int {
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// Yes or no.
    Bool,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A UTC instant in RFC 3339 with milliseconds, `2026-11-27T08:30:00.000Z`.
    Timestamp,
    /// One code of a vocabulary.
    Code {
        /// The vocabulary's name, for messages.
        what: &'static str,
        /// The allowed codes.
        codes: &'static [&'static str],
    },
    /// A short machine key: a pack key or a step id (`[a-z0-9_-]`, 1-40).
    Key,
    /// A JSON array of ids of the given kind.
    RefList(EntityKind),
    /// A JSON array of keys.
    KeyList,
}

impl FieldType {
    /// Whether SQL stores it as INTEGER (else TEXT).
    pub fn is_integer(self) -> bool {
        matches!(self, FieldType::Int { .. } | FieldType::Bool)
    }

    /// Checks a non-null value; the error says what is wrong with it.
    pub fn check(self, value: &FieldValue) -> Result<(), String> {
        match (self, value) {
            (FieldType::Bool, FieldValue::Bool(_)) => Ok(()),
            (FieldType::Int { min, max }, FieldValue::Int(i)) => {
                if (min..=max).contains(i) {
                    Ok(())
                } else {
                    Err(format!("{i} is out of range ({min} to {max})"))
                }
            }
            (FieldType::Bool | FieldType::Int { .. }, other) => {
                Err(format!("expected {}, got {}", self.expected(), other.type_name()))
            }
            (_, FieldValue::Text(text)) => self.check_text(text),
            (_, other) => Err(format!("expected {}, got {}", self.expected(), other.type_name())),
        }
    }

    fn expected(self) -> &'static str {
        match self {
            FieldType::Bool => "true/false",
            FieldType::Int { .. } => "a whole number",
            _ => "text",
        }
    }

    fn check_text(self, text: &str) -> Result<(), String> {
        let err = |e: &dyn fmt::Display| e.to_string();
        match self {
            FieldType::Ref(_) | FieldType::Uuid => canonical_uuid(text),
            FieldType::PersonName => PersonName::parse(text).map(drop).map_err(|e| err(&e)),
            FieldType::PlaceName => PlaceName::parse(text).map(drop).map_err(|e| err(&e)),
            FieldType::Landmark => Landmark::parse(text).map(drop).map_err(|e| err(&e)),
            FieldType::Notes => Notes::parse(text).map(drop).map_err(|e| err(&e)),
            FieldType::Phone => Phone::parse(text).map(drop).map_err(|e| err(&e)),
            FieldType::Language => LanguageTag::parse(text).map(drop).map_err(|e| err(&e)),
            FieldType::Date => canonical_date(text),
            FieldType::Timestamp => canonical_timestamp(text),
            FieldType::Code { what, codes } => {
                if codes.contains(&text) {
                    Ok(())
                } else {
                    Err(format!(
                        "unknown {what} {text:?} (expected one of: {})",
                        codes.join(", ")
                    ))
                }
            }
            FieldType::Key => check_key(text),
            FieldType::RefList(_) => {
                let items: Vec<String> =
                    serde_json::from_str(text).map_err(|_| format!("{text:?} is not a JSON list of ids"))?;
                items.iter().try_for_each(|i| canonical_uuid(i))
            }
            FieldType::KeyList => {
                let items: Vec<String> =
                    serde_json::from_str(text).map_err(|_| format!("{text:?} is not a JSON list of keys"))?;
                items.iter().try_for_each(|i| check_key(i))
            }
            FieldType::Bool | FieldType::Int { .. } => Err(format!("expected {}, got text", self.expected())),
        }
    }
}

fn parse_uuid(text: &str) -> Result<Uuid, String> {
    Uuid::parse_str(text).map_err(|_| format!("{text:?} is not an id (expected a UUID)"))
}

// Stored values are compared and sorted as text (by SQL too), so each has
// exactly one accepted form: the one this crate writes.

fn canonical_uuid(text: &str) -> Result<(), String> {
    let id = parse_uuid(text)?;
    let stored = id.hyphenated().to_string();
    if stored == text {
        Ok(())
    } else {
        Err(format!(
            "{text:?} is not an id in stored form (lower-case with hyphens: {stored})"
        ))
    }
}

fn canonical_date(text: &str) -> Result<(), String> {
    let day = parse_date(text)?;
    if day.format("%Y-%m-%d").to_string() != text {
        return Err(format!("{text:?} is not a date in stored form (YYYY-MM-DD)"));
    }
    if !(1900..=2200).contains(&chrono::Datelike::year(&day)) {
        return Err(format!("{text:?} is not a date between 1900 and 2200"));
    }
    Ok(())
}

fn canonical_timestamp(text: &str) -> Result<(), String> {
    let stored = format_timestamp(parse_timestamp(text)?);
    if stored == text {
        Ok(())
    } else {
        Err(format!(
            "{text:?} is not a time in stored form (UTC with milliseconds, e.g. {stored})"
        ))
    }
}

/// Reads a `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| format!("{text:?} is not a date (expected YYYY-MM-DD)"))
}

/// Reads an RFC 3339 timestamp (any offset) as UTC.
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{text:?} is not a timestamp (expected e.g. 2026-11-27T08:30:00Z)"))
}

/// The stored text form of a timestamp: UTC, milliseconds, `Z`. Sorts as text.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Checks a machine key such as a pack key or a step id.
pub fn check_key(text: &str) -> Result<(), String> {
    let ok = (1..=40).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && text.starts_with(|c: char| c.is_ascii_lowercase());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{text:?} is not a key (lower-case letters, digits, '-' or '_', starting with a letter, at most 40)"
        ))
    }
}

/// One field of an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The field's name: a column name and the name in change records.
    pub name: &'static str,
    /// What it holds.
    pub ty: FieldType,
    /// Must be given (and never null) when the entity is created.
    pub required: bool,
    /// May be changed after creation.
    pub mutable: bool,
    /// May hold no value. Optional fields may; required ones and those with
    /// a default (`deleted`) may not.
    pub nullable: bool,
}

/// (required, mutable, nullable) of the field kinds below.
type Flags = (bool, bool, bool);

const fn field(name: &'static str, ty: FieldType, flags: Flags) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        required: flags.0,
        mutable: flags.1,
        nullable: flags.2,
    }
}

const REQ_MUT: Flags = (true, true, false);
const REQ_FIXED: Flags = (true, false, false);
const OPT_MUT: Flags = (false, true, true);
const OPT_FIXED: Flags = (false, false, true);
/// Optional when creating (the store has a default) but never empty.
const DEFAULTED: Flags = (false, true, false);

macro_rules! fields {
    ($($name:literal : $ty:expr, $flags:expr;)+) => {
        &[$(field($name, $ty, $flags)),+]
    };
}

const fn code(what: &'static str, codes: &'static [&'static str]) -> FieldType {
    FieldType::Code { what, codes }
}

/// Soft deletion: every mutable entity has a `deleted` flag; a deleted row
/// stays so that its history and references survive, and the flag merges
/// like any other field.
const DELETED: FieldType = FieldType::Bool;

const COMMUNE: &[FieldSpec] = fields! {
    "name": FieldType::PlaceName, REQ_MUT;
    "province": FieldType::PlaceName, OPT_MUT;
    "deleted": DELETED, DEFAULTED;
};
const VILLAGE: &[FieldSpec] = fields! {
    "commune_id": FieldType::Ref(EntityKind::Commune), REQ_FIXED;
    "name": FieldType::PlaceName, REQ_MUT;
    "deleted": DELETED, DEFAULTED;
};
const CAMPAIGN: &[FieldSpec] = fields! {
    "name": FieldType::PlaceName, REQ_MUT;
    "starts_on": FieldType::Date, REQ_MUT;
    "ends_on": FieldType::Date, OPT_MUT;
    "commune_ids": FieldType::RefList(EntityKind::Commune), REQ_MUT;
    "pack_keys": FieldType::KeyList, REQ_MUT;
    "deleted": DELETED, DEFAULTED;
};
const MEMBER: &[FieldSpec] = fields! {
    "campaign_id": FieldType::Ref(EntityKind::Campaign), REQ_FIXED;
    "name": FieldType::PersonName, REQ_MUT;
    "role": code(Role::WHAT, Role::CODES), REQ_MUT;
    "unit": code(Unit::WHAT, Unit::CODES), REQ_MUT;
    "phone": FieldType::Phone, OPT_MUT;
    "village_ids": FieldType::RefList(EntityKind::Village), OPT_MUT;
    "deleted": DELETED, DEFAULTED;
};
/// Latitude and longitude are stored in units of 1e-7 degree (as OSM does).
const LAT_E7: FieldType = FieldType::Int {
    min: -900_000_000,
    max: 900_000_000,
};
const LNG_E7: FieldType = FieldType::Int {
    min: -1_800_000_000,
    max: 1_800_000_000,
};
const HOUSEHOLD: &[FieldSpec] = fields! {
    "village_id": FieldType::Ref(EntityKind::Village), REQ_MUT;
    "head_name": FieldType::PersonName, REQ_MUT;
    "landmark": FieldType::Landmark, OPT_MUT;
    "phone": FieldType::Phone, OPT_MUT;
    "members_count": FieldType::Int { min: 1, max: 60 }, OPT_MUT;
    "language": FieldType::Language, OPT_MUT;
    "notes": FieldType::Notes, OPT_MUT;
    "lat_e7": LAT_E7, OPT_MUT;
    "lng_e7": LNG_E7, OPT_MUT;
    "created_at": FieldType::Timestamp, REQ_FIXED;
    "deleted": DELETED, DEFAULTED;
};
const PERSON: &[FieldSpec] = fields! {
    "household_id": FieldType::Ref(EntityKind::Household), REQ_FIXED;
    "name": FieldType::PersonName, REQ_MUT;
    "birth_year": FieldType::Int { min: 1900, max: 2100 }, OPT_MUT;
    "phone": FieldType::Phone, OPT_MUT;
    "phone_kind": code(PhoneKind::WHAT, PhoneKind::CODES), OPT_MUT;
    "phone_in_own_name": FieldType::Bool, OPT_MUT;
    "chip_id_card": FieldType::Bool, OPT_MUT;
    "notes": FieldType::Notes, OPT_MUT;
    "deleted": DELETED, DEFAULTED;
};
const VISIT: &[FieldSpec] = fields! {
    "household_id": FieldType::Ref(EntityKind::Household), REQ_FIXED;
    "member_id": FieldType::Ref(EntityKind::Member), OPT_FIXED;
    "device_id": FieldType::Uuid, REQ_FIXED;
    "started_at": FieldType::Timestamp, REQ_MUT;
    "ended_at": FieldType::Timestamp, OPT_MUT;
    "outcome": code(VisitOutcome::WHAT, VisitOutcome::CODES), REQ_MUT;
    "follow_up_on": FieldType::Date, OPT_MUT;
    "notes": FieldType::Notes, OPT_MUT;
    "referred_by": FieldType::Ref(EntityKind::Person), OPT_MUT;
    "deleted": DELETED, DEFAULTED;
};
const CHECKLIST_RUN: &[FieldSpec] = fields! {
    "visit_id": FieldType::Ref(EntityKind::Visit), REQ_FIXED;
    "person_id": FieldType::Ref(EntityKind::Person), REQ_FIXED;
    "household_id": FieldType::Ref(EntityKind::Household), REQ_FIXED;
    "pack_key": FieldType::Key, REQ_FIXED;
    "pack_version": FieldType::Int { min: 1, max: 1_000_000 }, REQ_FIXED;
    "started_at": FieldType::Timestamp, REQ_FIXED;
    "deleted": DELETED, DEFAULTED;
};
const STEP_EVENT: &[FieldSpec] = fields! {
    "run_id": FieldType::Ref(EntityKind::ChecklistRun), REQ_FIXED;
    "step_id": FieldType::Key, REQ_FIXED;
    "outcome": code(StepOutcome::WHAT, StepOutcome::CODES), REQ_FIXED;
    "blocker": code(BlockerReason::WHAT, BlockerReason::CODES), OPT_FIXED;
    "at": FieldType::Timestamp, REQ_FIXED;
    "note": FieldType::Notes, OPT_FIXED;
};

impl EntityKind {
    /// The entity's fields, in column order.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            EntityKind::Commune => COMMUNE,
            EntityKind::Village => VILLAGE,
            EntityKind::Campaign => CAMPAIGN,
            EntityKind::Member => MEMBER,
            EntityKind::Household => HOUSEHOLD,
            EntityKind::Person => PERSON,
            EntityKind::Visit => VISIT,
            EntityKind::ChecklistRun => CHECKLIST_RUN,
            EntityKind::StepEvent => STEP_EVENT,
        }
    }

    /// One field by name.
    pub fn field(self, name: &str) -> Option<&'static FieldSpec> {
        self.fields().iter().find(|f| f.name == name)
    }

    /// Append-only kinds are created once and never changed: a grow-only set
    /// that cannot conflict. The others merge field by field.
    pub const fn is_append_only(self) -> bool {
        matches!(self, EntityKind::StepEvent)
    }

    /// The SQL table that holds this kind (the code itself).
    pub const fn table(self) -> &'static str {
        self.as_str()
    }

    /// Kinds in an order where every reference points to an earlier kind.
    pub const IN_DEPENDENCY_ORDER: &'static [EntityKind] = &[
        EntityKind::Commune,
        EntityKind::Village,
        EntityKind::Campaign,
        EntityKind::Member,
        EntityKind::Household,
        EntityKind::Person,
        EntityKind::Visit,
        EntityKind::ChecklistRun,
        EntityKind::StepEvent,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_and_write_plain_json() {
        let values = vec![
            FieldValue::Null,
            FieldValue::Bool(true),
            FieldValue::Int(-3),
            FieldValue::from("Bản Khin"),
        ];
        let json = serde_json::to_string(&values).expect("serialises");
        assert_eq!(json, r#"[null,true,-3,"Bản Khin"]"#);
        assert_eq!(serde_json::from_str::<Vec<FieldValue>>(&json).expect("parses"), values);
        assert!(serde_json::from_str::<FieldValue>("1.5").is_err());
        assert!(serde_json::from_str::<FieldValue>("[1]").is_err());
    }

    #[test]
    fn field_types_check_values_and_say_why() {
        let phone = FieldType::Phone;
        assert!(phone.check(&"0912345678".into()).is_ok());
        assert!(phone.check(&"12".into()).expect_err("bad").contains("\"12\""));
        assert!(
            phone
                .check(&FieldValue::Int(912))
                .expect_err("type")
                .contains("expected text")
        );
        let count = FieldType::Int { min: 1, max: 60 };
        assert!(
            count
                .check(&FieldValue::Int(61))
                .expect_err("range")
                .contains("out of range")
        );
        assert!(FieldType::Date.check(&"2026-02-30".into()).is_err());
        assert!(FieldType::Timestamp.check(&"2026-11-27T08:30:00.000Z".into()).is_ok());
        // One stored form only: SQL compares these as text.
        for other_form in [
            "2026-11-27T08:30:00Z",
            "2026-11-27T15:30:00.000+07:00",
            "2026-11-27t08:30:00.000z",
        ] {
            let err = FieldType::Timestamp.check(&other_form.into()).expect_err(other_form);
            assert!(err.contains("2026-11-27T08:30:00.000Z"), "{err}");
        }
        assert!(FieldType::Date.check(&"2026-12-1".into()).is_err());
        assert!(FieldType::Date.check(&"1850-01-01".into()).is_err());
        let upper = "0193A0B1-0000-7000-8000-000000000001";
        let err = FieldType::Ref(EntityKind::Household)
            .check(&upper.into())
            .expect_err("upper case");
        assert!(err.contains(&upper.to_lowercase()), "{err}");
        assert!(FieldType::KeyList.check(&r#"["vneid","vssid"]"#.into()).is_ok());
        assert!(FieldType::KeyList.check(&r#"["VNeID"]"#.into()).is_err());
        let outcome = code(VisitOutcome::WHAT, VisitOutcome::CODES);
        assert!(
            outcome
                .check(&"maybe".into())
                .expect_err("code")
                .contains("visit outcome")
        );
    }

    #[test]
    fn every_kind_has_unique_field_names_and_references_point_backwards() {
        for (i, kind) in EntityKind::IN_DEPENDENCY_ORDER.iter().enumerate() {
            let names: std::collections::BTreeSet<_> = kind.fields().iter().map(|f| f.name).collect();
            assert_eq!(names.len(), kind.fields().len(), "{kind}");
            for f in kind.fields() {
                if let FieldType::Ref(target) = f.ty {
                    let at = EntityKind::IN_DEPENDENCY_ORDER.iter().position(|k| *k == target);
                    assert!(at.is_some_and(|t| t < i), "{kind}.{} points forward", f.name);
                }
            }
        }
        assert_eq!(EntityKind::IN_DEPENDENCY_ORDER.len(), EntityKind::ALL.len());
    }

    #[test]
    fn timestamps_format_with_millis_and_z() {
        let t = parse_timestamp("2026-11-27T15:30:00+07:00").expect("valid");
        assert_eq!(format_timestamp(t), "2026-11-27T08:30:00.000Z");
    }
}
