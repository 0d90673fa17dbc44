//! The semantic pass of the `cutover` section: the two systems, the migration, lost answers,
//! the stops where requests in flight are counted, the rollback.

use super::*;

/// Most hours an idempotency key may be kept (beyond it: give none, kept for ever).
const MAX_IDEMPOTENCY_HOURS: f64 = 24.0 * 400.0;
/// Most payments one migration batch carries.
const MAX_MIGRATION_BATCH: u32 = 1_000_000;

pub(super) fn cutover(
    c: &mut Checker,
    x: &Cutover,
    times: &Times,
    phases: &[PhaseSpec],
    phase_names: &[String],
    channel_ids: &[String],
) -> Option<CutoverSpec> {
    let old = system(c, "cutover.old", &x.old, channel_ids);
    let new = system(c, "cutover.new", &x.new, channel_ids);
    two_systems(c, x, times, &old, &new);
    let migration = x.migration.as_ref().and_then(|m| migration(c, m, &old, &new));
    let lost = lost_answers(c, x, phases.len(), phase_names, channel_ids);
    let after_lost = after_lost_answer(c, x);
    c.dist("cutover.lost_answer_delay_seconds", &x.lost_answer_delay_seconds);
    c.fraction("cutover.withheld_pay_by_hand_share", x.withheld_pay_by_hand_share);
    let stops = stops(phases, &old);
    let rollback = x.rollback.as_ref().and_then(|r| rollback(c, r, phases, phase_names, channel_ids, &new));
    Some(CutoverSpec {
        rollback,
        systems: [old, new],
        migration,
        lost,
        after_lost,
        lost_answer_delay_seconds: x.lost_answer_delay_seconds.clone(),
        withheld_pay_by_hand_share: x.withheld_pay_by_hand_share,
        stops,
    })
}

/// One system of the cutover (`path` is `cutover.old` or `cutover.new`).
fn system(c: &mut Checker, path: &str, d: &SystemDef, channel_ids: &[String]) -> SystemSpec {
    let opens = d.opens.as_ref().and_then(|o| c.instant(&format!("{path}.opens"), o));
    let stops = d.stops.as_ref().and_then(|o| c.instant(&format!("{path}.stops"), o));
    let mut channels = vec![d.channels.is_empty(); channel_ids.len()];
    for (j, id) in d.channels.iter().enumerate() {
        match channel_ids.iter().position(|x| x == id) {
            Some(k) => channels[k] = true,
            None => {
                let hint = c.suggest(id, channel_ids.iter().cloned());
                c.push(format!("{path}.channels[{j}]"), format!("unknown channel {id:?}{hint}"));
            }
        }
    }
    if let Some(h) = d.idempotency_hours
        && !(h > 0.0 && h <= MAX_IDEMPOTENCY_HOURS)
    {
        c.push(format!("{path}.idempotency_hours"), format!("must be in (0, {MAX_IDEMPOTENCY_HOURS}], got {h}"));
    }
    if d.name.is_empty() {
        c.push(format!("{path}.name"), "must not be empty");
    }
    SystemSpec {
        name: d.name.clone(),
        opens,
        stops,
        channels,
        business_dedup: d.duplicate_payments != DuplicatePayments::KeysOnly,
        refund_duplicates: d.duplicate_payments == DuplicatePayments::Refund,
        hide_visible_at: d.lookup_before_visible == LookupBeforeVisible::NoRecord,
        key_ttl_micros: d.idempotency_hours.map(|h| (h * crate::time::MICROS_PER_HOUR as f64) as i64),
        id_base: d.id_base,
        registered_payers_only: d.registered_payers_only,
    }
}

