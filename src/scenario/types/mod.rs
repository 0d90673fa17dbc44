//! Serde types of a scenario file (`scenarios/*.json`).
//!
//! These types are the file format: every field is documented in
//! `scenarios/README.md`, and `cutover schema` prints the JSON Schema derived
//! from them. Unknown fields are refused (`deny_unknown_fields`). Money is
//! integer fen; shares and rates are fractions in 0.0..=1.0; durations carry
//! their unit in the field name.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod cutover;
pub use cutover::*;
mod dues;
pub use dues::*;
mod expect;
pub use expect::*;
mod gates;
pub use gates::*;

/// Where a number comes from (see `docs/domain.md`): **S** seen in a
/// published source, **R** a national rule recalled, **E** an estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Source {
    S,
    R,
    E,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::S => "S",
            Source::R => "R",
            Source::E => "E",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Where an editor finds the schema (`cutover schema > scenario.schema.json`); ignored.
    #[serde(default, rename = "$schema", skip_serializing_if = "Option::is_none")]
    pub json_schema: Option<String>,
    /// Short name, printed in reports.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Master seed used when `--seed` is not given.
    #[serde(default)]
    pub seed: u64,
    pub timeline: Timeline,
    pub population: Population,
    pub channels: Vec<Channel>,
    pub behaviour: Behaviour,
    #[serde(default)]
    pub batches: Vec<Batch>,
    pub backend: Backend,
    #[serde(default)]
    pub gates: Vec<Gate>,
    /// Runbook actions at phase boundaries, run by `cutover run` (`simulate` runs none).
    #[serde(default)]
    pub hooks: Vec<Hook>,
    /// Defaults for `cutover run`.
    #[serde(default)]
    pub run: RunDefaults,
    /// Two systems, the old and the new, and what crosses the switch (absent: one system).
    #[serde(default)]
    pub cutover: Option<Cutover>,
    /// When each group's fees fall due and how payers time their payment against it
    /// (absent: first attempts by the day weights alone).
    #[serde(default)]
    pub dues: Option<Dues>,
    /// Figures the scenario's sources expect, set beside the run's in the report's
    /// calibration table.
    #[serde(default)]
    pub expectations: Vec<Expectation>,
    /// What one unit of a resource costs, by the path `cutover sweep --vary` names it
    /// (`backend.concurrency`, `channels.hall_cash.servers`): a sweep adds up each
    /// combination's cost and names the cheapest that passes every gate.
    #[serde(default)]
    pub costs: std::collections::BTreeMap<String, f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunDefaults {
    /// Virtual seconds per real second when `--time-scale` is not given.
    #[serde(default = "default_time_scale")]
    pub time_scale: f64,
}

impl Default for RunDefaults {
    fn default() -> Self {
        RunDefaults { time_scale: default_time_scale() }
    }
}

fn default_time_scale() -> f64 {
    1440.0
}

/// An action taken when a phase starts: run a command or call an HTTP endpoint.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    /// Name of the phase whose start triggers the action.
    pub phase: String,
    /// Program and arguments (no shell). Exactly one of `command` and `http`.
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub http: Option<HookHttp>,
    /// The action is stopped and reported as failed after this long.
    #[serde(default = "hook_timeout")]
    pub timeout_seconds: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HookHttp {
    /// GET, POST, PUT or DELETE.
    pub method: String,
    /// An http:// URL.
    pub url: String,
    /// Optional JSON body.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
}

fn hook_timeout() -> f64 {
    30.0
}

// ---------------------------------------------------------------- timeline

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timeline {
    /// First instant simulated (RFC 3339 with offset).
    pub start: String,
    /// End of the simulation (exclusive).
    pub end: String,
    /// Local fixed UTC offset, e.g. "+08:00".
    pub utc_offset: String,
    /// When the notice is published: payers who read it move payments out of the window
    /// only from this instant on.
    pub notice_published: String,
    /// Phases in time order; each lasts until the next one starts (the last until `end`).
    pub phases: Vec<Phase>,
    #[serde(default)]
    pub staged_reopening: Vec<StagedReopening>,
    pub calendar: CalendarSpec,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub name: String,
    /// The name people read in Chinese (`--lang zh`): summary.md and report.html show it in
    /// place of the identifier; absent, they show the identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_zh: Option<String>,
    pub start: String,
    /// Every payment channel is closed in this phase.
    #[serde(default)]
    pub suspend_all: bool,
    /// Channel ids closed in this phase (in addition to `suspend_all`).
    #[serde(default)]
    pub closed_channels: Vec<String>,
    pub source: Source,
    #[serde(default)]
    pub note: String,
}

