// Generated from the Rust types of doorstep-app-api by
// `cargo test -p doorstep-app-api --test bindings` (DOORSTEP_BLESS=1 writes it).
// Do not edit by hand: CI fails when this file and the Rust types differ.


export type HouseholdStatus = "not_visited" | "follow_up_due" | "in_progress" | "done";

export type VisitOutcome = "helped" | "partial" | "nobody_home" | "declined" | "revisit";

export type StepOutcome = "done" | "skipped" | "blocked";

export type BlockerReason = "no_smartphone" | "phone_old_or_full" | "no_chip_id_card" | "phone_not_in_own_name" | "no_sms_access" | "no_signal" | "declined" | "needs_family_member" | "other";

export type ApiError = { 
/**
 * What went wrong, as a code (`bad_input`, `not_found`, `no_visit_today`,
 * or a sync failure's kind such as `server_unreachable`).
 */
kind: string, 
/**
 * What went wrong, in English, naming the field or record.
 */
message: string, };

export type Language = "vi" | "en" | "ar";

export type TextSize = "normal" | "large" | "larger";

export type Settings = { 
/**
 * The chosen language; none until the first run asks.
 */
language: Language | null, 
/**
 * Text size.
 */
text_size: TextSize, 
/**
 * The server to enrol with (after enrolment the store keeps its own).
 */
server_url: string | null, 
/**
 * Minutes without use before the app locks (1 to 60; it also locks
 * when it goes to the background).
 */
lock_after_minutes: number, };

export type KeyHolder = "android_keystore" | "keyring" | "key_file";

export type LockState = { 
/**
 * The volunteer's PIN is set.
 */
pin_set: boolean, 
/**
 * A team lead's PIN is set (they can reset the volunteer's).
 */
lead_pin_set: boolean, 
/**
 * Enrolled without a PIN: it must be set before anything else.
 */
pin_required: boolean, 
/**
 * The lock screen is up (never in practice mode).
 */
locked: boolean, 
/**
 * Wrong PINs in a row.
 */
failures: number, 
/**
 * Seconds before the next PIN may be tried (0: now).
 */
wait_seconds: number, };

export type ErasedNotice = { 
/**
 * When it was erased (UTC).
 */
at: string, 
/**
 * Changes that never reached the server and are lost.
 */
unsent_changes: number, };

export type AppState = { 
/**
 * The tablet's settings (language none: the first run asks).
 */
settings: Settings, 
/**
 * Enrolled with a server.
 */
enrolled: boolean, 
/**
 * The server said this tablet's data was copied from another tablet:
 * a lead's new code enrols it again, keeping its own work.
 */
copied: boolean, 
/**
 * Practice mode: the practice database, which never syncs.
 */
practice: boolean, 
/**
 * This device's id.
 */
device_id: string, 
/**
 * The commune the tablet syncs.
 */
commune_name: string | null, 
/**
 * The member the tablet is enrolled for.
 */
member_id: string | null, 
/**
 * Their name, once the campaign's members have synced.
 */
member_name: string | null, 
/**
 * Their role (volunteer, lead, admin).
 */
member_role: string | null, 
/**
 * Today on the tablet's corrected clock (YYYY-MM-DD).
 */
today: string, 
/**
 * The app's version.
 */
app_version: string, 
/**
 * The app lock.
 */
lock: LockState, 
/**
 * Who holds the field database's key (none once erased).
 */
key_holder: KeyHolder | null, 
/**
 * The lead had the tablet erased: only this notice is shown.
 */
erased: ErasedNotice | null, };

export type NoArgs = Record<string, never>;

export type EnrolArgs = { 
/**
 * The server's address (`http://10.0.0.5:8080`).
 */
server_url: string, 
/**
 * The code (`K7M2Q-9XDRT`).
 */
code: string, };

export type PracticeArgs = { 
/**
 * On: use the practice database.
 */
on: boolean, };

export type IdArgs = { 
/**
 * Its id.
 */
id: string, };

export type HouseholdListArgs = { 
/**
 * The village.
 */
village_id: string, 
/**
 * Only households in this state.
 */
status: HouseholdStatus | null, 
/**
 * Only households whose head, landmark or phone contains this.
 */
search: string | null, };

