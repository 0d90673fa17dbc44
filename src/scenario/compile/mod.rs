//! The semantic pass: a structurally valid scenario checked section by section and compiled
//! into a [`Spec`] (instants resolved, names turned into indices, gates and hooks typed).
//! Every problem is collected with its field path, so a user sees all of them in one run.

use super::types::*;
use super::validate::{Checker, Problem, parse_hhmm, parse_weekday};
use super::{
    BatchSpec, ChannelIdx, ChannelSpec, CutoverSpec, GateSpec, HookAction, HookMethod, HookSpec, LeagueSpec, MAX_ACTIVE_PAYERS,
    MAX_AMOUNT_FEN, MAX_PAYERS, MigrationSpec, PhaseSpec, Spec, StagedSpec, StopSpec, SystemSpec,
};
use crate::time::{Calendar, SimTime};
use chrono::{FixedOffset, NaiveDate, Weekday};
use std::collections::{BTreeSet, HashSet};

/// Longest timeline, in days.
const MAX_TIMELINE_DAYS: i64 = 400;
/// Most leagues and channels a scenario may list.
const MAX_LEAGUES: usize = 200;
const MAX_CHANNELS: usize = 64;
/// Most servers (counters, tellers) of one channel, and most requests the backend serves at once.
const MAX_SERVERS: u32 = 1_000_000;
/// Most debits a batch keeps in flight.
const MAX_BATCH_CONCURRENCY: u32 = 100_000;
const MAX_BACKEND_QUEUE: u32 = 10_000_000;
const MAX_ATTEMPTS: u32 = 100;
const MAX_VISIBLE_WORKING_DAYS: u32 = 30;
/// How far a group's channel shares may sum from 1.
const SHARE_TOLERANCE: f64 = 1e-3;
const MAX_HOOK_TIMEOUT_SECONDS: f64 = 3600.0;
/// Longest period of a flexible employee, in months; largest household.
const MAX_PERIOD_MONTHS: f64 = 36.0;
const MAX_HOUSEHOLD: f64 = 20.0;
/// Largest offline factor of a league.
const MAX_OFFLINE_FACTOR: f64 = 10.0;

/// The timeline's instants and offset, each `None` where a problem was pushed.
struct Times {
    start: Option<SimTime>,
    end: Option<SimTime>,
    notice: Option<SimTime>,
    offset: Option<FixedOffset>,
}

/// Check the meaning of a structurally valid scenario and compile it: one section at a
/// time, every problem collected, names resolved to indices.
pub(crate) fn compile(s: Scenario) -> Result<Spec, Vec<Problem>> {
    let mut c = Checker { problems: Vec::new() };
    let times = timeline(&mut c, &s.timeline);
    let channel_ids: Vec<String> = s.channels.iter().map(|ch| ch.id.clone()).collect();
    let phase_names: Vec<String> = s.timeline.phases.iter().map(|p| p.name.clone()).collect();
    let phases = phases(&mut c, &s, &times, &channel_ids);
    let calendar = calendar(&mut c, &s.timeline.calendar);
    population(&mut c, &s.population);
    let staged = staged(&mut c, &s);
    let channels = channels(&mut c, &s);
    behaviour(&mut c, &s.behaviour);
    let batches = batches(&mut c, &s, &times, &channel_ids);
    backend(&mut c, &s.backend);
    let gates = gates(&mut c, &s.gates, &phase_names, &channel_ids);
    if let Err(e) = crate::time::check_time_scale(s.run.time_scale) {
        c.push("run.time_scale", e);
    }
    let hooks = hooks(&mut c, &s.hooks, &phase_names, &phases, times.start);
    let cutover = s.cutover.as_ref().and_then(|x| cutover(&mut c, x, &times, &phases, &phase_names, &channel_ids));
    let dues = s.dues.as_ref().map(|x| super::dues::compile(&mut c, x, &phases, times.offset));
    let expectations = super::expect::compile(&mut c, &s.expectations, &s.batches, &batches);
    let hotline = s.behaviour.hotline.as_ref().and_then(|h| hotline(&mut c, h, &s.channels));
    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    // Every Option below is Some: a None pushed a problem and returned above.
    let (Some(start), Some(end), Some(notice), Some(offset)) = (times.start, times.end, times.notice, times.offset) else {
        return Err(vec![Problem::new("timeline", "internal error: unresolved instants")]);
    };
    let (weekend, holidays, makeup_workdays) = calendar;
    let leagues = s
        .population
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
        calendar: Calendar::new(offset, holidays, makeup_workdays, weekend, (start, end)),
        phases,
        staged,
        leagues,
        channels,
        batches,
        gates,
        hooks,
        cutover,
        dues,
        expectations,
        hotline,
        raw: s,
    })
}

