//! The target of a run, as one value: the in-process model, or a deployment over HTTP
//! whose API is the bundled contract or a target profile ([`Api`], `api.rs`: the one
//! place that knows which). Through it the run sends requests (its connections), reads the ledger,
//! asks whether a key is held, and checks the target before the load starts
//! ([`Target::preflight`]).

pub use super::api::Api;
pub(crate) use super::api::Ledger;
use super::base::Base;
pub use super::base::Tls;
use super::why::why;
use crate::clock::VirtualClock;
use crate::contract;
use crate::model::{IdemKey, PayerRef, PaymentRow, Systems};
use crate::scenario::Spec;
use crate::scenario::SystemIdx;
use crate::time::SimTime;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The target of a run.
pub enum Target {
    /// The in-process systems (one, or a cutover's two).
    Model(Arc<Mutex<Systems>>),
    Http {
        base: Base,
        api: Api,
        http: reqwest::Client,
    },
}

/// What the checks before the load found.
#[derive(Clone, Debug, Default)]
pub(crate) struct Preflight {
    /// The last round trip of the call that set the target's clock, if the run set it.
    pub clock_round_trip: Option<Duration>,
    /// What each operation's round trip read (profiles, when tried).
    pub operations: Vec<String>,
}

/// What checking the target before the load needs to know.
pub(crate) struct PreflightConfig<'a> {
    pub clock: &'a VirtualClock,
    pub sync_clock: bool,
    pub admin_token: Option<&'a str>,
    /// Run although a `cutover serve` target runs other rules (`--allow-other-scenario`).
    pub allow_other_scenario: bool,
    /// Try each operation of a profile once, changing nothing (see [`Target::probe_operations`]).
    pub probe_operations: bool,
}

// One-off HTTP calls (checks, ledger, reconciliation) go through reqwest; a failed one is
// told by `why`.

/// The timeout of the coordinator's own calls to a deployment (books, ledger, look-ups).
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

pub(in crate::live) fn client(timeout: Duration) -> reqwest::Client {
    crypto();
    reqwest::Client::builder().timeout(timeout).build().unwrap_or_default()
}

/// The TLS implementation's cryptography (ring), installed once for the process.
fn crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client for the deployment at `base` speaking `api`: its certificate trusted as the run
/// was told (`--ca-file`, `--accept-invalid-certificate`), the profile's headers on every
/// request, marked sensitive. The CA file and the headers were checked when they were read.
pub(in crate::live) fn client_for(base: &Base, api: &Api, timeout: Duration) -> reqwest::Client {
    crypto();
    let mut b = reqwest::Client::builder().timeout(timeout);
    if let Some(tls) = &base.tls {
        if let Some(pem) = &tls.ca_pem {
            for c in reqwest::Certificate::from_pem_bundle(pem).unwrap_or_default() {
                b = b.add_root_certificate(c);
            }
        }
        if tls.accept_invalid {
            b = b.tls_danger_accept_invalid_certs(true);
        }
    }
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in api.headers() {
        if let (Ok(name), Ok(mut value)) =
            (reqwest::header::HeaderName::from_bytes(k.as_bytes()), reqwest::header::HeaderValue::from_str(v))
        {
            value.set_sensitive(true);
            headers.insert(name, value);
        }
    }
    b.default_headers(headers).build().unwrap_or_default()
}

impl Target {
    /// The in-process systems of the scenario (one, or its cutover's two), with `faults`.
    pub fn model(spec: &Spec, faults: crate::model::Faults) -> Target {
        let rules = Arc::new(crate::model::Rules::from_spec(spec));
        Target::Model(Arc::new(Mutex::new(Systems::from_spec(spec, rules, faults))))
    }

    /// A deployment at `url` (`http://host:port` or `https://host:port`) speaking `api`,
    /// its certificate trusted as `tls` says.
    pub fn http(url: &str, api: Api, tls: &Tls) -> Result<Target, String> {
        let base = Base::parse(url, tls)?;
        let http = client_for(&base, &api, HTTP_TIMEOUT);
        Ok(Target::Http { base, api, http })
    }

