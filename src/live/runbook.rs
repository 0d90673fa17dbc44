//! The runbook of a live run: the scenario's hooks (a command or an HTTP call when a phase
//! starts), run at their compressed instants while the load goes on, each reported with
//! its outcome and timing; those the run never reached are reported as not run.

use super::deployment::switch::run_command;
use super::deployment::target::client;
use crate::clock::VirtualClock;
use crate::report::data::live::{HookReport, HookState};
use crate::scenario::{HookAction, HookSpec, Spec};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The hooks not yet started, in the order they fall due, and those running.
pub(super) struct Runbook {
    due: VecDeque<HookSpec>,
    running: Vec<tokio::task::JoinHandle<HookReport>>,
    /// Hooks not to run, with why.
    skipped: Vec<(HookSpec, &'static str)>,
}

impl Runbook {
    /// The scenario's hooks with `vars` (`{name}` → value: the binary, the scenario file,
    /// the targets) put into their commands, URLs and bodies. `in_process`: the systems are
    /// the in-process models, which migrate themselves at `cutover.migration.at`; a hook
    /// naming `{old}` or `{new}` (a migration job, a switch of a deployment) is not run then.
    pub(super) fn new(spec: &Spec, vars: Vec<(String, String)>, in_process: bool) -> Runbook {
        let fill = |t: &str| vars.iter().fold(t.to_string(), |acc, (k, v)| acc.replace(k.as_str(), v));
        let names_systems = |h: &HookSpec| {
            let text = match &h.action {
                HookAction::Command(argv) => argv.join(" "),
                HookAction::Http { url, body, .. } => format!("{url} {}", body.as_ref().map(|b| b.to_string()).unwrap_or_default()),
            };
            text.contains("{old}") || text.contains("{new}")
        };
        let (skip, run): (Vec<HookSpec>, Vec<HookSpec>) = spec.hooks.iter().cloned().partition(|h| in_process && names_systems(h));
        let skipped = skip.into_iter().map(|h| (h, "not run: the in-process systems migrate themselves (cutover.migration)")).collect();
        let due = run
            .into_iter()
            .map(|mut h| {
                h.action = match h.action {
                    HookAction::Command(argv) => HookAction::Command(argv.iter().map(|a| fill(a)).collect()),
                    HookAction::Http { method, url, body } => {
                        let body = body.map(|b| serde_json::from_str(&fill(&b.to_string())).unwrap_or(b));
                        HookAction::Http { method, url: fill(&url), body }
                    }
                };
                h
            })
            .collect();
        Runbook { due, running: Vec::new(), skipped }
    }

    /// Do not run the hooks of phase `phase` (a rollback the gates did not call for).
    pub(super) fn skip_phase(&mut self, phase: usize, why: &'static str) {
        let (skip, keep): (Vec<HookSpec>, Vec<HookSpec>) = self.due.drain(..).partition(|h| h.phase == phase);
        self.due = keep.into();
        self.skipped.extend(skip.into_iter().map(|h| (h, why)));
    }

    /// The real instant the next hook falls due.
    pub(super) fn next_due(&self, clock: &VirtualClock) -> Option<Instant> {
        self.due.front().map(|h| clock.real_instant(h.at))
    }

    /// Start every hook due by now.
    pub(super) fn start_due(&mut self, spec: &Spec, clock: &VirtualClock, started: Instant) {
        let now = Instant::now();
        while self.due.front().is_some_and(|h| clock.real_instant(h.at) <= now) {
            let Some(h) = self.due.pop_front() else { break };
            let phase = spec.phases[h.phase].name.clone();
            let due_at = h.at.format(spec.calendar.offset);
            self.running.push(tokio::spawn(run_hook(h, phase, due_at, started)));
        }
    }

    /// Wait for the hooks that started; report the others as not run.
    pub(super) async fn finish(self, spec: &Spec) -> Vec<HookReport> {
        let mut reports = Vec::new();
        for t in self.running {
            if let Ok(r) = t.await {
                reports.push(r);
            }
        }
        let not_reached = self.due.into_iter().map(|h| (h, "not run: the run ended first", HookState::NotReached));
        let not_needed = self.skipped.into_iter().map(|(h, why)| (h, why, HookState::NotNeeded));
        for (h, why, state) in not_reached.chain(not_needed) {
            reports.push(HookReport::not_run(
                spec.phases[h.phase].name.clone(),
                h.action.describe(),
                h.at.format(spec.calendar.offset),
                state,
                why,
            ));
        }
        reports
    }
}

async fn run_hook(hook: HookSpec, phase: String, due_at: String, started: Instant) -> HookReport {
    let begin = Instant::now();
    let limit = Duration::from_secs_f64(hook.timeout_seconds);
    let result = match &hook.action {
        HookAction::Http { method, url, body } => {
            let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap_or(reqwest::Method::GET);
            let mut rb = client(limit).request(method, url);
            if let Some(b) = body {
                rb = rb.json(b);
            }
            match rb.send().await {
                Ok(r) => (r.status().is_success(), format!("HTTP {}", r.status().as_u16())),
                Err(e) => (false, format!("failed: {e}")),
            }
        }
        HookAction::Command(argv) => {
            let argv = argv.clone();
            tokio::task::spawn_blocking(move || run_command(&argv, limit))
                .await
                .unwrap_or_else(|_| (false, "the hook's thread failed".into()))
        }
    };
    HookReport {
        phase,
        action: hook.action.describe(),
        due_at,
        started_after_seconds: begin.saturating_duration_since(started).as_secs_f64(),
        duration_ms: begin.elapsed().as_secs_f64() * 1000.0,
        ok: result.0,
        state: if result.0 { HookState::Ok } else { HookState::Failed },
        outcome: result.1,
    }
}
