//! The collector: the one owner of histograms, counters and the checker's view.
//!
//! The engine (and later the live driver) hands every attempt and answer to a
//! [`Recorder`]. The recorder also keeps its own account of acknowledged
//! payments, independent of the target's ledger, so the final reconciliation
//! compares two separately kept books.

use crate::hash::FastSet;
use crate::model::{IdemKey, LedgerCell, LedgerKey, LedgerTable, Operation, Outcome, Request, Response, Rules};
use crate::scenario::{Spec, SystemIdx};
use crate::time::{MICROS_PER_HOUR, SimTime};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) use crate::metrics::LATENCY_MAX_MICROS;

mod parts;
pub(crate) use parts::RecorderPart;

/// A cell's requests and their answers by [`Outcome`].
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct CellCounters {
    pub attempts: u64,
    outcomes: [u64; Outcome::COUNT],
}

impl CellCounters {
    pub(crate) fn count(&mut self, o: Outcome) {
        self.outcomes[o.index()] += 1;
    }

    pub(crate) fn get(&self, o: Outcome) -> u64 {
        self.outcomes[o.index()]
    }

    /// Answers of every kind: never more than the attempts (an attempt and its answer count
    /// in the phase the attempt started in); fewer only by those still in flight at the end.
    pub(crate) fn answered(&self) -> u64 {
        self.outcomes.iter().sum()
    }
}

