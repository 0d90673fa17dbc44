//! Target profiles: how the contract's operations map onto a real deployment's API.
//!
//! A profile (JSON, `--profile FILE`) gives, per operation, the method, path, headers
//! and body as templates, and the JSON pointers to read answers back; a table maps the
//! deployment's refusal codes onto the contract's. Without a profile the bundled
//! contract (`profiles/contract-v1.json`) is spoken through a faster built-in path.
//!
//! Templates: in paths and headers `{name}` is replaced by text (URL-encoded in paths);
//! in bodies a string that is exactly `"{name}"` becomes the typed value (a number, an
//! object...) and other strings are interpolated. Names: `payer_id`, `group`, `league`,
//! `channel`, `key`, `amount_fen`, `items_fen`, `special`, `assessment_id`, `payment_id`,
//! `kind`.

use crate::contract::{self, WireRequest};
use crate::model::{IdemKey, LedgerCell, LedgerKey, Request, Response, TargetId};
use crate::scenario::{GroupKind, Insurance, Spec};
use crate::vocabulary::Refusal;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{file}: cannot read: {cause}")]
    Read { file: String, cause: std::io::Error },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<Value>,
    /// What success is for this operation (else the profile's `success`, else any 2xx).
    #[serde(default)]
    pub success: Option<Judge>,
}

/// A condition on an answer: its status and/or a value in its body. A deployment that
/// refuses in a 200 body (`{"code": "E1003", "msg": "..."}`) says success with
/// `{"pointer": "/code", "equals": "0000"}`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Judge {
    /// The statuses it may have (default: any 2xx).
    #[serde(default)]
    pub status: Option<Vec<u16>>,
    /// A JSON pointer into the body, with `equals`.
    #[serde(default)]
    pub pointer: Option<String>,
    /// The value the body holds at `pointer` (any JSON type, compared exactly).
    #[serde(default)]
    pub equals: Option<Value>,
}

impl Judge {
    /// Whether an answer of `status` with body `doc` meets it.
    pub(crate) fn holds(&self, status: u16, doc: &Value) -> bool {
        let status_ok = match &self.status {
            Some(list) => list.contains(&status),
            None => (200..300).contains(&status),
        };
        let body_ok = match (&self.pointer, &self.equals) {
            (Some(ptr), Some(want)) => doc.pointer(ptr) == Some(want),
            _ => true,
        };
        status_ok && body_ok
    }

    /// The first problem, with its field path (`at`).
    pub(crate) fn check(&self, at: &str) -> Result<(), String> {
        match (&self.pointer, &self.equals) {
            (Some(p), Some(_)) if !(p.is_empty() || p.starts_with('/')) => {
                Err(format!("{at}.pointer: a JSON pointer starts with /, got {p:?}"))
            }
            (Some(_), None) => Err(format!("{at}.equals: missing (the value the body holds at the pointer)")),
            (None, Some(_)) => Err(format!("{at}.pointer: missing (where in the body `equals` is looked for)")),
            _ => match &self.status {
                Some(list) if list.is_empty() || list.iter().any(|s| !(100..600).contains(s)) => {
                    Err(format!("{at}.status: a list of HTTP statuses (100 to 599), got {list:?}"))
                }
                _ => Ok(()),
            },
        }
    }
}

/// A profile's `switch`: exactly one of `http` and `command`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    /// A call to the deployment: the path under its base address, with the profile's headers
    /// (a token reaches it as it reaches the operations); success as `http.success` says,
    /// else the profile's `success`, else any 2xx.
    #[serde(default)]
    pub http: Option<Template>,
    /// A program and its arguments, run without a shell; exit status 0 is success.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// The call is given up and reported failed after this long (default 30, at most 3600).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: f64,
}

fn default_timeout() -> f64 {
    30.0
}

