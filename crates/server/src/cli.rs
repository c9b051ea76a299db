//! The command line: every subcommand and flag of `doorstep-server`, with
//! the help texts that make `--help` read as the office's manual.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};

/// The central Doorstep server: tablets enrol and sync here; the commune
/// office manages the campaign with the subcommands.
#[derive(Debug, Parser)]
#[command(name = "doorstep-server", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    /// The database: a SQLite file (created if missing), or a PostgreSQL
    /// database as `postgres://user:password@host:port/database` (an
    /// empty one is set up on first start; `?sslmode=require` for TLS with
    /// the certificate verified, against `PGSSLROOTCERT` if set).
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "doorstep-server.db"
    )]
    pub db: String,

    /// Keep the SQLite office database encrypted (SQLCipher) under the key
    /// in this file: 64 hexadecimal digits, made (0600) if the file is not
    /// there. A plain database is encrypted in place on first use; keep
    /// the key file apart from the database's backups.
    #[arg(long, global = true, env = "DOORSTEP_SERVER_DB_KEY_FILE", value_name = "FILE")]
    pub db_key_file: Option<std::path::PathBuf>,

    /// Print results as JSON.
    #[arg(long, global = true)]
    pub json: bool,

    /// How log lines (standard error) are written: text, or one JSON
    /// object a line, with each request's id and device, for a log
    /// collector.
    #[arg(long, global = true, env = "DOORSTEP_LOG_FORMAT", value_enum, default_value_t)]
    pub log_format: doorstep_server::logging::LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve the API for tablets until Ctrl-C.
    Serve(ServeArgs),
    /// Copy the database to a file, consistently, while a server runs on
    /// it: a SQLite copy (encrypted under the same key if the database is),
    /// or a pg_dump of PostgreSQL (restored with pg_restore).
    Backup {
        /// The backup file to write (must not exist yet).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Put a backup in the place of the SQLite database (--db), with every
    /// server on it stopped. The backup is checked first; the database it
    /// replaces is kept beside it as <db>.before-restore-<time>. Tablets
    /// that synced after the backup was taken send their changes again.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Only check the file, restore nothing.
        #[arg(long)]
        check: bool,
    },
    /// Check the office's health: the database opens and reads back whole,
    /// free disk space, the newest backup's age, the computer's clock. One
    /// line per check (OK, WARN or FAIL, and what to do); changes nothing.
    /// Exit code 0 when no check failed, 2 when one did.
    Doctor {
        /// The folder the server backs up into (`serve --backup-dir`).
        #[arg(long, value_name = "DIR")]
        backup_dir: Option<PathBuf>,
        /// The server's `--backup-every`: a backup older than twice it is
        /// late (default: older than a day).
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        backup_every: Option<std::time::Duration>,
    },
    /// Campaigns.
    #[command(subcommand)]
    Campaign(CampaignCommand),
    /// Campaign members (volunteers, leads).
    #[command(subcommand)]
    Member(MemberCommand),
    /// One-time codes that enrol a tablet.
    #[command(name = "enrol-code", subcommand)]
    EnrolCode(CodeCommand),
    /// Enrolled tablets.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Import records from a file.
    #[command(subcommand)]
    Import(ImportCommand),
    /// The campaign's figures: coverage, checklists, visits, the walking
    /// list for tomorrow, peer spread.
    Report(ReportArgs),
    /// Export the office's figures (CSV or XLSX), or the current records of
    /// one kind (CSV).
    #[command(long_about = "Export the office's figures, or the current records of one kind.\n\n\
        Figures (filtered by --commune, --village, --from and --to, as `report`):\n\
        \x20 visits       every visit: place, household, day and time, outcome, follow-up, volunteer, notes\n\
        \x20 checklists   every checklist run: household, person, pack, status, steps, blocker, start day\n\
        \x20 coverage     households per village: reached, not visited, follow-up due, in progress, done\n\
        \x20 workbook     an XLSX workbook: a summary sheet (coverage per commune and village, checklist\n\
        \x20              outcomes per pack, blockers, the filter) and one sheet per village with its\n\
        \x20              visits and checklist runs\n\n\
        CSV files are UTF-8 with a byte-order mark, so spreadsheet programs show Vietnamese correctly.\n\
        The format is --format, or the --out file's extension (.xlsx), or CSV. Dates filter visits by\n\
        their local day (UTC+7) and checklist runs by the day they started; the summary's checklist\n\
        outcomes count every run, as `report overview` does. Headers are Vietnamese unless --lang en.\n\n\
        Records: commune, village, campaign, member, household, person, visit, checklist_run or\n\
        step_event writes every record of that kind as CSV, one column per field.\n\n\
        Examples:\n\
        \x20 doorstep-server export workbook --commune \"Muong Lan\" --from 2026-11-01 --out muong-lan.xlsx\n\
        \x20 doorstep-server export visits --village Bun --lang en --out bun-visits.csv")]
    Export(ExportArgs),
}

