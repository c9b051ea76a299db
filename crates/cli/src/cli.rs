//! The command line: every subcommand and flag, with the help text that
//! makes `doorstep --help` read like a manual.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const ABOUT: &str = "Doorstep on the command line: the tablet's household store for scripts, office work and tests.";

const LONG_ABOUT: &str = "\
Doorstep is the companion of volunteers who go from house to house helping
residents install and use digital public services (VNeID, VssID, the
provincial citizen app, online public services, cashless payments, digital
signatures, e-commerce). Every device keeps its commune's households, visits
and step-by-step checklists in one SQLite file and works with no signal; each
change waits in an outbox until the device syncs.

This command works on the same file the tablet app uses.";

const AFTER_HELP: &str = "\
A first session:
  doorstep init --demo --db /tmp/d.db
  doorstep household list --village \"Tam Tu\" --db /tmp/d.db
  doorstep household show 1a2b3c --db /tmp/d.db          (any 6+ characters of an id)
  doorstep visit record --household 1a2b3c --outcome helped --follow-up +3d --db /tmp/d.db
  doorstep checklist start --person 4d5e6f --pack vneid --db /tmp/d.db
  doorstep checklist step 7a8b9c done --db /tmp/d.db
  doorstep status --db /tmp/d.db

With a server (the team lead gives the enrolment code):
  doorstep enroll --server https://doorstep.example.org --code K7Q-4M2 --db t.db
  doorstep sync --db t.db

Every command takes --json for scripting. Errors are one line naming the bad
value, and change nothing. The exit code is 2 for bad input or a refusal (a
value, a CSV file, a damaged, foreign or newer database file, a revoked
device, an app too old for the server), 3 when the server could not be
reached or its answer could not be read (nothing is lost: sync again later),
and 1 when SQLite or the disk fails while working. Set DOORSTEP_DB instead of
repeating --db.

The database is encrypted (SQLCipher); its key is in <db>.key beside it
(mode 0600), or the file --key-file / DOORSTEP_DB_KEY_FILE names, or the OS
keyring with --keyring. `doorstep status` says which. A database from an
earlier version, still plain, is encrypted in place when first opened.";