/// After a phase opens, payers of these groups in these leagues stay closed until `opens`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StagedReopening {
    pub groups: Vec<GroupKind>,
    /// League names; empty means every league.
    #[serde(default)]
    pub leagues: Vec<String>,
    /// Start of the closure (RFC 3339).
    pub from: String,
    /// Instant these payers may pay again (RFC 3339).
    pub opens: String,
    pub source: Source,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// Weekday names that are rest days ("Sat", "Sun").
    pub weekend: Vec<String>,
    /// Public holidays (YYYY-MM-DD).
    pub holidays: Vec<String>,
    /// Weekend days made working days (YYYY-MM-DD).
    pub makeup_workdays: Vec<String>,
    pub source: Source,
}

// ---------------------------------------------------------------- population

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    Unit,
    Flexible,
    ResidentPension,
    ResidentMedical,
    Proxy,
}

impl GroupKind {
    pub const ALL: [GroupKind; 5] =
        [GroupKind::Unit, GroupKind::Flexible, GroupKind::ResidentPension, GroupKind::ResidentMedical, GroupKind::Proxy];
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::Unit => "unit",
            GroupKind::Flexible => "flexible",
            GroupKind::ResidentPension => "resident_pension",
            GroupKind::ResidentMedical => "resident_medical",
            GroupKind::Proxy => "proxy",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Insurance {
    Pension,
    Medical,
    Unemployment,
    WorkInjury,
    Supplementary,
    OccupationalAnnuity,
}

impl Insurance {
    pub const ALL: [Insurance; 6] = [
        Insurance::Pension,
        Insurance::Medical,
        Insurance::Unemployment,
        Insurance::WorkInjury,
        Insurance::Supplementary,
        Insurance::OccupationalAnnuity,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Insurance::Pension => "pension",
            Insurance::Medical => "medical",
            Insurance::Unemployment => "unemployment",
            Insurance::WorkInjury => "work_injury",
            Insurance::Supplementary => "supplementary",
            Insurance::OccupationalAnnuity => "occupational_annuity",
        }
    }
    /// Its name in the Chinese reports.
    pub fn label_zh(self) -> &'static str {
        match self {
            Insurance::Pension => "养老保险",
            Insurance::Medical => "医疗保险",
            Insurance::Unemployment => "失业保险",
            Insurance::WorkInjury => "工伤保险",
            Insurance::Supplementary => "补充医疗保险",
            Insurance::OccupationalAnnuity => "职业年金",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SpecialKind {
    CrossYearBackPayment,
    NearRetirement,
    IndividualMonths,
    BaseAdjustmentBackPayment,
    /// Paid by the government on someone's behalf.
    GovernmentBehalf,
    /// Not a special payment: a unit's contribution, assessed on its registered base.
    UnitContribution,
}

impl SpecialKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SpecialKind::CrossYearBackPayment => "cross_year_back_payment",
            SpecialKind::NearRetirement => "near_retirement",
            SpecialKind::IndividualMonths => "individual_months",
            SpecialKind::BaseAdjustmentBackPayment => "base_adjustment_back_payment",
            SpecialKind::GovernmentBehalf => "government_behalf",
            SpecialKind::UnitContribution => "unit_contribution",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Population {
    pub leagues: Vec<League>,
    /// Regional average monthly wage in fen; bases are drawn relative to it.
    pub average_wage_fen: i64,
    pub average_wage_source: Source,
    pub groups: Groups,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct League {
    pub name: String,
    /// The name people read in Chinese (`--lang zh`): summary.md and report.html show it in
    /// place of the identifier; absent, they show the identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_zh: Option<String>,
    /// Residents (2020 census); payers are spread over leagues in proportion.
    pub population: u64,
    /// Multiplier on offline channel shares here (then renormalised). 1.0 = regional mix.
    #[serde(default = "one")]
    pub offline_factor: f64,
    /// Source of `population`.
    pub source: Source,
    /// Source of `offline_factor`.
    #[serde(default = "estimate")]
    pub offline_factor_source: Source,
}

fn one() -> f64 {
    1.0
}

fn estimate() -> Source {
    Source::E
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Groups {
    pub unit: UnitGroup,
    pub flexible: FlexibleGroup,
    pub resident_pension: ResidentPensionGroup,
    pub resident_medical: ResidentMedicalGroup,
    pub proxy: ProxyGroup,
}

/// A contribution rate pair for one insurance type (fractions of the base).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub insurance: Insurance,
    pub unit_rate: f64,
    pub individual_rate: f64,
    /// Share of payers of the group that pay this insurance (1.0 = all).
    #[serde(default = "one")]
    pub share_of_payers: f64,
    pub source: Source,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightedChoice {
    pub value: f64,
    pub weight: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitGroup {
    /// Units (employers) with a fee account.
    pub count: u64,
    pub count_source: Source,
    /// Employees per unit: log-normal with this median and mean, capped at `max`.
    pub employees_median: f64,
    pub employees_mean: f64,
    pub employees_max: u32,
    pub employees_source: Source,
    /// Monthly contribution base per employee: floor and ceiling in fen.
    pub base_floor_fen: i64,
    pub base_ceiling_fen: i64,
    pub base_source: Source,
    pub rates: Vec<Rate>,
    /// Work-injury rate classes: `value` is the unit rate, `weight` the share of units.
    pub work_injury_classes: Vec<WeightedChoice>,
    pub work_injury_source: Source,
    /// Share of units that pay during the simulated timeline.
    /// Units pay only the agency's assessment of their contribution (registration and base
    /// assessment at the agencies, `channels[].assessment_share`), for the assessed amount.
    #[serde(default)]
    pub assessed: bool,
    pub active_share: f64,
    pub active_source: Source,
    /// The name people read in Chinese (`--lang zh`): summary.md and report.html show it in
    /// place of the identifier; absent, they show the identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_zh: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlexibleGroup {
    pub count: u64,
    pub count_source: Source,
    /// Pension rate applied to the chosen base.
    pub pension_rate: f64,
    pub pension_rate_source: Source,
    /// Chosen base as a fraction of the average wage (`value`) with weights.
    pub base_tiers: Vec<WeightedChoice>,
    /// Months covered by one payment (`value`: 1, 3, 6, 12) with weights.
    pub period_months: Vec<WeightedChoice>,
    pub tiers_source: Source,
    /// Share of flexible employees debited by bank batch withholding (see `batches`).
    pub withholding_share: f64,
    pub withholding_source: Source,
    /// Share of self-paying flexible employees that pay during the timeline.
    pub active_share: f64,
    /// Share of payments that are special payments needing an assessment.
    pub special_share: f64,
    pub active_source: Source,
    /// The name people read in Chinese (`--lang zh`): summary.md and report.html show it in
    /// place of the identifier; absent, they show the identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_zh: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResidentPensionGroup {
    pub count: u64,
    pub count_source: Source,
    /// Yearly tiers in fen (`value`) with weights.
    pub tiers_fen: Vec<WeightedChoice>,
    pub tiers_source: Source,
    pub active_share: f64,
    pub special_share: f64,
    pub active_source: Source,
    /// The name people read in Chinese (`--lang zh`): summary.md and report.html show it in
    /// place of the identifier; absent, they show the identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_zh: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResidentMedicalGroup {
    pub count: u64,
    pub count_source: Source,
    /// Yearly contribution per person in fen.
    pub yearly_fen: i64,
    pub yearly_source: Source,
    /// Persons paid for together in one payment (`value`) with weights.
    pub household_size: Vec<WeightedChoice>,
    pub active_share: f64,
    pub special_share: f64,
    pub active_source: Source,
    /// The name people read in Chinese (`--lang zh`): summary.md and report.html show it in
    /// place of the identifier; absent, they show the identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_zh: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxyGroup {
    /// Persons whose minimum pension tier the government pays.
    pub count: u64,
    pub count_source: Source,
    /// Amount paid per person in fen.
    pub amount_fen: i64,
    pub amount_source: Source,
    /// The name people read in Chinese (`--lang zh`): summary.md and report.html show it in
    /// place of the identifier; absent, they show the identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_zh: Option<String>,
}

// ---------------------------------------------------------------- channels

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Online,
    Offline,
    Batch,
    /// A call centre (the 12366 hotline): agents, hours and a queue callers may leave. Not
    /// a way to pay: payers call it after an answer that refused or confused them.
    Hotline,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Online => "online",
            ChannelKind::Offline => "offline",
            ChannelKind::Batch => "batch",
            ChannelKind::Hotline => "hotline",
        }
    }
    /// Its name in the Chinese reports.
    pub fn label_zh(self) -> &'static str {
        match self {
            ChannelKind::Online => "线上",
            ChannelKind::Offline => "线下",
            ChannelKind::Batch => "批量",
            ChannelKind::Hotline => "热线",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpenDays {
    AllDays,
    WorkingDays,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    /// Local "HH:MM".
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// Identifier used in phases, reports and gates (snake_case).
    pub id: String,
    pub name: String,
    /// The name people read in Chinese (`--lang zh`): summary.md and report.html show it in
    /// place of the identifier; absent, they show the identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_zh: Option<String>,
    /// The phrase of the notice this channel stands for, as the notice writes it
    /// (e.g. "微信城市服务"); absent for channels the notice does not name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    pub kind: ChannelKind,
    /// Share of each group's self-paid attempts (group -> fraction); groups absent may
    /// not use the channel. Batch channels have no shares.
    #[serde(default)]
    pub share: BTreeMap<GroupKind, f64>,
    pub share_source: Source,
    pub open_days: OpenDays,
    /// Opening hours; empty means around the clock.
    #[serde(default)]
    pub hours: Vec<OpeningHours>,
    /// Servers (counters, tellers) per league for offline channels, split over leagues in
    /// proportion to population (at least one each). Absent: no queue at the channel.
    #[serde(default)]
    pub servers: Option<u32>,
    /// Fraction of servers working on public holidays (0 = closed on holidays). Absent: 0 for
    /// a working-day channel, 1 for an every-day one.
    #[serde(default)]
    pub holiday_capacity: Option<f64>,
    /// Time the channel itself takes per request (counter service, gateway, a call), in seconds.
    pub service_seconds: Dist,
    /// Where each group's assessments happen (the agencies' halls and online service):
    /// group -> share; a group with shares here assesses only on these channels.
    #[serde(default)]
    pub assessment_share: BTreeMap<GroupKind, f64>,
    /// Share of this channel's visitors who book a slot first (the notice's advice) and come
    /// at it: spread over the hours left open that day instead of by the hour profile, and
    /// served before those who walk in.
    #[serde(default)]
    pub appointment_share: f64,
    /// Payers look up a payment's record here (the notice: the online channels and the
    /// halls); a payer who paid elsewhere looks it up online. Default: true for online
    /// channels, false for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookups: Option<bool>,
    /// Hotline only: how long a caller waits for an agent before hanging up, in seconds.
    /// Absent: callers wait as long as it takes (until closing time).
    #[serde(default)]
    pub patience_seconds: Option<Dist>,
    pub capacity_source: Source,
}

/// A distribution of a duration or count; the unit is in the field name that holds it.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Dist {
    Fixed {
        value: f64,
    },
    Uniform {
        min: f64,
        max: f64,
    },
    Exponential {
        mean: f64,
    },
    /// Log-normal given by its median and 90th percentile.
    LogNormal {
        median: f64,
        p90: f64,
    },
}

// ---------------------------------------------------------------- behaviour

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    /// Share of payers who read the notice and move a payment planned inside the suspension.
    pub read_notice_share: f64,
    /// Of those, the share who pay before the suspension rather than after it.
    pub pay_early_share: f64,
    /// Days after reopening that a deferring reader pays (then placed by the hour profile).
    pub deferral_delay_days: Dist,
    /// Share of rejected payers who try again right at the announced reopening instant.
    pub eager_share: f64,
    /// Their delay after the reopening instant, in seconds.
    pub eager_delay_seconds: Dist,
    /// Days after the announced reopening that the others try again.
    pub retry_delay_days: Dist,
    /// Wait after an overload answer (429/503 with short Retry-After), in seconds.
    pub overload_retry_seconds: Dist,
    /// After a rejection, chance of trying another open channel of the group.
    pub switch_channel_probability: f64,
    /// After a rejection, chance of giving up for the rest of the timeline.
    pub give_up_probability: f64,
    /// Attempts per operation before giving up.
    pub max_attempts: u32,
    /// Relative weights of the 24 local hours for online channels.
    pub online_hour_weights: Vec<f64>,
    /// Relative weights of the 24 local hours for offline channels (closed hours are skipped).
    pub offline_hour_weights: Vec<f64>,
    /// Relative weight of a day by kind when planning a first attempt.
    pub day_weights: DayWeights,
    /// Share of flexible employees and residents who look up their record after paying.
    pub lookup_share: f64,
    /// Days after success that they look it up (they may come too early).
    pub lookup_delay_days: Dist,
    /// Share of successful look-ups followed by a certificate request.
    pub certificate_share: f64,
    /// Working days after a success before the record is visible (the notice says two).
    pub record_visible_working_days: u32,
    /// What a payer does when a look-up (or a certificate request) after a payment they saw
    /// accepted answers "no record" (the record is not visible yet, and the system does not
    /// say when): relative weights.
    #[serde(default)]
    pub after_no_record: AfterNoRecord,
    /// Days after a "no record" that a payer who looks again does.
    #[serde(default = "look_again_days")]
    pub look_again_days: Dist,
    /// Who calls the hotline, after which answers (absent: nobody calls).
    #[serde(default)]
    pub hotline: Option<HotlineCalls>,
    pub source: Source,
}

/// Refused or confused payers call the hotline (a channel of kind `hotline`) before they go
/// on as they had decided; the chance of a call depends on the answer.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HotlineCalls {
    /// The hotline channel's id.
    pub channel: String,
    /// Chance of a call after "suspended".
    #[serde(default)]
    pub after_suspended: f64,
    /// After "no record" for a payment the payer saw accepted.
    #[serde(default)]
    pub after_no_record: f64,
    /// After being sent away from closing counters.
    #[serde(default)]
    pub after_turned_away: f64,
    /// After a refusal that does not say what to do (a conflict, an assessment required,
    /// not registered, invalid).
    #[serde(default)]
    pub after_refused: f64,
    /// Of the callers who hung up before an agent answered, the share who call again.
    #[serde(default)]
    pub redial_share: f64,
    /// When they call again, in seconds after hanging up.
    #[serde(default = "redial_delay")]
    pub redial_delay_seconds: Dist,
    pub source: Source,
}

fn redial_delay() -> Dist {
    Dist::Exponential { mean: 600.0 }
}

/// Relative weights of what a payer told "no record" about a payment does.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AfterNoRecord {
    /// Look again later (`look_again_days`), within `max_attempts`.
    pub look_again: f64,
    /// Pay again, as a new order (a new key): a double charge where nothing checks.
    pub pay_again: f64,
    /// Stop looking.
    pub give_up: f64,
}