impl Switch {
    /// The first problem, its field named.
    pub(crate) fn check(&self) -> Result<(), String> {
        match (&self.http, &self.command) {
            (Some(_), Some(_)) | (None, None) => return Err("switch: give exactly one of `http` and `command`".into()),
            (Some(t), None) => {
                if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&t.method.as_str()) {
                    return Err(format!("switch.http.method: unsupported method {:?}", t.method));
                }
                if !t.path.starts_with('/') {
                    return Err("switch.http.path: must start with /".into());
                }
                if let Some(j) = &t.success {
                    j.check("switch.http.success")?;
                }
            }
            (None, Some(argv)) if argv.is_empty() || argv[0].trim().is_empty() => {
                return Err("switch.command: give the program and its arguments".into());
            }
            (None, Some(_)) => {}
        }
        if !(self.timeout_seconds > 0.0 && self.timeout_seconds <= 3600.0) {
            return Err(format!("switch.timeout_seconds: between 0 and 3600, got {}", self.timeout_seconds));
        }
        Ok(())
    }
}

/// `payment_by_key`: a path template, or the path with how its answers read.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum KeyLookup {
    /// 200: held; 404: not held.
    Path(String),
    Judged(JudgedKeyLookup),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgedKeyLookup {
    /// Path template (`{key}`).
    pub path: String,
    /// When a payment is held under the key (default: status 200).
    #[serde(default)]
    pub held: Option<Judge>,
    /// When none is (default: status 404). Any other answer is an error, never "absent".
    #[serde(default)]
    pub absent: Option<Judge>,
}

impl KeyLookup {
    fn path(&self) -> &str {
        match self {
            KeyLookup::Path(p) => p,
            KeyLookup::Judged(j) => &j.path,
        }
    }