impl std::ops::AddAssign<&CellCounters> for CellCounters {
    fn add_assign(&mut self, b: &CellCounters) {
        self.attempts += b.attempts;
        for (x, y) in self.outcomes.iter_mut().zip(&b.outcomes) {
            *x += y;
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Cell {
    pub counters: CellCounters,
    /// Response time: from the request's scheduled instant (or its start in the engine).
    #[serde(with = "crate::metrics::encoded::one")]
    pub latency_micros: Histogram<u64>,
    /// Service time from the actual send (live runs only).
    #[serde(with = "crate::metrics::encoded::optional")]
    pub service_micros: Option<Histogram<u64>>,
}

use crate::metrics::latency_histogram as histogram;

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Hour {
    pub attempts: u64,
    /// Attempts by payers themselves (batch debits excluded).
    pub self_paid_attempts: u64,
    pub successes: u64,
    pub rejections: u64,
    pub errors: u64,
    pub backend_queue_max: u64,
    pub channel_queue_max: Vec<u64>,
}

/// How long an answer took, and the window in which the target decided.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timing {
    /// From the request's due instant to its answer.
    pub response_micros: u64,
    /// From the actual send to the answer (live runs only).
    pub service_micros: Option<u64>,
    /// The earliest instant the target may have decided at (the send instant in live runs,
    /// the answer instant in the engine): an acceptance counts as made while suspended
    /// only if the channel was closed over the whole window.
    pub decided_from: SimTime,
}

/// A rule broken by the target, kept for the report (first few only).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Violation {
    pub at: SimTime,
    pub what: String,
}

const VIOLATIONS_KEPT: usize = 20;

/// Acknowledged keys put into the set at once ([`Recorder::settle`]): 1 MiB of them.
const KEYS_AT_ONCE: usize = 1 << 16;

pub(crate) struct Recorder {
    spec: Arc<Spec>,
    rules: Arc<Rules>,
    channels: usize,
    cells: Vec<Option<Box<Cell>>>,
    pub hours: Vec<Hour>,
    acknowledged: FastSet<IdemKey>,
    /// Keys booked without asking whether they were new, on their way into `acknowledged`
    /// a batch at a time ([`Recorder::settle`]).
    pending: Vec<IdemKey>,
    /// The ledger the acknowledged payments make, by [`ledger_index`] (a dense table: one
    /// search of a map per item of every payment showed in profiles of the live driver).
    expected: LedgerTable,
    pub accepted: u64,
    pub accepted_while_suspended: u64,
    pub violations: Vec<Violation>,
    pub reopen_at: Option<SimTime>,
    pub backlog: u64,
    /// Regular payments against their due dates.
    pub dues: super::dues::DuesTally,
    /// Per date and channel, and per hour, channel and operation.
    pub days: crate::report::feed::days::DaysTally,
    pub backlog_peak: u64,
    pub backlog_peak_at: Option<SimTime>,
    pub backlog_cleared_at: Option<SimTime>,
    /// First instants after reopening with at most 10 % / 1 % of the peak backlog left.
    pub backlog_90pct_cleared_at: Option<SimTime>,
    pub backlog_99pct_cleared_at: Option<SimTime>,
    pub displaced_total: u64,
    pub gave_up: u64,
    pub gave_up_displaced: u64,
    /// Failures and refusals by kind (overloaded, timeout, refused, unexpected_status...).
    pub errors_by_kind: BTreeMap<crate::vocabulary::ErrorKind, u64>,
    /// Every change of the backlog in order, when kept (see [`Recorder::keep_backlog_steps`]).
    backlog_steps: Option<Vec<BacklogStep>>,
    /// What the cutover's own counts need (scenarios with a `cutover` section).
    pub cutover: CutoverTally,
    /// A conditional rollback's go / no-go, once decided.
    pub rollback_decision: Option<crate::report::RollbackDecision>,
}

/// Counts of a cutover rehearsal the recorder keeps beside the cells.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct CutoverTally {
    /// Per stop of [`crate::scenario::CutoverSpec::stops`]: requests on a stopping channel
    /// started before the stop and answered at or after it.
    pub in_flight: Vec<StopTally>,
    /// Answers the payer never got (drawn by the scenario), per channel.
    pub lost_by_channel: Vec<u64>,
    /// Of those, acceptances of a payment: the money was taken, the payer does not know.
    pub lost_acceptances: u64,
    /// Payments started as a new order (a new key) after a lost answer or a "no record".
    pub new_orders: u64,
    /// Payments refused as already paid (under another key or channel).
    pub already_paid: u64,
    /// Of them, payments taken and paid back at once, and their sum.
    pub refunded: u64,
    pub refunded_fen: i64,
    /// Payments and assessments refused because the payer is not registered, per channel.
    pub not_registered_by_channel: Vec<u64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct StopTally {
    pub in_flight: u64,
    pub accepted: u64,
    pub refused_suspended: u64,
}

/// One change of the backlog of displaced payers: what [`Recorder::merge`] replays.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
struct BacklogStep {
    at: SimTime,
    /// A payer joined the backlog (else: one left it).
    joined: bool,
    gave_up: bool,
}

/// A key as the book holds it: the key itself for the first (or only) system, with the top
/// bit set for the second (the keys the tool makes never set it).
pub(crate) fn book_key(system: SystemIdx, key: IdemKey) -> IdemKey {
    IdemKey::new(key.value() | ((system as u128 & 1) << 127))
}

/// The key a payer sent, of an entry of the book (see [`book_key`]).
pub(crate) fn sent_key(booked: IdemKey) -> IdemKey {
    IdemKey::new(booked.value() & !(1u128 << 127))
}

impl Recorder {
    pub(crate) fn new(spec: Arc<Spec>, rules: Arc<Rules>) -> Recorder {
        let channels = spec.channels.len();
        let cells = (0..spec.phases.len() * channels * Operation::COUNT).map(|_| None).collect();
        let hours = vec![Hour { channel_queue_max: vec![0; channels], ..Hour::default() }; spec.hours_total()];
        // Reopening: the end of the last phase that suspends everything (or, failing that,
        // of the last phase closing any channel). A rollback that gates decide is not known
        // in advance: the reopening is the one before it.
        let maybe = spec.cutover.as_ref().and_then(|x| x.rollback.as_ref()).filter(|r| r.conditional()).map(|r| r.phase);
        let phases = || spec.phases.iter().enumerate().rev().filter(|(i, _)| Some(*i) != maybe).map(|(_, p)| p);
        let reopen_at = phases()
            .find(|p| p.closed.iter().all(|c| *c))
            .or_else(|| phases().find(|p| p.closed.iter().any(|c| *c)))
            .map(|p| p.end)
            .filter(|t| *t < spec.end);
        let spec_stops = spec.cutover.as_ref().map_or(0, |x| x.stops.len());
        let days = crate::report::feed::days::DaysTally::new(&spec);
        let spec_channels = channels;
        Recorder {
            spec,
            rules,
            channels,
            cells,
            hours,
            acknowledged: FastSet::default(),
            pending: Vec::new(),
            expected: LedgerTable::default(),
            accepted: 0,
            accepted_while_suspended: 0,
            violations: Vec::new(),
            reopen_at,
            backlog: 0,
            dues: Default::default(),
            days,
            backlog_peak: 0,
            backlog_peak_at: None,
            backlog_cleared_at: None,
            backlog_90pct_cleared_at: None,
            backlog_99pct_cleared_at: None,
            displaced_total: 0,
            gave_up: 0,
            gave_up_displaced: 0,
            errors_by_kind: BTreeMap::new(),
            backlog_steps: None,
            rollback_decision: None,
            cutover: CutoverTally {
                in_flight: vec![StopTally::default(); spec_stops],
                lost_by_channel: vec![0; spec_channels],
                ..CutoverTally::default()
            },
        }
    }

