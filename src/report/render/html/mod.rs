//! `report.html`: one self-contained page beside `report.json` for the people deciding go or
//! no-go, drawn from the report alone. Inline CSS and SVG, nothing fetched (the page's
//! Content-Security-Policy forbids it), so it reads offline and travels attached to a ticket.

use crate::report::render::human::{count, duration_ms, gate_value, instant, percent};
use crate::report::render::lang::{Lang, Say, tr};
use crate::report::render::section::{self, Section, Table};
use crate::report::render::sections;
use crate::report::render::svg::{self, LineChart, Series, esc};
use crate::report::{GateResult, Report};
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
    fn section(&mut self, s: Section) {
        let (html, charts) = section::html(&s);
        self.body.push_str(&html);
        self.charts += charts;
    }
    fn p(&mut self, text: &str) {
        let _ = write!(self.body, "<p>{}</p>", esc(text));
    }
}

/// A table; a column whose header starts with `#` is numeric (right-aligned, `#` dropped).
/// `bad[i]` highlights row i.
pub(crate) fn table(o: &mut String, headers: &[&str], rows: &[Vec<String>], bad: &[bool]) {
    let mut t = Table::new(headers);
    for (i, row) in rows.iter().enumerate() {
        t.row(row.clone(), bad.get(i).copied().unwrap_or(false));
    }
    section::html_table(o, &t);
}

/// How far a failed gate is past its bound.
fn past_bound(w: &Say, g: &GateResult) -> String {
    let by = if g.max > 0.0 { percent((g.value - g.max) / g.max) } else { (g.value - g.max).to_string() };
    tr!(w, "{by} over", "超出 {by}")
}

/// The verdict at the top: go when every gate passed, the ledger agrees and the run was whole.
fn verdict(p: &mut Page, r: &Report, w: &Say) {
    let failed: Vec<&GateResult> = r.gates.iter().filter(|g| !g.passed).collect();
    let interrupted = r.live.as_ref().is_some_and(|l| l.interrupted);
    let mut reasons: Vec<String> = failed
        .iter()
        .map(|g| match (&g.detail, g.no_data) {
            (Some(_), _) | (_, true) => format!("{}: {}", g.name(), w.measured(g)),
            (None, false) => tr!(
                w,
                "{}: measured {}, bound {} ({})",
                "{}：实测 {}，限值 {}（{}）",
                g.name(),
                gate_value(g, g.value),
                gate_value(g, g.max),
                past_bound(w, g)
            ),
        })
        .collect();
    if r.ledger.mismatched_cells > 0 {
        reasons.push(tr!(w, "{} ledger cells differ", "账本有 {} 个单元格不符", r.ledger.mismatched_cells));
    }
    if interrupted {
        reasons.push(w.t("the run was interrupted", "运行被中断").to_string());
    }
    if let Some(why) = r.live.as_ref().and_then(|l| l.aborted.as_ref()) {
        reasons.push(tr!(w, "the load was aborted early: {why}", "负载被提前中止：{why}"));
    }
    if reasons.is_empty() {
        let _ = write!(
            p.body,
            r#"<div class="verdict go"><strong>GO</strong>: {}</div>"#,
            esc(&tr!(
                w,
                "all {} gates passed and the ledger agrees ({} cells).",
                "全部 {} 项门限通过，账本一致（{} 个单元格）。",
                r.gates.len(),
                r.ledger.cells.len()
            ))
        );
    } else {
        let _ = write!(
            p.body,
            r#"<div class="verdict nogo"><strong>NO-GO</strong>: {}<ul>"#,
            esc(&tr!(w, "{} of {} gates failed.", "{1} 项门限中 {0} 项未通过。", failed.len(), r.gates.len()))
        );
        for why in reasons {
            let _ = write!(p.body, "<li>{}</li>", esc(&why));
        }
        p.body.push_str("</ul></div>");
    }
}