    /// Whether it is reached over TLS.
    pub fn is_https(&self) -> bool {
        matches!(self, Target::Http { base, .. } if base.tls.is_some())
    }

    /// Where the run sends: the URL, or the in-process model.
    pub(crate) fn label(&self) -> String {
        match self {
            Target::Model(_) => "in-process model".into(),
            Target::Http { base, .. } => base.url.clone(),
        }
    }

    /// How its API looks, in words ("the bundled contract", "profile \"vendor\"").
    pub(crate) fn api_described(&self) -> String {
        match self {
            Target::Model(_) => "the in-process model".into(),
            Target::Http { api, .. } => api.describe(),
        }
    }

    /// The path its key lookup takes for `key`.
    pub(crate) fn key_path(&self, key: IdemKey) -> Option<String> {
        match self {
            Target::Model(_) => None,
            Target::Http { api, .. } => Some(api.payment_path(key)),
        }
    }

    pub(crate) fn is_http(&self) -> bool {
        matches!(self, Target::Http { .. })
    }

    /// Every payment `system` of this target holds, read in bulk: the in-process model's
    /// books, or the contract's paged export (`GET /v1/admin/export/payments`).
    pub(crate) async fn books(&self, spec: &Spec, system: SystemIdx, admin_token: Option<&str>) -> Result<Vec<PaymentRow>, String> {
        if let Target::Model(m) = self {
            let m = m.lock().map_err(|_| "model lock poisoned".to_string())?;
            return Ok(if (system as usize) < m.len() { m.model(system).payments().collect() } else { Vec::new() });
        }
        let mut out = Vec::new();
        if let Some(e) = self.profile_books().map(|b| &b.payments) {
            self.profile_pages(spec, e, admin_token, false, |v| {
                let w: contract::PaymentExportWire = serde_json::from_value(v).map_err(|e| format!("a payment of the export: {e}"))?;
                out.push(contract::payment_from_export(spec, &w)?);
                Ok(())
            })
            .await?;
            return Ok(out);
        }
        self.export_pages("payments", admin_token, |page: contract::PaymentsPage| {
            for w in &page.payments {
                out.push(contract::payment_from_export(spec, w)?);
            }
            Ok(page.next_after)
        })
        .await?;
        Ok(out)
    }

    /// Every registration `system` holds, in the order they were made.
    pub(crate) async fn registrations(&self, spec: &Spec, system: SystemIdx, admin_token: Option<&str>) -> Result<Vec<PayerRef>, String> {
        if let Target::Model(m) = self {
            let m = m.lock().map_err(|_| "model lock poisoned".to_string())?;
            return Ok(if (system as usize) < m.len() { m.model(system).registrations().to_vec() } else { Vec::new() });
        }
        let mut out = Vec::new();
        if let Some(b) = self.profile_books() {
            let Some(e) = &b.registrations else {
                return Err("the profile's books give no registrations export".to_string());
            };
            self.profile_pages(spec, e, admin_token, false, |v| {
                let w: contract::RegistrationExportWire =
                    serde_json::from_value(v).map_err(|e| format!("a registration of the export: {e}"))?;
                out.push(contract::registration_from_export(spec, &w)?);
                Ok(())
            })
            .await?;
            return Ok(out);
        }
        self.export_pages("registrations", admin_token, |page: contract::RegistrationsPage| {
            for w in &page.registrations {
                out.push(contract::registration_from_export(spec, w)?);
            }
            Ok(page.next_after)
        })
        .await?;
        Ok(out)
    }

    /// The books a deployment reached through a profile exports, if its profile says where.
    fn profile_books(&self) -> Option<&super::profile_books::Books> {
        match self {
            Target::Http { api: Api::Profile(p), .. } => p.books.as_ref(),
            _ => None,
        }
    }