    /// An answer to a request started at `started` reached its owner at `now`: what the
    /// cutover's counts take of it (the stops it crossed, a refusal as already paid).
    pub(crate) fn cutover_outcome(&mut self, started: SimTime, now: SimTime, req: &Request, resp: &Response) {
        let Some(x) = &self.spec.cutover else { return };
        if matches!(resp, Response::NotRegistered) {
            let c = req.channel() as usize;
            let v = &mut self.cutover.not_registered_by_channel;
            if v.len() <= c {
                v.resize(c + 1, 0);
            }
            v[c] += 1;
        }
        if let Response::AlreadyPaid { refunded } = resp {
            self.cutover.already_paid += 1;
            if *refunded && let Request::Pay { items, .. } = req {
                self.cutover.refunded += 1;
                self.cutover.refunded_fen = self.cutover.refunded_fen.saturating_add(items.iter().sum());
            }
        }
        for (i, stop) in x.stops.iter().enumerate() {
            if started < stop.at && stop.at <= now && stop.channels.get(req.channel() as usize).copied().unwrap_or(false) {
                let t = &mut self.cutover.in_flight[i];
                t.in_flight += 1;
                match resp {
                    Response::Accepted { .. } => t.accepted += 1,
                    Response::Suspended { .. } => t.refused_suspended += 1,
                    _ => {}
                }
            }
        }
    }

    /// The answer to `req` (`resp`) never reached the payer.
    pub(crate) fn lost(&mut self, req: &Request, resp: &Response) {
        if let Some(n) = self.cutover.lost_by_channel.get_mut(req.channel() as usize) {
            *n += 1;
        }
        if matches!(resp, Response::Accepted { replayed: false, .. }) {
            self.cutover.lost_acceptances += 1;
        }
    }

    /// Keep every change of the backlog, so that recorders of disjoint sets of payers can
    /// be merged into one with the backlog's peak and clearing instants of the whole.
    pub(crate) fn keep_backlog_steps(&mut self) {
        self.backlog_steps.get_or_insert_with(Vec::new);
    }

    /// Enter an acknowledged payment into the tool's own book, once per idempotency key.
    /// Returns false for a key already booked (or a request that is not a payment).
    #[cfg(test)]
    pub(crate) fn book(&mut self, req: &Request) -> bool {
        self.book_in(0, req)
    }

    /// [`Recorder::book`] for a payment acknowledged by `system`: each system has keys of
    /// its own (the new one never saw the old one's), so the book holds a key once per system.
    pub(crate) fn book_in(&mut self, system: SystemIdx, req: &Request) -> bool {
        self.book_answer(system, req, true)
    }

