//! Structural and semantic validation of scenario files.
//!
//! Every check pushes a [`Problem`] with the field path and carries on, so a
//! user sees every mistake of a file in one run.

use super::types::*;
use super::{BatchSpec, ChannelSpec, LeagueSpec, MAX_ACTIVE_PAYERS, MAX_AMOUNT_FEN, MAX_PAYERS, PhaseSpec, Spec, StagedSpec};
use crate::time::{Calendar, SimTime};
use chrono::{DateTime, FixedOffset, NaiveDate, Weekday};
use std::collections::{BTreeSet, HashSet};
use std::fmt;

/// One thing wrong with a scenario, at a field path such as `timeline.phases[2].start`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() || self.path == "." {
            write!(f, "(top level): {}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Turn a JSON pointer (`/timeline/phases/2`) into a field path (`timeline.phases[2]`).
fn pointer_to_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() { field.to_string() } else { format!("{path}.{field}") }
}

/// Structural problems of a parsed JSON value against the scenario schema.
pub fn structural(value: &serde_json::Value) -> Vec<Problem> {
    let schema = super::schema();
    let validator = match jsonschema::validator_for(&schema) {
        Ok(v) => v,
        Err(e) => {
            return vec![Problem::new("", format!("internal error: scenario schema does not compile: {e}"))];
        }
    };
    let mut problems = Vec::new();
    for error in validator.iter_errors(value) {
        let path = pointer_to_path(&error.instance_path().to_string());
        match error.kind() {
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                let segments: Vec<String> =
                    error.instance_path().to_string().split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect();
                let valid = properties_at(&schema, &schema, &segments);
                for name in unexpected {
                    let hint = closest(name, &valid).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
                    problems.push(Problem::new(join(&path, name), format!("unknown field{hint}")));
                }
            }
            _ => problems.push(Problem::new(path, error.to_string())),
        }
    }
    problems.sort_by(|a, b| a.path.cmp(&b.path).then(a.message.cmp(&b.message)));
    problems.dedup();
    problems
}

fn closest(name: &str, valid: &BTreeSet<String>) -> Option<String> {
    valid.iter().map(|v| (strsim::damerau_levenshtein(name, v), v)).filter(|(d, v)| *d <= 3.max(v.len() / 3)).min().map(|(_, v)| v.clone())
}

/// The property names the schema allows for the object at `segments` (all branches).
fn properties_at(root: &serde_json::Value, node: &serde_json::Value, segments: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect_properties(root, node, segments, &mut out, 0);
    out
}

