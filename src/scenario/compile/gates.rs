//! The `gates` section (and a rollback's `when`, the same shape): names resolved to indices,
//! bounds and selectors checked, each problem at its field path.

use super::*;

pub(super) fn gates(c: &mut Checker, gates: &[Gate], phase_names: &[String], channel_ids: &[String]) -> Vec<GateSpec> {
    gates_at(c, "gates", gates, phase_names, channel_ids)
}

/// The gates of the list at `at` (a field path), compiled.
pub(super) fn gates_at(c: &mut Checker, at: &str, gates: &[Gate], phase_names: &[String], channel_ids: &[String]) -> Vec<GateSpec> {
    let operations: Vec<String> = Operation::ALL.iter().map(|o| o.as_str().to_string()).collect();
    let mut out = Vec::new();
    for (i, gate) in gates.iter().enumerate() {
        let path = format!("{at}[{i}]");
        let operation = select(c, &format!("{path}.operation"), "operation", &gate.operation, &operations).map(|o| Operation::ALL[o]);
        let channel = select(c, &format!("{path}.channel"), "channel", &gate.channel, channel_ids).map(|ch| ch as ChannelIdx);
        let phase = select(c, &format!("{path}.phase"), "phase", &gate.phase, phase_names);
        let by = match (&gate.by, gate.max, gate.metric) {
            (Some(_), Some(_), _) => {
                c.push(path.clone(), "give `max` or `by`, not both");
                None
            }
            (Some(t), None, GateMetric::BacklogClearedHours) => c.instant(&format!("{path}.by"), t),
            (Some(_), None, _) => {
                c.push(format!("{path}.by"), "only backlog_cleared_hours takes `by` (an instant); the others take `max`");
                None
            }
            (None, None, GateMetric::BacklogClearedHours) => {
                c.push(format!("{path}.max"), "needs `max` (hours after the reopening) or `by` (an instant)");
                None
            }
            (None, None, _) => {
                c.push(format!("{path}.max"), "missing: the bound the measured value may not exceed");
                None
            }
            (None, Some(_), _) => None,
        };
        let max = gate.max.unwrap_or(0.0);
        if !(max >= 0.0 && max.is_finite()) {
            c.push(format!("{path}.max"), format!("must be >= 0, got {max}"));
        }
        let daily = gate.metric.is_daily();
        let day = match gate.day.as_str() {
            "*" => None,
            d if !daily => {
                c.push(format!("{path}.day"), format!("{d:?}: only gates per day take a day (waiting_min_p50, waiting_min_p99, gave_up, turned_away_at_closing, hung_up, queue_peak); latency gates select a phase"));
                None
            }
            d => c.date(&format!("{path}.day"), d).map(crate::time::Calendar::day_of_date),
        };
        let kinds = ["online", "offline", "batch", "hotline"];
        let kind = match gate.kind.as_str() {
            "*" => None,
            k if !daily => {
                c.push(format!("{path}.kind"), format!("{k:?}: only gates per day take a kind of channel"));
                None
            }
            k => match kinds.iter().position(|x| *x == k) {
                Some(i) => Some([ChannelKind::Online, ChannelKind::Offline, ChannelKind::Batch, ChannelKind::Hotline][i]),
                None => {
                    c.push(format!("{path}.kind"), format!("unknown kind of channel {k:?} (one of {})", kinds.join(", ")));
                    None
                }
            },
        };
        if daily && (operation.is_some() || phase.is_some()) {
            c.push(path.clone(), "gates per day select days, channels and kinds of channel, not an operation or a phase");
        }
        let share = match (gate.metric, gate.share) {
            (GateMetric::BacklogClearedHours, Some(x)) if [0.9, 0.99, 1.0].contains(&x) => x,
            (GateMetric::BacklogClearedHours, other) => {
                c.push(format!("{path}.share"), format!("backlog_cleared_hours needs a share of 0.9, 0.99 or 1, got {other:?}"));
                1.0
            }
            (_, Some(x)) => {
                c.push(format!("{path}.share"), format!("{x}: only backlog_cleared_hours takes a share"));
                1.0
            }
            (_, None) => 1.0,
        };
        let disagreement = disagreement_of(c, &format!("{path}.disagreement"), gate);
        out.push(GateSpec {
            metric: gate.metric,
            operation,
            channel,
            phase,
            day,
            kind,
            share,
            disagreement,
            allow_empty: gate.allow_empty,
            max,
            by,
        });
    }
    out
}

/// The kinds of the auditor's disagreements a gate may name, besides `expected_X_got_Y`.
const DISAGREEMENTS: [&str; 3] = ["refused_while_open", "accepted_while_suspended", "answered_while_suspended"];

/// A gate's `disagreement`: only an auditor_disagreements gate takes one, and only a kind the
/// auditor reports.
fn disagreement_of(c: &mut Checker, path: &str, gate: &Gate) -> Option<String> {
    let d = gate.disagreement.as_str();
    if d == "*" {
        return None;
    }
    if gate.metric != GateMetric::AuditorDisagreements {
        c.push(path.to_string(), format!("{d:?}: only auditor_disagreements gates take a kind of disagreement"));
        return None;
    }
    let wrong = d.strip_prefix("expected_").and_then(|rest| rest.split_once("_got_")).is_some_and(|(a, b)| !a.is_empty() && !b.is_empty());
    if !DISAGREEMENTS.contains(&d) && !wrong {
        let hint = c.suggest(d, DISAGREEMENTS.iter().map(|s| s.to_string()));
        c.push(
            path.to_string(),
            format!("unknown kind of disagreement {d:?}{hint}: one of {}, or expected_X_got_Y", DISAGREEMENTS.join(", ")),
        );
        return None;
    }
    Some(d.to_string())
}
