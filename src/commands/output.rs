//! Files a command writes, each whole or not at all (a temporary file, then a rename), so
//! that a reader never sees half of one.

use crate::report::Report;
use crate::report::render::lang::Lang;
use anyhow::Context;
use std::path::Path;

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub(crate) fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// report.json (already serialised as `json`), summary.md and report.html into `out`.
/// Every report file is written with the secrets it was given taken out (a token a
/// deployment echoed into an error message, say), whatever section it reached.
pub(crate) fn write_report_files(out: &Path, report: &Report, json: &str, lang: Lang) -> anyhow::Result<()> {
    write_text(&out.join("report.json"), json)?;
    let mut wrong = Vec::new();
    for w in &report.wrong_payments.all {
        serde_json::to_writer(&mut wrong, w)?;
        wrong.push(b'\n');
    }
    write_text(&out.join(crate::report::data::cutover::WRONG_FILE), &String::from_utf8_lossy(&wrong))?;
    write_text(&out.join("summary.md"), &crate::report::render::markdown::render(report, lang))?;
    write_text(&out.join("report.html"), &crate::report::render::html::render(report, lang))
}

/// [`write_atomic`] of `text` with every secret redacted.
fn write_text(path: &Path, text: &str) -> anyhow::Result<()> {
    write_atomic(path, crate::secrets::redact(text).as_bytes())
}

/// A live report written (the report files and what was asked beside them) and told on
/// standard output: the whole report as JSON, or the short summary and where it is.
pub(crate) fn publish_live(
    out: &Path,
    report: &Report,
    lang: Lang,
    json_out: bool,
    junit: Option<&Path>,
    hlog: Option<&Path>,
) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(report)?;
    create_dir(out)?;
    write_report_files(out, report, &json, lang)?;
    write_extras(report, junit, hlog)?;
    if json_out {
        say!("{json}");
    } else {
        say_raw!("{}", crate::report::render::markdown::short(report, lang));
        say!("report in {}", out.join("report.json").display());
    }
    Ok(())
}

/// What a run asked to have beside its report: the gates as JUnit XML, the interval logs
/// (from the histograms the report kept).
pub(crate) fn write_extras(report: &Report, junit: Option<&Path>, hlog: Option<&Path>) -> anyhow::Result<()> {
    if let Some(path) = junit {
        write_text(path, &crate::report::render::junit::render(report))?;
    }
    if let Some(dir) = hlog {
        create_dir(dir)?;
        for l in crate::report::render::hlog::logs(report) {
            write_atomic(&dir.join(&l.file_name), &l.text)?;
        }
    }
    Ok(())
}
