//! Command-line types (clap derive). No I/O here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "cutover", version, about = "Rehearse a payment-system cutover: suspension window, reopening surge, ledger checks")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a JSON Schema: of scenario files (default), of report.json, or of sweep.json.
    Schema {
        /// Which file's schema.
        #[arg(long, value_enum, default_value_t = SchemaOf::Scenario)]
        of: SchemaOf,
    },
    /// Check a scenario file and print what it describes.
    Validate {
        /// Scenario file (JSON).
        scenario: PathBuf,
    },
    /// Generate the synthetic population and print counts and amounts due.
    Population {
        /// Scenario file (JSON): its population section is drawn.
        scenario: PathBuf,
        /// Master seed (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Also write every payer, one JSON object per line, to this file.
        #[arg(long)]
        jsonl: Option<PathBuf>,
    },
    /// Simulate the whole timeline in virtual time through the reference model.
    Simulate(SimulateArgs),
    /// Serve the reference model over HTTP (the target contract, /v1).
    Serve(ServeArgs),
    /// Replay the scenario's demand in compressed real time against a target, open loop.
    Run(RunArgs),
    /// Merge the shards of one rehearsal (`run --shard`) into one report: counts summed,
    /// histograms merged from their encoding, journals joined, the books reconciled and the
    /// gates judged once; a missing or stopped shard makes the verdict INCOMPLETE.
    Merge(MergeArgs),
    /// Copy the old system's payments and open assessments into the new one (the reference
    /// servers' admin endpoints), in batches, resumable after a crash.
    Migrate(MigrateArgs),
    /// Simulate every combination of varied scenario values (in virtual time, on all cores)
    /// and name the cheapest that passes every gate: how many counters, agents and backend.
    Sweep(SweepArgs),
    /// Compare two reports (report.json) per phase, channel and operation, and exit 1 when
    /// the new one regressed past the limit: a percentile, an error rate, refusals, or any
    /// correctness figure (double charges, differing ledger cells, ...).
    Compare(CompareArgs),
    /// Run the cutover's checks over two systems' export files (JSON Lines of payments, as
    /// `GET /v1/admin/export/payments` gives them), with a run's journal if given.
    Reconcile(ReconcileArgs),
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Scenario file (JSON); `cutover validate` checks it alone.
    pub scenario: PathBuf,
    /// Master seed (default: the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Directory for report.json, summary.md and report.html (default: reports/<scenario name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Language of summary.md, report.html and the summary printed at the end (JSON
    /// stays English); zh names channels, phases, groups and leagues by the scenario's `label_zh`.
    #[arg(long, value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
    /// Also write the gates as JUnit XML to this file (one test case per gate).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Also write HdrHistogram interval logs here, one per channel and operation
    /// (`<channel>.<operation>.hlog`, an interval per phase), for HdrHistogram's own tools.
    #[arg(long)]
    pub hlog: Option<PathBuf>,
    /// Standard output at the end: the short summary, or the whole report as JSON.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// No progress lines on standard error.
    #[arg(long)]
    pub quiet: bool,
    /// Deliberately break the reference systems (repeatable), to rehearse the checks.
    #[arg(long, value_enum)]
    pub fault: Vec<Fault>,
    /// Say what shard I of N of a live rehearsal sends (`I/N`, or `N` with I from
    /// `JOB_COMPLETION_INDEX`), its payers dealt as `run --shard I/N --threads T` deals them:
    /// the whole timeline simulated, the requests reaching the systems counted for the
    /// shard's payers (in `--out`, `shard-I-of-N.json`, with its requests per hour).
    #[arg(long, conflicts_with_all = ["junit", "hlog", "fault"])]
    pub shard: Option<String>,
    /// With --shard: the sending threads of each shard (`run --threads`, default 2).
    #[arg(long, requires = "shard", default_value_t = 2)]
    pub threads: usize,
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The scenario of the cutover (its leagues, channels and systems).
    pub scenario: PathBuf,
    /// The old system's payments.
    #[arg(long)]
    pub old: PathBuf,
    /// The new system's payments.
    #[arg(long)]
    pub new: PathBuf,
    /// The old system's registrations (JSON Lines, as `GET /v1/admin/export/registrations`
    /// writes them); with --new-registrations, the registrations are checked too.
    #[arg(long, requires = "new_registrations")]
    pub old_registrations: Option<PathBuf>,
    /// The new system's registrations.
    #[arg(long, requires = "old_registrations")]
    pub new_registrations: Option<PathBuf>,
    /// A run's journal.jsonl: the payments acknowledged to payers, checked against the books.
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Directory for reconcile.json and reconcile.md (default: reports/<scenario name>-reconcile).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The scenario to vary (its `costs` price each resource per unit).
    pub scenario: PathBuf,
    /// A scenario value to vary and the values to try, `PATH=V1,V2,...` (repeatable; every
    /// combination runs). PATH names fields by dots, list elements by id or index:
    /// `backend.concurrency=2,4,8`, `channels.hall_cash.servers=200,250,300`,
    /// `channels.hotline_12366.servers=80,120`, `behaviour.read_notice_share=0.3,0.6`.
    #[arg(long, required = true)]
    pub vary: Vec<String>,
    /// Run every combination over this many seeds (the scenario's seed and the next ones,
    /// the same for every combination) and report each figure's min, median and max.
    #[arg(long, default_value_t = 1)]
    pub seeds: u64,
    /// The first seed (default: the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulations at once (default: every core, as many as fit in the memory available; a
    /// number that would not fit is refused, saying how many would).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Directory for sweep.json, sweep.md, sweep.html and each combination's scenario
    /// (default: reports/<scenario name>-sweep).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Language of sweep.md and sweep.html (sweep.json stays English); zh names channels
    /// by the scenario's `label_zh`.
    #[arg(long, value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
    /// No progress lines on standard error.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline report.json (a run kept from an earlier build).
    pub base: PathBuf,
    /// The new report.json.
    pub new: PathBuf,
    /// How much worse a figure may get before it counts as a regression: `10%` or `0.1`.
    /// Correctness figures may not get worse at all.
    #[arg(long, default_value = "10%")]
    pub max_regression: String,
    /// Latency changes smaller than this many milliseconds are noise, whatever their ratio.
    #[arg(long, default_value_t = 1.0)]
    pub min_change_ms: f64,
    /// Cells with fewer attempts than this in either report are shown but not judged.
    #[arg(long, default_value_t = 30)]
    pub min_samples: u64,
    /// Show every compared figure, not only those that changed past the limit.
    #[arg(long)]
    pub all: bool,
    /// Standard output: the table, or the comparison as JSON for scripts.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The scenario of the cutover (its leagues, and the default batch size).
    pub scenario: PathBuf,
    /// The old system (`cutover serve --role old`), http://host:port.
    #[arg(long)]
    pub from: String,
    /// The new system (`cutover serve --role new`), http://host:port.
    #[arg(long)]
    pub to: String,
    /// Payments per batch (default: the scenario's `cutover.migration.batch_size`, else 500).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Where the migration notes how far it got, to go on from there after a crash
    /// (default: reports/<scenario name>-migrate/state.json).
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// The rehearsal this migration belongs to (a hook's `{run}`): its batches' keys carry
    /// it, so that one run's migration is never taken as a replay of another's.
    #[arg(long)]
    pub run_id: Option<String>,
    /// Bearer token of the servers' admin endpoints (or CUTOVER_ADMIN_TOKEN).
    #[arg(long)]
    pub admin_token: Option<String>,
    /// Deliberately break the migration (for rehearsing the checks): one of the
    /// `migration-*` faults; the others break a server, not the migration.
    #[arg(long, value_enum)]
    pub fault: Option<Fault>,
    /// Stop right after sending this many payment batches, without noting the last: what a
    /// crash there leaves (for rehearsing the resumption).
    #[arg(long, hide = true)]
    pub abort_after_batch: Option<u64>,
    /// No progress lines on standard error.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// The system that stops.
    Old,
    /// The system that opens.
    New,
}

