//! Change records: the unit of sync.
//!
//! Every local write produces one [`Change`] in the same transaction, and
//! every replica builds its state by merging changes. This module is a
//! **protocol boundary**: changes are stored in outboxes and sent over the
//! wire as JSON, so a field renamed here breaks devices in the field. Add
//! fields with `#[serde(default)]`; never rename or remove one without a new
//! protocol version.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::hlc::Hlc;
use crate::ids::{ChangeId, DeviceId};
use crate::schema::{EntityKind, FieldSpec, FieldValue, parse_timestamp};

/// The version of one field value: the stamp of the change that wrote it and
/// that change's device. Ordered by stamp, ties broken by device id, so every
/// replica picks the same winner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    /// The writing change's HLC stamp.
    pub hlc: Hlc,
    /// The device that wrote it.
    pub device: DeviceId,
}

/// Whether a change brings a new entity into being or changes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    /// A new entity: carries every required field.
    Create,
    /// New values for some mutable fields of an existing entity.
    Update,
}

/// One field set by a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldWrite {
    /// The field's name (see [`EntityKind::fields`]).
    pub field: String,
    /// The new value.
    pub value: FieldValue,
    /// The version of the value this write replaced, as its writer saw it;
    /// absent when the writer saw none. Two writes on the same base are
    /// concurrent: that is what makes a conflict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<Version>,
    /// Other versions the writer saw and meant to replace: a team lead who
    /// resolves a conflict lists the losing versions here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolves: Vec<Version>,
}

/// One change record, as kept in an outbox and sent in a sync batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Unique id of this change (UUIDv7, made by the writing device).
    pub id: ChangeId,
    /// The device that wrote it.
    pub device: DeviceId,
    /// Position in that device's outbox: 1, 2, 3, ... with no gaps.
    pub seq: u64,
    /// When it was written, by the device's hybrid logical clock.
    pub hlc: Hlc,
    /// What kind of entity it changes.
    pub entity: EntityKind,
    /// Which entity.
    pub entity_id: Uuid,
    /// Create or update.
    pub op: ChangeOp,
    /// The fields it sets.
    pub fields: Vec<FieldWrite>,
}

/// Something wrong with a change record; names the entity and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entity} {entity_id}{}: {problem}", field.as_ref().map(|f| format!(", field {f:?}")).unwrap_or_default())]
pub struct ChangeProblem {
    /// The entity kind.
    pub entity: EntityKind,
    /// The entity id.
    pub entity_id: Uuid,
    /// The field at fault, if one is.
    pub field: Option<String>,
    /// What is wrong.
    pub problem: String,
}

/// All problems found in one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeProblems(pub Vec<ChangeProblem>);

impl fmt::Display for ChangeProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ChangeProblems {}

impl Change {
    /// The version every field of this change carries.
    pub fn version(&self) -> Version {
        Version {
            hlc: self.hlc,
            device: self.device,
        }
    }

    /// The write to one field, if this change sets it.
    pub fn get(&self, field: &str) -> Option<&FieldValue> {
        self.fields.iter().find(|w| w.field == field).map(|w| &w.value)
    }

