//! [`App`]: the tablet's two databases (field and practice), its settings,
//! its lock and its background sync, behind one method per command.
//!
//! Both databases are encrypted (SQLCipher), their keys in the platform's
//! key store ([`KeyPolicy`]). While the app is locked, or enrolled without
//! a PIN, every command on the field data is refused (`locked`,
//! `pin_required`); practice mode never locks. A server's order to erase
//! the tablet deletes both databases and their keys
//! ([`Databases::erase`]); only the erase notice is shown then.

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
use doorstep_device::key::{KeyChain, KeyHolder, KeyPolicy};
use doorstep_device::lock::PinStatus;
use doorstep_device::packs::InstalledPack;
use doorstep_device::people::PeerCandidate;
use doorstep_device::queries::{
    FollowUpRow, HouseholdDetail, HouseholdFilter, HouseholdRow, PersonRow, VillageCoverage, VillageRow, VisitRow,
    parse_status,
};
use doorstep_device::sync::{self, SyncOptions};
use doorstep_device::{CreateOptions, Store, StoreError};
use serde::Serialize;

use crate::args::{
    ChecklistStartArgs, EnrolArgs, FollowUpArgs, HouseholdListArgs, IdArgs, Label, NoArgs, PathArgs, PeerSearchArgs,
    PersonInput, PracticeArgs, StepInput, VisitInput, Vocabulary,
};
use crate::error::ApiError;
use crate::settings::{self, Settings};
use crate::sync_worker::{Notify, SyncScreen, SyncWorker, Tablet, Worker, WorkerOptions};

/// Where the app stands, for the first screen and the top bar.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct AppState {
    /// The tablet's settings (language none: the first run asks).
    pub settings: Settings,
    /// Enrolled with a server.
    pub enrolled: bool,
    /// The server said this tablet's data was copied from another tablet:
    /// a lead's new code enrols it again, keeping its own work.
    pub copied: bool,
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
    /// The app lock.
    pub lock: LockState,
    /// Who holds the field database's key (none once erased).
    pub key_holder: Option<KeyHolder>,
    /// The lead had the tablet erased: only this notice is shown.
    pub erased: Option<ErasedNotice>,
}

/// The app lock as the screens see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, ts_rs::TS)]
pub struct LockState {
    /// The volunteer's PIN is set.
    pub pin_set: bool,
    /// A team lead's PIN is set (they can reset the volunteer's).
    pub lead_pin_set: bool,
    /// Enrolled without a PIN: it must be set before anything else.
    pub pin_required: bool,
    /// The lock screen is up (never in practice mode).
    pub locked: bool,
    /// Wrong PINs in a row.
    pub failures: u32,
    /// Seconds before the next PIN may be tried (0: now).
    pub wait_seconds: u32,
}

/// What is left of an erased tablet for the volunteer to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ErasedNotice {
    /// When it was erased (UTC).
    pub at: String,
    /// Changes that never reached the server and are lost.
    #[ts(type = "number")]
    pub unsent_changes: u64,
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
    /// Where the databases' keys are kept: the platform's key store (the
    /// app), or key files only (the test host, unless told otherwise).
    pub keys: KeyPolicy,
}

impl AppOptions {
    /// Field defaults for a data folder.
    pub fn new(data_dir: impl Into<PathBuf>) -> AppOptions {
        AppOptions {
            data_dir: data_dir.into(),
            sync: SyncOptions::default(),
            worker: WorkerOptions::default(),
            keys: KeyPolicy::Platform,
        }
    }
}

/// The app: one method per command of [`crate::for_each_command!`].
pub struct App {
    pub(crate) data_dir: PathBuf,
    pub(crate) settings: Mutex<Settings>,
    pub(crate) dbs: Arc<Databases>,
    pub(crate) practice_on: AtomicBool,
    /// The lock screen is up for the field data.
    pub(crate) locked: AtomicBool,
    /// Successful syncs seen when the field store was last opened: after a
    /// sync (on the worker's own connection) it is reopened to pick up the
    /// corrected clock.
    field_generation: AtomicU64,
    pub(crate) sync_options: SyncOptions,
    pub(crate) worker: Worker,
}

/// The tablet's two databases, shared with the sync worker (which erases
/// them when the server orders it). `None`: erased, until the volunteer
/// has read the notice.
pub(crate) struct Databases {
    data_dir: PathBuf,
    keys: KeyPolicy,
    pub(crate) field: Mutex<Option<Store>>,
    pub(crate) practice: Mutex<Option<Store>>,
}

