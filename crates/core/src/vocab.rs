//! The field's fixed vocabularies: visit outcomes, blocker reasons, phone
//! kinds, roles and units. Each is a closed set of snake_case codes that is
//! stored and sent as text, and parsed with a message listing what is allowed.

/// A code that is not in its vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?} (expected one of: {allowed})")]
pub struct UnknownCode {
    /// Which vocabulary ("visit outcome", ...).
    pub what: &'static str,
    /// The code as given.
    pub value: String,
    /// The allowed codes, comma-separated.
    pub allowed: String,
}

vocabulary!(
    /// What kind of phone a person has; decides which checklists can be done.
    PhoneKind, "phone kind" {
        /// An Android smartphone.
        Android = "android",
        /// An iPhone.
        Ios = "ios",
        /// A feature phone: calls and SMS, no apps.
        FeaturePhone = "feature_phone",
        /// No phone of their own.
        NoPhone = "none",
    }
);

impl PhoneKind {
    /// Whether apps can be installed on it.
    pub const fn is_smartphone(self) -> bool {
        matches!(self, PhoneKind::Android | PhoneKind::Ios)
    }
}

vocabulary!(
    /// How a visit to a household ended.
    VisitOutcome, "visit outcome" {
        /// Residents were helped and can use what they were shown.
        Helped = "helped",
        /// Some help given; something is left for another time.
        Partial = "partial",
        /// Nobody was at home.
        NobodyHome = "nobody_home",
        /// The household did not want help.
        Declined = "declined",
        /// Come back: a family member, a document or signal was missing.
        Revisit = "revisit",
    }
);

vocabulary!(
    /// Why a checklist step could not be done. Recorded instead of a bare
    /// "failed" so team leads can see what to fix (bring a phone, call the
    /// police about ID cards, come back when the son is home).
    BlockerReason, "blocker reason" {
        /// The resident has no smartphone.
        NoSmartphone = "no_smartphone",
        /// The phone is too old for the app or its storage is full.
        PhoneOldOrFull = "phone_old_or_full",
        /// No chip-based citizen ID card yet.
        NoChipIdCard = "no_chip_id_card",
        /// The phone number is not registered in the resident's own name.
        PhoneNotInOwnName = "phone_not_in_own_name",
        /// Cannot receive the SMS code, or the password is forgotten.
        NoSmsAccess = "no_sms_access",
        /// No mobile signal or data at the house.
        NoSignal = "no_signal",
        /// The resident declined this step.
        Declined = "declined",
        /// A family member must be present (owner of the phone, a literate son).
        NeedsFamilyMember = "needs_family_member",
        /// Anything else; explain in the note.
        Other = "other",
    }
);

vocabulary!(
    /// What happened to one checklist step.
    StepOutcome, "step outcome" {
        /// The step was done and verified.
        Done = "done",
        /// The step does not apply or was skipped on purpose.
        Skipped = "skipped",
        /// The step could not be done; a [`BlockerReason`] says why.
        Blocked = "blocked",
    }
);

vocabulary!(
    /// What a campaign member may do.
    Role, "role" {
        /// Visits households, runs checklists.
        Volunteer = "volunteer",
        /// Enrols devices, assigns villages, reviews coverage and conflicts.
        Lead = "lead",
        /// Runs the campaign across communes.
        Admin = "admin",
    }
);

vocabulary!(
    /// The unit ("force") a member comes from; reports count per unit.
    Unit, "unit" {
        /// The commune's culture and society office.
        CultureSociety = "culture_society",
        /// Commune police (also activates level-2 electronic IDs).
        CommunePolice = "commune_police",
        /// The public-administration service centre.
        PublicServiceCentre = "public_service_centre",
        /// Social insurance.
        SocialInsurance = "social_insurance",
        /// A telecom operator (e.g. Viettel).
        Telecom = "telecom",
        /// The anti-corruption body.
        AntiCorruption = "anti_corruption",
        /// The youth union.
        YouthUnion = "youth_union",
        /// A village community digital-technology team.
        VillageDigitalTeam = "village_digital_team",
        /// Another unit.
        Other = "other",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_forgive_spelling() {
        for outcome in VisitOutcome::ALL {
            assert_eq!(outcome.as_str().parse::<VisitOutcome>(), Ok(*outcome));
        }
        assert_eq!("Nobody-Home".parse::<VisitOutcome>(), Ok(VisitOutcome::NobodyHome));
        assert_eq!("feature phone".parse::<PhoneKind>(), Ok(PhoneKind::FeaturePhone));
    }

    #[test]
    fn unknown_codes_list_the_allowed_ones() {
        let err = "maybe".parse::<VisitOutcome>().expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unknown visit outcome \"maybe\" (expected one of: helped, partial, nobody_home, declined, revisit)"
        );
    }

    #[test]
    fn serde_uses_the_codes() {
        let json = serde_json::to_string(&BlockerReason::NoChipIdCard).expect("serialises");
        assert_eq!(json, "\"no_chip_id_card\"");
        assert!(serde_json::from_str::<BlockerReason>("\"lost\"").is_err());
    }
}