    /// Book a payment acknowledged by `system`; `replay`: the target said it answered an
    /// earlier payment again (booked only if that one was not). A payment the target says
    /// is new under a key booked already (a key it forgot) is booked again: money taken twice.
    fn book_answer(&mut self, system: SystemIdx, req: &Request, replay: bool) -> bool {
        let Request::Pay { key, payer, items, .. } = req else {
            return false;
        };
        let key = book_key(system, *key);
        if replay {
            // Whether the key was booked before: the set must be whole to tell.
            self.settle();
            if !self.acknowledged.insert(key) {
                return false;
            }
        } else {
            self.pending.push(key);
            if self.pending.len() >= KEYS_AT_ONCE {
                self.settle();
            }
        }
        self.accepted += 1;
        self.expected.book(payer.league, payer.group, items);
        true
    }

    /// Make room for about `payments` acknowledged payments up front.
    pub(crate) fn reserve(&mut self, payments: usize) {
        self.acknowledged.reserve(payments);
    }

    /// Put the pending keys into the set of acknowledged ones, in the order of the places
    /// they take in its table: one key after another at random places in a table of
    /// millions missed the cache at nearly every key (8 % of a region's simulation), a
    /// batch in table order walks it forward. Done whenever a replay asks whether a key was
    /// booked, every [`KEYS_AT_ONCE`] keys, and when the run is over (the cohort gives its
    /// recorder up settled) or the recorder becomes a part ([`Recorder::into_part`]).
    pub(crate) fn settle(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let set = &mut self.acknowledged;
        set.reserve(self.pending.len());
        // The standard set's table has a power of two of buckets, 8 for each 7 it holds,
        // and a key's place is its hash's low bits: sort by them. (Were the guess wrong,
        // the set would be the same, only filled slower.)
        let buckets = (set.capacity() / 7 * 8).max(1).next_power_of_two() as u64;
        let hasher = set.hasher().clone();
        let mut placed: Vec<(u64, IdemKey)> =
            self.pending.drain(..).map(|k| (std::hash::BuildHasher::hash_one(&hasher, k) & (buckets - 1), k)).collect();
        placed.sort_unstable_by_key(|(place, _)| *place);
        set.extend(placed.into_iter().map(|(_, k)| k));
    }

    /// Note a key acknowledged by `system` (read from a run's journal), without its amounts.
    pub(crate) fn acknowledge_key(&mut self, system: SystemIdx, key: IdemKey) {
        self.acknowledged.insert(book_key(system, key));
    }

    /// Idempotency keys of the payments acknowledged as accepted. Only a settled recorder's
    /// ([`Recorder::settle`]): read with keys still waiting, the reconciliation would count
    /// their payments as never acknowledged, so that is a bug that stops the run, in a
    /// release build too, rather than a verdict.
    pub(crate) fn acknowledged(&self) -> &FastSet<IdemKey> {
        assert!(self.pending.is_empty(), "the acknowledged keys are read before they were settled");
        &self.acknowledged
    }

    fn hour_index(&self, t: SimTime) -> Option<usize> {
        let h = (t.0 - self.spec.start.0).div_euclid(MICROS_PER_HOUR);
        (h >= 0 && (h as usize) < self.hours.len()).then_some(h as usize)
    }

    fn cell(&mut self, phase: usize, channel: u8, op: Operation) -> &mut Cell {
        let i = (phase * self.channels + channel as usize) * Operation::COUNT + op.index();
        self.cells[i]
            .get_or_insert_with(|| Box::new(Cell { counters: CellCounters::default(), latency_micros: histogram(), service_micros: None }))
    }

    /// A request was started (scheduled) at `start`.
    pub(crate) fn attempt(&mut self, start: SimTime, phase: usize, req: &Request) {
        self.cell(phase, req.channel(), req.operation()).counters.attempts += 1;
        if let Some(h) = self.hour_index(start) {
            self.hours[h].attempts += 1;
            if !matches!(
                self.spec.channels[req.channel() as usize].kind,
                crate::scenario::ChannelKind::Batch | crate::scenario::ChannelKind::Hotline
            ) {
                self.hours[h].self_paid_attempts += 1;
                self.days.self_paid_attempt(start);
            }
        }
    }