/// The `doorstep` command.
#[derive(Debug, Parser)]
#[command(name = "doorstep", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// The device database file.
    #[arg(
        long,
        global = true,
        env = "DOORSTEP_DB",
        default_value = "doorstep.db",
        value_name = "FILE"
    )]
    pub db: PathBuf,

    /// The file holding the database's key (64 hex digits, mode 0600). A
    /// new database's key is written there. Default: `<db>.key` beside the
    /// database. The key is never given on the command line, where the
    /// process list would show it.
    #[arg(long, global = true, env = "DOORSTEP_DB_KEY_FILE", value_name = "FILE")]
    pub key_file: Option<PathBuf>,

    /// Keep a new database's key in the OS keyring (Secret Service) when
    /// one runs, as the tablet app does; an existing key is looked for
    /// there first, then beside the database.
    #[arg(long, global = true, conflicts_with = "key_file")]
    pub keyring: bool,

    /// Print results as JSON (one document on standard output).
    #[arg(long, global = true)]
    pub json: bool,

    /// Language for checklist texts: vi (default), en or ar.
    #[arg(
        long,
        global = true,
        env = "DOORSTEP_LANG",
        default_value = "vi",
        value_name = "LOCALE"
    )]
    pub lang: String,

    /// Pretend the device clock reads this time (RFC 3339). For tests and
    /// for reproducing a tablet with a wrong clock.
    #[arg(long, global = true, env = "DOORSTEP_NOW", hide = true, value_name = "TIME")]
    pub now: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a new device database (optionally with the demo campaign).
    #[command(
        long_about = "Create a new device database at --db. It starts with the bundled checklist packs.\n\
        --demo loads the demo campaign: communes Muong Lan and Chieng Sinh of Dien Bien, their villages,\n\
        campaign members and generated households (the same ones every time)."
    )]
    Init(InitArgs),

    /// Import households from a CSV register (the commune office's spreadsheet).
    #[command(subcommand)]
    Import(ImportCommand),

    /// List villages with their communes and household counts.
    Villages,

    /// Add, list, show and edit households.
    #[command(subcommand)]
    Household(HouseholdCommand),

    /// Add and edit the people of a household.
    #[command(subcommand)]
    Person(PersonCommand),

    /// Record visits to households.
    #[command(subcommand)]
    Visit(VisitCommand),

    /// Run a guided checklist with a resident, step by step.
    #[command(subcommand)]
    Checklist(ChecklistCommand),

    /// Check checklist pack files, list installed packs.
    #[command(subcommand)]
    Pack(PackCommand),

    /// Households to go back to, oldest first.
    FollowUps(FollowUpArgs),

    /// Coverage per village: households reached, follow-ups due, checklists done.
    Coverage,

    /// Fields edited on two devices at once, kept for a team lead to review.
    Conflicts,

    /// Enrol this device with a server, using a team lead's one-time code.
    #[command(
        long_about = "Enrol this device with a Doorstep server, using the one-time code a team lead\n\
        handed out. The server assigns the device's id and the commune it syncs. The database at\n\
        --db is created if there is none; an existing one must be empty (changes written before\n\
        enrolment can never sync), not a practice database, and not enrolled already.\n\n\
        Exit code 3 when the server cannot be reached, 2 when it refuses the code."
    )]
    Enroll(EnrollArgs),

    /// Send this device's changes to the server and fetch the commune's.
    #[command(
        long_about = "Send the changes waiting on this device to its server and fetch the commune's\n\
        changes and checklist packs, in batches, until both sides agree. Progress goes to standard\n\
        error, the summary to standard output. A broken connection is retried with growing pauses;\n\
        an interrupted sync loses nothing and the next one resumes where it stopped.\n\n\
        Exit codes: 0 done; 3 the server could not be reached or its answer not read (try again\n\
        later: the changes stay on the device); 2 the server refused (device removed, app too old,\n\
        not enrolled, practice database); 1 the database failed."
    )]
    Sync(SyncArgs),

    /// The device at a glance: outbox, last sync, server, conflicts, counts.
    Status,

    /// Export households, people, visits, checklist runs or steps as CSV.
    Export(ExportArgs),

    /// Check the database file for damage (SQLite integrity check).
    Check,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Load the demo campaign.
    #[arg(long)]
    pub demo: bool,
    /// With --demo: also add a week of visits and checklist runs before today.
    #[arg(long, requires = "demo")]
    pub history: bool,
    /// A trainee's practice database: the demo campaign's households to
    /// practise on, the trainees' "guide a resident" pack, and it never syncs.
    #[arg(long)]
    pub practice: bool,
}

#[derive(Debug, Args)]
pub(crate) struct EnrollArgs {
    /// The server's address, e.g. https://doorstep.example.org
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// The one-time enrolment code from the team lead.
    #[arg(long)]
    pub code: String,
    /// A name for this device in the team lead's list ("tablet 3").
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// Largest request body in bytes after compression (tests).
    #[arg(long, hide = true)]
    pub batch_bytes: Option<usize>,
    /// Consecutive failed attempts before giving up (tests).
    #[arg(long, hide = true)]
    pub max_attempts: Option<u32>,
    /// First retry pause in milliseconds; the longest is 60 times it (tests).
    #[arg(long, hide = true)]
    pub backoff_ms: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ImportCommand {
    /// Import households from a CSV file.
    #[command(
        long_about = "Import households from a CSV file saved as UTF-8 (\"CSV UTF-8\" in spreadsheet programs).\n\n\
        Columns (header names in Vietnamese or English, any case, with or without diacritics):\n\
        \x20 village / Thôn / Bản          required\n\
        \x20 head of household / Chủ hộ    required\n\
        \x20 phone / Số điện thoại, address / Địa chỉ, members / Số nhân khẩu,\n\
        \x20 language / Ngôn ngữ, notes / Ghi chú, latitude / Vĩ độ, longitude / Kinh độ, commune / Xã\n\n\
        The whole file is checked first. Every bad row is reported with its line and column, and a file\n\
        with errors imports nothing unless --skip-bad-rows is given. Rows already on the register\n\
        (same village, head, phone and address) are reported as duplicates."
    )]
    Households(ImportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The CSV file.
    pub file: PathBuf,
    /// Commune of the villages named in the file (when it has no commune column).
    #[arg(long)]
    pub commune: Option<String>,
    /// Import the good rows even if some rows are bad.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Check the file and report, but write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum HouseholdCommand {
    /// Add a household to a village.
    Add(HouseholdAddArgs),
    /// List a village's households with their last visit and checklist progress.
    List(HouseholdListArgs),
    /// Show one household: people, visits, checklist runs.
    Show {
        /// The household id (or 6+ characters of it).
        id: String,
    },
    /// Change fields of a household.
    Edit(HouseholdEditArgs),
}

