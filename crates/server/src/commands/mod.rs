//! One module per group of subcommands; `run` opens the store and
//! dispatches. Commands only translate arguments into `doorstep-office`
//! and `doorstep-store` calls and print what comes back.

mod backup;
mod campaign;
mod code;
mod device;
mod doctor;
mod export;
mod filter;
mod import;
mod list;
mod member;
mod report;
mod restore;
mod serve;
mod shared;

use chrono::{DateTime, Utc};
use doorstep_core::schema::EntityKind;
use doorstep_store::any::AnyStore;

pub(crate) use shared::Failure;

use crate::cli::{CampaignCommand, Cli, CodeCommand, Command, DeviceCommand, ImportCommand, MemberCommand};

/// What every command on an open store gets: the store, the output choice
/// and the time the command started.
pub(crate) struct Ctx {
    pub store: AnyStore,
    pub json: bool,
    pub now: DateTime<Utc>,
}

/// Runs one parsed command line.
pub(crate) async fn run(cli: Cli) -> Result<(), Failure> {
    // A restore may have no database to open yet (a new office PC).
    if let Command::Restore { file, check } = &cli.command {
        return restore::run(&cli, file, *check);
    }
    // The doctor reads the database as it is: never made, never migrated.
    if let Command::Doctor {
        backup_dir,
        backup_every,
    } = &cli.command
    {
        return doctor::run(&cli, backup_dir.clone(), *backup_every).await;
    }
    let store = shared::open(&cli.db, cli.db_key_file.as_deref()).await?;
    let ctx = Ctx {
        store,
        json: cli.json,
        now: Utc::now(),
    };
    dispatch(ctx, &cli.db, cli.command).await
}

/// Runs a command that works on the open store (`db` names it, for the
/// serving lock).
async fn dispatch(ctx: Ctx, db: &str, command: Command) -> Result<(), Failure> {
    match command {
        // Run by `run` before the store is opened.
        Command::Restore { .. } | Command::Doctor { .. } => Ok(()),
        Command::Backup { out } => backup::run(&ctx, &out).await,
        Command::Serve(args) => serve::run(ctx.store, db, args).await,
        Command::Campaign(CampaignCommand::Create(args)) => campaign::create(&ctx, args).await,
        Command::Campaign(CampaignCommand::List) => list::run(&ctx, EntityKind::Campaign).await,
        Command::Member(MemberCommand::Add(args)) => member::add(&ctx, args).await,
        Command::Member(MemberCommand::List) => list::run(&ctx, EntityKind::Member).await,
        Command::Member(MemberCommand::SetPassword { member }) => member::set_password(&ctx, &member).await,
        Command::EnrolCode(CodeCommand::New(args)) => code::new(&ctx, &args).await,
        Command::Device(DeviceCommand::List) => device::list(&ctx).await,
        Command::Device(DeviceCommand::Revoke { device, wipe }) => device::revoke(&ctx, &device, wipe).await,
        Command::Import(ImportCommand::Households(args)) => import::households(&ctx, &args).await,
        Command::Report(args) => report::run(&ctx, &args).await,
        Command::Export(args) if export::is_figures(&args.what) => export::figures(&ctx, &args).await,
        Command::Export(args) => export::records(&ctx, args).await,
    }
}