    /// The answer to a request started at `started` (sent to `system`) arrived at virtual
    /// instant `now`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn outcome(
        &mut self,
        started: SimTime,
        now: SimTime,
        phase: usize,
        system: SystemIdx,
        req: &Request,
        resp: &Response,
        timing: Timing,
    ) {
        let Timing { response_micros, service_micros, decided_from } = timing;
        let latency = response_micros.clamp(1, LATENCY_MAX_MICROS);
        // Outcomes count in the hour their attempt started, as attempts do: no hour shows
        // more successes than attempts (a wait at a counter can end hours later).
        let hour = self.hour_index(started);
        if let Some(e) = resp.error_kind() {
            *self.errors_by_kind.entry(e).or_default() += 1;
        }
        let outcome = Outcome::of(req, resp);
        self.days.outcome(&self.spec, started, now, req, resp, outcome);
        let cell = self.cell(phase, req.channel(), req.operation());
        // Clamped into the histogram's range, so recording cannot fail.
        let _ = cell.latency_micros.record(latency);
        if let Some(s) = service_micros {
            let _ = cell.service_micros.get_or_insert_with(histogram).record(s.clamp(1, LATENCY_MAX_MICROS));
        }
        cell.counters.count(outcome);
        if let Some(h) = hour {
            let h = &mut self.hours[h];
            match outcome {
                Outcome::Success => h.successes += 1,
                Outcome::Error => h.errors += 1,
                _ => h.rejections += 1,
            }
        }
        if let (Request::Pay { key, payer, channel, .. }, Response::Accepted { .. }) = (req, resp) {
            if self.rules.is_closed(*channel, payer.group, payer.league, now)
                && self.rules.is_closed(*channel, payer.group, payer.league, decided_from)
            {
                self.accepted_while_suspended += 1;
                if self.violations.len() < VIOLATIONS_KEPT {
                    self.violations.push(Violation {
                        at: now,
                        what: format!(
                            "payment {:032x} of payer {} accepted on closed channel {}",
                            key.value(),
                            payer.id,
                            self.spec.channels[*channel as usize].id
                        ),
                    });
                }
            }
            let replay = matches!(resp, Response::Accepted { replayed: true, .. });
            if self.book_answer(system, req, replay) {
                self.dues.accepted(&self.spec, now, req);
            }
        }
    }

    /// Queue lengths at `now`: the backend's, and one channel's in a league (`(channel,
    /// league, people)`).
    pub(crate) fn queue_lengths(&mut self, now: SimTime, backend: u64, channel: Option<(u8, u8, u64)>) {
        if let Some((c, l, n)) = channel {
            self.days.queue(&self.spec, now, c, l, n);
        }
        if let Some(h) = self.hour_index(now) {
            let h = &mut self.hours[h];
            h.backend_queue_max = h.backend_queue_max.max(backend);
            if let Some((c, _, n)) = channel {
                let m = &mut h.channel_queue_max[c as usize];
                *m = (*m).max(n);
            }
        }
    }

    /// Keep a step of the backlog, never before the one kept last: a live thread stamps the
    /// notice's readers with its instant when it takes the event, which may be a little ahead
    /// of the answers it reads next (at a high time scale, a few µs of look-ahead are hours);
    /// replayed in time order with other threads' steps, a payer must not leave the backlog
    /// before it joined.
    fn keep_step(&mut self, now: SimTime, joined: bool, gave_up: bool) {
        if let Some(s) = &mut self.backlog_steps {
            let at = s.last().map_or(now, |l| l.at.max(now));
            s.push(BacklogStep { at, joined, gave_up });
        }
    }

    /// A payer joined the backlog of payments displaced by the suspension.
    pub(crate) fn displaced(&mut self, now: SimTime) {
        self.keep_step(now, true, false);
        self.backlog += 1;
        self.displaced_total += 1;
        if self.backlog > self.backlog_peak {
            self.backlog_peak = self.backlog;
            self.backlog_peak_at = Some(now);
        }
        self.backlog_cleared_at = None;
    }

