//! [`App`]: the tablet's two databases (field and practice), its settings
//! and its background sync, behind one method per command.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::NaiveDate;
use doorstep_core::entities::{Patch, Person, StepStatus, Visit};
use doorstep_core::ids::{ChecklistRunId, HouseholdId, MemberId, PersonId, VillageId, VisitId};
use doorstep_core::labels;
use doorstep_core::phone::Phone;
use doorstep_core::text::{Notes, PersonName};
use doorstep_core::vocab::{BlockerReason, PhoneKind, StepOutcome, VisitOutcome};
use doorstep_device::checklist::RunView;
use doorstep_device::demo::{DemoOptions, load_demo};
use doorstep_device::packs::InstalledPack;
use doorstep_device::people::PeerCandidate;
use doorstep_device::queries::{
    FollowUpRow, HouseholdDetail, HouseholdFilter, HouseholdRow, PersonRow, VillageCoverage, VillageRow, VisitRow,
    parse_status,
};
use doorstep_device::sync::{self, SyncOptions};
use doorstep_device::{CreateOptions, Store};
use serde::Serialize;

use crate::args::{
    ChecklistStartArgs, EnrolArgs, FollowUpArgs, HouseholdListArgs, IdArgs, Label, NoArgs, PathArgs, PeerSearchArgs,
    PersonInput, PracticeArgs, StepInput, VisitInput, Vocabulary,
};
use crate::error::ApiError;
use crate::settings::{self, Settings};
use crate::sync_worker::{Notify, SyncScreen, SyncWorker, Worker, WorkerOptions};

/// Where the app stands, for the first screen and the top bar.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct AppState {
    /// The tablet's settings (language none: the first run asks).
    pub settings: Settings,
    /// Enrolled with a server.
    pub enrolled: bool,
    /// Practice mode: the practice database, which never syncs.
    pub practice: bool,
    /// This device's id.
    pub device_id: String,
    /// The commune the tablet syncs.
    pub commune_name: Option<String>,
    /// The member the tablet is enrolled for.
    pub member_id: Option<String>,
    /// Their name, once the campaign's members have synced.
    pub member_name: Option<String>,
    /// Their role (volunteer, lead, admin).
    pub member_role: Option<String>,
    /// Today on the tablet's corrected clock (YYYY-MM-DD).
    pub today: String,
    /// The app's version.
    pub app_version: String,
}

/// How the app is set up: where its files are and how it syncs.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// The folder holding `field.db`, `practice.db` and `settings.json`.
    pub data_dir: PathBuf,
    /// The sync client's timeouts and retries.
    pub sync: SyncOptions,
    /// The background sync's schedule.
    pub worker: WorkerOptions,
}

impl AppOptions {
    /// Field defaults for a data folder.
    pub fn new(data_dir: impl Into<PathBuf>) -> AppOptions {
        AppOptions {
            data_dir: data_dir.into(),
            sync: SyncOptions::default(),
            worker: WorkerOptions::default(),
        }
    }
}

/// The app: one method per command of [`crate::for_each_command!`].
pub struct App {
    data_dir: PathBuf,
    settings: Mutex<Settings>,
    field: Mutex<Store>,
    practice: Mutex<Option<Store>>,
    practice_on: AtomicBool,
    /// Successful syncs seen when the field store was last opened: after a
    /// sync (on the worker's own connection) it is reopened to pick up the
    /// corrected clock.
    field_generation: AtomicU64,
    sync_options: SyncOptions,
    worker: Worker,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

/// The field database in a data folder.
pub fn field_db(data_dir: &Path) -> PathBuf {
    data_dir.join("field.db")
}

/// The practice database in a data folder.
pub fn practice_db(data_dir: &Path) -> PathBuf {
    data_dir.join("practice.db")
}

fn lock<'a, T>(m: &'a Mutex<T>, what: &str) -> Result<MutexGuard<'a, T>, ApiError> {
    m.lock().map_err(|_| {
        ApiError::new(
            "store",
            format!("the {what} was left unusable by an earlier failure: restart the app"),
        )
    })
}

fn id<T: FromStr>(raw: &str, what: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    raw.trim()
        .parse()
        .map_err(|e| ApiError::bad_input(format!("{what} {raw:?}: {e}")))
}

fn text(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|t| !t.is_empty())
}

