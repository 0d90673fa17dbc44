//! The sections over time: the timeline per hour with the phases and holidays, the surge
//! after reopening with the batches' runs, and the queues at counters and the hotline per
//! day. Their charts are drawn on the page only; their tables and sentences are in both files.

use crate::report::Report;
use crate::report::render::human::{count, instant, instant_or, minutes};
use crate::report::render::lang::{Say, tr};
use crate::report::render::section::{Block, Section, Table};
use crate::report::render::svg::{self, Band, LineChart, Marks, Series};
use crate::scenario::ChannelKind;
use crate::time::DayKind;

/// A table of `rows` under `headers`; `bad[i]` highlights row i.
fn table(headers: &[&str], rows: Vec<Vec<String>>, bad: &[bool]) -> Table {
    let mut t = Table::new(headers);
    for (i, row) in rows.into_iter().enumerate() {
        t.row(row, bad.get(i).copied().unwrap_or(false));
    }
    t
}

/// Stretches of equal phase over the hours, as bands.
fn phase_bands(r: &Report, w: &Say) -> Vec<Band> {
    let mut bands: Vec<Band> = Vec::new();
    for (i, h) in r.hourly.iter().enumerate() {
        let label = w.phase(&h.phase);
        match bands.last_mut() {
            Some(b) if b.label == label => b.to = i + 1,
            _ => bands.push(Band { from: i, to: i + 1, label: label.to_string() }),
        }
    }
    bands
}

/// Day ticks over hours: every day's first hour, labelled at most about 14 times.
fn day_ticks_over_hours(r: &Report) -> Vec<(usize, String)> {
    let days: Vec<(usize, String)> = r
        .hourly
        .iter()
        .enumerate()
        .filter(|(_, h)| h.start.get(11..13) == Some("00"))
        .map(|(i, h)| (i, h.start[5..10].to_string()))
        .collect();
    let every = days.len().div_ceil(14).max(1);
    days.into_iter().enumerate().filter(|(k, _)| k % every == 0).map(|(_, d)| d).collect()
}

/// Holidays as spans over the hours.
fn holiday_hours(r: &Report, w: &Say) -> Marks {
    let holidays: Vec<&str> = r.days.iter().filter(|d| d.kind == DayKind::Holiday).map(|d| d.date.as_str()).collect();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for (i, h) in r.hourly.iter().enumerate() {
        if holidays.contains(&&h.start[..10]) {
            match spans.last_mut() {
                Some(s) if s.1 == i => s.1 = i + 1,
                _ => spans.push((i, i + 1)),
            }
        }
    }
    Marks { label: w.t("public holiday", "法定节假日").to_string(), spans }
}

/// The requests per hour with the phases shaded, and the phases with the channels each closes.
pub(crate) fn timeline(r: &Report, w: &Say) -> Section {
    let mut s = Section::new("timeline", w.t("Timeline", "时间线"));
    let series = |name: &str, f: fn(&crate::report::HourReport) -> u64| Series {
        name: name.to_string(),
        values: r.hourly.iter().map(|h| Some(f(h) as f64)).collect(),
    };
    let chart = LineChart {
        title: w.t(
            "Requests per hour (by the hour the attempt started; logarithmic scale), phases shaded",
            "每小时请求数（按尝试开始的小时；对数坐标），阴影为阶段",
        ),
        y_label: w.t("requests per hour (log)", "每小时请求数（对数）"),
        n: r.hourly.len(),
        x_ticks: day_ticks_over_hours(r),
        series: vec![
            series(w.t("attempts", "尝试"), |h| h.attempts),
            series(w.t("successes", "成功"), |h| h.successes),
            series(w.t("refusals", "拒绝"), |h| h.rejections),
            series(w.t("errors", "错误"), |h| h.errors),
        ],
        bands: phase_bands(r, w),
        marks: Some(holiday_hours(r, w)),
        steps: true,
        log: true,
    };
    s.blocks.push(Block::Chart(svg::Chart::Line(chart)));
    let rows: Vec<Vec<String>> = r
        .phases
        .iter()
        .map(|ph| {
            let closed = if ph.closed_channels.is_empty() { "-".to_string() } else { w.channels(&ph.closed_channels) };
            vec![w.phase(&ph.name).to_string(), instant(&ph.start), instant(&ph.end), closed]
        })
        .collect();
    let headers = if w.zh { ["阶段", "自", "至", "关闭的渠道"] } else { ["phase", "from", "to", "channels closed"] };
    s.table(table(&headers, rows, &[]));
    s
}

