//! One module per group of subcommands; `run` opens the store and
//! dispatches. Commands only translate arguments into `doorstep-device`
//! calls and print what comes back.

mod fieldwork;
mod households;
mod packs;
mod reports;
mod setup;
mod sync;

use std::path::Path;
use std::sync::Arc;

use doorstep_device::Store;
use doorstep_device::key::{KeyChain, KeyFile, KeyPolicy};

use crate::cli::{Cli, Command};

/// What every command gets: the open store and the output choices.
pub(crate) struct Ctx {
    pub store: Store,
    pub json: bool,
    pub lang: String,
}

/// Where the database's key is kept: `--key-file`, the OS keyring with
/// `--keyring`, else the key file beside the database.
pub(crate) fn keys(cli: &Cli) -> KeyChain {
    match (&cli.key_file, cli.keyring) {
        (Some(file), _) => KeyChain::only(Box::new(KeyFile::named(file))),
        (None, true) => KeyChain::platform(&cli.db, KeyPolicy::Platform),
        (None, false) => KeyChain::key_file_beside(&cli.db),
    }
}

/// Runs one parsed command line.
pub(crate) fn run(cli: Cli) -> anyhow::Result<()> {
    let now = cli
        .now
        .as_deref()
        .map(|t| crate::values::time(t, "--now"))
        .transpose()?;
    if !["vi", "en", "ar"].contains(&cli.lang.as_str()) {
        anyhow::bail!("--lang {:?} is not supported (use vi, en or ar)", cli.lang);
    }
    let open = |store: Store| -> Ctx {
        let mut store = store;
        if let Some(t) = now {
            store.set_wall_clock(Arc::new(move || t));
        }
        Ctx {
            store,
            json: cli.json,
            lang: cli.lang.clone(),
        }
    };
    let keys = keys(&cli);
    match cli.command {
        Command::Init(args) => setup::init(&cli.db, &keys, &args, now, cli.json),
        Command::Enroll(args) => sync::enrol(&cli.db, &keys, &args, now, cli.json),
        Command::Pack(crate::cli::PackCommand::Check {
            path,
            illustrations,
            require_history,
        }) => packs::pack_check(&path, illustrations.as_deref(), require_history, cli.json),
        // A path (with a '/' or ending in .toml) is a file; a word is an installed key.
        Command::Pack(crate::cli::PackCommand::Show { pack })
            if pack.contains(['/', '\\']) || pack.ends_with(".toml") || Path::new(&pack).is_file() =>
        {
            packs::pack_show_file(Path::new(&pack), &cli.lang, cli.json)
        }
        // A server's order to erase needs the store itself, to close it.
        Command::Sync(args) => {
            let mut ctx = open(Store::open_keyed(&cli.db, &keys)?);
            match sync::run(&mut ctx, &args) {
                Err(e)
                    if matches!(
                        e.downcast_ref::<doorstep_device::sync::SyncError>(),
                        Some(doorstep_device::sync::SyncError::EraseOrdered)
                    ) =>
                {
                    sync::erase(ctx.store, &keys, ctx.json)
                }
                other => other,
            }
        }
        command => {
            let mut ctx = open(Store::open_keyed(&cli.db, &keys)?);
            dispatch(&mut ctx, command)
        }
    }
}

fn dispatch(ctx: &mut Ctx, command: Command) -> anyhow::Result<()> {
    use crate::cli::{
        ChecklistCommand as C, HouseholdCommand as H, PackCommand as P, PersonCommand as Pe, VisitCommand as V,
    };
    match command {
        Command::Init(_) | Command::Enroll(_) | Command::Sync(_) | Command::Pack(P::Check { .. }) => {
            unreachable!("handled before opening the store")
        }
        Command::Import(crate::cli::ImportCommand::Households(args)) => reports::import(ctx, &args),
        Command::Villages => setup::villages(ctx),
        Command::Household(H::Add(args)) => households::add(ctx, &args),
        Command::Household(H::List(args)) => households::list(ctx, &args),
        Command::Household(H::Show { id }) => households::show(ctx, &id),
        Command::Household(H::Edit(args)) => households::edit(ctx, &args),
        Command::Person(Pe::Add(args)) => households::add_person(ctx, &args),
        Command::Person(Pe::Edit(args)) => households::edit_person(ctx, &args),
        Command::Visit(V::Record(args)) => fieldwork::record_visit(ctx, &args),
        Command::Checklist(C::Start(args)) => fieldwork::start(ctx, &args),
        Command::Checklist(C::Step(args)) => fieldwork::step(ctx, &args),
        Command::Checklist(C::Show { run }) => fieldwork::show(ctx, &run),
        Command::Pack(P::List) => packs::pack_list(ctx),
        Command::Pack(P::Show { pack }) => packs::pack_show(ctx, &pack),
        Command::FollowUps(args) => reports::follow_ups(ctx, &args),
        Command::Coverage => reports::coverage(ctx),
        Command::Conflicts => reports::conflicts(ctx),
        Command::Status => reports::status(ctx),
        Command::Export(args) => reports::export(ctx, &args),
        Command::Check => setup::check(ctx),
    }
}
