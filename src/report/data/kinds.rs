//! The report's own kinds: how a report was made ([`Mode`]) and where a gate or check
//! stands ([`CheckState`]).

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
/// Today's results map onto it as they are: a gate with nothing measured behind it is
/// unknown, and (for now) still fails the run unless it allows being empty; books that could
/// not be read make the cutover's checks unknown. Nothing yet ends as not reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckState {
    Pass,
    Fail,
    Unknown { reason: String },
    NotReached { instant: String },
}
