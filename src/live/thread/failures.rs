//! The failures table's figures on one sending thread: every answer counted as an error
//! ([`Response::error_kind`]), by phase × channel × operation × system, with each kind, each
//! HTTP status, the request's method and path template, and the first few bodies. Bounded:
//! a cell per phase, channel, operation and system, and [`SAMPLES`] bodies of at most
//! [`super::lanes::SEEN_BODY_BYTES`] each per cell.

use super::lanes::Seen;
use crate::model::{Request, Response};
use crate::report::data::live::{FailureRow, FailureSample};
use crate::scenario::{ChannelIdx, Operation, Spec, SystemIdx};
use crate::vocabulary::{ErrorKind, Failure};
use std::collections::BTreeMap;

/// Bodies kept per cell.
pub(in crate::live) const SAMPLES: usize = 3;

/// Characters of a body the report shows.
const SHOWN_CHARS: usize = 300;

#[derive(Default, serde::Serialize, serde::Deserialize)]
pub(in crate::live) struct FailureLog {
    #[serde(with = "pairs")]
    cells: BTreeMap<(u8, ChannelIdx, Operation, SystemIdx), Acc>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Acc {
    method: std::borrow::Cow<'static, str>,
    path: String,
    count: u64,
    by_kind: BTreeMap<ErrorKind, u64>,
    #[serde(with = "pairs")]
    by_status: BTreeMap<Option<u16>, u64>,
    samples: Vec<Sample>,
}

/// One answer kept: its kind, status and body, or, when none came, what the client said.
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Sample {
    kind: ErrorKind,
    status: Option<u16>,
    body: Vec<u8>,
    error: Option<String>,
}

impl FailureLog {
    /// The answer `resp` to `req`, started in `phase` and sent to `system`; `seen`: what the
    /// wire showed, none for an answer that never crossed one (not sent, in process).
    pub(in crate::live) fn add(&mut self, phase: u8, system: SystemIdx, req: &Request, resp: &Response, seen: Option<&Seen>) {
        let Some(kind) = resp.error_kind() else { return };
        let acc = self.cells.entry((phase, req.channel(), req.operation(), system)).or_insert_with(|| {
            let (method, path) = match (seen, kind) {
                (Some(s), _) => (s.method.into(), s.path.clone()),
                (None, ErrorKind::Failure(Failure::NotSent)) => {
                    ("-".into(), "(not sent: every connection busy, the queue full)".to_string())
                }
                (None, _) => ("-".into(), "(in process)".to_string()),
            };
            Acc { method, path, count: 0, by_kind: BTreeMap::new(), by_status: BTreeMap::new(), samples: Vec::new() }
        });
        acc.count += 1;
        *acc.by_kind.entry(kind).or_default() += 1;
        let status = seen.and_then(|s| s.status);
        *acc.by_status.entry(status).or_default() += 1;
        // A body is worth showing when it differs from those kept (a status alone too, and
        // the words of a failure).
        let body = seen.map(|s| s.body.as_slice()).unwrap_or_default();
        let error = seen.and_then(|s| s.error.as_deref());
        if acc.samples.len() < SAMPLES
            && !acc.samples.iter().any(|x| x.kind == kind && x.status == status && x.body == body && x.error.as_deref() == error)
        {
            acc.samples.push(Sample { kind, status, body: body.to_vec(), error: error.map(str::to_string) });
        }
    }

    /// Another thread's log added to this one (samples kept up to the bound, this one's first).
    pub(in crate::live) fn merge(&mut self, other: FailureLog) {
        for (k, o) in other.cells {
            match self.cells.get_mut(&k) {
                None => {
                    self.cells.insert(k, o);
                }
                Some(acc) => {
                    acc.count += o.count;
                    for (kind, n) in o.by_kind {
                        *acc.by_kind.entry(kind).or_default() += n;
                    }
                    for (status, n) in o.by_status {
                        *acc.by_status.entry(status).or_default() += n;
                    }
                    for s in o.samples {
                        if acc.samples.len() < SAMPLES && !acc.samples.contains(&s) {
                            acc.samples.push(s);
                        }
                    }
                }
            }
        }
    }

