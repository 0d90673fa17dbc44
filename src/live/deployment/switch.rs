//! A deployment's maintenance switch: how the run closes and opens its channels at each
//! phase start when the deployment does not follow the run's clock (it keeps real time, or
//! its operators switch it). Given once in a profile (`switch`: an HTTP call or a command),
//! or, for a `cutover serve` keeping real time, its `POST /v1/admin/maintenance`; the
//! runbook calls it before the load and whenever the set of closed channels changes.
//!
//! Placeholders, filled with the state to set: `{closed}` and `{open}` the channels (the
//! deployment's codes, `values.codes.channel`): in a body a string that is exactly
//! `"{closed}"` becomes an array, elsewhere the codes joined by commas; `{suspended}` whether
//! every channel is closed (a boolean in a body, `true`/`false` elsewhere); `{phase}` the
//! phase's name and `{system}` the system's (`old`, `new`, or the scenario's name). The
//! switch's fields are the profile's (`profile::Switch`).

use super::profile::{Judge, Switch, fill, interpolate};
use super::values::{Kind, Values};
use crate::scenario::Spec;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The call that sets the deployment to `state`, its success judged by `success` when
/// the switch gives none.
pub(crate) fn call(sw: &Switch, spec: &Spec, values: &Values, state: &State, success: Option<&Judge>) -> Call {
    let vars = state.vars(spec, values);
    let limit = Duration::from_secs_f64(sw.timeout_seconds);
    match (&sw.http, &sw.command) {
        (Some(t), _) => Call::Http {
            method: t.method.clone(),
            path: interpolate(&t.path, &vars, true),
            headers: t.headers.iter().map(|(k, v)| (k.clone(), interpolate(v, &vars, false))).collect(),
            body: t.body.as_ref().map(|b| fill(b, &vars)),
            success: t.success.clone().or_else(|| success.cloned()).unwrap_or_default(),
            limit,
        },
        (None, Some(argv)) => Call::Command { argv: argv.iter().map(|a| interpolate(a, &vars, false)).collect(), limit },
        (None, None) => Call::Command { argv: Vec::new(), limit },
    }
}

/// What a switch sets: the channels closed (by index), in which phase, on which system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct State {
    pub closed: Vec<bool>,
    pub phase: String,
    pub system: String,
}

impl State {
    /// What `system` (named `name`) is set to at `at`: the channels the reference systems
    /// close to everyone then, and the phase in force.
    pub(crate) fn at(
        spec: &Spec,
        reference: &crate::model::Systems,
        system: crate::scenario::SystemIdx,
        at: crate::time::SimTime,
        name: &str,
    ) -> State {
        State {
            closed: reference.model(system).closed_channels(at),
            phase: spec.phases[spec.phase_at(at)].name.clone(),
            system: name.into(),
        }
    }

    /// The channels it closes, by the scenario's ids.
    pub(crate) fn closed_ids<'a>(&self, spec: &'a Spec) -> Vec<&'a str> {
        spec.channels.iter().zip(&self.closed).filter(|(_, c)| **c).map(|(ch, _)| ch.id.as_str()).collect()
    }

    /// The placeholders' values, typed (a body's whole strings take them so; elsewhere a list is
    /// its items joined by commas).
    fn vars(&self, spec: &Spec, values: &Values) -> BTreeMap<&'static str, Value> {
        let codes = |closed: bool| -> Vec<String> {
            spec.channels
                .iter()
                .zip(&self.closed)
                .filter(|(_, c)| **c == closed)
                .map(|(ch, _)| values.code(Kind::Channel, &ch.id).to_string())
                .collect()
        };
        let (closed, open) = (codes(true), codes(false));
        let suspended = !self.closed.is_empty() && self.closed.iter().all(|c| *c);
        BTreeMap::from([
            ("closed", Value::from(closed)),
            ("open", Value::from(open)),
            ("suspended", Value::from(suspended)),
            ("phase", Value::from(self.phase.clone())),
            ("system", Value::from(self.system.clone())),
        ])
    }

    /// In words, for the report: "closed: etax_web, tax_app" or "every channel open".
    pub(crate) fn describe(&self, spec: &Spec) -> String {
        let ids = self.closed_ids(spec);
        match ids.len() {
            0 => "every channel open".into(),
            n if n == spec.channels.len() => "every channel closed".into(),
            _ => format!("closed: {}", ids.join(", ")),
        }
    }
}