    /// Walk a profile's export page by page, `each` taking every entry (in the contract's
    /// export form).
    async fn profile_pages(
        &self,
        spec: &Spec,
        e: &super::profile_books::Export,
        admin_token: Option<&str>,
        first_only: bool,
        mut each: impl FnMut(serde_json::Value) -> Result<(), String>,
    ) -> Result<(), String> {
        let Target::Http { base, http, api } = self else { return Ok(()) };
        let default_values = super::values::Values::default();
        let values = match api {
            Api::Profile(p) => &p.values,
            Api::Contract => &default_values,
        };
        let method = reqwest::Method::from_bytes(e.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut after = e.first_after.clone();
        let mut seen = std::collections::HashSet::new();
        // Each page names the next cursor; a cursor seen before would loop, so it ends there.
        while seen.insert(after.clone()) {
            let path = e.page_path(&after, 10_000);
            let mut rb = http.request(method.clone(), format!("{}{path}", base.url));
            if let Some(t) = admin_token {
                rb = rb.bearer_auth(t);
            }
            let r = rb.send().await.map_err(|err| format!("{} {path}: {err}", e.method))?;
            if !r.status().is_success() {
                return Err(format!("{}: {} {path} answered {}", base.url, e.method, r.status()));
            }
            let body = r.bytes().await.map_err(|err| format!("{} {path}: {err}", e.method))?;
            let (entries, next) = e.read_page(&body, values, spec).map_err(|err| format!("{}: {} {path}: {err}", base.url, e.method))?;
            for v in entries {
                each(v).map_err(|err| format!("{}: {} {path}: {err}", base.url, e.method))?;
            }
            match next {
                Some(n) if !first_only => after = n,
                _ => break,
            }
        }
        Ok(())
    }

    /// The first page of each export a profile's `books` names, read and parsed through its
    /// mapping as the checks will read them all (payments, then registrations, if named); a
    /// failure names the export, the request and what could not be read.
    pub(crate) async fn books_first_pages(
        &self,
        spec: &Spec,
        admin_token: Option<&str>,
    ) -> Result<Vec<(&'static str, Vec<serde_json::Value>)>, String> {
        let Some(b) = self.profile_books() else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for (name, e) in [("books.payments", Some(&b.payments)), ("books.registrations", b.registrations.as_ref())] {
            let Some(e) = e else { continue };
            let mut rows = Vec::new();
            self.profile_pages(spec, e, admin_token, true, |v| {
                rows.push(v);
                Ok(())
            })
            .await
            .map_err(|err| format!("{name}: {err}"))?;
            // Each row in the contract's form must be one the checks can take.
            for (i, v) in rows.iter().enumerate() {
                let ok = match name {
                    "books.payments" => serde_json::from_value::<contract::PaymentExportWire>(v.clone())
                        .map_err(|e| e.to_string())
                        .and_then(|w| contract::payment_from_export(spec, &w).map(|_| ())),
                    _ => serde_json::from_value::<contract::RegistrationExportWire>(v.clone())
                        .map_err(|e| e.to_string())
                        .and_then(|w| contract::registration_from_export(spec, &w).map(|_| ())),
                };
                ok.map_err(|err| format!("{name}: entry {i} of the first page: {err}"))?;
            }
            out.push((name, rows));
        }
        Ok(out)
    }

    /// Walk the contract's export of `what` page by page, `each` taking a page and giving
    /// the `after` of the next (`None` at the end).
    async fn export_pages<P: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        admin_token: Option<&str>,
        mut each: impl FnMut(P) -> Result<Option<u64>, String>,
    ) -> Result<(), String> {
        let Target::Http { base, api, http } = self else { return Ok(()) };
        if !matches!(api, Api::Contract) {
            return Err(format!(
                "{}: the {what} of a target reached through {} cannot be read in bulk (the profile has no `books`); give the deployment's export files to `cutover reconcile`",
                base.url,
                api.describe()
            ));
        }
        let mut after = 0u64;
        // Each page moves past its last entry, so the walk ends; the bound is a safety net.
        for _ in 0..100_000_000usize {
            let path = format!("/v1/admin/export/{what}?after={after}&limit=10000");
            let mut rb = http.get(format!("{}{path}", base.url));
            if let Some(t) = admin_token {
                rb = rb.bearer_auth(t);
            }
            let r = rb.send().await.map_err(|e| format!("GET {path}: {}", why(&e, HTTP_TIMEOUT)))?;
            if !r.status().is_success() {
                return Err(format!("{}: GET {path} answered {}", base.url, r.status()));
            }
            let page: P = r.json().await.map_err(|e| format!("{}: GET {path}: not the contract's export: {e}", base.url))?;
            match each(page).map_err(|e| format!("{}: GET {path}: {e}", base.url))? {
                Some(n) if n > after => after = n,
                _ => break,
            }
        }
        Ok(())
    }

