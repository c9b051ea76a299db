//! The TypeScript side of the command table: every type a command takes or
//! answers with, and `interface Commands`, written to
//! `ui/src/lib/bindings.ts`. The test `tests/bindings.rs` fails when the
//! checked-in file differs (`DOORSTEP_BLESS=1` rewrites it).

use doorstep_core::vocab::{BlockerReason, StepOutcome, VisitOutcome};
use ts_rs::{Config, TS};

/// Where the bindings live, from the workspace root.
pub const PATH: &str = "ui/src/lib/bindings.ts";

fn union(codes: impl IntoIterator<Item = &'static str>) -> String {
    codes
        .into_iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(" | ")
}

macro_rules! ts_name {
    ($cfg:expr, $t:ty) => {
        <$t as TS>::name($cfg)
    };
}

macro_rules! commands_interface {
    ($($name:ident($args:ty) -> $ret:ty;)*) => {
        fn commands(cfg: &Config) -> (String, Vec<&'static str>) {
            let mut out = String::from("export interface Commands {\n");
            let mut names = Vec::new();
            $(
                out.push_str(&format!(
                    "  {}: {{ args: {}, ret: {} }};\n",
                    stringify!($name),
                    ts_name!(cfg, $args),
                    ts_name!(cfg, $ret)
                ));
                names.push(stringify!($name));
            )*
            out.push_str("}\n");
            (out, names)
        }
    };
}
crate::for_each_command!(commands_interface);

macro_rules! declarations {
    ($cfg:expr; $($t:ty),* $(,)?) => {
        vec![$(format!("export {}", <$t as TS>::decl($cfg))),*]
    };
}

/// The whole file.
pub fn render() -> String {
    use crate::args::*;
    use doorstep_device::checklist::{RunStep, RunView};
    use doorstep_device::packs::InstalledPack;
    use doorstep_device::people::PeerCandidate;
    use doorstep_device::queries::*;
    use doorstep_device::sync::{RejectedChange, SyncProgress};

    let cfg = Config::new().with_large_int("number");
    let cfg = &cfg;
    let mut parts = vec![
        "// Generated from the Rust types of doorstep-app-api by\n\
         // `cargo test -p doorstep-app-api --test bindings` (DOORSTEP_BLESS=1 writes it).\n\
         // Do not edit by hand: CI fails when this file and the Rust types differ.\n"
            .to_owned(),
        format!(
            "export type HouseholdStatus = {};",
            union(doorstep_core::coverage::HouseholdStatus::ALL.iter().map(|s| s.as_str()))
        ),
        format!(
            "export type VisitOutcome = {};",
            union(VisitOutcome::ALL.iter().map(|s| s.as_str()))
        ),
        format!(
            "export type StepOutcome = {};",
            union(StepOutcome::ALL.iter().map(|s| s.as_str()))
        ),
        format!(
            "export type BlockerReason = {};",
            union(BlockerReason::ALL.iter().map(|s| s.as_str()))
        ),
    ];
    parts.extend(declarations!(cfg;
        crate::error::ApiError,
        crate::settings::Language,
        crate::settings::TextSize,
        crate::settings::Settings,
        doorstep_device::key::KeyHolder,
        crate::app::LockState,
        crate::app::ErasedNotice,
        crate::app::AppState,
        NoArgs, EnrolArgs, PracticeArgs, IdArgs, HouseholdListArgs, PersonInput, VisitInput,
        PeerSearchArgs, ChecklistStartArgs, StepInput, PathArgs, FollowUpArgs, Label, Vocabulary,
        PinSetupArgs, PinArgs, PinChangeArgs, LeadResetArgs, LeadPinArgs,
        VillageRow, HouseholdRow, PersonRow, VisitRow, RunRow, HouseholdDetail, FollowUpRow, VillageCoverage,
        PeerCandidate, InstalledPack, RunStep, RunView, RejectedChange, SyncProgress,
        crate::sync_worker::SyncPhase,
        crate::sync_worker::SyncFailure,
        crate::sync_worker::SyncSummary,
        crate::sync_worker::SyncWorker,
        crate::sync_worker::SyncScreen,
    ));
    let (interface, names) = commands(cfg);
    parts.push(interface.trim_end().to_owned());
    parts.push(format!(
        "/** Every command's name, in the order above. */\nexport const COMMAND_NAMES = [{}] as const;",
        names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
    ));
    let mut out = parts.join("\n\n");
    out.push('\n');
    out
}
