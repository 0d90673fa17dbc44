//! `cutover migrate`: the old system's registrations, payments and open assessments copied into the new one
//! through the admin endpoints of the contract, in batches, resumable after a crash.
//!
//! Each batch is read from the old system's export after the last id copied, and sent to
//! the new system's import under a key made from what it holds (the first and last ids), so
//! that the new system takes a batch once whatever happens: a migration killed after
//! sending a batch and before noting it sends it again on the next start, and the new
//! system answers it as a replay. After each batch the state file (the cursor and the
//! totals) is replaced atomically, so a restart goes on from the last batch it knows done:
//! nothing lost, nothing twice.
//!
//! A deliberately broken migration (`--fault migration-drop-batch`, `migration-import-twice`,
//! `migration-wrong-league`) is kept for rehearsing the checks, as in `simulate`.

use crate::contract::{AssessmentsPage, ImportAnswerWire, ImportBody, PaymentsPage, RegistrationsPage};
use crate::model::MigrationFault;
use crate::model::migration::times;
use crate::scenario::Spec;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("{0}")]
    Target(String),
    #[error("{path}: {reason}")]
    State { path: String, reason: String },
}

pub struct MigrateConfig {
    pub from: String,
    pub to: String,
    pub batch_size: usize,
    pub state: PathBuf,
    /// The rehearsal run this migration belongs to: in every batch's key.
    pub run: Option<String>,
    pub admin_token: Option<String>,
    pub fault: Option<MigrationFault>,
    /// Stop without noting the batch just sent, as a crash there would (`--abort-after-batch`).
    pub abort_after_batch: Option<u64>,
    /// Progress lines on standard error.
    pub progress: bool,
}

/// What a migration did, kept in the state file between starts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrateState {
    pub from: String,
    pub to: String,
    /// The last old payment id copied (the next batch starts after it).
    pub payments_after: u64,
    pub assessments_after: u64,
    pub payment_batches: u64,
    pub assessment_batches: u64,
    pub payments_read: u64,
    pub payments_written: u64,
    pub assessments_written: u64,
    /// The last registration's position copied, and what the registrations' batches did
    /// (registrations go first: a payment's payer is registered before it).
    #[serde(default)]
    pub registrations_after: u64,
    #[serde(default)]
    pub registration_batches: u64,
    #[serde(default)]
    pub registrations_read: u64,
    #[serde(default)]
    pub registrations_written: u64,
    /// Batches the new system had taken already (sent again after a crash).
    pub replayed_batches: u64,
    /// Starts that went on from an earlier start's state.
    pub resumed: u64,
    pub done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// How a migration run ended.
pub enum Ended {
    Done(MigrateState),
    /// Stopped on purpose after a batch (`--abort-after-batch`).
    Aborted(MigrateState),
}

fn load_state(path: &Path, cfg: &MigrateConfig) -> Result<MigrateState, MigrateError> {
    let err = |reason: String| MigrateError::State { path: path.display().to_string(), reason };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(MigrateState { from: cfg.from.clone(), to: cfg.to.clone(), ..MigrateState::default() });
        }
        Err(e) => return Err(err(format!("cannot read: {e}"))),
    };
    let mut s: MigrateState = serde_json::from_str(&text).map_err(|e| err(format!("not a migration state: {e}")))?;
    if s.from != cfg.from || s.to != cfg.to {
        return Err(err(format!(
            "is the state of a migration from {} to {}, not from {} to {} (give another --state)",
            s.from, s.to, cfg.from, cfg.to
        )));
    }
    if !s.done {
        s.resumed += 1;
    }
    Ok(s)
}

fn save_state(path: &Path, s: &MigrateState) -> Result<(), MigrateError> {
    let err = |reason: String| MigrateError::State { path: path.display().to_string(), reason };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| err(format!("cannot create the directory: {e}")))?;
    }
    let tmp = path.with_extension("tmp");
    let text = serde_json::to_vec_pretty(s).map_err(|e| err(e.to_string()))?;
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).map_err(|e| err(format!("cannot write: {e}")))?;
        f.write_all(&text).and_then(|_| f.sync_all()).map_err(|e| err(format!("cannot write: {e}")))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| err(format!("cannot write: {e}")))
}

struct Client {
    http: reqwest::Client,
    token: Option<String>,
}

