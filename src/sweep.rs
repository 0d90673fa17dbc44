//! `cutover sweep SCENARIO --vary PATH=V1,V2 ...`: every combination of the varied values
//! simulated in virtual time, on all cores, each deterministic (the same seeds for every
//! combination), with the figures a capacity planner chooses by, gate status, cost, and the
//! cheapest combination that passes every gate over every seed.

pub mod view;

use crate::report::Report;
use crate::scenario::ChannelKind;
use crate::scenario::RawScenario;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The JSON Schema of `sweep.json` (`reports/sweep.schema.json`).
pub fn schema() -> serde_json::Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12().for_serialize().into_generator().into_root_schema_for::<Sweep>();
    serde_json::to_value(schema).expect("schema serializes")
}

/// One `--vary PATH=V1,V2,...`.
#[derive(Clone, Debug)]
pub struct Vary {
    pub path: String,
    pub values: Vec<Value>,
}

impl std::str::FromStr for Vary {
    type Err = String;
    fn from_str(s: &str) -> Result<Vary, String> {
        let (path, list) = s.split_once('=').ok_or_else(|| format!("--vary {s:?}: write PATH=V1,V2,... (backend.concurrency=4,8)"))?;
        let path = path.trim();
        if path.is_empty() {
            return Err(format!("--vary {s:?}: no path before '='"));
        }
        let values: Vec<Value> = list
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string())))
            .collect();
        if values.is_empty() {
            return Err(format!("--vary {path}: no values after '='"));
        }
        Ok(Vary { path: path.to_string(), values })
    }
}

/// The figures of one simulation that a planner reads.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Figures {
    pub seed: u64,
    pub gates_passed: bool,
    pub failed_gates: Vec<String>,
    /// The worst day's p99 wait (minutes) at offline counters, and at the hotline.
    pub offline_wait_p99_min: Option<f64>,
    pub hotline_wait_p99_min: Option<f64>,
    /// The worst day's p99 wait (minutes) at each channel with counters or agents.
    pub channel_wait_p99_min: std::collections::BTreeMap<String, f64>,
    /// The largest p99 (ms) of payments at online channels in any phase.
    pub online_pay_p99_ms: Option<f64>,
    /// When 90 % of the suspension's backlog, and all of it, had paid (None: not by the end).
    pub backlog_90pct_cleared_at: Option<String>,
    pub backlog_cleared_at: Option<String>,
    pub gave_up: u64,
    pub payments_accepted: u64,
}

impl Figures {
    pub fn of(r: &Report) -> Figures {
        let worst = |kind: ChannelKind| {
            r.days
                .iter()
                .flat_map(|d| d.channels.iter())
                .filter(|c| c.kind == kind)
                .filter_map(|c| c.figures.waiting_min_p99)
                .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.max(b))))
        };
        let online: Vec<&str> =
            r.days.iter().flat_map(|d| d.channels.iter()).filter(|c| c.kind == ChannelKind::Online).map(|c| c.channel.as_str()).collect();
        Figures {
            seed: r.summary.seed,
            gates_passed: r.summary.gates_passed,
            failed_gates: r.gates.iter().filter(|g| !g.passed).map(|g| g.name()).collect(),
            offline_wait_p99_min: worst(ChannelKind::Offline),
            hotline_wait_p99_min: worst(ChannelKind::Hotline),
            channel_wait_p99_min: {
                let mut m = std::collections::BTreeMap::new();
                for c in r.days.iter().flat_map(|d| d.channels.iter()) {
                    if let Some(w) = c.figures.waiting_min_p99 {
                        let e = m.entry(c.channel.clone()).or_insert(w);
                        *e = f64::max(*e, w);
                    }
                }
                m
            },
            online_pay_p99_ms: r
                .cells
                .iter()
                .filter(|c| c.operation == crate::scenario::Operation::Pay && c.successes > 0 && online.contains(&c.channel.as_str()))
                .map(|c| c.latency_ms.p99)
                .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.max(b)))),
            backlog_90pct_cleared_at: r.reopening.backlog_90pct_cleared_at.clone(),
            backlog_cleared_at: r.reopening.backlog_cleared_at.clone(),
            gave_up: r.summary.gave_up,
            payments_accepted: r.summary.accepted,
        }
    }
}