/// The files whose JSON Schema `cutover schema` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaOf {
    /// Scenario files (for editors: `$schema`).
    Scenario,
    /// report.json (`reports/report.schema.json`).
    Report,
    /// sweep.json (`reports/sweep.schema.json`).
    Sweep,
}

/// The language of summary.md, report.html and the printed summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Chinese (简体中文), with the scenario's `label_zh` names.
    Zh,
}

/// What goes to standard output at the end of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// For people: the short summary (compare: the table).
    #[default]
    Text,
    /// For scripts: the whole report.json (compare: the comparison), nothing else on
    /// standard output.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Fault {
    /// Accept payments on suspended channels (to rehearse the auditor).
    AcceptWhileSuspended,
    /// The old system acknowledges payments after it stopped.
    AcceptAfterStop,
    /// The new system checks idempotency keys only (no check for the same payer, insurance
    /// and period paid twice).
    NaiveDedup,
    /// The migration drops one batch of payments.
    MigrationDropBatch,
    /// The migration imports one batch twice.
    MigrationImportTwice,
    /// The migration writes one league's payments under another league.
    MigrationWrongLeague,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the first line printed names it).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// Scenario whose rules, channels and leagues the server uses (default: the bundled
    /// inner-mongolia-2021 scenario).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Keep the ledger durable in DIR (decisions.log while it runs, folded into the SQLite
    /// file ledger.sqlite when it stops); without it, memory only. The server holds the data
    /// while it runs: a second server (or another program) cannot open it meanwhile.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Token required by the admin endpoints (also CUTOVER_ADMIN_TOKEN); without one they
    /// answer loopback callers only.
    #[arg(long)]
    pub admin_token: Option<String>,
    /// Virtual seconds per real second until a run sets the clock.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Virtual instant at start (RFC 3339; default: the scenario's start).
    #[arg(long)]
    pub virtual_start: Option<String>,
    /// Play a deployment that keeps real time: its clock is the wall clock, it knows nothing
    /// of the scenario's timeline (no phase closes a channel, it never opens or stops by the
    /// scenario's instants), and only its maintenance switch, `POST /v1/admin/maintenance`,
    /// closes channels (a run switches it through a profile's `switch`).
    #[arg(long)]
    pub rebase_now: bool,
    /// Requests handled at once; more are refused with 429.
    #[arg(long, default_value_t = 4096)]
    pub max_in_flight: usize,
    /// Connections held at once; one more is answered 503 and closed (default: the
    /// process's descriptor limit less 64, so idle sockets cannot lock every client out).
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// A connection must send a request's head within this many seconds of opening or of
    /// its last answer, or it is closed (slow or idle clients).
    #[arg(long, default_value_t = 10.0)]
    pub header_timeout_seconds: f64,
    /// A request must be read and decided within this many seconds, or it is answered 408.
    #[arg(long, default_value_t = 30.0)]
    pub request_timeout_seconds: f64,
    /// Which system of the scenario's cutover to play (required for a scenario with a
    /// `cutover` section, refused without one).
    #[arg(long, value_enum)]
    pub role: Option<Role>,
    /// Deliberately break a rule (repeatable; for rehearsing the auditor and the checks).
    #[arg(long, value_enum)]
    pub fault: Vec<Fault>,
    /// Answer payment, assessment and certificate ids as text ("pay-17"), as most real
    /// deployments do, and take them back in that form.
    #[arg(long)]
    pub text_ids: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransportArg {
    /// The driver's own HTTP/1.1 client, one connection per pool slot (fast path for http:// targets).
    Http1,
    /// One hyper HTTP/1.1 connection per pool slot (costs more CPU per request than http1).
    Hyper,
    /// A shared reqwest client.
    Reqwest,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario file (JSON): the demand replayed, its phases, gates and hooks.
    pub scenario: PathBuf,
    /// Base address of the target (http://host:port): a deployment or a `cutover serve`.
    /// Without it, give --model (the in-process reference model) or --old/--new (a cutover).
    #[arg(long, conflicts_with_all = ["model", "old"])]
    pub target: Option<String>,
    /// A cutover's old system (http://host:port): a `cutover serve --role old` or a real
    /// deployment (with --profile).
    #[arg(long, conflicts_with = "model", requires = "new")]
    pub old: Option<String>,
    /// A cutover's new system (http://host:port), with --new-profile if it speaks another API.
    #[arg(long, conflicts_with = "model", requires = "old")]
    pub new: Option<String>,
    /// Drive the in-process reference model (both systems of a cutover) in real time, no network.
    #[arg(long)]
    pub model: bool,
    /// Stop the load early: at once when a gate that can only get worse is lost
    /// (accepted_while_suspended, auditor_disagreements), or when, after the grace period,
    /// most of one system's answers in the last --abort-window-seconds are errors (it is
    /// down or drowning). The report is written, marked aborted with the reason naming the
    /// system, and the run exits 1.
    #[arg(long)]
    pub abort_early: bool,
    /// Real seconds before --abort-early judges (default 60: the first minute's answers).
    #[arg(long, default_value_t = 60.0, requires = "abort_early")]
    pub abort_grace_seconds: f64,
    /// The real seconds of answers --abort-early judges: the most recent ones, so that a
    /// system that dies late in a long run is caught within this window (default 30).
    #[arg(long, default_value_t = 30.0, requires = "abort_early")]
    pub abort_window_seconds: f64,
    /// Print what the run would do (requests, the peak rate, how long at this time scale, from
    /// a simulation of the same payers in virtual time) and what one generator sends on this
    /// machine at most (a short calibration flat out against the in-process model): how many
    /// generators the plan needs at least, or the time scale one keeps at most. Sends nothing
    /// to any target.
    #[arg(long)]
    pub dry_run: bool,
    /// Run the checks before the load alone and print what each mapping read (the ledger's
    /// first cells, the books' first rows, the key lookup, the clock): how a profile is
    /// written and fixed in minutes. Sends no load; exit 0 when the run could rely on all.
    #[arg(long, conflicts_with = "dry_run")]
    pub probe: bool,
    /// Do not try each operation of a profile before the load (a look-up, a payment and an
    /// assessment of zero fen, a certificate for no order: changing nothing, each answer
    /// must read as a success or a known refusal).
    #[arg(long)]
    pub skip_operation_probe: bool,
    /// With --model: deliberately break the in-process systems (repeatable).
    #[arg(long, value_enum, requires = "model")]
    pub fault: Vec<Fault>,
    /// Virtual seconds per real second (1440: a day of the timeline per minute; default: the
    /// scenario's `run.time_scale`, else 1440).
    #[arg(long)]
    pub time_scale: Option<f64>,
    /// A stretch of the timeline run at one virtual second per real second, FROM/UNTIL (RFC
    /// 3339, e.g. 2021-04-30T23:00:00+08:00/2021-05-01T03:00:00+08:00), the rest at
    /// --time-scale: a deployment keeping real time lives through it as it will, with the
    /// payers' whole history before it; a target following the run's clock is told each change
    /// of pace.
    #[arg(long)]
    pub real_time: Option<String>,
    /// Master seed (default: the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// This run's name (default: its start in UTC and the process id): in report.json, a
    /// hook's `{run}`, and every idempotency key the run makes, so that no run replays an
    /// earlier one's payments. Letters, digits, `.`, `_` and `-`, at most 64.
    #[arg(long)]
    pub run_id: Option<String>,
    /// Directory for report.json, summary.md, report.html and journal.jsonl (default: reports/<name>-run).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Language of summary.md, report.html and the summary printed at the end (JSON
    /// stays English); zh names channels, phases, groups and leagues by the scenario's `label_zh`.
    #[arg(long, value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
    /// Also write the gates as JUnit XML to this file (one test case per gate).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Also write HdrHistogram interval logs here, one per channel and operation
    /// (`<channel>.<operation>.hlog`, an interval per phase), for HdrHistogram's own tools.
    #[arg(long)]
    pub hlog: Option<PathBuf>,
    /// Serve the run's figures as Prometheus text at http://ADDR/metrics while it runs
    /// (requests by phase, channel, operation and outcome; response-time histograms; queue
    /// depth; not sent; auditor disagreements). Port 0 picks a free one; the address is printed.
    #[arg(long)]
    pub metrics_addr: Option<String>,
    /// Standard output at the end: the short summary, or the whole report as JSON.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Connections in the pool.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Threads sending requests: the payers and the connections are split among them, and
    /// each sends and accounts for its own payers' requests (at most one per connection).
    /// Default: one per 30,000 first attempts in the plan's busiest second at this time
    /// scale, at most the cores (one thread sends a moderate rate for less CPU per request
    /// than two; flat out, every core); with --shard, 2, as `simulate --shard` deals them.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Arrivals waiting for a free connection; beyond it they are counted as not sent
    /// (split among the threads like the connections).
    #[arg(long, default_value_t = 100_000)]
    pub queue_bound: usize,
    /// Per-request timeout in milliseconds (checked every tenth of it: a request times out
    /// between 1 and 1.1 timeouts after it was sent).
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
    /// How late, in microseconds, a thread may send a request while requests fall due closer
    /// together than this: one wake-up then sends all that fell due meanwhile, instead of one
    /// wake-up each (a wake-up costs more CPU than a request at a few thousand a second). 0:
    /// every request at its instant. The lateness is the driver's, reported as such, and
    /// counts in response times (from each request's instant); at most 5000. The default
    /// keeps the driver's lateness p99 under 1 ms at 5,000 and 20,000 requests a second on a
    /// 2-core machine, with room for a noisy one (BENCHMARKS.md, "Speed, fourteenth sitting").
    #[arg(long, default_value_t = 500)]
    pub slack_us: u64,
    /// How requests go out: the driver's own HTTP/1.1 client (fastest), hyper, or reqwest
    /// (default: http1 for http:// targets, reqwest for https://, the one with TLS).
    #[arg(long, value_enum)]
    pub transport: Option<TransportArg>,
    /// PEM certificates to trust for https:// targets besides the system's (a staging CA).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate of an https:// target, unverified: a self-signed staging
    /// certificate only (prefer --ca-file).
    #[arg(long)]
    pub accept_invalid_certificate: bool,
    /// Do not set the target's clock (for a deployment that keeps its own time): a `cutover
    /// serve` is then suspended through its maintenance switch at each phase start.
    #[arg(long)]
    pub no_clock_sync: bool,
    /// The target keeps real time: do not set its clock, and read the instants it states
    /// (reopening, visibility, acceptance) as wall-clock times re-based onto the timeline.
    /// Its suspension is switched at each phase start by the profile's `switch` (or hooks).
    #[arg(long)]
    pub rebase_now: bool,
    /// Target profile: how the contract's operations map onto the target's API (default:
    /// the bundled contract, profiles/contract-v1.json); for a cutover, the old system's.
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// The new system's profile (default: the bundled contract).
    #[arg(long, requires = "new")]
    pub new_profile: Option<PathBuf>,
    /// Admin token for the clock call (also CUTOVER_ADMIN_TOKEN).
    #[arg(long)]
    pub admin_token: Option<String>,
    /// Run although the target, a `cutover serve`, runs another scenario's rules (without
    /// it the run stops before the load, exit code 2).
    #[arg(long)]
    pub allow_other_scenario: bool,
    /// Seconds to wait for answers in flight after the end or Ctrl-C.
    #[arg(long, default_value_t = 5.0)]
    pub drain_seconds: f64,
    /// No progress display.
    #[arg(long)]
    pub quiet: bool,
    /// Send one shard of the rehearsal: `I/N` (shard I of N, from 0), or `N` alone with I
    /// from `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job). Each payer's whole story goes
    /// to one shard; the N shards together send the run's requests, `--connections` and
    /// `--queue-bound` being the rehearsal's totals. A shard writes `part.json` in `--out`
    /// instead of a report: `cutover merge` makes the one report and verdict of all of them.
    #[arg(long, conflicts_with_all = ["dry_run", "probe", "model"])]
    pub shard: Option<String>,
    /// The instant the rehearsal's timeline starts (RFC 3339, or Unix seconds): shards of one
    /// rehearsal share it, so their compressed clocks agree (required with more than one
    /// shard). A shard ready after it starts late and says so; one ready before waits.
    #[arg(long, conflicts_with_all = ["dry_run", "probe"])]
    pub start_at: Option<String>,
    /// With --shard: a directory every shard of the rehearsal reaches (default: the parent of
    /// --out), where they tell each other a stop (`--abort-early` on the sum of their counts)
    /// and a conditional rollback's figures (shard 0 decides on all of them).
    #[arg(long, requires = "shard")]
    pub shared_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' output directories (each holding the `part.json` and `journal.jsonl` a
    /// `run --shard` wrote), or directories holding those directories.
    #[arg(required = true)]
    pub parts: Vec<PathBuf>,
    /// Where the merged report goes (default: reports/<scenario>-merged).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The target whose books the merged result is reconciled against (default: the one the
    /// shards sent to).
    #[arg(long, conflicts_with = "old")]
    pub target: Option<String>,
    /// A cutover's old system (default: the shards').
    #[arg(long, requires = "new")]
    pub old: Option<String>,
    /// A cutover's new system (default: the shards').
    #[arg(long, requires = "old")]
    pub new: Option<String>,
    /// Target profile (default: the shards').
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// The new system's profile (default: the shards').
    #[arg(long)]
    pub new_profile: Option<PathBuf>,
    /// PEM certificates to trust for https:// targets (default: the shards').
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Admin token for the books (also CUTOVER_ADMIN_TOKEN).
    #[arg(long)]
    pub admin_token: Option<String>,
    /// Language of summary.md and report.html.
    #[arg(long, value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
    /// Also write the gates as JUnit XML to this file.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Also write HdrHistogram interval logs into this directory.
    #[arg(long)]
    pub hlog: Option<PathBuf>,
    /// What goes to standard output: the short summary, or the whole report as JSON.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}
