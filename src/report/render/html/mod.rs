//! `report.html`: one self-contained page beside `report.json` for the people deciding go or
//! no-go, drawn from the report alone. Inline CSS and SVG, nothing fetched (the page's
//! Content-Security-Policy forbids it), so it reads offline and travels attached to a ticket.

use crate::report::Report;
use crate::report::render::human::{count, instant};
use crate::report::render::lang::{Lang, Say, tr};
use crate::report::render::section::{self, Section, Table};
use crate::report::render::sections;
use crate::report::render::svg::esc;
use std::fmt::Write;

pub(crate) const STYLE: &str = r#"
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0 auto;max-width:1000px;padding:0 16px 48px;color:#1a1a1a;line-height:1.4}
h1{font-size:1.5em;margin:20px 0 4px}h2{font-size:1.2em;margin:28px 0 8px;border-bottom:1px solid #ccc}
.verdict{font-size:1.15em;padding:10px 14px;border-radius:4px;margin:10px 0}
.go{background:#e3f4ea;border-left:6px solid #009E73}.nogo{background:#fbe9e1;border-left:6px solid #D55E00}.incomplete{background:#fff4d6;border-left:6px solid #E69F00}
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

struct Page {
    body: String,
    charts: usize,
}

impl Page {
    fn section(&mut self, s: Section) {
        let (html, charts) = section::html(&s);
        self.body.push_str(&html);
        self.charts += charts;
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
    p.charts += section::html_block(&mut p.body, &sections::verdict_block(r, w));
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
    nav.push(("ledger", w.t("ledger", "账本")));
    if r.wrong_payments.count > 0 || r.wrong_payments.not_verified.is_some() {
        nav.push(("wrong", w.t("wrong payments", "出错的缴费")));
    }
    nav.push(("gates", w.t("gates", "门限")));
    if r.live.is_some() {
        nav.push(("live", w.t("live run", "实时演练")));
    }
    p.body.push_str("<nav>");
    for (id, label) in nav {
        let _ = write!(p.body, r##"<a href="#{id}">{label}</a>"##);
    }
    p.body.push_str("</nav>");
    p.section(sections::timeline(r, w));
    p.section(sections::surge(r, w));
    if let Some(s) = sections::queues(r, w) {
        p.section(s);
    }
    p.section(sections::refusals(r, w));
    p.section(sections::cells(r, w));
    if let Some(c) = &r.cutover {
        p.section(sections::cutover(c, w));
    }
    for s in [sections::calibration(r, w), sections::dues(r, w)].into_iter().flatten() {
        p.section(s);
    }
    p.section(sections::ledger(r, w));
    if let Some(s) = sections::wrong_payments(r, w) {
        p.section(s);
    }
    p.section(sections::gates(r, w));
    if let Some(l) = &r.live {
        p.section(sections::live(l, w));
    }
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