/// `serve`: where to listen, what to hand out, backups and metrics.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Address and port to listen on (port 0 picks a free one and prints it).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Largest request on the wire, in bytes.
    #[arg(long, default_value_t = 2 * 1024 * 1024)]
    pub max_request_bytes: usize,
    /// Hand out the checklist packs in this directory instead of those
    /// built in (a corrected pack reaches tablets without a new build).
    /// Every version ever handed out is still served.
    #[arg(long, value_name = "DIR")]
    pub packs: Option<std::path::PathBuf>,
    /// Take a backup of the database into this folder at start-up and
    /// then every --backup-every, while serving (a PostgreSQL database
    /// with pg_dump). Tablets drop from their outboxes only changes a
    /// backup holds: without backups they keep everything.
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<std::path::PathBuf>,
    /// Time between scheduled backups ("6h", "30m", "1d").
    #[arg(long, value_name = "DURATION", default_value = "6h", value_parser = humantime::parse_duration)]
    pub backup_every: std::time::Duration,
    /// How many scheduled backups to keep in --backup-dir (the oldest
    /// beyond it are deleted).
    #[arg(long, value_name = "N", default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..))]
    pub keep: u32,
    /// Serve GET /metrics (Prometheus text format) to requests carrying
    /// "Authorization: Bearer TOKEN"; without it there is no /metrics.
    /// At least 16 characters; prefer the environment variable, which
    /// other users of the machine cannot read in the process list.
    #[arg(long, value_name = "TOKEN", env = "DOORSTEP_METRICS_TOKEN", hide_env_values = true,
          value_parser = doorstep_server::api::MetricsToken::parse)]
    pub metrics_token: Option<doorstep_server::api::MetricsToken>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// overview, walking-list or peer-spread.
    #[arg(value_parser = ["overview", "walking-list", "peer-spread"])]
    pub what: String,
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Which part of the campaign a report or an export covers.
#[derive(Debug, clap::Args)]
pub(crate) struct FilterArgs {
    /// Only this commune (name or id; repeat for several).
    #[arg(long)]
    pub commune: Vec<String>,
    /// Only this village (name or id).
    #[arg(long)]
    pub village: Option<String>,
    /// Visits (and exported checklist runs) from this local day (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<chrono::NaiveDate>,
    /// Visits (and exported checklist runs) up to this local day (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<chrono::NaiveDate>,
    /// The day follow-ups are due by (default: today in Vietnam).
    #[arg(long)]
    pub today: Option<chrono::NaiveDate>,
}