    /// Whether the answer says held (`Some(true)`), absent (`Some(false)`), or neither.
    pub(crate) fn read(&self, status: u16, body: &[u8]) -> Option<bool> {
        let doc: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let (held, absent) = match self {
            KeyLookup::Path(_) => (None, None),
            KeyLookup::Judged(j) => (j.held.as_ref(), j.absent.as_ref()),
        };
        let default_held = Judge { status: Some(vec![200]), ..Judge::default() };
        let default_absent = Judge { status: Some(vec![404]), ..Judge::default() };
        if held.unwrap_or(&default_held).holds(status, &doc) {
            Some(true)
        } else if absent.unwrap_or(&default_absent).holds(status, &doc) {
            Some(false)
        } else {
            None
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operations {
    pub assess: Template,
    pub pay: Template,
    pub lookup: Template,
    pub certificate: Template,
}

/// JSON pointers into answers (RFC 6901, e.g. "/data/paymentId").
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Read {
    pub assessment_id: String,
    pub payment_id: String,
    #[serde(default)]
    pub replayed: Option<String>,
    pub payments: String,
    pub latest_payment_id: String,
    pub certificate_id: String,
    /// The machine-readable reason of a refusal.
    pub code: String,
    pub resume_at: String,
    pub visible_at: String,
    /// When a payment was accepted (lets the auditor judge at the target's instant).
    #[serde(default)]
    pub accepted_at: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerRead {
    pub method: String,
    pub path: String,
    /// Pointer to the array of cells; the others are pointers within one cell.
    pub cells: String,
    pub league: String,
    pub group: String,
    pub insurance: String,
    pub count: String,
    pub sum_fen: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub operations: Operations,
    pub read: Read,
    /// The deployment's refusal codes -> the contract's (suspended, overloaded,
    /// idempotency_conflict, assessment_required, not_yet_visible, no_record, invalid).
    #[serde(default)]
    pub codes: BTreeMap<String, String>,
    pub ledger: LedgerRead,
    /// Headers of every request to the deployment (operations, ledger, books, key lookup,
    /// clock): values may take `{env:NAME}` (an environment variable) or `{file:PATH}` (a
    /// file's text, trailing newline cut), read when the profile loads and never shown.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// How the deployment writes amounts, periods, times, payers, codes and items (default:
    /// as the contract does).
    #[serde(default)]
    pub values: super::values::Values,
    /// What success is for every operation without its own `success` (default: any 2xx).
    /// An answer that does not meet it is a refusal, read by `read.code` and `codes`, even
    /// with a 2xx status.
    #[serde(default)]
    pub success: Option<Judge>,
    /// The payment stored under an idempotency key: a path template (`{key}`; 200 = held,
    /// 404 = not), or `{path, held, absent}` judged by content.
    pub payment_by_key: KeyLookup,
    /// Path of the clock endpoint, if the deployment follows a run's clock.
    #[serde(default)]
    pub clock_path: Option<String>,
    /// Where the deployment exports its payments (and registrations) page by page: what a
    /// cutover run's checks read in bulk. Without it they come from `cutover reconcile`.
    #[serde(default)]
    pub books: Option<super::profile_books::Books>,
    /// The deployment's maintenance switch, called before the load and at each phase start
    /// that changes which channels are closed (`switch.rs`).
    #[serde(default)]
    pub switch: Option<Switch>,
}

/// The bundled contract as a profile (the tests hold it to the built-in path).
#[cfg(test)]
pub(crate) const CONTRACT_V1: &str = include_str!("../../../profiles/contract-v1.json");

/// An identifier as a JSON value: as the target gave it.
fn id_value(id: &TargetId) -> Value {
    match id {
        TargetId::Num(n) => Value::from(*n),
        TargetId::Text(t) => Value::from(t.as_str()),
    }
}

impl Profile {
    pub fn load(path: &std::path::Path) -> Result<Profile, ProfileError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|cause| ProfileError::Read { file: file.clone(), cause })?;
        Profile::parse(&file, &text)
    }

    pub(crate) fn parse(file: &str, text: &str) -> Result<Profile, ProfileError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let p: Profile = serde_path_to_error::deserialize(de)
            .map_err(|e| ProfileError::Invalid { file: file.to_string(), message: format!("{}: {}", e.path(), e.inner()) })?;
        for (name, t) in [
            ("assess", &p.operations.assess),
            ("pay", &p.operations.pay),
            ("lookup", &p.operations.lookup),
            ("certificate", &p.operations.certificate),
        ] {
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&t.method.as_str()) {
                return Err(ProfileError::Invalid {
                    file: file.into(),
                    message: format!("operations.{name}.method: unsupported method {:?}", t.method),
                });
            }
            if !t.path.starts_with('/') {
                return Err(ProfileError::Invalid { file: file.into(), message: format!("operations.{name}.path: must start with /") });
            }
            if let Some(j) = &t.success {
                j.check(&format!("operations.{name}.success")).map_err(|message| ProfileError::Invalid { file: file.into(), message })?;
            }
        }
        let invalid = |message: String| ProfileError::Invalid { file: file.into(), message };
        let mut p = p;
        for (name, value) in p.headers.iter_mut() {
            *value = resolve_secrets(value, &format!("headers.{name}")).map_err(invalid)?;
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(invalid(format!("headers.{name}: not a header name")));
            }
            if reqwest::header::HeaderValue::from_str(value).is_err() {
                return Err(invalid(format!("headers.{name}: the value is not a header value (a line break, a control character?)")));
            }
        }
        for (op, t) in [
            ("assess", &mut p.operations.assess),
            ("pay", &mut p.operations.pay),
            ("lookup", &mut p.operations.lookup),
            ("certificate", &mut p.operations.certificate),
        ] {
            for (name, value) in t.headers.iter_mut() {
                *value = resolve_secrets(value, &format!("operations.{op}.headers.{name}")).map_err(invalid)?;
            }
        }
        if let Some(j) = &p.success {
            j.check("success").map_err(invalid)?;
        }
        p.values.check("values").map_err(invalid)?;
        if let KeyLookup::Judged(k) = &p.payment_by_key {
            for (name, j) in [("held", &k.held), ("absent", &k.absent)] {
                if let Some(j) = j {
                    j.check(&format!("payment_by_key.{name}")).map_err(invalid)?;
                }
            }
        }
        if !p.payment_by_key.path().starts_with('/') {
            return Err(invalid("payment_by_key: the path must start with /".into()));
        }
        if let Some(sw) = &p.switch {
            sw.check().map_err(invalid)?;
        }
        if let Some(b) = &p.books {
            b.check().map_err(|message| ProfileError::Invalid { file: file.into(), message })?;
        }
        for (name, v) in p.codes.values().enumerate() {
            let known = Refusal::ANSWERS;
            if !known.iter().any(|r| r.code() == v) {
                let names: Vec<&str> = known.iter().map(|r| r.code()).collect();
                return Err(ProfileError::Invalid {
                    file: file.into(),
                    message: format!("codes: entry {name} maps to unknown contract code {v:?} (known: {})", names.join(", ")),
                });
            }
        }
        Ok(p)
    }

    fn vars(&self, spec: &Spec, req: &Request) -> BTreeMap<&'static str, Value> {
        use super::values::Kind;
        let values = &self.values;
        let mut v = BTreeMap::new();
        let p = req.payer();
        v.insert("payer_id", values.payer(spec, p.id, p.group, p.league));
        v.insert("payer_no", Value::from(crate::population::payer_number(spec, p.id, p.group, p.league)));
        v.insert("group", Value::from(values.code(Kind::Group, p.group.as_str())));
        let league = spec.leagues.get(p.league as usize).map(|l| l.name.as_str()).unwrap_or_default();
        v.insert("league", Value::from(values.code(Kind::League, league)));
        let channel = spec.channels.get(req.channel() as usize).map(|c| c.id.as_str()).unwrap_or_default();
        v.insert("channel", Value::from(values.code(Kind::Channel, channel)));
        match req {
            Request::Assess { kind, items, .. } => {
                v.insert("kind", Value::from(kind.as_str()));
                v.insert("amount_fen", values.amount(items.iter().sum::<i64>()));
                v.insert("items_fen", values.items(items));
            }
            Request::Pay { key, items, period, special, assessment, .. } => {
                v.insert("key", Value::from(key.to_text()));
                v.insert("period", if period.months > 0 { Value::from(values.period(&period.first_text())) } else { Value::Null });
                v.insert("period_months", if period.months > 0 { Value::from(period.months) } else { Value::Null });
                v.insert("amount_fen", values.amount(items.iter().sum::<i64>()));
                v.insert("items_fen", values.items(items));
                v.insert("special", Value::from(*special));
                v.insert("assessment_id", assessment.as_ref().map(id_value).unwrap_or(Value::Null));
            }
            Request::Certificate { payment, .. } => {
                v.insert("payment_id", id_value(payment));
            }
            Request::Lookup { .. } | Request::Call { .. } => {}
        }
        v
    }

    /// The operation's method and path as the profile writes them (placeholders kept, the
    /// query left out): how the failures table names a request.
    pub(crate) fn route(&self, req: &Request) -> (&'static str, String) {
        let t = self.template(req);
        (method_of(&t.method), t.path.split('?').next().unwrap_or_default().to_string())
    }

    /// The HTTP request for a model request.
    pub(crate) fn render(&self, spec: &Spec, req: &Request) -> WireRequest {
        let t = self.template(req);
        let vars = self.vars(spec, req);
        let method = method_of(&t.method);
        let mut headers: Vec<(String, String)> = t.headers.iter().map(|(k, v)| (k.clone(), interpolate(v, &vars, false))).collect();
        for (k, v) in &self.headers {
            if !headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(k)) {
                headers.push((k.clone(), v.clone()));
            }
        }
        WireRequest {
            method,
            path: interpolate(&t.path, &vars, true),
            idempotency_key: None,
            headers,
            body: t.body.as_ref().map(|b| serde_json::to_vec(&fill(b, &vars)).unwrap_or_default()),
        }
    }

    /// [`Profile::read_answer`], plus the acceptance instant when `read.accepted_at` names it.
    pub(crate) fn read_answer_timed(
        &self,
        spec: &Spec,
        req: &Request,
        status: u16,
        retry_after: Option<&str>,
        body: &[u8],
    ) -> (Response, Option<crate::time::SimTime>) {
        let r = self.read_answer(spec, req, status, retry_after, body);
        let at = match (&r, &self.read.accepted_at) {
            (Response::Accepted { .. }, Some(ptr)) => serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|d| d.pointer(ptr).and_then(|v| self.values.read_time(spec, v).ok()))
                .and_then(|t| contract::parse_instant(&t)),
            _ => None,
        };
        (r, at)
    }

    /// The template of `req`'s operation.
    fn template(&self, req: &Request) -> &Template {
        match req {
            Request::Assess { .. } => &self.operations.assess,
            Request::Pay { .. } => &self.operations.pay,
            // Calls are never sent (hosts answer them): read as a look-up if one were.
            Request::Lookup { .. } | Request::Call { .. } => &self.operations.lookup,
            Request::Certificate { .. } => &self.operations.certificate,
        }
    }

    /// Map a deployment's answer onto the contract's responses: a success when it meets the
    /// operation's `success` (else the profile's, else any 2xx), otherwise a refusal read from
    /// its body by `read.code` and `codes`, whatever its status.
    pub(crate) fn read_answer(&self, spec: &Spec, req: &Request, status: u16, retry_after: Option<&str>, body: &[u8]) -> Response {
        let doc: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let num = |ptr: &str| doc.pointer(ptr).and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())));
        // Identifiers are kept as they came: a number, or any text.
        let id = |ptr: &str| match doc.pointer(ptr)? {
            Value::Number(n) => n.as_u64().map(TargetId::Num),
            Value::String(s) if !s.is_empty() => Some(TargetId::text(s.as_str())),
            _ => None,
        };
        let judged = self.template(req).success.as_ref().or(self.success.as_ref());
        let success = match judged {
            Some(j) => j.holds(status, &doc),
            None => (200..300).contains(&status),
        };
        if success {
            let r = match req {
                Request::Assess { .. } => id(&self.read.assessment_id).map(|a| Response::Assessed { assessment: a }),
                Request::Pay { .. } => id(&self.read.payment_id).map(|p| Response::Accepted {
                    payment: p,
                    replayed: match self.read.replayed.as_deref() {
                        Some(ptr) => doc.pointer(ptr).is_some_and(truthy),
                        None => status == 200,
                    },
                }),
                Request::Lookup { .. } => {
                    num(&self.read.payments).map(|n| Response::Records { payments: n as u32, latest: id(&self.read.latest_payment_id) })
                }
                Request::Certificate { .. } => id(&self.read.certificate_id).map(|c| Response::Certificate { certificate: c }),
                Request::Call { .. } => Some(Response::Invalid { reason: crate::vocabulary::InvalidReason::HotlineCall }),
            };
            return r.unwrap_or(Response::Error { kind: crate::vocabulary::Failure::BadBody });
        }
        // Rewrite the refusal into the contract's problem shape and reuse its mapping.
        let code = match doc.pointer(&self.read.code) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        // A 2xx answer that is neither the success nor a refusal with a code is malformed.
        if code.is_empty() && (200..300).contains(&status) {
            return Response::Error { kind: crate::vocabulary::Failure::BadBody };
        }
        let code = self.codes.get(&code).map(String::as_str).unwrap_or(&code);
        let problem = contract::Problem {
            code: code.to_string(),
            resume_at: doc.pointer(&self.read.resume_at).filter(|v| !v.is_null()).and_then(|v| self.values.read_time(spec, v).ok()),
            visible_at: doc.pointer(&self.read.visible_at).filter(|v| !v.is_null()).and_then(|v| self.values.read_time(spec, v).ok()),
            ..contract::Problem::default()
        };
        let bytes = serde_json::to_vec(&problem).unwrap_or_default();
        contract::from_wire(refusal_status(status), retry_after, &bytes)
    }

    pub(crate) fn ledger_request(&self) -> WireRequest {
        let method = if self.ledger.method == "POST" { "POST" } else { "GET" };
        WireRequest { method, path: self.ledger.path.clone(), idempotency_key: None, headers: Vec::new(), body: None }
    }

    pub(crate) fn read_ledger(&self, spec: &Spec, body: &[u8]) -> Result<BTreeMap<LedgerKey, LedgerCell>, String> {
        let doc: Value = serde_json::from_slice(body).map_err(|e| format!("ledger answer is not JSON: {e}"))?;
        let cells = doc
            .pointer(&self.ledger.cells)
            .and_then(|c| c.as_array())
            .ok_or_else(|| format!("ledger answer has no array at {}", self.ledger.cells))?;
        let mut out = BTreeMap::new();
        use super::values::Kind;
        let v = &self.values;
        for (i, c) in cells.iter().enumerate() {
            let at = |ptr: &str| c.pointer(ptr).filter(|x| !x.is_null()).ok_or_else(|| format!("ledger cell {i}: nothing at {ptr}"));
            let name = |kind: Kind, ptr: &str| -> Result<String, String> {
                let x = at(ptr)?;
                let code = x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string());
                v.name_of(kind, &code).map_err(|e| format!("ledger cell {i}: {e}"))
            };
            let league = name(Kind::League, &self.ledger.league)?;
            let l =
                spec.leagues.iter().position(|x| x.name == league).ok_or_else(|| format!("ledger cell {i}: unknown league {league:?}"))?;
            let group: GroupKind = serde_json::from_value(Value::from(name(Kind::Group, &self.ledger.group)?))
                .map_err(|e| format!("ledger cell {i}: group: {e}"))?;
            let ins: Insurance = serde_json::from_value(Value::from(name(Kind::Insurance, &self.ledger.insurance)?))
                .map_err(|e| format!("ledger cell {i}: insurance: {e}"))?;
            let count = at(&self.ledger.count)?;
            let count = count
                .as_u64()
                .or_else(|| count.as_str().and_then(|t| t.trim().parse().ok()))
                .ok_or_else(|| format!("ledger cell {i}: count {count}: not a count"))?;
            let sum = v.read_amount(at(&self.ledger.sum_fen)?).map_err(|e| format!("ledger cell {i}: sum: {e}"))?;
            let cell: &mut LedgerCell = out.entry((l as u8, group, ins)).or_default();
            cell.count += count;
            cell.sum_fen += sum;
        }
        Ok(out)
    }

    pub(crate) fn payment_path(&self, key: IdemKey) -> String {
        self.payment_by_key.path().replace("{key}", &key.to_text())
    }
}