fn timeline(c: &mut Checker, t: &Timeline) -> Times {
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
        } else if b.0 - a.0 > MAX_TIMELINE_DAYS * crate::time::MICROS_PER_DAY {
            c.push("timeline.end", format!("a timeline may last at most {MAX_TIMELINE_DAYS} days"));
        }
    }
    Times { start, end, notice, offset }
}

fn phases(c: &mut Checker, s: &Scenario, times: &Times, channel_ids: &[String]) -> Vec<PhaseSpec> {
    let t = &s.timeline;
    let mut phases: Vec<PhaseSpec> = Vec::new();
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
                    let hint = c.suggest(id, channel_ids.iter().cloned());
                    c.push(format!("{path}.closed_channels[{j}]"), format!("unknown channel {id:?}{hint}"));
                }
            }
        }
        let Some(ps) = ps else { continue };
        if phases.last().is_some_and(|prev| ps <= prev.start) {
            c.push(format!("{path}.start"), "phases must be in strictly increasing order of start");
        }
        if let (Some(a), Some(b)) = (times.start, times.end) {
            if i == 0 && ps > a {
                c.push(format!("{path}.start"), "the first phase must start at or before timeline.start");
            }
            if ps >= b {
                c.push(format!("{path}.start"), "phase starts at or after timeline.end");
            }
        }
        phases.push(PhaseSpec { name: p.name.clone(), start: ps, end: SimTime(0), closed });
    }
    for i in 0..phases.len() {
        phases[i].end = if i + 1 < phases.len() { phases[i + 1].start } else { times.end.unwrap_or(SimTime(i64::MAX)) };
    }
    phases
}

fn calendar(c: &mut Checker, cal: &CalendarSpec) -> (Vec<Weekday>, BTreeSet<NaiveDate>, BTreeSet<NaiveDate>) {
    let mut weekend = Vec::new();
    for (i, w) in cal.weekend.iter().enumerate() {
        match parse_weekday(w) {
            Some(d) => weekend.push(d),
            None => c.push(format!("timeline.calendar.weekend[{i}]"), format!("not a weekday name such as Sat: {w:?}")),
        }
    }
    let mut holidays = BTreeSet::new();
    for (i, d) in cal.holidays.iter().enumerate() {
        if let Some(d) = c.date(&format!("timeline.calendar.holidays[{i}]"), d) {
            holidays.insert(d);
        }
    }
    let mut makeup = BTreeSet::new();
    for (i, d) in cal.makeup_workdays.iter().enumerate() {
        if let Some(d) = c.date(&format!("timeline.calendar.makeup_workdays[{i}]"), d) {
            if holidays.contains(&d) {
                c.push(format!("timeline.calendar.makeup_workdays[{i}]"), "a day cannot be both a holiday and a make-up working day");
            }
            makeup.insert(d);
        }
    }
    (weekend, holidays, makeup)
}