impl FilterArgs {
    pub(crate) fn is_empty(&self) -> bool {
        self.commune.is_empty()
            && self.village.is_none()
            && self.from.is_none()
            && self.to.is_none()
            && self.today.is_none()
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    /// visits, checklists, coverage or workbook (figures); or a kind of
    /// record: commune, village, campaign, member, household, person,
    /// visit, checklist_run, step_event.
    pub what: String,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// csv or xlsx (default: xlsx for a workbook or an --out file ending
    /// in .xlsx, else csv).
    #[arg(long, value_parser = ["csv", "xlsx"])]
    pub format: Option<String>,
    /// Language of the headers and words: vi (default) or en.
    #[arg(long, value_parser = ["vi", "en"])]
    pub lang: Option<String>,
    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CampaignCommand {
    /// Create a campaign with its communes and villages.
    Create(CampaignArgs),
    /// List campaigns.
    List,
}

/// `campaign create`: the campaign, its places and packs.
#[derive(Debug, clap::Args)]
pub(crate) struct CampaignArgs {
    /// The demo campaign of assets/demo/campaign.toml (communes Muong Lan
    /// and Chieng Sinh, their villages and members) instead of the flags.
    #[arg(long, conflicts_with_all = ["name", "starts_on", "communes"])]
    pub demo: bool,
    /// Campaign name.
    #[arg(long, required_unless_present = "demo")]
    pub name: Option<String>,
    /// First day (YYYY-MM-DD).
    #[arg(long, required_unless_present = "demo")]
    pub starts_on: Option<NaiveDate>,
    /// Last day (YYYY-MM-DD).
    #[arg(long)]
    pub ends_on: Option<NaiveDate>,
    /// A commune and its villages: "Muong Lan=Bun,Ba Nam,Khin". Repeat for more.
    #[arg(long = "commune", required_unless_present = "demo")]
    pub communes: Vec<String>,
    /// Province of the communes.
    #[arg(long)]
    pub province: Option<String>,
    /// Checklist packs in use (comma-separated keys; default: every
    /// built-in pack for residents).
    #[arg(long, value_delimiter = ',')]
    pub packs: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum MemberCommand {
    /// Add a member.
    Add(MemberArgs),
    /// List members.
    List,
    /// Set the dashboard password of a lead or admin (read from standard
    /// input, one line, at least 10 characters). Their sessions end.
    SetPassword {
        /// The member (name or id).
        #[arg(long)]
        member: String,
    },
}

/// `member add`: who joins, in which role and villages.
#[derive(Debug, clap::Args)]
pub(crate) struct MemberArgs {
    /// Full name.
    #[arg(long)]
    pub name: String,
    /// volunteer, lead or admin.
    #[arg(long, default_value = "volunteer")]
    pub role: String,
    /// youth_union, police, social_insurance, telecom, commune_staff, school, other.
    #[arg(long, default_value = "youth_union")]
    pub unit: String,
    /// Phone number.
    #[arg(long)]
    pub phone: Option<String>,
    /// Villages walked (names or ids); repeat.
    #[arg(long = "village")]
    pub villages: Vec<String>,
    /// Campaign (name or id) if there are several.
    #[arg(long)]
    pub campaign: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CodeCommand {
    /// Make a one-time code (and QR code) for a member's tablet.
    New(CodeArgs),
}

/// `enrol-code new`: whose tablet, which commune, for how long.
#[derive(Debug, clap::Args)]
pub(crate) struct CodeArgs {
    /// Member (name or id).
    #[arg(long)]
    pub member: String,
    /// Commune (name or id) the tablet will see.
    #[arg(long)]
    pub commune: String,
    /// Days until the code stops working.
    #[arg(long, default_value_t = 7)]
    pub days: u16,
    /// Server address to put in the QR code (the tablet reads it with the code).
    #[arg(long)]
    pub server_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ImportCommand {
    /// Import a commune's households from a CSV file (as `doorstep import households`).
    #[command(
        long_about = "Import households from a CSV file saved as UTF-8 (\"CSV UTF-8\" in spreadsheet programs).\n\n\
        Columns (header names in Vietnamese or English, any case, with or without diacritics):\n\
        \x20 village / Thôn / Bản          required\n\
        \x20 head of household / Chủ hộ    required\n\
        \x20 phone / Số điện thoại, address / Địa chỉ, members / Số nhân khẩu,\n\
        \x20 language / Ngôn ngữ, notes / Ghi chú, latitude / Vĩ độ, longitude / Kinh độ, commune / Xã\n\n\
        The whole file is checked first. Every bad row is reported with its line and column, and a file\n\
        with errors imports nothing (exit code 2) unless --skip-bad-rows is given. Rows already on the\n\
        register (same village, head, phone and address) are reported as duplicates. The households are\n\
        written in one transaction and reach the tablets of their commune at their next sync."
    )]
    Households(ImportArgs),
}

#[derive(Debug, clap::Args)]
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
pub(crate) enum DeviceCommand {
    /// List enrolled tablets.
    List,
    /// Revoke a tablet: its token stops working at once. Its data stays on
    /// it unless --wipe is given.
    Revoke {
        /// Device id (or 6+ characters of it).
        device: String,
        /// Also erase the tablet's data: at its next contact it is told to
        /// delete its database, key and practice databases, and reports back
        /// (shown by `device list`). Changes it had not sent are lost.
        #[arg(long)]
        wipe: bool,
    },
}
