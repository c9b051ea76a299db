//! `doorstep-server`: serve the sync API, and the office's admin commands.
//!
//! `main` parses flags, starts the runtime, runs one command (`commands`)
//! and turns its [`Failure`](commands::Failure) into the exit code.
//!
//! Exit codes: 0 done, 2 bad input (nothing was written), 1 the database
//! or the network failed; `doctor`: 0 no check failed, 2 one did.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

use commands::Failure;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    doorstep_server::logging::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(Failure::System(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(1)
        }
        Err(Failure::Checks) => ExitCode::from(2),
    }
}