/// `value` with each `{env:NAME}` and `{file:PATH}` replaced by what it names, each
/// registered as a secret (`at`: the field, for the message when it cannot be read).
fn resolve_secrets(value: &str, at: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('{') {
        let Some(j) = rest[i..].find('}') else { break };
        let inner = &rest[i + 1..i + j];
        let secret = if let Some(name) = inner.strip_prefix("env:") {
            match std::env::var(name) {
                Ok(v) if !v.trim().is_empty() => v.trim().to_string(),
                _ => return Err(format!("{at}: the environment variable {name} is not set (or empty)")),
            }
        } else if let Some(path) = inner.strip_prefix("file:") {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{at}: cannot read {path}: {e}"))?;
            let text = text.trim_end_matches(['\n', '\r']).to_string();
            if text.trim().is_empty() {
                return Err(format!("{at}: {path} is empty"));
            }
            text
        } else {
            out.push_str(&rest[..i + j + 1]);
            rest = &rest[i + j + 1..];
            continue;
        };
        crate::secrets::register(&secret);
        out.push_str(&rest[..i]);
        out.push_str(&secret);
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A flag of any JSON type: `true`, a non-zero number, or text such as "true", "1", "Y",
/// "yes" or "是".
fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::String(s) => ["true", "1", "y", "yes", "t", "是"].contains(&s.trim().to_lowercase().as_str()),
        _ => false,
    }
}

