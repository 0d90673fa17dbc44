//! Scenario files: loading, validation with field paths, and compilation into
//! a [`Spec`] that the rest of the crate uses.
//!
//! Loading runs in three passes so that one run lists every problem at once:
//! 1. JSON syntax (line and column);
//! 2. structure against the JSON Schema derived from [`types::Scenario`]
//!    (unknown fields get the closest valid name suggested);
//! 3. meaning (instants in order, shares summing to one, references to
//!    channels and leagues that exist, sizes within the tool's limits).
//!
//! Nothing here does I/O except [`load`], which reads the file.

mod compile;
pub(crate) use compile::expected_active;
mod dues;
mod expect;
mod raw;
pub(crate) mod types;
mod validate;

pub(crate) use compile::compile;
pub use dues::DuesSpec;
pub use expect::ExpectationSpec;
pub(crate) use expect::MINUTES_PER_DAY;
pub use raw::RawScenario;
pub use types::*;
pub(crate) use validate::Problem;

use crate::time::{Calendar, SimTime};
use std::path::Path;

/// Most payers (all groups together) a scenario may describe. The population is
/// generated lazily, but the engine keeps state for every active payer and the
/// population report walks all of them; this bound keeps a run within a few GiB.
pub(crate) const MAX_PAYERS: u64 = 100_000_000;
/// Most payers active during the timeline (the engine holds one state each).
pub(crate) const MAX_ACTIVE_PAYERS: u64 = 20_000_000;
/// Largest single amount in fen (one hundred million yuan).
pub(crate) const MAX_AMOUNT_FEN: i64 = 10_000_000_000;

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The cause is part of the message, not a source: printed once.
    #[error("{file}: cannot read: {cause}")]
    Read { file: String, cause: std::io::Error },
    #[error("{file}:{line}:{column}: invalid JSON: {message}")]
    Syntax { file: String, line: usize, column: usize, message: String },
    #[error("{file}: {} problem{}:\n{}", problems.len(), if problems.len() == 1 { "" } else { "s" }, format_problems(problems))]
    Invalid { file: String, problems: Vec<Problem> },
}

fn format_problems(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
}

/// The JSON Schema of the scenario format, as a JSON value.
pub fn schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Scenario);
    // A derived schema always serializes.
    serde_json::to_value(&schema).expect("schema serializes")
}

/// Read, validate and compile a scenario file.
pub fn load(path: &Path) -> Result<Spec, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|cause| ScenarioError::Read { file: file.clone(), cause })?;
    parse(&file, &text)
}