    /// Checks a change against the entity's schema: known fields, each once,
    /// values of the right type and shape, required fields on create, no
    /// change to fixed fields, bases older than the change, and the rules
    /// that tie fields together. Returns every problem, not just the first.
    pub fn validate(&self) -> Result<(), ChangeProblems> {
        let mut problems = Vec::new();
        let mut report = |field: Option<&str>, problem: String| {
            problems.push(ChangeProblem {
                entity: self.entity,
                entity_id: self.entity_id,
                field: field.map(str::to_owned),
                problem,
            });
        };
        if self.seq == 0 {
            report(None, "seq must start at 1".to_owned());
        }
        if self.hlc > Hlc::MAX {
            report(None, format!("clock stamp {} is beyond the year 6429", self.hlc));
        }
        if self.fields.is_empty() {
            report(None, "sets no fields".to_owned());
        }
        if self.op == ChangeOp::Update && self.entity.is_append_only() {
            report(
                None,
                format!("{} records are append-only and cannot be updated", self.entity),
            );
        }
        let mut seen = BTreeSet::new();
        for write in &self.fields {
            let name = write.field.as_str();
            let Some(spec) = self.entity.field(name) else {
                let known: Vec<_> = self.entity.fields().iter().map(|f| f.name).collect();
                report(Some(name), format!("unknown field (known: {})", known.join(", ")));
                continue;
            };
            if !seen.insert(name) {
                report(Some(name), "set twice in one change".to_owned());
            }
            if let Err(problem) = check_value(spec, &write.value) {
                report(Some(name), problem);
            }
            if self.op == ChangeOp::Update && !spec.mutable {
                report(Some(name), "cannot be changed after creation".to_owned());
            }
            let stale = write.base.iter().chain(&write.resolves).any(|b| b.hlc >= self.hlc);
            if stale {
                report(
                    Some(name),
                    "replaces a version that is not older than the change itself".to_owned(),
                );
            }
        }
        if self.op == ChangeOp::Create {
            for spec in self.entity.fields().iter().filter(|f| f.required) {
                if !seen.contains(spec.name) {
                    report(Some(spec.name), "is required when creating".to_owned());
                }
            }
        }
        for problem in self.cross_field_problems() {
            report(None, problem);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ChangeProblems(problems))
        }
    }

    /// Rules that tie several fields together (on create: the whole entity;
    /// on update: the fields the change sets).
    fn cross_field_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let is_null = |f: &str| matches!(self.get(f), None | Some(FieldValue::Null));
        match self.entity {
            EntityKind::StepEvent => {
                let blocked = self.get("outcome") == Some(&FieldValue::from("blocked"));
                if blocked && is_null("blocker") {
                    out.push("a blocked step needs a blocker reason".to_owned());
                }
                if !blocked && !is_null("blocker") {
                    out.push("only a blocked step has a blocker reason".to_owned());
                }
            }
            EntityKind::Household => {
                let (lat, lng) = (self.get("lat_e7").is_some(), self.get("lng_e7").is_some());
                if self.op == ChangeOp::Update && lat != lng {
                    out.push("latitude and longitude change together".to_owned());
                } else if is_null("lat_e7") != is_null("lng_e7") {
                    out.push("a location needs both latitude and longitude".to_owned());
                }
            }
            EntityKind::Visit => {
                let at = |f| {
                    self.get(f)
                        .and_then(FieldValue::as_text)
                        .and_then(|t| parse_timestamp(t).ok())
                };
                if let (Some(start), Some(end)) = (at("started_at"), at("ended_at"))
                    && end < start
                {
                    out.push("the visit ends before it starts".to_owned());
                }
            }
            _ => {}
        }
        out
    }
}

