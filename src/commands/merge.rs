//! `cutover merge`: the shards of one rehearsal (`run --shard`) joined into the one report a
//! single process sending everything would have written: every thread's account added up
//! (histograms from their encoding), the journals joined, the books read once and reconciled,
//! the cutover's checks and the gates judged once. A shard without a part makes the verdict
//! INCOMPLETE, naming it.

use super::Exit;
use super::args::{admin_token, lang};
use super::output::{create_dir, publish_live};
use crate::cli::{Format, MergeArgs};
use crate::live::account::{PART_FILE, Part, TargetChoice};
use crate::live::finish::Reading;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(super) fn merge(a: MergeArgs) -> anyhow::Result<Exit> {
    let (mut parts, without) = find_parts(&a.parts)?;
    for dir in &without {
        eprintln!("note: {}: no {PART_FILE} (a shard that never finished?)", dir.display());
    }
    let Some((first_path, first)) = parts.first() else {
        anyhow::bail!("no {PART_FILE} in {}: give the directories `run --shard` wrote (its --out)", list(&a.parts));
    };
    // One rehearsal: the same scenario, seed, run and number of shards; each shard once.
    for (path, p) in &parts[1..] {
        let differs = [
            ("scenario", p.scenario_text != first.scenario_text),
            ("seed", p.account.seed != first.account.seed),
            ("run id", p.account.run_id != first.account.run_id),
            ("number of shards", p.shards != first.shards),
            ("start instant", p.start_at != first.start_at),
        ];
        if let Some((what, _)) = differs.iter().find(|(_, d)| *d) {
            anyhow::bail!("{} and {}: not shards of one rehearsal (their {what} differs)", first_path.display(), path.display());
        }
    }
    let spec = Arc::new(crate::scenario::parse(&first.scenario_file, &first.scenario_text).map_err(|e| anyhow::anyhow!("{e}"))?);
    let file = first.scenario_file.clone();
    let choice = targets(&a, &first.targets);
    parts.sort_by_key(|(_, p)| p.shard);
    if let Some(w) = parts.windows(2).find(|w| w[0].1.shard == w[1].1.shard) {
        anyhow::bail!("{} and {}: both are shard {}/{}", w[0].0.display(), w[1].0.display(), w[0].1.shard, w[0].1.shards);
    }
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("reports").join(format!("{}-merged", spec.raw.name)));
    create_dir(&out)?;
    let journal = join_journals(&parts, &out)?;
    let (target, new_target) = super::run::http_targets(&choice, &spec)?;
    let token = admin_token(&a.admin_token);
    let reading = Reading { target: &target, new_target: new_target.as_ref(), admin_token: token.as_deref(), hlog: a.hlog.is_some() };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let report = rt.block_on(crate::live::finish::report_of_parts(&spec, parts, journal, &reading, &file))?;
    publish_live(&out, &report, lang(a.lang), a.format == Format::Json, a.junit.as_deref(), a.hlog.as_deref())?;
    Ok(Exit::from(report.verdict.verdict))
}

/// The part of each directory given, or of each directory inside one given; the directories
/// holding none (a shard that never finished) apart.
/// Parts read, each with where it was read.
type Found = Vec<(PathBuf, Part)>;

fn find_parts(dirs: &[PathBuf]) -> anyhow::Result<(Found, Vec<PathBuf>)> {
    let mut parts = Vec::new();
    let mut without = Vec::new();
    for dir in dirs {
        if dir.is_file() {
            parts.push((dir.clone(), Part::read(dir).map_err(|e| anyhow::anyhow!(e))?));
            continue;
        }
        if !dir.is_dir() {
            anyhow::bail!("{}: no such directory", dir.display());
        }
        let here = dir.join(PART_FILE);
        if here.is_file() {
            parts.push((here.clone(), Part::read(&here).map_err(|e| anyhow::anyhow!(e))?));
            continue;
        }
        // A directory of the shards' directories (a volume every shard wrote into).
        let mut inner: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        inner.sort();
        let mut found = false;
        for d in inner {
            let p = d.join(PART_FILE);
            if p.is_file() {
                parts.push((p.clone(), Part::read(&p).map_err(|e| anyhow::anyhow!(e))?));
                found = true;
            } else if d.join("journal.jsonl").is_file() {
                // A shard that started (its journal is there) and wrote no part.
                without.push(d);
            }
        }
        if !found {
            without.push(dir.clone());
        }
    }
    Ok((parts, without))
}

/// The targets the shards sent to, unless the merge is told others.
fn targets(a: &MergeArgs, shards: &TargetChoice) -> TargetChoice {
    let mut c = shards.clone();
    if a.target.is_some() || a.old.is_some() {
        c.target = a.target.clone();
        c.old = a.old.clone();
        c.new = a.new.clone();
    }
    if a.profile.is_some() {
        c.profile = a.profile.clone();
    }
    if a.new_profile.is_some() {
        c.new_profile = a.new_profile.clone();
    }
    if a.ca_file.is_some() {
        c.ca_file = a.ca_file.clone();
    }
    c
}

/// Every shard's journal, in shard order, as one `journal.jsonl` in `out`.
fn join_journals(parts: &[(PathBuf, Part)], out: &Path) -> anyhow::Result<PathBuf> {
    let path = out.join("journal.jsonl");
    let tmp = out.join("journal.jsonl.tmp");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(|e| anyhow::anyhow!("{}: {e}", tmp.display()))?);
    for (part, _) in parts {
        let journal = part.parent().unwrap_or(Path::new(".")).join("journal.jsonl");
        match std::fs::File::open(&journal) {
            Ok(f) => {
                std::io::copy(&mut std::io::BufReader::new(f), &mut w).map_err(|e| anyhow::anyhow!("{}: {e}", journal.display()))?;
            }
            Err(e) => anyhow::bail!("{}: the shard's journal cannot be read: {e}", journal.display()),
        }
    }
    w.flush()?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

fn list(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}