/// Min, median and max over seeds.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Spread<T> {
    pub min: T,
    pub median: T,
    pub max: T,
}

fn spread<T: Clone + PartialOrd>(mut v: Vec<T>) -> Option<Spread<T>> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    Some(Spread { min: v[0].clone(), median: v[(v.len() - 1) / 2].clone(), max: v[v.len() - 1].clone() })
}

/// An instant spread; "never" (None) sorts after every instant.
fn instant_spread(v: Vec<Option<String>>) -> Option<Spread<String>> {
    let keyed: Vec<(bool, String)> = v
        .into_iter()
        .map(|x| match x {
            Some(s) => (false, s),
            None => (true, "never".to_string()),
        })
        .collect();
    spread(keyed).map(|s| Spread { min: s.min.1, median: s.median.1, max: s.max.1 })
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Combination {
    pub index: usize,
    /// Each varied path with its value here.
    pub values: Vec<(String, Value)>,
    /// Σ costs[path] × value over the scenario's `costs` (None: the scenario gives none).
    pub cost: Option<f64>,
    /// Every gate passed for every seed.
    pub passed: bool,
    pub seeds_passed: usize,
    pub offline_wait_p99_min: Option<Spread<f64>>,
    pub hotline_wait_p99_min: Option<Spread<f64>>,
    /// The worst day's p99 wait at each channel a varied path names (`channels.<id>...`).
    pub channel_wait_p99_min: Vec<(String, Option<Spread<f64>>)>,
    pub online_pay_p99_ms: Option<Spread<f64>>,
    pub backlog_90pct_cleared_at: Option<Spread<String>>,
    pub backlog_cleared_at: Option<Spread<String>>,
    pub gave_up: Option<Spread<u64>>,
    pub runs: Vec<Figures>,
    /// The combination's scenario, written beside the sweep to run it alone.
    pub scenario_file: String,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Sweep {
    pub scenario: String,
    pub varied: Vec<String>,
    pub seeds: Vec<u64>,
    pub combinations: Vec<Combination>,
    /// The cheapest combination that passes every gate over every seed (lowest index on ties).
    pub cheapest_passing: Option<usize>,
    pub passing: usize,
}

/// One combination's scenario: the base with each varied value set, and its cost.
#[derive(Debug)]
pub struct Planned {
    pub values: Vec<(String, Value)>,
    pub scenario: RawScenario,
    pub cost: Option<f64>,
}

/// Every combination, the first `--vary` changing slowest; an unknown path or cost path is an
/// error naming it.
pub fn plan(base: &RawScenario, varies: &[Vary]) -> Result<Vec<Planned>, String> {
    let mut combos: Vec<Vec<(String, Value)>> = vec![Vec::new()];
    for v in varies {
        combos = combos
            .into_iter()
            .flat_map(|c| v.values.iter().map(move |x| [c.clone(), vec![(v.path.clone(), x.clone())]].concat()))
            .collect();
    }
    let costs = base.costs();
    combos
        .into_iter()
        .map(|values| {
            let mut scenario = base.clone();
            for (path, x) in &values {
                scenario.set(path, x.clone()).map_err(|e| format!("--vary {e}"))?;
            }
            let mut cost = None;
            for (path, per_unit) in &costs {
                let n = scenario.number(path).map_err(|e| format!("costs.{e}"))?;
                cost = Some(cost.unwrap_or(0.0) + n * per_unit);
            }
            Ok(Planned { values, scenario, cost })
        })
        .collect()
}

/// What to do with one planned run: simulate the scenario text at a seed.
pub type RunOne<'a> = dyn Fn(&Arc<crate::scenario::Spec>, u64) -> Report + Sync + 'a;

/// Run every combination over every seed on `jobs` threads. `specs[i]` is combination i's
/// compiled scenario; `progress` is told each finished run (done, total).
#[allow(clippy::too_many_arguments)]
pub fn run(
    name: &str,
    varies: &[Vary],
    planned: Vec<Planned>,
    specs: Vec<Arc<crate::scenario::Spec>>,
    files: Vec<String>,
    seeds: &[u64],
    jobs: usize,
    run_one: &RunOne,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Sweep {
    let total = specs.len() * seeds.len();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<Option<Figures>>> = std::sync::Mutex::new(vec![None; total]);
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, total.max(1)) {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= total {
                        break;
                    }
                    let (c, seed) = (k / seeds.len(), seeds[k % seeds.len()]);
                    let figures = Figures::of(&run_one(&specs[c], seed));
                    results.lock().expect("no thread panics holding it")[k] = Some(figures);
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                }
            });
        }
    });
    let mut results = results.into_inner().expect("threads joined");
    let mut varied_channels: Vec<String> =
        varies.iter().filter_map(|v| v.path.strip_prefix("channels.")).filter_map(|p| p.split('.').next()).map(String::from).collect();
    varied_channels.dedup();
    let mut combinations = Vec::new();
    for (i, (p, file)) in planned.into_iter().zip(files).enumerate() {
        let runs: Vec<Figures> =
            results[i * seeds.len()..(i + 1) * seeds.len()].iter_mut().map(|f| f.take().expect("every run finished")).collect();
        let seeds_passed = runs.iter().filter(|f| f.gates_passed).count();
        combinations.push(Combination {
            index: i,
            values: p.values,
            cost: p.cost,
            passed: seeds_passed == runs.len(),
            seeds_passed,
            offline_wait_p99_min: spread(runs.iter().filter_map(|f| f.offline_wait_p99_min).collect()),
            hotline_wait_p99_min: spread(runs.iter().filter_map(|f| f.hotline_wait_p99_min).collect()),
            channel_wait_p99_min: varied_channels
                .iter()
                .map(|ch| (ch.clone(), spread(runs.iter().filter_map(|f| f.channel_wait_p99_min.get(ch).copied()).collect())))
                .collect(),
            online_pay_p99_ms: spread(runs.iter().filter_map(|f| f.online_pay_p99_ms).collect()),
            backlog_90pct_cleared_at: instant_spread(runs.iter().map(|f| f.backlog_90pct_cleared_at.clone()).collect()),
            backlog_cleared_at: instant_spread(runs.iter().map(|f| f.backlog_cleared_at.clone()).collect()),
            gave_up: spread(runs.iter().map(|f| f.gave_up).collect()),
            runs,
            scenario_file: file,
        });
    }
    let passing = combinations.iter().filter(|c| c.passed).count();
    let cheapest_passing = combinations
        .iter()
        .filter(|c| c.passed)
        .filter_map(|c| c.cost.map(|cost| (cost, c.index)))
        .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
        .map(|(_, i)| i);
    Sweep {
        scenario: name.to_string(),
        varied: varies.iter().map(|v| v.path.clone()).collect(),
        seeds: seeds.to_vec(),
        combinations,
        cheapest_passing,
        passing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn combinations_are_the_product_with_their_cost() {
        let base = RawScenario::from_value(json!({"backend": {"concurrency": 4}, "channels": [{"id": "h", "servers": 3}],
                          "costs": {"backend.concurrency": 100.0, "channels.h.servers": 10.0}}));
        let varies: Vec<Vary> = ["backend.concurrency=2,4", "channels.h.servers=1,2,3"].iter().map(|s| s.parse().unwrap()).collect();
        let p = plan(&base, &varies).unwrap();
        assert_eq!(p.len(), 6);
        assert_eq!(p[0].values, vec![("backend.concurrency".to_string(), json!(2)), ("channels.h.servers".to_string(), json!(1))]);
        assert_eq!(p[0].cost, Some(210.0));
        assert_eq!(p[5].cost, Some(430.0));
        assert!("backend.concurrency".parse::<Vary>().is_err());
        assert!(plan(&base, &["backend.nope=1".parse().unwrap()]).unwrap_err().starts_with("--vary backend.nope"));
    }

    #[test]
    fn spreads_put_never_last() {
        let s = instant_spread(vec![Some("2021-05-09".into()), None, Some("2021-05-07".into())]).unwrap();
        assert_eq!((s.min.as_str(), s.median.as_str(), s.max.as_str()), ("2021-05-07", "2021-05-09", "never"));
        let s = spread(vec![3.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!((s.min, s.median, s.max), (1.0, 2.0, 10.0));
    }
}