impl Client {
    async fn get<T: serde::de::DeserializeOwned>(&self, url: String) -> Result<T, MigrateError> {
        let mut rb = self.http.get(&url);
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        let r = rb.send().await.map_err(|e| MigrateError::Target(format!("GET {url}: {e}")))?;
        let status = r.status();
        let body = r.bytes().await.map_err(|e| MigrateError::Target(format!("GET {url}: {e}")))?;
        if !status.is_success() {
            return Err(MigrateError::Target(format!("GET {url} answered {status}: {}", String::from_utf8_lossy(&body))));
        }
        serde_json::from_slice(&body).map_err(|e| MigrateError::Target(format!("GET {url}: not the contract's export: {e}")))
    }

    async fn import(&self, to: &str, body: &ImportBody) -> Result<ImportAnswerWire, MigrateError> {
        let url = format!("{to}/v1/admin/import");
        let mut rb = self.http.post(&url).json(body);
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        let r = rb.send().await.map_err(|e| MigrateError::Target(format!("POST {url}: {e}")))?;
        let status = r.status();
        let text = r.bytes().await.map_err(|e| MigrateError::Target(format!("POST {url}: {e}")))?;
        if !status.is_success() {
            return Err(MigrateError::Target(format!("POST {url} answered {status}: {}", String::from_utf8_lossy(&text))));
        }
        serde_json::from_slice(&text).map_err(|e| MigrateError::Target(format!("POST {url}: not the contract's answer: {e}")))
    }
}

/// Copy what is left to copy, from the state file's cursor on.
pub async fn migrate(spec: &Spec, cfg: &MigrateConfig) -> Result<Ended, MigrateError> {
    let mut s = load_state(&cfg.state, cfg)?;
    if s.done {
        return Ok(Ended::Done(s));
    }
    s.fault = cfg.fault.map(|f| f.as_str().to_string());
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap_or_default();
    let client = Client { http, token: cfg.admin_token.clone() };
    let batch = cfg.batch_size.max(1);
    let wrong = wrong_league(spec);
    registrations(&client, cfg, &mut s, &wrong, batch).await?;
    if payments(&client, cfg, &mut s, &wrong, batch).await? {
        return Ok(Ended::Aborted(s));
    }
    assessments(&client, cfg, &mut s, batch).await?;
    s.done = true;
    save_state(&cfg.state, &s)?;
    say(cfg, &s);
    Ok(Ended::Done(s))
}

/// The league a wrong mapping writes the second league's payments under (the
/// `migration-wrong-league` fault): (from, to).
fn wrong_league(spec: &Spec) -> (String, String) {
    match (spec.leagues.get(1), spec.leagues.get(2 % spec.leagues.len().max(1))) {
        (Some(a), Some(b)) => (a.name.clone(), b.name.clone()),
        _ => (String::new(), String::new()),
    }
}

/// A line of progress on standard error, when asked for.
fn say(cfg: &MigrateConfig, s: &MigrateState) {
    if cfg.progress {
        eprintln!(
            "migrate: {} registrations written, {} payment batches, {} payments read, {} written, {} replayed batches",
            s.registrations_written, s.payment_batches, s.payments_read, s.payments_written, s.replayed_batches
        );
    }
}

/// Every registration, page by page from where the state stands.
async fn registrations(
    client: &Client,
    cfg: &MigrateConfig,
    s: &mut MigrateState,
    wrong: &(String, String),
    batch: usize,
) -> Result<(), MigrateError> {
    loop {
        let url = format!("{}/v1/admin/export/registrations?after={}&limit={batch}", cfg.from, s.registrations_after);
        let page: RegistrationsPage = client.get(url).await?;
        let (Some(first), Some(last)) = (page.registrations.first().map(|r| r.position), page.registrations.last().map(|r| r.position))
        else {
            break;
        };
        let mut registrations = page.registrations;
        if cfg.fault == Some(MigrationFault::WrongLeague) {
            for r in registrations.iter_mut().filter(|r| r.league == wrong.0) {
                r.league = wrong.1.clone();
            }
        }
        let n = s.registration_batches;
        s.registrations_read += registrations.len() as u64;
        // The fault's batch: the second (the first if there is one batch), as in simulate.
        let sends = times(cfg.fault, n, if page.next_after.is_some() || n > 0 { 2 } else { 1 });
        for k in 0..sends {
            let key = format!("migrate:{}:registrations:{first}-{last}{}", batch_prefix(cfg), if k == 0 { "" } else { ":again" });
            let body = ImportBody { batch: key, registrations: registrations.clone(), ..ImportBody::default() };
            let a = client.import(&cfg.to, &body).await?;
            if a.replayed {
                s.replayed_batches += 1;
            } else {
                s.registrations_written += a.registrations_written;
            }
        }
        s.registrations_after = last;
        s.registration_batches += 1;
        save_state(&cfg.state, s)?;
        if page.next_after.is_none() {
            break;
        }
    }
    Ok(())
}