/// The two systems together: the old one stops, the new one opens after it, inside the
/// timeline, with distinct names and id spaces.
fn two_systems(c: &mut Checker, x: &Cutover, times: &Times, old: &SystemSpec, new: &SystemSpec) {
    if x.old.stops.is_none() {
        c.push("cutover.old.stops", "the old system needs the instant it stops");
    }
    if x.new.registered_payers_only && x.migration.is_none() {
        c.push(
            "cutover.new.registered_payers_only",
            "the new system takes only registered payers, but no migration brings it any (add cutover.migration)",
        );
    }
    if x.new.opens.is_none() {
        c.push("cutover.new.opens", "the new system needs the instant it opens");
    }
    if old.name == new.name {
        c.push("cutover.new.name", format!("the two systems need distinct names, both are {:?}", old.name));
    }
    if let (Some(s), Some(o)) = (old.stops, new.opens)
        && o < s
    {
        c.push("cutover.new.opens", "the new system opens before the old one stops");
    }
    for (path, t) in [("cutover.old.stops", old.stops), ("cutover.new.opens", new.opens)] {
        if let (Some(t), Some(a), Some(b)) = (t, times.start, times.end)
            && !(a < t && t < b)
        {
            c.push(path, "must fall inside the timeline");
        }
    }
    // Two systems may not hand out the same numbers: ids are opaque, but a payer quoting
    // one must name one payment.
    if old.id_base == new.id_base {
        c.push(
            "cutover.new.id_base",
            "the two systems need distinct id spaces (id_base), both are ".to_string() + &old.id_base.to_string(),
        );
    }
}

/// The migration: between the old system's stop and the new one's opening.
fn migration(c: &mut Checker, m: &MigrationDef, old: &SystemSpec, new: &SystemSpec) -> Option<MigrationSpec> {
    let at = c.instant("cutover.migration.at", &m.at);
    if !(1..=MAX_MIGRATION_BATCH).contains(&m.batch_size) {
        c.push("cutover.migration.batch_size", format!("must be in 1..={MAX_MIGRATION_BATCH}, got {}", m.batch_size));
    }
    if let (Some(at), Some(s)) = (at, old.stops)
        && at < s
    {
        c.push("cutover.migration.at", "the migration must run after the old system stops");
    }
    if let (Some(at), Some(o)) = (at, new.opens)
        && at > o
    {
        c.push("cutover.migration.at", "the migration must run before the new system opens");
    }
    at.map(|at| MigrationSpec { at, batch_size: m.batch_size })
}

/// The chance of a lost answer per phase × channel: the first entry that selects a cell sets it.
fn lost_answers(c: &mut Checker, x: &Cutover, phases: usize, phase_names: &[String], channel_ids: &[String]) -> Vec<f64> {
    let n = channel_ids.len();
    let mut lost = vec![0.0; phases * n];
    let mut set = vec![false; phases * n];
    for (i, l) in x.lost_answers.iter().enumerate() {
        let path = format!("cutover.lost_answers[{i}]");
        let channel = select(c, &format!("{path}.channel"), "channel", &l.channel, channel_ids);
        let phase = select(c, &format!("{path}.phase"), "phase", &l.phase, phase_names);
        c.fraction(&format!("{path}.probability"), l.probability);
        for p in 0..phases {
            for ch in 0..n {
                let k = p * n + ch;
                if phase.is_none_or(|x| x == p) && channel.is_none_or(|x| x == ch) && !set[k] {
                    set[k] = true;
                    lost[k] = l.probability;
                }
            }
        }
    }
    lost
}

/// What a payer does after a lost answer, as cumulative shares of the four choices.
fn after_lost_answer(c: &mut Checker, x: &Cutover) -> [f64; 4] {
    let w = &x.after_lost_answer;
    let weights = [w.same_key, w.new_order, w.switch_channel, w.lookup_first];
    let total: f64 = weights.iter().sum();
    if weights.iter().any(|v| !(v.is_finite() && *v >= 0.0)) || total <= 0.0 {
        c.push("cutover.after_lost_answer", "weights must be >= 0 and not all zero");
    }
    let mut after_lost = [0.0; 4];
    let mut acc = 0.0;
    for (o, v) in after_lost.iter_mut().zip(weights) {
        acc += v / total.max(f64::MIN_POSITIVE);
        *o = acc;
    }
    after_lost
}

