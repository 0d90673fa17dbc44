//! `sweep.md` and `sweep.html`: a sweep's combinations side by side, the cheapest passing
//! one named.

use super::{Combination, Spread, Sweep};
use crate::report::render::human::{count, duration_ms, instant, minutes};
use crate::report::render::lang::{Say, tr};
use crate::report::render::svg::{self, esc};
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

fn row(sw: &Sweep, c: &Combination, w: &Say) -> Vec<String> {
    let when = |s: &String| if s == "never" { w.t("never", "从未").to_string() } else { instant(s) };
    let n = sw.seeds.len();
    let mut r = vec![c.index.to_string()];
    r.extend(c.values.iter().map(|(_, v)| value(v)));
    r.push(c.cost.map(|x| format!("{x:.0}")).unwrap_or_else(|| "-".into()));
    r.push(if c.passed {
        w.t("pass", "通过").into()
    } else {
        tr!(w, "FAIL ({} of {n} seeds pass)", "未通过（{n} 个种子中 {} 个通过）", c.seeds_passed)
    });
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

fn headers(sw: &Sweep, w: &Say) -> Vec<String> {
    let mut h = vec!["#".to_string()];
    h.extend(sw.varied.iter().cloned());
    h.extend([w.t("cost", "成本").to_string(), w.t("gates", "门限").to_string()]);
    if let Some(c) = sw.combinations.first() {
        h.extend(c.channel_wait_p99_min.iter().map(|(ch, _)| tr!(w, "worst p99 wait at {}", "{} 最差 p99 等待", w.channel(ch))));
    }
    h.extend(
        [
            w.t("worst p99 wait at any counter", "各窗口最差 p99 等待"),
            w.t("worst p99 wait at the hotline", "热线最差 p99 等待"),
            w.t("online pay p99", "线上缴费 p99"),
            w.t("90 % of the backlog cleared", "积压消化 90 %"),
            w.t("all cleared", "全部消化"),
            w.t("gave up", "放弃"),
        ]
        .map(String::from),
    );
    h
}

fn verdict(sw: &Sweep, w: &Say) -> String {
    match sw.cheapest_passing {
        Some(i) => {
            let c = &sw.combinations[i];
            let what: Vec<String> = c.values.iter().map(|(p, v)| format!("{p} = {}", value(v))).collect();
            let all =
                if sw.seeds.len() > 1 { tr!(w, " for all {} seeds", "（全部 {} 个种子）", sw.seeds.len()) } else { String::new() };
            tr!(
                w,
                "The cheapest combination that passes every gate{}: #{i}, {} (cost {:.0}).",
                "通过全部门限的最便宜组合{}：#{i}，{}（成本 {:.0}）。",
                all,
                what.join(", "),
                c.cost.unwrap_or(0.0)
            )
        }
        None if sw.passing == 0 => w.t("No combination passes every gate.", "没有组合通过全部门限。").to_string(),
        None => tr!(
            w,
            "{} combinations pass every gate; the scenario gives no `costs` to choose the cheapest.",
            "{} 个组合通过全部门限；场景未给出 `costs`，无法选出最便宜的。",
            sw.passing
        ),
    }
}

fn seeds_line(sw: &Sweep, w: &Say) -> String {
    if sw.seeds.len() == 1 {
        tr!(w, "Seed {}.", "种子 {}。", sw.seeds[0])
    } else {
        tr!(
            w,
            "Seeds {} to {} (the same for every combination); each figure is the median over them with its min–max.",
            "种子 {} 至 {}（每个组合相同）；每个数值为其中位数，括号内为最小–最大。",
            sw.seeds[0],
            sw.seeds[sw.seeds.len() - 1]
        )
    }
}

pub fn markdown(sw: &Sweep, w: &Say) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}\n\n{}\n\n{}\n", tr!(w, "# Sweep: {}", "# 容量扫描：{}", sw.scenario), verdict(sw, w), seeds_line(sw, w));
    let h = headers(sw, w);
    let _ = writeln!(o, "| {} |", h.join(" | "));
    let _ = writeln!(o, "|{}", "---|".repeat(h.len()));
    for c in &sw.combinations {
        let mut r = row(sw, c, w);
        if Some(c.index) == sw.cheapest_passing {
            r[0] = format!("**{}**", r[0]);
        }
        let _ = writeln!(o, "| {} |", r.join(" | "));
    }
    let _ = writeln!(
        o,
        "\n{}",
        w.t(
            "Each combination's scenario is in `scenarios/combination-N.json` beside this file; `cutover simulate` on it with the seed gives the same figures.",
            "每个组合的场景在本文件旁的 `scenarios/combination-N.json` 中；对它用同一种子运行 `cutover simulate` 得到相同的数值。"
        )
    );
    o
}

pub fn html(sw: &Sweep, w: &Say) -> String {
    let mut body = String::new();
    let title = tr!(w, "Sweep: {}", "容量扫描：{}", sw.scenario);
    let _ = write!(body, "<h1>{}</h1>", esc(&title));
    let class = if sw.passing > 0 { "go" } else { "nogo" };
    let _ = write!(body, r#"<div class="verdict {class}">{}</div><p class="meta">{}</p>"#, esc(&verdict(sw, w)), esc(&seeds_line(sw, w)));
    let h = headers(sw, w);
    let hs: Vec<&str> = h.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = sw.combinations.iter().map(|c| row(sw, c, w)).collect();
    let bad: Vec<bool> = sw.combinations.iter().map(|c| !c.passed).collect();
    crate::report::render::html::table(&mut body, &hs, &rows, &bad);
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
            let title = tr!(w, "Worst day's p99 wait at {} (median over seeds)", "{} 最差一天的 p99 等待（各种子的中位数）", w.channel(ch));
            body.push_str(&svg::bars(&title, w.t("minutes", "分钟"), &bars));
            charts += 1;
        }
    }
    let unit = w.t("minutes", "分钟");
    for (title, get) in [
        (
            w.t("Worst day's p99 wait at any counter (median over seeds)", "各窗口最差一天的 p99 等待（各种子的中位数）"),
            (|c: &Combination| c.offline_wait_p99_min.as_ref().map(|s| s.median)) as fn(&Combination) -> Option<f64>,
        ),
        (
            w.t("Worst day's p99 wait at the hotline (median over seeds)", "热线最差一天的 p99 等待（各种子的中位数）"),
            |c: &Combination| c.hotline_wait_p99_min.as_ref().map(|s| s.median),
        ),
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
<html lang="{}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{}</title><style>{}</style></head>
<body data-charts="{charts}">{body}</body></html>
"#,
        if w.zh { "zh-CN" } else { "en" },
        esc(&title),
        crate::report::render::html::STYLE
    )
}
