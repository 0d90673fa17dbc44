//! The human-readable `summary.md`.

use super::Report;
use std::fmt::Write;

pub(super) fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    format!("{sign}{}.{:02}", super::human::count(fen / 100), fen % 100)
}

/// The short summary printed at the end of a run (also the top of `summary.md`).
pub fn short(r: &Report) -> String {
    let s = &r.summary;
    let mut o = String::new();
    let _ = writeln!(o, "scenario {} ({}), seed {}", r.scenario.name, r.mode, s.seed);
    let _ = writeln!(
        o,
        "attempts {}  successes {}  payments accepted {}  rejected as suspended {}  errors {} ({:.4}%)",
        s.attempts,
        s.successes,
        s.accepted,
        s.rejected_suspended,
        s.errors,
        s.error_rate * 100.0
    );
    let _ = writeln!(o, "accepted while suspended {}  unexpected rejections {}", s.accepted_while_suspended, s.rejected_unexpected);
    let _ = writeln!(
        o,
        "ledger expected {} yuan, actual {} yuan, mismatched cells {}",
        yuan(s.ledger_expected_fen),
        yuan(s.ledger_actual_fen),
        s.ledger_mismatched_cells
    );
    // The headline is the payers' own busiest hour; batch debits, which contend with
    // nobody at their night-time runs, apart.
    if let Some(q) = &r.peak_hour_self_paid {
        let _ = write!(o, "peak hour of self-paid attempts {} with {}", q.start, q.attempts);
        match &r.peak_hour {
            Some(p) if p.start != q.start => {
                let _ = writeln!(o, "; with batch debits {} with {}", p.start, p.attempts);
            }
            _ => {
                let _ = writeln!(o);
            }
        }
    }
    let ro = &r.reopening;
    let _ = writeln!(
        o,
        "reopening {}: {} payers displaced, backlog peak {} at {}, 90% cleared {}, 99% cleared {}, all cleared {}, {} still waiting at the end",
        ro.at.as_deref().unwrap_or("-"),
        ro.displaced_payers,
        ro.backlog_peak,
        ro.backlog_peak_at.as_deref().unwrap_or("-"),
        ro.backlog_90pct_cleared_at.as_deref().unwrap_or("never (not by the end)"),
        ro.backlog_99pct_cleared_at.as_deref().unwrap_or("never (not by the end)"),
        ro.backlog_cleared_at.as_deref().unwrap_or("never (not by the end)"),
        ro.backlog_at_end
    );
    if let Some(l) = &r.live {
        let _ = writeln!(
            o,
            "live: {} via {} at {}x, {} requests in {:.1} s ({} req/s), not sent {}{}",
            l.target,
            l.transport,
            l.time_scale,
            l.requests_completed,
            l.wall_seconds,
            l.requests_per_second,
            l.not_sent,
            if l.interrupted { ", INTERRUPTED" } else { "" }
        );
        if let Some(why) = &l.aborted {
            let _ = writeln!(o, "ABORTED early: {why}");
        }
        let _ = writeln!(
            o,
            "response time p50 {} ms p99 {} ms max {} ms; service time p50 {} ms p99 {} ms max {} ms",
            l.response_time_ms.p50,
            l.response_time_ms.p99,
            l.response_time_ms.max,
            l.service_time_ms.p50,
            l.service_time_ms.p99,
            l.service_time_ms.max
        );
        let rc = &l.reconciliation;
        let _ = writeln!(
            o,
            "reconciliation: {} acknowledged, {} lost, {} phantom or duplicate ledger entries, {} unknown ({} present, {} absent); auditor: {} checked, {} disagreements",
            rc.acknowledged,
            rc.lost,
            rc.phantoms_or_duplicates,
            rc.unknown,
            rc.unknown_present,
            rc.unknown_absent,
            l.audit.checked,
            l.audit.disagreements
        );
    }
    if let Some(c) = &r.cutover {
        let m = &c.migration;
        let _ = writeln!(
            o,
            "cutover: migration {} ({} of {} old payments differ, {} cells; {}), double charges {}, lost at the boundary {}, acknowledged after the stop {}",
            if m.ran { "ran" } else { "did not run" },
            m.missing + m.duplicated + m.differing + m.unknown_origin,
            m.checked,
            m.mismatched_cells,
            if c.registrations.checked {
                format!("{} of {} registrations wrong", c.registrations.mismatched(), c.registrations.old)
            } else {
                "registrations not read".to_string()
            },
            c.double_charges.count,
            c.lost_at_boundary.count,
            c.acknowledged_after_stop.count
        );
    }
    if !r.calibration.is_empty() {
        let within = r.calibration.iter().filter(|c| c.within).count();
        let _ = writeln!(o, "calibration: {within} of {} expectations within their factor", r.calibration.len());
    }
    let failed: Vec<_> = r.gates.iter().filter(|g| !g.passed).collect();
    if r.gates.is_empty() {
        let _ = writeln!(o, "gates: none defined");
    } else if failed.is_empty() {
        let _ = writeln!(o, "gates: all {} passed", r.gates.len());
    } else {
        for g in failed {
            let _ = writeln!(o, "GATE FAILED: {} (measured {})", g.name(), g.measured());
        }
    }
    o
}

pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Cutover rehearsal: {}\n", r.scenario.name);
    let _ = writeln!(
        o,
        "Mode `{}`, scenario file `{}`, seed {} (replay with `--seed {}`).\n",
        r.mode, r.scenario.file, r.summary.seed, r.summary.seed
    );
    let _ = writeln!(o, "```\n{}```\n", short(r));
    phases(&mut o, r);
    super::markdown_plan::calibration(&mut o, r);
    super::markdown_plan::days(&mut o, r);
    super::markdown_plan::dues(&mut o, r);
    cells(&mut o, r);
    busiest_hours(&mut o, r);
    batches(&mut o, r);
    ledger(&mut o, r);
    cutover(&mut o, r);
    gates(&mut o, r);
    outcomes(&mut o, r);
    o
}

/// Give-ups, errors by kind and the runbook's hooks: what went wrong besides the gates.
fn outcomes(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "\n## Give-ups, errors and hooks\n\n{} payers gave up ({} of them displaced by the suspension); {} errors in {} attempts.",
        r.summary.gave_up, r.reopening.displaced_gave_up, r.summary.errors, r.summary.attempts
    );
    let Some(l) = &r.live else { return };
    if !l.errors_by_kind.is_empty() {
        let _ = writeln!(o, "\n| error | count |\n|---|---:|");
        for (k, n) in &l.errors_by_kind {
            let _ = writeln!(o, "| {k} | {n} |");
        }
    }
    if !l.hooks.is_empty() {
        let _ = writeln!(o, "\n| phase | hook | due at | took | result | outcome |\n|---|---|---|---:|---|---|");
        for h in &l.hooks {
            let _ = writeln!(
                o,
                "| {} | `{}` | {} | {} | {} | {} |",
                h.phase,
                h.action,
                super::human::instant(&h.due_at),
                super::human::duration_ms(h.duration_ms),
                if h.ok { "ok" } else { "FAILED" },
                h.outcome
            );
        }
    }
}

/// Rows of each list shown in the summary (report.json lists more).
const CUTOVER_ROWS: usize = 20;

fn payment(p: &super::cutover::PaymentRef) -> String {
    let amount: i64 = p.items_fen.values().sum();
    format!(
        "{} #{} key {} payer {} ({}, {}) {} period {} {} yuan at {}",
        p.system,
        p.payment_id,
        p.key,
        p.payer_id,
        p.group,
        p.league,
        p.channel,
        p.period,
        yuan(amount),
        p.accepted_at
    )
}

/// The Cutover section alone (what `cutover reconcile` prints).
pub fn cutover_section(c: &super::cutover::CutoverReport) -> String {
    let mut o = String::new();
    cutover_of(&mut o, c);
    o
}

fn cutover(o: &mut String, r: &Report) {
    if let Some(c) = &r.cutover {
        cutover_of(o, c);
    }
}

