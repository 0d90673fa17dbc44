//! The maintenance switches of a run's systems: for a deployment that does not follow the
//! run's clock (it keeps real time, or its operators switch it), the run sets which channels
//! it closes before the load and again at each instant that set changes (a phase start, the
//! old system's stop, the new one's opening), through the system's switch (a profile's
//! `switch`, or a `cutover serve --rebase-now`'s `POST /v1/admin/maintenance`). Once per
//! change, never per request. Each call is reported with the runbook's hooks (a failed one
//! fails the run, as a hook does), and the instant it went through is noted on the
//! [`Switchboard`], so that the threads judge the answers of the stretch between the phase's
//! start and the switch by either phase's rules.

use super::deployment::switch::{State, Switcher};
use super::thread::switchboard::Switchboard;
use crate::clock::VirtualClock;
use crate::model::{Faults, Rules, Systems};
use crate::report::data::live::{HookReport, HookState};
use crate::scenario::{Spec, SystemIdx};
use crate::time::SimTime;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

pub(super) struct Switching {
    /// The systems switched, each with its switch and the state it was last set to.
    switched: Vec<(SystemIdx, Switcher, Option<Vec<bool>>)>,
    /// The reference systems with the run's rules (a rollback decided during the run
    /// included): what each system closes at an instant.
    reference: Systems,
    /// (instant, system) in time order, not yet started.
    due: VecDeque<(SimTime, SystemIdx)>,
    board: Arc<Switchboard>,
    running: Vec<tokio::task::JoinHandle<HookReport>>,
    /// Reports of the switches before the load.
    done: Vec<HookReport>,
}

impl Switching {
    /// The switches of `systems` (the switched ones, with their index), on the run's `rules`.
    pub(super) fn new(spec: &Spec, rules: Arc<Rules>, systems: Vec<(SystemIdx, Switcher)>) -> Switching {
        let reference = Systems::from_spec(spec, rules, Faults::default());
        let mut due: Vec<(SimTime, SystemIdx)> = Vec::new();
        let mut per_system = vec![Vec::new(); spec.system_names().len()];
        for (s, _) in &systems {
            let at = reference.model(*s).switch_instants(spec.start, spec.end);
            due.extend(at.iter().map(|t| (*t, *s)));
            if let Some(list) = per_system.get_mut(*s as usize) {
                *list = at;
            }
        }
        due.sort_unstable();
        let board = Arc::new(if systems.is_empty() { Switchboard::none() } else { Switchboard::new(per_system) });
        Switching {
            switched: systems.into_iter().map(|(s, sw)| (s, sw, None)).collect(),
            reference,
            due: due.into(),
            board,
            running: Vec::new(),
            done: Vec::new(),
        }
    }

    pub(super) fn board(&self) -> Arc<Switchboard> {
        self.board.clone()
    }

    /// The state of `system` at `at`.
    fn state(&self, spec: &Spec, system: SystemIdx, at: SimTime, name: &str) -> State {
        State::at(spec, &self.reference, system, at, name)
    }

    /// Set every switched system as the timeline's start has it, before the load: `Err`
    /// names the system and what its switch answered.
    pub(super) async fn before_load(&mut self, spec: &Spec) -> Result<(), String> {
        for i in 0..self.switched.len() {
            let (system, sw, _) = &self.switched[i];
            let state = self.state(spec, *system, spec.start, &sw.system);
            let begin = Instant::now();
            let (ok, said) = sw.set(spec, &state).await;
            let report = report(spec, &sw.system, &state, spec.start, 0.0, begin, ok, said.clone());
            if !ok {
                return Err(format!(
                    "{} maintenance switch, before the load ({}): {}",
                    whose(spec, &sw.system),
                    state.describe(spec),
                    crate::secrets::redact(&said)
                ));
            }
            self.done.push(report);
            self.switched[i].2 = Some(state.closed);
        }
        Ok(())
    }

    /// The real instant the next switch falls due.
    pub(super) fn next_due(&self, clock: &VirtualClock) -> Option<Instant> {
        self.due.front().map(|(t, _)| clock.real_instant(*t))
    }

    /// Start every switch due by now whose state changes; note the others as gone through.
    pub(super) fn start_due(&mut self, spec: &Arc<Spec>, clock: &VirtualClock, started: Instant) {
        let now = Instant::now();
        while self.due.front().is_some_and(|(t, _)| clock.real_instant(*t) <= now) {
            let Some((at, system)) = self.due.pop_front() else { break };
            let Some(i) = self.switched.iter().position(|(s, _, _)| *s == system) else { continue };
            let state = self.state(spec, system, at, &self.switched[i].1.system);
            if self.switched[i].2.as_ref() == Some(&state.closed) {
                self.board.settled(system, at, at);
                continue;
            }
            self.switched[i].2 = Some(state.closed.clone());
            let sw = self.switched[i].1.clone();
            let board = self.board.clone();
            let spec = spec.clone();
            let clock = *clock;
            self.running.push(tokio::spawn(async move {
                let begin = Instant::now();
                let (ok, said) = sw.set(&spec, &state).await;
                // A failed switch is taken as over at its answer: the deployment was left as it
                // was, and what it then takes on closed channels is counted (the failed switch,
                // in the hooks, fails the run and says why), never judged leniently for good.
                board.settled(system, at, clock.now());
                let after = begin.saturating_duration_since(started).as_secs_f64();
                report(&spec, &sw.system, &state, at, after, begin, ok, said)
            }));
        }
    }

    /// Wait for the switches under way; report them all, and those never reached as not run.
    pub(super) async fn finish(self, spec: &Spec) -> Vec<HookReport> {
        let mut reports = self.done;
        for t in self.running {
            if let Ok(r) = t.await {
                reports.push(r);
            }
        }
        for (at, system) in self.due {
            let name = self.switched.iter().find(|(s, _, _)| *s == system).map(|(_, sw, _)| sw.system.clone()).unwrap_or_default();
            reports.push(HookReport::not_run(
                spec.phases[spec.phase_at(at)].name.clone(),
                format!("switch {} maintenance", whose(spec, &name)),
                at.format(spec.calendar.offset),
                HookState::NotReached,
                "not run: the run ended first",
            ));
        }
        reports
    }
}

/// "the old system's", or for a run of one system "the deployment's".
fn whose(spec: &Spec, system: &str) -> String {
    match spec.cutover {
        Some(_) => format!("the {system} system's"),
        None => "the deployment's".into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn report(spec: &Spec, system: &str, state: &State, at: SimTime, after: f64, begin: Instant, ok: bool, said: String) -> HookReport {
    HookReport {
        phase: spec.phases[spec.phase_at(at)].name.clone(),
        action: format!("switch {} maintenance: {}", whose(spec, system), state.describe(spec)),
        due_at: at.format(spec.calendar.offset),
        started_after_seconds: after,
        duration_ms: begin.elapsed().as_secs_f64() * 1000.0,
        ok,
        state: if ok { HookState::Ok } else { HookState::Failed },
        outcome: crate::secrets::redact(&said).into_owned(),
    }
}