    /// A displaced payer paid or gave up.
    pub(crate) fn resolved(&mut self, now: SimTime, gave_up: bool) {
        self.keep_step(now, false, gave_up);
        assert!(self.backlog > 0, "a payer left a backlog it was not in");
        self.backlog = self.backlog.saturating_sub(1);
        if gave_up {
            self.gave_up_displaced += 1;
        }
        let reopened = self.reopen_at.is_some_and(|r| now >= r);
        if reopened && self.backlog == 0 && self.backlog_cleared_at.is_none() {
            self.backlog_cleared_at = Some(now);
        }
        if reopened && self.backlog * 10 <= self.backlog_peak && self.backlog_90pct_cleared_at.is_none() {
            self.backlog_90pct_cleared_at = Some(now);
        }
        if reopened && self.backlog * 100 <= self.backlog_peak && self.backlog_99pct_cleared_at.is_none() {
            self.backlog_99pct_cleared_at = Some(now);
        }
    }

    pub(crate) fn cells(&self) -> impl Iterator<Item = (usize, u8, Operation, &Cell)> {
        let channels = self.channels;
        self.cells.iter().enumerate().filter_map(move |(i, c)| {
            let c = c.as_ref()?;
            let op = Operation::ALL[i % Operation::COUNT];
            let ch = ((i / Operation::COUNT) % channels) as u8;
            let phase = i / Operation::COUNT / channels;
            Some((phase, ch, op, &**c))
        })
    }

