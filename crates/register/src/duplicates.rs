//! When two register rows are the same household.
//!
//! Two rows are the same household when village, head (ignoring case and
//! diacritics), phone and landmark agree. Same-named neighbours without a
//! phone are common in the highlands, so the name alone is not enough.

use doorstep_core::ids::{HouseholdId, VillageId};
use doorstep_core::text::match_key;

/// What makes two households the same, as one comparable value.
///
/// Built from stored text as well as from parsed rows, so a caller can give
/// the households it already has without parsing them again. Phones must be
/// in their stored (normalised) form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HouseholdKey(String);

impl HouseholdKey {
    /// The key of a household in `village` with this head, phone and landmark.
    pub fn new(village: VillageId, head: &str, phone: Option<&str>, landmark: Option<&str>) -> HouseholdKey {
        HouseholdKey(format!(
            "{village}|{}|{}|{}",
            match_key(head),
            phone.unwrap_or_default().trim(),
            match_key(landmark.unwrap_or_default())
        ))
    }
}

/// The key holds a name and a phone: personal data stays out of `Debug`.
impl std::fmt::Debug for HouseholdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HouseholdKey(..)")
    }
}

/// A household already on the caller's register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingHousehold {
    /// Its id (named in the duplicate's message).
    pub id: HouseholdId,
    /// What it would be matched on.
    pub key: HouseholdKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_diacritics_and_spacing_do_not_matter() {
        let village = VillageId::new();
        let a = HouseholdKey::new(village, "Lò Văn Hùng", Some("0912345678"), Some("Cạnh cầu treo"));
        let b = HouseholdKey::new(village, "lo  van hung", Some("0912345678"), Some("CANH CAU TREO"));
        assert_eq!(a, b);
    }

    #[test]
    fn phone_landmark_and_village_tell_namesakes_apart() {
        let village = VillageId::new();
        let a = HouseholdKey::new(village, "Lò Văn Hùng", None, None);
        assert_ne!(a, HouseholdKey::new(village, "Lò Văn Hùng", Some("0912345678"), None));
        assert_ne!(a, HouseholdKey::new(village, "Lò Văn Hùng", None, Some("Đầu bản")));
        assert_ne!(a, HouseholdKey::new(VillageId::new(), "Lò Văn Hùng", None, None));
        assert_eq!(a, HouseholdKey::new(village, "Lò Văn Hùng", Some(""), Some("")));
    }

    #[test]
    fn debug_hides_the_name() {
        let key = HouseholdKey::new(VillageId::new(), "Lò Văn Hùng", Some("0912345678"), None);
        let text = format!("{key:?}");
        assert!(!text.contains("hung") && !text.contains("0912"), "{text}");
    }
}
