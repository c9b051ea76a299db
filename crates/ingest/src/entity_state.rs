//! How the server stores one entity's merged state: `doorstep-core`'s
//! [`EntityState`] as compact JSON, the same in every store.
//!
//! `{"x":true,"f":{"head_name":{"w":["Lò Văn Pắn","<hlc>","<device>"],
//! "l":[[value,"<hlc>","<device>"]],"p":[["<hlc>","<device>"]]}}}`:
//! `w` the winning value with its version, `l` the losing leaves (open
//! conflicts), `p` bases named before they arrived.

use std::collections::BTreeMap;

use doorstep_core::change::Version;
use doorstep_core::hlc::Hlc;
use doorstep_core::ids::DeviceId;
use doorstep_core::merge::{EntityState, FieldState, Stamped};
use doorstep_core::schema::FieldValue;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct StoredEntity {
    #[serde(rename = "x")]
    exists: bool,
    #[serde(rename = "f", default)]
    fields: BTreeMap<String, StoredField>,
}

#[derive(Serialize, Deserialize)]
struct StoredField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    w: Option<(FieldValue, Hlc, DeviceId)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    l: Vec<(FieldValue, Hlc, DeviceId)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    p: Vec<(Hlc, DeviceId)>,
}

/// The JSON form of an entity's state.
pub fn to_json(state: &EntityState) -> String {
    let stored = StoredEntity {
        exists: state.exists,
        fields: state
            .fields
            .iter()
            .map(|(name, f)| {
                (
                    name.clone(),
                    StoredField {
                        w: f.winner
                            .as_ref()
                            .map(|s| (s.value.clone(), s.version.hlc, s.version.device)),
                        l: f.losers
                            .iter()
                            .map(|(v, value)| (value.clone(), v.hlc, v.device))
                            .collect(),
                        p: f.pending_bases.iter().map(|v| (v.hlc, v.device)).collect(),
                    },
                )
            })
            .collect(),
    };
    // Maps of plain values always serialise.
    serde_json::to_string(&stored).unwrap_or_default()
}

/// Reads an entity's state back; `Err` names what is wrong with the text.
pub fn from_json(text: &str) -> Result<EntityState, serde_json::Error> {
    let stored: StoredEntity = serde_json::from_str(text)?;
    let version = |hlc, device| Version { hlc, device };
    Ok(EntityState {
        exists: stored.exists,
        fields: stored
            .fields
            .into_iter()
            .map(|(name, f)| {
                let state = FieldState {
                    winner: f.w.map(|(value, hlc, device)| Stamped {
                        value,
                        version: version(hlc, device),
                    }),
                    losers: f
                        .l
                        .into_iter()
                        .map(|(value, hlc, d)| (version(hlc, d), value))
                        .collect(),
                    pending_bases: f.p.into_iter().map(|(hlc, d)| version(hlc, d)).collect(),
                };
                (name, state)
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_survives_a_round_trip() {
        let a = Version {
            hlc: Hlc::new(10, 0),
            device: DeviceId::new(),
        };
        let b = Version {
            hlc: Hlc::new(11, 2),
            device: DeviceId::new(),
        };
        let mut field = FieldState::default();
        field.merge(&FieldValue::from("x"), a, None, &[]);
        field.merge(&FieldValue::from("y"), b, None, &[]);
        field.pending_bases.insert(a);
        let mut state = EntityState {
            exists: true,
            ..EntityState::default()
        };
        state.fields.insert("phone".into(), field);
        let back = from_json(&to_json(&state)).expect("reads back");
        assert_eq!(back, state);
        assert!(from_json("{\"x\":1}").is_err());
    }
}
