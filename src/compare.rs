//! `cutover compare BASE.json NEW.json`: two reports side by side, per phase × channel ×
//! operation, and whether the new one regressed past a limit, so that a pipeline keeps a
//! baseline report and fails a build that made the rehearsal slower or broke a rule.
//!
//! Reports are read as JSON values, not as this build's types: a baseline may come from an
//! older build, and a field it lacks is "no data", not a parse error.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// What counts as a regression.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Relative worsening allowed (0.1: 10 %).
    pub max_regression: f64,
    /// A latency change smaller than this (ms) is noise, whatever its ratio.
    pub min_change_ms: f64,
    /// Cells with fewer attempts than this in either report are shown, not judged.
    pub min_samples: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_regression: 0.10, min_change_ms: 1.0, min_samples: 30 }
    }
}

/// `10%`, `10 %` or `0.1`: a share.
pub fn parse_share(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, pct) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (t, false),
    };
    let v: f64 = num.parse().map_err(|_| format!("--max-regression: {s:?} is not a share (write 10% or 0.1)"))?;
    let v = if pct { v / 100.0 } else { v };
    if !v.is_finite() || v < 0.0 {
        return Err(format!("--max-regression: {s:?} must be 0 or more"));
    }
    Ok(v)
}

/// Worse is higher (latency, errors) or lower (payments accepted).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Worse {
    Higher,
    Lower,
}

/// One compared figure.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Row {
    /// `phase/channel/operation`, or `run` for the report's totals.
    pub scope: String,
    pub figure: String,
    pub base: Option<f64>,
    pub new: Option<f64>,
    /// (new - base) / base; None when base is 0 or a side has no data.
    pub change: Option<f64>,
    /// `regressed`, `improved`, `same`, `not judged (N attempts)`, `no data in new`, ...
    pub verdict: String,
    pub regressed: bool,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Comparison {
    pub base_scenario: String,
    pub new_scenario: String,
    pub max_regression: f64,
    pub regressions: usize,
    pub rows: Vec<Row>,
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    let mut v = v;
    for p in path {
        v = v.get(p)?;
    }
    v.as_f64()
}