    /// Tell the systems a conditional rollback's decision: payment suspended again from
    /// `from` through the rollback's phase (`None`: not rolled back). In process the models'
    /// rules; a `cutover serve` through `POST /v1/admin/rollback`; a deployment reached
    /// through a profile is re-suspended by the runbook's hook, not here.
    pub(crate) async fn decide_rollback(&self, spec: &Spec, from: Option<SimTime>, admin_token: Option<&str>) -> Result<(), String> {
        let (base, api, http) = match self {
            Target::Model(m) => {
                let m = m.lock().map_err(|_| "model lock poisoned".to_string())?;
                m.model(0).rules().decide_rollback(from);
                return Ok(());
            }
            Target::Http { base, api, http } => (base, api, http),
        };
        if !matches!(api, Api::Contract) {
            return Ok(());
        }
        let body = contract::RollbackBody { suspended_from: from.map(|t| t.format(spec.calendar.offset)) };
        let mut rb = http.post(format!("{}/v1/admin/rollback", base.url)).json(&body);
        if let Some(t) = admin_token {
            rb = rb.bearer_auth(t);
        }
        let r = rb.send().await.map_err(|e| format!("{}: POST /v1/admin/rollback: {}", base.url, why(&e, HTTP_TIMEOUT)))?;
        if !r.status().is_success() {
            return Err(format!("{}: POST /v1/admin/rollback answered {}", base.url, r.status()));
        }
        Ok(())
    }

    /// How the run switches this system's maintenance, if it does: a profile with a
    /// `switch`, or a `cutover serve` whose clock the run does not set (`sync_clock` false:
    /// it keeps real time, `serve --rebase-now`, and only its maintenance closes channels).
    pub(crate) fn switcher(&self, system: &str, sync_clock: bool, admin_token: Option<&str>) -> Option<super::switch::Switcher> {
        let Target::Http { base, api, http } = self else { return None };
        let switched = match api {
            Api::Contract => !sync_clock,
            Api::Profile(p) => p.switch.is_some(),
        };
        switched.then(|| super::switch::Switcher {
            api: api.clone(),
            client: http.clone(),
            base_url: base.url.clone(),
            bearer: admin_token.map(str::to_string),
            system: system.to_string(),
        })
    }

    /// A deployment reached through a profile: its registrations are its own.
    pub(crate) fn keeps_own_registrations(&self) -> bool {
        matches!(self, Target::Http { api, .. } if !matches!(api, Api::Contract))
    }