fn refusals(p: &mut Page, r: &Report, w: &Say) {
    let mut by_channel: BTreeMap<&str, u64> = BTreeMap::new();
    for c in &r.cells {
        *by_channel.entry(c.channel.as_str()).or_default() += c.rejected_suspended;
    }
    let mut rows: Vec<(String, f64)> =
        by_channel.into_iter().filter(|(_, n)| *n > 0).map(|(c, n)| (w.channel(c).to_string(), n as f64)).collect();
    p.h2("refusals", w.t("Refusals during the window, by channel", "暂停期间的拒绝，按渠道"));
    if rows.is_empty() {
        p.p(w.t("No request was refused as suspended.", "没有请求因暂停被拒。"));
        return;
    }
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    p.chart(svg::bars(
        w.t("Requests refused as suspended, by channel", "因暂停被拒的请求，按渠道"),
        w.t("requests refused", "被拒请求"),
        &rows,
    ));
    p.p(&tr!(
        w,
        "{} refused as suspended in all; {} accepted while suspended.",
        "因暂停被拒共 {} 次；暂停期间受理 {} 次。",
        count(r.summary.rejected_suspended),
        count(r.summary.accepted_while_suspended)
    ));
}

fn live(p: &mut Page, r: &Report, w: &Say) {
    let Some(l) = &r.live else { return };
    p.h2("live", w.t("The live run", "实时演练"));
    p.p(&tr!(
        w,
        "{} via {} at {}x time, {} connections on {} threads: {} requests in {:.1} s ({:.0} per second), {} not sent{}.",
        "{}，经 {}，{} 倍速，{} 个连接、{} 个线程：{} 个请求用时 {:.1} s（每秒 {:.0} 个），未发出 {}{}。",
        l.target,
        l.transport,
        l.time_scale,
        l.connections,
        l.threads,
        count(l.requests_completed),
        l.wall_seconds,
        l.requests_per_second,
        count(l.not_sent),
        if l.interrupted { w.t("; INTERRUPTED", "；已中断") } else { "" }
    ));
    distributions(p, l, w);
    let rc = &l.reconciliation;
    p.p(&tr!(
        w,
        "Reconciliation: {} acknowledged, {} lost, {} phantom or duplicate ledger entries, {} unknown ({} present, {} absent).",
        "对账：确认 {}，丢失 {}，虚增或重复入账 {}，结果未知 {}（在账 {}，不在账 {}）。",
        count(rc.acknowledged),
        count(rc.lost),
        count(rc.phantoms_or_duplicates),
        count(rc.unknown),
        count(rc.unknown_present),
        count(rc.unknown_absent)
    ));
    p.p(&tr!(
        w,
        "The auditor checked {} answers: {} disagreements.",
        "核验检查了 {} 个答复：{} 个不一致。",
        count(l.audit.checked),
        count(l.audit.disagreements)
    ));
    if !l.audit.first.is_empty() {
        let rows: Vec<Vec<String>> = l
            .audit
            .first
            .iter()
            .map(|d| {
                vec![
                    instant(&d.at),
                    d.kind.clone(),
                    w.name(d.operation).to_string(),
                    w.channel(&d.channel).to_string(),
                    d.expected.to_string(),
                    d.got.to_string(),
                ]
            })
            .collect();
        let bad = vec![true; rows.len()];
        let headers = if w.zh {
            ["时刻", "类别", "业务", "渠道", "应为", "实为"]
        } else {
            ["at", "kind", "operation", "channel", "expected", "got"]
        };
        table(&mut p.body, &headers, &rows, &bad);
    }
    for t in [sections::errors_by_kind(l, w), sections::hooks(l, w)].into_iter().flatten() {
        section::html_table(&mut p.body, &t);
    }
}

