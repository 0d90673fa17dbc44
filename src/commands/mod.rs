//! The subcommands, one file each: a command turns its parsed arguments into a validated
//! configuration ([`args`]: every range checked once), calls the library, writes what it
//! produced ([`output`]) and says which [`Exit`] the run earns. `main` parses and dispatches.

/// Print to standard output, ignoring a closed pipe (`cutover population ... | head`): the
/// reports are already written, and a reader that went away is no reason to panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), "{}", crate::secrets::redact(&format!($($arg)*)));
    }};
}

/// [`say!`] without the line end.
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), "{}", crate::secrets::redact(&format!($($arg)*)));
    }};
}

pub(crate) mod args;
mod calibrate;
mod compare;
mod merge;
mod migrate;
mod output;
mod population;
mod reconcile;
mod run;
mod schema;
mod serve;
mod simulate;
mod sweep;
mod validate;

use crate::cli::{Cli, Command};

/// How a command ended, as the exit codes the README documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: ran, the verdict is GO: every gate and check passed (`compare`: no regression).
    Ok,
    /// 1: ran, the verdict is NO-GO: a gate or check failed, or the load was aborted (the
    /// report is written); `compare`: a regression.
    Failed,
    /// 3: `cutover migrate --abort-after-batch` stopped on purpose.
    Stopped,
    /// 4: ran, nothing failed, but the verdict is INCOMPLETE: a gate or check could not be
    /// judged (no data, a ledger or books that could not be read) or was not reached.
    Incomplete,
    /// 130: `cutover run` interrupted by Ctrl-C (its report is written).
    Interrupted,
}

impl Exit {
    /// The process exit code. Errors (bad input, a tool error) are 2, mapped by `main`.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::Stopped => 3,
            Exit::Incomplete => 4,
            Exit::Interrupted => 130,
        }
    }
}

impl From<crate::report::Verdict> for Exit {
    fn from(v: crate::report::Verdict) -> Exit {
        match v {
            crate::report::Verdict::Go => Exit::Ok,
            crate::report::Verdict::NoGo => Exit::Failed,
            crate::report::Verdict::Incomplete => Exit::Incomplete,
        }
    }
}

/// The exit code of anything that went wrong before a command could run to its end.
pub const EXIT_ERROR: u8 = 2;

/// Run one parsed command line.
pub fn dispatch(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Schema { of } => schema::schema(of),
        Command::Validate { scenario } => validate::validate(&scenario),
        Command::Population { scenario, seed, jsonl } => population::population(&scenario, seed, jsonl.as_deref()),
        Command::Simulate(a) => simulate::simulate(a),
        Command::Serve(a) => serve::serve(a),
        Command::Run(a) => run::run(a),
        Command::Merge(a) => merge::merge(a),
        Command::Migrate(a) => migrate::migrate(a),
        Command::Sweep(a) => sweep::sweep(a),
        Command::Compare(a) => compare::compare(a),
        Command::Reconcile(a) => reconcile::reconcile(a),
    }
}