#[derive(Debug, Args)]
pub(crate) struct HouseholdAddArgs {
    /// Village name (e.g. "Tam Tu") or id.
    #[arg(long)]
    pub village: String,
    /// Commune, when two villages share a name.
    #[arg(long)]
    pub commune: Option<String>,
    /// Head of household, as on the register.
    #[arg(long)]
    pub head: String,
    /// Household phone.
    #[arg(long)]
    pub phone: Option<String>,
    /// How to find the house.
    #[arg(long)]
    pub landmark: Option<String>,
    /// Number of people living there.
    #[arg(long)]
    pub members: Option<u8>,
    /// Language spoken at home (vi, hmn, blt, ...).
    #[arg(long)]
    pub language: Option<String>,
    /// Notes.
    #[arg(long)]
    pub notes: Option<String>,
    /// Latitude in degrees (with --lng).
    #[arg(long, requires = "lng", allow_hyphen_values = true)]
    pub lat: Option<String>,
    /// Longitude in degrees (with --lat).
    #[arg(long, requires = "lat", allow_hyphen_values = true)]
    pub lng: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct HouseholdListArgs {
    /// Village name or id.
    #[arg(long)]
    pub village: String,
    /// Commune, when two villages share a name.
    #[arg(long)]
    pub commune: Option<String>,
    /// Only: not-visited, follow-up-due, in-progress or done.
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// Only households whose head, landmark or phone contains this text.
    #[arg(long)]
    pub search: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct HouseholdEditArgs {
    /// The household id (or 6+ characters of it).
    pub id: String,
    /// New head of household name.
    #[arg(long)]
    pub head: Option<String>,
    /// New phone ("" clears it).
    #[arg(long)]
    pub phone: Option<String>,
    /// New landmark ("" clears it).
    #[arg(long)]
    pub landmark: Option<String>,
    /// New number of people.
    #[arg(long)]
    pub members: Option<u8>,
    /// New home language ("" clears it).
    #[arg(long)]
    pub language: Option<String>,
    /// New notes ("" clears them).
    #[arg(long)]
    pub notes: Option<String>,
    /// Move to another village (name or id).
    #[arg(long)]
    pub village: Option<String>,
    /// Mark the household deleted (it stays in history).
    #[arg(long)]
    pub delete: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PersonCommand {
    /// Add a person to a household.
    Add(PersonArgs),
    /// Change fields of a person.
    Edit(PersonEditArgs),
}

#[derive(Debug, Args)]
pub(crate) struct PersonArgs {
    /// The household id (or 6+ characters of it).
    #[arg(long)]
    pub household: String,
    /// Full name.
    #[arg(long)]
    pub name: String,
    /// Year of birth.
    #[arg(long)]
    pub birth_year: Option<u16>,
    /// Their own phone number.
    #[arg(long)]
    pub phone: Option<String>,
    /// android, ios, feature_phone or none.
    #[arg(long)]
    pub phone_kind: Option<String>,
    /// Is the number registered in their own name? yes or no.
    #[arg(long, value_name = "YES|NO")]
    pub own_number: Option<String>,
    /// Do they have a chip-based citizen ID card? yes or no.
    #[arg(long, value_name = "YES|NO")]
    pub chip_id: Option<String>,
    /// Notes.
    #[arg(long)]
    pub notes: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct PersonEditArgs {
    /// The person id (or 6+ characters of it).
    pub id: String,
    /// New name.
    #[arg(long)]
    pub name: Option<String>,
    /// Year of birth.
    #[arg(long)]
    pub birth_year: Option<u16>,
    /// Phone ("" clears it).
    #[arg(long)]
    pub phone: Option<String>,
    /// android, ios, feature_phone or none.
    #[arg(long)]
    pub phone_kind: Option<String>,
    /// yes or no.
    #[arg(long, value_name = "YES|NO")]
    pub own_number: Option<String>,
    /// yes or no.
    #[arg(long, value_name = "YES|NO")]
    pub chip_id: Option<String>,
    /// Notes ("" clears them).
    #[arg(long)]
    pub notes: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum VisitCommand {
    /// Record a visit: how it went, notes, when to come back, who referred them.
    Record(VisitArgs),
}

#[derive(Debug, Args)]
pub(crate) struct VisitArgs {
    /// The household id (or 6+ characters of it).
    #[arg(long)]
    pub household: String,
    /// helped, partial, nobody_home, declined or revisit.
    #[arg(long)]
    pub outcome: String,
    /// Notes for the next volunteer.
    #[arg(long)]
    pub notes: Option<String>,
    /// When to come back: a date (2026-12-01), +3d, +1w, or "tomorrow".
    #[arg(long, value_name = "WHEN")]
    pub follow_up: Option<String>,
    /// The person who taught or referred this household (id or 6+ characters).
    #[arg(long, value_name = "PERSON")]
    pub referred_by: Option<String>,
    /// The volunteer (member id; default: the member this tablet was enrolled for).
    #[arg(long)]
    pub member: Option<String>,
    /// When the visit started (RFC 3339); default now.
    #[arg(long)]
    pub started_at: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ChecklistCommand {
    /// Start a checklist for a person, in today's visit to their household.
    Start(ChecklistStartArgs),
    /// Record a step: done, skip, or blocked with a reason.
    #[command(
        long_about = "Record what happened to a step of a run. Without --step, the current step\n\
        (the first not yet done or skipped) is meant, so a volunteer can repeat `step RUN done`.\n\n\
        Blocker reasons: no_smartphone, phone_old_or_full, no_chip_id_card, phone_not_in_own_name,\n\
        no_sms_access, no_signal, declined, needs_family_member, other."
    )]
    Step(ChecklistStepArgs),
    /// Show a run: every step with its instruction and outcome.
    Show {
        /// The run id (or 6+ characters of it).
        run: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ChecklistStartArgs {
    /// The person being helped (id or 6+ characters).
    #[arg(long)]
    pub person: String,
    /// The pack key: vneid, ...
    #[arg(long)]
    pub pack: String,
    /// The visit (default: today's latest visit to the person's household).
    #[arg(long)]
    pub visit: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ChecklistStepArgs {
    /// The run id (or 6+ characters of it).
    pub run: String,
    /// done, skip, or blocked.
    #[arg(value_name = "OUTCOME")]
    pub outcome: String,
    /// With blocked: the reason.
    #[arg(value_name = "REASON")]
    pub reason: Option<String>,
    /// The step id (default: the current step).
    #[arg(long)]
    pub step: Option<String>,
    /// A note ("son brings the ID card on Sunday").
    #[arg(long)]
    pub note: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PackCommand {
    /// Check pack files: every problem with file, step and field.
    Check {
        /// A pack file or a directory of them.
        path: PathBuf,
        /// Illustrations directory (default: `illustrations` next to the packs directory).
        #[arg(long)]
        illustrations: Option<PathBuf>,
        /// Fail when versions cannot be compared with git history (no git,
        /// not a work tree, a shallow clone), instead of warning. CI uses it.
        #[arg(long)]
        require_history: bool,
    },
    /// List the packs installed on this device.
    List,
    /// Print a whole pack in one language (--lang), for reading or
    /// reviewing: what is needed, every step with its tip, check and
    /// blockers, and the sources.
    Show {
        /// A pack file, or the key of a pack installed on this device.
        pack: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct FollowUpArgs {
    /// Due by this day (default: today); a date, +3d, +1w or "tomorrow".
    #[arg(long, value_name = "WHEN")]
    pub by: Option<String>,
    /// Only this village.
    #[arg(long)]
    pub village: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// households, people, visits, runs or steps.
    #[arg(long, default_value = "households")]
    pub what: String,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Start with a byte-order mark so Excel shows Vietnamese correctly.
    #[arg(long)]
    pub excel: bool,
}
