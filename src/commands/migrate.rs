//! `cutover migrate`: the old server's books copied into the new one through their admin
//! endpoints, batch by batch, resumable from its state file.

use super::Exit;
use crate::cli::MigrateArgs;
use crate::migrate::{Ended, MigrateConfig};
use std::path::PathBuf;

pub(super) fn migrate(a: MigrateArgs) -> anyhow::Result<Exit> {
    let spec = super::args::load(&a.scenario)?;
    let fault = match a.fault {
        None => None,
        Some(f) => Some(super::args::migration_fault(f).ok_or_else(|| {
            anyhow::anyhow!(
                "--fault: {f:?} is not a fault of the migration (migration-drop-batch, migration-import-twice, migration-wrong-league)"
            )
        })?),
    };
    let planned = spec.cutover.as_ref().and_then(|x| x.migration.as_ref()).map(|m| m.batch_size as usize);
    let batch_size = super::args::within("--batch-size", a.batch_size.or(planned).unwrap_or(500), 1, 10_000)?;
    for (flag, url) in [("--from", &a.from), ("--to", &a.to)] {
        if !url.starts_with("http://") {
            anyhow::bail!("{flag}: must be an http:// URL, got {url:?}");
        }
    }
    let state = a.state.clone().unwrap_or_else(|| PathBuf::from("reports").join(format!("{}-migrate", spec.raw.name)).join("state.json"));
    let cfg = MigrateConfig {
        from: a.from.trim_end_matches('/').to_string(),
        to: a.to.trim_end_matches('/').to_string(),
        batch_size,
        state,
        run: match &a.run_id {
            Some(_) => Some(super::args::run_id(&a.run_id)?),
            None => None,
        },
        admin_token: super::args::admin_token(&a.admin_token),
        fault,
        abort_after_batch: a.abort_after_batch,
        progress: !a.quiet,
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match rt.block_on(crate::migrate::migrate(&spec, &cfg))? {
        Ended::Done(s) => {
            say!("{}", serde_json::to_string_pretty(&s)?);
            Ok(Exit::Ok)
        }
        Ended::Aborted(s) => {
            say!("{}", serde_json::to_string_pretty(&s)?);
            eprintln!("stopped after batch {} without noting it (--abort-after-batch); run again to go on", s.payment_batches);
            Ok(Exit::Stopped)
        }
    }
}