/// How the run switches one system: its API (the contract's maintenance endpoint, or a
/// profile's `switch`), the client that reaches it and where.
#[derive(Clone)]
pub(crate) struct Switcher {
    pub api: super::api::Api,
    pub client: reqwest::Client,
    pub base_url: String,
    /// The admin token, for the contract's endpoint.
    pub bearer: Option<String>,
    /// The system's name, for `{system}` and the report.
    pub system: String,
}

impl Switcher {
    /// Set the system to `state`: whether it went through, and what it answered, in words.
    pub(crate) async fn set(&self, spec: &Spec, state: &State) -> (bool, String) {
        let call = match &self.api {
            super::api::Api::Contract => Call::Http {
                method: "POST".into(),
                path: "/v1/admin/maintenance".into(),
                headers: Vec::new(),
                body: Some(serde_json::json!({ "closed_channels": state.closed_ids(spec) })),
                success: Judge::default(),
                limit: Duration::from_secs(30),
            },
            super::api::Api::Profile(p) => match &p.switch {
                Some(sw) => call(sw, spec, &p.values, state, p.success.as_ref()),
                None => return (false, "the profile has no switch".into()),
            },
        };
        let bearer = matches!(self.api, super::api::Api::Contract).then_some(self.bearer.as_deref()).flatten();
        call.make(&self.client, &self.base_url, bearer).await
    }
}

/// A switch call ready to go.
#[derive(Clone, Debug)]
pub(crate) enum Call {
    Http { method: String, path: String, headers: Vec<(String, String)>, body: Option<Value>, success: Judge, limit: Duration },
    Command { argv: Vec<String>, limit: Duration },
}

impl Call {
    /// Make the call: through `client` at `base_url` for HTTP (`bearer`: an admin token).
    /// Whether it went through, and what it answered, in words.
    pub(crate) async fn make(self, client: &reqwest::Client, base_url: &str, bearer: Option<&str>) -> (bool, String) {
        match self {
            Call::Http { method, path, headers, body, success, limit } => {
                let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::POST);
                let mut rb = client.request(method, format!("{base_url}{path}")).timeout(limit);
                for (k, v) in headers {
                    rb = rb.header(k, v);
                }
                if let Some(t) = bearer {
                    rb = rb.bearer_auth(t);
                }
                if let Some(b) = body {
                    rb = rb.json(&b);
                }
                match rb.send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let bytes = r.bytes().await.unwrap_or_default();
                        let doc: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                        let ok = success.holds(status, &doc);
                        let said = if ok { String::new() } else { format!(": {}", crate::secrets::redact(&short(&bytes))) };
                        (ok, format!("HTTP {status}{said}"))
                    }
                    Err(e) => (false, crate::secrets::redact(&super::why::why(&e, limit)).into_owned()),
                }
            }
            Call::Command { argv, limit } => tokio::task::spawn_blocking(move || run_command(&argv, limit))
                .await
                .unwrap_or_else(|_| (false, "the switch's thread failed".into())),
        }
    }
}