impl Databases {
    /// Where the field database's key is kept.
    pub(crate) fn field_keys(&self) -> KeyChain {
        KeyChain::platform(&field_db(&self.data_dir), self.keys)
    }

    /// Where the practice database's key is kept.
    pub(crate) fn practice_keys(&self) -> KeyChain {
        KeyChain::platform(&practice_db(&self.data_dir), self.keys)
    }

    /// Erases both databases and their keys, keeping the notice.
    fn erase_all(&self) -> Result<(), StoreError> {
        let unusable = || StoreError::Stored("the database was left unusable by an earlier failure".to_owned());
        let field = self.field.lock().map_err(|_| unusable())?.take();
        match field {
            Some(store) => {
                sync::erase_store(store, &self.field_keys())?;
            }
            None => {
                sync::finish_interrupted_erase(&field_db(&self.data_dir), &self.field_keys())?;
            }
        }
        drop(self.practice.lock().map_err(|_| unusable())?.take());
        sync::delete_database(&practice_db(&self.data_dir), &self.practice_keys())
    }
}

impl Tablet for Databases {
    fn field_path(&self) -> PathBuf {
        field_db(&self.data_dir)
    }

    fn connect(&self) -> Result<Option<Store>, StoreError> {
        let field = self
            .field
            .lock()
            .map_err(|_| StoreError::Stored("the field database was left unusable by an earlier failure".to_owned()))?;
        field.as_ref().map(Store::reopen).transpose()
    }

