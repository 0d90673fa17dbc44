//! The `live` section of a run's report (`cutover run`): report types only; the live
//! driver fills them.

use crate::report::Latency;
use crate::scenario::Operation;
use crate::vocabulary::{AnswerKind, ErrorKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The sending threads chosen for the plan's rate (`run` without `--threads`): one per
/// `per_thread` first attempts in the busiest second, at least one, at most `cores`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ThreadsChosen {
    /// First attempts the plan puts in its busiest second of real time at the run's time scale.
    pub busiest_second: u64,
    /// First attempts a second one thread is planned for.
    pub per_thread: u64,
    /// The cores the process could use.
    pub cores: usize,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct LiveReport {
    /// The run's name (`--run-id`, else its start and process id): part of every idempotency
    /// key it made, and a hook's `{run}`.
    pub run_id: String,
    pub target: String,
    pub transport: String,
    pub time_scale: f64,
    pub connections: usize,
    /// Threads that sent requests, each with its share of the payers and connections.
    pub threads: usize,
    /// How the threads were chosen, when `--threads` was not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads_chosen: Option<ThreadsChosen>,
    pub queue_bound: usize,
    pub interrupted: bool,
    /// The timeline's instant the load reached: its end, or where Ctrl-C or an abort stopped
    /// it (what lies beyond is not reached, not lost).
    pub reached: String,
    /// Why the load was stopped early (`--abort-early`): the run fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aborted: Option<String>,
    /// A rehearsal sent by several generators (`run --shard`), merged by `cutover merge`:
    /// which shards the account holds, which are missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<ShardsReport>,
    pub wall_seconds: f64,
    pub requests_completed: u64,
    pub requests_per_second: f64,
    /// CPU time of the driver process while sending (Linux /proc; null elsewhere).
    pub client_cpu_seconds: Option<f64>,
    pub client_cpu_micros_per_request: Option<f64>,
    /// From each request's scheduled instant to its answer (coordinated omission corrected).
    pub response_time_ms: Latency,
    /// From the actual send to the answer.
    pub service_time_ms: Latency,
    /// The response times' whole distribution: the value at each of 18 percentiles, from
    /// the minimum (0) through the tail to the maximum (100).
    pub response_time_distribution: Vec<crate::report::Quantile>,
    /// The service times' distribution at the same percentiles.
    pub service_time_distribution: Vec<crate::report::Quantile>,
    /// Arrivals refused by the driver because its queue was full (counted, never dropped).
    pub not_sent: u64,
    /// Round trip of the call that set the target's clock (None: not set by the run).
    pub clock_sync_round_trip_ms: Option<f64>,
    /// Real time by which the auditor widens each request's window (5 ms plus that round trip).
    pub audit_margin_ms: f64,
    pub errors_by_kind: BTreeMap<ErrorKind, u64>,
    /// How late the driver itself started requests against their instants, apart from the
    /// target's latency.
    pub driver_lateness: DriverLateness,
    /// Every answer counted in `errors_by_kind`, by phase × channel × operation × system, with
    /// what the wire showed: the rows' counts add up to `errors_by_kind`'s.
    pub failures: Vec<FailureRow>,
    pub journal: JournalReport,
    pub reconciliation: Reconciliation,
    pub audit: AuditReport,
    pub hooks: Vec<HookReport>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct JournalReport {
    pub path: String,
    pub accepted: u64,
    pub unknown: u64,
}

#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct Reconciliation {
    /// Distinct payments acknowledged as accepted.
    pub acknowledged: u64,
    /// Whether every acknowledged and unknown key was looked up one by one.
    pub checked_by_key: bool,
    /// Acknowledged payments the target does not hold.
    pub lost: u64,
    pub lost_keys: Vec<String>,
    /// Every lost key (`lost_keys` keeps the first 20), for the wrong payments' file.
    #[serde(skip)]
    #[schemars(skip)]
    pub lost_every: Vec<String>,
    /// Payments whose answer never came (timeouts, resets) and no retry settled.
    pub unknown: u64,
    pub unknown_present: u64,
    pub unknown_absent: u64,
    /// Entries in the target's ledger.
    pub ledger_entries: u64,
    /// Ledger entries beyond every acknowledged or found payment: phantoms or duplicates.
    pub phantoms_or_duplicates: u64,
    pub read_error: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HookReport {
    pub phase: String,
    pub action: String,
    pub due_at: String,
    /// Real seconds after the run's start that the action began.
    pub started_after_seconds: f64,
    pub duration_ms: f64,
    /// It ran and succeeded (`state` is `ok`).
    pub ok: bool,
    pub state: HookState,
    pub outcome: String,
}

impl HookReport {
    /// An action that did not run (`state`: not needed or not reached), and why.
    pub fn not_run(phase: String, action: String, due_at: String, state: HookState, why: &str) -> HookReport {
        HookReport { phase, action, due_at, started_after_seconds: 0.0, duration_ms: 0.0, ok: false, state, outcome: why.into() }
    }
}

/// The shards of a rehearsal merged into one account (`cutover merge`).
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct ShardsReport {
    /// How many shards the rehearsal was split into.
    pub of: usize,
    /// Each shard merged, by index.
    pub merged: Vec<ShardRow>,
    /// Shards of which no part was found (never started, killed, or its directory not
    /// given): their payers' requests are not in the account, so nothing is judged as if
    /// they were, and the verdict is INCOMPLETE.
    pub missing: Vec<usize>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct ShardRow {
    pub shard: usize,
    /// Where its part was read.
    pub part: String,
    pub requests_completed: u64,
    /// How much later than the shared start instant the shard started sending (real seconds;
    /// 0 when it was ready in time).
    pub late_by_seconds: f64,
    pub interrupted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aborted: Option<String>,
}

/// How a hook ended: only a hook that ran and failed counts against the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HookState {
    Ok,
    Failed,
    /// Not run because nothing needed it: the in-process systems migrate themselves, a
    /// rollback the gates did not call for.
    NotNeeded,
    /// Not run: the run ended before it was due.
    NotReached,
}

impl HookState {
    /// As the hooks table says it in English (`report.json` writes `ok`, `failed`,
    /// `not_needed`, `not_reached`).
    pub fn label(self) -> &'static str {
        match self {
            HookState::Ok => "ok",
            HookState::Failed => "FAILED",
            HookState::NotNeeded => "not needed",
            HookState::NotReached => "not reached",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            HookState::Ok => "成功",
            HookState::Failed => "失败",
            HookState::NotNeeded => "不需要",
            HookState::NotReached => "未到时间",
        }
    }
}

/// Disagreements kept with their request, earliest first.
pub(crate) const KEPT: usize = 20;

#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Disagreement {
    pub kind: DisagreementKind,
    pub at: String,
    pub operation: Operation,
    pub channel: String,
    pub payer_id: u32,
    pub expected: AnswerKind,
    pub got: AnswerKind,
}