export type PersonInput = { 
/**
 * None to add a person.
 */
id: string | null, 
/**
 * Their household.
 */
household_id: string, 
/**
 * Full name.
 */
name: string, 
/**
 * Year of birth.
 */
birth_year: number | null, 
/**
 * Their phone number.
 */
phone: string | null, 
/**
 * android, ios, feature_phone, none.
 */
phone_kind: string | null, 
/**
 * Number registered in their own name.
 */
phone_in_own_name: boolean | null, 
/**
 * Chip-based ID card.
 */
chip_id_card: boolean | null, 
/**
 * Notes.
 */
notes: string | null, };

export type VisitInput = { 
/**
 * The household.
 */
household_id: string, 
/**
 * helped, partial, nobody_home, declined, revisit.
 */
outcome: VisitOutcome, 
/**
 * Notes.
 */
notes: string | null, 
/**
 * When to come back (YYYY-MM-DD).
 */
follow_up_on: string | null, 
/**
 * Who taught them (a person id): peer spread.
 */
referred_by: string | null, };

export type PeerSearchArgs = { 
/**
 * Part of a name.
 */
search: string, 
/**
 * Leave out this household's own people.
 */
household_id: string | null, };

export type ChecklistStartArgs = { 
/**
 * The resident.
 */
person_id: string, 
/**
 * The pack (`vneid`).
 */
pack_key: string, 
/**
 * The visit; none for today's visit to their household.
 */
visit_id: string | null, };

export type StepInput = { 
/**
 * The run.
 */
run_id: string, 
/**
 * The step.
 */
step_id: string, 
/**
 * done, skipped, blocked.
 */
outcome: StepOutcome, 
/**
 * Why it is blocked.
 */
blocker: BlockerReason | null, 
/**
 * A note.
 */
note: string | null, };

export type PathArgs = { 
/**
 * Relative to `assets/illustrations/`.
 */
path: string, };

export type FollowUpArgs = { 
/**
 * The village, or all.
 */
village_id: string | null, };

export type Label = { 
/**
 * The code.
 */
code: string, 
/**
 * Its words.
 */
label: string, };

export type Vocabulary = { 
/**
 * Blocker reasons.
 */
blockers: Array<Label>, 
/**
 * Phone kinds.
 */
phone_kinds: Array<Label>, };

export type PinSetupArgs = { 
/**
 * The volunteer's PIN, 4 to 6 digits.
 */
pin: string, 
/**
 * The team lead's PIN, different from the volunteer's.
 */
lead_pin: string | null, };

export type PinArgs = { 
/**
 * The volunteer's PIN.
 */
pin: string, };

export type PinChangeArgs = { 
/**
 * The PIN now.
 */
current: string, 
/**
 * The new PIN.
 */
new_pin: string, };

export type LeadResetArgs = { 
/**
 * The team lead's PIN.
 */
lead_pin: string, 
/**
 * The volunteer's new PIN.
 */
new_pin: string, };

export type LeadPinArgs = { 
/**
 * The team lead's PIN now (none when none is set yet).
 */
current_lead_pin: string | null, 
/**
 * The new team lead PIN.
 */
new_lead_pin: string, };

export type VillageRow = { 
/**
 * Village id.
 */
id: string, 
/**
 * Village name.
 */
name: string, 
/**
 * Commune id.
 */
commune_id: string, 
/**
 * Commune name.
 */
commune: string, 
/**
 * Households on the register.
 */
households: number, };

export type HouseholdRow = { 
/**
 * Household id.
 */
id: string, 
/**
 * Head of household.
 */
head_name: string, 
/**
 * How to find the house.
 */
landmark: string | null, 
/**
 * Household phone.
 */
phone: string | null, 
/**
 * People recorded.
 */
people: number, 
/**
 * When it was last visited.
 */
last_visit_at: string | null, 
/**
 * How the last visit went.
 */
last_outcome: string | null, 
/**
 * Follow-up date set by the last visit.
 */
follow_up_on: string | null, 
/**
 * Checklist runs started.
 */
runs: number, 
/**
 * Runs finished.
 */
runs_completed: number, 
/**
 * Runs with a blocked step.
 */
runs_blocked: number, 
/**
 * Derived status.
 */
status: HouseholdStatus, };

