//! What the run found, completed for the report: the driver's own lateness and the cells it
//! touched, why a system's books could not be read (and since when), and lost payments
//! named from the journal.

use crate::scenario::{Spec, SystemIdx};
use crate::time::SimTime;

/// The driver's own lateness past which the latency figures it touches are marked (p99, ms).
const DRIVER_LATE_MS: f64 = 10.0;

/// The driver's lateness as the report gives it: all together, and per phase × channel.
/// `slack_micros`: how late the driver was allowed to be (`--slack-us`).
pub(super) fn driver_lateness(
    spec: &Spec,
    lateness: &[Option<hdrhistogram::Histogram<u64>>],
    slack_micros: u64,
) -> crate::report::data::live::DriverLateness {
    let channels = spec.channels.len();
    let mut all = crate::metrics::lateness_histogram();
    let mut cells = Vec::new();
    for (i, h) in lateness.iter().enumerate() {
        let Some(h) = h.as_ref().filter(|h| !h.is_empty()) else { continue };
        let _ = all.add(h);
        cells.push(crate::report::data::live::LatenessRow {
            phase: spec.phases[i / channels].name.clone(),
            channel: spec.channels[i % channels].id.clone(),
            requests: h.len(),
            ms: crate::report::check::latency::latency(h),
        });
    }
    let ms = crate::report::check::latency::latency(&all);
    crate::report::data::live::DriverLateness {
        bound_ms: DRIVER_LATE_MS,
        slack_ms: slack_micros as f64 / 1000.0,
        late: ms.p99 > DRIVER_LATE_MS,
        ms,
        cells,
    }
}

/// The cells whose phase and channel the driver was late in (p99 past the bound): their
/// response times include its lateness.
pub(super) fn mark_driver_late(report: &mut crate::report::Report) {
    let Some(d) = report.live.as_ref().map(|l| &l.driver_lateness) else { return };
    let late: Vec<(String, String, f64)> =
        d.cells.iter().filter(|c| c.ms.p99 > d.bound_ms).map(|c| (c.phase.clone(), c.channel.clone(), c.ms.p99)).collect();
    for cell in &mut report.cells {
        if let Some((_, _, p99)) = late.iter().find(|(p, c, _)| *p == cell.phase && *c == cell.channel) {
            cell.driver_late_ms_p99 = Some(*p99);
        }
    }
}

/// Why a system's books could not be read: which system, the error, and since when it has
/// not answered well (its last good answer on the timeline, if the run had one).
pub(super) fn unreadable(target: &str, spec: &Spec, system: SystemIdx, e: &str, last_good: Option<SimTime>) -> String {
    let who = match spec.cutover {
        Some(_) => format!("the {} system ({target})", spec.system_names()[system as usize]),
        None => format!("the target ({target})"),
    };
    format!("{who}: {e}{}", since(spec, last_good))
}

/// "since" a system's last good answer, as the unreadable books' error says it.
pub(super) fn since(spec: &Spec, last_good: Option<SimTime>) -> String {
    match last_good {
        Some(t) => format!("; its last good answer during the run came at {}", t.format(spec.calendar.offset)),
        None => "; it gave no good answer during the run".to_string(),
    }
}

/// A lost payment is known to the checks by its key only: the journal's line of its
/// acknowledgement says the rest (payer, channel, items, when, the target's id).
pub(super) fn complete_from_journal(wrong: &mut crate::report::data::cutover::WrongPayments, journal: &std::path::Path) {
    use crate::report::data::cutover::WrongKind;
    let wanted: std::collections::BTreeSet<String> =
        wrong.all.iter().filter(|w| w.kind == WrongKind::Lost && w.payer_id.is_none()).map(|w| w.key.clone()).collect();
    if wanted.is_empty() {
        return;
    }
    let Ok(text) = std::fs::read_to_string(journal) else { return };
    let mut lines: std::collections::BTreeMap<String, serde_json::Value> = std::collections::BTreeMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if v["event"] == "accepted"
            && let Some(k) = v["key"].as_str().filter(|k| wanted.contains(*k))
        {
            lines.entry(k.to_string()).or_insert(v);
        }
    }
    let fill = |w: &mut crate::report::data::cutover::WrongPayment| {
        let Some(v) = lines.get(&w.key).filter(|_| w.kind == WrongKind::Lost) else { return };
        let text = |f: &str| v[f].as_str().map(str::to_string);
        w.payer_id = v["payer_id"].as_u64().map(|p| p as u32);
        w.group = serde_json::from_value(v["group"].clone()).ok();
        w.league = text("league");
        w.channel = text("channel");
        w.accepted_at = text("at");
        w.system = text("system").or(w.system.take());
        w.payment_id = match &v["payment_id"] {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        };
        if let Some(items) = v["items_fen"].as_object() {
            let mut fen = [0i64; 6];
            for i in crate::scenario::Insurance::ALL {
                fen[i.index()] = items.get(i.as_str()).and_then(|x| x.as_i64()).unwrap_or(0);
            }
            w.amount_fen = Some(fen.iter().sum());
            w.items_fen = Some(crate::report::data::cutover::ItemsFen(fen));
        }
        w.detail = "acknowledged as the journal says; the target does not hold it".into();
    };
    wrong.all.iter_mut().for_each(fill);
    wrong.first.iter_mut().for_each(fill);
}