/// What every batch key of this migration starts with: the old system, and the run if named.
fn batch_prefix(cfg: &MigrateConfig) -> String {
    match &cfg.run {
        Some(run) => format!("{run}:{}", cfg.from),
        None => cfg.from.clone(),
    }
}

/// Every payment, page by page from where the state stands; true when the run stopped as a
/// crash would (`--abort-after-batch`).
async fn payments(
    client: &Client,
    cfg: &MigrateConfig,
    s: &mut MigrateState,
    wrong: &(String, String),
    batch: usize,
) -> Result<bool, MigrateError> {
    loop {
        let url = format!("{}/v1/admin/export/payments?after={}&limit={batch}", cfg.from, s.payments_after);
        let page: PaymentsPage = client.get(url).await?;
        let (Some(first), Some(last)) = (page.payments.first().map(|p| p.payment_id), page.payments.last().map(|p| p.payment_id)) else {
            break;
        };
        let mut payments = page.payments;
        if cfg.fault == Some(MigrationFault::WrongLeague) {
            for p in payments.iter_mut().filter(|p| p.league == wrong.0) {
                p.league = wrong.1.clone();
            }
        }
        let n = s.payment_batches;
        s.payments_read += payments.len() as u64;
        // The fault's batch: the second (the first if there is one batch), as in simulate.
        let sends = times(cfg.fault, n, if page.next_after.is_some() || n > 0 { 2 } else { 1 });
        for k in 0..sends {
            // The key is made of what the batch holds; a broken migration's second send
            // comes under another key, as a buggy job would send it.
            let key = format!("migrate:{}:payments:{first}-{last}{}", batch_prefix(cfg), if k == 0 { "" } else { ":again" });
            let a = client.import(&cfg.to, &ImportBody { batch: key, payments: payments.clone(), ..ImportBody::default() }).await?;
            if a.replayed {
                s.replayed_batches += 1;
            } else {
                s.payments_written += a.payments_written;
            }
        }
        s.payments_after = last;
        s.payment_batches += 1;
        if cfg.abort_after_batch == Some(s.payment_batches) {
            // As a crash right after the send: the state does not know this batch.
            return Ok(true);
        }
        save_state(&cfg.state, s)?;
        say(cfg, s);
        if page.next_after.is_none() {
            break;
        }
    }
    Ok(false)
}

/// Every open assessment, page by page from where the state stands.
async fn assessments(client: &Client, cfg: &MigrateConfig, s: &mut MigrateState, batch: usize) -> Result<(), MigrateError> {
    loop {
        let url = format!("{}/v1/admin/export/assessments?after={}&limit={batch}", cfg.from, s.assessments_after);
        let page: AssessmentsPage = client.get(url).await?;
        let (Some(first), Some(last)) =
            (page.assessments.first().map(|a| a.assessment_id), page.assessments.last().map(|a| a.assessment_id))
        else {
            break;
        };
        // Open assessments only: a used one was paid, and its payment is migrated.
        let open: Vec<_> = page.assessments.into_iter().filter(|a| !a.used).collect();
        if !open.is_empty() {
            let key = format!("migrate:{}:assessments:{first}-{last}", batch_prefix(cfg));
            let a = client.import(&cfg.to, &ImportBody { batch: key, assessments: open, ..ImportBody::default() }).await?;
            if a.replayed {
                s.replayed_batches += 1;
            } else {
                s.assessments_written += a.assessments_written;
            }
        }
        s.assessments_after = last;
        s.assessment_batches += 1;
        save_state(&cfg.state, s)?;
        if page.next_after.is_none() {
            break;
        }
    }
    Ok(())
}
