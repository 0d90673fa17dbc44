//! `sweep.md` and `sweep.html`: a sweep's combinations side by side, the cheapest passing
//! one named.

use super::{Combination, Spread, Sweep};
use crate::report::human::{count, duration_ms, instant, minutes};
use crate::report::svg::{self, esc};
use std::fmt::Write;

fn value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// A figure over seeds: the value alone for one seed, else `median (min–max)`.
fn spread<T>(s: &Option<Spread<T>>, show: impl Fn(&T) -> String, seeds: usize) -> String {
    match s {
        None => "-".into(),
        Some(s) if seeds == 1 => show(&s.median),
        Some(s) => format!("{} ({}–{})", show(&s.median), show(&s.min), show(&s.max)),
    }
}

fn when(s: &String) -> String {
    if s == "never" { s.clone() } else { instant(s) }
}

fn row(sw: &Sweep, c: &Combination) -> Vec<String> {
    let n = sw.seeds.len();
    let mut r = vec![c.index.to_string()];
    r.extend(c.values.iter().map(|(_, v)| value(v)));
    r.push(c.cost.map(|x| format!("{x:.0}")).unwrap_or_else(|| "-".into()));
    r.push(if c.passed { "pass".into() } else { format!("FAIL ({} of {n} seeds pass)", c.seeds_passed) });
    for (_, w) in &c.channel_wait_p99_min {
        r.push(spread(w, |m| minutes(*m), n));
    }
    r.push(spread(&c.offline_wait_p99_min, |m| minutes(*m), n));
    r.push(spread(&c.hotline_wait_p99_min, |m| minutes(*m), n));
    r.push(spread(&c.online_pay_p99_ms, |m| duration_ms(*m), n));
    r.push(spread(&c.backlog_90pct_cleared_at, when, n));
    r.push(spread(&c.backlog_cleared_at, when, n));
    r.push(spread(&c.gave_up, |g| count(*g), n));
    r
}

fn headers(sw: &Sweep) -> Vec<String> {
    let mut h = vec!["#".to_string()];
    h.extend(sw.varied.iter().cloned());
    h.extend(["cost".to_string(), "gates".to_string()]);
    if let Some(c) = sw.combinations.first() {
        h.extend(c.channel_wait_p99_min.iter().map(|(ch, _)| format!("worst p99 wait at {ch}")));
    }
    h.extend(
        [
            "worst p99 wait at any counter",
            "worst p99 wait at the hotline",
            "online pay p99",
            "90 % of the backlog cleared",
            "all cleared",
            "gave up",
        ]
        .map(String::from),
    );
    h
}

fn verdict(sw: &Sweep) -> String {
    match sw.cheapest_passing {
        Some(i) => {
            let c = &sw.combinations[i];
            let what: Vec<String> = c.values.iter().map(|(p, v)| format!("{p} = {}", value(v))).collect();
            format!(
                "The cheapest combination that passes every gate{}: #{i}, {} (cost {:.0}).",
                if sw.seeds.len() > 1 { format!(" for all {} seeds", sw.seeds.len()) } else { String::new() },
                what.join(", "),
                c.cost.unwrap_or(0.0)
            )
        }
        None if sw.passing == 0 => "No combination passes every gate.".to_string(),
        None => format!("{} combinations pass every gate; the scenario gives no `costs` to choose the cheapest.", sw.passing),
    }
}

fn seeds_line(sw: &Sweep) -> String {
    if sw.seeds.len() == 1 {
        format!("Seed {}.", sw.seeds[0])
    } else {
        format!(
            "Seeds {} to {} (the same for every combination); each figure is the median over them with its min–max.",
            sw.seeds[0],
            sw.seeds[sw.seeds.len() - 1]
        )
    }
}

pub fn markdown(sw: &Sweep) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Sweep: {}\n\n{}\n\n{}\n", sw.scenario, verdict(sw), seeds_line(sw));
    let h = headers(sw);
    let _ = writeln!(o, "| {} |", h.join(" | "));
    let _ = writeln!(o, "|{}", "---|".repeat(h.len()));
    for c in &sw.combinations {
        let mut r = row(sw, c);
        if Some(c.index) == sw.cheapest_passing {
            r[0] = format!("**{}**", r[0]);
        }
        let _ = writeln!(o, "| {} |", r.join(" | "));
    }
    let _ = writeln!(
        o,
        "\nEach combination's scenario is in `scenarios/combination-N.json` beside this file; `cutover simulate` on it with the seed gives the same figures."
    );
    o
}

pub fn html(sw: &Sweep) -> String {
    let mut body = String::new();
    let _ = write!(body, "<h1>Sweep: {}</h1>", esc(&sw.scenario));
    let class = if sw.passing > 0 { "go" } else { "nogo" };
    let _ = write!(body, r#"<div class="verdict {class}">{}</div><p class="meta">{}</p>"#, esc(&verdict(sw)), esc(&seeds_line(sw)));
    let h = headers(sw);
    let hs: Vec<&str> = h.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = sw.combinations.iter().map(|c| row(sw, c)).collect();
    let bad: Vec<bool> = sw.combinations.iter().map(|c| !c.passed).collect();
    crate::report::html::table(&mut body, &hs, &rows, &bad);
    let label = |c: &Combination| {
        c.values.iter().map(|(p, v)| format!("{}={}", p.rsplit('.').next().unwrap_or(p), value(v))).collect::<Vec<_>>().join(" ")
    };
    let mut charts = 0;
    for (k, (ch, _)) in sw.combinations.first().map(|c| c.channel_wait_p99_min.clone()).unwrap_or_default().iter().enumerate() {
        let bars: Vec<(String, f64)> = sw
            .combinations
            .iter()
            .filter_map(|c| c.channel_wait_p99_min[k].1.as_ref().map(|s| (format!("#{} {}", c.index, label(c)), s.median)))
            .collect();
        if !bars.is_empty() {
            body.push_str(&svg::bars(&format!("Worst day's p99 wait at {ch} (median over seeds)"), "minutes", &bars));
            charts += 1;
        }
    }
    for (title, unit, get) in [
        (
            "Worst day's p99 wait at any counter (median over seeds)",
            "minutes",
            (|c: &Combination| c.offline_wait_p99_min.as_ref().map(|s| s.median)) as fn(&Combination) -> Option<f64>,
        ),
        ("Worst day's p99 wait at the hotline (median over seeds)", "minutes", |c: &Combination| {
            c.hotline_wait_p99_min.as_ref().map(|s| s.median)
        }),
    ] {
        let bars: Vec<(String, f64)> =
            sw.combinations.iter().filter_map(|c| get(c).map(|v| (format!("#{} {}", c.index, label(c)), v))).collect();
        if !bars.is_empty() {
            body.push_str(&svg::bars(title, unit, &bars));
            charts += 1;
        }
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Sweep: {}</title><style>{}</style></head>
<body data-charts="{charts}">{body}</body></html>
"#,
        esc(&sw.scenario),
        crate::report::html::STYLE
    )
}