fn cells(r: &Value) -> BTreeMap<String, &Value> {
    r["cells"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        format!(
                            "{}/{}/{}",
                            c["phase"].as_str().unwrap_or("?"),
                            c["channel"].as_str().unwrap_or("?"),
                            c["operation"].as_str().unwrap_or("?")
                        ),
                        c,
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Errors per attempt of a cell.
fn error_rate(c: &Value) -> Option<f64> {
    let a = num(c, &["attempts"])?;
    Some(if a > 0.0 { num(c, &["errors"]).unwrap_or(0.0) / a } else { 0.0 })
}

/// Refused or sent away for reasons other than the suspension: refusals that should not
/// happen, people sent away from closing counters, callers hanging up.
fn refused(c: &Value) -> Option<f64> {
    Some(num(c, &["rejected_unexpected"])? + num(c, &["turned_away"]).unwrap_or(0.0) + num(c, &["abandoned"]).unwrap_or(0.0))
}

/// A figure read from a cell.
type Figure = fn(&Value) -> Option<f64>;

struct Judge {
    limits: Limits,
}

impl Judge {
    /// Whether `new` is worse than `base` past the limit (`floor`: the smallest absolute change
    /// that counts).
    fn row(&self, scope: &str, figure: &str, base: Option<f64>, new: Option<f64>, worse: Worse, floor: f64) -> Row {
        let change = match (base, new) {
            (Some(b), Some(n)) if b != 0.0 => Some((n - b) / b),
            _ => None,
        };
        let (verdict, regressed) = match (base, new) {
            (Some(b), Some(n)) => {
                let delta = if worse == Worse::Higher { n - b } else { b - n };
                let past = delta >= floor && delta > self.limits.max_regression * b.abs() && delta > 0.0;
                if past {
                    ("regressed".to_string(), true)
                } else if -delta >= floor && -delta > self.limits.max_regression * b.abs() {
                    ("improved".to_string(), false)
                } else {
                    ("within the limit".to_string(), false)
                }
            }
            (Some(_), None) => ("no data in new".to_string(), true),
            (None, Some(_)) => ("only in new".to_string(), false),
            (None, None) => ("no data".to_string(), false),
        };
        Row { scope: scope.to_string(), figure: figure.to_string(), base, new, change, verdict, regressed }
    }
}

/// Compare two reports.
pub fn compare(base: &Value, new: &Value, limits: Limits) -> Comparison {
    let judge = Judge { limits };
    let mut rows = Vec::new();
    // Correctness: any increase is a regression, whatever the limit.
    let strict = |figure: &str, path: &[&str]| {
        let (b, n) = (num(base, path), num(new, path));
        let mut row = judge.row("run", figure, b, n, Worse::Higher, 1.0);
        if let (Some(b), Some(n)) = (b, n) {
            row.regressed = n > b;
            row.verdict = if n > b {
                "regressed".into()
            } else if n < b {
                "improved".into()
            } else {
                "same".into()
            };
        }
        row
    };
    for (figure, path) in [
        ("accepted while suspended", &["summary", "accepted_while_suspended"][..]),
        ("ledger differing cells", &["summary", "ledger_mismatched_cells"]),
        ("double charges", &["summary", "double_charges"]),
        ("lost at the boundary", &["summary", "lost_at_boundary"]),
        ("migration differing cells", &["summary", "migration_mismatched_cells"]),
        ("registrations wrong", &["summary", "registrations_mismatched"]),
        ("auditor disagreements", &["live", "audit", "disagreements"]),
    ] {
        let row = strict(figure, path);
        // Figures neither report has (a scenario without a cutover) are left out.
        if row.base.is_some() || row.new.is_some() {
            rows.push(row);
        }
    }
    rows.push(judge.row(
        "run",
        "payments accepted",
        num(base, &["summary", "accepted"]),
        num(new, &["summary", "accepted"]),
        Worse::Lower,
        1.0,
    ));
    rows.push(judge.row(
        "run",
        "payers who gave up",
        num(base, &["summary", "gave_up"]),
        num(new, &["summary", "gave_up"]),
        Worse::Higher,
        1.0,
    ));
    rows.push(judge.row(
        "run",
        "error rate",
        num(base, &["summary", "error_rate"]),
        num(new, &["summary", "error_rate"]),
        Worse::Higher,
        0.001,
    ));
    let (bc, nc) = (cells(base), cells(new));
    let mut scopes: Vec<&String> = bc.keys().chain(nc.keys()).collect();
    scopes.sort();
    scopes.dedup();
    for scope in scopes {
        let (b, n) = (bc.get(scope).copied(), nc.get(scope).copied());
        let attempts = |c: Option<&Value>| c.and_then(|c| num(c, &["attempts"])).unwrap_or(0.0) as u64;
        let (ba, na) = (attempts(b), attempts(n));
        let few = ba < limits.min_samples || (n.is_some() && na < limits.min_samples);
        let figures: [(&str, Figure, Worse, f64); 6] = [
            ("attempts", |c| num(c, &["attempts"]), Worse::Lower, f64::INFINITY),
            ("latency p50 ms", |c| num(c, &["latency_ms", "p50"]), Worse::Higher, limits.min_change_ms),
            ("latency p90 ms", |c| num(c, &["latency_ms", "p90"]), Worse::Higher, limits.min_change_ms),
            ("latency p99 ms", |c| num(c, &["latency_ms", "p99"]), Worse::Higher, limits.min_change_ms),
            ("error rate", error_rate, Worse::Higher, 0.001),
            ("refused or sent away", refused, Worse::Higher, 1.0),
        ];
        for (figure, get, worse, floor) in figures {
            let mut row = judge.row(scope, figure, b.and_then(get), n.and_then(get), worse, floor);
            if few && row.base.is_some() {
                row.verdict = format!("not judged ({ba} and {na} attempts, under {})", limits.min_samples);
                row.regressed = false;
            }
            rows.push(row);
        }
    }
    let regressions = rows.iter().filter(|r| r.regressed).count();
    Comparison {
        base_scenario: base["scenario"]["name"].as_str().unwrap_or("?").to_string(),
        new_scenario: new["scenario"]["name"].as_str().unwrap_or("?").to_string(),
        max_regression: limits.max_regression,
        regressions,
        rows,
    }
}

fn show(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) if x.fract() == 0.0 => format!("{x:.0}"),
        Some(x) => {
            let s = format!("{x:.4}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    }
}

/// The comparison as Markdown: the regressions first, then every row (`all`) or only those
/// that improved past the limit or lack data on a side.
pub fn render(c: &Comparison, all: bool) -> String {
    let mut o = String::new();
    let _ =
        writeln!(o, "# Comparison: {} (base) against {} (new), limit {:.1} %\n", c.base_scenario, c.new_scenario, c.max_regression * 100.0);
    let _ = writeln!(o, "{} regression(s).\n", c.regressions);
    let _ = writeln!(o, "| phase/channel/operation | figure | base | new | change | verdict |\n|---|---|---:|---:|---:|---|");
    let quiet = |r: &Row| r.verdict == "within the limit" || r.verdict == "same" || r.verdict.starts_with("not judged");
    let shown = |r: &&Row| all || r.regressed || !quiet(r);
    let mut ordered: Vec<&Row> = c.rows.iter().filter(|r| r.regressed).collect();
    ordered.extend(c.rows.iter().filter(|r| !r.regressed).filter(shown));
    for r in ordered {
        let change = r.change.map(|x| format!("{:+.1} %", x * 100.0)).unwrap_or_else(|| "-".into());
        let verdict = if r.regressed { format!("**{}**", r.verdict.to_uppercase()) } else { r.verdict.clone() };
        let _ = writeln!(o, "| {} | {} | {} | {} | {} | {} |", r.scope, r.figure, show(r.base), show(r.new), change, verdict);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(p99: f64, errors: u64, double: u64) -> Value {
        json!({
            "scenario": {"name": "s"},
            "summary": {"accepted": 1000, "gave_up": 3, "error_rate": 0.0, "double_charges": double,
                        "accepted_while_suspended": 0, "ledger_mismatched_cells": 0},
            "cells": [
                {"phase": "p", "channel": "c", "operation": "pay", "attempts": 500, "errors": errors,
                 "rejected_unexpected": 0, "turned_away": 0, "abandoned": 0,
                 "latency_ms": {"p50": 10.0, "p90": 20.0, "p99": p99}},
                {"phase": "p", "channel": "rare", "operation": "pay", "attempts": 3, "errors": 0,
                 "rejected_unexpected": 0, "latency_ms": {"p50": 1.0, "p90": 1.0, "p99": 1.0}}
            ]
        })
    }

    #[test]
    fn a_slower_percentile_past_the_limit_regresses_and_one_within_does_not() {
        let l = Limits::default();
        assert_eq!(compare(&report(100.0, 0, 0), &report(100.0, 0, 0), l).regressions, 0);
        assert_eq!(compare(&report(100.0, 0, 0), &report(109.0, 0, 0), l).regressions, 0);
        let c = compare(&report(100.0, 0, 0), &report(130.0, 0, 0), l);
        assert_eq!(c.regressions, 1);
        let r = c.rows.iter().find(|r| r.regressed).unwrap();
        assert_eq!((r.scope.as_str(), r.figure.as_str()), ("p/c/pay", "latency p99 ms"));
        assert!((r.change.unwrap() - 0.3).abs() < 1e-9);
        // Faster is an improvement, never a regression.
        assert_eq!(compare(&report(130.0, 0, 0), &report(100.0, 0, 0), l).regressions, 0);
    }

    #[test]
    fn correctness_regresses_on_any_increase_and_thin_cells_are_not_judged() {
        let l = Limits { max_regression: 10.0, ..Limits::default() };
        let c = compare(&report(100.0, 0, 0), &report(100.0, 0, 1), l);
        assert_eq!(c.regressions, 1, "{}", render(&c, true));
        // 5 errors in 500 attempts: 1 % against 0.
        let c = compare(&report(100.0, 0, 0), &report(100.0, 5, 0), Limits::default());
        assert!(c.rows.iter().any(|r| r.regressed && r.figure == "error rate"), "{}", render(&c, true));
        let mut thin = report(100.0, 0, 0);
        thin["cells"][1]["latency_ms"]["p99"] = json!(500.0);
        let c = compare(&report(100.0, 0, 0), &thin, Limits::default());
        assert_eq!(c.regressions, 0);
        assert!(c.rows.iter().any(|r| r.scope == "p/rare/pay" && r.verdict.starts_with("not judged")));
    }

    #[test]
    fn a_cell_the_new_report_lacks_is_no_data_and_fails() {
        let mut new = report(100.0, 0, 0);
        new["cells"].as_array_mut().unwrap().remove(0);
        let c = compare(&report(100.0, 0, 0), &new, Limits::default());
        assert!(c.regressions > 0);
        assert!(c.rows.iter().any(|r| r.verdict == "no data in new"));
    }

    #[test]
    fn shares_read_as_percent_or_fraction() {
        assert_eq!(parse_share("10%").unwrap(), 0.1);
        assert_eq!(parse_share("0.25").unwrap(), 0.25);
        assert!(parse_share("ten").is_err());
        assert!(parse_share("-5%").is_err());
    }
}