    /// Give the old system of a cutover the registrations it holds before the rehearsal:
    /// the rehearsal's payers. In process they are registered directly; a `cutover serve`
    /// takes them as import batches (keyed by what they hold: a second run with the same
    /// payers writes nothing, and a payer registered already is kept as it was). A
    /// deployment reached through a profile holds its own registrations: `Err` says so.
    pub(crate) async fn register(&self, spec: &Spec, payers: &[PayerRef], admin_token: Option<&str>) -> Result<u64, String> {
        let (base, api, http) = match self {
            Target::Model(m) => {
                let mut m = m.lock().map_err(|_| "model lock poisoned".to_string())?;
                m.register_old(payers.iter().copied());
                return Ok(payers.len() as u64);
            }
            Target::Http { base, api, http } => (base, api, http),
        };
        if !matches!(api, Api::Contract) {
            return Err(format!("{}: a deployment reached through {} keeps its own registrations", base.url, api.describe()));
        }
        let mut written = 0;
        for chunk in payers.chunks(5000) {
            let (first, last) = (chunk[0].id, chunk[chunk.len() - 1].id);
            let mut h = crate::hash::Fnv1a::new();
            chunk.iter().for_each(|p| {
                h.u64(p.id as u64).u64(p.league as u64);
            });
            let digest = h.finish();
            let body = contract::ImportBody {
                batch: format!("registrations:{first}-{last}:{digest:016x}"),
                registrations: chunk.iter().map(|p| contract::registration_to_export(spec, 0, p)).collect(),
                ..contract::ImportBody::default()
            };
            let url = format!("{}/v1/admin/import", base.url);
            let mut rb = http.post(&url).json(&body);
            if let Some(t) = admin_token {
                rb = rb.bearer_auth(t);
            }
            let r = rb.send().await.map_err(|e| format!("POST /v1/admin/import: {}", why(&e, HTTP_TIMEOUT)))?;
            let status = r.status();
            if !status.is_success() {
                let text = r.text().await.unwrap_or_default();
                return Err(format!("{}: POST /v1/admin/import answered {status}: {text}", base.url));
            }
            let a: contract::ImportAnswerWire = r.json().await.map_err(|e| format!("{}: POST /v1/admin/import: {e}", base.url))?;
            written += a.registrations_written;
        }
        Ok(written)
    }

    /// What the in-process systems' migration did, if it ran (a deployment's is its own).
    pub(crate) fn migration(&self) -> Option<crate::model::migration::MigrationTotals> {
        match self {
            Target::Model(m) => m.lock().ok()?.migration().cloned(),
            Target::Http { .. } => None,
        }
    }

    /// Which system of a cutover the target says it plays (a `cutover serve --role`).
    async fn plays(&self) -> Option<String> {
        let Target::Http { base, http, .. } = self else { return None };
        let r = http.get(format!("{}/v1/about", base.url)).timeout(Duration::from_secs(10)).send().await.ok()?;
        r.json::<contract::About>().await.ok()?.system
    }

    /// Check that a target given for `expected` (the old or the new system) does not say
    /// it plays another.
    pub(crate) async fn check_role(&self, expected: &str) -> Result<(), String> {
        match self.plays().await {
            Some(s) if s != expected => Err(format!("{} plays the {s:?} system of the cutover, not the {expected:?} one", self.label())),
            _ => Ok(()),
        }
    }