export type PersonRow = { 
/**
 * Person id.
 */
id: string, 
/**
 * Name.
 */
name: string, 
/**
 * Year of birth.
 */
birth_year: number | null, 
/**
 * Phone.
 */
phone: string | null, 
/**
 * Phone kind.
 */
phone_kind: string | null, 
/**
 * Number in own name.
 */
phone_in_own_name: boolean | null, 
/**
 * Chip ID card.
 */
chip_id_card: boolean | null, 
/**
 * Notes.
 */
notes: string | null, };

export type VisitRow = { 
/**
 * Visit id.
 */
id: string, 
/**
 * Start.
 */
started_at: string, 
/**
 * End.
 */
ended_at: string | null, 
/**
 * Outcome.
 */
outcome: string, 
/**
 * Follow-up date.
 */
follow_up_on: string | null, 
/**
 * Notes.
 */
notes: string | null, 
/**
 * Who referred the household (person id).
 */
referred_by: string | null, 
/**
 * The volunteer (member id).
 */
member_id: string | null, };

export type RunRow = { 
/**
 * Run id.
 */
id: string, 
/**
 * Person id.
 */
person_id: string, 
/**
 * Pack key.
 */
pack_key: string, 
/**
 * Pack version.
 */
pack_version: number, 
/**
 * Derived status.
 */
status: string, 
/**
 * Steps done.
 */
steps_done: number, 
/**
 * Steps skipped.
 */
steps_skipped: number, 
/**
 * Steps blocked.
 */
steps_blocked: number, 
/**
 * Steps in total.
 */
steps_total: number, 
/**
 * Where to resume.
 */
current_step: string | null, 
/**
 * Start.
 */
started_at: string, };

export type HouseholdDetail = { 
/**
 * Household id.
 */
id: string, 
/**
 * Village id.
 */
village_id: string, 
/**
 * Village name.
 */
village: string, 
/**
 * Head of household.
 */
head_name: string, 
/**
 * Landmark.
 */
landmark: string | null, 
/**
 * Phone.
 */
phone: string | null, 
/**
 * Members count.
 */
members_count: number | null, 
/**
 * Home language.
 */
language: string | null, 
/**
 * Notes.
 */
notes: string | null, 
/**
 * Latitude, degrees.
 */
latitude: number | null, 
/**
 * Longitude, degrees.
 */
longitude: number | null, 
/**
 * On the register since.
 */
created_at: string, 
/**
 * Derived status.
 */
status: HouseholdStatus, 
/**
 * People.
 */
people: Array<PersonRow>, 
/**
 * Visits, newest first.
 */
visits: Array<VisitRow>, 
/**
 * Checklist runs, newest first.
 */
runs: Array<RunRow>, };

export type FollowUpRow = { 
/**
 * Household id.
 */
household_id: string, 
/**
 * Head of household.
 */
head_name: string, 
/**
 * Village.
 */
village: string, 
/**
 * Landmark.
 */
landmark: string | null, 
/**
 * Follow-up date, if one was set.
 */
follow_up_on: string | null, 
/**
 * Last visit.
 */
last_visit_at: string, 
/**
 * How it went.
 */
last_outcome: string, };

export type VillageCoverage = { 
/**
 * Village id.
 */
village_id: string, 
/**
 * Village name.
 */
village: string, 
/**
 * Commune name.
 */
commune: string, 
/**
 * Households on the register.
 */
households: number, 
/**
 * Households visited at least once.
 */
visited: number, 
/**
 * Households with a visit marked helped or partial.
 */
helped: number, 
/**
 * Households never visited.
 */
not_visited: number, 
/**
 * Households with a follow-up due.
 */
follow_ups_due: number, 
/**
 * Checklist runs finished.
 */
runs_completed: number, 
/**
 * Checklist runs with a blocked step.
 */
runs_blocked: number, 
/**
 * People with at least one finished run.
 */
people_helped: number, };

