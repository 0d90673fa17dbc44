//! `cutover compare BASE NEW`: two report.json files judged cell by cell.

use super::Exit;
use crate::cli::{CompareArgs, Format};
use anyhow::Context;
use std::path::Path;

pub(super) fn compare(a: CompareArgs) -> anyhow::Result<Exit> {
    let max_regression = crate::compare::parse_share(&a.max_regression).map_err(anyhow::Error::msg)?;
    if a.min_change_ms.is_nan() || a.min_change_ms < 0.0 {
        anyhow::bail!("--min-change-ms must be 0 or more");
    }
    let (base, new) = (read_report(&a.base)?, read_report(&a.new)?);
    // A simulation's latencies are virtual time through the model's queues; a run's are the
    // target's answers in real time: the same figure in two units.
    let mode = |v: &serde_json::Value| v.get("mode").and_then(|m| m.as_str()).unwrap_or("simulate").to_string();
    if mode(&base) != mode(&new) {
        anyhow::bail!(
            "{} is a `{}` report and {} a `{}` report: their figures are in different units (virtual time through the reference model against a target's answers in real time); compare a simulate report with a simulate report, a run with a run",
            a.base.display(),
            mode(&base),
            a.new.display(),
            mode(&new)
        );
    }
    let limits = crate::compare::Limits { max_regression, min_change_ms: a.min_change_ms, min_samples: a.min_samples };
    let c = crate::compare::compare(&base, &new, limits);
    if c.base_scenario != c.new_scenario {
        eprintln!("warning: the reports are of different scenarios ({} and {})", c.base_scenario, c.new_scenario);
    }
    if a.format == Format::Json {
        say!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        say_raw!("{}", crate::compare::render(&c, a.all));
    }
    Ok(if c.regressions > 0 { Exit::Failed } else { Exit::Ok })
}

/// A report.json read as a JSON value (a baseline may be older than this build): the file
/// named once in any error.
fn read_report(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    if v.get("format_version").is_none() || !v.get("cells").is_some_and(|c| c.is_array()) {
        anyhow::bail!("{} is not a cutover report.json (no format_version or cells)", path.display());
    }
    Ok(v)
}
