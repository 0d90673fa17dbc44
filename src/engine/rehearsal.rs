//! `simulate` end to end: a scenario's payers through the reference model in virtual time,
//! the books read, the cutover's checks run, the report built.

use crate::{model, population, report, scenario, target};
use std::sync::Arc;

/// Everything `simulate` produced.
pub struct SimulationOutput {
    pub report: report::Report,
}

/// What a simulation writes besides its report.
#[derive(Clone, Copy, Debug, Default)]
pub struct Extras {
    /// Keep the latency histograms whole in the report, for HdrHistogram interval logs.
    pub hlog: bool,
}

/// Simulate a scenario through the in-process reference model, in virtual time.
pub fn simulate(
    spec: Arc<scenario::Spec>,
    seed: u64,
    scenario_file: &str,
    faults: model::Faults,
    progress: Option<super::Progress>,
) -> SimulationOutput {
    simulate_with(spec, seed, scenario_file, faults, progress, Extras::default())
}

/// [`simulate`], with what else to write.
pub fn simulate_with(
    spec: Arc<scenario::Spec>,
    seed: u64,
    scenario_file: &str,
    faults: model::Faults,
    progress: Option<super::Progress>,
    extras: Extras,
) -> SimulationOutput {
    let rules = Arc::new(model::Rules::from_spec(&spec));
    let mut target = model::Systems::from_spec(&spec, rules.clone(), faults);
    let population = population::Population::new(&spec, seed);
    let mut engine = super::Engine::new(spec.clone(), seed, &mut target, &population, rules);
    engine.run(progress);
    let super::Finished { recorder, stats, batches } = engine.finish();
    // What falls due by the end (a migration after the last request) runs before the books
    // are read.
    target.advance(spec.end);
    let actual = target::VirtualTarget::ledger(&mut target);
    // The cutover's checks read both systems' books in full (one system: nothing to check),
    // the systems given up for them.
    let cutover = spec.cutover.as_ref().and_then(|_| {
        let migration = target.migration().cloned();
        let books = Ok(target.into_books());
        report::check::cutover::check(report::check::cutover::CutoverInput {
            spec: &spec,
            recorder: &recorder,
            books,
            migration,
            reached: spec.end,
        })
    });
    let report = report::check::build::build(report::check::build::BuildInput {
        spec: &spec,
        scenario_file,
        mode: report::Mode::Simulate,
        seed,
        recorder: &recorder,
        stats: &stats,
        batches,
        actual_ledger: actual,
        audit: None,
        cutover,
        keep_histograms: extras.hlog,
        reached: spec.end,
    });
    SimulationOutput { report }
}