export type PeerCandidate = { 
/**
 * Person id.
 */
person_id: string, 
/**
 * Their name.
 */
name: string, 
/**
 * Their household.
 */
household_id: string, 
/**
 * Head of their household.
 */
head_name: string, 
/**
 * Their village.
 */
village: string, };

export type InstalledPack = { 
/**
 * Pack key.
 */
key: string, 
/**
 * Version.
 */
version: number, 
/**
 * Title in the requested locale.
 */
title: string, 
/**
 * Number of steps.
 */
steps: number, 
/**
 * Who it is for, when not every resident ("trainee").
 */
audience: string | null, };

export type RunStep = { 
/**
 * Step id.
 */
id: string, 
/**
 * Position, from 1.
 */
number: number, 
/**
 * Title in the chosen locale.
 */
title: string, 
/**
 * The instruction.
 */
instruction: string, 
/**
 * A tip, if the pack has one.
 */
tip: string | null, 
/**
 * How to check it worked.
 */
verify: string, 
/**
 * Illustration path under `assets/illustrations/`.
 */
illustration: string | null, 
/**
 * Blocker reasons that apply.
 */
blockers: Array<BlockerReason>, 
/**
 * Latest outcome: done, skipped, blocked, or none yet.
 */
outcome: string | null, 
/**
 * Blocker reason of the latest event.
 */
blocker: string | null, 
/**
 * Note of the latest event.
 */
note: string | null, };

export type RunView = { 
/**
 * The person's household.
 */
household_id: string, 
/**
 * The person's name.
 */
person_name: string, 
/**
 * Pack title in the chosen locale.
 */
pack_title: string, 
/**
 * The steps.
 */
steps: Array<RunStep>, 
/**
 * Run id.
 */
id: string, 
/**
 * Person id.
 */
person_id: string, 
/**
 * Pack key.
 */
pack_key: string, 
/**
 * Pack version.
 */
pack_version: number, 
/**
 * Derived status.
 */
status: string, 
/**
 * Steps done.
 */
steps_done: number, 
/**
 * Steps skipped.
 */
steps_skipped: number, 
/**
 * Steps blocked.
 */
steps_blocked: number, 
/**
 * Steps in total.
 */
steps_total: number, 
/**
 * Where to resume.
 */
current_step: string | null, 
/**
 * Start.
 */
started_at: string, };

export type RejectedChange = { 
/**
 * Its outbox seq.
 */
seq: number, 
/**
 * The entity kind it changed.
 */
entity: string, 
/**
 * The entity it changed.
 */
entity_id: string, 
/**
 * The server's reason, naming the field.
 */
reason: string, 
/**
 * When the server's refusal arrived.
 */
rejected_at: string, };

export type SyncProgress = { 
/**
 * Outbox changes confirmed by the server so far in this sync.
 */
pushed: number, 
/**
 * Outbox changes this sync has to push (grows if the app writes meanwhile).
 */
to_push: number, 
/**
 * Changes pulled so far.
 */
pulled: number, 
/**
 * The server has more to pull.
 */
has_more: boolean, 
/**
 * Request bytes sent (compressed, as on the wire).
 */
bytes_sent: number, 
/**
 * Answer bytes received (compressed, as on the wire).
 */
bytes_received: number, 
/**
 * Completed rounds (a round both pushes and pulls).
 */
round_trips: number, 
/**
 * Failed attempts that were retried.
 */
retries: number, };

export type SyncPhase = "idle" | "checking" | "syncing";

export type SyncFailure = { 
/**
 * The sync error's kind (`no_network`, `server_unreachable`, ...).
 */
kind: string, 
/**
 * In English, for the detail line.
 */
message: string, 
/**
 * When (RFC 3339, UTC).
 */
at: string, };

export type SyncSummary = { 
/**
 * Changes confirmed by the server.
 */
pushed: number, 
/**
 * Changes received.
 */
pulled: number, 
/**
 * Changes the server refused.
 */
rejected: number, 
/**
 * Conflicts found in what was received.
 */
conflicts: number, 
/**
 * Checklist packs installed.
 */
packs_installed: number, 
/**
 * When it finished.
 */
finished_at: string, };

