//! A live run's section (how it was driven, the latency distributions, the reconciliation,
//! the auditor's disagreements, errors by kind, the runbook's hooks) and the refusals during
//! the suspension.

use super::super::human::{count, duration_ms, instant};
use super::super::lang::{Say, tr};
use super::super::section::{Block, Section, Table, Tone};
use super::super::svg::{self, LineChart, Series};
use crate::report::Report;
use crate::report::data::live::LiveReport;
use std::collections::BTreeMap;

/// Requests refused as suspended, by channel (a chart on the page), and the totals.
pub(crate) fn refusals(r: &Report, w: &Say) -> Section {
    let mut s = Section::new("refusals", w.t("Refusals during the window, by channel", "暂停期间的拒绝，按渠道"));
    let mut by_channel: BTreeMap<&str, u64> = BTreeMap::new();
    for c in &r.cells {
        *by_channel.entry(c.channel.as_str()).or_default() += c.rejected_suspended;
    }
    let mut rows: Vec<(String, f64)> =
        by_channel.into_iter().filter(|(_, n)| *n > 0).map(|(c, n)| (w.channel(c).to_string(), n as f64)).collect();
    if rows.is_empty() {
        s.text(w.t("No request was refused as suspended.", "没有请求因暂停被拒。").into());
        return s;
    }
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    s.blocks.push(Block::Chart(svg::Chart::Bars(
        w.t("Requests refused as suspended, by channel", "因暂停被拒的请求，按渠道"),
        w.t("requests refused", "被拒请求"),
        rows,
    )));
    s.text(tr!(
        w,
        "{} refused as suspended in all; {} accepted while suspended.",
        "因暂停被拒共 {} 次；暂停期间受理 {} 次。",
        count(r.summary.rejected_suspended),
        count(r.summary.accepted_while_suspended)
    ));
    s
}