fn population(c: &mut Checker, p: &Population) {
    if p.leagues.is_empty() || p.leagues.len() > MAX_LEAGUES {
        c.push("population.leagues", format!("must list between 1 and {MAX_LEAGUES} leagues, got {}", p.leagues.len()));
    }
    let mut seen = HashSet::new();
    for (i, l) in p.leagues.iter().enumerate() {
        if !seen.insert(l.name.clone()) {
            c.push(format!("population.leagues[{i}].name"), format!("duplicate league {:?}", l.name));
        }
        if l.population == 0 {
            c.push(format!("population.leagues[{i}].population"), "must be greater than 0");
        }
        if !(l.offline_factor > 0.0 && l.offline_factor <= MAX_OFFLINE_FACTOR) {
            c.push(
                format!("population.leagues[{i}].offline_factor"),
                format!("must be in (0, {MAX_OFFLINE_FACTOR}], got {}", l.offline_factor),
            );
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
    units(c, &g.unit);
    flexible(c, &g.flexible);
    residents(c, g);
    let expected_active = expected_active(g);
    if expected_active > MAX_ACTIVE_PAYERS {
        c.push(
            "population.groups",
            format!("about {expected_active} payers active during the timeline: the engine holds at most {MAX_ACTIVE_PAYERS}"),
        );
    }
}

/// About how many payers act in the timeline: each group's count by its active share (a
/// flexible employee whose fee is withheld always acts; every proxy payer does).
pub(crate) fn expected_active(g: &Groups) -> u64 {
    let (u, f, rp, rm) = (&g.unit, &g.flexible, &g.resident_pension, &g.resident_medical);
    (u.count as f64 * u.active_share
        + f.count as f64 * (f.withholding_share + (1.0 - f.withholding_share) * f.active_share)
        + rp.count as f64 * rp.active_share
        + rm.count as f64 * rm.active_share
        + g.proxy.count as f64) as u64
}

fn units(c: &mut Checker, u: &UnitGroup) {
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
}

fn flexible(c: &mut Checker, f: &FlexibleGroup) {
    c.fraction("population.groups.flexible.pension_rate", f.pension_rate);
    c.weights("population.groups.flexible.base_tiers", &f.base_tiers);
    c.weights("population.groups.flexible.period_months", &f.period_months);
    for (i, w) in f.period_months.iter().enumerate() {
        if !(1.0..=MAX_PERIOD_MONTHS).contains(&w.value) || w.value.fract() != 0.0 {
            c.push(
                format!("population.groups.flexible.period_months[{i}].value"),
                format!("must be a whole number of months from 1 to {MAX_PERIOD_MONTHS}"),
            );
        }
    }
    for (name, v) in [("withholding_share", f.withholding_share), ("active_share", f.active_share), ("special_share", f.special_share)] {
        c.fraction(&format!("population.groups.flexible.{name}"), v);
    }
}

fn residents(c: &mut Checker, g: &Groups) {
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
        if !(1.0..=MAX_HOUSEHOLD).contains(&w.value) || w.value.fract() != 0.0 {
            c.push(
                format!("population.groups.resident_medical.household_size[{i}].value"),
                format!("must be a whole number from 1 to {MAX_HOUSEHOLD}"),
            );
        }
    }
    c.fraction("population.groups.resident_medical.active_share", rm.active_share);
    c.fraction("population.groups.resident_medical.special_share", rm.special_share);
    c.fen("population.groups.proxy.amount_fen", g.proxy.amount_fen);
}

fn staged(c: &mut Checker, s: &Scenario) -> Vec<StagedSpec> {
    let league_names: Vec<String> = s.population.leagues.iter().map(|l| l.name.clone()).collect();
    let mut staged = Vec::new();
    for (i, st) in s.timeline.staged_reopening.iter().enumerate() {
        let path = format!("timeline.staged_reopening[{i}]");
        let mut leagues = vec![st.leagues.is_empty(); league_names.len()];
        for (j, name) in st.leagues.iter().enumerate() {
            match league_names.iter().position(|x| x == name) {
                Some(k) => leagues[k] = true,
                None => {
                    let hint = c.suggest(name, league_names.iter().cloned());
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
    staged
}

fn channels(c: &mut Checker, s: &Scenario) -> Vec<ChannelSpec> {
    let p = &s.population;
    let mut channels = Vec::new();
    let mut seen = HashSet::new();
    if s.channels.is_empty() || s.channels.len() > MAX_CHANNELS {
        c.push("channels", format!("must list between 1 and {MAX_CHANNELS} channels, got {}", s.channels.len()));
    }
    let total_population: u64 = p.leagues.iter().map(|l| l.population).sum();
    for (i, ch) in s.channels.iter().enumerate() {
        let path = format!("channels[{i}]");
        if !seen.insert(ch.id.clone()) {
            c.push(format!("{path}.id"), format!("duplicate channel id {:?}", ch.id));
        }
        channel(c, &path, ch);
        let hours = opening_hours(c, &path, ch);
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
            holiday_capacity: ch.holiday_capacity.unwrap_or(if ch.open_days == OpenDays::AllDays { 1.0 } else { 0.0 }),
            service_seconds: ch.service_seconds.clone(),
            patience_seconds: ch.patience_seconds.clone(),
            appointment_share: ch.appointment_share,
            lookups: ch.lookups.unwrap_or(ch.kind == ChannelKind::Online),
            assessment_share: {
                let mut a = [0.0; 5];
                for (g, v) in &ch.assessment_share {
                    a[g.index()] = *v;
                }
                a
            },
        });
    }
    shares(c, s, &mut channels);
    // Where a group assesses, its shares sum to one.
    for g in GroupKind::ALL {
        let total: f64 = channels.iter().map(|ch| ch.assessment_share[g.index()]).sum();
        if total > 0.0 && (total - 1.0).abs() > SHARE_TOLERANCE {
            c.push(format!("channels[].assessment_share.{}", g.as_str()), format!("must sum to 1.0 over the channels, got {total:.4}"));
        }
    }
    channels
}

/// One channel's own fields.
fn channel(c: &mut Checker, path: &str, ch: &Channel) {
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
    if ch.kind == ChannelKind::Offline && ch.servers.is_none() {
        c.push(format!("{path}.servers"), "an offline channel needs servers (counters or tellers)");
    }
    if ch.kind == ChannelKind::Hotline {
        if ch.servers.is_none() {
            c.push(format!("{path}.servers"), "a hotline needs servers (its agents)");
        }
        if ch.share.values().any(|v| *v > 0.0) {
            c.push(format!("{path}.share"), "a hotline takes no payments: payers call it after an answer (behaviour.hotline)");
        }
    }
    for (gk, v) in &ch.assessment_share {
        c.fraction(&format!("{path}.assessment_share.{}", gk.as_str()), *v);
        if matches!(ch.kind, ChannelKind::Batch | ChannelKind::Hotline) && *v > 0.0 {
            c.push(format!("{path}.assessment_share.{}", gk.as_str()), "assessments happen at an agency's hall or online service");
        }
        if matches!(gk, GroupKind::Proxy) && *v > 0.0 {
            c.push(format!("{path}.assessment_share.proxy"), "proxy persons are assessed with their batch");
        }
    }
    c.fraction(&format!("{path}.appointment_share"), ch.appointment_share);
    if ch.lookups == Some(true) && matches!(ch.kind, ChannelKind::Batch | ChannelKind::Hotline) {
        c.push(format!("{path}.lookups"), "records are looked up online or at a counter, not on a batch or the hotline");
    }
    if ch.appointment_share > 0.0 && (ch.servers.is_none() || ch.kind == ChannelKind::Hotline) {
        c.push(format!("{path}.appointment_share"), "appointments are for counters: an offline channel with servers");
    }
    if let Some(p) = &ch.patience_seconds {
        if ch.kind != ChannelKind::Hotline {
            c.push(format!("{path}.patience_seconds"), "only a hotline's callers hang up; counters keep their queue until closing");
        }
        c.dist(&format!("{path}.patience_seconds"), p);
    }
    if let Some(n) = ch.servers
        && (n == 0 || n > MAX_SERVERS)
    {
        c.push(format!("{path}.servers"), format!("must be between 1 and {MAX_SERVERS}, got {n}"));
    }
    if let Some(h) = ch.holiday_capacity {
        c.fraction(&format!("{path}.holiday_capacity"), h);
    }
    c.dist(&format!("{path}.service_seconds"), &ch.service_seconds);
}

fn hotline(c: &mut Checker, h: &HotlineCalls, channels: &[Channel]) -> Option<super::HotlineSpec> {
    for (name, v) in [
        ("after_suspended", h.after_suspended),
        ("after_no_record", h.after_no_record),
        ("after_turned_away", h.after_turned_away),
        ("after_refused", h.after_refused),
        ("redial_share", h.redial_share),
    ] {
        c.fraction(&format!("behaviour.hotline.{name}"), v);
    }
    c.dist("behaviour.hotline.redial_delay_seconds", &h.redial_delay_seconds);
    let found = channels.iter().position(|ch| ch.id == h.channel);
    match found {
        None => {
            let hint = c.suggest(&h.channel, channels.iter().filter(|ch| ch.kind == ChannelKind::Hotline).map(|ch| ch.id.clone()));
            c.push("behaviour.hotline.channel", format!("unknown channel {:?}{hint}", h.channel));
            None
        }
        Some(i) if channels[i].kind != ChannelKind::Hotline => {
            c.push("behaviour.hotline.channel", format!("channel {:?} is not of kind hotline", h.channel));
            None
        }
        Some(i) => Some(super::HotlineSpec {
            channel: i as ChannelIdx,
            after_suspended: h.after_suspended,
            after_no_record: h.after_no_record,
            after_turned_away: h.after_turned_away,
            after_refused: h.after_refused,
            redial_share: h.redial_share,
            redial_delay_seconds: h.redial_delay_seconds.clone(),
        }),
    }
}

fn opening_hours(c: &mut Checker, path: &str, ch: &Channel) -> Vec<(i64, i64)> {
    let mut hours = Vec::new();
    for (j, h) in ch.hours.iter().enumerate() {
        match (parse_hhmm(&h.from), parse_hhmm(&h.to)) {
            (Some(a), Some(b)) if a < b => hours.push((a, b)),
            (Some(_), Some(_)) => c.push(format!("{path}.hours[{j}].to"), "must be after from"),
            _ => c.push(format!("{path}.hours[{j}]"), "times must be HH:MM between 00:00 and 24:00"),
        }
    }
    hours
}

/// Each self-paying group's shares over non-batch channels must sum to 1; per league they
/// are renormalised after the league's offline factor.
fn shares(c: &mut Checker, s: &Scenario, channels: &mut [ChannelSpec]) {
    for gk in [GroupKind::Unit, GroupKind::Flexible, GroupKind::ResidentPension, GroupKind::ResidentMedical] {
        let sum: f64 = s.channels.iter().filter_map(|ch| ch.share.get(&gk)).sum();
        if (sum - 1.0).abs() > SHARE_TOLERANCE {
            c.push("channels", format!("shares of group {} sum to {sum:.6}, must sum to 1.0 (within {SHARE_TOLERANCE})", gk.as_str()));
        }
    }
    for l in &s.population.leagues {
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
}

fn behaviour(c: &mut Checker, b: &Behaviour) {
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
        ("look_again_days", &b.look_again_days),
    ] {
        c.dist(&format!("behaviour.{name}"), d);
    }
    let w = &b.after_no_record;
    let ws = [w.look_again, w.pay_again, w.give_up];
    if ws.iter().any(|x| !(*x >= 0.0 && x.is_finite())) || ws.iter().sum::<f64>() <= 0.0 {
        c.push("behaviour.after_no_record", "weights must be >= 0 and not all zero");
    }
    if b.max_attempts == 0 || b.max_attempts > MAX_ATTEMPTS {
        c.push("behaviour.max_attempts", format!("must be between 1 and {MAX_ATTEMPTS}, got {}", b.max_attempts));
    }
    if b.record_visible_working_days > MAX_VISIBLE_WORKING_DAYS {
        c.push("behaviour.record_visible_working_days", format!("must be at most {MAX_VISIBLE_WORKING_DAYS}"));
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
}

fn batches(c: &mut Checker, s: &Scenario, times: &Times, channel_ids: &[String]) -> Vec<BatchSpec> {
    let mut batches = Vec::new();
    for (i, bt) in s.batches.iter().enumerate() {
        let path = format!("batches[{i}]");
        let ci = channel_ids.iter().position(|x| *x == bt.channel);
        match ci {
            None => {
                let hint = c.suggest(&bt.channel, channel_ids.iter().cloned());
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
        if bt.concurrency == 0 || bt.concurrency > MAX_BATCH_CONCURRENCY {
            c.push(format!("{path}.concurrency"), format!("must be between 1 and {MAX_BATCH_CONCURRENCY}, got {}", bt.concurrency));
        }
        let mut runs: Vec<SimTime> = Vec::new();
        for (j, r) in bt.runs.iter().enumerate() {
            let Some(t) = c.instant(&format!("{path}.runs[{j}]"), r) else { continue };
            if let (Some(a), Some(b)) = (times.start, times.end)
                && (t < a || t >= b)
            {
                c.push(format!("{path}.runs[{j}]"), "must lie within the timeline");
            }
            if runs.last().is_some_and(|p| *p >= t) {
                c.push(format!("{path}.runs[{j}]"), "runs must be in increasing order");
            }
            runs.push(t);
        }
        batches.push(BatchSpec {
            name: bt.name.clone(),
            channel: ci.unwrap_or(0) as u8,
            group: bt.group,
            runs,
            concurrency: bt.concurrency,
            assessed: bt.assessed,
        });
    }
    if s.population.groups.proxy.count > 0 && !s.batches.iter().any(|b| b.group == GroupKind::Proxy) {
        c.push("population.groups.proxy.count", "proxy persons are paid by a batch: add one to `batches` with group \"proxy\"");
    }
    batches
}

fn backend(c: &mut Checker, be: &Backend) {
    if be.concurrency == 0 || be.concurrency > MAX_SERVERS {
        c.push("backend.concurrency", format!("must be between 1 and {MAX_SERVERS}, got {}", be.concurrency));
    }
    if be.queue_bound > MAX_BACKEND_QUEUE {
        c.push("backend.queue_bound", format!("must be at most {MAX_BACKEND_QUEUE}, got {}", be.queue_bound));
    }
    c.dist("backend.service_ms", &be.service_ms);
}

/// `name` as an index of `names`, `None` for `*`; an unknown name is a problem at `path`.
fn select(c: &mut Checker, path: &str, what: &str, name: &str, names: &[String]) -> Option<usize> {
    if name == "*" {
        return None;
    }
    let found = names.iter().position(|n| n == name);
    if found.is_none() {
        let hint = c.suggest(name, names.iter().cloned());
        c.push(path, format!("unknown {what} {name:?}{hint} (or \"*\" for all)"));
    }
    found
}

fn hooks(c: &mut Checker, hooks: &[Hook], phase_names: &[String], phases: &[PhaseSpec], start: Option<SimTime>) -> Vec<HookSpec> {
    let mut out = Vec::new();
    for (i, h) in hooks.iter().enumerate() {
        let path = format!("hooks[{i}]");
        let phase = phase_names.iter().position(|n| *n == h.phase);
        if phase.is_none() {
            let hint = c.suggest(&h.phase, phase_names.iter().cloned());
            c.push(format!("{path}.phase"), format!("unknown phase {:?}{hint}", h.phase));
        }
        let action = match (h.command.is_empty(), &h.http) {
            (true, None) => {
                c.push(path.clone(), "needs a `command` or an `http` action");
                None
            }
            (false, Some(_)) => {
                c.push(path.clone(), "give either `command` or `http`, not both");
                None
            }
            (false, None) => Some(HookAction::Command(h.command.clone())),
            (true, Some(http)) => {
                let method = HookMethod::ALL.into_iter().find(|m| m.as_str() == http.method);
                if method.is_none() {
                    c.push(format!("{path}.http.method"), format!("must be GET, POST, PUT or DELETE, got {:?}", http.method));
                }
                // A URL may start with a run's target, `{old}`, `{new}` or `{target}`.
                if !(http.url.starts_with("http://") || ["{old}", "{new}", "{target}"].iter().any(|v| http.url.starts_with(v))) {
                    c.push(
                        format!("{path}.http.url"),
                        format!("must be an http:// URL (or start with {{target}}, {{old}}, {{new}}), got {:?}", http.url),
                    );
                }
                method.map(|method| HookAction::Http { method, url: http.url.clone(), body: http.body.clone() })
            }
        };
        if !(h.timeout_seconds > 0.0 && h.timeout_seconds <= MAX_HOOK_TIMEOUT_SECONDS) {
            c.push(format!("{path}.timeout_seconds"), format!("must be in (0, {MAX_HOOK_TIMEOUT_SECONDS}], got {}", h.timeout_seconds));
        }
        let at = phase.and_then(|p| phases.get(p)).zip(start).map(|(p, s)| p.start.max(s));
        if let (Some(phase), Some(action), Some(at)) = (phase, action, at) {
            out.push(HookSpec { phase, at, action, timeout_seconds: h.timeout_seconds });
        }
    }
    // In the order they fall due (a stable sort: equal instants keep the file's order).
    out.sort_by_key(|h| h.at);
    out
}

mod cutover;
mod gates;
use cutover::cutover;
use gates::{gates, gates_at};
