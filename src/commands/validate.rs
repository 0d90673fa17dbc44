//! `cutover validate`: check a scenario and print it as a reader should see it (phases,
//! population, channels, expected attempts per day).

use super::Exit;
use crate::dist::Cdf;
use crate::scenario::{ChannelKind, GroupKind, OpenDays, Spec};
use crate::time::{DayKind, SimTime};
use std::fmt::Write;
use std::path::Path;

pub(super) fn validate(scenario: &Path) -> anyhow::Result<Exit> {
    let spec = super::args::load(scenario)?;
    say_raw!("{}", describe(&spec, &scenario.display().to_string()));
    Ok(Exit::Ok)
}
fn share_of(spec: &Spec, c: usize, g: GroupKind) -> f64 {
    spec.raw.channels[c].share.get(&g).copied().unwrap_or(0.0)
}

/// Expected first attempts per local day, before any refusal, retry or deferral:
/// active self-payers spread by each channel's day weights, plus batch debits.
fn expected_attempts_per_day(spec: &Spec) -> Vec<(i64, f64)> {
    let g = &spec.raw.population.groups;
    let active = [
        (GroupKind::Unit, g.unit.count as f64 * g.unit.active_share),
        (GroupKind::Flexible, g.flexible.count as f64 * (1.0 - g.flexible.withholding_share) * g.flexible.active_share),
        (GroupKind::ResidentPension, g.resident_pension.count as f64 * g.resident_pension.active_share),
        (GroupKind::ResidentMedical, g.resident_medical.count as f64 * g.resident_medical.active_share),
    ];
    let first = spec.calendar.local_day(spec.start);
    let last = spec.calendar.local_day(SimTime(spec.end.0 - 1));
    let days = (last - first + 1).max(1) as usize;
    let mut out = vec![0.0; days];
    for (c, ch) in spec.channels.iter().enumerate() {
        if ch.kind == ChannelKind::Batch {
            continue;
        }
        let weights: Vec<f64> = (0..days).map(|k| spec.first_attempt_day_weight(c as u8, first + k as i64)).collect();
        let total = Cdf::new(weights.iter().copied()).total();
        if total <= 0.0 {
            continue;
        }
        for (gk, n) in active {
            let s = share_of(spec, c, gk);
            for k in 0..days {
                out[k] += n * s * weights[k] / total;
            }
        }
    }
    for bt in &spec.batches {
        let members = match bt.group {
            GroupKind::Flexible => g.flexible.count as f64 * g.flexible.withholding_share,
            _ => g.proxy.count as f64,
        };
        for r in &bt.runs {
            let k = (spec.calendar.local_day(*r) - first) as usize;
            if k < days {
                out[k] += members;
            }
        }
    }
    out.into_iter().enumerate().map(|(k, v)| (first + k as i64, v)).collect()
}

fn describe(spec: &Spec, file: &str) -> String {
    let mut o = String::new();
    let off = spec.calendar.offset;
    let _ = writeln!(o, "{file}: valid scenario {:?}", spec.raw.name);
    let _ = writeln!(
        o,
        "timeline {} .. {} (UTC{}), notice published {}",
        spec.start.format(off),
        spec.end.format(off),
        spec.raw.timeline.utc_offset,
        spec.notice_published.format(off)
    );
    phases(&mut o, spec);
    systems(&mut o, spec);
    population(&mut o, spec);
    channels(&mut o, spec);
    days(&mut o, spec);
    o
}

/// The phases, what each opens and closes, and the staged closings.
fn phases(o: &mut String, spec: &Spec) {
    let off = spec.calendar.offset;
    let _ = writeln!(o, "\nphases:");
    for p in &spec.phases {
        // The hotline takes no payments: no phase opens or closes it.
        let payment = || spec.channels.iter().zip(&p.closed).filter(|(ch, _)| ch.kind != ChannelKind::Hotline);
        let open: Vec<&str> = payment().filter(|(_, c)| !**c).map(|(ch, _)| ch.id.as_str()).collect();
        let closed: Vec<&str> = payment().filter(|(_, c)| **c).map(|(ch, _)| ch.id.as_str()).collect();
        let _ = writeln!(o, "  {:<20} {} .. {}", p.name, p.start.format(off), p.end.format(off));
        let _ = writeln!(o, "    open:   {}", if open.is_empty() { "(none)".to_string() } else { open.join(", ") });
        let _ = writeln!(o, "    closed: {}", if closed.is_empty() { "(none)".to_string() } else { closed.join(", ") });
    }
    for st in &spec.staged {
        let leagues: Vec<&str> = spec.leagues.iter().zip(&st.leagues).filter(|(_, x)| **x).map(|(l, _)| l.name.as_str()).collect();
        let groups: Vec<&str> = st.groups.iter().map(|g| g.as_str()).collect();
        let _ = writeln!(
            o,
            "  staged: {} in {} closed {} .. {}",
            groups.join(", "),
            leagues.join(", "),
            st.from.format(off),
            st.opens.format(off)
        );
    }
}