/// The live run: how it was driven, both latency distributions, the reconciliation, the
/// auditor's first disagreements, errors by kind and the hooks.
pub(crate) fn live(l: &LiveReport, w: &Say) -> Section {
    let mut s = Section::new("live", w.t("The live run", "实时演练"));
    s.text(tr!(
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
    if let Some(c) = &l.threads_chosen {
        s.text(tr!(
            w,
            "The threads were chosen for the plan's busiest second: {} first attempts, one thread per {}, at most the {} cores (`--threads` chooses).",
            "线程数按计划中最忙一秒的首次请求数选定：{} 个，每 {} 个一个线程，至多 {} 个核（可用 `--threads` 指定）。",
            count(c.busiest_second),
            count(c.per_thread),
            c.cores
        ));
    }
    distributions(&mut s, l, w);
    let rc = &l.reconciliation;
    s.text(tr!(
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
    s.text(tr!(
        w,
        "The auditor checked {} answers: {} disagreements.",
        "核验检查了 {} 个答复：{} 个不一致。",
        count(l.audit.checked),
        count(l.audit.disagreements)
    ));
    if l.audit.visibility_in_real_time > 0 {
        s.text(tr!(
            w,
            "Besides: {} look-ups or certificates answered \"not visible\" where the model shows the record. The deployment keeps real time, so its records become visible {}x later on the run's clock than the model's: counted apart, not as disagreements (the reconciliation still finds a lost payment, key by key).",
            "另有 {} 次查询或开具证明答复“尚不可见”，而模型已显示该记录：部署按真实时间运行，其记录在本次运行的时钟上比模型晚 {} 倍可见，单独计数，不算不一致（丢失的缴费仍由逐笔对账发现）。",
            count(l.audit.visibility_in_real_time),
            l.time_scale
        ));
    }
    if l.audit.already_paid_while_another_in_flight > 0 {
        s.text(tr!(
            w,
            "Besides: {} payments refused as already paid while another payment of the same payer was in flight: the deployment may have decided that one first, whatever order the answers came back in. Not judged, not counted as disagreements (a second refusal or a second acceptance still is).",
            "另有 {} 笔缴费在同一缴费人的另一笔缴费处理中时被答复“已缴费”：部署可能先处理了另一笔，与答复返回的先后无关。不作判断，不算不一致（再次拒绝或再次受理仍会判断）。",
            count(l.audit.already_paid_while_another_in_flight)
        ));
    }
    if !l.audit.first.is_empty() {
        let mut t = Table::new(if w.zh {
            &["时刻", "类别", "业务", "渠道", "应为", "实为"]
        } else {
            &["at", "kind", "operation", "channel", "expected", "got"]
        });
        for d in &l.audit.first {
            let row = vec![
                instant(&d.at),
                d.kind.name().into_owned(),
                w.name(d.operation).to_string(),
                w.channel(&d.channel).to_string(),
                d.expected.as_str().to_string(),
                d.got.as_str().to_string(),
            ];
            t.row(row, true);
        }
        s.table(t);
    }
    lateness(&mut s, l, w);
    if let Some(t) = errors_by_kind(l, w) {
        s.table(t);
    }
    if let Some(t) = failures(l, w) {
        s.text(
            w.t(
                "Where the errors came from: each request as the deployment's API writes it, the kinds, the HTTP statuses (\"no answer\": timed out, refused or reset) and the first answer's body, or, when none came, what the client said of it (report.json keeps up to three).",
                "错误出自何处：按目标接口写法的请求、错误类型、HTTP 状态（“无应答”：超时、拒绝连接或连接重置）及首个应答正文；无应答时为客户端所报的原因（report.json 保留至多三个）。",
            )
            .to_string(),
        );
        s.table(t);
    }
    if let Some(t) = hooks(l, w) {
        s.table(t);
    }
    s
}

/// Both histograms of a live run as percentile distributions: response time from each
/// request's scheduled instant, service time from its send; the x axis spreads the tail
/// (p90, p99, p99.9, ...) as HdrHistogram's plots do, the y axis is logarithmic. The figures
/// are folded on the page and listed in `summary.md`.
fn distributions(s: &mut Section, l: &LiveReport, w: &Say) {
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
    s.blocks.push(Block::Chart(svg::Chart::Line(chart)));
    let mut t = Table::new(if w.zh {
        &["百分位", "#响应时间", "#服务时间"]
    } else {
        &["percentile", "#response time", "#service time"]
    });
    for (r, sv) in rt.iter().zip(st.iter()) {
        t.row(vec![label(r.percentile), duration_ms(r.ms), duration_ms(sv.ms)], false);
    }
    s.blocks.push(Block::Folded {
        summary: w.t("Both distributions in figures", "两种分布的数值").into(),
        highlighted: String::new(),
        open: false,
        all_in_text: true,
        table: t,
    });
}

/// A live run's errors by kind.
fn errors_by_kind(l: &LiveReport, w: &Say) -> Option<Table> {
    if l.errors_by_kind.is_empty() {
        return None;
    }
    let mut t = Table::new(if w.zh { &["错误", "#次数"] } else { &["error", "#count"] });
    for (k, n) in &l.errors_by_kind {
        t.row(vec![if w.zh { k.label_zh() } else { k.as_str() }.to_string(), count(*n)], false);
    }
    Some(t)
}

/// The driver's own lateness: a sentence, and past its bound the phases and channels where
/// it was late (their response times include it).
fn lateness(s: &mut Section, l: &LiveReport, w: &Say) {
    let d = &l.driver_lateness;
    s.said(
        tr!(
            w,
            "The driver's own lateness in starting requests: p50 {} ms, p99 {} ms, max {} ms (bound {} ms at p99; up to {} ms of it allowed while requests fell due close together, so that one wake-up sent several).",
            "压测端自身发出请求的滞后：p50 {} 毫秒，p99 {} 毫秒，最大 {} 毫秒（p99 界限 {} 毫秒；请求密集到期时允许至多 {} 毫秒，以便一次唤醒发出多个请求）。",
            d.ms.p50,
            d.ms.p99,
            d.ms.max,
            d.bound_ms,
            d.slack_ms
        ),
        if d.late { Tone::Bad } else { Tone::Good },
    );
    if !d.late {
        return;
    }
    let mut t = Table::new(if w.zh {
        &["阶段", "渠道", "#请求", "#p50 毫秒", "#p99 毫秒", "#最大 毫秒"]
    } else {
        &["phase", "channel", "#requests", "#p50 ms", "#p99 ms", "#max ms"]
    });
    for c in d.cells.iter().filter(|c| c.ms.p99 > d.bound_ms) {
        let row = vec![
            w.phase(&c.phase).to_string(),
            w.channel(&c.channel).to_string(),
            count(c.requests),
            c.ms.p50.to_string(),
            c.ms.p99.to_string(),
            c.ms.max.to_string(),
        ];
        t.row(row, true);
    }
    s.table(t);
}

/// Characters of a failed answer's body the table shows (report.json keeps more).
const BODY_SHOWN: usize = 120;

/// Where a live run's errors came from: per phase, channel, operation (and system, in a
/// cutover) the request, the kinds, the HTTP statuses and the first body.
fn failures(l: &LiveReport, w: &Say) -> Option<Table> {
    if l.failures.is_empty() {
        return None;
    }
    let two = l.failures.iter().any(|f| f.system != "system");
    let mut columns: Vec<&str> = if w.zh {
        vec!["阶段", "渠道", "操作", "请求", "#次数", "类型", "HTTP 状态", "首个应答"]
    } else {
        vec!["phase", "channel", "operation", "request", "#count", "kinds", "HTTP status", "first answer"]
    };
    if two {
        columns.insert(3, if w.zh { "系统" } else { "system" });
    }
    let mut t = Table::new(&columns);
    for f in &l.failures {
        let kinds = f.by_kind.iter().map(|(k, n)| format!("{} {}", if w.zh { k.label_zh() } else { k.as_str() }, count(*n)));
        let statuses = f.by_status.iter().map(|(st, n)| {
            let st = if st == "none" { w.t("no answer", "无应答").to_string() } else { st.clone() };
            format!("{st}: {}", count(*n))
        });
        // The first answer's body; for an exchange that got none, what the client said.
        let body = f.samples.first().map(|x| {
            let text = match &x.error {
                Some(e) if x.body.is_empty() => e,
                _ => &x.body,
            };
            let b: String = text.chars().take(BODY_SHOWN).collect();
            if b.len() < text.len() { b + "…" } else { b }
        });
        let mut row = vec![
            w.phase(&f.phase).to_string(),
            w.channel(&f.channel).to_string(),
            w.name(f.operation).to_string(),
            format!("{} {}", f.method, f.path),
            count(f.count),
            kinds.collect::<Vec<_>>().join(", "),
            statuses.collect::<Vec<_>>().join(", "),
            body.unwrap_or_default(),
        ];
        if two {
            row.insert(3, f.system.clone());
        }
        t.row(row, true);
    }
    Some(t)
}

/// A live run's hooks: when each was due, how long it took, what it said; failed ones
/// highlighted.
fn hooks(l: &LiveReport, w: &Say) -> Option<Table> {
    if l.hooks.is_empty() {
        return None;
    }
    let mut t = Table::new(if w.zh {
        &["阶段", "操作步骤", "预定时刻", "#用时", "结果", "输出"]
    } else {
        &["phase", "hook", "due at", "#took", "result", "outcome"]
    });
    for h in &l.hooks {
        let result = if w.zh { h.state.label_zh() } else { h.state.label() };
        let row = vec![
            w.phase(&h.phase).to_string(),
            h.action.clone(),
            instant(&h.due_at),
            duration_ms(h.duration_ms),
            result.to_string(),
            h.outcome.clone(),
        ];
        t.row(row, h.state == crate::report::data::live::HookState::Failed);
    }
    Some(t)
}
