//! `doorstep-app-api`: what the tablet app's screens call.
//!
//! One table of commands ([`for_each_command!`]) names every call the web UI
//! makes, with its argument and answer types. From that one table come:
//! - the `#[tauri::command]` functions of the app (`src-tauri`), each a
//!   single call into [`App`];
//! - the browser test host's dispatch ([`host`]), so the same UI runs in
//!   headless Chromium against the same code and a real SQLite file;
//! - the TypeScript declarations in `ui/src/lib/bindings.ts` ([`bindings`]),
//!   which a test compares with the checked-in file so they never drift.
//!
//! **Invariants**
//! - [`App`] only translates: every rule lives in `doorstep-device` and
//!   `doorstep-core`. Screens get rows, never SQL.
//! - Nothing here blocks on the network while holding the store: enrolment
//!   and sync run on their own threads ([`sync_worker`]), with their own
//!   connection to the database.
//! - The practice database and the field database are separate files; the
//!   practice one never syncs.
//! - Personal data, PINs, keys and the device token never go to logs.
//! - Behind the lock screen no command reads the field data; practice
//!   mode never locks.

pub mod app;
mod app_lock;
pub mod args;
pub mod bindings;
mod error;
pub mod host;
pub mod illustrations;
pub mod settings;
pub mod sync_worker;

pub use app::{App, AppState};
/// The device crate, for the command table's types.
pub use doorstep_device;
pub use error::ApiError;

/// Calls `$m! { name(Args) -> Answer; ... }` with every command of the app,
/// in the order the bindings list them. Each name is a method of [`App`]
/// taking `Args` and returning `Result<Answer, ApiError>`.
#[macro_export]
macro_rules! for_each_command {
    ($m:ident) => {
        $m! {
            app_state($crate::args::NoArgs) -> $crate::app::AppState;
            settings_save($crate::settings::Settings) -> $crate::app::AppState;
            enrol($crate::args::EnrolArgs) -> $crate::app::AppState;
            practice_set($crate::args::PracticeArgs) -> $crate::app::AppState;
            villages($crate::args::NoArgs) -> Vec<$crate::doorstep_device::queries::VillageRow>;
            households($crate::args::HouseholdListArgs) -> Vec<$crate::doorstep_device::queries::HouseholdRow>;
            household($crate::args::IdArgs) -> $crate::doorstep_device::queries::HouseholdDetail;
            person_save($crate::args::PersonInput) -> $crate::doorstep_device::queries::PersonRow;
            visit_record($crate::args::VisitInput) -> $crate::doorstep_device::queries::VisitRow;
            peer_search($crate::args::PeerSearchArgs) -> Vec<$crate::doorstep_device::people::PeerCandidate>;
            packs($crate::args::NoArgs) -> Vec<$crate::doorstep_device::packs::InstalledPack>;
            checklist_start($crate::args::ChecklistStartArgs) -> $crate::doorstep_device::checklist::RunView;
            checklist_view($crate::args::IdArgs) -> $crate::doorstep_device::checklist::RunView;
            checklist_step($crate::args::StepInput) -> $crate::doorstep_device::checklist::RunView;
            illustration($crate::args::PathArgs) -> String;
            vocabulary($crate::args::NoArgs) -> $crate::args::Vocabulary;
            coverage($crate::args::NoArgs) -> Vec<$crate::doorstep_device::queries::VillageCoverage>;
            follow_ups($crate::args::FollowUpArgs) -> Vec<$crate::doorstep_device::queries::FollowUpRow>;
            sync_screen($crate::args::NoArgs) -> $crate::sync_worker::SyncScreen;
            sync_now($crate::args::NoArgs) -> $crate::sync_worker::SyncWorker;
            lock_state($crate::args::NoArgs) -> $crate::app::LockState;
            pin_setup($crate::args::PinSetupArgs) -> $crate::app::AppState;
            unlock($crate::args::PinArgs) -> $crate::app::LockState;
            lock_now($crate::args::NoArgs) -> $crate::app::LockState;
            pin_change($crate::args::PinChangeArgs) -> $crate::app::LockState;
            pin_reset_by_lead($crate::args::LeadResetArgs) -> $crate::app::LockState;
            lead_pin_save($crate::args::LeadPinArgs) -> $crate::app::LockState;
            erased_dismiss($crate::args::NoArgs) -> $crate::app::AppState;
        }
    };
}
