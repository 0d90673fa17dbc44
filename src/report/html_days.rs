//! The sections of `report.html` over time: the timeline per hour with the phases and
//! holidays, the surge after reopening, and the queues at counters and the hotline per day.

use super::super::human::{count, instant, instant_or, minutes, percent};
use super::super::svg::{self, Band, LineChart, Marks, Series};
use super::{Page, table};
use crate::report::Report;

/// Stretches of equal phase over the hours, as bands.
fn phase_bands(r: &Report) -> Vec<Band> {
    let mut bands: Vec<Band> = Vec::new();
    for (i, h) in r.hourly.iter().enumerate() {
        match bands.last_mut() {
            Some(b) if b.label == h.phase => b.to = i + 1,
            _ => bands.push(Band { from: i, to: i + 1, label: h.phase.clone() }),
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
fn holiday_hours(r: &Report) -> Marks {
    let holidays: Vec<&str> = r.days.iter().filter(|d| d.kind == "holiday").map(|d| d.date.as_str()).collect();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for (i, h) in r.hourly.iter().enumerate() {
        if holidays.contains(&&h.start[..10]) {
            match spans.last_mut() {
                Some(s) if s.1 == i => s.1 = i + 1,
                _ => spans.push((i, i + 1)),
            }
        }
    }
    Marks { label: "public holiday".to_string(), spans }
}

pub(super) fn timeline(p: &mut Page, r: &Report) {
    p.h2("timeline", "Timeline: attempts, successes and refusals per hour");
    let series = |name: &str, f: fn(&crate::report::HourReport) -> u64| Series {
        name: name.to_string(),
        values: r.hourly.iter().map(|h| Some(f(h) as f64)).collect(),
    };
    let chart = LineChart {
        title: "Requests per hour (by the hour the attempt started; logarithmic scale), phases shaded",
        y_label: "requests per hour (log)",
        n: r.hourly.len(),
        x_ticks: day_ticks_over_hours(r),
        series: vec![
            series("attempts", |h| h.attempts),
            series("successes", |h| h.successes),
            series("refusals", |h| h.rejections),
            series("errors", |h| h.errors),
        ],
        bands: phase_bands(r),
        marks: Some(holiday_hours(r)),
        steps: true,
        log: true,
    };
    p.chart(chart.render());
    let rows: Vec<Vec<String>> =
        r.phases.iter().map(|ph| vec![ph.name.clone(), instant(&ph.start), instant(&ph.end), ph.closed_channels.join(", ")]).collect();
    table(&mut p.body, &["phase", "from", "to", "channels closed"], &rows, &[]);
}

fn never(at: &Option<String>, end: &str) -> String {
    instant_or(at, &format!("never (not by the end of the timeline, {})", instant(end)))
}

pub(super) fn surge(p: &mut Page, r: &Report) {
    p.h2("surge", "The surge after reopening");
    let ro = &r.reopening;
    let end = &r.scenario.end;
    let rows = vec![
        vec!["reopening".to_string(), instant_or(&ro.at, "-")],
        vec!["payers displaced by the suspension".to_string(), count(ro.displaced_payers)],
        vec!["backlog peak".to_string(), format!("{} at {}", count(ro.backlog_peak), instant_or(&ro.backlog_peak_at, "-"))],
        vec!["90 % of the backlog cleared".to_string(), never(&ro.backlog_90pct_cleared_at, end)],
        vec!["99 % cleared".to_string(), never(&ro.backlog_99pct_cleared_at, end)],
        vec!["all cleared".to_string(), never(&ro.backlog_cleared_at, end)],
        vec!["still waiting at the end".to_string(), count(ro.backlog_at_end)],
        vec!["displaced payers who gave up".to_string(), count(ro.displaced_gave_up)],
        vec![
            "busiest hour of payers' own attempts".to_string(),
            r.peak_hour_self_paid
                .as_ref()
                .map(|h| format!("{} with {}", instant(&h.start), count(h.attempts)))
                .unwrap_or_else(|| "-".into()),
        ],
        vec![
            "busiest hour with batch debits".to_string(),
            r.peak_hour.as_ref().map(|h| format!("{} with {}", instant(&h.start), count(h.attempts))).unwrap_or_else(|| "-".into()),
        ],
    ];
    table(&mut p.body, &["", ""], &rows, &[]);
    if r.days.is_empty() {
        return;
    }
    // Payments per day by kind of channel, the suspension's days shaded.
    let kinds = ["online", "offline"];
    let series: Vec<Series> = kinds
        .iter()
        .map(|k| Series {
            name: format!("{k} payments"),
            values: r
                .days
                .iter()
                .map(|d| Some(d.channels.iter().filter(|c| c.kind == *k).map(|c| c.figures.payments).sum::<u64>() as f64))
                .collect(),
        })
        .collect();
    let chart = per_day(r, "Payments accepted per day at the payers' own channels (batch debits below)", "payments per day", series, true);
    p.chart(chart.render());
    let rows: Vec<Vec<String>> = r
        .batches
        .iter()
        .flat_map(|b| {
            b.runs.iter().map(|run| {
                vec![
                    b.name.clone(),
                    b.channel.clone(),
                    instant(&run.at),
                    count(run.debits_sent),
                    count(run.accepted),
                    count(run.refused_suspended),
                    count(run.overloaded + run.other_failures),
                ]
            })
        })
        .collect();
    if !rows.is_empty() {
        table(&mut p.body, &["batch", "channel", "run at", "#debits sent", "#accepted", "#refused as suspended", "#failed"], &rows, &[]);
    }
}

/// A chart over the report's days: day ticks, the phases as bands, holidays marked.
fn per_day<'a>(r: &Report, title: &'a str, y_label: &'a str, series: Vec<Series>, steps: bool) -> LineChart<'a> {
    LineChart {
        title,
        y_label,
        n: r.days.len(),
        x_ticks: day_ticks(r),
        series,
        bands: day_bands(r),
        marks: Some(holiday_days(r)),
        steps,
        log: false,
    }
}

fn day_ticks(r: &Report) -> Vec<(usize, String)> {
    let every = r.days.len().div_ceil(14).max(1);
    r.days.iter().enumerate().filter(|(i, _)| i % every == 0).map(|(i, d)| (i, d.date[5..].to_string())).collect()
}

fn holiday_days(r: &Report) -> Marks {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for (i, _) in r.days.iter().enumerate().filter(|(_, d)| d.kind == "holiday") {
        match spans.last_mut() {
            Some(s) if s.1 == i => s.1 = i + 1,
            _ => spans.push((i, i + 1)),
        }
    }
    Marks { label: "public holiday".to_string(), spans }
}

/// The phases as bands over days (a day belongs to the phase of its noon).
fn day_bands(r: &Report) -> Vec<Band> {
    let mut bands: Vec<Band> = Vec::new();
    for (i, d) in r.days.iter().enumerate() {
        let noon = format!("{} 12", d.date);
        let phase = r.hourly.iter().find(|h| h.start.starts_with(&noon)).map(|h| h.phase.clone()).unwrap_or_default();
        match bands.last_mut() {
            Some(b) if b.label == phase => b.to = i + 1,
            _ => bands.push(Band { from: i, to: i + 1, label: phase }),
        }
    }
    bands
}

pub(super) fn counters(p: &mut Page, r: &Report) {
    let queued: Vec<&str> = {
        let mut v: Vec<&str> = r
            .days
            .iter()
            .flat_map(|d| d.channels.iter())
            .filter(|c| c.figures.waiting_min_p99.is_some() || c.kind == "hotline")
            .map(|c| c.channel.as_str())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    if queued.is_empty() {
        return;
    }
    p.h2("counters", "Queues and waiting at halls, bank counters, agencies and the hotline, per day");
    // The channels whose worst day waits longest, at most eight lines.
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
    if !ranked.is_empty() {
        let series = ranked
            .iter()
            .map(|(ch, _)| Series {
                name: ch.to_string(),
                values: r
                    .days
                    .iter()
                    .map(|d| d.channels.iter().find(|c| c.channel == *ch).and_then(|c| c.figures.waiting_min_p99))
                    .collect(),
            })
            .collect();
        let chart = per_day(r, "Waiting for a counter or an agent, p99 per day (minutes)", "minutes", series, false);
        p.chart(chart.render());
    }
    worst_days(p, r, &queued);
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for d in &r.days {
        for c in d.channels.iter().filter(|c| queued.contains(&c.channel.as_str())) {
            let f = &c.figures;
            if f.attempts == 0 && f.served_at_counters.unwrap_or(0) == 0 {
                continue;
            }
            let m = |v: Option<f64>| v.map(minutes).unwrap_or_else(|| "-".into());
            rows.push(vec![
                d.date.clone(),
                d.kind.to_string(),
                c.channel.clone(),
                count(f.served_at_counters.unwrap_or(0)),
                m(f.waiting_min_p50),
                m(f.waiting_min_p99),
                m(f.service_min_p50),
                f.counter_utilisation.map(percent).unwrap_or_else(|| "-".into()),
                f.queue_peak.map(count).unwrap_or_else(|| "-".into()),
                count(f.turned_away_at_closing),
                count(f.abandoned),
                count(f.booked_visits),
                count(f.gave_up),
            ]);
            bad.push(f.turned_away_at_closing > 0 || f.abandoned > 0);
        }
    }
    p.body.push_str("<details><summary>Every day and channel (rows with people sent away or hanging up highlighted)</summary>");
    table(
        &mut p.body,
        &[
            "date",
            "day",
            "channel",
            "#served",
            "#wait p50",
            "#wait p99",
            "#service p50",
            "#counters busy",
            "#queue peak",
            "#sent away at closing",
            "#hung up",
            "#booked",
            "#gave up",
        ],
        &rows,
        &bad,
    );
    p.body.push_str("</details>");
    let util = Series {
        name: "backend busy in its busiest hour".to_string(),
        values: r.days.iter().map(|d| Some(d.backend.peak_hour_utilisation * 100.0)).collect(),
    };
    if util.values.iter().flatten().any(|v| *v > 0.0) {
        let chart = per_day(r, "The backend: busy share of its servers in each day's busiest hour (%)", "%", vec![util], false);
        p.chart(chart.render());
    }
}

/// Each channel's worst day: the longest p99 wait (the hotline: the most callers hanging up).
fn worst_days(p: &mut Page, r: &Report, queued: &[&str]) {
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for ch in queued {
        let days = r.days.iter().filter_map(|d| d.channels.iter().find(|c| c.channel == *ch).map(|c| (d, &c.figures)));
        let worst = days.max_by(|(da, a), (db, b)| {
            let key = |f: &crate::report::days::DayFigures| (f.waiting_min_p99.unwrap_or(0.0), f.abandoned);
            key(a).0.total_cmp(&key(b).0).then(key(a).1.cmp(&key(b).1)).then(db.date.cmp(&da.date))
        });
        let Some((d, f)) = worst else { continue };
        if f.attempts == 0 && f.served_at_counters.unwrap_or(0) == 0 {
            continue;
        }
        rows.push(vec![
            ch.to_string(),
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
    p.p("Each channel's worst day (the longest wait at p99):");
    table(
        &mut p.body,
        &["channel", "worst day", "#served", "#wait p50", "#wait p99", "#queue peak", "#sent away at closing", "#hung up"],
        &rows,
        &bad,
    );
}
