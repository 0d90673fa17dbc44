//! The report's own kinds: how a report was made ([`Mode`]), where a gate or check stands
//! ([`CheckState`]) and what the run's verdict is ([`Verdict`]).

use serde::Serialize;

/// How a report was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// In virtual time through the reference model (`cutover simulate`).
    Simulate,
    /// In real time against a deployment or the in-process model (`cutover run`).
    Run,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Simulate => "simulate",
            Mode::Run => "run",
        }
    }
    /// Its name in the Chinese reports.
    pub fn label_zh(self) -> &'static str {
        match self {
            Mode::Simulate => "虚拟时间模拟",
            Mode::Run => "实时演练",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a gate or check stands: passed, failed, unknown (what it needs could not be had:
/// the reason says what and from which system) or not reached (the run ended before the
/// instant it judges). A run is GO only when every one passes.
///
/// A gate with nothing measured behind it is unknown unless it allows being empty; a ledger
/// or books that could not be read make their checks unknown; a run stopped before its end
/// (Ctrl-C) has not reached the rest of its timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CheckState {
    Pass,
    Fail,
    Unknown { reason: String },
    NotReached { instant: String },
}

impl CheckState {
    pub fn as_str(&self) -> &'static str {
        match self {
            CheckState::Pass => "pass",
            CheckState::Fail => "fail",
            CheckState::Unknown { .. } => "unknown",
            CheckState::NotReached { .. } => "not_reached",
        }
    }
}

/// The run's verdict: GO only when every gate and check passed, NO-GO when one failed (or the
/// load was aborted because the target failed), otherwise INCOMPLETE (something could not be
/// judged or was not reached), with the reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Go,
    NoGo,
    Incomplete,
}

impl Verdict {
    /// The word the console, the summary and the page say (`report.json` writes `go`,
    /// `no_go`, `incomplete`).
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Go => "GO",
            Verdict::NoGo => "NO-GO",
            Verdict::Incomplete => "INCOMPLETE",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Verdict::Go => "可以切换（GO）",
            Verdict::NoGo => "不可切换（NO-GO）",
            Verdict::Incomplete => "不完整（INCOMPLETE）",
        }
    }
}
