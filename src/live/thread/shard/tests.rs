//! Host equivalence: the virtual-time engine and a live sending thread drive the same
//! cohort, so with the same scripted answers they produce the same traffic.
//!
//! The target is scripted: its answer is a seeded hash of the request and the instant it
//! is decided, so neither host's ordering can change an answer. The engine runs with its
//! queues and delays set to nothing (every request is decided at the instant it starts);
//! the live thread runs with a fake lane (no sockets) that answers at once, and its clock
//! at scale 1 (virtual and real instants map exactly), driven by the test instead of the
//! wall clock. Both must give the identical trace of (instant, payer, request) and the
//! identical recorder totals. The test fails if either host changes what a payer does on
//! its own (a retry, a dispatch, a batch debit the other does not make).

use super::*;
use crate::cohort::Members;
use crate::demand::{Cast, Demand};
use crate::engine::Engine;
use crate::live::pace::ClockLag;
use crate::model::{Response, TargetId};
use crate::population::Population;
use crate::scenario::Dist;
use crate::target::VirtualTarget;
use std::collections::BTreeMap;
use std::fmt::Write as _;

const SEED: u64 = 20210501;
const SCRIPT_SEED: u64 = 0x005e_ed0f_a115;

/// The scripted target's answer to `req` decided at `now`.
fn script(spec: &Spec, now: SimTime, req: &Request) -> Response {
    let mut h = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(&(SCRIPT_SEED, now.0, format!("{req:?}")), &mut h);
    let roll = std::hash::Hasher::finish(&h) % 100;
    let id = std::hash::Hasher::finish(&h) >> 40;
    let later = now.plus_micros(3 * crate::time::MICROS_PER_HOUR);
    match req {
        Request::Assess { .. } if roll < 80 => Response::Assessed { assessment: TargetId::text(format!("asm-{id}")) },
        Request::Pay { .. } if roll < 55 => Response::Accepted { payment: TargetId::Num(id + 1), replayed: roll < 5 },
        Request::Pay { .. } if roll < 70 => Response::Suspended { resume_at: (later < spec.end).then_some(later) },
        Request::Pay { .. } if roll < 75 => Response::AssessmentRequired,
        Request::Lookup { .. } if roll < 50 => Response::Records { payments: 1, latest: Some(TargetId::Num(id + 1)) },
        Request::Lookup { .. } if roll < 70 => Response::NotYetVisible { visible_at: later },
        Request::Lookup { .. } if roll < 80 => Response::NoRecord,
        Request::Certificate { .. } if roll < 75 => Response::Certificate { certificate: TargetId::Num(id + 1) },
        _ if roll < 88 => Response::Overloaded { retry_after_micros: 30 * crate::time::MICROS_PER_SECOND },
        _ if roll < 94 => Response::Error { kind: crate::vocabulary::Failure::Timeout },
        _ => Response::Error { kind: crate::vocabulary::Failure::UnexpectedStatus },
    }
}

type Trace = Vec<(SimTime, Request)>;

struct Scripted {
    spec: Arc<Spec>,
    trace: Trace,
}

impl VirtualTarget for Scripted {
    fn call(&mut self, now: SimTime, _system: crate::scenario::SystemIdx, req: &Request) -> Response {
        self.trace.push((now, req.clone()));
        script(&self.spec, now, req)
    }
    fn ledger(&mut self) -> Result<BTreeMap<crate::model::LedgerKey, crate::model::LedgerCell>, String> {
        Ok(BTreeMap::new())
    }
}

/// The small scenario with nothing between a request's start and its decision.
fn spec() -> Arc<Spec> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/ci-smoke.json");
    let mut spec = crate::scenario::load(&path).expect("the bundled scenario loads");
    for c in &mut spec.channels {
        c.servers = None;
        c.service_seconds = Dist::Fixed { value: 0.0 };
    }
    spec.raw.backend.service_ms = Dist::Fixed { value: 0.0 };
    spec.raw.backend.concurrency = u32::MAX;
    Arc::new(spec)
}

