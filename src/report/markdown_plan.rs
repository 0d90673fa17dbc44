//! The planner's sections of `summary.md`: the calibration table, payments against their
//! due dates, and the days (traffic per date; counters per date and channel: waiting apart
//! from service, use, queue peak, people sent away at closing, give-ups).

use super::Report;
use std::fmt::Write;

/// Minutes as people read them ("12 min", "2.3 h"); "-" when nothing was measured.
fn minutes(m: Option<f64>) -> String {
    m.map_or("-".into(), super::human::minutes)
}

fn share(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{:.0} %", x * 100.0))
}

fn fine_share(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

pub(super) fn calibration(o: &mut String, r: &Report) {
    if r.calibration.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "\n## Calibration\n\nThe scenario's expectations beside this run (within: the ratio lies within the row's factor).\n\n\
         | figure | expected | this run | ratio | within ×f | source |\n|---|---:|---:|---:|---|---|"
    );
    for c in &r.calibration {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} ×{} | {}{} |",
            c.name,
            c.expected,
            c.simulated.map_or("-".into(), |s| s.to_string()),
            c.ratio.map_or("-".into(), |x| format!("{x:.2}")),
            if c.within { "yes" } else { "**no**" },
            c.within_factor,
            c.source,
            if c.note.is_empty() { String::new() } else { format!(": {}", c.note) }
        );
    }
}

pub(super) fn dues(o: &mut String, r: &Report) {
    let Some(d) = &r.dues else { return };
    let _ = writeln!(
        o,
        "\n## Due dates\n\nRegular payments against their due date as published and as the suspension moved it.\n\n\
         | group | due by | moved to | payments | by the due date | by the moved date | late | late fees (yuan) |\n\
         |---|---|---|---:|---:|---:|---:|---:|"
    );
    for g in d {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            g.group,
            g.due.as_deref().unwrap_or("-"),
            g.moved_to.as_deref().unwrap_or("-"),
            g.payments,
            g.paid_by_due,
            g.paid_by_moved_due,
            g.paid_late,
            super::markdown::yuan(g.late_fee_fen)
        );
    }
}

pub(super) fn days(o: &mut String, r: &Report) {
    if r.days.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "\n## Days\n\nPer local date; requests count on the day their answer came. Self-paid: every channel but the \
         batches (batch debits apart). Backend use: busy share of its servers over the day and in its busiest hour.\n\n\
         | date | kind | self-paid attempts | payments | online payments | offline payments | batch debits | turned away at closing | gave up | backend use | busiest hour |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for d in &r.days {
        let (mut attempts, mut pay, mut online, mut offline, mut debits, mut away, mut gave_up) = (0, 0, 0, 0, 0, 0, 0);
        for c in &d.channels {
            let f = &c.figures;
            match c.kind {
                "batch" => {
                    debits += f.payments;
                    continue;
                }
                "hotline" => continue,
                "offline" => offline += f.payments,
                _ => online += f.payments,
            }
            attempts += f.attempts;
            pay += f.payments;
            away += f.turned_away_at_closing;
            gave_up += f.gave_up;
        }
        let _ = writeln!(
            o,
            "| {} | {} | {attempts} | {pay} | {online} | {offline} | {debits} | {away} | {gave_up} | {} | {} |",
            d.date,
            d.kind,
            fine_share(d.backend.utilisation),
            fine_share(d.backend.peak_hour_utilisation)
        );
    }
    let _ = writeln!(
        o,
        "\n### Counters by day\n\nChannels with counters, and the hotline's agents: who reached one, waiting for it apart \
         from its service, their busy share of the open time, most people queueing at once (per league in report.json).\n\n\
         | date | channel | reached a counter | of them booked | payments | waiting p50 | waiting p99 | service p50 | counters busy | queue peak | turned away at closing | hung up | gave up |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for d in &r.days {
        for c in d.channels.iter().filter(|c| c.figures.served_at_counters.is_some()) {
            let f = &c.figures;
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                d.date,
                c.channel,
                f.served_at_counters.unwrap_or(0),
                f.booked_visits,
                f.payments,
                minutes(f.waiting_min_p50),
                minutes(f.waiting_min_p99),
                minutes(f.service_min_p50),
                share(f.counter_utilisation),
                f.queue_peak.unwrap_or(0),
                f.turned_away_at_closing,
                f.abandoned,
                f.gave_up
            );
        }
    }
}