fn json(file: &str, text: &str) -> Result<serde_json::Value, ScenarioError> {
    serde_json::from_str(text).map_err(|e| ScenarioError::Syntax {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// Validate and compile scenario text; `file` names it in messages.
pub fn parse(file: &str, text: &str) -> Result<Spec, ScenarioError> {
    let value = json(file, text)?;
    let (mut problems, repaired) = validate::structural(&value);
    if !problems.is_empty() {
        // Unknown fields only: check the rest of the file too, so that one pass names
        // every problem (a field that is not there cannot be the cause of another one).
        if let Some(rest) = repaired.and_then(|v| serde_json::from_value::<Scenario>(v).ok())
            && let Err(more) = compile(rest)
        {
            problems.extend(more);
        }
        return Err(ScenarioError::Invalid { file: file.to_string(), problems });
    }
    let scenario: Scenario = serde_path_to_error::deserialize(&value).map_err(|e| ScenarioError::Invalid {
        file: file.to_string(),
        problems: vec![Problem::new(e.path().to_string(), e.inner().to_string())],
    })?;
    compile(scenario).map_err(|problems| ScenarioError::Invalid { file: file.to_string(), problems })
}

/// Index of a channel in [`Spec::channels`].
pub(crate) type ChannelIdx = u8;

/// A validated scenario with instants resolved and names turned into indices.
#[derive(Clone, Debug)]
pub struct Spec {
    pub raw: Scenario,
    pub start: SimTime,
    pub end: SimTime,
    pub notice_published: SimTime,
    pub calendar: Calendar,
    pub phases: Vec<PhaseSpec>,
    pub staged: Vec<StagedSpec>,
    pub leagues: Vec<LeagueSpec>,
    pub channels: Vec<ChannelSpec>,
    pub batches: Vec<BatchSpec>,
    /// The scenario's gates, names resolved to indices.
    pub gates: Vec<GateSpec>,
    /// The runbook's hooks in the order they fall due.
    pub hooks: Vec<HookSpec>,
    /// Due dates and how payers time their payment against them; `None`: no due pressure.
    pub dues: Option<DuesSpec>,
    /// The scenario's expectations, for the calibration table.
    pub expectations: Vec<ExpectationSpec>,
    /// Who calls the hotline; `None`: nobody.
    pub hotline: Option<HotlineSpec>,
    /// Two systems and what crosses the switch; `None`: one system for the whole timeline.
    pub cutover: Option<CutoverSpec>,
}

/// Which system (index into [`CutoverSpec::systems`]; 0 with one system).
pub(crate) type SystemIdx = u8;
pub(crate) const OLD: SystemIdx = 0;
pub(crate) const NEW: SystemIdx = 1;

/// The compiled `cutover` section.
#[derive(Clone, Debug)]
pub struct CutoverSpec {
    /// The old system, then the new one.
    pub systems: [SystemSpec; 2],
    pub migration: Option<MigrationSpec>,
    /// Chance that an answer is lost, `lost[phase * channels + channel]`.
    pub lost: Vec<f64>,
    /// Cumulative weights of what a payer does after a lost answer: same key, new order,
    /// switch channel, look up first.
    pub after_lost: [f64; 4],
    pub lost_answer_delay_seconds: Dist,

    pub withheld_pay_by_hand_share: f64,
    /// The instants a channel (or the old system) stops, in time order.
    pub stops: Vec<StopSpec>,
    /// The rollback rehearsal: the phase that suspends payment again, and why.
    pub rollback: Option<RollbackSpec>,
}

#[derive(Clone, Debug)]
pub struct SystemSpec {
    pub name: String,
    pub opens: Option<SimTime>,
    pub stops: Option<SimTime>,
    /// `channels[c]`: channel `c` belongs to this system.
    pub channels: Vec<bool>,
    pub business_dedup: bool,
    pub refund_duplicates: bool,
    pub hide_visible_at: bool,
    pub key_ttl_micros: Option<i64>,
    pub id_base: u64,
    pub registered_payers_only: bool,
}

/// A rollback rehearsal: phase `phase` suspends payment again, always (no gates) or if a
/// gate of `when` fails at `decide_at`.
#[derive(Clone, Debug)]
pub struct RollbackSpec {
    pub phase: usize,
    pub reason: String,
    /// Gates over the phases from the new system's opening to the one before `phase`.
    pub when: Vec<GateSpec>,
    pub decide_at: SimTime,
}

impl RollbackSpec {
    /// Whether a gate decides it (else it always happens).
    pub fn conditional(&self) -> bool {
        !self.when.is_empty()
    }
}

#[derive(Clone, Debug)]
pub struct MigrationSpec {
    pub at: SimTime,
    pub batch_size: u32,
}

/// An instant where channels stop taking payments: requests in flight across it are caught.
#[derive(Clone, Debug)]
pub struct StopSpec {
    pub at: SimTime,
    /// What stops, in words: a phase's name, or the old system.
    pub what: String,
    /// The phase that starts here, closing channels.
    pub phase: Option<String>,
    /// The system that stops here.
    pub system: Option<String>,
    /// `channels[c]`: channel `c` stops here.
    pub channels: Vec<bool>,
}

impl CutoverSpec {
    /// The system a payer reaches through channel `c` at `t`: the new one from its opening
    /// on (if the channel is its), the old one before (if the channel is its).
    pub(crate) fn system_for(&self, c: ChannelIdx, t: SimTime) -> SystemIdx {
        let [old, new] = &self.systems;
        let owns = |s: &SystemSpec| s.channels.get(c as usize).copied().unwrap_or(false);
        let new_open = new.opens.is_none_or(|o| t >= o);
        if (new_open && owns(new)) || !owns(old) { NEW } else { OLD }
    }

    /// The chance that the answer to a request on channel `c` started in `phase` is lost.
    pub(crate) fn lost_probability(&self, phase: usize, c: ChannelIdx, channels: usize) -> f64 {
        self.lost.get(phase * channels + c as usize).copied().unwrap_or(0.0)
    }
}

/// A gate: a metric over a selection of cells, and its bound. `None` selects all.
#[derive(Clone, Debug, PartialEq)]
pub struct GateSpec {
    pub metric: GateMetric,
    pub operation: Option<Operation>,
    pub channel: Option<ChannelIdx>,
    pub phase: Option<usize>,
    /// Gates per day: the local day number selected.
    pub day: Option<i64>,
    /// Gates per day: the kind of channel selected.
    pub kind: Option<ChannelKind>,
    /// backlog_cleared_hours: the share of the displaced payers.
    pub share: f64,
    /// auditor_disagreements: the one kind counted, by its name in the report.
    pub disagreement: Option<String>,
    /// Passes with nothing measured.
    pub allow_empty: bool,
    /// The run fails when the measured value is greater than this.
    pub max: f64,
    /// backlog_cleared_hours given `by`: the instant, the bound then being the hours from
    /// the reopening to it (`max` is 0 until measured).
    pub by: Option<SimTime>,
}

/// A runbook action when a phase starts.
#[derive(Clone, Debug, PartialEq)]
pub struct HookSpec {
    /// Index into [`Spec::phases`].
    pub phase: usize,
    /// When it falls due: the phase's start, or the timeline's if the phase began before it.
    pub at: SimTime,
    pub action: HookAction,
    pub timeout_seconds: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum HookAction {
    /// A program and its arguments (no shell).
    Command(Vec<String>),
    Http {
        method: HookMethod,
        url: String,
        body: Option<serde_json::Value>,
    },
}

impl HookAction {
    /// What the report calls it.
    pub fn describe(&self) -> String {
        match self {
            HookAction::Command(argv) => argv.join(" "),
            HookAction::Http { method, url, .. } => format!("{} {url}", method.as_str()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookMethod {
    Get,
    Post,
    Put,
    Delete,
}

impl HookMethod {
    pub const ALL: [HookMethod; 4] = [HookMethod::Get, HookMethod::Post, HookMethod::Put, HookMethod::Delete];
    pub fn as_str(self) -> &'static str {
        match self {
            HookMethod::Get => "GET",
            HookMethod::Post => "POST",
            HookMethod::Put => "PUT",
            HookMethod::Delete => "DELETE",
        }
    }
}

#[derive(Clone, Debug)]
pub struct PhaseSpec {
    pub name: String,
    pub start: SimTime,
    pub end: SimTime,
    /// `closed[c]`: channel `c` refuses payments in this phase.
    pub closed: Vec<bool>,
}

#[derive(Clone, Debug)]
pub struct StagedSpec {
    pub groups: Vec<GroupKind>,
    /// `leagues[l]`: league `l` is concerned.
    pub leagues: Vec<bool>,
    pub from: SimTime,
    pub opens: SimTime,
}

/// `s` as a JSON string: quoted and escaped.
pub(crate) fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

#[derive(Clone, Debug)]
pub struct LeagueSpec {
    pub name: String,
    /// `name` as a JSON string (quoted, escaped), for writers on the hot path.
    pub name_json: String,
    pub population: u64,
    pub offline_factor: f64,
}

#[derive(Clone, Debug)]
pub struct ChannelSpec {
    pub id: String,
    /// `id` as a JSON string (quoted, escaped), for writers on the hot path.
    pub id_json: String,
    pub name: String,
    pub kind: ChannelKind,
    /// Share of each group's attempts, per league (`share[league][group]`), renormalised
    /// after the league's offline factor.
    pub share: Vec<[f64; 5]>,
    pub open_days: OpenDays,
    /// Opening intervals in microseconds since local midnight; empty = always open.
    pub hours: Vec<(i64, i64)>,
    /// Servers per league (offline channels); `None` = no queue at the channel.
    pub servers: Option<Vec<u32>>,
    pub holiday_capacity: f64,
    pub service_seconds: Dist,
    /// Hotline: how long a caller waits before hanging up; `None`: as long as it takes.
    pub patience_seconds: Option<Dist>,
    /// Share of each group's assessments done here (`[group]`); all 0 for a payment channel.
    pub assessment_share: [f64; 5],
    /// Share of visitors who book a slot (counters only).
    pub appointment_share: f64,
    /// Payers look records up here (compiled from `lookups`: online channels by default).
    pub lookups: bool,
}

/// The hotline calls of `behaviour.hotline`, compiled.
#[derive(Clone, Debug)]
pub struct HotlineSpec {
    pub channel: ChannelIdx,
    pub after_suspended: f64,
    pub after_no_record: f64,
    pub after_turned_away: f64,
    pub after_refused: f64,
    pub redial_share: f64,
    pub redial_delay_seconds: Dist,
}

#[derive(Clone, Debug)]
pub struct BatchSpec {
    pub name: String,
    pub channel: ChannelIdx,
    pub group: GroupKind,
    pub runs: Vec<SimTime>,
    pub concurrency: u32,
    /// Debits are special payments against an assessment made at the run.
    pub assessed: bool,
}

/// FNV-1a (64 bits) of `bytes`, as 16 hex digits.
fn fnv_hex(bytes: &[u8]) -> String {
    format!("{:016x}", crate::hash::fnv1a(bytes))
}

impl Spec {
    /// A digest of the scenario's content (16 hex digits, FNV-1a over its canonical JSON):
    /// the same scenario gives the same digest whatever its file's layout.
    pub fn digest(&self) -> String {
        // Serializing the scenario's plain data cannot fail.
        fnv_hex(&serde_json::to_vec(&self.raw).unwrap_or_default())
    }

    /// A digest of what the reference model decides by (the phases' starts and closed
    /// channels, staged reopenings, channel ids, league names, the calendar, the working
    /// days until a record is visible), so that two scenarios that differ only in
    /// population, demand, the timeline's end or gates have the same rules digest.
    pub fn rules_digest(&self) -> String {
        use std::fmt::Write as _;
        let mut t = String::new();
        let ids = |closed: &[bool]| -> Vec<&str> {
            closed.iter().zip(&self.channels).filter(|(c, _)| **c).map(|(_, ch)| ch.id.as_str()).collect()
        };
        for p in &self.phases {
            let _ = writeln!(t, "phase {} {} {:?}", p.name, p.start.0, ids(&p.closed));
        }
        for s in &self.staged {
            let leagues: Vec<&str> = s.leagues.iter().zip(&self.leagues).filter(|(on, _)| **on).map(|(_, l)| l.name.as_str()).collect();
            let groups: Vec<&str> = s.groups.iter().map(|g| g.as_str()).collect();
            let _ = writeln!(t, "staged {} {} {groups:?} {leagues:?}", s.from.0, s.opens.0);
        }
        let channels: Vec<&str> = self.channels.iter().map(|c| c.id.as_str()).collect();
        let leagues: Vec<&str> = self.leagues.iter().map(|l| l.name.as_str()).collect();
        let c = &self.calendar;
        let _ = writeln!(t, "channels {channels:?}\nleagues {leagues:?}");
        let _ = writeln!(t, "calendar {} {:?} {:?} {:?}", c.offset, c.holidays(), c.makeup_workdays(), c.weekend());
        let _ = writeln!(t, "visible after {} working days", self.raw.behaviour.record_visible_working_days);
        if let Some(x) = &self.cutover {
            for s in &x.systems {
                let _ = writeln!(
                    t,
                    "system {} {:?} {:?} {:?} {} {} {:?} {}",
                    s.name,
                    s.opens.map(|o| o.0),
                    s.stops.map(|o| o.0),
                    ids(&s.channels),
                    s.business_dedup,
                    s.hide_visible_at,
                    s.key_ttl_micros,
                    s.id_base
                );
            }
        }
        fnv_hex(t.as_bytes())
    }

    /// The system a request on channel `c` started at `t` goes to.
    pub(crate) fn system_for(&self, c: ChannelIdx, t: SimTime) -> SystemIdx {
        self.cutover.as_ref().map_or(OLD, |x| x.system_for(c, t))
    }

    /// Names of the systems (one: "system").
    pub(crate) fn system_names(&self) -> Vec<&str> {
        match &self.cutover {
            Some(x) => x.systems.iter().map(|s| s.name.as_str()).collect(),
            None => vec!["system"],
        }
    }

    pub fn channel_index(&self, id: &str) -> Option<ChannelIdx> {
        self.channels.iter().position(|c| c.id == id).map(|i| i as ChannelIdx)
    }
    /// Index of the phase holding `t` (the first phase for instants before it).
    pub fn phase_at(&self, t: SimTime) -> usize {
        match self.phases.binary_search_by(|p| p.start.cmp(&t)) {
            Ok(i) => i,
            Err(0) => 0,
            Err(i) => i - 1,
        }
    }
    pub fn hours_total(&self) -> usize {
        ((self.end.0 - self.start.0 + crate::time::MICROS_PER_HOUR - 1) / crate::time::MICROS_PER_HOUR) as usize
    }
    pub fn total_payers(&self) -> u64 {
        let g = &self.raw.population.groups;
        g.unit.count + g.flexible.count + g.resident_pension.count + g.resident_medical.count + g.proxy.count
    }
    /// Relative weight of local `day` for a first attempt on channel `c`: the behaviour's
    /// weight for the kind of day, zero when the channel is closed that day, scaled by the
    /// holiday capacity on holidays.
    pub fn first_attempt_day_weight(&self, c: ChannelIdx, day: i64) -> f64 {
        use crate::time::DayKind;
        let b = &self.raw.behaviour.day_weights;
        let ch = &self.channels[c as usize];
        let kind = self.calendar.kind_of_day(day);
        let w = match kind {
            DayKind::Working => b.working,
            DayKind::Weekend => b.weekend,
            DayKind::Holiday => b.holiday,
        };
        match (ch.open_days, kind) {
            (OpenDays::AllDays, _) | (OpenDays::WorkingDays, DayKind::Working) => w,
            (OpenDays::WorkingDays, DayKind::Holiday) => w * ch.holiday_capacity,
            (OpenDays::WorkingDays, DayKind::Weekend) => 0.0,
        }
    }

    /// Whether a channel is open (opening hours and days, not suspension) at `t`.
    /// The end of channel `c`'s opening interval holding `t` (`None`: open all day, or not
    /// open at `t`).
    pub fn closing_at(&self, c: ChannelIdx, t: SimTime) -> Option<SimTime> {
        let ch = &self.channels[c as usize];
        if ch.hours.is_empty() || !self.channel_serves_at(c, t) {
            return None;
        }
        let tod = self.calendar.time_of_day_micros(t);
        let &(_, b) = ch.hours.iter().find(|&&(a, b)| tod >= a && tod < b)?;
        Some(t.plus_micros(b - tod))
    }

    pub fn channel_serves_at(&self, c: ChannelIdx, t: SimTime) -> bool {
        let ch = &self.channels[c as usize];
        let day = self.calendar.local_day(t);
        let kind = self.calendar.kind_of_day(day);
        let day_ok = match (ch.open_days, kind) {
            (_, crate::time::DayKind::Holiday) => ch.holiday_capacity > 0.0,
            (OpenDays::AllDays, _) => true,
            (OpenDays::WorkingDays, crate::time::DayKind::Working) => true,
            (OpenDays::WorkingDays, crate::time::DayKind::Weekend) => false,
        };
        if !day_ok {
            return false;
        }
        if ch.hours.is_empty() {
            return true;
        }
        let tod = self.calendar.time_of_day_micros(t);
        ch.hours.iter().any(|&(a, b)| tod >= a && tod < b)
    }
}
