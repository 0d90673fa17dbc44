//! JUnit XML for CI systems: one test case per gate of the scenario, failed with the
//! measured value and the bound, so a pipeline shows which gate a rehearsal broke.

use crate::report::render::svg::esc as escape;
use crate::report::{CheckState, Report};
use std::fmt::Write;

/// The report's gates as a JUnit XML document.
pub fn render(r: &Report) -> String {
    let failures = r.gates.iter().filter(|g| !g.passed).count();
    let suite = format!("cutover {} {} (seed {})", r.mode, r.scenario.name, r.summary.seed);
    let mut o = String::new();
    let _ = writeln!(o, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(o, r#"<testsuites name="cutover" tests="{}" failures="{failures}">"#, r.gates.len());
    let _ = writeln!(o, r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="0">"#, escape(&suite), r.gates.len());
    for g in &r.gates {
        let name = escape(&g.name());
        let class = escape(&format!("cutover.gates.{}", r.scenario.name));
        let msg = match g.state() {
            CheckState::Pass => None,
            CheckState::Fail => Some(format!("measured {} above the bound {}", super::lang::measured_en(g), g.max)),
            // Both still fail the run today (issue 21 gives them their own verdict).
            CheckState::Unknown { reason } => Some(format!("{reason} (allow_empty lets it pass)")),
            CheckState::NotReached { instant } => Some(format!("not reached: the run ended before {instant}")),
        };
        if let Some(msg) = msg {
            let msg = escape(&msg);
            let _ = writeln!(o, r#"    <testcase classname="{class}" name="{name}">"#);
            let _ = writeln!(o, r#"      <failure message="{msg}" type="gate">{msg}; replay with --seed {}</failure>"#, r.summary.seed);
            let _ = writeln!(o, "    </testcase>");
        } else {
            let _ = writeln!(o, r#"    <testcase classname="{class}" name="{name}"/>"#);
        }
    }
    let _ = writeln!(o, "  </testsuite>");
    let _ = writeln!(o, "</testsuites>");
    o
}
