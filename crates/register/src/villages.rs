//! Finding a register row's village among the villages the caller knows:
//! by id, or by name ignoring case and diacritics ("Tà Tú" = "ta tu"),
//! within a commune named the same way (or by id) when one is given.

use doorstep_core::ids::{CommuneId, VillageId};
use doorstep_core::text::match_key;

/// A village the caller knows, with its commune.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownVillage {
    /// Village id.
    pub id: VillageId,
    /// Village name.
    pub name: String,
    /// Commune id.
    pub commune_id: CommuneId,
    /// Commune name.
    pub commune: String,
}

/// Why a village could not be picked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VillageError {
    /// No village matches.
    #[error("no village named {name:?}{}", if .known.is_empty() { String::new() } else { format!(" (known: {})", .known.join(", ")) })]
    Unknown {
        /// The name given.
        name: String,
        /// Villages there are (in the commune, when one was given).
        known: Vec<String>,
    },
    /// Several villages match.
    #[error("{count} villages are named {name:?}; give the commune too, or use the id")]
    Ambiguous {
        /// The name given.
        name: String,
        /// How many match.
        count: usize,
    },
}

/// Villages with their match keys worked out once, for looking up many rows.
#[derive(Debug, Clone)]
pub struct Villages<'a> {
    villages: &'a [KnownVillage],
    /// (village key, commune key), in the order of `villages`.
    keys: Vec<(String, String)>,
}

impl<'a> Villages<'a> {
    /// Prepares a list of villages for lookups.
    pub fn new(villages: &'a [KnownVillage]) -> Villages<'a> {
        Villages {
            villages,
            keys: villages
                .iter()
                .map(|v| (match_key(&v.name), match_key(&v.commune)))
                .collect(),
        }
    }

    /// The one village named (or with the id) `name_or_id`, in `commune`
    /// (a name or an id) when one is given.
    pub fn find(&self, name_or_id: &str, commune: Option<&str>) -> Result<&'a KnownVillage, VillageError> {
        self.pick(name_or_id, commune).map(|(_, v)| v)
    }

    /// Like [`Villages::find`], giving the village's index in the list.
    pub fn position(&self, name_or_id: &str, commune: Option<&str>) -> Result<usize, VillageError> {
        self.pick(name_or_id, commune).map(|(i, _)| i)
    }

    fn pick(&self, name_or_id: &str, commune: Option<&str>) -> Result<(usize, &'a KnownVillage), VillageError> {
        let commune = commune.map(|c| (match_key(c), c.trim().parse::<CommuneId>().ok()));
        let in_commune = self
            .villages
            .iter()
            .zip(&self.keys)
            .enumerate()
            .filter(|(_, (v, (_, commune_key)))| {
                commune
                    .as_ref()
                    .is_none_or(|(key, id)| commune_key == key || Some(v.commune_id) == *id)
            });
        let wanted = match_key(name_or_id);
        let wanted_id = name_or_id.trim().parse::<VillageId>().ok();
        let mut matches = in_commune
            .clone()
            .filter(|(_, (v, (key, _)))| Some(v.id) == wanted_id || *key == wanted);
        let Some((first, (village, _))) = matches.next() else {
            return Err(VillageError::Unknown {
                name: name_or_id.to_owned(),
                known: in_commune.map(|(_, (v, _))| v.name.clone()).collect(),
            });
        };
        match matches.count() {
            0 => Ok((first, village)),
            more => Err(VillageError::Ambiguous {
                name: name_or_id.to_owned(),
                count: more + 1,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn village(name: &str, commune: &str, commune_id: CommuneId) -> KnownVillage {
        KnownVillage {
            id: VillageId::new(),
            name: name.into(),
            commune_id,
            commune: commune.into(),
        }
    }

    fn places() -> Vec<KnownVillage> {
        let (muong_lan, chieng_sinh) = (CommuneId::new(), CommuneId::new());
        vec![
            village("Tà Tú", "Mường Lạn", muong_lan),
            village("Bún", "Mường Lạn", muong_lan),
            village("Bún", "Chiềng Sinh", chieng_sinh),
            village("Hua Nà", "Chiềng Sinh", chieng_sinh),
        ]
    }

    #[test]
    fn names_match_without_case_or_diacritics() {
        let all = places();
        let villages = Villages::new(&all);
        assert_eq!(villages.find("ta tu", None).expect("found").name, "Tà Tú");
        assert_eq!(villages.find("  TÀ  TÚ ", None).expect("found").name, "Tà Tú");
        assert_eq!(villages.position("hua na", Some("chieng sinh")), Ok(3));
    }

    #[test]
    fn ids_match_too() {
        let all = places();
        let villages = Villages::new(&all);
        let id = all[2].id.to_string();
        assert_eq!(villages.position(&id, None), Ok(2));
        assert_eq!(villages.position(&format!(" {id} "), Some("Chiềng Sinh")), Ok(2));
    }

    #[test]
    fn a_shared_name_needs_the_commune_by_name_or_id() {
        let all = places();
        let villages = Villages::new(&all);
        let err = villages.find("Bun", None).expect_err("ambiguous");
        assert_eq!(
            err.to_string(),
            "2 villages are named \"Bun\"; give the commune too, or use the id"
        );
        assert_eq!(villages.position("Bun", Some("Muong Lan")), Ok(1));
        assert_eq!(villages.position("Bun", Some(&all[2].commune_id.to_string())), Ok(2));
    }

    #[test]
    fn an_unknown_name_lists_the_villages_of_the_commune() {
        let all = places();
        let villages = Villages::new(&all);
        let err = villages.find("Atlantis", Some("Chieng Sinh")).expect_err("unknown");
        assert_eq!(err.to_string(), "no village named \"Atlantis\" (known: Bún, Hua Nà)");
        let err = villages.find("Tà Tú", Some("Chieng Sinh")).expect_err("other commune");
        assert!(matches!(err, VillageError::Unknown { .. }));
        let none = Villages::new(&[]);
        assert_eq!(
            none.find("Bun", None).expect_err("no villages").to_string(),
            "no village named \"Bun\""
        );
    }
}