    /// The target's ledger totals.
    pub(crate) async fn ledger(&self, spec: &Spec) -> Result<Ledger, String> {
        let (base, api, http) = match self {
            Target::Model(m) => return m.lock().map(|m| m.ledger()).map_err(|_| "model lock poisoned".to_string()),
            Target::Http { base, api, http } => (base, api, http),
        };
        let w = api.ledger_request();
        let method = reqwest::Method::from_bytes(w.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let what = format!("{} {}", w.method, w.path);
        let r = http
            .request(method, format!("{}{}", base.url, w.path))
            .send()
            .await
            .map_err(|e| format!("{what}: {}", why(&e, HTTP_TIMEOUT)))?;
        if !r.status().is_success() {
            return Err(format!("{what} answered {}", r.status()));
        }
        let body = r.bytes().await.map_err(|e| format!("{what}: {e}"))?;
        api.read_ledger(spec, &body).map_err(|e| format!("{what}: {e}"))
    }

    /// Whether the target holds a payment under `key`.
    pub(crate) async fn holds(&self, key: IdemKey) -> Result<bool, String> {
        let (base, api, http) = match self {
            Target::Model(m) => return Ok(m.lock().map(|m| m.payment_by_key(key).is_some()).unwrap_or(false)),
            Target::Http { base, api, http } => (base, api, http),
        };
        let path = api.payment_path(key);
        let r = http.get(format!("{}{path}", base.url)).send().await.map_err(|e| format!("GET {path}: {}", why(&e, HTTP_TIMEOUT)))?;
        let status = r.status().as_u16();
        let body = r.bytes().await.map_err(|e| format!("GET {path}: {e}"))?;
        api.read_held(status, &body).ok_or_else(|| {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            format!("GET {path} answered {status}, neither held nor absent by {}: {text}", api.describe())
        })
    }

    /// Check the target before the load starts: reachable, running the same rules (a
    /// `cutover serve` says which through `GET /v1/about`), its ledger readable through the
    /// API, its clock set. The first failure is the reason the run does not start.
    pub(crate) async fn preflight(&self, spec: &Spec, cfg: &PreflightConfig<'_>) -> Result<Preflight, String> {
        let Target::Http { base, api, http } = self else {
            return Ok(Preflight::default());
        };
        let url = &base.url;
        let about = http
            .get(format!("{url}/v1/about"))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| format!("cannot reach the target {url}: {}", why(&e, Duration::from_secs(10))))?;
        if about.status().is_success()
            && let Ok(a) = about.json::<contract::About>().await
            && a.tool == "cutover"
            && a.scenario.rules_digest != spec.rules_digest()
            && !cfg.allow_other_scenario
        {
            return Err(format!(
                "the target {url} is a cutover serve running other rules: scenario {:?} (rules digest {}), this run's {:?} (rules digest {}); \
                 start it with --scenario naming this run's file, or pass --allow-other-scenario if that is meant",
                a.scenario.name,
                a.scenario.rules_digest,
                spec.raw.name,
                spec.rules_digest()
            ));
        }
        if let Err(e) = self.ledger(spec).await {
            return Err(format!("the ledger of {url} cannot be read through {}: {e}", api.describe()));
        }
        // The key lookup must say "absent" for a key nobody used, or the reconciliation could
        // never tell a lost payment (its key unknown) from one held.
        let unknown = IdemKey::from_text("00000000000000000000000000c0ffee");
        match self.holds(unknown).await {
            Ok(false) => {}
            Ok(true) => {
                return Err(format!(
                    "the key lookup of {url} ({}) says a payment is held under a key never used ({}): its `held` condition holds for any answer",
                    api.describe(),
                    api.payment_path(unknown)
                ));
            }
            Err(e) => return Err(format!("the key lookup of {url} cannot say a payment is absent: {e}")),
        }
        let operations = if cfg.probe_operations { self.probe_operations(spec).await? } else { Vec::new() };
        // The books the checks will read, their first page parsed through the mapping.
        self.books_first_pages(spec, cfg.admin_token)
            .await
            .map_err(|e| format!("the books of {url} cannot be read through {}: {e}", api.describe()))?;
        Ok(Preflight { clock_round_trip: self.set_clock(spec, cfg).await?, operations })
    }

