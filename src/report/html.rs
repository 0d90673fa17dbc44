//! `report.html`: one self-contained page beside `report.json` for the people deciding go or
//! no-go, drawn from the report alone. Inline CSS and SVG, nothing fetched (the page's
//! Content-Security-Policy forbids it), so it reads offline and travels attached to a ticket.

use super::human::{count, duration_ms, instant, instant_or, minutes, percent};
use super::markdown::yuan;
use super::svg::{self, LineChart, Series, esc};
use super::{GateResult, Report};
use std::collections::BTreeMap;
use std::fmt::Write;

pub(crate) const STYLE: &str = r#"
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0 auto;max-width:1000px;padding:0 16px 48px;color:#1a1a1a;line-height:1.4}
h1{font-size:1.5em;margin:20px 0 4px}h2{font-size:1.2em;margin:28px 0 8px;border-bottom:1px solid #ccc}
.verdict{font-size:1.15em;padding:10px 14px;border-radius:4px;margin:10px 0}
.go{background:#e3f4ea;border-left:6px solid #009E73}.nogo{background:#fbe9e1;border-left:6px solid #D55E00}
.meta{color:#555;font-size:.9em}nav a{margin-right:12px;font-size:.9em}
table{border-collapse:collapse;font-size:.85em;margin:6px 0 10px}th,td{padding:2px 8px;border-bottom:1px solid #e5e5e5;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tr.bad td{background:#fbe9e1;font-weight:600}
.ok{color:#007a55}.fail{color:#b8420a;font-weight:600}details{margin:6px 0}summary{cursor:pointer;color:#0050a0}
svg.chart{display:block;margin:8px 0 14px;font-size:11px}svg .title{font-size:13px;font-weight:600}
svg .band0{fill:#f3f3f3}svg .band1{fill:#e4e9f2}svg .bandlabel{fill:#555;font-size:10px}
svg .mark{fill:#444444}svg .grid{stroke:#e0e0e0}svg .axis{stroke:#333}svg .series{fill:none;stroke-width:1.4}
svg .ytick,svg .barlabel{text-anchor:end;fill:#333}svg .xtick{text-anchor:middle;fill:#333}svg .ylabel{text-anchor:middle;fill:#333}
svg .legend,svg .barvalue{fill:#333}
"#;

/// The page's own check, run once it is laid out: how many charts have a size and marks.
/// The browser test reads `data-charts-drawn` against `data-charts`.
const SELF_CHECK: &str = r#"<script>(function(){var n=0;document.querySelectorAll('svg.chart').forEach(function(s){var b=s.getBoundingClientRect();if(b.width>0&&b.height>0&&s.querySelector('polyline,rect,circle'))n++;});document.body.setAttribute('data-charts-drawn',String(n));})();</script>"#;

#[path = "html_days.rs"]
mod days_view;
use days_view::{counters, surge, timeline};

struct Page {
    body: String,
    charts: usize,
}

impl Page {
    fn chart(&mut self, svg: String) {
        self.charts += 1;
        self.body.push_str(&svg);
    }
    fn h2(&mut self, id: &str, title: &str) {
        let _ = write!(self.body, r#"<h2 id="{id}">{}</h2>"#, esc(title));
    }
    fn p(&mut self, text: &str) {
        let _ = write!(self.body, "<p>{}</p>", esc(text));
    }
}

/// A table; a column whose header starts with `#` is numeric (right-aligned, `#` dropped).
/// `bad[i]` highlights row i.
pub(crate) fn table(o: &mut String, headers: &[&str], rows: &[Vec<String>], bad: &[bool]) {
    o.push_str("<table><thead><tr>");
    let numeric: Vec<bool> = headers.iter().map(|h| h.starts_with('#')).collect();
    for h in headers {
        let (class, h) = match h.strip_prefix('#') {
            Some(h) => (r#" class="n""#, h),
            None => ("", *h),
        };
        let _ = write!(o, "<th{class}>{}</th>", esc(h));
    }
    o.push_str("</tr></thead><tbody>");
    for (i, row) in rows.iter().enumerate() {
        o.push_str(if bad.get(i).copied().unwrap_or(false) { r#"<tr class="bad">"# } else { "<tr>" });
        for (j, cell) in row.iter().enumerate() {
            let class = if numeric.get(j).copied().unwrap_or(false) { r#" class="n""# } else { "" };
            let _ = write!(o, "<td{class}>{}</td>", esc(cell));
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table>");
}

/// How far a failed gate is past its bound.
fn past_bound(g: &GateResult) -> String {
    if g.max > 0.0 { format!("{} over", percent((g.value - g.max) / g.max)) } else { format!("{} over", g.value - g.max) }
}

/// The verdict at the top: go when every gate passed, the ledger agrees and the run was whole.
fn verdict(p: &mut Page, r: &Report) {
    let failed: Vec<&GateResult> = r.gates.iter().filter(|g| !g.passed).collect();
    let interrupted = r.live.as_ref().is_some_and(|l| l.interrupted);
    let mut reasons: Vec<String> = failed
        .iter()
        .map(|g| match (&g.detail, g.no_data) {
            (_, true) => format!("{}: no data (nothing measured behind it)", g.name()),
            (Some(d), _) => format!("{}: {d}", g.name()),
            (None, false) => {
                format!("{}: measured {}, bound {} ({})", g.name(), gate_value(g, g.value), gate_value(g, g.max), past_bound(g))
            }
        })
        .collect();
    if r.ledger.mismatched_cells > 0 {
        reasons.push(format!("{} ledger cells differ", r.ledger.mismatched_cells));
    }
    if interrupted {
        reasons.push("the run was interrupted".to_string());
    }
    if let Some(why) = r.live.as_ref().and_then(|l| l.aborted.as_ref()) {
        reasons.push(format!("the load was aborted early: {why}"));
    }
    if reasons.is_empty() {
        let _ = write!(
            p.body,
            r#"<div class="verdict go"><strong>GO</strong>: all {} gates passed and the ledger agrees ({} cells).</div>"#,
            r.gates.len(),
            r.ledger.cells.len()
        );
    } else {
        let _ =
            write!(p.body, r#"<div class="verdict nogo"><strong>NO-GO</strong>: {} of {} gates failed.<ul>"#, failed.len(), r.gates.len());
        for why in reasons {
            let _ = write!(p.body, "<li>{}</li>", esc(&why));
        }
        p.body.push_str("</ul></div>");
    }
}

/// A gate's figure as people read it: latencies as durations, the rest as numbers.
fn gate_value(g: &GateResult, v: f64) -> String {
    use crate::scenario::GateMetric::*;
    match g.metric {
        WaitingMinP50 | WaitingMinP99 => minutes(v),
        BacklogClearedHours => duration_ms(v * 3_600_000.0),
        LatencyMsP50 | LatencyMsP90 | LatencyMsP99 | LatencyMsP999 => duration_ms(v),
        ErrorRate => percent(v),
        _ => tick(v),
    }
}

fn tick(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { count(v.abs() as u64) } else { format!("{v:.4}").trim_end_matches('0').to_string() }
}

fn refusals(p: &mut Page, r: &Report) {
    let mut by_channel: BTreeMap<&str, u64> = BTreeMap::new();
    for c in &r.cells {
        *by_channel.entry(c.channel.as_str()).or_default() += c.rejected_suspended;
    }
    let mut rows: Vec<(String, f64)> = by_channel.into_iter().filter(|(_, n)| *n > 0).map(|(c, n)| (c.to_string(), n as f64)).collect();
    p.h2("refusals", "Refusals during the window, by channel");
    if rows.is_empty() {
        p.p("No request was refused as suspended.");
        return;
    }
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    p.chart(svg::bars("Requests refused as suspended, by channel", "requests refused", &rows));
    let _ = write!(
        p.body,
        "<p>{} refused as suspended in all; {} accepted while suspended.</p>",
        count(r.summary.rejected_suspended),
        count(r.summary.accepted_while_suspended)
    );
}

fn latency(p: &mut Page, r: &Report) {
    p.h2("latency", "Latency per phase, channel and operation");
    p.p(if r.live.is_some() {
        "Response time from each request's scheduled instant to its answer (waiting at a counter included)."
    } else {
        "Response time from the request's start to its answer, in virtual time (waiting at a counter included)."
    });
    let rows: Vec<Vec<String>> = r
        .cells
        .iter()
        .map(|c| {
            vec![
                c.phase.clone(),
                c.channel.clone(),
                c.operation.to_string(),
                count(c.attempts),
                count(c.successes),
                count(c.rejected_suspended),
                count(c.errors),
                duration_ms(c.latency_ms.p50),
                duration_ms(c.latency_ms.p90),
                duration_ms(c.latency_ms.p99),
                duration_ms(c.latency_ms.max),
            ]
        })
        .collect();
    let bad: Vec<bool> = r.cells.iter().map(|c| c.errors > 0).collect();
    p.body.push_str("<details><summary>Every phase, channel and operation (rows with errors highlighted)</summary>");
    table(
        &mut p.body,
        &["phase", "channel", "operation", "#attempts", "#successes", "#refused suspended", "#errors", "#p50", "#p90", "#p99", "#max"],
        &rows,
        &bad,
    );
    p.body.push_str("</details>");
}

fn cutover(p: &mut Page, r: &Report) {
    let Some(c) = &r.cutover else { return };
    p.h2("cutover", "The cutover: migration, double charges, boundary payments");
    if let Some(e) = &c.read_error {
        let _ = write!(p.body, r#"<p class="fail">The systems' books could not be read: {}</p>"#, esc(e));
    }
    let rows: Vec<Vec<String>> = c
        .systems
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                instant_or(&s.opens, "-"),
                instant_or(&s.stops, "-"),
                count(s.payments),
                yuan(s.payments_fen),
                count(s.migrated_payments),
            ]
        })
        .collect();
    table(&mut p.body, &["system", "opens", "stops", "#payments taken", "#yuan", "#migrated in"], &rows, &[]);
    let m = &c.migration;
    let checks: Vec<(String, u64, String)> = vec![
        (
            "old payments the migration got wrong (missing, extra, differing, unknown)".into(),
            m.missing + m.duplicated + m.differing + m.unknown_origin,
            format!("of {}", count(m.checked)),
        ),
        ("ledger cells the migration got wrong".into(), m.mismatched_cells, String::new()),
        ("double charges".into(), c.double_charges.count, String::new()),
        ("payments lost at the boundary".into(), c.lost_at_boundary.count, String::new()),
        ("payments acknowledged after a stop".into(), c.acknowledged_after_stop.count, String::new()),
        (
            "registrations wrong".into(),
            c.registrations.mismatched(),
            if c.registrations.checked { format!("of {}", count(c.registrations.old)) } else { "not read".into() },
        ),
        (
            "old payments not found among the payer's records after migration".into(),
            c.records_after_migration.missing,
            format!("of {}", count(c.records_after_migration.old_payments)),
        ),
    ];
    let bad: Vec<bool> = checks.iter().map(|(_, n, _)| *n > 0).collect();
    let rows: Vec<Vec<String>> =
        checks.into_iter().map(|(what, n, of)| vec![what, count(n), of, if n == 0 { "ok".into() } else { "WRONG".into() }]).collect();
    table(&mut p.body, &["check", "#count", "", "result"], &rows, &bad);
    let rows: Vec<Vec<String>> = c
        .in_flight_at_stops
        .iter()
        .map(|s| vec![instant(&s.at), s.what.clone(), count(s.in_flight), count(s.accepted), count(s.refused_suspended)])
        .collect();
    if !rows.is_empty() {
        p.p("Payments in flight at each stop (started before it, answered after):");
        table(&mut p.body, &["at", "what stops", "#in flight", "#accepted", "#refused as suspended"], &rows, &[]);
    }
    let l = &c.lost_answers;
    p.p(&format!(
        "Answers lost on the way: {} ({} acceptances: money taken, payer not told); started again as a new order: {}; refused as already paid: {}.",
        count(l.total),
        count(l.acceptances),
        count(l.new_orders),
        count(c.refused_already_paid)
    ));
    if !c.double_charges.by_channel.is_empty() {
        let rows: Vec<(String, f64)> = c.double_charges.by_channel.iter().map(|(k, v)| (k.clone(), *v as f64)).collect();
        p.chart(svg::bars("Double charges by the channel of the second payment", "double charges", &rows));
    }
    if let Some(rb) = &c.rollback {
        p.p(&format!(
            "Rollback rehearsal ({}): {} at {}; {}.",
            rb.phase,
            if rb.rolled_back { "payment suspended again" } else { "not rolled back" },
            instant(&rb.at),
            rb.reason
        ));
    }
}

fn calibration(p: &mut Page, r: &Report) {
    if r.calibration.is_empty() {
        return;
    }
    p.h2("calibration", "Calibration: the run against what was expected");
    let rows: Vec<Vec<String>> = r
        .calibration
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                tick(c.expected),
                c.simulated.map(tick).unwrap_or_else(|| "no data".into()),
                c.ratio.map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into()),
                format!("1/{0} to {0}", c.within_factor),
                if c.within { "within".into() } else { "OUTSIDE".into() },
                c.source.to_string(),
            ]
        })
        .collect();
    let bad: Vec<bool> = r.calibration.iter().map(|c| !c.within).collect();
    table(&mut p.body, &["expectation", "#expected", "#simulated", "#ratio", "allowed", "", "source"], &rows, &bad);
}

fn dues(p: &mut Page, r: &Report) {
    let Some(dues) = &r.dues else { return };
    p.h2("dues", "Due dates");
    let rows: Vec<Vec<String>> = dues
        .iter()
        .map(|d| {
            vec![
                d.group.to_string(),
                instant_or(&d.due, "-"),
                instant_or(&d.moved_to, "-"),
                count(d.payments),
                count(d.paid_by_due),
                count(d.paid_by_moved_due),
                count(d.paid_late),
                yuan(d.late_fee_fen),
            ]
        })
        .collect();
    table(
        &mut p.body,
        &["group", "due", "moved to", "#payments", "#by the due date", "#by the moved date", "#late", "#late fees (yuan)"],
        &rows,
        &[],
    );
}

fn ledger(p: &mut Page, r: &Report) {
    p.h2("ledger", "Ledger reconciliation");
    let l = &r.ledger;
    let _ = write!(
        p.body,
        r#"<p class="{}">Expected (from acknowledged payments) {} yuan; the target's ledger {} yuan; {} of {} cells differ.</p>"#,
        if l.mismatched_cells == 0 { "ok" } else { "fail" },
        yuan(l.expected_fen),
        yuan(l.actual_fen),
        count(l.mismatched_cells),
        count(l.cells.len() as u64)
    );
    if let Some(e) = &l.read_error {
        let _ = write!(p.body, r#"<p class="fail">The target's ledger could not be read: {}</p>"#, esc(e));
    }
    let rows: Vec<Vec<String>> = l
        .cells
        .iter()
        .map(|c| {
            vec![
                c.league.clone(),
                c.group.to_string(),
                c.insurance.to_string(),
                count(c.expected_count),
                yuan(c.expected_fen),
                count(c.actual_count),
                yuan(c.actual_fen),
            ]
        })
        .collect();
    let bad: Vec<bool> = l.cells.iter().map(|c| c.expected_count != c.actual_count || c.expected_fen != c.actual_fen).collect();
    let open = if l.mismatched_cells > 0 { " open" } else { "" };
    let _ = write!(p.body, "<details{open}><summary>Every cell: league, group and insurance (differing cells highlighted)</summary>");
    table(
        &mut p.body,
        &["league", "group", "insurance", "#expected count", "#expected yuan", "#actual count", "#actual yuan"],
        &rows,
        &bad,
    );
    p.body.push_str("</details>");
}

fn gates(p: &mut Page, r: &Report) {
    p.h2("gates", "Gates");
    if r.gates.is_empty() {
        p.p("The scenario defines no gates.");
        return;
    }
    let rows: Vec<Vec<String>> = r
        .gates
        .iter()
        .map(|g| vec![g.name(), gate_value(g, g.value), gate_value(g, g.max), if g.passed { "pass".into() } else { "FAIL".into() }])
        .collect();
    let bad: Vec<bool> = r.gates.iter().map(|g| !g.passed).collect();
    table(&mut p.body, &["gate", "#measured", "#bound", "result"], &rows, &bad);
}

fn live(p: &mut Page, r: &Report) {
    let Some(l) = &r.live else { return };
    p.h2("live", "The live run");
    p.p(&format!(
        "{} via {} at {}x time, {} connections on {} threads: {} requests in {:.1} s ({:.0} per second), {} not sent{}.",
        l.target,
        l.transport,
        l.time_scale,
        l.connections,
        l.threads,
        count(l.requests_completed),
        l.wall_seconds,
        l.requests_per_second,
        count(l.not_sent),
        if l.interrupted { "; INTERRUPTED" } else { "" }
    ));
    let q = |x: &super::Latency| vec![Some(x.p50), Some(x.p90), Some(x.p99), Some(x.p99_9), Some(x.max)];
    let chart = LineChart {
        title: "Response time (from the scheduled instant) and service time (from the send), ms",
        y_label: "ms",
        n: 5,
        x_ticks: ["p50", "p90", "p99", "p99.9", "max"].iter().enumerate().map(|(i, s)| (i, s.to_string())).collect(),
        series: vec![
            Series { name: "response time".into(), values: q(&l.response_time_ms) },
            Series { name: "service time".into(), values: q(&l.service_time_ms) },
        ],
        bands: vec![],
        marks: None,
        steps: false,
        log: false,
    };
    p.chart(chart.render());
    let rc = &l.reconciliation;
    p.p(&format!(
        "Reconciliation: {} acknowledged, {} lost, {} phantom or duplicate ledger entries, {} unknown ({} present, {} absent).",
        count(rc.acknowledged),
        count(rc.lost),
        count(rc.phantoms_or_duplicates),
        count(rc.unknown),
        count(rc.unknown_present),
        count(rc.unknown_absent)
    ));
    p.p(&format!("The auditor checked {} answers: {} disagreements.", count(l.audit.checked), count(l.audit.disagreements)));
    if !l.audit.first.is_empty() {
        let rows: Vec<Vec<String>> = l
            .audit
            .first
            .iter()
            .map(|d| {
                vec![instant(&d.at), d.kind.clone(), d.operation.to_string(), d.channel.clone(), d.expected.to_string(), d.got.to_string()]
            })
            .collect();
        let bad = vec![true; rows.len()];
        table(&mut p.body, &["at", "kind", "operation", "channel", "expected", "got"], &rows, &bad);
    }
    if !l.errors_by_kind.is_empty() {
        let rows: Vec<Vec<String>> = l.errors_by_kind.iter().map(|(k, n)| vec![k.clone(), count(*n)]).collect();
        table(&mut p.body, &["error", "#count"], &rows, &[]);
    }
    if !l.hooks.is_empty() {
        let rows: Vec<Vec<String>> = l
            .hooks
            .iter()
            .map(|h| {
                vec![
                    h.phase.clone(),
                    h.action.clone(),
                    instant(&h.due_at),
                    duration_ms(h.duration_ms),
                    if h.ok { "ok".into() } else { "FAILED".into() },
                    h.outcome.clone(),
                ]
            })
            .collect();
        let bad: Vec<bool> = l.hooks.iter().map(|h| !h.ok).collect();
        table(&mut p.body, &["phase", "hook", "due at", "#took", "result", "outcome"], &rows, &bad);
    }
}

/// The whole page.
pub fn render(r: &Report) -> String {
    let mut p = Page { body: String::new(), charts: 0 };
    let _ = write!(p.body, "<h1>Cutover rehearsal: {}</h1>", esc(&r.scenario.name));
    let _ = write!(
        p.body,
        r#"<p class="meta">{} of <code>{}</code>, seed {} (replay with <code>--seed {}</code>); timeline {} to {} ({}); {} payers active, {} attempts, {} payments accepted.</p>"#,
        esc(&r.mode),
        esc(&r.scenario.file),
        r.summary.seed,
        r.summary.seed,
        esc(&instant(&r.scenario.start)),
        esc(&instant(&r.scenario.end)),
        esc(&r.scenario.utc_offset),
        count(r.summary.payers_active),
        count(r.summary.attempts),
        count(r.summary.accepted)
    );
    verdict(&mut p, r);
    let mut nav =
        vec![("timeline", "timeline"), ("surge", "surge"), ("counters", "queues"), ("refusals", "refusals"), ("latency", "latency")];
    if r.cutover.is_some() {
        nav.push(("cutover", "cutover"));
    }
    if !r.calibration.is_empty() {
        nav.push(("calibration", "calibration"));
    }
    nav.extend([("ledger", "ledger"), ("gates", "gates")]);
    if r.live.is_some() {
        nav.push(("live", "live run"));
    }
    p.body.push_str("<nav>");
    for (id, label) in nav {
        let _ = write!(p.body, r##"<a href="#{id}">{label}</a>"##);
    }
    p.body.push_str("</nav>");
    timeline(&mut p, r);
    surge(&mut p, r);
    counters(&mut p, r);
    refusals(&mut p, r);
    latency(&mut p, r);
    cutover(&mut p, r);
    calibration(&mut p, r);
    dues(&mut p, r);
    ledger(&mut p, r);
    gates(&mut p, r);
    live(&mut p, r);
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>Cutover rehearsal: {}</title><style>{STYLE}</style></head>
<body data-charts="{}">{}{SELF_CHECK}</body></html>
"#,
        esc(&r.scenario.name),
        p.charts,
        p.body
    )
}