/// The status a refusal is read with: a refusal in a 2xx body is read as the contract reads
/// a refusal (its code decides; a 2xx status would say nothing about it).
fn refusal_status(status: u16) -> u16 {
    if (200..300).contains(&status) { 400 } else { status }
}

/// A value as text: a string as it is, nothing for null, a list's items joined by commas
/// (a switch's `{closed}` channels), anything else as JSON.
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(a) => a.iter().map(text_of).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// `t` with each `{name}` of `vars` replaced by its text (percent-encoded for a URL).
pub(super) fn interpolate(t: &str, vars: &BTreeMap<&'static str, Value>, url: bool) -> String {
    let mut out = t.to_string();
    for (k, v) in vars {
        let needle = format!("{{{k}}}");
        if out.contains(&needle) {
            let text = text_of(v);
            out = out.replace(&needle, &if url { crate::contract::percent_encode(&text) } else { text });
        }
    }
    out
}

/// A body template filled: a string that is exactly `"{name}"` becomes the typed value, any
/// other string is interpolated.
pub(super) fn fill(v: &Value, vars: &BTreeMap<&'static str, Value>) -> Value {
    match v {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}'))
                && let Some(val) = vars.get(name)
            {
                return val.clone();
            }
            Value::String(interpolate(s, vars, false))
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| fill(x, vars)).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), fill(x, vars))).collect()),
        other => other.clone(),
    }
}

/// A profile's method as the wire writes it (the profile's loading checked it).
fn method_of(m: &str) -> &'static str {
    match m {
        "GET" => "GET",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        _ => "POST",
    }
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