fn code<T: FromStr>(raw: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    raw.parse().map_err(|e: T::Err| ApiError::bad_input(e.to_string()))
}

impl App {
    /// Opens (or creates) the field database in `options.data_dir`, reads
    /// the settings and starts the background sync, which reports to
    /// `notify`. Practice mode starts off.
    pub fn open(options: AppOptions, notify: Notify) -> Result<App, ApiError> {
        let data_dir = options.data_dir;
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| ApiError::new("store", format!("creating {}: {e}", data_dir.display())))?;
        let settings = match settings::load(&data_dir) {
            Ok(s) => s,
            Err(e) => {
                // A damaged settings file must not keep the volunteer out of
                // their data: start with the defaults (the first-run screen
                // asks the language again) and say why in the log.
                tracing::warn!(error = %e, "settings unreadable, using defaults");
                Settings::default()
            }
        };
        let field_path = field_db(&data_dir);
        let field = Store::open_or_create(&field_path, CreateOptions::default())?;
        let worker = Worker::start(field_path, options.sync.clone(), options.worker, notify);
        Ok(App {
            data_dir,
            settings: Mutex::new(settings),
            field: Mutex::new(field),
            practice: Mutex::new(None),
            practice_on: AtomicBool::new(false),
            field_generation: AtomicU64::new(0),
            sync_options: options.sync,
            worker,
        })
    }

    /// Runs `f` on the database in use: the practice one in practice mode.
    fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> Result<T, ApiError>) -> Result<T, ApiError> {
        if self.practice_on.load(Ordering::SeqCst) {
            let mut practice = lock(&self.practice, "practice database")?;
            if let Some(store) = practice.as_mut() {
                return f(store);
            }
        }
        let mut field = self.field_store()?;
        f(&mut field)
    }

    /// The field database, reopened first if a sync finished since.
    fn field_store(&self) -> Result<MutexGuard<'_, Store>, ApiError> {
        let mut field = lock(&self.field, "field database")?;
        let done = self.worker.syncs_done();
        if self.field_generation.swap(done, Ordering::SeqCst) != done {
            *field = Store::open(&field_db(&self.data_dir))?;
        }
        Ok(field)
    }

    fn locale(&self) -> Result<&'static str, ApiError> {
        Ok(lock(&self.settings, "settings")?.locale())
    }

    /// `app_state`.
    pub fn app_state(&self, _: NoArgs) -> Result<AppState, ApiError> {
        let settings = lock(&self.settings, "settings")?.clone();
        let practice = self.practice_on.load(Ordering::SeqCst);
        let (status, device_id) = {
            let field = self.field_store()?;
            (field.sync_status()?, field.device_id().to_string())
        };
        let member = match status.member_id.as_deref() {
            Some(m) => self.field_store()?.member(m)?,
            None => None,
        };
        let today = self.with_store(|s| Ok(s.today()))?;
        Ok(AppState {
            settings,
            enrolled: status.enrolled,
            practice,
            device_id,
            commune_name: status.commune_name,
            member_id: status.member_id,
            member_name: member.as_ref().map(|m| m.name.clone()),
            member_role: member.map(|m| m.role),
            today: today.format("%Y-%m-%d").to_string(),
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
        })
    }

    /// `settings_save`: keeps the settings on the tablet.
    pub fn settings_save(&self, new: Settings) -> Result<AppState, ApiError> {
        let mut new = new;
        new.server_url = match text(new.server_url.as_deref()) {
            Some(url) => Some(sync::normalise_server_url(url)?),
            None => None,
        };
        {
            let mut settings = lock(&self.settings, "settings")?;
            settings::save(&self.data_dir, &new)?;
            *settings = new;
        }
        self.app_state(NoArgs {})
    }

    /// `enrol`: exchanges a one-time code for this tablet's identity, then
    /// syncs at once so the commune's households arrive.
    pub fn enrol(&self, args: EnrolArgs) -> Result<AppState, ApiError> {
        let url = sync::normalise_server_url(args.server_url.trim())?;
        {
            let mut guard = self.field_store()?;
            let field: &mut Store = &mut guard;
            let options = self.sync_options.clone();
            let code = args.code.clone();
            let url = url.clone();
            // The blocking HTTP client must not run on an async runtime's
            // thread (the Tauri command's or the test host's).
            std::thread::scope(|scope| {
                scope
                    .spawn(|| sync::enroll(field, &url, &code, Some("Doorstep tablet"), &options))
                    .join()
                    .map_err(|_| ApiError::new("store", "enrolment stopped unexpectedly"))
            })??;
        }
        {
            let mut settings = lock(&self.settings, "settings")?;
            settings.server_url = Some(url);
            settings::save(&self.data_dir, &settings)?;
        }
        self.worker.wake();
        self.app_state(NoArgs {})
    }

    /// `practice_set`: practice mode uses its own database, with the demo
    /// villages, which never syncs.
    pub fn practice_set(&self, args: PracticeArgs) -> Result<AppState, ApiError> {
        if args.on {
            let mut practice = lock(&self.practice, "practice database")?;
            if practice.is_none() {
                let path = practice_db(&self.data_dir);
                let store = if path.exists() {
                    Store::open(&path)?
                } else {
                    let mut store = Store::create(
                        &path,
                        CreateOptions {
                            practice: true,
                            device_id: None,
                        },
                    )?;
                    let today = store.today();
                    load_demo(&mut store, DemoOptions { history: true, today })?;
                    store
                };
                if !store.is_practice() {
                    return Err(ApiError::new(
                        "store",
                        format!("{} is not a practice database", path.display()),
                    ));
                }
                *practice = Some(store);
            }
        }
        self.practice_on.store(args.on, Ordering::SeqCst);
        self.app_state(NoArgs {})
    }

    /// `villages`.
    pub fn villages(&self, _: NoArgs) -> Result<Vec<VillageRow>, ApiError> {
        self.with_store(|s| Ok(s.villages()?))
    }

    /// `households`: a village's list, filtered.
    pub fn households(&self, args: HouseholdListArgs) -> Result<Vec<HouseholdRow>, ApiError> {
        let village: VillageId = id(&args.village_id, "village")?;
        let filter = HouseholdFilter {
            status: text(args.status.as_deref()).map(parse_status).transpose()?,
            search: text(args.search.as_deref()).map(str::to_owned),
        };
        self.with_store(|s| Ok(s.village_households(village, &filter)?))
    }

    /// `household`: one household in full.
    pub fn household(&self, args: IdArgs) -> Result<HouseholdDetail, ApiError> {
        let household: HouseholdId = id(&args.id, "household")?;
        self.with_store(|s| Ok(s.household(household)?))
    }

    /// `person_save`: adds a person, or changes only the fields that differ
    /// (an unchanged field is not rewritten, so it cannot conflict).
    pub fn person_save(&self, input: PersonInput) -> Result<PersonRow, ApiError> {
        let household: HouseholdId = id(&input.household_id, "household")?;
        let name = PersonName::parse(&input.name).map_err(|e| ApiError::bad_input(format!("name: {e}")))?;
        let phone = text(input.phone.as_deref())
            .map(Phone::parse)
            .transpose()
            .map_err(|e| ApiError::bad_input(format!("phone: {e}")))?;
        let phone_kind = text(input.phone_kind.as_deref()).map(code::<PhoneKind>).transpose()?;
        let notes = text(input.notes.as_deref())
            .map(Notes::parse)
            .transpose()
            .map_err(|e| ApiError::bad_input(format!("notes: {e}")))?;
        if let Some(y) = input.birth_year
            && !(1900..=2100).contains(&y)
        {
            return Err(ApiError::bad_input(format!(
                "year of birth {y} is not a plausible year"
            )));
        }
        self.with_store(|s| {
            let person_id = match input.id.as_deref() {
                None => {
                    let person = Person {
                        id: PersonId::new(),
                        household_id: household,
                        name,
                        birth_year: input.birth_year,
                        phone,
                        phone_kind,
                        phone_in_own_name: input.phone_in_own_name,
                        chip_id_card: input.chip_id_card,
                        notes,
                    };
                    s.insert(&person)?;
                    person.id
                }
                Some(raw) => {
                    let person: PersonId = id(raw, "person")?;
                    let before = person_row(s, household, &person.to_string())?;
                    let mut patch = Patch::<Person>::new();
                    if before.name != name.as_str() {
                        patch = patch.name(name);
                    }
                    if before.birth_year != input.birth_year {
                        patch = patch.birth_year(input.birth_year);
                    }
                    if before.phone.as_deref() != phone.as_ref().map(Phone::as_str) {
                        patch = patch.phone(phone);
                    }
                    if before.phone_kind.as_deref() != phone_kind.map(PhoneKind::as_str) {
                        patch = patch.phone_kind(phone_kind);
                    }
                    if before.phone_in_own_name != input.phone_in_own_name {
                        patch = patch.phone_in_own_name(input.phone_in_own_name);
                    }
                    if before.chip_id_card != input.chip_id_card {
                        patch = patch.chip_id_card(input.chip_id_card);
                    }
                    if before.notes.as_deref() != notes.as_ref().map(Notes::as_str) {
                        patch = patch.notes(notes);
                    }
                    if !patch.is_empty() {
                        s.update(person.as_uuid(), patch)?;
                    }
                    person
                }
            };
            person_row(s, household, &person_id.to_string())
        })
    }

    /// `visit_record`: a visit by the tablet's member, now.
    pub fn visit_record(&self, input: VisitInput) -> Result<VisitRow, ApiError> {
        let household: HouseholdId = id(&input.household_id, "household")?;
        let outcome = code::<VisitOutcome>(&input.outcome)?;
        let notes = text(input.notes.as_deref())
            .map(Notes::parse)
            .transpose()
            .map_err(|e| ApiError::bad_input(format!("notes: {e}")))?;
        let follow_up_on = text(input.follow_up_on.as_deref())
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| ApiError::bad_input(format!("follow-up date {d:?} is not a date (YYYY-MM-DD)")))
            })
            .transpose()?;
        let referred_by = text(input.referred_by.as_deref())
            .map(|p| id::<PersonId>(p, "who taught them"))
            .transpose()?;
        self.with_store(|s| {
            let today = s.today();
            if let Some(d) = follow_up_on
                && d < today
            {
                return Err(ApiError::bad_input(format!("follow-up date {d} is in the past")));
            }
            if let Some(p) = referred_by
                && s.household_of_person(p)? == household
            {
                return Err(ApiError::bad_input(
                    "who taught them: pick a neighbour, not someone of this household",
                ));
            }
            let member_id = s
                .sync_status()?
                .member_id
                .and_then(|m| m.parse().ok())
                .map(MemberId::from_uuid);
            let visit = Visit {
                id: VisitId::new(),
                household_id: household,
                member_id,
                device_id: s.device_id(),
                started_at: s.now(),
                ended_at: None,
                outcome,
                follow_up_on,
                notes,
                referred_by,
            };
            s.insert(&visit)?;
            let id_text = visit.id.to_string();
            s.household(household)?
                .visits
                .into_iter()
                .find(|v| v.id == id_text)
                .ok_or_else(|| ApiError::new("store", format!("visit {id_text} was not found after saving")))
        })
    }

    /// `peer_search`: residents of other households, for "who taught them".
    pub fn peer_search(&self, args: PeerSearchArgs) -> Result<Vec<PeerCandidate>, ApiError> {
        self.with_store(|s| Ok(s.people_matching(&args.search, text(args.household_id.as_deref()), 20)?))
    }

    /// `packs`: the newest version of each pack; the trainees' packs only in
    /// practice mode.
    pub fn packs(&self, _: NoArgs) -> Result<Vec<InstalledPack>, ApiError> {
        let locale = self.locale()?;
        let practice = self.practice_on.load(Ordering::SeqCst);
        self.with_store(|s| {
            Ok(s.installed_packs(locale)?
                .into_iter()
                .filter(|p| {
                    let trainee = p.audience.as_deref() == Some(doorstep_device::checklist::TRAINEE);
                    trainee == practice || (practice && p.audience.is_none())
                })
                .collect())
        })
    }

    /// `checklist_start`.
    pub fn checklist_start(&self, args: ChecklistStartArgs) -> Result<RunView, ApiError> {
        let person: PersonId = id(&args.person_id, "person")?;
        let visit = text(args.visit_id.as_deref())
            .map(|v| id::<VisitId>(v, "visit"))
            .transpose()?;
        let locale = self.locale()?;
        self.with_store(|s| {
            let run = s.start_checklist(person, args.pack_key.trim(), visit)?;
            Ok(s.run_view(run.id, locale)?)
        })
    }

    /// `checklist_view`: a run with its steps, to resume.
    pub fn checklist_view(&self, args: IdArgs) -> Result<RunView, ApiError> {
        let run: ChecklistRunId = id(&args.id, "checklist run")?;
        let locale = self.locale()?;
        self.with_store(|s| Ok(s.run_view(run, locale)?))
    }

    /// `checklist_step`: records one step's outcome.
    pub fn checklist_step(&self, input: StepInput) -> Result<RunView, ApiError> {
        let run: ChecklistRunId = id(&input.run_id, "checklist run")?;
        let blocker = text(input.blocker.as_deref()).map(code::<BlockerReason>).transpose()?;
        let status = match (code::<StepOutcome>(&input.outcome)?, blocker) {
            (StepOutcome::Done, None) => StepStatus::Done,
            (StepOutcome::Skipped, None) => StepStatus::Skipped,
            (StepOutcome::Blocked, Some(reason)) => StepStatus::Blocked(reason),
            (StepOutcome::Blocked, None) => {
                return Err(ApiError::bad_input("a blocked step needs a reason"));
            }
            (_, Some(_)) => return Err(ApiError::bad_input("only a blocked step has a reason")),
        };
        let note = text(input.note.as_deref())
            .map(Notes::parse)
            .transpose()
            .map_err(|e| ApiError::bad_input(format!("note: {e}")))?;
        let locale = self.locale()?;
        self.with_store(|s| {
            s.record_step(run, Some(input.step_id.trim()), status, note)?;
            Ok(s.run_view(run, locale)?)
        })
    }

    /// `illustration`: a step's picture, as SVG text.
    pub fn illustration(&self, args: PathArgs) -> Result<String, ApiError> {
        crate::illustrations::svg(&args.path)
    }

    /// `vocabulary`: words for blocker reasons and phone kinds.
    pub fn vocabulary(&self, _: NoArgs) -> Result<Vocabulary, ApiError> {
        let locale = self.locale()?;
        Ok(Vocabulary {
            blockers: BlockerReason::ALL
                .iter()
                .map(|&r| Label {
                    code: r.as_str().to_owned(),
                    label: labels::blocker(r, locale).to_owned(),
                })
                .collect(),
            phone_kinds: PhoneKind::ALL
                .iter()
                .map(|&k| Label {
                    code: k.as_str().to_owned(),
                    label: labels::resident_phone(k, locale).to_owned(),
                })
                .collect(),
        })
    }

    /// `coverage`: per village, from the data on this tablet.
    pub fn coverage(&self, _: NoArgs) -> Result<Vec<VillageCoverage>, ApiError> {
        self.with_store(|s| Ok(s.coverage()?))
    }

    /// `follow_ups`: households due today or earlier.
    pub fn follow_ups(&self, args: FollowUpArgs) -> Result<Vec<FollowUpRow>, ApiError> {
        let village = text(args.village_id.as_deref())
            .map(|v| id::<VillageId>(v, "village"))
            .transpose()?;
        self.with_store(|s| {
            let today = s.today();
            Ok(s.follow_ups_due(today, village)?)
        })
    }

    /// `sync_screen`: the field database's sync state and the worker's.
    pub fn sync_screen(&self, _: NoArgs) -> Result<SyncScreen, ApiError> {
        let field = self.field_store()?;
        let status = field.sync_status()?;
        let conflicts = field.status()?.conflicts;
        Ok(SyncScreen {
            enrolled: status.enrolled,
            practice: self.practice_on.load(Ordering::SeqCst),
            server_url: status.server_url,
            commune_name: status.commune_name,
            pending: status.pending,
            last_sync_at: status.last_sync_at,
            last_error: status.last_error,
            conflicts,
            rejected: status.rejected,
            worker: self.worker.state(),
        })
    }

    /// `sync_now`: starts a sync in the background and answers at once.
    pub fn sync_now(&self, _: NoArgs) -> Result<SyncWorker, ApiError> {
        self.worker.wake();
        Ok(self.worker.state())
    }

    /// Stops the background sync (at the end of a test or of the host).
    pub fn shutdown(&self) {
        self.worker.stop();
    }
}

fn person_row(s: &Store, household: HouseholdId, person: &str) -> Result<PersonRow, ApiError> {
    s.household(household)?
        .people
        .into_iter()
        .find(|p| p.id == person)
        .ok_or_else(|| ApiError::new("not_found", format!("person {person} is not in household {household}")))
}

/// A shared [`App`].
pub type SharedApp = Arc<App>;