impl Default for AfterNoRecord {
    fn default() -> Self {
        AfterNoRecord { look_again: 0.5, pay_again: 0.0, give_up: 0.5 }
    }
}

fn look_again_days() -> Dist {
    Dist::LogNormal { median: 1.5, p90: 4.0 }
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DayWeights {
    pub working: f64,
    pub weekend: f64,
    pub holiday: f64,
}

/// A batch run (bank withholding, government proxy payment): the payers of `group`
/// enrolled in it are debited at each run for every month owed since their last debit.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    pub name: String,
    /// A channel of kind "batch".
    pub channel: String,
    pub group: GroupKind,
    /// Run instants (RFC 3339). A run refused as suspended stops and its debits wait for the
    /// next run, which then debits the missed months too.
    pub runs: Vec<String>,
    /// Debits kept in flight by the batch processor.
    pub concurrency: u32,
    /// Each debit is a special payment against the agency's assessment (the government's
    /// payment on someone's behalf): a run has each member assessed for what it owes, then
    /// pays that amount.
    #[serde(default)]
    pub assessed: bool,
    pub source: Source,
}

// ---------------------------------------------------------------- backend

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    /// Requests the new system serves at once.
    pub concurrency: u32,
    /// Service time per request at the backend, in milliseconds.
    pub service_ms: Dist,
    /// Requests waiting beyond this are refused as overloaded (429).
    pub queue_bound: u32,
    pub source: Source,
}
