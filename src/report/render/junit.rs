//! JUnit XML for CI systems: one test case per gate of the scenario and per check (the
//! ledger, the cutover's checks), failed with what was measured, skipped with the reason when
//! it could not be judged or was not reached, so a pipeline shows which gate a rehearsal broke
//! and the same verdict as the report. A load aborted early is one failed case naming the
//! cause; the gates it left failing are its knock-on effects, skipped.

use crate::report::data::Reason;
use crate::report::render::svg::esc as escape;
use crate::report::{CheckState, Report};
use std::fmt::Write;

/// One test case: its name and how it ended (`None`: passed).
struct Case {
    name: String,
    failed: Option<String>,
    skipped: Option<String>,
}

/// A case from where a gate or check stands: `failed` words a failure.
fn case(name: String, state: &CheckState, failed: impl FnOnce() -> String) -> Case {
    let (failed, skipped) = match state {
        CheckState::Pass => (None, None),
        CheckState::Fail => (Some(failed()), None),
        CheckState::Unknown { reason } => (None, Some(format!("unknown: {reason}"))),
        CheckState::NotReached { instant } => (None, Some(format!("not reached: the run ended before {instant}"))),
    };
    Case { name, failed, skipped }
}

fn cases(r: &Report) -> Vec<Case> {
    let aborted = r.live.as_ref().and_then(|l| l.aborted.as_ref());
    let mut out: Vec<Case> = r
        .gates
        .iter()
        .map(|g| match g.state() {
            // The load's abort is the failure; what it left failing is its knock-on effect.
            CheckState::Fail if aborted.is_some() => Case {
                name: g.name(),
                failed: None,
                skipped: Some(format!("not judged: the load was aborted early (measured {})", super::lang::measured_en(g))),
            },
            state => case(g.name(), &state, || format!("measured {} above the bound {}", super::lang::measured_en(g), g.max)),
        })
        .collect();
    let check =
        |name: &str, state: Option<&CheckState>, failed: String| case(name.to_string(), state.unwrap_or(&CheckState::Pass), || failed);
    let of = |pick: fn(&Reason) -> bool| r.verdict.reasons.iter().find(|x| pick(x));
    let ledger = of(|x| matches!(x, Reason::Ledger { .. }));
    out.push(check(
        "ledger: the target's ledger agrees with every acknowledged payment",
        ledger.map(Reason::state),
        format!("{} ledger cells differ", r.ledger.mismatched_cells),
    ));
    if r.cutover.is_some() {
        let c = of(|x| matches!(x, Reason::Cutover { .. }));
        let wrong = match c {
            Some(Reason::Cutover { payments_wrong, .. }) => *payments_wrong,
            _ => 0,
        };
        out.push(check(
            "cutover: every payment and registration in the right system exactly once",
            c.map(Reason::state),
            format!("{wrong} payments or registrations wrong"),
        ));
    }
    if let Some(why) = aborted {
        out.push(Case { name: "run: the load ran to its end".into(), failed: Some(format!("aborted early: {why}")), skipped: None });
    }
    // Interrupted while an abort was already stopping the load: the abort's case says it.
    if aborted.is_none() && r.live.as_ref().is_some_and(|l| l.interrupted) {
        let why = format!("not reached: interrupted before the end of the timeline ({})", r.scenario.end);
        out.push(Case { name: "run: the load ran to its end".into(), failed: None, skipped: Some(why) });
    }
    out
}

/// The report's gates and checks as a JUnit XML document.
pub fn render(r: &Report) -> String {
    let cases = cases(r);
    let failures = cases.iter().filter(|c| c.failed.is_some()).count();
    let skipped = cases.iter().filter(|c| c.skipped.is_some()).count();
    let suite = format!("cutover {} {} (seed {}): {}", r.mode, r.scenario.name, r.summary.seed, r.verdict.verdict.word());
    let mut o = String::new();
    let _ = writeln!(o, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(o, r#"<testsuites name="cutover" tests="{}" failures="{failures}" skipped="{skipped}">"#, cases.len());
    let _ = writeln!(
        o,
        r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="0" skipped="{skipped}">"#,
        escape(&suite),
        cases.len()
    );
    let class = escape(&format!("cutover.gates.{}", r.scenario.name));
    for c in cases {
        let name = escape(&c.name);
        match (c.failed, c.skipped) {
            (Some(msg), _) => {
                let msg = escape(&msg);
                let _ = writeln!(o, r#"    <testcase classname="{class}" name="{name}">"#);
                let _ = writeln!(o, r#"      <failure message="{msg}" type="gate">{msg}; replay with --seed {}</failure>"#, r.summary.seed);
                let _ = writeln!(o, "    </testcase>");
            }
            (None, Some(msg)) => {
                let _ = writeln!(o, r#"    <testcase classname="{class}" name="{name}">"#);
                let _ = writeln!(o, r#"      <skipped message="{}"/>"#, escape(&msg));
                let _ = writeln!(o, "    </testcase>");
            }
            (None, None) => {
                let _ = writeln!(o, r#"    <testcase classname="{class}" name="{name}"/>"#);
            }
        }
    }
    let _ = writeln!(o, "  </testsuite>");
    let _ = writeln!(o, "</testsuites>");
    o
}