fn collect_properties(root: &serde_json::Value, node: &serde_json::Value, segments: &[String], out: &mut BTreeSet<String>, depth: usize) {
    if depth > 64 {
        return; // bound on $ref chains
    }
    if let Some(r) = node.get("$ref").and_then(|r| r.as_str())
        && let Some(target) = r.strip_prefix('#').and_then(|p| root.pointer(p))
    {
        collect_properties(root, target, segments, out, depth + 1);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(branches) = node.get(key).and_then(|b| b.as_array()) {
            for b in branches {
                collect_properties(root, b, segments, out, depth + 1);
            }
        }
    }
    match segments.split_first() {
        None => {
            if let Some(props) = node.get("properties").and_then(|p| p.as_object()) {
                out.extend(props.keys().cloned());
            }
        }
        Some((first, rest)) => {
            if let Some(child) = node.get("properties").and_then(|p| p.get(first)) {
                collect_properties(root, child, rest, out, depth + 1);
            }
            if first.bytes().all(|b| b.is_ascii_digit())
                && let Some(items) = node.get("items")
            {
                collect_properties(root, items, rest, out, depth + 1);
            }
            if let Some(extra) = node.get("additionalProperties").filter(|v| v.is_object()) {
                collect_properties(root, extra, rest, out, depth + 1);
            }
        }
    }
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }
    fn fraction(&mut self, path: &str, v: f64) {
        if !(0.0..=1.0).contains(&v) || v.is_nan() {
            self.push(path, format!("must be a fraction between 0.0 and 1.0, got {v}"));
        }
    }
    fn positive(&mut self, path: &str, v: f64) {
        if !(v > 0.0 && v.is_finite()) {
            self.push(path, format!("must be greater than 0, got {v}"));
        }
    }
    fn fen(&mut self, path: &str, v: i64) {
        if v <= 0 || v > MAX_AMOUNT_FEN {
            self.push(path, format!("must be an amount in fen between 1 and {MAX_AMOUNT_FEN}, got {v}"));
        }
    }
    fn instant(&mut self, path: &str, s: &str) -> Option<SimTime> {
        match DateTime::parse_from_rfc3339(s) {
            Ok(dt) => Some(SimTime::from_datetime(&dt)),
            Err(e) => {
                self.push(path, format!("not an RFC 3339 instant such as 2021-05-01T00:00:00+08:00 ({e}): {s:?}"));
                None
            }
        }
    }
    fn date(&mut self, path: &str, s: &str) -> Option<NaiveDate> {
        match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                self.push(path, format!("not a date YYYY-MM-DD: {s:?}"));
                None
            }
        }
    }
    fn dist(&mut self, path: &str, d: &Dist) {
        let ok = match *d {
            Dist::Fixed { value } => value >= 0.0 && value.is_finite(),
            Dist::Uniform { min, max } => min >= 0.0 && min <= max && max.is_finite(),
            Dist::Exponential { mean } => mean > 0.0 && mean.is_finite(),
            Dist::LogNormal { median, p90 } => median > 0.0 && p90 >= median && p90.is_finite(),
        };
        if !ok {
            self.push(
                path,
                "invalid distribution: values must be finite and non-negative, uniform needs min <= max, \
                 exponential a mean > 0, log_normal 0 < median <= p90",
            );
        }
    }
    fn weights(&mut self, path: &str, w: &[WeightedChoice]) {
        if w.is_empty() {
            self.push(path, "must list at least one choice");
        }
        for (i, c) in w.iter().enumerate() {
            if !(c.weight >= 0.0 && c.weight.is_finite()) {
                self.push(format!("{path}[{i}].weight"), format!("must be >= 0, got {}", c.weight));
            }
            if !(c.value >= 0.0 && c.value.is_finite()) {
                self.push(format!("{path}[{i}].value"), format!("must be >= 0, got {}", c.value));
            }
        }
        if !w.is_empty() && w.iter().map(|c| c.weight).sum::<f64>() <= 0.0 {
            self.push(path, "weights must not all be zero");
        }
    }
    fn suggest(&self, name: &str, valid: impl IntoIterator<Item = String>) -> String {
        let set: BTreeSet<String> = valid.into_iter().collect();
        match closest(name, &set) {
            Some(s) => format!(" (did you mean `{s}`?)"),
            None => format!(" (valid: {})", set.into_iter().collect::<Vec<_>>().join(", ")),
        }
    }
}

fn parse_hhmm(s: &str) -> Option<i64> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..=24).contains(&h) || !(0..60).contains(&m) || (h == 24 && m != 0) {
        return None;
    }
    Some((h * 60 + m) * 60 * crate::time::MICROS_PER_SECOND)
}

fn parse_weekday(s: &str) -> Option<Weekday> {
    s.parse::<Weekday>().ok()
}