    fn erase(&self) -> Result<(), StoreError> {
        self.erase_all()
    }
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
        let dbs = Arc::new(Databases {
            data_dir: data_dir.clone(),
            keys: options.keys,
            field: Mutex::new(None),
            practice: Mutex::new(None),
        });
        let field_path = field_db(&data_dir);
        let field = if sync::read_notice(&field_path)?.is_some() {
            // Erased (perhaps cut short): finish it; the notice is shown.
            dbs.erase_all()?;
            None
        } else {
            Some(Store::open_or_create_keyed(
                &field_path,
                CreateOptions::default(),
                &dbs.field_keys(),
            )?)
        };
        // A tablet with a PIN starts locked.
        let locked = match &field {
            Some(store) => store.pin_status()?.pin_set,
            None => false,
        };
        *lock(&dbs.field, "field database")? = field;
        let tablet: Arc<dyn Tablet> = dbs.clone();
        let worker = Worker::start(tablet, options.sync.clone(), options.worker, notify);
        Ok(App {
            data_dir,
            settings: Mutex::new(settings),
            dbs,
            practice_on: AtomicBool::new(false),
            locked: AtomicBool::new(locked),
            field_generation: AtomicU64::new(0),
            sync_options: options.sync,
            worker,
        })
    }

    /// Runs `f` on the database in use: the practice one in practice mode,
    /// else the field one, unless it is locked or needs its PIN set first.
    fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> Result<T, ApiError>) -> Result<T, ApiError> {
        self.with_store_as(true, f)
    }

    fn with_store_as<T>(
        &self,
        guarded: bool,
        f: impl FnOnce(&mut Store) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        if self.practice_on.load(Ordering::SeqCst) {
            let mut practice = lock(&self.dbs.practice, "practice database")?;
            if let Some(store) = practice.as_mut() {
                return f(store);
            }
        }
        self.with_field(|field| {
            if guarded {
                self.check_unlocked(field)?;
            }
            f(field)
        })
    }

    /// Runs `f` on the field database (whatever the lock says: the lock
    /// commands' own use), reopened first if a sync finished since.
    pub(crate) fn with_field<T>(&self, f: impl FnOnce(&mut Store) -> Result<T, ApiError>) -> Result<T, ApiError> {
        let mut guard = lock(&self.dbs.field, "field database")?;
        let Some(field) = guard.as_mut() else {
            return Err(ApiError::new(
                "erased",
                "this tablet's data was erased as the team lead asked; enrol it again to use it",
            ));
        };
        let done = self.worker.syncs_done();
        if self.field_generation.swap(done, Ordering::SeqCst) != done {
            *field = field.reopen()?;
        }
        f(field)
    }

    /// Refuses the field data while the lock screen is up, or while an
    /// enrolled tablet has no PIN yet.
    fn check_unlocked(&self, field: &Store) -> Result<(), ApiError> {
        let lock = self.lock_of(field)?;
        if lock.pin_required {
            return Err(ApiError::new(
                "pin_required",
                "set a PIN first: this tablet holds residents' personal data",
            ));
        }
        if lock.locked {
            return Err(ApiError::new("locked", "the app is locked: enter the PIN"));
        }
        Ok(())
    }

    /// The lock's state for the screens, from the field database.
    pub(crate) fn lock_of(&self, field: &Store) -> Result<LockState, ApiError> {
        let PinStatus {
            pin_set,
            lead_pin_set,
            failures,
            wait_seconds,
        } = field.pin_status()?;
        let enrolled = field.sync_status()?.enrolled;
        let practice = self.practice_on.load(Ordering::SeqCst);
        Ok(LockState {
            pin_set,
            lead_pin_set,
            pin_required: enrolled && !pin_set && !practice,
            locked: pin_set && !practice && self.locked.load(Ordering::SeqCst),
            failures,
            wait_seconds,
        })
    }

    fn locale(&self) -> Result<&'static str, ApiError> {
        Ok(lock(&self.settings, "settings")?.locale())
    }

    /// `app_state`.
    pub fn app_state(&self, _: NoArgs) -> Result<AppState, ApiError> {
        let settings = lock(&self.settings, "settings")?.clone();
        let practice = self.practice_on.load(Ordering::SeqCst);
        if let Some(notice) = sync::read_notice(&field_db(&self.data_dir))? {
            return Ok(AppState {
                settings,
                enrolled: false,
                copied: false,
                practice: false,
                device_id: notice.device_id.to_string(),
                commune_name: None,
                member_id: None,
                member_name: None,
                member_role: None,
                today: chrono::Utc::now().format("%Y-%m-%d").to_string(),
                app_version: env!("CARGO_PKG_VERSION").to_owned(),
                lock: LockState::default(),
                key_holder: None,
                erased: Some(ErasedNotice {
                    at: notice.erased_at,
                    unsent_changes: notice.unsent_changes,
                }),
            });
        }
        let (status, copied, device_id, member, lock, key_holder) = self.with_field(|field| {
            let status = field.sync_status()?;
            let copied = field.copied_seq()?.is_some();
            let lock = self.lock_of(field)?;
            // The member's name is personal: not behind the lock screen.
            let member = match status.member_id.as_deref() {
                Some(m) if !lock.locked => field.member(m)?,
                _ => None,
            };
            let holder = field.key().map(|k| k.holder());
            Ok((status, copied, field.device_id().to_string(), member, lock, holder))
        })?;
        let today = self.with_store_as(false, |s| Ok(s.today()))?;
        Ok(AppState {
            settings,
            enrolled: status.enrolled,
            copied,
            practice,
            device_id,
            commune_name: status.commune_name,
            member_id: status.member_id,
            member_name: member.as_ref().map(|m| m.name.clone()),
            member_role: member.map(|m| m.role),
            today: today.format("%Y-%m-%d").to_string(),
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            lock,
            key_holder,
            erased: None,
        })
    }

    /// `settings_save`: keeps the settings on the tablet.
    pub fn settings_save(&self, new: Settings) -> Result<AppState, ApiError> {
        let mut new = new;
        if !(1..=settings::MAX_LOCK_AFTER_MINUTES).contains(&new.lock_after_minutes) {
            return Err(ApiError::bad_input(format!(
                "lock_after_minutes {}: the app locks after 1 to {} minutes without use",
                new.lock_after_minutes,
                settings::MAX_LOCK_AFTER_MINUTES
            )));
        }
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
        self.with_field(|field| {
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
            Ok(())
        })?;
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
            if sync::read_notice(&field_db(&self.data_dir))?.is_some() {
                return Err(ApiError::new(
                    "erased",
                    "this tablet's data was erased as the team lead asked; read the notice first",
                ));
            }
            let mut practice = lock(&self.dbs.practice, "practice database")?;
            if practice.is_none() {
                let path = practice_db(&self.data_dir);
                let keys = self.dbs.practice_keys();
                let store = if path.exists() {
                    Store::open_keyed(&path, &keys)?
                } else {
                    let mut store = Store::create_keyed(
                        &path,
                        CreateOptions {
                            practice: true,
                            device_id: None,
                        },
                        &keys,
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
        let (status, conflicts) = self.with_field(|field| {
            self.check_unlocked(field)?;
            Ok((field.sync_status()?, field.status()?.conflicts))
        })?;
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
            office_backup: status.backed_up_seq.is_some(),
            awaiting_backup: status.awaiting_backup,
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