/// Where channels stop: each phase that closes a channel the previous phase left open, and
/// the old system's stop (merged with a phase starting at the same instant).
fn stops(phases: &[PhaseSpec], old: &SystemSpec) -> Vec<StopSpec> {
    let mut stops: Vec<StopSpec> = Vec::new();
    for w in phases.windows(2) {
        let closing: Vec<bool> = w[1].closed.iter().zip(&w[0].closed).map(|(now, before)| *now && !*before).collect();
        if closing.iter().any(|x| *x) {
            stops.push(StopSpec {
                at: w[1].start,
                what: format!("phase {}", w[1].name),
                phase: Some(w[1].name.clone()),
                system: None,
                channels: closing,
            });
        }
    }
    if let Some(at) = old.stops {
        match stops.iter_mut().find(|s| s.at == at) {
            Some(s) => {
                s.what = format!("{} and {} stops", s.what, old.name);
                s.system = Some(old.name.clone());
                for (a, b) in s.channels.iter_mut().zip(&old.channels) {
                    *a |= *b;
                }
            }
            None => stops.push(StopSpec {
                at,
                what: format!("{} stops", old.name),
                phase: None,
                system: Some(old.name.clone()),
                channels: old.channels.clone(),
            }),
        }
        stops.sort_by_key(|s| s.at);
    }
    stops
}

/// The rollback rehearsal: its phase after the opening, closing channels; a conditional
/// one's gates (latency or error rate of the phases since the opening) and decision instant.
fn rollback(
    c: &mut Checker,
    r: &RollbackDef,
    phases: &[PhaseSpec],
    phase_names: &[String],
    channel_ids: &[String],
    new: &SystemSpec,
) -> Option<crate::scenario::RollbackSpec> {
    let i = phase_names.iter().position(|n| *n == r.phase);
    match i {
        None => {
            let hint = c.suggest(&r.phase, phase_names.iter().cloned());
            c.push("cutover.rollback.phase", format!("unknown phase {:?}{hint}", r.phase));
        }
        Some(i) => {
            if let (Some(p), Some(o)) = (phases.get(i), new.opens)
                && p.start <= o
            {
                c.push("cutover.rollback.phase", "the rollback's phase must start after the new system opens");
            }
            if phases.get(i).is_some_and(|p| !p.closed.iter().any(|x| *x)) {
                c.push("cutover.rollback.phase", "the rollback's phase must close channels (suspend_all or closed_channels)");
            }
        }
    }
    let i = i?;
    let when = gates_at(c, "cutover.rollback.when", &r.when, phase_names, channel_ids);
    let opens_phase = new.opens.map(|o| phases.partition_point(|p| p.start <= o).saturating_sub(1)).unwrap_or(0);
    for (k, g) in when.iter().enumerate() {
        if !matches!(
            g.metric,
            GateMetric::LatencyMsP50
                | GateMetric::LatencyMsP90
                | GateMetric::LatencyMsP99
                | GateMetric::LatencyMsP999
                | GateMetric::ErrorRate
        ) {
            c.push(
                format!("cutover.rollback.when[{k}].metric"),
                "a reopening gate is a latency or the error rate of what the payers were answered so far (latency_ms_p50, latency_ms_p90, latency_ms_p99, latency_ms_p999, error_rate)",
            );
        }
        if let Some(p) = g.phase
            && !(opens_phase <= p && p < i)
        {
            c.push(
                format!("cutover.rollback.when[{k}].phase"),
                "must be a phase from the new system's opening to the one before the rollback's",
            );
        }
    }
    let minutes = r.decide_minutes_before;
    if !(minutes > 0.0 && minutes <= 24.0 * 60.0) {
        c.push("cutover.rollback.decide_minutes_before", format!("must be in (0, 1440], got {minutes}"));
    }
    let start = phases.get(i).map_or(SimTime(0), |p| p.start);
    let decide_at = start.plus_micros(-((minutes.clamp(0.0, 1440.0) * 60e6) as i64));
    if let Some(o) = new.opens
        && decide_at <= o
        && !when.is_empty()
    {
        c.push("cutover.rollback.decide_minutes_before", "the gates would be evaluated before the new system opens");
    }
    Some(crate::scenario::RollbackSpec { phase: i, reason: r.reason.clone(), when, decide_at })
}