fn members(spec: &Arc<Spec>) -> (Arc<Demand>, Members) {
    let demand = Arc::new(Demand::new(spec.clone(), SEED));
    let population = Population::new(spec, SEED);
    let members = Members::all(spec, Cast::new(&demand, &population));
    (demand, members)
}

/// What a recorder counted, as text to compare.
fn totals(r: &Recorder) -> String {
    let mut out = String::new();
    for (phase, channel, op, cell) in r.cells() {
        let _ = writeln!(out, "{phase} {channel} {op:?} {:?}", cell.counters);
    }
    for (i, h) in r.hours.iter().enumerate() {
        let _ = writeln!(out, "hour {i} {} {} {} {} {}", h.attempts, h.self_paid_attempts, h.successes, h.rejections, h.errors);
    }
    let _ = writeln!(out, "errors {:?}", r.errors_by_kind);
    let _ = writeln!(out, "accepted {} while suspended {}", r.accepted, r.accepted_while_suspended);
    let _ = writeln!(out, "gave up {} of them displaced {}", r.gave_up, r.gave_up_displaced);
    let _ = writeln!(out, "displaced {} backlog {} peak {}", r.displaced_total, r.backlog, r.backlog_peak);
    let _ = writeln!(out, "ledger {:?}", r.expected_ledger());
    out
}

fn engine_host(spec: &Arc<Spec>) -> (Trace, String, EngineStats) {
    let (demand, members) = members(spec);
    let mut target = Scripted { spec: spec.clone(), trace: Vec::new() };
    let mut engine = Engine::with_members(spec.clone(), SEED, &mut target, demand, members);
    engine.run(None);
    let totals = totals(engine.recorder());
    let stats = engine.stats();
    (target.trace, totals, stats)
}

/// A lane that takes every request at once and keeps it for the test to answer.
#[derive(Default)]
struct FakeLanes {
    sent: VecDeque<Work>,
    anchored: Option<VirtualClock>,
}

impl Lanes for FakeLanes {
    fn start(&mut self, w: Work) -> Result<(), Work> {
        self.sent.push_back(w);
        Ok(())
    }
    fn sweep(&mut self, _now: Instant) {}
    fn anchor(&mut self, clock: VirtualClock) {
        self.anchored = Some(clock);
    }
}

/// The plan of one thread with every payer, on `clock`, its journal in `dir`.
fn plan(spec: &Arc<Spec>, clock: VirtualClock, dir: &std::path::Path) -> Plan {
    let (demand, members) = members(spec);
    Plan {
        thread: (0, 1),
        spec: spec.clone(),
        demand,
        clock,
        members,
        conns: Conns::Tasks(Vec::new()),
        ctx: Arc::new(CallCtx { spec: spec.clone(), timeout: Duration::from_secs(5), clock, rebase: false }),
        capacity: usize::MAX / 2,
        journal: Journal::create(dir).expect("a journal file"),
        drain: Duration::ZERO,
        switches: Arc::new(crate::live::thread::switchboard::Switchboard::none()),
        slack: Duration::ZERO,
    }
}