fn check_value(spec: &FieldSpec, value: &FieldValue) -> Result<(), String> {
    match value {
        FieldValue::Null if spec.required => Err("is required and cannot be empty".to_owned()),
        FieldValue::Null if !spec.nullable => Err("cannot be empty".to_owned()),
        FieldValue::Null => Ok(()),
        v => spec.ty.check(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::HouseholdId;

    fn change(entity: EntityKind, op: ChangeOp, fields: &[(&str, FieldValue)]) -> Change {
        Change {
            id: ChangeId::new(),
            device: DeviceId::from_parts(1, [1; 10]),
            seq: 1,
            hlc: Hlc::new(1_795_000_000_000, 0),
            entity,
            entity_id: HouseholdId::new().as_uuid(),
            op,
            fields: fields
                .iter()
                .map(|(f, v)| FieldWrite {
                    field: (*f).to_owned(),
                    value: v.clone(),
                    base: None,
                    resolves: vec![],
                })
                .collect(),
        }
    }

    fn household_fields() -> Vec<(&'static str, FieldValue)> {
        vec![
            ("village_id", Uuid::now_v7().to_string().into()),
            ("head_name", "Lò Văn Hùng".into()),
            ("phone", "0912345678".into()),
            ("created_at", "2026-11-27T08:30:00.000Z".into()),
        ]
    }

    #[test]
    fn a_good_create_passes() {
        change(EntityKind::Household, ChangeOp::Create, &household_fields())
            .validate()
            .expect("valid");
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let mut fields = household_fields();
        fields[2].1 = "12345".into();
        fields.push(("colour", "blue".into()));
        fields.push(("members_count", "four".into()));
        fields.retain(|(f, _)| *f != "head_name");
        let problems = change(EntityKind::Household, ChangeOp::Create, &fields)
            .validate()
            .expect_err("bad");
        let by_field: Vec<_> = problems.0.iter().map(|p| p.field.as_deref().unwrap_or("-")).collect();
        assert_eq!(
            by_field,
            ["phone", "colour", "members_count", "head_name"],
            "{problems}"
        );
        assert!(problems.to_string().contains("\"12345\""), "{problems}");
    }

    #[test]
    fn fixed_fields_cannot_be_updated_and_append_only_kinds_not_at_all() {
        let update = change(
            EntityKind::Household,
            ChangeOp::Update,
            &[("created_at", "2026-01-01T00:00:00Z".into())],
        );
        assert!(
            update
                .validate()
                .expect_err("fixed")
                .to_string()
                .contains("cannot be changed")
        );
        let step = change(EntityKind::StepEvent, ChangeOp::Update, &[("note", "x".into())]);
        assert!(
            step.validate()
                .expect_err("append-only")
                .to_string()
                .contains("append-only")
        );
    }

    #[test]
    fn blocked_steps_need_a_reason() {
        let run = Uuid::now_v7().to_string();
        let base = [
            ("run_id", FieldValue::from(run.as_str())),
            ("step_id", "install".into()),
            ("at", "2026-11-27T08:30:00.000Z".into()),
        ];
        let mut blocked = base.to_vec();
        blocked.push(("outcome", "blocked".into()));
        let err = change(EntityKind::StepEvent, ChangeOp::Create, &blocked)
            .validate()
            .expect_err("no reason");
        assert!(err.to_string().contains("blocker reason"));
        blocked.push(("blocker", "no_signal".into()));
        change(EntityKind::StepEvent, ChangeOp::Create, &blocked)
            .validate()
            .expect("with reason");
    }

    #[test]
    fn a_field_with_a_default_cannot_be_emptied() {
        let c = change(
            EntityKind::Household,
            ChangeOp::Update,
            &[("deleted", FieldValue::Null)],
        );
        assert!(c.validate().expect_err("null").to_string().contains("cannot be empty"));
    }

    #[test]
    fn latitude_and_longitude_change_together() {
        let c = change(
            EntityKind::Household,
            ChangeOp::Update,
            &[("lat_e7", FieldValue::Int(213_856_000))],
        );
        assert!(
            c.validate()
                .expect_err("lat only")
                .to_string()
                .contains("change together")
        );
        let both = change(
            EntityKind::Household,
            ChangeOp::Update,
            &[("lat_e7", FieldValue::Null), ("lng_e7", FieldValue::Null)],
        );
        both.validate().expect("clearing both is fine");
    }

    #[test]
    fn a_base_must_be_older_than_the_change() {
        let mut c = change(
            EntityKind::Household,
            ChangeOp::Update,
            &[("phone", "0912345678".into())],
        );
        c.fields[0].base = Some(Version {
            hlc: c.hlc,
            device: c.device,
        });
        assert!(c.validate().is_err());
    }

    #[test]
    fn json_shape_is_stable() {
        let c = change(
            EntityKind::Household,
            ChangeOp::Update,
            &[("members_count", FieldValue::Int(4))],
        );
        let json = serde_json::to_value(&c).expect("serialises");
        assert_eq!(json["op"], "update");
        assert_eq!(json["entity"], "household");
        assert_eq!(
            json["fields"][0],
            serde_json::json!({"field": "members_count", "value": 4})
        );
        let back: Change = serde_json::from_value(json).expect("parses");
        assert_eq!(back, c);
    }
}
