//! Command-line types (clap derive). No I/O here.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "cutover",
    version,
    about = "Rehearse a payment-system cutover: suspension window, reopening surge, ledger checks"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the JSON Schema of scenario files.
    Schema,
    /// Check a scenario file and print what it describes.
    Validate {
        /// Scenario file (JSON).
        scenario: PathBuf,
    },
    /// Generate the synthetic population and print counts and amounts due.
    Population {
        scenario: PathBuf,
        /// Master seed (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Also write every payer, one JSON object per line, to this file.
        #[arg(long)]
        jsonl: Option<PathBuf>,
    },
    /// Simulate the whole timeline in virtual time through the reference model.
    Simulate {
        scenario: PathBuf,
        /// Master seed (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Directory for report.json and summary.md (default: reports/<scenario name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress lines on standard error.
        #[arg(long)]
        quiet: bool,
    },
}