    /// One round trip per operation of a profile, each changing nothing at the deployment: a
    /// look-up of one of the scenario's payers, a payment and an assessment of zero fen (a
    /// correct deployment refuses them as invalid), a certificate for an order nobody has.
    /// Each answer must read, through the profile, as a success or a refusal the contract
    /// knows; one that reads as an error is the reason the run does not start, with the
    /// request and what came back. What each read, one line per operation.
    pub(crate) async fn probe_operations(&self, spec: &Spec) -> Result<Vec<String>, String> {
        let Target::Http { base, api: api @ Api::Profile(_), http } = self else { return Ok(Vec::new()) };
        let channel =
            spec.channels.iter().position(|c| c.kind == crate::scenario::ChannelKind::Online).unwrap_or(0) as crate::scenario::ChannelIdx;
        // The scenario's first payer (a look-up reads; the rest are refused or find nothing).
        let population = crate::population::Population::new(spec, 0);
        let first = crate::scenario::GroupKind::ALL.iter().find(|g| population.count(**g) > 0).map(|g| population.payer(*g, 0));
        let payer = first.map_or(PayerRef { id: 0, group: crate::scenario::GroupKind::Flexible, league: 0 }, |p| PayerRef {
            id: p.id,
            group: p.group,
            league: p.league,
        });
        let requests = [
            crate::model::Request::Lookup { payer, channel },
            crate::model::Request::Pay {
                key: IdemKey::from_text("00000000000000000000000000c0ffef"),
                payer,
                channel,
                items: [0; 6],
                period: crate::model::Period::UNKNOWN,
                special: false,
                assessment: None,
            },
            crate::model::Request::Assess { payer, channel, kind: crate::scenario::SpecialKind::IndividualMonths, items: [0; 6] },
            crate::model::Request::Certificate { payer, channel, payment: crate::model::TargetId::text("cutover-preflight-no-such-order") },
        ];
        let mut lines = Vec::new();
        for req in &requests {
            let w = api.request(spec, req);
            let what = format!("{} {}", w.method, w.path);
            let op = req.operation().as_str();
            let method = reqwest::Method::from_bytes(w.method.as_bytes()).unwrap_or(reqwest::Method::POST);
            let mut rb = http.request(method, format!("{}{}", base.url, w.path));
            if let Some(k) = &w.idempotency_key {
                rb = rb.header("idempotency-key", k);
            }
            for (k, v) in &w.headers {
                rb = rb.header(k.as_str(), v.as_str());
            }
            if let Some(b) = w.body {
                rb = rb.header("content-type", "application/json").body(b);
            }
            let r = rb.send().await.map_err(|e| format!("operations.{op}: {what}: {}", why(&e, HTTP_TIMEOUT)))?;
            let status = r.status().as_u16();
            let retry_after = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
            let body = r.bytes().await.map_err(|e| format!("operations.{op}: {what}: {e}"))?;
            let (resp, _) = api.read(spec, req, status, retry_after.as_deref(), &body);
            let shown = crate::secrets::redact(&String::from_utf8_lossy(&body[..body.len().min(300)])).into_owned();
            if let crate::model::Response::Error { kind } = resp {
                return Err(format!(
                    "operations.{op}: {what} answered {status} {shown:?}, read through {} as an error ({}): the operation's path, `success`, `read` or `codes` do not fit (or give --skip-operation-probe)",
                    api.describe(),
                    kind.as_str()
                ));
            }
            lines.push(format!("{op}: {what} answered {status}, read as {}", resp.category().as_str()));
        }
        Ok(lines)
    }

    /// Set the target's clock to `cfg.clock` (when the run syncs clocks and the target has a
    /// clock endpoint): in the preflight, and again when the load starts. The last round
    /// trip, if set.
    pub(crate) async fn set_clock(&self, spec: &Spec, cfg: &PreflightConfig<'_>) -> Result<Option<Duration>, String> {
        let Target::Http { base, api, .. } = self else {
            return Ok(None);
        };
        match (cfg.sync_clock, api.clock_path()) {
            (true, Some(path)) => Ok(Some(sync_clock(base, api, path, cfg, spec).await?)),
            _ => Ok(None),
        }
    }
}

/// Set the target's clock to the run's. The target adopts the instant it is sent when it
/// receives it, so its clock lags by up to the call's round trip: the call is repeated (on
/// the same connection) until one round trip is short, and the last round trip is returned
/// so that the auditor's window can allow for it.
async fn sync_clock(base: &Base, api: &super::api::Api, path: &str, cfg: &PreflightConfig<'_>, spec: &Spec) -> Result<Duration, String> {
    const SHORT: Duration = Duration::from_millis(2);
    const TRIES: usize = 5;
    let http = client_for(base, api, Duration::from_secs(10));
    let mut rtt = Duration::ZERO;
    for _ in 0..TRIES {
        let now = cfg.clock.now();
        let body = contract::ClockBody { virtual_now: now.format(spec.calendar.offset), time_scale: cfg.clock.scale_at(now) };
        let mut rb = http.post(format!("{}{path}", base.url)).json(&body);
        if let Some(t) = cfg.admin_token {
            rb = rb.bearer_auth(t);
        }
        let sent = Instant::now();
        match rb.send().await {
            Ok(r) if r.status().is_success() => rtt = sent.elapsed(),
            Ok(r) => {
                return Err(format!(
                    "{}: POST {path} answered {} (give --admin-token, or --no-clock-sync for a target that keeps its own clock)",
                    base.url,
                    r.status()
                ));
            }
            Err(e) => return Err(format!("cannot reach the target {}: {}", base.url, why(&e, Duration::from_secs(10)))),
        }
        if rtt < SHORT {
            break;
        }
    }
    Ok(rtt)
}