/// Check the meaning of a structurally valid scenario and compile it.
pub fn compile(s: Scenario) -> Result<Spec, Vec<Problem>> {
    let mut c = Checker { problems: Vec::new() };
    let t = &s.timeline;

    // --- timeline
    let start = c.instant("timeline.start", &t.start);
    let end = c.instant("timeline.end", &t.end);
    let notice = c.instant("timeline.notice_published", &t.notice_published);
    let offset = match t.utc_offset.parse::<FixedOffset>() {
        Ok(o) => Some(o),
        Err(_) => {
            c.push("timeline.utc_offset", format!("not a UTC offset such as +08:00: {:?}", t.utc_offset));
            None
        }
    };
    if let (Some(a), Some(b)) = (start, end) {
        if a >= b {
            c.push("timeline.end", "must be after timeline.start");
        } else if b.0 - a.0 > 400 * crate::time::MICROS_PER_DAY {
            c.push("timeline.end", "a timeline may last at most 400 days");
        }
    }
    let channel_ids: Vec<String> = s.channels.iter().map(|ch| ch.id.clone()).collect();
    let mut phases = Vec::new();
    if t.phases.is_empty() {
        c.push("timeline.phases", "must list at least one phase");
    }
    let mut phase_names = HashSet::new();
    for (i, p) in t.phases.iter().enumerate() {
        let path = format!("timeline.phases[{i}]");
        if !phase_names.insert(p.name.clone()) {
            c.push(format!("{path}.name"), format!("duplicate phase name {:?}", p.name));
        }
        let ps = c.instant(&format!("{path}.start"), &p.start);
        let mut closed = vec![p.suspend_all; s.channels.len()];
        for (j, id) in p.closed_channels.iter().enumerate() {
            match channel_ids.iter().position(|x| x == id) {
                Some(k) => closed[k] = true,
                None => {
                    let hint = c.suggest(id, channel_ids.clone());
                    c.push(format!("{path}.closed_channels[{j}]"), format!("unknown channel {id:?}{hint}"));
                }
            }
        }
        if let Some(ps) = ps {
            if let Some(prev) = phases.last() {
                let prev: &PhaseSpec = prev;
                if ps <= prev.start {
                    c.push(format!("{path}.start"), "phases must be in strictly increasing order of start");
                }
            }
            if let (Some(a), Some(b)) = (start, end) {
                if i == 0 && ps > a {
                    c.push(format!("{path}.start"), "the first phase must start at or before timeline.start");
                }
                if ps >= b {
                    c.push(format!("{path}.start"), "phase starts at or after timeline.end");
                }
            }
            phases.push(PhaseSpec { name: p.name.clone(), start: ps, end: SimTime(0), closed });
        }
    }
    for i in 0..phases.len() {
        phases[i].end = if i + 1 < phases.len() { phases[i + 1].start } else { end.unwrap_or(SimTime(i64::MAX)) };
    }

    // --- calendar
    let mut weekend = Vec::new();
    for (i, w) in t.calendar.weekend.iter().enumerate() {
        match parse_weekday(w) {
            Some(d) => weekend.push(d),
            None => c.push(format!("timeline.calendar.weekend[{i}]"), format!("not a weekday name such as Sat: {w:?}")),
        }
    }
    let mut holidays = BTreeSet::new();
    for (i, d) in t.calendar.holidays.iter().enumerate() {
        if let Some(d) = c.date(&format!("timeline.calendar.holidays[{i}]"), d) {
            holidays.insert(d);
        }
    }
    let mut makeup = BTreeSet::new();
    for (i, d) in t.calendar.makeup_workdays.iter().enumerate() {
        if let Some(d) = c.date(&format!("timeline.calendar.makeup_workdays[{i}]"), d) {
            if holidays.contains(&d) {
                c.push(format!("timeline.calendar.makeup_workdays[{i}]"), "a day cannot be both a holiday and a make-up working day");
            }
            makeup.insert(d);
        }
    }

    // --- population
    let p = &s.population;
    let league_names: Vec<String> = p.leagues.iter().map(|l| l.name.clone()).collect();
    if p.leagues.is_empty() || p.leagues.len() > 200 {
        c.push("population.leagues", format!("must list between 1 and 200 leagues, got {}", p.leagues.len()));
    }
    let mut seen = HashSet::new();
    for (i, l) in p.leagues.iter().enumerate() {
        if !seen.insert(l.name.clone()) {
            c.push(format!("population.leagues[{i}].name"), format!("duplicate league {:?}", l.name));
        }
        if l.population == 0 {
            c.push(format!("population.leagues[{i}].population"), "must be greater than 0");
        }
        if !(l.offline_factor > 0.0 && l.offline_factor <= 10.0) {
            c.push(format!("population.leagues[{i}].offline_factor"), format!("must be in (0, 10], got {}", l.offline_factor));
        }
    }
    c.fen("population.average_wage_fen", p.average_wage_fen);
    let g = &p.groups;
    let total = [g.unit.count, g.flexible.count, g.resident_pension.count, g.resident_medical.count, g.proxy.count]
        .iter()
        .fold(0u64, |a, b| a.saturating_add(*b));
    if total > MAX_PAYERS {
        c.push("population.groups", format!("{total} payers in all: the tool holds at most {MAX_PAYERS}"));
    }
    let u = &g.unit;
    if u.count > u32::MAX as u64 {
        c.push("population.groups.unit.count", "too large");
    }
    c.positive("population.groups.unit.employees_median", u.employees_median);
    if u.employees_mean < u.employees_median {
        c.push("population.groups.unit.employees_mean", "a log-normal's mean cannot be below its median");
    }
    if u.employees_max == 0 {
        c.push("population.groups.unit.employees_max", "must be at least 1");
    }
    c.fen("population.groups.unit.base_floor_fen", u.base_floor_fen);
    c.fen("population.groups.unit.base_ceiling_fen", u.base_ceiling_fen);
    if u.base_ceiling_fen < u.base_floor_fen {
        c.push("population.groups.unit.base_ceiling_fen", "must be at least base_floor_fen");
    }
    let mut seen_ins = HashSet::new();
    for (i, r) in u.rates.iter().enumerate() {
        let path = format!("population.groups.unit.rates[{i}]");
        if !seen_ins.insert(r.insurance) {
            c.push(format!("{path}.insurance"), format!("{} listed twice", r.insurance.as_str()));
        }
        c.fraction(&format!("{path}.unit_rate"), r.unit_rate);
        c.fraction(&format!("{path}.individual_rate"), r.individual_rate);
        c.fraction(&format!("{path}.share_of_payers"), r.share_of_payers);
    }
    c.weights("population.groups.unit.work_injury_classes", &u.work_injury_classes);
    for (i, w) in u.work_injury_classes.iter().enumerate() {
        c.fraction(&format!("population.groups.unit.work_injury_classes[{i}].value"), w.value);
    }
    c.fraction("population.groups.unit.active_share", u.active_share);
    let f = &g.flexible;
    c.fraction("population.groups.flexible.pension_rate", f.pension_rate);
    c.weights("population.groups.flexible.base_tiers", &f.base_tiers);
    c.weights("population.groups.flexible.period_months", &f.period_months);
    for (i, w) in f.period_months.iter().enumerate() {
        if !(1.0..=36.0).contains(&w.value) || w.value.fract() != 0.0 {
            c.push(format!("population.groups.flexible.period_months[{i}].value"), "must be a whole number of months from 1 to 36");
        }
    }
    for (name, v) in [("withholding_share", f.withholding_share), ("active_share", f.active_share), ("special_share", f.special_share)] {
        c.fraction(&format!("population.groups.flexible.{name}"), v);
    }
    let rp = &g.resident_pension;
    c.weights("population.groups.resident_pension.tiers_fen", &rp.tiers_fen);
    for (i, w) in rp.tiers_fen.iter().enumerate() {
        if w.value.fract() != 0.0 || w.value < 1.0 || w.value > MAX_AMOUNT_FEN as f64 {
            c.push(format!("population.groups.resident_pension.tiers_fen[{i}].value"), "must be a whole amount in fen");
        }
    }
    c.fraction("population.groups.resident_pension.active_share", rp.active_share);
    c.fraction("population.groups.resident_pension.special_share", rp.special_share);
    let rm = &g.resident_medical;
    c.fen("population.groups.resident_medical.yearly_fen", rm.yearly_fen);
    c.weights("population.groups.resident_medical.household_size", &rm.household_size);
    for (i, w) in rm.household_size.iter().enumerate() {
        if !(1.0..=20.0).contains(&w.value) || w.value.fract() != 0.0 {
            c.push(format!("population.groups.resident_medical.household_size[{i}].value"), "must be a whole number from 1 to 20");
        }
    }
    c.fraction("population.groups.resident_medical.active_share", rm.active_share);
    c.fraction("population.groups.resident_medical.special_share", rm.special_share);
    c.fen("population.groups.proxy.amount_fen", g.proxy.amount_fen);
    let expected_active = (u.count as f64 * u.active_share
        + f.count as f64 * (f.withholding_share + (1.0 - f.withholding_share) * f.active_share)
        + rp.count as f64 * rp.active_share
        + rm.count as f64 * rm.active_share
        + g.proxy.count as f64) as u64;
    if expected_active > MAX_ACTIVE_PAYERS {
        c.push(
            "population.groups",
            format!("about {expected_active} payers active during the timeline: the engine holds at most {MAX_ACTIVE_PAYERS}"),
        );
    }

    // --- staged reopening
    let mut staged = Vec::new();
    for (i, st) in t.staged_reopening.iter().enumerate() {
        let path = format!("timeline.staged_reopening[{i}]");
        let mut leagues = vec![st.leagues.is_empty(); p.leagues.len()];
        for (j, name) in st.leagues.iter().enumerate() {
            match league_names.iter().position(|x| x == name) {
                Some(k) => leagues[k] = true,
                None => {
                    let hint = c.suggest(name, league_names.clone());
                    c.push(format!("{path}.leagues[{j}]"), format!("unknown league {name:?}{hint}"));
                }
            }
        }
        let from = c.instant(&format!("{path}.from"), &st.from);
        let opens = c.instant(&format!("{path}.opens"), &st.opens);
        if let (Some(a), Some(b)) = (from, opens) {
            if a >= b {
                c.push(format!("{path}.opens"), "must be after from");
            }
            staged.push(StagedSpec { groups: st.groups.clone(), leagues, from: a, opens: b });
        }
    }

    // --- channels
    let mut channels = Vec::new();
    let mut seen = HashSet::new();
    if s.channels.is_empty() || s.channels.len() > 64 {
        c.push("channels", format!("must list between 1 and 64 channels, got {}", s.channels.len()));
    }
    let total_population: u64 = p.leagues.iter().map(|l| l.population).sum();
    for (i, ch) in s.channels.iter().enumerate() {
        let path = format!("channels[{i}]");
        if !seen.insert(ch.id.clone()) {
            c.push(format!("{path}.id"), format!("duplicate channel id {:?}", ch.id));
        }
        if ch.id.is_empty() || !ch.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            c.push(format!("{path}.id"), format!("must be snake_case (a-z, 0-9, _): {:?}", ch.id));
        }
        for (gk, v) in &ch.share {
            c.fraction(&format!("{path}.share.{}", gk.as_str()), *v);
            if ch.kind == ChannelKind::Batch && *v > 0.0 {
                c.push(format!("{path}.share.{}", gk.as_str()), "batch channels take no self-paid share");
            }
            if matches!(gk, GroupKind::Proxy) && *v > 0.0 {
                c.push(format!("{path}.share.proxy"), "proxy payments go through a batch, not a channel share");
            }
        }
        let mut hours = Vec::new();
        for (j, h) in ch.hours.iter().enumerate() {
            let a = parse_hhmm(&h.from);
            let b = parse_hhmm(&h.to);
            match (a, b) {
                (Some(a), Some(b)) if a < b => hours.push((a, b)),
                (Some(_), Some(_)) => c.push(format!("{path}.hours[{j}].to"), "must be after from"),
                _ => c.push(format!("{path}.hours[{j}]"), "times must be HH:MM between 00:00 and 24:00"),
            }
        }
        if ch.kind == ChannelKind::Offline && ch.servers.is_none() {
            c.push(format!("{path}.servers"), "an offline channel needs servers (counters or tellers)");
        }
        if let Some(n) = ch.servers
            && (n == 0 || n > 1_000_000)
        {
            c.push(format!("{path}.servers"), format!("must be between 1 and 1000000, got {n}"));
        }
        c.fraction(&format!("{path}.holiday_capacity"), ch.holiday_capacity);
        c.dist(&format!("{path}.service_seconds"), &ch.service_seconds);
        let servers = ch.servers.map(|n| {
            p.leagues
                .iter()
                .map(|l| {
                    let share = l.population as f64 / total_population.max(1) as f64;
                    ((n as f64 * share).round() as u32).max(1)
                })
                .collect()
        });
        channels.push(ChannelSpec {
            id: ch.id.clone(),
            id_json: super::json_string(&ch.id),
            name: ch.name.clone(),
            kind: ch.kind,
            share: Vec::new(),
            open_days: ch.open_days,
            hours,
            servers,
            holiday_capacity: ch.holiday_capacity,
            service_seconds: ch.service_seconds.clone(),
        });
    }
    // Shares: each self-paying group's shares over non-batch channels must sum to 1.
    for gk in [GroupKind::Unit, GroupKind::Flexible, GroupKind::ResidentPension, GroupKind::ResidentMedical] {
        let sum: f64 = s.channels.iter().filter_map(|ch| ch.share.get(&gk)).sum();
        if (sum - 1.0).abs() > 1e-3 {
            c.push("channels", format!("shares of group {} sum to {sum:.6}, must sum to 1.0 (within 0.001)", gk.as_str()));
        }
    }
    for (li, l) in p.leagues.iter().enumerate() {
        let _ = li;
        let mut per_league = vec![[0.0f64; 5]; s.channels.len()];
        for gk in GroupKind::ALL {
            let mut total = 0.0;
            for (ci, ch) in s.channels.iter().enumerate() {
                let base = ch.share.get(&gk).copied().unwrap_or(0.0);
                let w = if ch.kind == ChannelKind::Offline { base * l.offline_factor } else { base };
                per_league[ci][gk.index()] = w;
                total += w;
            }
            if total > 0.0 {
                for row in per_league.iter_mut() {
                    row[gk.index()] /= total;
                }
            }
        }
        for (ci, row) in per_league.into_iter().enumerate() {
            if let Some(ch) = channels.get_mut(ci) {
                ch.share.push(row);
            }
        }
    }

    // --- behaviour
    let b = &s.behaviour;
    for (name, v) in [
        ("read_notice_share", b.read_notice_share),
        ("pay_early_share", b.pay_early_share),
        ("eager_share", b.eager_share),
        ("switch_channel_probability", b.switch_channel_probability),
        ("give_up_probability", b.give_up_probability),
        ("lookup_share", b.lookup_share),
        ("certificate_share", b.certificate_share),
    ] {
        c.fraction(&format!("behaviour.{name}"), v);
    }
    if b.switch_channel_probability + b.give_up_probability > 1.0 {
        c.push("behaviour.give_up_probability", "switch_channel_probability + give_up_probability must not exceed 1.0");
    }
    for (name, d) in [
        ("deferral_delay_days", &b.deferral_delay_days),
        ("eager_delay_seconds", &b.eager_delay_seconds),
        ("retry_delay_days", &b.retry_delay_days),
        ("overload_retry_seconds", &b.overload_retry_seconds),
        ("lookup_delay_days", &b.lookup_delay_days),
    ] {
        c.dist(&format!("behaviour.{name}"), d);
    }
    if b.max_attempts == 0 || b.max_attempts > 100 {
        c.push("behaviour.max_attempts", format!("must be between 1 and 100, got {}", b.max_attempts));
    }
    if b.record_visible_working_days > 30 {
        c.push("behaviour.record_visible_working_days", "must be at most 30");
    }
    for (name, w) in [("online_hour_weights", &b.online_hour_weights), ("offline_hour_weights", &b.offline_hour_weights)] {
        if w.len() != 24 {
            c.push(format!("behaviour.{name}"), format!("must hold 24 weights (one per local hour), got {}", w.len()));
        } else if w.iter().any(|x| !(*x >= 0.0 && x.is_finite())) || w.iter().sum::<f64>() <= 0.0 {
            c.push(format!("behaviour.{name}"), "weights must be >= 0 and not all zero");
        }
    }
    for (name, v) in [("working", b.day_weights.working), ("weekend", b.day_weights.weekend), ("holiday", b.day_weights.holiday)] {
        if !(v >= 0.0 && v.is_finite()) {
            c.push(format!("behaviour.day_weights.{name}"), format!("must be >= 0, got {v}"));
        }
    }

    // --- batches
    let mut batches = Vec::new();
    for (i, bt) in s.batches.iter().enumerate() {
        let path = format!("batches[{i}]");
        let ci = channel_ids.iter().position(|x| *x == bt.channel);
        match ci {
            None => {
                let hint = c.suggest(&bt.channel, channel_ids.clone());
                c.push(format!("{path}.channel"), format!("unknown channel {:?}{hint}", bt.channel));
            }
            Some(k) if s.channels[k].kind != ChannelKind::Batch => {
                c.push(format!("{path}.channel"), format!("channel {:?} is not of kind batch", bt.channel));
            }
            _ => {}
        }
        if !matches!(bt.group, GroupKind::Flexible | GroupKind::Proxy) {
            c.push(format!("{path}.group"), "batches debit flexible employees (withholding) or proxy persons");
        }
        if bt.concurrency == 0 || bt.concurrency > 100_000 {
            c.push(format!("{path}.concurrency"), format!("must be between 1 and 100000, got {}", bt.concurrency));
        }
        let mut runs = Vec::new();
        for (j, r) in bt.runs.iter().enumerate() {
            if let Some(t) = c.instant(&format!("{path}.runs[{j}]"), r) {
                if let (Some(a), Some(b)) = (start, end)
                    && (t < a || t >= b)
                {
                    c.push(format!("{path}.runs[{j}]"), "must lie within the timeline");
                }
                if runs.last().is_some_and(|p| *p >= t) {
                    c.push(format!("{path}.runs[{j}]"), "runs must be in increasing order");
                }
                runs.push(t);
            }
        }
        batches.push(BatchSpec {
            name: bt.name.clone(),
            channel: ci.unwrap_or(0) as u8,
            group: bt.group,
            runs,
            concurrency: bt.concurrency,
        });
    }
    if g.proxy.count > 0 && !s.batches.iter().any(|b| b.group == GroupKind::Proxy) {
        c.push("population.groups.proxy.count", "proxy persons are paid by a batch: add one to `batches` with group \"proxy\"");
    }

    // --- backend
    let be = &s.backend;
    if be.concurrency == 0 || be.concurrency > 1_000_000 {
        c.push("backend.concurrency", format!("must be between 1 and 1000000, got {}", be.concurrency));
    }
    if be.queue_bound > 10_000_000 {
        c.push("backend.queue_bound", format!("must be at most 10000000, got {}", be.queue_bound));
    }
    c.dist("backend.service_ms", &be.service_ms);

    // --- gates
    let phase_names: Vec<String> = t.phases.iter().map(|p| p.name.clone()).collect();
    for (i, gate) in s.gates.iter().enumerate() {
        let path = format!("gates[{i}]");
        let ops = ["*", "pay", "assess", "lookup", "certificate"];
        if !ops.contains(&gate.operation.as_str()) {
            let hint = c.suggest(&gate.operation, ops.iter().map(|s| s.to_string()));
            c.push(format!("{path}.operation"), format!("unknown operation {:?}{hint}", gate.operation));
        }
        if gate.channel != "*" && !channel_ids.contains(&gate.channel) {
            let hint = c.suggest(&gate.channel, channel_ids.clone());
            c.push(format!("{path}.channel"), format!("unknown channel {:?}{hint}", gate.channel));
        }
        if gate.phase != "*" && !phase_names.contains(&gate.phase) {
            let hint = c.suggest(&gate.phase, phase_names.clone());
            c.push(format!("{path}.phase"), format!("unknown phase {:?}{hint}", gate.phase));
        }
        if !(gate.max >= 0.0 && gate.max.is_finite()) {
            c.push(format!("{path}.max"), format!("must be >= 0, got {}", gate.max));
        }
    }

    if !(s.run.time_scale > 0.0 && s.run.time_scale <= 1e9) {
        c.push("run.time_scale", format!("must be in (0, 1e9], got {}", s.run.time_scale));
    }

    // --- hooks
    for (i, h) in s.hooks.iter().enumerate() {
        let path = format!("hooks[{i}]");
        if !phase_names.contains(&h.phase) {
            let hint = c.suggest(&h.phase, phase_names.clone());
            c.push(format!("{path}.phase"), format!("unknown phase {:?}{hint}", h.phase));
        }
        match (h.command.is_empty(), &h.http) {
            (true, None) => c.push(path.clone(), "needs a `command` or an `http` action"),
            (false, Some(_)) => c.push(path.clone(), "give either `command` or `http`, not both"),
            _ => {}
        }
        if let Some(http) = &h.http {
            if !["GET", "POST", "PUT", "DELETE"].contains(&http.method.as_str()) {
                c.push(format!("{path}.http.method"), format!("must be GET, POST, PUT or DELETE, got {:?}", http.method));
            }
            if !http.url.starts_with("http://") {
                c.push(format!("{path}.http.url"), format!("must be an http:// URL, got {:?}", http.url));
            }
        }
        if !(h.timeout_seconds > 0.0 && h.timeout_seconds <= 3600.0) {
            c.push(format!("{path}.timeout_seconds"), format!("must be in (0, 3600], got {}", h.timeout_seconds));
        }
    }

    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    // Every Option below is Some: a None pushed a problem and returned above.
    let (Some(start), Some(end), Some(notice), Some(offset)) = (start, end, notice, offset) else {
        return Err(vec![Problem::new("timeline", "internal error: unresolved instants")]);
    };
    let leagues = p
        .leagues
        .iter()
        .map(|l| LeagueSpec {
            name: l.name.clone(),
            name_json: super::json_string(&l.name),
            population: l.population,
            offline_factor: l.offline_factor,
        })
        .collect();
    Ok(Spec {
        start,
        end,
        notice_published: notice,
        calendar: Calendar { offset, holidays, makeup_workdays: makeup, weekend },
        phases,
        staged,
        leagues,
        channels,
        batches,
        raw: s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_become_field_paths() {
        assert_eq!(pointer_to_path("/timeline/phases/2/start"), "timeline.phases[2].start");
        assert_eq!(pointer_to_path(""), "");
        assert_eq!(pointer_to_path("/a~1b"), "a/b");
    }

    #[test]
    fn closest_name_is_suggested() {
        let set: BTreeSet<String> = ["read_notice_share", "pay_early_share"].iter().map(|s| s.to_string()).collect();
        assert_eq!(closest("read_notise_share", &set).as_deref(), Some("read_notice_share"));
        assert_eq!(closest("completely_else_entirely", &set), None);
    }

    #[test]
    fn hours_parse() {
        assert_eq!(parse_hhmm("08:30"), Some((8 * 60 + 30) * 60 * 1_000_000));
        assert_eq!(parse_hhmm("24:00"), Some(24 * 3600 * 1_000_000));
        assert_eq!(parse_hhmm("24:01"), None);
        assert_eq!(parse_hhmm("8h"), None);
    }
}
