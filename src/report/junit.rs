//! JUnit XML for CI systems: one test case per gate of the scenario, failed with the
//! measured value and the bound, so a pipeline shows which gate a rehearsal broke.

use super::Report;
use super::svg::esc as escape;
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
        if g.passed {
            let _ = writeln!(o, r#"    <testcase classname="{class}" name="{name}"/>"#);
        } else {
            let msg = escape(&if g.no_data {
                "no data: nothing measured behind this gate (allow_empty lets it pass)".to_string()
            } else {
                format!("measured {} above the bound {}", g.measured(), g.max)
            });
            let _ = writeln!(o, r#"    <testcase classname="{class}" name="{name}">"#);
            let _ = writeln!(o, r#"      <failure message="{msg}" type="gate">{msg}; replay with --seed {}</failure>"#, r.summary.seed);
            let _ = writeln!(o, "    </testcase>");
        }
    }
    let _ = writeln!(o, "  </testsuite>");
    let _ = writeln!(o, "</testsuites>");
    o
}