    pub(crate) fn expected_ledger(&self) -> BTreeMap<LedgerKey, LedgerCell> {
        self.expected.cells()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PayerRef;
    use crate::scenario::{GroupKind, Insurance};

    fn spec() -> Arc<Spec> {
        Arc::new(crate::scenario::load(std::path::Path::new("scenarios/ci-smoke.json")).expect("scenario"))
    }

    fn pay(id: u32) -> Request {
        let payer = PayerRef { id, group: GroupKind::Flexible, league: 0 };
        Request::Pay {
            key: IdemKey::new(id as u128),
            payer,
            channel: 0,
            items: [100 * id as i64, 0, 0, 0, 0, 0],
            period: crate::model::Period::UNKNOWN,
            special: false,
            assessment: None,
        }
    }

    /// Keys booked as new wait to be put into the set a batch at a time; a replay still
    /// finds a key booked a moment before, and the set holds every key once, across more
    /// than one batch and a key booked twice as new (a target that forgot it: money taken
    /// twice, counted twice).
    #[test]
    fn a_replay_finds_a_key_booked_just_before_and_the_set_holds_every_key_once() {
        let spec = spec();
        let rules = Arc::new(Rules::from_spec(&spec));
        let mut r = Recorder::new(spec.clone(), rules.clone());
        let n = KEYS_AT_ONCE as u32 + 10;
        for id in 1..=n {
            assert!(r.book_answer(0, &pay(id), false));
        }
        assert!(!r.pending.is_empty(), "the last keys wait");
        assert!(!r.book_answer(0, &pay(n), true), "replay of a key booked just before: not booked again");
        assert!(r.pending.is_empty(), "a replay settles first");
        assert!(r.book_answer(0, &pay(n + 1), true), "replay of a payment never booked: booked");
        assert!(r.book_answer(0, &pay(3), false), "new again under a booked key: booked again");
        assert_eq!(r.accepted, n as u64 + 2);
        // As a part (what a sending thread hands on): the keys still waiting go in too.
        r.book_answer(0, &pay(n + 2), false);
        let m = Recorder::merge(spec, rules, vec![r.into_part()]);
        let mut keys: Vec<IdemKey> = m.acknowledged().iter().copied().collect();
        keys.sort_unstable();
        assert_eq!(keys, (1..=n + 2).map(|id| book_key(0, IdemKey::new(id as u128))).collect::<Vec<_>>(), "every key once");
    }

    #[test]
    fn the_expected_ledger_sums_every_item_into_its_cell() {
        let spec = spec();
        let rules = Arc::new(Rules::from_spec(&spec));
        let mut r = Recorder::new(spec, rules);
        let mut want: BTreeMap<LedgerKey, LedgerCell> = BTreeMap::new();
        // Every group and insurance, leagues past the spec's own too, some payers twice.
        for n in 0..200u32 {
            let (league, group) = ((n % 13) as u8, GroupKind::ALL[(n / 13) as usize % 5]);
            let mut items = [0i64; 6];
            for (i, a) in items.iter_mut().enumerate() {
                if !(n as usize + i).is_multiple_of(3) {
                    *a = (n as i64 + 1) * 10 + i as i64;
                }
            }
            let req = Request::Pay {
                key: IdemKey::new(n as u128),
                payer: PayerRef { id: n, group, league },
                channel: 0,
                items,
                period: crate::model::Period::UNKNOWN,
                special: false,
                assessment: None,
            };
            assert!(r.book(&req));
            assert!(!r.book(&req), "the same key booked twice");
            for ins in Insurance::ALL {
                if items[ins.index()] != 0 {
                    let c = want.entry((league, group, ins)).or_default();
                    c.count += 1;
                    c.sum_fen += items[ins.index()];
                }
            }
        }
        assert_eq!(r.expected_ledger(), want);
    }

    /// Feed `r` backlog events (at, joined, gave up) in time order.
    fn feed(r: &mut Recorder, mut events: Vec<(SimTime, bool, bool)>) {
        events.sort_by_key(|e| e.0);
        for (at, joined, g) in events {
            if joined { r.displaced(at) } else { r.resolved(at, g) }
        }
    }

    /// Regression: a live run of the region at 1e9x panicked merging its threads ("a payer left
    /// a backlog it was not in"): a thread took the notice's event (its readers join the
    /// backlog at the notice's instant) a little ahead of time, then read an answer stamped
    /// 200 virtual seconds before it that resolved one of them. A part's steps are kept in
    /// order, so the replay never sees a payer leave before it joined.
    #[test]
    fn a_part_whose_answers_come_stamped_before_the_notice_still_merges() {
        let spec = spec();
        let rules = Arc::new(Rules::from_spec(&spec));
        let notice = spec.notice_published;
        let mut part = Recorder::new(spec.clone(), rules.clone());
        part.keep_backlog_steps();
        part.displaced(notice);
        part.resolved(SimTime(notice.0 - 200_000_000), false);
        let mut other = Recorder::new(spec.clone(), rules.clone());
        other.keep_backlog_steps();
        let m = Recorder::merge(spec, rules, vec![part.into_part(), other.into_part()]);
        assert_eq!((m.displaced_total, m.backlog, m.backlog_peak), (1, 0, 1));
    }

    #[test]
    fn merged_parts_tell_what_one_recorder_of_everything_would() {
        let spec = spec();
        let rules = Arc::new(Rules::from_spec(&spec));
        let reopen = Recorder::new(spec.clone(), rules.clone()).reopen_at.expect("ci-smoke reopens");
        let t = |s: i64| SimTime(reopen.0 + s * 1_000_000);
        // Payer stories (displaced at, resolved at, gave up), dealt between two parts. The
        // backlog peaks at 3 only when both parts' payers are counted together.
        let stories = [(t(-30), t(10), false), (t(-20), t(40), false), (t(-10), t(20), true), (t(-5), t(30), false)];
        let events = |which: &dyn Fn(usize) -> bool| {
            let mut v = Vec::new();
            for (i, (a, b, g)) in stories.into_iter().enumerate() {
                if which(i) {
                    v.push((a, true, false));
                    v.push((b, false, g));
                }
            }
            v
        };
        let mut whole = Recorder::new(spec.clone(), rules.clone());
        feed(&mut whole, events(&|_| true));
        let mut parts = vec![Recorder::new(spec.clone(), rules.clone()), Recorder::new(spec.clone(), rules.clone())];
        for (k, p) in parts.iter_mut().enumerate() {
            p.keep_backlog_steps();
            feed(p, events(&|i| i % 2 == k));
        }
        // Payments: an accepted one in each part, a latency in each.
        for (i, p) in parts.iter_mut().enumerate() {
            let req = pay(i as u32 + 1);
            p.attempt(t(100), 0, &req);
            let timing = Timing { response_micros: 1000 * (i as u64 + 1), service_micros: Some(500), decided_from: t(100) };
            p.outcome(t(100), t(100), 0, 0, &req, &Response::Accepted { payment: crate::model::TargetId::Num(1), replayed: false }, timing);
        }
        assert_eq!(parts[0].backlog_peak, 2, "each part alone peaks lower");
        // Through the text a shard's part file holds, as `cutover merge` reads it: nothing lost.
        let through_text = |p: Recorder| -> RecorderPart {
            let text = serde_json::to_string(&p.into_part()).unwrap();
            serde_json::from_str(&text).unwrap()
        };
        let m = Recorder::merge(spec.clone(), rules, parts.into_iter().map(through_text).collect());
        assert_eq!(m.backlog_peak, whole.backlog_peak);
        assert_eq!(m.backlog_peak, 4);
        assert_eq!(m.backlog_peak_at, whole.backlog_peak_at);
        assert_eq!(m.backlog_cleared_at, whole.backlog_cleared_at);
        assert_eq!(m.backlog_90pct_cleared_at, whole.backlog_90pct_cleared_at);
        assert_eq!(m.displaced_total, 4);
        assert_eq!(m.gave_up_displaced, 1);
        assert_eq!(m.accepted, 2);
        assert_eq!(m.acknowledged().len(), 2);
        let cell = m.cells().find(|(phase, ch, op, _)| (*phase, *ch, *op) == (0, 0, Operation::Pay)).expect("cell").3;
        assert_eq!(cell.counters.attempts, 2);
        assert_eq!(cell.counters.get(Outcome::Success), 2);
        assert_eq!(cell.latency_micros.len(), 2);
        assert_eq!(cell.latency_micros.max(), cell.latency_micros.highest_equivalent(2000));
        assert_eq!(cell.service_micros.as_ref().map(|h| h.len()), Some(2));
        let sum: i64 = m.expected_ledger().values().map(|c| c.sum_fen).sum();
        assert_eq!(sum, 300);
    }

    #[test]
    fn requests_across_a_stop_are_counted_at_it() {
        let spec = Arc::new(crate::scenario::parse("c.json", include_str!("../../../../scenarios/cutover-2021-ci.json")).unwrap());
        let rules = Arc::new(Rules::from_spec(&spec));
        let mut r = Recorder::new(spec.clone(), rules);
        let stops = &spec.cutover.as_ref().unwrap().stops;
        assert_eq!(stops.len(), 2, "the peripheral stop and the old system's");
        let (peripheral, old_stops) = (stops[0].at, stops[1].at);
        let wechat = spec.channel_index("wechat_mini").unwrap();
        let hall = spec.channel_index("hall_cash").unwrap();
        let req = |channel| Request::Lookup { payer: PayerRef { id: 1, group: GroupKind::Flexible, league: 0 }, channel };
        let s = |t: SimTime, secs: i64| t.plus_micros(secs * 1_000_000);
        let suspended = Response::Suspended { resume_at: None };
        // Across the peripheral stop on a peripheral channel: counted; on a hall: not.
        r.cutover_outcome(s(peripheral, -1), s(peripheral, 1), &req(wechat), &suspended);
        r.cutover_outcome(s(peripheral, -1), s(peripheral, 1), &req(hall), &suspended);
        // Answered before, or started at the stop: not in flight across it.
        r.cutover_outcome(s(old_stops, -2), s(old_stops, -1), &req(hall), &suspended);
        r.cutover_outcome(old_stops, s(old_stops, 1), &req(hall), &suspended);
        // Across the old system's stop on any channel.
        r.cutover_outcome(s(old_stops, -1), old_stops, &req(hall), &Response::AlreadyPaid { refunded: false });
        assert_eq!(r.cutover.in_flight[0], StopTally { in_flight: 1, accepted: 0, refused_suspended: 1 });
        assert_eq!(r.cutover.in_flight[1], StopTally { in_flight: 1, accepted: 0, refused_suspended: 0 });
        assert_eq!(r.cutover.already_paid, 1);
    }
}
