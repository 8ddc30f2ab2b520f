//! The `tarjama` command: parse the command line, run it, report the error
//! chain on one line, and map the outcome to an exit code (see README).

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(outcome) => outcome.exit_code(),
        Err(err) if cli::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tarjama: error: {err:#}");
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}