/// A cutover's systems, its migration, stops and rollback.
fn systems(o: &mut String, spec: &Spec) {
    let off = spec.calendar.offset;
    if let Some(x) = &spec.cutover {
        let _ = writeln!(o, "\nsystems:");
        for sys in &x.systems {
            let when = |t: Option<crate::time::SimTime>| t.map_or_else(|| "-".to_string(), |t| t.format(off));
            let channels: Vec<&str> = spec.channels.iter().zip(&sys.channels).filter(|(_, on)| **on).map(|(c, _)| c.id.as_str()).collect();
            let _ = writeln!(
                o,
                "  {:<8} opens {} stops {}; {}, look-ups before visible: {}, keys kept {}, ids above {}",
                sys.name,
                when(sys.opens),
                when(sys.stops),
                if sys.business_dedup { "second payments of a fee refused" } else { "keys only" },
                if sys.hide_visible_at { "no record" } else { "the instant" },
                sys.key_ttl_micros.map_or_else(|| "for ever".to_string(), |t| format!("{} h", t / crate::time::MICROS_PER_HOUR)),
                sys.id_base
            );
            let _ = writeln!(o, "    channels: {}", channels.join(", "));
        }
        match &x.migration {
            Some(m) => {
                let _ = writeln!(o, "  migration at {} in batches of {}", m.at.format(off), m.batch_size);
            }
            None => {
                let _ = writeln!(o, "  no migration in process (a live run's hook may run one)");
            }
        }
        for s in &x.stops {
            let _ = writeln!(o, "  stop at {}: {}", s.at.format(off), s.what);
        }
        if let Some(r) = &x.rollback {
            let when = if r.conditional() {
                format!(" if one of {} gates fails at {}", r.when.len(), r.decide_at.format(spec.calendar.offset))
            } else {
                String::new()
            };
            let _ = writeln!(o, "  rollback rehearsed in phase {}{when}", spec.phases[r.phase].name);
        }
    }
}

/// The payers per group and league.
fn population(o: &mut String, spec: &Spec) {
    let g = &spec.raw.population.groups;
    let counts = [
        (GroupKind::Unit, g.unit.count),
        (GroupKind::Flexible, g.flexible.count),
        (GroupKind::ResidentPension, g.resident_pension.count),
        (GroupKind::ResidentMedical, g.resident_medical.count),
        (GroupKind::Proxy, g.proxy.count),
    ];
    let pop_total: u64 = spec.leagues.iter().map(|l| l.population).sum();
    let _ = writeln!(o, "\npopulation (payers per group and league, spread by census population):");
    let _ = write!(o, "  {:<14}", "league");
    for (gk, _) in counts {
        let _ = write!(o, " {:>16}", gk.as_str());
    }
    let _ = writeln!(o);
    for l in &spec.leagues {
        let _ = write!(o, "  {:<14}", l.name);
        for (_, n) in counts {
            let _ = write!(o, " {:>16.0}", n as f64 * l.population as f64 / pop_total.max(1) as f64);
        }
        let _ = writeln!(o);
    }
    let _ = write!(o, "  {:<14}", "total");
    for (_, n) in counts {
        let _ = write!(o, " {:>16}", n);
    }
    let _ = writeln!(o);
}

/// Each channel: its kind, days, hours, servers and shares.
fn channels(o: &mut String, spec: &Spec) {
    let _ = writeln!(o, "\nchannels:");
    for ch in &spec.raw.channels {
        let list = |m: &std::collections::BTreeMap<GroupKind, f64>| -> Vec<String> {
            m.iter().filter(|(_, v)| **v > 0.0).map(|(g, v)| format!("{} {:.0}%", g.as_str(), v * 100.0)).collect()
        };
        let mut shares = list(&ch.share);
        // An agency's channel: the groups it assesses.
        let assesses = list(&ch.assessment_share);
        if !assesses.is_empty() {
            shares.push(format!("assesses {}", assesses.join(", ")));
        }
        let hours: Vec<String> = ch.hours.iter().map(|h| format!("{}-{}", h.from, h.to)).collect();
        let _ = writeln!(
            o,
            "  {:<16} {:<8} {:<12} {:<24} servers {:<6} shares: {}",
            ch.id,
            format!("{:?}", ch.kind).to_lowercase(),
            match ch.open_days {
                OpenDays::AllDays => "all days",
                OpenDays::WorkingDays => "working days",
            },
            if hours.is_empty() { "around the clock".to_string() } else { hours.join(", ") },
            ch.servers.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
            if shares.is_empty() { "-".to_string() } else { shares.join(", ") }
        );
    }
}

/// The first attempts expected per day.
fn days(o: &mut String, spec: &Spec) {
    let dues = if spec.dues.is_some() { "by the day weights alone, without the pull of due dates; " } else { "" };
    let _ = writeln!(o, "\nexpected first attempts per day ({dues}before refusals, retries and deferrals; batch debits on run days):");
    for (day, n) in expected_attempts_per_day(spec) {
        let date = spec.calendar.date_of_day(day);
        let kind = match spec.calendar.kind_of_day(day) {
            DayKind::Working => "working",
            DayKind::Weekend => "weekend",
            DayKind::Holiday => "holiday",
        };
        let phase = &spec.phases[spec.phase_at(spec.calendar.day_start(day).max(spec.start))].name;
        let _ = writeln!(o, "  {} {} {:<8} {:<20} {:>12.0}", date, date.format("%a"), kind, phase, n);
    }
}