fn cutover_of(o: &mut String, c: &super::cutover::CutoverReport) {
    let _ = writeln!(o, "\n## Cutover\n\n| system | opens | stops | payments taken | yuan | migrated in |\n|---|---|---|---:|---:|---:|");
    for s in &c.systems {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            s.name,
            s.opens.as_deref().unwrap_or("-"),
            s.stops.as_deref().unwrap_or("-"),
            s.payments,
            yuan(s.payments_fen),
            s.migrated_payments
        );
    }
    let _ = writeln!(
        o,
        "\nIn flight at each stop (started before, answered after):\n\n| at | what stops | in flight | accepted | refused as suspended |\n|---|---|---:|---:|---:|"
    );
    for s in &c.in_flight_at_stops {
        let _ = writeln!(o, "| {} | {} | {} | {} | {} |", s.at, s.what, s.in_flight, s.accepted, s.refused_suspended);
    }
    let l = &c.lost_answers;
    let _ = writeln!(
        o,
        "\nAnswers lost on the way: {} ({} of them acceptances: money taken, payer not told); payments started again as a new order: {}; refused as already paid: {}{}.",
        l.total,
        l.acceptances,
        l.new_orders,
        c.refused_already_paid,
        if c.refunded > 0 { format!(" ({} of them taken and refunded, {} yuan)", c.refunded, yuan(c.refunded_fen)) } else { String::new() }
    );
    let m = &c.migration;
    let how = match &m.totals {
        Some(t) => format!(
            ": {} registrations written, {} batches, {} payments read, {} written, {} open assessments",
            t.registrations_written, t.batches, t.payments_read, t.payments_written, t.assessments_written
        ),
        None if m.ran => " (run by the runbook's hook)".to_string(),
        None => " did not run".to_string(),
    };
    let _ = writeln!(
        o,
        "\nMigration{}{how}. Of {} old payments: {} missing, {} extra copies, {} differing, {} copies of unknown origin; {} ledger cells differ. Records found after migration: {} of {}.",
        m.at.as_ref().map(|a| format!(" at {a}")).unwrap_or_default(),
        m.checked,
        m.missing,
        m.duplicated,
        m.differing,
        m.unknown_origin,
        m.mismatched_cells,
        c.records_after_migration.found,
        c.records_after_migration.old_payments
    );
    if let Some(f) = m.totals.as_ref().and_then(|t| t.fault) {
        let _ = writeln!(o, "\nThe migration ran with the fault `{f}` injected.");
    }
    for d in m.differences.listed.iter().take(CUTOVER_ROWS) {
        let what = d.old.as_ref().or(d.new.as_ref()).map(payment).unwrap_or_default();
        let fields = if d.fields.is_empty() { String::new() } else { format!(" ({})", d.fields.join(", ")) };
        let _ = writeln!(o, "- {}{}: {}", d.problem, fields, what);
    }
    let g = &c.registrations;
    if g.checked {
        let _ = writeln!(
            o,
            "\nRegistrations: {} in the old system, {} in the new; {} missing, {} differing, {} unknown to the old system.",
            g.old, g.new, g.missing, g.differing, g.unknown
        );
        for d in g.differences.listed.iter().take(CUTOVER_ROWS) {
            let side = |r: &Option<super::registrations::RegistrationRef>| {
                r.as_ref().map_or_else(|| "-".to_string(), |r| format!("{} in {}", r.group, r.league))
            };
            let fields = if d.fields.is_empty() { String::new() } else { format!(" ({})", d.fields.join(", ")) };
            let _ = writeln!(o, "- {}{}: payer {}, old {}, new {}", d.problem, fields, d.payer_id, side(&d.old), side(&d.new));
        }
    } else {
        let _ = writeln!(o, "\nRegistrations: not checked (the systems' registrations could not be read).");
    }
    if g.refused_not_registered > 0 {
        let by: Vec<String> = g.refused_by_channel.iter().map(|(c, n)| format!("{n} on {c}")).collect();
        let _ = writeln!(o, "Refused as not registered: {} ({}).", g.refused_not_registered, by.join(", "));
    }
    let _ = writeln!(
        o,
        "\nDouble charges (a second payment for a payer, insurance type and month, any key or channel): {}.",
        c.double_charges.count
    );
    for (ch, n) in &c.double_charges.by_channel {
        let _ = writeln!(o, "- on {ch}: {n}");
    }
    for d in c.double_charges.listed.iter().take(CUTOVER_ROWS) {
        let _ = writeln!(o, "- payer {} ({}): {} then {}", d.payer_id, d.insurance.join(", "), payment(&d.first), payment(&d.second));
    }
    let _ =
        writeln!(o, "\nLost at the boundary (money taken or acknowledged, in no ledger after the switch): {}.", c.lost_at_boundary.count);
    for p in c.lost_at_boundary.listed.iter().take(CUTOVER_ROWS) {
        let _ = writeln!(o, "- {}: {}", p.reason, p.payment.as_ref().map(payment).unwrap_or_else(|| format!("key {}", p.key)));
    }
    let _ = writeln!(o, "\nAcknowledged by the old system after it stopped: {}.", c.acknowledged_after_stop.count);
    for p in c.acknowledged_after_stop.listed.iter().take(CUTOVER_ROWS) {
        let _ = writeln!(o, "- {}", payment(p));
    }
    if let Some(rb) = &c.rollback {
        let _ = writeln!(
            o,
            "\nRollback rehearsed ({}): payment suspended again at {} (phase {}), resumed {}; the new system had taken {} payments ({} yuan) since it opened, took {} during the rollback and refused {} requests as suspended. The checks above and the ledger cover them.",
            if rb.reason.is_empty() { "no reason given" } else { rb.reason.as_str() },
            rb.at,
            rb.phase,
            rb.resumed_at.as_deref().unwrap_or("never within the timeline"),
            rb.accepted_before,
            yuan(rb.accepted_before_fen),
            rb.accepted_during,
            rb.refused_during
        );
    }
    if let Some(e) = &c.read_error {
        let _ = writeln!(o, "\nThe systems' books could not be read, so no check ran: {e}");
    }
}

