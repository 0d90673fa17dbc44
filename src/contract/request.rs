//! The bundled contract's HTTP requests for model requests: owned ([`to_wire`]) or written
//! into reused buffers ([`wire_into`]), the two held to the same text by a test.

use super::*;

/// An HTTP request to send: method, path (with query) and optional body and key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WireRequest {
    pub method: &'static str,
    pub path: String,
    pub idempotency_key: Option<String>,
    /// Further headers (from a target profile).
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// Percent-encoding of a path segment or query value (RFC 3986): every byte but the
/// unreserved characters (letters, digits, `-`, `_`, `.`, `~`) as `%XX`. The one encoder of
/// the contract's queries and a profile's paths.
pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// A request to send, borrowed from its owner ([`WireRequest`] or a [`WireScratch`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct WireRef<'a> {
    pub method: &'static str,
    pub path: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub headers: &'a [(String, String)],
    pub body: Option<&'a [u8]>,
}

impl WireRequest {
    pub(crate) fn as_ref(&self) -> WireRef<'_> {
        WireRef {
            method: self.method,
            path: &self.path,
            idempotency_key: self.idempotency_key.as_deref(),
            headers: &self.headers,
            body: self.body.as_deref(),
        }
    }
}

/// Reused buffers for [`wire_into`]: the driver's hot path encodes a request per call
/// without allocating.
#[derive(Default)]
pub(crate) struct WireScratch {
    path: String,
    key: [u8; 32],
    body: Vec<u8>,
}

/// Append the members every payment text shares, in the order of [`PaymentBody`]:
/// `"payer_id":N,"group":"…","league":…,"channel":…,"items_fen":{…}`. The group and
/// insurance names are plain ASCII; league and channel come escaped from the spec.
pub(crate) fn write_payment_members(spec: &Spec, payer: &PayerRef, channel: u8, items: &Items, out: &mut Vec<u8>) {
    out.extend_from_slice(b"\"payer_id\":");
    out.extend_from_slice(itoa::Buffer::new().format(payer.id).as_bytes());
    out.extend_from_slice(b",\"group\":\"");
    out.extend_from_slice(payer.group.as_str().as_bytes());
    out.extend_from_slice(b"\",\"league\":");
    out.extend_from_slice(spec.leagues.get(payer.league as usize).map(|x| x.name_json.as_str()).unwrap_or("\"\"").as_bytes());
    out.extend_from_slice(b",\"channel\":");
    out.extend_from_slice(spec.channels.get(channel as usize).map(|x| x.id_json.as_str()).unwrap_or("\"\"").as_bytes());
    out.extend_from_slice(b",\"items_fen\":");
    write_items_json(items, out);
}

/// Append the items as the JSON object of their non-zero amounts: the text serde writes for
/// [`ItemsWire`] (keys in [`Insurance`] order; insurance names are plain ASCII).
pub(crate) fn write_items_json(items: &Items, out: &mut Vec<u8>) {
    let mut n = itoa::Buffer::new();
    out.push(b'{');
    let mut first = true;
    for i in Insurance::ALL {
        let a = items[i.index()];
        if a != 0 {
            if !first {
                out.push(b',');
            }
            first = false;
            out.push(b'"');
            out.extend_from_slice(i.as_str().as_bytes());
            out.extend_from_slice(b"\":");
            out.extend_from_slice(n.format(a).as_bytes());
        }
    }
    out.push(b'}');
}

pub(super) fn league_str(spec: &Spec, l: u8) -> &str {
    spec.leagues.get(l as usize).map(|x| x.name.as_str()).unwrap_or_default()
}

pub(super) fn channel_str(spec: &Spec, c: u8) -> &str {
    spec.channels.get(c as usize).map(|x| x.id.as_str()).unwrap_or_default()
}

/// The bundled contract's HTTP request for a model request.
pub(crate) fn to_wire(spec: &Spec, req: &Request) -> WireRequest {
    let mut scratch = WireScratch::default();
    let w = wire_into(spec, req, &mut scratch);
    WireRequest {
        method: w.method,
        path: w.path.to_string(),
        idempotency_key: w.idempotency_key.map(str::to_string),
        headers: Vec::new(),
        body: w.body.map(<[u8]>::to_vec),
    }
}

/// [`to_wire`] into reused buffers.
pub(crate) fn wire_into<'a>(spec: &Spec, req: &Request, scratch: &'a mut WireScratch) -> WireRef<'a> {
    use std::fmt::Write;
    let WireScratch { path, key: key_text, body } = scratch;
    path.clear();
    body.clear();
    // Plain structs of numbers, strings and maps with string keys always serialize.
    let mut json = |v: &dyn erased::Ser| {
        v.write(body);
    };
    let (method, key) = match req {
        // Never sent: hosts answer hotline calls themselves (the engine's agents, a live
        // thread at once); a harmless read if it ever were.
        Request::Call { .. } => {
            debug_assert!(false, "a hotline call reached the wire");
            path.push_str("/v1/about");
            ("GET", false)
        }
        Request::Assess { payer, channel, kind, items } => {
            path.push_str("/v1/assessments");
            json(&AssessmentBody {
                payer_id: payer.id,
                group: payer.group,
                league: league_str(spec, payer.league).to_string(),
                channel: channel_str(spec, *channel).to_string(),
                kind: *kind,
                items_fen: items_to_wire(items),
            });
            ("POST", false)
        }
        Request::Pay { key, payer, channel, items, period, special, assessment } => {
            path.push_str("/v1/payments");
            *key_text = key.hex();
            // The body of every payment, written by hand (the same text as serde writes for
            // `PaymentBody`, held so by a test): names come escaped from the spec.
            body.push(b'{');
            write_payment_members(spec, payer, *channel, items, body);
            write_period_members(period, body);
            body.extend_from_slice(if *special {
                b",\"special\":true,\"assessment_id\":"
            } else {
                b",\"special\":false,\"assessment_id\":"
            });
            match assessment {
                Some(a) => a.write_json(body),
                None => body.extend_from_slice(b"null"),
            }
            body.push(b'}');
            ("POST", true)
        }
        Request::Lookup { payer, channel } => {
            let _ = write!(
                path,
                "/v1/payers/{}/records?group={}&league={}&channel={}",
                payer.id,
                payer.group.as_str(),
                percent_encode(league_str(spec, payer.league)),
                percent_encode(channel_str(spec, *channel))
            );
            ("GET", false)
        }
        Request::Certificate { payer, channel, payment } => {
            path.push_str("/v1/certificates");
            json(&CertificateBody {
                payer_id: payer.id,
                group: payer.group,
                league: league_str(spec, payer.league).to_string(),
                channel: channel_str(spec, *channel).to_string(),
                payment_id: payment.clone(),
            });
            ("POST", false)
        }
    };
    WireRef {
        method,
        path,
        // Hex digits are ASCII.
        idempotency_key: if key { std::str::from_utf8(&key_text[..]).ok() } else { None },
        headers: &[],
        body: (method != "GET").then_some(&body[..]),
    }
}

mod erased {
    /// Object-safe JSON serialization for the few body types above.
    pub(super) trait Ser {
        fn write(&self, out: &mut Vec<u8>);
    }
    impl<T: serde::Serialize> Ser for T {
        fn write(&self, out: &mut Vec<u8>) {
            // Plain structs of numbers, strings and maps with string keys always serialize.
            let _ = serde_json::to_writer(out, self);
        }
    }
}