/// The first 200 characters of an answer, on one line.
fn short(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(200).map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Run a command (a switch's, a runbook hook's) to its end, killing it past `limit`: on a
/// blocking thread of its own (tokio's child-process support would have every runtime of the
/// driver look for exited children at each turn, which showed in the sending threads' profile).
pub(crate) fn run_command(argv: &[String], limit: Duration) -> (bool, String) {
    use std::process::{Command, Stdio};
    let Some(program) = argv.first() else { return (false, "no command".into()) };
    let mut child = match Command::new(program).args(&argv[1..]).stdin(Stdio::null()).stdout(Stdio::null()).spawn() {
        Ok(c) => c,
        Err(e) => return (false, format!("cannot start: {e}")),
    };
    let begin = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(st)) => {
                return (st.success(), format!("exit status {}", st.code().map(|c| c.to_string()).unwrap_or_else(|| "signal".into())));
            }
            Ok(None) if begin.elapsed() >= limit => {
                let _ = child.kill();
                let _ = child.wait();
                return (false, format!("timed out after {} s", limit.as_secs_f64()));
            }
            Ok(None) => std::thread::sleep(COMMAND_POLL),
            Err(e) => return (false, format!("cannot wait for it: {e}")),
        }
    }
}

/// How often a running command is looked at.
const COMMAND_POLL: Duration = Duration::from_millis(2);

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        crate::scenario::parse("ci-smoke.json", include_str!("../../../scenarios/ci-smoke.json")).expect("ci-smoke")
    }

    #[test]
    fn a_switch_fills_the_channels_it_closes_in_the_deployments_codes() {
        let spec = spec();
        let values: Values =
            serde_json::from_value(serde_json::json!({"codes": {"channel": {"etax_web": "C07", "tax_app": "C06"}}})).expect("values");
        let sw: Switch = serde_json::from_value(serde_json::json!({
            "http": {"method": "POST", "path": "/ops/{system}/maintenance?phase={phase}",
                     "body": {"channels": "{closed}", "on": "{suspended}", "note": "closing {closed}"}}
        }))
        .expect("switch");
        sw.check().expect("valid");
        let mut closed = vec![false; spec.channels.len()];
        closed[spec.channel_index("etax_web").unwrap() as usize] = true;
        closed[spec.channel_index("tax_app").unwrap() as usize] = true;
        let state = State { closed, phase: "peripheral stopped".into(), system: "old".into() };
        let Call::Http { path, body, .. } = call(&sw, &spec, &values, &state, None) else { panic!("an HTTP call") };
        assert_eq!(path, "/ops/old/maintenance?phase=peripheral%20stopped");
        let body = body.expect("a body");
        let mut codes: Vec<&str> = body["channels"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        codes.sort_unstable();
        assert_eq!(codes, ["C06", "C07"]);
        assert_eq!(body["on"], Value::Bool(false));
        assert!(body["note"].as_str().unwrap().starts_with("closing C"), "{body}");
        let said = state.describe(&spec);
        assert!(said.starts_with("closed: ") && said.contains("etax_web") && said.contains("tax_app"), "{said}");
        let all = State { closed: vec![true; spec.channels.len()], ..state };
        let Call::Http { body, .. } = call(&sw, &spec, &values, &all, None) else { panic!("an HTTP call") };
        assert_eq!(body.expect("a body")["on"], Value::Bool(true));
        assert_eq!(all.describe(&spec), "every channel closed");
    }

    #[test]
    fn a_switch_is_one_call_with_a_bounded_time() {
        for (json, field) in [
            (serde_json::json!({}), "exactly one"),
            (serde_json::json!({"command": ["true"], "http": {"method": "POST", "path": "/x"}}), "exactly one"),
            (serde_json::json!({"command": []}), "switch.command"),
            (serde_json::json!({"http": {"method": "FETCH", "path": "/x"}}), "switch.http.method"),
            (serde_json::json!({"http": {"method": "POST", "path": "x"}}), "switch.http.path"),
            (serde_json::json!({"command": ["true"], "timeout_seconds": 0}), "switch.timeout_seconds"),
        ] {
            let sw: Switch = serde_json::from_value(json).expect("parses");
            let e = sw.check().expect_err("refused");
            assert!(e.contains(field), "{e}");
        }
    }
}