    /// Every secret and bearer token taken out of the bodies kept (before they are written to
    /// a shard's part file; [`FailureLog::rows`] cuts them to length).
    pub(in crate::live) fn redact(&mut self, secrets: &[&str]) {
        for acc in self.cells.values_mut() {
            for x in &mut acc.samples {
                x.body = redact_text(&String::from_utf8_lossy(&x.body), secrets).into_bytes();
                if let Some(e) = &mut x.error {
                    *e = redact_text(e, secrets);
                }
            }
        }
    }

    /// The report's rows in phase, channel, operation and system order; `secrets` (tokens the
    /// run sends) never appear in a body shown.
    pub(in crate::live) fn rows(self, spec: &Spec, secrets: &[&str]) -> Vec<FailureRow> {
        let systems = spec.system_names();
        self.cells
            .into_iter()
            .map(|((phase, channel, operation, system), a)| FailureRow {
                phase: spec.phases[phase as usize].name.clone(),
                channel: spec.channels[channel as usize].id.clone(),
                operation,
                system: systems.get(system as usize).copied().unwrap_or("system").to_string(),
                method: a.method.to_string(),
                path: a.path,
                count: a.count,
                by_kind: a.by_kind,
                by_status: a.by_status.into_iter().map(|(s, n)| (s.map_or_else(|| "none".to_string(), |s| s.to_string()), n)).collect(),
                samples: a
                    .samples
                    .into_iter()
                    .map(|x| FailureSample {
                        kind: x.kind,
                        status: x.status,
                        body: shown(&x.body, secrets),
                        error: x.error.map(|e| shown(e.as_bytes(), secrets)),
                    })
                    .collect(),
            })
            .collect()
    }
}

/// A map written as a list of pairs (its keys are not text), in key order.
mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub(super) fn serialize<K: Serialize, V: Serialize, S: Serializer>(m: &BTreeMap<K, V>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter())
    }
    pub(super) fn deserialize<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<K, V>, D::Error> {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

/// A body as the report shows it: text (invalid UTF-8 replaced), controls as spaces, at most
/// [`SHOWN_CHARS`] characters (an ellipsis when cut), every secret and bearer token redacted.
fn shown(body: &[u8], secrets: &[&str]) -> String {
    let text: String = String::from_utf8_lossy(body).chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let mut text = redact_text(&text, secrets);
    if text.chars().count() > SHOWN_CHARS {
        text = text.chars().take(SHOWN_CHARS).collect::<String>() + "…";
    }
    text
}

/// `text` with every secret, credential and bearer token replaced.
fn redact_text(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_string();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(s, "[redacted]");
    }
    redact_bearer(&crate::secrets::redact(&text))
}

/// Every `Bearer <token>` with its token replaced (any case of "bearer").
fn redact_bearer(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(i) = lower[at..].find("bearer ") {
        let start = at + i + "bearer ".len();
        out.push_str(&text[at..start]);
        let end = text[start..].find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',').map_or(text.len(), |e| start + e);
        if end > start {
            out.push_str("[redacted]");
        }
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_cut_cleaned_and_never_show_a_secret() {
        let body = b"{\"error\":\"bad token s3cret\",\"auth\":\"Bearer abc.def\"}\n\x01tail";
        let s = shown(body, &["s3cret"]);
        assert!(!s.contains("s3cret") && !s.contains("abc.def"), "{s}");
        assert!(s.contains("bad token [redacted]") && s.contains("Bearer [redacted]"), "{s}");
        assert!(!s.chars().any(char::is_control), "{s:?}");
        let long = "é".repeat(1000);
        let s = shown(long.as_bytes(), &[]);
        assert_eq!(s.chars().count(), SHOWN_CHARS + 1);
        assert!(s.ends_with('…'));
        assert_eq!(shown(b"\xff\xfeok", &[]), "\u{fffd}\u{fffd}ok");
    }
}