/// Busiest hours listed in the summary.
const BUSIEST_HOURS: usize = 15;

fn phases(o: &mut String, r: &Report) {
    let _ = writeln!(o, "## Phases\n\n| phase | start | end | closed channels |\n|---|---|---|---|");
    for p in &r.phases {
        let closed = if p.closed_channels.is_empty() { "-".to_string() } else { p.closed_channels.join(", ") };
        let _ = writeln!(o, "| {} | {} | {} | {} |", p.name, p.start, p.end, closed);
    }
}

fn cells(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "\n## Per phase, channel and operation\n\nLatency is waiting plus service, in ms, s, min or h as fits (report.json keeps milliseconds).\n\n\
         | phase | channel | operation | attempts | successes | suspended | not yet visible | unexpected | errors | p50 | p90 | p99 | p99.9 | max |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let d = super::human::duration_ms;
    for c in &r.cells {
        let l = &c.latency_ms;
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.phase,
            c.channel,
            c.operation,
            c.attempts,
            c.successes,
            c.rejected_suspended,
            c.rejected_not_yet_visible,
            c.rejected_unexpected,
            c.errors,
            d(l.p50),
            d(l.p90),
            d(l.p99),
            d(l.p99_9),
            d(l.max)
        );
    }
}

fn busiest_hours(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "\n## Busiest hours\n\nRequests count in the hour their attempt started, the outcomes too (so no hour shows more successes than attempts; a wait at a counter may end hours later).\n\n| hour starting | phase | attempts | of which self-paid | successes | rejections | errors | backend queue max |\n|---|---|---:|---:|---:|---:|---:|---:|"
    );
    let mut hours: Vec<_> = r.hourly.iter().filter(|h| h.attempts > 0).collect();
    hours.sort_by(|a, b| b.attempts.cmp(&a.attempts).then(a.hour.cmp(&b.hour)));
    for h in hours.iter().take(BUSIEST_HOURS) {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            h.start, h.phase, h.attempts, h.self_paid_attempts, h.successes, h.rejections, h.errors, h.backend_queue_max
        );
    }
}

fn batches(o: &mut String, r: &Report) {
    if !r.batches.is_empty() {
        let _ = writeln!(
            o,
            "\n## Batches\n\n| batch | run | debits sent | accepted | periods debited | refused (suspended) | overloaded | stopped |\n|---|---|---:|---:|---:|---:|---:|---|"
        );
        for b in &r.batches {
            for run in &b.runs {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} | {} | {} | {} |",
                    b.name,
                    run.at,
                    run.debits_sent,
                    run.accepted,
                    run.periods_debited,
                    run.refused_suspended,
                    run.overloaded,
                    if run.stopped_as_suspended { "yes" } else { "no" }
                );
            }
        }
    }
}

fn ledger(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "\n## Ledger\n\nExpected (from acknowledged payments) {} yuan; actual (the target's ledger) {} yuan; {} differing cell(s) of {}.\n",
        yuan(r.ledger.expected_fen),
        yuan(r.ledger.actual_fen),
        r.ledger.mismatched_cells,
        r.ledger.cells.len()
    );
    if let Some(e) = &r.ledger.read_error {
        let _ = writeln!(o, "The target's ledger could not be read: {e}\n");
    }
    if !r.ledger.differences.is_empty() {
        let _ = writeln!(
            o,
            "| league | group | insurance | expected count | expected yuan | actual count | actual yuan |\n|---|---|---|---:|---:|---:|---:|"
        );
        for d in &r.ledger.differences {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} |",
                d.league,
                d.group,
                d.insurance,
                d.expected_count,
                yuan(d.expected_fen),
                d.actual_count,
                yuan(d.actual_fen)
            );
        }
    }
}

fn gates(o: &mut String, r: &Report) {
    if !r.gates.is_empty() {
        let _ = writeln!(o, "\n## Gates\n\n| gate | measured | result |\n|---|---:|---|");
        for g in &r.gates {
            let _ = writeln!(o, "| `{}` | {} | {} |", g.name(), g.measured(), if g.passed { "pass" } else { "FAIL" });
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn yuan_groups_thousands() {
        assert_eq!(super::yuan(0), "0.00");
        assert_eq!(super::yuan(123_456_789), "1,234,567.89");
        assert_eq!(super::yuan(-5), "-0.05");
    }
}