/// Both histograms of a live run as percentile distributions: response time from each
/// request's scheduled instant, service time from its send; the x axis spreads the tail
/// (p90, p99, p99.9, ...) as HdrHistogram's plots do, the y axis is logarithmic.
fn distributions(p: &mut Page, l: &crate::report::data::live::LiveReport, w: &Say) {
    let (rt, st) = (&l.response_time_distribution, &l.service_time_distribution);
    if rt.is_empty() {
        return;
    }
    // Microseconds, so that sub-millisecond service times stay above the log axis's 1.
    let us = |d: &[crate::report::Quantile]| d.iter().map(|q| Some(q.ms * 1000.0)).collect::<Vec<_>>();
    let label = |pct: f64| match pct {
        0.0 => w.t("min", "最小").to_string(),
        100.0 => w.t("max", "最大").to_string(),
        _ => format!("p{pct}"),
    };
    let chart = LineChart {
        title: w.t(
            "Response time (from the scheduled instant) and service time (from the send) by percentile, microseconds",
            "按百分位的响应时间（从预定时刻起）与服务时间（从发出起），微秒",
        ),
        y_label: w.t("µs (log; 1k = 1 ms)", "微秒（对数；1k = 1 ms）"),
        n: rt.len(),
        x_ticks: rt
            .iter()
            .enumerate()
            .filter(|(_, q)| [0.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0].contains(&q.percentile))
            .map(|(i, q)| (i, label(q.percentile)))
            .collect(),
        series: vec![
            Series { name: w.t("response time", "响应时间").into(), values: us(rt) },
            Series { name: w.t("service time", "服务时间").into(), values: us(st) },
        ],
        bands: vec![],
        marks: None,
        steps: false,
        log: true,
    };
    p.chart(chart.render());
    let rows: Vec<Vec<String>> =
        rt.iter().zip(st.iter()).map(|(r, s)| vec![label(r.percentile), duration_ms(r.ms), duration_ms(s.ms)]).collect();
    let _ = write!(p.body, "<details><summary>{}</summary>", w.t("Both distributions in figures", "两种分布的数值"));
    let headers = if w.zh { ["百分位", "#响应时间", "#服务时间"] } else { ["percentile", "#response time", "#service time"] };
    table(&mut p.body, &headers, &rows, &[]);
    p.body.push_str("</details>");
}

/// The whole page.
pub fn render(r: &Report, lang: Lang) -> String {
    let w = &Say::new(r, lang);
    let mut p = Page { body: String::new(), charts: 0 };
    let title = tr!(w, "Cutover rehearsal: {}", "切换演练：{}", r.scenario.name);
    let _ = write!(p.body, "<h1>{}</h1>", esc(&title));
    let meta = tr!(
        w,
        "{} of {}, seed {} (replay with --seed {}); timeline {} to {} (local time, UTC{}); {} payers active, {} attempts, {} payments accepted.",
        "{}：{}，种子 {}（用 --seed {} 重放）；时间线 {} 至 {}（当地时间，UTC{}）；活跃缴费人 {}，尝试 {}，缴费受理 {}。",
        w.name(r.mode),
        r.scenario.file,
        r.summary.seed,
        r.summary.seed,
        instant(&r.scenario.start),
        instant(&r.scenario.end),
        r.scenario.utc_offset,
        count(r.summary.payers_active),
        count(r.summary.attempts),
        count(r.summary.accepted)
    );
    let _ = write!(p.body, r#"<p class="meta">{}</p>"#, esc(&meta));
    verdict(&mut p, r, w);
    let mut nav = vec![
        ("timeline", w.t("timeline", "时间线")),
        ("surge", w.t("surge", "恢复后高峰")),
        ("counters", w.t("queues", "排队")),
        ("refusals", w.t("refusals", "拒绝")),
        ("latency", w.t("latency", "延迟")),
    ];
    if r.cutover.is_some() {
        nav.push(("cutover", w.t("cutover", "系统切换")));
    }
    if !r.calibration.is_empty() {
        nav.push(("calibration", w.t("calibration", "校准")));
    }
    nav.extend([("ledger", w.t("ledger", "账本")), ("gates", w.t("gates", "门限"))]);
    if r.live.is_some() {
        nav.push(("live", w.t("live run", "实时演练")));
    }
    p.body.push_str("<nav>");
    for (id, label) in nav {
        let _ = write!(p.body, r##"<a href="#{id}">{label}</a>"##);
    }
    p.body.push_str("</nav>");
    timeline(&mut p, r, w);
    surge(&mut p, r, w);
    counters(&mut p, r, w);
    refusals(&mut p, r, w);
    p.section(sections::cells(r, w));
    if let Some(c) = &r.cutover {
        p.section(sections::cutover(c, w));
    }
    for s in [sections::calibration(r, w), sections::dues(r, w)].into_iter().flatten() {
        p.section(s);
    }
    p.section(sections::ledger(r, w));
    p.section(sections::gates(r, w));
    live(&mut p, r, w);
    format!(
        r#"<!DOCTYPE html>
<html lang="{}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{}</title><style>{STYLE}</style></head>
<body data-charts="{}">{}{SELF_CHECK}</body></html>
"#,
        if w.zh { "zh-CN" } else { "en" },
        esc(&title),
        p.charts,
        p.body
    )
}