fn never(w: &Say, at: &Option<String>, end: &str, not_reached: bool) -> String {
    if not_reached {
        return w.t("not reached (the run ended before the reopening)", "未达到（运行在恢复缴费之前结束）").to_string();
    }
    instant_or(at, &tr!(w, "never (not by the end of the timeline, {})", "从未（截至时间线结束 {} 仍未）", instant(end)))
}

/// The reopening's backlog and busiest hours, the payments per day by kind of channel, and
/// every batch run.
pub(crate) fn surge(r: &Report, w: &Say) -> Section {
    let mut s = Section::new("surge", w.t("The surge after reopening", "恢复缴费后的高峰"));
    let ro = &r.reopening;
    let end = &r.scenario.end;
    let hour = |h: &Option<crate::report::PeakHour>| {
        h.as_ref().map(|h| tr!(w, "{} with {}", "{}，共 {} 次", instant(&h.start), count(h.attempts))).unwrap_or_else(|| "-".into())
    };
    let rows = vec![
        vec![w.t("reopening", "恢复缴费").to_string(), instant_or(&ro.at, "-")],
        vec![w.t("payers displaced by the suspension", "因暂停被推迟的缴费人").to_string(), count(ro.displaced_payers)],
        vec![
            w.t("backlog peak", "积压峰值").to_string(),
            tr!(w, "{} at {}", "{}（{}）", count(ro.backlog_peak), instant_or(&ro.backlog_peak_at, "-")),
        ],
        vec![
            w.t("90 % of the backlog cleared", "积压消化 90 %").to_string(),
            never(w, &ro.backlog_90pct_cleared_at, end, ro.not_reached.is_some()),
        ],
        vec![w.t("99 % cleared", "消化 99 %").to_string(), never(w, &ro.backlog_99pct_cleared_at, end, ro.not_reached.is_some())],
        vec![w.t("all cleared", "全部消化").to_string(), never(w, &ro.backlog_cleared_at, end, ro.not_reached.is_some())],
        vec![w.t("still waiting at the end", "结束时仍在等待").to_string(), count(ro.backlog_at_end)],
        vec![w.t("displaced payers who gave up", "被推迟后放弃的缴费人").to_string(), count(ro.displaced_gave_up)],
        vec![w.t("busiest hour of payers' own attempts", "自主缴费尝试最多的小时").to_string(), hour(&r.peak_hour_self_paid)],
        vec![w.t("busiest hour with batch debits", "含批量扣款最繁忙的小时").to_string(), hour(&r.peak_hour)],
    ];
    s.table(table(&["", ""], rows, &[]));
    if !r.days.is_empty() {
        s.blocks.push(Block::Chart(payments_per_day(r, w)));
    }
    if let Some(t) = batch_runs(r, w) {
        s.table(t);
    }
    s
}

/// Payments per day by kind of channel, the suspension's days shaded.
fn payments_per_day(r: &Report, w: &Say) -> svg::Chart {
    // Payments per day by kind of channel, the suspension's days shaded.
    let kinds = [ChannelKind::Online, ChannelKind::Offline];
    let series: Vec<Series> = kinds
        .iter()
        .map(|k| Series {
            name: tr!(w, "{} payments", "{}缴费", w.t(k.as_str(), k.label_zh())),
            values: r
                .days
                .iter()
                .map(|d| Some(d.channels.iter().filter(|c| c.kind == *k).map(|c| c.figures.payments).sum::<u64>() as f64))
                .collect(),
        })
        .collect();
    let chart = per_day(
        r,
        w,
        w.t("Payments accepted per day at the payers' own channels (batch debits below)", "自主缴费渠道每日受理的缴费（批量扣款见下表）"),
        w.t("payments per day", "每日缴费"),
        series,
        true,
    );
    svg::Chart::Line(chart)
}

