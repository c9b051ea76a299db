//! What the screens send with each command, and the small answers that are
//! not rows of `doorstep-device`. Unknown fields are refused, so a UI built
//! against other bindings fails loudly, not silently.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A command that takes nothing.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(type = "Record<string, never>")]
pub struct NoArgs {}

/// Enrol this tablet with a one-time code from the team lead.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct EnrolArgs {
    /// The server's address (`http://10.0.0.5:8080`).
    pub server_url: String,
    /// The code (`K7M2Q-9XDRT`).
    pub code: String,
}

/// Practice mode on or off.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct PracticeArgs {
    /// On: use the practice database.
    pub on: bool,
}

/// One record by id.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct IdArgs {
    /// Its id.
    pub id: String,
}

/// A village's household list.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct HouseholdListArgs {
    /// The village.
    pub village_id: String,
    /// Only households in this state.
    #[ts(type = "HouseholdStatus | null")]
    pub status: Option<String>,
    /// Only households whose head, landmark or phone contains this.
    pub search: Option<String>,
}

/// A person added (no id) or corrected (with id).
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    /// None to add a person.
    pub id: Option<String>,
    /// Their household.
    pub household_id: String,
    /// Full name.
    pub name: String,
    /// Year of birth.
    pub birth_year: Option<u16>,
    /// Their phone number.
    pub phone: Option<String>,
    /// android, ios, feature_phone, none.
    pub phone_kind: Option<String>,
    /// Number registered in their own name.
    pub phone_in_own_name: Option<bool>,
    /// Chip-based ID card.
    pub chip_id_card: Option<bool>,
    /// Notes.
    pub notes: Option<String>,
}

/// A visit just made.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct VisitInput {
    /// The household.
    pub household_id: String,
    /// helped, partial, nobody_home, declined, revisit.
    #[ts(type = "VisitOutcome")]
    pub outcome: String,
    /// Notes.
    pub notes: Option<String>,
    /// When to come back (YYYY-MM-DD).
    pub follow_up_on: Option<String>,
    /// Who taught them (a person id): peer spread.
    pub referred_by: Option<String>,
}

/// People search for "who taught them".
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct PeerSearchArgs {
    /// Part of a name.
    pub search: String,
    /// Leave out this household's own people.
    pub household_id: Option<String>,
}

/// Start a checklist.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ChecklistStartArgs {
    /// The resident.
    pub person_id: String,
    /// The pack (`vneid`).
    pub pack_key: String,
    /// The visit; none for today's visit to their household.
    pub visit_id: Option<String>,
}

/// One step's outcome.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    /// The run.
    pub run_id: String,
    /// The step.
    pub step_id: String,
    /// done, skipped, blocked.
    #[ts(type = "StepOutcome")]
    pub outcome: String,
    /// Why it is blocked.
    #[ts(type = "BlockerReason | null")]
    pub blocker: Option<String>,
    /// A note.
    pub note: Option<String>,
}

/// A picture by path.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct PathArgs {
    /// Relative to `assets/illustrations/`.
    pub path: String,
}

/// Follow-ups due, in one village or all.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct FollowUpArgs {
    /// The village, or all.
    pub village_id: Option<String>,
}

/// A code with its words in the chosen language.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Label {
    /// The code.
    pub code: String,
    /// Its words.
    pub label: String,
}

/// The words for the codes the app shows, in the chosen language (one
/// source with the CLI: `doorstep_core::labels`).
#[derive(Debug, Clone, Serialize, TS)]
pub struct Vocabulary {
    /// Blocker reasons.
    pub blockers: Vec<Label>,
    /// Phone kinds.
    pub phone_kinds: Vec<Label>,
}

/// A PIN as typed: hidden in `Debug`, so it never reaches a log.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct PinText(pub String);

impl std::fmt::Debug for PinText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinText(hidden)")
    }
}

/// The first PIN, set right after enrolment, and optionally the team
/// lead's (to reset the volunteer's PIN later).
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct PinSetupArgs {
    /// The volunteer's PIN, 4 to 6 digits.
    #[ts(type = "string")]
    pub pin: PinText,
    /// The team lead's PIN, different from the volunteer's.
    #[ts(type = "string | null")]
    pub lead_pin: Option<PinText>,
}

/// One PIN (unlocking).
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct PinArgs {
    /// The volunteer's PIN.
    #[ts(type = "string")]
    pub pin: PinText,
}

/// Changing the volunteer's PIN with the current one.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct PinChangeArgs {
    /// The PIN now.
    #[ts(type = "string")]
    pub current: PinText,
    /// The new PIN.
    #[ts(type = "string")]
    pub new_pin: PinText,
}

/// A team lead resets the volunteer's PIN with their own.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct LeadResetArgs {
    /// The team lead's PIN.
    #[ts(type = "string")]
    pub lead_pin: PinText,
    /// The volunteer's new PIN.
    #[ts(type = "string")]
    pub new_pin: PinText,
}

/// Setting or changing the team lead's PIN.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct LeadPinArgs {
    /// The team lead's PIN now (none when none is set yet).
    #[ts(type = "string | null")]
    pub current_lead_pin: Option<PinText>,
    /// The new team lead PIN.
    #[ts(type = "string")]
    pub new_lead_pin: PinText,
}
