//! The front door: parse the command line, dispatch to the command, map how it ended to the
//! exit codes the README documents (0 ok, 1 a gate or check failed, 2 bad input or an error
//! of the tool, 3 a migration stopped on purpose, 130 interrupted). Everything else is in
//! the library's `commands`.

use clap::Parser;
use cutover::cli::Cli;
use cutover::commands::{EXIT_ERROR, dispatch};
use std::process::ExitCode;

fn main() -> ExitCode {
    // The cryptography of every TLS client (reqwest through rustls, with ring), before any
    // client is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match dispatch(Cli::parse()) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(e) => {
            eprintln!("error: {}", cutover::secrets::redact(&format!("{e:#}")));
            ExitCode::from(EXIT_ERROR)
        }
    }
}