/// Every batch run: what it sent, what was accepted and refused, whether it stopped.
fn batch_runs(r: &Report, w: &Say) -> Option<Table> {
    let rows: Vec<Vec<String>> = r
        .batches
        .iter()
        .flat_map(|b| {
            b.runs.iter().map(|run| {
                vec![
                    b.name.clone(),
                    w.channel(&b.channel).to_string(),
                    instant(&run.at),
                    count(run.debits_sent),
                    count(run.accepted),
                    count(run.periods_debited),
                    count(run.refused_suspended),
                    count(run.overloaded + run.other_failures),
                    if run.stopped_as_suspended { w.t("yes", "是") } else { w.t("no", "否") }.to_string(),
                ]
            })
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let headers = if w.zh {
        ["批次", "渠道", "运行时刻", "#发出扣款", "#受理", "#扣款期数", "#因暂停被拒", "#失败", "因暂停停止"]
    } else {
        [
            "batch",
            "channel",
            "run at",
            "#debits sent",
            "#accepted",
            "#periods debited",
            "#refused as suspended",
            "#failed",
            "stopped as suspended",
        ]
    };
    Some(table(&headers, rows, &[]))
}

/// A chart over the report's days: day ticks, the phases as bands, holidays marked.
fn per_day(r: &Report, w: &Say, title: &'static str, y_label: &'static str, series: Vec<Series>, steps: bool) -> LineChart<'static> {
    LineChart {
        title,
        y_label,
        n: r.days.len(),
        x_ticks: day_ticks(r),
        series,
        bands: day_bands(r, w),
        marks: Some(holiday_days(r, w)),
        steps,
        log: false,
    }
}

fn day_ticks(r: &Report) -> Vec<(usize, String)> {
    let every = r.days.len().div_ceil(14).max(1);
    r.days.iter().enumerate().filter(|(i, _)| i % every == 0).map(|(i, d)| (i, d.date[5..].to_string())).collect()
}

fn holiday_days(r: &Report, w: &Say) -> Marks {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for (i, _) in r.days.iter().enumerate().filter(|(_, d)| d.kind == DayKind::Holiday) {
        match spans.last_mut() {
            Some(s) if s.1 == i => s.1 = i + 1,
            _ => spans.push((i, i + 1)),
        }
    }
    Marks { label: w.t("public holiday", "法定节假日").to_string(), spans }
}

/// The phases as bands over days (a day belongs to the phase of its noon).
fn day_bands(r: &Report, w: &Say) -> Vec<Band> {
    let mut bands: Vec<Band> = Vec::new();
    for (i, d) in r.days.iter().enumerate() {
        let noon = format!("{} 12", d.date);
        let phase = r.hourly.iter().find(|h| h.start.starts_with(&noon)).map(|h| w.phase(&h.phase).to_string()).unwrap_or_default();
        match bands.last_mut() {
            Some(b) if b.label == phase => b.to = i + 1,
            _ => bands.push(Band { from: i, to: i + 1, label: phase }),
        }
    }
    bands
}

/// The channels where people queue: those with counters or agents (a p99 wait), the hotline.
fn queued_channels(r: &Report) -> Vec<&str> {
    let mut v: Vec<&str> = r
        .days
        .iter()
        .flat_map(|d| d.channels.iter())
        .filter(|c| c.figures.waiting_min_p99.is_some() || c.kind == ChannelKind::Hotline)
        .map(|c| c.channel.as_str())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The queues per day: the p99 wait of the channels that wait longest, each channel's worst
/// day, every day and channel (folded on the page), the backend's busiest hour.
pub(crate) fn queues(r: &Report, w: &Say) -> Option<Section> {
    let queued = queued_channels(r);
    if queued.is_empty() {
        return None;
    }
    let mut s = Section::new(
        "counters",
        w.t(
            "Queues and waiting at halls, bank counters, agencies and the hotline, per day",
            "办税大厅、银行柜台、经办机构和热线的每日排队与等待",
        ),
    );
    s.text(
        w.t(
            "Channels with counters, and the hotline's agents: who reached one, waiting for it apart from its service, their busy \
             share of the open time, most people queueing at once (per league in report.json).",
            "设有窗口的渠道及热线坐席：办理到的人数、等待与服务时间分列、开放时间内的忙碌比例、\
             同时排队的最多人数（report.json 中按盟市列出）。",
        )
        .into(),
    );
    s.blocks.extend(waiting_chart(r, w, &queued).map(Block::Chart));
    s.text(w.t("Each channel's worst day (the longest wait at p99):", "每个渠道最差的一天（p99 等待最长）：").into());
    s.table(worst_days(r, w, &queued));
    s.blocks.push(super::counters_by_day(r, w));
    s.blocks.extend(backend_chart(r, w).map(Block::Chart));
    Some(s)
}

/// The p99 wait per day at the channels whose worst day waits longest, at most eight lines.
fn waiting_chart(r: &Report, w: &Say, queued: &[&str]) -> Option<svg::Chart> {
    let worst = |ch: &str| {
        r.days
            .iter()
            .flat_map(|d| d.channels.iter())
            .filter(|c| c.channel == ch)
            .filter_map(|c| c.figures.waiting_min_p99)
            .fold(0.0f64, f64::max)
    };
    let mut ranked: Vec<(&str, f64)> = queued.iter().map(|c| (*c, worst(c))).filter(|(_, w)| *w > 0.0).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    ranked.truncate(svg::PALETTE.len());
    if ranked.is_empty() {
        return None;
    }
    let series = ranked
        .iter()
        .map(|(ch, _)| Series {
            name: w.channel(ch).to_string(),
            values: r.days.iter().map(|d| d.channels.iter().find(|c| c.channel == *ch).and_then(|c| c.figures.waiting_min_p99)).collect(),
        })
        .collect();
    let chart = per_day(
        r,
        w,
        w.t("Waiting for a counter or an agent, p99 per day (minutes)", "等待窗口或坐席的时间，每日 p99（分钟）"),
        w.t("minutes", "分钟"),
        series,
        false,
    );
    Some(svg::Chart::Line(chart))
}

/// The backend's busy share in each day's busiest hour, when it was busy at all.
fn backend_chart(r: &Report, w: &Say) -> Option<svg::Chart> {
    let util = Series {
        name: w.t("backend busy in its busiest hour", "后台在最繁忙小时的忙碌比例").to_string(),
        values: r.days.iter().map(|d| Some(d.backend.peak_hour_utilisation * 100.0)).collect(),
    };
    if !util.values.iter().flatten().any(|v| *v > 0.0) {
        return None;
    }
    let chart = per_day(
        r,
        w,
        w.t("The backend: busy share of its servers in each day's busiest hour (%)", "后台：每天最繁忙小时的服务能力占用比例（%）"),
        "%",
        vec![util],
        false,
    );
    Some(svg::Chart::Line(chart))
}

/// Each channel's worst day: the longest p99 wait (the hotline: the most callers hanging up).
fn worst_days(r: &Report, w: &Say, queued: &[&str]) -> Table {
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for ch in queued {
        let days = r.days.iter().filter_map(|d| d.channels.iter().find(|c| c.channel == *ch).map(|c| (d, &c.figures)));
        let worst = days.max_by(|(da, a), (db, b)| {
            let key = |f: &crate::report::data::days::DayFigures| (f.waiting_min_p99.unwrap_or(0.0), f.abandoned);
            key(a).0.total_cmp(&key(b).0).then(key(a).1.cmp(&key(b).1)).then(db.date.cmp(&da.date))
        });
        let Some((d, f)) = worst else { continue };
        if f.attempts == 0 && f.served_at_counters.unwrap_or(0) == 0 {
            continue;
        }
        rows.push(vec![
            w.channel(ch).to_string(),
            d.date.clone(),
            count(f.served_at_counters.unwrap_or(0)),
            f.waiting_min_p50.map(minutes).unwrap_or_else(|| "-".into()),
            f.waiting_min_p99.map(minutes).unwrap_or_else(|| "-".into()),
            f.queue_peak.map(count).unwrap_or_else(|| "-".into()),
            count(f.turned_away_at_closing),
            count(f.abandoned),
        ]);
        bad.push(f.turned_away_at_closing > 0 || f.abandoned > 0);
    }
    let headers = if w.zh {
        ["渠道", "最差的一天", "#办理", "#等待 p50", "#等待 p99", "#排队峰值", "#下班时未办理", "#挂断"]
    } else {
        ["channel", "worst day", "#served", "#wait p50", "#wait p99", "#queue peak", "#sent away at closing", "#hung up"]
    };
    table(&headers, rows, &bad)
}