/// Set-up time does not make the first requests late: a thread built on a clock that started
/// a day before (a long set-up, as far as the clock knows) runs on the one the start gate
/// hands over when it opens, and so do its connections.
#[test]
fn the_start_gate_hands_over_the_clock_anchored_when_it_opens() {
    let spec = spec();
    let dir = std::env::temp_dir().join(format!("cutover-start-gate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let a_day = 86_400_000_000;
    let set_up_long_ago = VirtualClock::from_wall(spec.start, crate::clock::wall_now().0 - a_day, 1.0);
    assert!(set_up_long_ago.now().micros_since(spec.start) >= a_day - 1_000_000, "the set-up clock is a day on");
    let mut shard = Shard::new(plan(&spec, set_up_long_ago, &dir), FakeLanes::default());
    let gate = Arc::new(StartGate::default());
    let opener = {
        let gate = gate.clone();
        let start = spec.start;
        std::thread::spawn(move || {
            gate.wait_ready(1);
            let clock = VirtualClock::starting_now(start, 1.0);
            let lag = Arc::new(ClockLag::new(clock, Vec::new(), Duration::from_millis(2)));
            gate.open(Some(Start { clock, lag }));
        })
    };
    if let Some(start) = gate.ready_then_wait() {
        shard.start(start);
    }
    let lag = shard.lag.as_ref().expect("the targets' clocks' lag comes with the gate");
    let now = Instant::now();
    assert_eq!(lag.margins(now, now), (7_000, 7_000), "5 ms and the start's 2 ms round trip");
    opener.join().expect("the opener");
    let since_start = shard.clock.now().micros_since(spec.start);
    assert!((0..1_000_000).contains(&since_start), "the thread's clock is {since_start} µs into the timeline");
    let lanes = shard.pool.anchored.expect("the connections were handed the clock");
    assert!(lanes.now().micros_since(spec.start) < 1_000_000);
    // The first request is due at its own instant after the start, not a day ago.
    let first = shard.cohort.next_due().expect("a first request");
    assert!(shard.clock.real_instant(first) + Duration::from_secs(1) >= Instant::now());
    let _ = std::fs::remove_dir_all(&dir);
}

fn live_host(spec: &Arc<Spec>) -> (Trace, String, EngineStats) {
    let dir = std::env::temp_dir().join(format!("cutover-host-equivalence-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let (demand, members) = members(spec);
    let (trace, out) = live_share(spec, demand, members, (0, 1), &dir);
    let _ = std::fs::remove_dir_all(&dir);
    // What the coordinator makes of the thread's part: the recorder merged from it alone.
    let rules = std::sync::Arc::new(crate::model::Rules::from_spec(spec));
    let recorder = Recorder::merge(spec.clone(), rules, vec![out.recorder]);
    (trace, totals(&recorder), out.stats)
}

#[test]
fn engine_and_live_thread_drive_payers_identically() {
    let spec = spec();
    let (engine_trace, engine_totals, engine_stats) = engine_host(&spec);
    let (live_trace, live_totals, live_stats) = live_host(&spec);
    assert!(engine_trace.len() > 1000, "the scenario makes traffic: {} requests", engine_trace.len());
    let kinds: std::collections::BTreeSet<_> = engine_trace.iter().map(|(_, r)| r.operation()).collect();
    assert_eq!(kinds.len(), 4, "every operation occurs: {kinds:?}");
    assert_eq!(engine_trace.len(), live_trace.len(), "requests sent");
    for (i, (e, l)) in engine_trace.iter().zip(&live_trace).enumerate() {
        assert_eq!(e, l, "request {i} of the trace");
    }
    assert_eq!(engine_totals, live_totals, "recorder totals");
    assert_eq!(engine_stats.agents, live_stats.agents);
    assert_eq!(engine_stats.batch_members, live_stats.batch_members);
    assert_eq!(engine_stats.unserved_at_end, live_stats.unserved_at_end);
    assert_eq!(engine_stats.pending_at_end, live_stats.pending_at_end);
}

/// One thread (`thread`: its index and how many) sending `members` with the scripted answers,
/// its journal in `dir`: its trace and its output. Bounded: every step of the loop answers
/// one request or takes one due step, and the payers run out of both before the timeline's end.
fn live_share(spec: &Arc<Spec>, demand: Arc<Demand>, members: Members, thread: (usize, usize), dir: &std::path::Path) -> (Trace, Output) {
    let clock = VirtualClock::starting_now(spec.start, 1.0);
    let mut p = plan(spec, clock, dir);
    (p.demand, p.members, p.thread) = (demand, members, thread);
    let mut shard = Shard::new(p, FakeLanes::default());
    let mut trace = Vec::new();
    for _ in 0..10_000_000u32 {
        if let Some(w) = shard.pool.sent.pop_front() {
            let due = shard.due[w.id as usize];
            let now = clock.at(due);
            trace.push((now, w.req.clone()));
            let resp = script(spec, now, &w.req);
            shard.complete(Done { id: w.id, resp, decided_at: None, sent: due, done: due, seen: None }, true);
            continue;
        }
        let Some(t) = shard.cohort.next_due() else { break };
        shard.send_due(clock.real_instant(t), usize::MAX);
    }
    assert!(shard.pool.sent.is_empty() && shard.cohort.next_due().is_none(), "the live loop ran out of its bound");
    (trace, shard.output(&Gauge::default(), 0))
}

/// The rehearsal in three shards, each a thread of its own with the scripted answers, each
/// written to its part file and read back, joined and merged as `cutover merge` does: the
/// same requests at the same instants as the engine sending everything, and the same account,
/// count for count (with scripted answers nothing is left to the timing of a live run).
#[test]
fn three_shards_written_read_and_merged_equal_one_host_sending_everything() {
    use crate::live::account::{Account, Part, TargetChoice, join};
    let spec = spec();
    let (engine_trace, engine_totals, engine_stats) = engine_host(&spec);
    let (demand, members) = members(&spec);
    let dir = std::env::temp_dir().join(format!("cutover-shard-parts-{}", std::process::id()));
    let mut traces = Vec::new();
    let mut parts = Vec::new();
    for (i, share) in members.deal(3).into_iter().enumerate() {
        let d = dir.join(format!("shard-{i}"));
        std::fs::create_dir_all(&d).expect("a temporary directory");
        let (trace, out) = live_share(&spec, demand.clone(), share, (i, 3), &d);
        traces.extend(trace);
        let account = Account {
            run_id: "parts".into(),
            seed: SEED,
            time_scale: 1.0,
            transport: "model".into(),
            connections: 1,
            threads: 1,
            threads_chosen: None,
            queue_bound: 0,
            slack_micros: 0,
            sync_rtt_micros: None,
            margin_real_micros: 0,
            journal_path: d.join("journal.jsonl"),
            baseline: None,
            hooks: Vec::new(),
            rollback: None,
            interrupted: false,
            aborted: None,
            reached: spec.end,
            wall_seconds: 1.0,
            cpu_seconds: None,
            shards: None,
        };
        let part = Part::new((i, 3), ("s.json".into(), String::new()), (None, 0.0), TargetChoice::default(), account, vec![out]);
        let path = part.write(&d).expect("the part written");
        parts.push((path.clone(), Part::read(&path).expect("the part read back")));
    }
    let (joined, outputs) = join(parts, dir.join("journal.jsonl"));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(joined.shards.as_ref().map(|s| (s.of, s.missing.len())), Some((3, 0)));
    let rules = Arc::new(crate::model::Rules::from_spec(&spec));
    let merged = crate::live::merged::merge(&spec, rules, outputs, "journal.jsonl".into());
    // The shards' requests, in instant order, are the engine's.
    let key = |(t, r): &(SimTime, Request)| (*t, format!("{r:?}"));
    let mut sorted_engine: Vec<_> = engine_trace.iter().map(key).collect();
    let mut sorted_shards: Vec<_> = traces.iter().map(key).collect();
    sorted_engine.sort();
    sorted_shards.sort();
    assert_eq!(sorted_engine.len(), sorted_shards.len(), "requests sent");
    assert!(sorted_engine == sorted_shards, "the shards' requests are the engine's, instant for instant");
    assert_eq!(totals(&merged.recorder), engine_totals, "the merged account is the engine's");
    assert_eq!(merged.stats.agents, engine_stats.agents);
    assert_eq!(merged.stats.batch_members, engine_stats.batch_members);
    assert_eq!(merged.stats.pending_at_end, engine_stats.pending_at_end);
}

/// A journal flush that would end a sleep by itself is done as the thread goes to sleep (a
/// write instead of a wake-up); one that a sooner wake-up can do is left to it. Either way
/// the lines never reach the file later than the flush was due.
#[test]
fn a_flush_that_alone_would_wake_the_thread_is_done_before_it_sleeps() {
    use super::chores::Chores;
    let spec = spec();
    let dir = std::env::temp_dir().join(format!("cutover-flush-before-sleep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let mut shard = Shard::new(plan(&spec, VirtualClock::starting_now(spec.start, 1.0), &dir), FakeLanes::default());
    let req = Request::Pay {
        key: crate::model::IdemKey::new(7),
        payer: crate::model::PayerRef { id: 7, group: crate::scenario::GroupKind::Flexible, league: 0 },
        channel: 0,
        items: [700, 0, 0, 0, 0, 0],
        period: crate::model::Period::UNKNOWN,
        special: false,
        assessment: None,
    };
    let journal = dir.join("journal.jsonl");
    let lines = || std::fs::read_to_string(&journal).expect("the journal").lines().count();
    let mut chores = Chores::new(Duration::from_secs(5));
    let now = Instant::now();

    // A request due before the flush: that wake-up comes first and the flush waits for it.
    shard.journal.accepted(&spec, spec.start, 0, &req, &TargetId::Num(1)).expect("a line");
    chores.flush_due = Some(now + Duration::from_millis(1));
    let wake = chores.wake(&mut shard, Some(now + Duration::from_micros(200)));
    assert_eq!(wake, now + Duration::from_micros(200));
    assert!(shard.journal.pending() && chores.flush_due.is_some(), "left to the sooner wake-up");
    assert_eq!(lines(), 0);

    // Nothing due before the flush: written now, and the sleep ends at the next request.
    let wake = chores.wake(&mut shard, Some(now + Duration::from_millis(40)));
    assert_eq!(wake, now + Duration::from_millis(40));
    assert!(!shard.journal.pending() && chores.flush_due.is_none(), "written before the sleep");
    assert_eq!(lines(), 1);

    // After answers, a line waits up to a millisecond from when it was taken (not from the
    // last flush): later turns within it leave it waiting, the first after it writes it.
    shard.journal.accepted(&spec, spec.start, 0, &req, &TargetId::Num(2)).expect("a line");
    let taken = Instant::now();
    shard.after_answers(taken, 1, &mut chores.flush_due);
    let due = chores.flush_due.expect("a flush set for later");
    assert!(
        due >= taken + Duration::from_millis(1) && due <= Instant::now() + Duration::from_millis(1),
        "due a millisecond after it was taken"
    );
    assert_eq!(lines(), 1, "not written at once");
    shard.journal.accepted(&spec, spec.start, 0, &req, &TargetId::Num(3)).expect("a line");
    shard.after_answers(Instant::now(), 1, &mut chores.flush_due);
    if Instant::now() < due {
        assert_eq!((chores.flush_due, lines()), (Some(due), 1), "a later line does not move the flush");
    }
    std::thread::sleep(due.saturating_duration_since(Instant::now()));
    shard.journal.accepted(&spec, spec.start, 0, &req, &TargetId::Num(4)).expect("a line");
    shard.after_answers(Instant::now(), 1, &mut chores.flush_due);
    assert!(!shard.journal.pending() && chores.flush_due.is_none(), "written once the first line waited a millisecond");
    assert_eq!(lines(), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

/// With a slack, a thread wakes late only for steps that come close together: one wake-up
/// then takes a stretch of them. Steps far apart, a step already due, or no slack: each at its
/// instant.
#[test]
fn the_slack_delays_a_wake_up_only_while_steps_come_close_together() {
    let spec = spec();
    let dir = std::env::temp_dir().join(format!("cutover-slack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let mut p = plan(&spec, VirtualClock::starting_now(spec.start, 1.0), &dir);
    p.slack = Duration::from_micros(500);
    let mut shard = Shard::new(p, FakeLanes::default());
    let now = Instant::now();
    let due = now + Duration::from_millis(3);
    let us = Duration::from_micros;

    assert_eq!(shard.wake_for(due, now), due, "nothing fell due yet: no gap known");
    // One step a millisecond: farther apart than the slack.
    for i in 0..20 {
        shard.note_due(now + Duration::from_millis(i));
    }
    assert_eq!(shard.wake_for(due, now), due, "steps a millisecond apart");
    // Then five thousand a second: the gap falls under the slack within a few steps.
    let from = now + Duration::from_millis(20);
    for i in 0..40 {
        shard.note_due(from + us(200 * i));
    }
    assert_eq!(shard.wake_for(due, now), due + us(500), "steps 200 µs apart");
    assert_eq!(shard.wake_for(now, now), now, "a step due already is taken at once");
    assert_eq!(shard.wake_for(now - us(10), now), now - us(10));
    shard.slack = Duration::ZERO;
    assert_eq!(shard.wake_for(due, now), due, "no slack");
    let _ = std::fs::remove_dir_all(&dir);
}