/// How an answer disagrees with the reference model's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DisagreementKind {
    /// Refused as suspended while the channel was open all through the request's window.
    RefusedWhileOpen,
    /// Accepted while the channel was closed all through the window.
    AcceptedWhileSuspended,
    /// Any other decision while closed all through the window.
    AnsweredWhileSuspended,
    /// A decision other than the model's.
    Wrong { expected: AnswerKind, got: AnswerKind },
}

impl DisagreementKind {
    /// Its name in `report.json` (`expected_X_got_Y` for a wrong decision).
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match self {
            DisagreementKind::RefusedWhileOpen => "refused_while_open".into(),
            DisagreementKind::AcceptedWhileSuspended => "accepted_while_suspended".into(),
            DisagreementKind::AnsweredWhileSuspended => "answered_while_suspended".into(),
            DisagreementKind::Wrong { expected, got } => format!("expected_{}_got_{}", expected.as_str(), got.as_str()).into(),
        }
    }
}

crate::vocabulary::by_name!(DisagreementKind => name);
crate::vocabulary::from_name!(DisagreementKind => name, DisagreementKind::all());

impl DisagreementKind {
    /// Every kind.
    fn all() -> Vec<DisagreementKind> {
        let kinds = AnswerKind::all();
        let wrong = kinds.iter().flat_map(|&expected| kinds.iter().map(move |&got| DisagreementKind::Wrong { expected, got }));
        [DisagreementKind::RefusedWhileOpen, DisagreementKind::AcceptedWhileSuspended, DisagreementKind::AnsweredWhileSuspended]
            .into_iter()
            .chain(wrong)
            .collect()
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditReport {
    pub checked: u64,
    pub disagreements: u64,
    pub by_kind: BTreeMap<DisagreementKind, u64>,
    /// Look-ups and certificates a deployment keeping real time (`--rebase-now`) answered
    /// "no record" or "not yet visible" where the model, in the run's compressed time, shows
    /// the record: the deployment's visibility delay runs in real time, `time_scale` times
    /// slower than the model's. Counted apart, not as disagreements (a lost payment is still
    /// found by the reconciliation, key by key); 0 in any other run.
    pub visibility_in_real_time: u64,
    /// Payments refused as already paid while another payment of the same payer was in
    /// flight: the deployment may have decided that one first, whatever order the answers
    /// came back in, so neither answer is judged against the other's (the shadow takes the
    /// other when it is answered; a second refusal, or a second acceptance, is still judged).
    /// Counted apart, not as disagreements.
    pub already_paid_while_another_in_flight: u64,
    pub first: Vec<Disagreement>,
}

/// The answers of one phase × channel × operation × system counted as errors, with what the
/// wire showed.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct FailureRow {
    pub phase: String,
    pub channel: String,
    pub operation: Operation,
    /// The system the requests went to (`system` with one).
    pub system: String,
    /// The request as the deployment's API writes it: the method and the path template (ids
    /// as placeholders, no query); `-` for requests that never crossed a wire.
    pub method: String,
    pub path: String,
    pub count: u64,
    pub by_kind: BTreeMap<ErrorKind, u64>,
    /// By HTTP status (`"404"`), `"none"` where no answer came (a timeout, a refused or reset
    /// connection, a request never sent).
    pub by_status: BTreeMap<String, u64>,
    /// The first few distinct answers (at most 3): their kind, status and body (at most 300
    /// characters, secrets redacted).
    pub samples: Vec<FailureSample>,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct FailureSample {
    pub kind: ErrorKind,
    pub status: Option<u16>,
    pub body: String,
    /// When no answer came: what the client said of the exchange's end (the socket's error, a
    /// malformed answer, the TLS layer's complaint), secrets redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How late the driver itself started each request against its intended instant (its own
/// busy or sleeping thread, not the connection pool or the queue bound, which the target's
/// slowness causes). Past `bound_ms` at the 99th percentile, the response times of the cells
/// it touched carry the driver's lateness: `late`, the cells marked, a note in the verdict.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct DriverLateness {
    pub bound_ms: f64,
    /// How late the driver was allowed to send while requests fell due close together, so
    /// that one wake-up sent several (`run --slack-us`; 0: each at its instant).
    pub slack_ms: f64,
    pub late: bool,
    pub ms: Latency,
    /// Per phase × channel with requests, in the scenario's order.
    pub cells: Vec<LatenessRow>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct LatenessRow {
    pub phase: String,
    pub channel: String,
    pub requests: u64,
    pub ms: Latency,
}