export type SyncWorker = { 
/**
 * What it is doing.
 */
phase: SyncPhase, 
/**
 * The running sync's progress.
 */
progress: SyncProgress | null, 
/**
 * Whether the server answered the last check (none before the first).
 */
server_reachable: boolean | null, 
/**
 * When the server was last checked.
 */
last_checked_at: string | null, 
/**
 * The last failure, cleared by a success.
 */
last_failure: SyncFailure | null, 
/**
 * The last success.
 */
last_summary: SyncSummary | null, };

export type SyncScreen = { 
/**
 * Enrolled with a server.
 */
enrolled: boolean, 
/**
 * Practice mode is on (the practice database never syncs; the field
 * one goes on syncing in the background).
 */
practice: boolean, 
/**
 * The server.
 */
server_url: string | null, 
/**
 * The commune.
 */
commune_name: string | null, 
/**
 * Changes waiting to be sent.
 */
pending: number, 
/**
 * The last successful sync.
 */
last_sync_at: string | null, 
/**
 * Why the last sync failed, as stored.
 */
last_error: string | null, 
/**
 * Conflicts to review.
 */
conflicts: number, 
/**
 * Records the server refused, to fix.
 */
rejected: Array<RejectedChange>, 
/**
 * The office has a backup that holds this tablet's work (changes it
 * holds are dropped from the tablet); false: the tablet keeps all.
 */
office_backup: boolean, 
/**
 * Sent changes kept here until the office's next backup holds them.
 */
awaiting_backup: number, 
/**
 * The background worker.
 */
worker: SyncWorker, };

export interface Commands {
  app_state: { args: NoArgs, ret: AppState };
  settings_save: { args: Settings, ret: AppState };
  enrol: { args: EnrolArgs, ret: AppState };
  practice_set: { args: PracticeArgs, ret: AppState };
  villages: { args: NoArgs, ret: Array<VillageRow> };
  households: { args: HouseholdListArgs, ret: Array<HouseholdRow> };
  household: { args: IdArgs, ret: HouseholdDetail };
  person_save: { args: PersonInput, ret: PersonRow };
  visit_record: { args: VisitInput, ret: VisitRow };
  peer_search: { args: PeerSearchArgs, ret: Array<PeerCandidate> };
  packs: { args: NoArgs, ret: Array<InstalledPack> };
  checklist_start: { args: ChecklistStartArgs, ret: RunView };
  checklist_view: { args: IdArgs, ret: RunView };
  checklist_step: { args: StepInput, ret: RunView };
  illustration: { args: PathArgs, ret: string };
  vocabulary: { args: NoArgs, ret: Vocabulary };
  coverage: { args: NoArgs, ret: Array<VillageCoverage> };
  follow_ups: { args: FollowUpArgs, ret: Array<FollowUpRow> };
  sync_screen: { args: NoArgs, ret: SyncScreen };
  sync_now: { args: NoArgs, ret: SyncWorker };
  lock_state: { args: NoArgs, ret: LockState };
  pin_setup: { args: PinSetupArgs, ret: AppState };
  unlock: { args: PinArgs, ret: LockState };
  lock_now: { args: NoArgs, ret: LockState };
  pin_change: { args: PinChangeArgs, ret: LockState };
  pin_reset_by_lead: { args: LeadResetArgs, ret: LockState };
  lead_pin_save: { args: LeadPinArgs, ret: LockState };
  erased_dismiss: { args: NoArgs, ret: AppState };
}

/** Every command's name, in the order above. */
export const COMMAND_NAMES = ["app_state", "settings_save", "enrol", "practice_set", "villages", "households", "household", "person_save", "visit_record", "peer_search", "packs", "checklist_start", "checklist_view", "checklist_step", "illustration", "vocabulary", "coverage", "follow_ups", "sync_screen", "sync_now", "lock_state", "pin_setup", "unlock", "lock_now", "pin_change", "pin_reset_by_lead", "lead_pin_save", "erased_dismiss"] as const;
