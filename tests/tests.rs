//! Integration tests: the real binary and the library's public entry points.

mod ci;
mod deploy;
mod html;
mod layers;
mod live;
mod rehearsal;
mod serve;
mod shards;
mod staging;
mod util;

use std::sync::Arc;
use util::*;

fn report(dir: &std::path::Path) -> serde_json::Value {
    read_report(&dir.join("report.json"))
}

#[test]
fn simulate_smoke_rejects_the_window_and_reconciles() {
    let dir = temp_dir("simulate_smoke");
    let o = cutover(&["simulate", "scenarios/ci-smoke.json", "--out", dir.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("accepted while suspended 0"));
    let r = report(&dir);
    let s = &r["summary"];
    for field in [
        "seed",
        "attempts",
        "accepted",
        "rejected_suspended",
        "accepted_while_suspended",
        "errors",
        "ledger_expected_fen",
        "ledger_actual_fen",
        "ledger_mismatched_cells",
        "gates_passed",
    ] {
        assert!(!s[field].is_null(), "summary.{field} missing");
    }
    // Outcomes count in the hour their attempt started: no hour answers more than it tried.
    for h in r["hourly"].as_array().unwrap() {
        let answered = h["successes"].as_u64().unwrap() + h["rejections"].as_u64().unwrap() + h["errors"].as_u64().unwrap();
        assert!(answered <= h["attempts"].as_u64().unwrap(), "{h}");
    }
    assert!(s["rejected_suspended"].as_u64().unwrap() > 50);
    assert_eq!(s["accepted_while_suspended"], 0);
    assert_eq!(s["ledger_mismatched_cells"], 0);
    assert!(s["ledger_expected_fen"].as_i64().unwrap() > 0);
    assert_eq!(s["ledger_expected_fen"], s["ledger_actual_fen"]);
    assert_eq!(s["gates_passed"], true);
    // In the suspended phase nothing succeeds on any channel; every answer was a refusal.
    let cells = r["cells"].as_array().unwrap();
    let suspended: Vec<_> = cells.iter().filter(|c| c["phase"] == "suspended" && c["operation"] != "call").collect();
    assert!(!suspended.is_empty());
    // The hotline works through the suspension: refused payers call it.
    let calls = cells.iter().find(|c| c["phase"] == "suspended" && c["operation"] == "call").expect("calls in the suspension");
    assert!(calls["successes"].as_u64().unwrap() > 0, "{calls}");
    for c in &suspended {
        assert_eq!(c["successes"], 0, "{c}");
        assert_eq!(c["attempts"], c["rejected_suspended"], "{c}");
    }
    // Peripheral channels refuse from 04-22; the unit client still takes payments.
    let cell = |phase: &str, ch: &str| cells.iter().find(|c| c["phase"] == phase && c["channel"] == ch && c["operation"] == "pay").cloned();
    assert_eq!(cell("peripheral_stopped", "wechat_mini").unwrap()["successes"], 0);
    assert!(cell("peripheral_stopped", "unit_client").unwrap()["successes"].as_u64().unwrap() > 0);
    // Latency was recorded.
    assert!(cell("new_system", "hall_cash").unwrap()["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    // The withholding run in the window stopped; the next one debited two months.
    let runs = &r["batches"][0]["runs"];
    assert_eq!(runs[0]["stopped_as_suspended"], true);
    assert_eq!(runs[0]["accepted"], 0);
    assert_eq!(runs[1]["periods_debited"].as_u64().unwrap(), 2 * runs[1]["accepted"].as_u64().unwrap());
    // The reopening surge comes out of the model: the first hour of 1 May beats the last of 30 April.
    let hourly = r["hourly"].as_array().unwrap();
    let hour = |start: &str| hourly.iter().find(|h| h["start"] == start).unwrap()["attempts"].as_u64().unwrap();
    assert!(hour("2021-05-01T00:00:00+08:00") > 5 * hour("2021-04-30T23:00:00+08:00").max(1));
    assert!(std::fs::read_to_string(dir.join("summary.md")).unwrap().contains("## Ledger"));
}

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_differs() {
    let a = temp_dir("determinism_a");
    let b = temp_dir("determinism_b");
    let c = temp_dir("determinism_c");
    for d in [&a, &b] {
        let o = cutover(&["simulate", "scenarios/ci-smoke.json", "--out", d.to_str().unwrap(), "--quiet"]);
        assert_eq!(o.status.code(), Some(0));
    }
    let o = cutover(&["simulate", "scenarios/ci-smoke.json", "--seed", "7", "--out", c.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0));
    let ra = std::fs::read(a.join("report.json")).unwrap();
    assert_eq!(ra, std::fs::read(b.join("report.json")).unwrap(), "same seed, different report.json");
    assert_eq!(std::fs::read(a.join("summary.md")).unwrap(), std::fs::read(b.join("summary.md")).unwrap());
    assert_ne!(ra, std::fs::read(c.join("report.json")).unwrap());
    assert_eq!(report(&c)["summary"]["seed"], 7);
}

#[test]
fn summary_markdown_matches_golden() {
    let dir = temp_dir("golden_summary");
    let o = cutover(&["simulate", "scenarios/ci-smoke.json", "--out", dir.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0));
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    golden("ci-smoke-summary.md", &md);
    let o = cutover(&["simulate", "scenarios/ci-smoke.json", "--out", dir.to_str().unwrap(), "--quiet", "--lang", "zh"]);
    assert_eq!(o.status.code(), Some(0));
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    golden("ci-smoke-summary.zh.md", &md);
}

#[test]
fn validate_describes_the_scenario() {
    let o = cutover(&["validate", "scenarios/ci-smoke.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    golden("ci-smoke-validate.txt", &stdout(&o));
    let o = cutover(&["validate", "scenarios/inner-mongolia-2021.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("Chifeng"));
}

#[test]
fn malformed_scenarios_exit_2_naming_every_field() {
    let dir = temp_dir("malformed");
    let mut v = smoke_value();
    v["behaviour"]["read_notise_share"] = serde_json::json!(0.5);
    v["timeline"]["phases"][1]["closed_channel"] = serde_json::json!([]);
    let p = write_scenario(&dir, "unknown.json", &v);
    let o = cutover(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("unknown.json"), "{e}");
    assert!(e.contains("behaviour.read_notise_share: unknown field (did you mean `read_notice_share`?)"), "{e}");
    assert!(e.contains("timeline.phases[1].closed_channel: unknown field (did you mean `closed_channels`?)"), "{e}");
    assert!(!e.contains("panicked"));

    let mut v = smoke_value();
    v["behaviour"]["give_up_probability"] = serde_json::json!(1.5);
    v["timeline"]["phases"][1]["closed_channels"] = serde_json::json!(["wechat_minii"]);
    v["population"]["groups"]["unit"]["base_floor_fen"] = serde_json::json!(-3);
    v["backend"]["service_ms"] = serde_json::json!({"kind": "log_normal", "median": 20.0, "p90": 5.0});
    let p = write_scenario(&dir, "meaning.json", &v);
    let o = cutover(&["simulate", p.to_str().unwrap(), "--out", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("behaviour.give_up_probability: must be a fraction"), "{e}");
    assert!(e.contains("timeline.phases[1].closed_channels[0]: unknown channel \"wechat_minii\" (did you mean `wechat_mini`?)"), "{e}");
    assert!(e.contains("population.groups.unit.base_floor_fen"), "{e}");
    assert!(e.contains("backend.service_ms: invalid distribution"), "{e}");

    // Gates and hooks are compiled at load: a name nobody has is an error naming the
    // field, never a gate that silently matches nothing.
    let mut v = smoke_value();
    v["gates"] = serde_json::json!([
        {"metric": "latency_ms_p99", "operation": "payy", "channel": "hall_cas", "phase": "suspendd", "max": 1.0},
        {"metric": "auditor_disagreements", "disagreement": "refused_while_opn", "max": 0},
        {"metric": "error_rate", "disagreement": "refused_while_open", "max": 0}
    ]);
    v["hooks"] = serde_json::json!([{"phase": "new_sytem", "http": {"method": "PATCH", "url": "http://127.0.0.1:1/x"}}]);
    let p = write_scenario(&dir, "names.json", &v);
    let o = cutover(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("gates[0].operation: unknown operation \"payy\" (did you mean `pay`?)"), "{e}");
    assert!(e.contains("gates[0].channel: unknown channel \"hall_cas\" (did you mean `hall_cash`?)"), "{e}");
    assert!(e.contains("gates[0].phase: unknown phase \"suspendd\" (did you mean `suspended`?)"), "{e}");
    assert!(
        e.contains("gates[1].disagreement: unknown kind of disagreement \"refused_while_opn\" (did you mean `refused_while_open`?)"),
        "{e}"
    );
    assert!(e.contains("gates[2].disagreement: \"refused_while_open\": only auditor_disagreements gates take"), "{e}");
    assert!(e.contains("hooks[0].phase: unknown phase \"new_sytem\" (did you mean `new_system`?)"), "{e}");
    assert!(e.contains("hooks[0].http.method: must be GET, POST, PUT or DELETE"), "{e}");

    // The schema's problems and the meaning's in one pass: unknown fields and values of the
    // wrong type are set aside, and the rest of the file is checked too.
    let mut v = smoke_value();
    v["behaviour"]["read_notise_share"] = serde_json::json!(0.5);
    v["channels"][0]["holiday_capacity"] = serde_json::json!("half");
    v["timeline"]["phases"][1]["closed_channels"] = serde_json::json!(["wechat_minii"]);
    v["gates"] = serde_json::json!([{"metric": "latency_ms_p99", "operation": "payy", "max": 1.0}]);
    let p = write_scenario(&dir, "both.json", &v);
    let o = cutover(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("behaviour.read_notise_share: unknown field"), "{e}");
    assert!(e.contains("channels[0].holiday_capacity:"), "{e}");
    assert!(e.contains("timeline.phases[1].closed_channels[0]: unknown channel \"wechat_minii\""), "{e}");
    assert!(e.contains("gates[0].operation: unknown operation \"payy\""), "{e}");
    assert_eq!(e.matches("unknown.json").count() + e.matches("both.json").count(), 1, "the file is named once: {e}");

    let mut v = smoke_value();
    v["population"]["groups"]["resident_medical"]["count"] = serde_json::json!(900_000_000u64);
    let p = write_scenario(&dir, "huge.json", &v);
    let o = cutover(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("the tool holds at most 100000000"), "{}", stderr(&o));

    let mut v = smoke_value();
    v["population"]["groups"]["unit"]["count"] = serde_json::json!("many");
    let p = write_scenario(&dir, "type.json", &v);
    let o = cutover(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("population.groups.unit.count"), "{}", stderr(&o));

    std::fs::write(dir.join("syntax.json"), "{\n  \"name\": \"x\",\n  oops\n}").unwrap();
    let o = cutover(&["validate", dir.join("syntax.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("syntax.json:3:"), "{}", stderr(&o));

    let o = cutover(&["validate", "scenarios/does-not-exist.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does-not-exist.json: cannot read"));
    assert_eq!(stderr(&o).matches("does-not-exist.json").count(), 1, "the file named once: {}", stderr(&o));
    assert_eq!(stderr(&o).matches("No such file").count(), 1, "the cause said once: {}", stderr(&o));

    let o = cutover(&["simulate"]);
    assert_eq!(o.status.code(), Some(2), "missing argument is a usage error");
}

#[test]
fn a_failed_gate_exits_1_and_prints_the_seed() {
    let dir = temp_dir("gate");
    let mut v = smoke_value();
    v["gates"] = serde_json::json!([{"metric": "latency_ms_p99", "operation": "pay", "channel": "hall_cash", "max": 1.0}]);
    let p = write_scenario(&dir, "tight.json", &v);
    let o = cutover(&["simulate", p.to_str().unwrap(), "--out", dir.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("verdict: NO-GO"), "{}", stdout(&o));
    assert!(stdout(&o).contains("  - latency_ms_p99 operation=pay channel=hall_cash <= 1: measured"), "{}", stdout(&o));
    assert_eq!(report(&dir)["verdict"]["verdict"], "no_go");
    assert!(stderr(&o).contains("--seed 20210501"));
    assert_eq!(report(&dir)["summary"]["gates_passed"], false);
}

/// The gates as JUnit XML, read back with a parser that is not this project's.
fn junit_cases(path: &std::path::Path) -> Vec<(String, Option<String>)> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("not XML: {e}\n{text}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let cases: Vec<_> = root.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(root.attribute("tests"), Some(cases.len().to_string().as_str()));
    cases
        .iter()
        .map(|c| {
            let failure = c.children().find(|n| n.has_tag_name("failure")).and_then(|f| f.attribute("message").map(str::to_string));
            (c.attribute("name").unwrap_or_default().to_string(), failure)
        })
        .collect()
}

#[test]
fn gates_are_written_as_junit_test_cases_with_value_and_bound() {
    let dir = temp_dir("junit");
    // Every gate of the smoke scenario passes: a case each, no failure.
    let xml = dir.join("gates.xml");
    let o = cutover(&["simulate", "scenarios/ci-smoke.json", "--out", dir.to_str().unwrap(), "--quiet", "--junit", xml.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let cases = junit_cases(&xml);
    // A case per gate, and one for the ledger's check.
    assert_eq!(cases.len(), report(&dir)["gates"].as_array().unwrap().len() + 1);
    assert!(cases.iter().all(|(_, f)| f.is_none()), "{cases:?}");
    assert!(cases.iter().any(|(n, _)| n.starts_with("ledger: ")), "{cases:?}");
    assert!(cases.iter().any(|(n, _)| n == "latency_ms_p99 operation=pay channel=wechat_mini phase=new_system <= 2000"), "{cases:?}");
    // A gate that fails is a failed case naming the measured value and the bound.
    let mut v = smoke_value();
    v["gates"] = serde_json::json!([{"metric": "latency_ms_p99", "operation": "pay", "channel": "hall_cash", "max": 1.0}, {"metric": "error_rate", "max": 0.5}]);
    let p = write_scenario(&dir, "tight.json", &v);
    let o = cutover(&["simulate", p.to_str().unwrap(), "--out", dir.to_str().unwrap(), "--quiet", "--junit", xml.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let cases = junit_cases(&xml);
    assert_eq!(cases.len(), 3);
    let value = report(&dir)["gates"][0]["value"].as_f64().unwrap();
    assert_eq!(cases[0].1.as_deref(), Some(format!("measured {value} above the bound 1").as_str()), "{cases:?}");
    assert_eq!(cases[1].1, None);
    // `--format json`: standard output is the report itself, for scripts.
    let o = cutover(&["simulate", "scenarios/ci-smoke.json", "--out", dir.to_str().unwrap(), "--quiet", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let printed: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("standard output is one JSON document");
    assert_eq!(printed, report(&dir));
}

#[test]
fn schema_is_json_and_names_the_sections() {
    let o = cutover(&["schema"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    for key in ["timeline", "population", "channels", "behaviour", "batches", "backend", "gates"] {
        assert!(v["properties"][key].is_object(), "schema lacks {key}");
    }
    assert_eq!(v["additionalProperties"], false);
}

#[test]
fn population_is_deterministic_with_valid_ids() {
    let dir = temp_dir("population");
    let a = dir.join("a.jsonl");
    let b = dir.join("b.jsonl");
    let o = cutover(&["population", "scenarios/ci-smoke.json", "--jsonl", a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("resident_medical"));
    let o2 = cutover(&["population", "scenarios/ci-smoke.json", "--jsonl", b.to_str().unwrap()]);
    assert_eq!(stdout(&o), stdout(&o2));
    let text = std::fs::read_to_string(&a).unwrap();
    assert_eq!(text, std::fs::read_to_string(&b).unwrap());
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 180 + 1400 + 5200 + 17000 + 600);
    let mut ids = std::collections::BTreeSet::new();
    for l in &lines {
        let id = l["identifier"].as_str().unwrap();
        assert!(ids.insert(id.to_string()), "duplicate identifier {id}");
        if l["group"] == "unit" {
            assert!(cutover::population::ids::unit_code_valid(id), "{id}");
        } else {
            assert!(cutover::population::ids::resident_id_valid(id), "{id}");
        }
        let items: i64 = l["items_fen"].as_object().unwrap().values().map(|v| v.as_i64().unwrap()).sum();
        assert_eq!(items, l["amount_due_fen"].as_i64().unwrap());
        assert!(items > 0);
    }
    let withheld = lines.iter().filter(|l| l["group"] == "flexible" && l["batch"] == true).count() as f64 / 1400.0;
    assert!((withheld - 0.35).abs() < 0.05, "withholding share {withheld}");
}

/// Erlang C: P(wait) and mean wait in queue of an M/M/c system.
fn erlang_c_wait(lambda: f64, mu: f64, c: u32) -> f64 {
    let a = lambda / mu;
    let rho = a / c as f64;
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / k as f64;
        }
        sum += term;
    }
    let last = term * a / c as f64 / (1.0 - rho);
    let p_wait = last / (sum + last);
    p_wait / (c as f64 * mu - lambda)
}

#[test]
fn mmc_channel_matches_erlang_c() {
    // One league, one offline channel open around the clock with c exponential servers,
    // arrivals uniform over 60 days (a Poisson process in the limit), a backend that adds
    // no time. The mean latency minus the mean service time is the mean wait in queue.
    let (c, service_s, rho, days) = (4u32, 10.0f64, 0.8f64, 60.0f64);
    let lambda = rho * c as f64 / service_s;
    let n = (lambda * days * 86_400.0).round() as u64;
    let mut v = smoke_value();
    v["timeline"]["end"] = serde_json::json!("2021-06-18T00:00:00+08:00");
    v["timeline"]["phases"] = serde_json::json!([{"name": "open", "start": "2021-04-19T00:00:00+08:00", "source": "E"}]);
    v["timeline"]["calendar"]["holidays"] = serde_json::json!([]);
    v["population"]["leagues"] = serde_json::json!([{"name": "Only", "population": 1, "source": "E"}]);
    let g = &mut v["population"]["groups"];
    g["unit"]["count"] = 0.into();
    g["flexible"]["count"] = 0.into();
    g["resident_medical"]["count"] = 0.into();
    g["proxy"]["count"] = 0.into();
    g["resident_pension"]["count"] = n.into();
    g["resident_pension"]["active_share"] = 1.0.into();
    g["resident_pension"]["special_share"] = 0.0.into();
    v["batches"] = serde_json::json!([]);
    // Its own channels, no hotline among them: nobody calls.
    v["behaviour"]["hotline"] = serde_json::Value::Null;
    v["channels"] = serde_json::json!([{
        "id": "counter", "name": "M/M/c counter", "kind": "offline", "share": {"unit": 1.0, "flexible": 1.0, "resident_pension": 1.0, "resident_medical": 1.0},
        "share_source": "E", "open_days": "all_days", "servers": c,
        "service_seconds": {"kind": "exponential", "mean": service_s}, "capacity_source": "E"
    }]);
    let b = &mut v["behaviour"];
    b["lookup_share"] = 0.0.into();
    b["online_hour_weights"] = serde_json::json!(vec![1.0; 24]);
    b["offline_hour_weights"] = serde_json::json!(vec![1.0; 24]);
    b["day_weights"] = serde_json::json!({"working": 1.0, "weekend": 1.0, "holiday": 1.0});
    v["backend"] =
        serde_json::json!({"concurrency": 1_000_000, "service_ms": {"kind": "fixed", "value": 0.0}, "queue_bound": 0, "source": "E"});
    v["gates"] = serde_json::json!([]);
    let spec = Arc::new(cutover::scenario::parse("mmc.json", &v.to_string()).unwrap());
    let out = cutover::engine::simulate(spec, 42, "mmc.json", cutover::model::Faults::default(), None);
    let cell = out.report.cells.iter().find(|c| c.channel == "counter" && c.operation.as_str() == "pay").unwrap();
    assert!(cell.successes + 20 >= n && cell.successes <= n, "served {} of {n}", cell.successes);
    let measured_wait_s = cell.latency_ms.mean / 1000.0 - service_s;
    let theory_wait_s = erlang_c_wait(lambda, 1.0 / service_s, c);
    let error = (measured_wait_s / theory_wait_s - 1.0).abs();
    eprintln!("M/M/{c} rho {rho}: mean wait {measured_wait_s:.4} s, Erlang C {theory_wait_s:.4} s");
    assert!(error < 0.03, "mean wait {measured_wait_s:.3} s vs Erlang C {theory_wait_s:.3} s ({:.2}% off)", error * 100.0);
}

/// A hotline scenario: every payer's only channel is closed for good, so each calls the
/// hotline once (`after_suspended` 1), at its first attempt plus a minute: arrivals uniform
/// over the timeline, a Poisson process in the limit. `patience`: callers' patience.
fn hotline_scenario(c: u32, service_s: f64, n: u64, end: &str, patience: Option<serde_json::Value>) -> serde_json::Value {
    let mut v = smoke_value();
    v["timeline"]["end"] = serde_json::json!(end);
    v["timeline"]["phases"] =
        serde_json::json!([{"name": "closed", "start": "2021-04-19T00:00:00+08:00", "closed_channels": ["app"], "source": "E"}]);
    v["timeline"]["calendar"]["holidays"] = serde_json::json!([]);
    v["population"]["leagues"] = serde_json::json!([{"name": "Only", "population": 1, "source": "E"}]);
    let g = &mut v["population"]["groups"];
    for k in ["unit", "flexible", "resident_medical", "proxy"] {
        g[k]["count"] = 0.into();
    }
    g["resident_pension"]["count"] = n.into();
    g["resident_pension"]["active_share"] = 1.0.into();
    g["resident_pension"]["special_share"] = 0.0.into();
    v["batches"] = serde_json::json!([]);
    v["dues"] = serde_json::Value::Null;
    v["expectations"] = serde_json::json!([]);
    let mut hotline = serde_json::json!({
        "id": "hotline", "name": "M/M/c hotline", "kind": "hotline", "share_source": "E", "open_days": "all_days",
        "servers": c, "service_seconds": {"kind": "exponential", "mean": service_s}, "capacity_source": "E"
    });
    if let Some(p) = patience {
        hotline["patience_seconds"] = p;
    }
    v["channels"] = serde_json::json!([{
        "id": "app", "name": "the only way to pay, closed", "kind": "online", "share": {"unit": 1.0, "flexible": 1.0, "resident_pension": 1.0, "resident_medical": 1.0},
        "share_source": "E", "open_days": "all_days", "service_seconds": {"kind": "fixed", "value": 0.0}, "capacity_source": "E"
    }, hotline]);
    let b = &mut v["behaviour"];
    b["read_notice_share"] = 0.0.into();
    b["lookup_share"] = 0.0.into();
    b["online_hour_weights"] = serde_json::json!(vec![1.0; 24]);
    b["day_weights"] = serde_json::json!({"working": 1.0, "weekend": 1.0, "holiday": 1.0});
    b["hotline"] = serde_json::json!({"channel": "hotline", "after_suspended": 1.0, "redial_share": 0.0, "source": "E"});
    v["backend"] =
        serde_json::json!({"concurrency": 1_000_000, "service_ms": {"kind": "fixed", "value": 0.0}, "queue_bound": 0, "source": "E"});
    v["gates"] = serde_json::json!([]);
    v
}

#[test]
fn the_hotline_queue_matches_erlang_c_without_abandonment() {
    let (c, service_s, rho, days) = (4u32, 10.0f64, 0.8f64, 60.0f64);
    let lambda = rho * c as f64 / service_s;
    let n = (lambda * days * 86_400.0).round() as u64;
    let v = hotline_scenario(c, service_s, n, "2021-06-18T00:00:00+08:00", None);
    let spec = Arc::new(cutover::scenario::parse("hotline.json", &v.to_string()).unwrap());
    let out = cutover::engine::simulate(spec, 42, "hotline.json", cutover::model::Faults::default(), None);
    let cell = out.report.cells.iter().find(|c| c.channel == "hotline" && c.operation.as_str() == "call").unwrap();
    // Every payer called once and was answered: nobody hangs up without a patience.
    assert!(cell.successes + 20 >= n && cell.successes <= n, "answered {} of {n}", cell.successes);
    assert_eq!(cell.abandoned, 0);
    assert_eq!(out.report.engine.hotline_abandoned, 0);
    // The system under test never saw a call: every payment attempt was refused, nothing else.
    let app = out.report.cells.iter().find(|c| c.channel == "app" && c.operation.as_str() == "pay").unwrap();
    assert_eq!(app.attempts, app.rejected_suspended);
    let measured_wait_s = cell.latency_ms.mean / 1000.0 - service_s;
    let theory_wait_s = erlang_c_wait(lambda, 1.0 / service_s, c);
    let error = (measured_wait_s / theory_wait_s - 1.0).abs();
    eprintln!("hotline M/M/{c} rho {rho}: mean wait {measured_wait_s:.4} s, Erlang C {theory_wait_s:.4} s");
    assert!(error < 0.03, "mean wait {measured_wait_s:.3} s vs Erlang C {theory_wait_s:.3} s ({:.2}% off)", error * 100.0);
}

#[test]
fn hotline_callers_hang_up_after_their_patience() {
    // Overloaded (rho 1.5): with a fixed patience of 30 s, nobody answered waited longer,
    // and those who could not get through hung up.
    let (c, service_s) = (2u32, 10.0f64);
    let n = (1.5 * c as f64 / service_s * 5.0 * 86_400.0) as u64;
    let v = hotline_scenario(c, service_s, n, "2021-04-24T00:00:00+08:00", Some(serde_json::json!({"kind": "fixed", "value": 30.0})));
    let spec = Arc::new(cutover::scenario::parse("hotline.json", &v.to_string()).unwrap());
    let out = cutover::engine::simulate(spec, 42, "hotline.json", cutover::model::Faults::default(), None);
    let cell = out.report.cells.iter().find(|c| c.channel == "hotline" && c.operation.as_str() == "call").unwrap();
    assert!(cell.abandoned > n / 5, "{} of {n} hung up", cell.abandoned);
    assert_eq!(cell.abandoned, out.report.engine.hotline_abandoned);
    // Every call was answered or hung up, but those still on the line at the end.
    let ended = cell.successes + cell.abandoned;
    assert!(ended <= cell.attempts && cell.attempts - ended <= out.report.engine.in_flight_at_end, "{cell:?}");
    // Answered ones waited at most 30 s, then talked; the latency of a hang-up is its patience.
    let day = out.report.days.iter().find(|d| d.date == "2021-04-21").unwrap();
    let h = day.channels.iter().find(|c| c.channel == "hotline").unwrap();
    assert!(h.figures.waiting_min_p99.unwrap() <= 0.51, "{:?}", h.figures);
    assert!(h.figures.counter_utilisation.unwrap() > 0.95, "{:?}", h.figures);
}

#[test]
fn counters_close_their_queue_at_closing_time() {
    // One counter open 08:30-12:00 every day, one server, a minute a payer, far more payers
    // than a morning can serve: the queue is cut at 12:00, nobody is served after it, and
    // who was sent away comes back another morning or gives up.
    let mut v = smoke_value();
    v["timeline"]["phases"] = serde_json::json!([{"name": "open", "start": "2021-04-19T00:00:00+08:00", "source": "E"}]);
    v["timeline"]["calendar"]["holidays"] = serde_json::json!([]);
    v["population"]["leagues"] = serde_json::json!([{"name": "Only", "population": 1, "source": "E"}]);
    let g = &mut v["population"]["groups"];
    for k in ["unit", "flexible", "resident_medical", "proxy"] {
        g[k]["count"] = 0.into();
    }
    g["resident_pension"]["count"] = 6000.into();
    g["resident_pension"]["active_share"] = 1.0.into();
    g["resident_pension"]["special_share"] = 0.0.into();
    v["batches"] = serde_json::json!([]);
    // Its own channels, no hotline among them: nobody calls.
    v["behaviour"]["hotline"] = serde_json::Value::Null;
    v["channels"] = serde_json::json!([{
        "id": "counter", "name": "a morning counter", "kind": "offline", "share": {"unit": 1.0, "flexible": 1.0, "resident_pension": 1.0, "resident_medical": 1.0},
        "share_source": "E", "open_days": "all_days", "hours": [{"from": "08:30", "to": "12:00"}], "servers": 1,
        "service_seconds": {"kind": "fixed", "value": 60.0}, "capacity_source": "E"
    }]);
    v["behaviour"]["lookup_share"] = 0.0.into();
    v["behaviour"]["offline_hour_weights"] = serde_json::json!(vec![1.0; 24]);
    v["gates"] = serde_json::json!([]);
    let spec = Arc::new(cutover::scenario::parse("closing.json", &v.to_string()).unwrap());
    let days = ((spec.end.0 - spec.start.0) / 86_400_000_000) as f64;
    let out = cutover::engine::simulate(spec, 7, "closing.json", cutover::model::Faults::default(), None);
    let cell = out.report.cells.iter().find(|c| c.channel == "counter" && c.operation.as_str() == "pay").unwrap();
    assert!(cell.turned_away > 100, "{} sent away at closing", cell.turned_away);
    assert_eq!(out.report.engine.turned_away_at_closing, cell.turned_away);
    // A morning is 3.5 hours: nobody waits longer, so nobody is served after 12:00.
    let morning_ms = 3.5 * 3_600_000.0 + 60_000.0;
    assert!(cell.latency_ms.max <= morning_ms, "waited {} ms, longer than the morning", cell.latency_ms.max);
    // Every attempt was served or sent away (one morning's 210 places a day at most).
    assert_eq!(cell.attempts, cell.successes + cell.turned_away, "{cell:?}");
    assert!(cell.successes as f64 <= days * 211.0, "served {} in {days} mornings", cell.successes);
    // Who was sent away came back: more attempts than payers.
    assert!(cell.attempts > 6000, "{} attempts", cell.attempts);
}

#[test]
fn every_offline_channel_keeps_its_holiday_capacity() {
    // An every-day counter: absent, its holiday capacity is all of it; at 0 it is shut on the
    // holidays (1-5 May) like a working-day channel, whatever its open days.
    let run = |holiday_capacity: Option<f64>| -> (u64, u64) {
        let mut v = smoke_value();
        v["timeline"]["phases"] = serde_json::json!([
            {"name": "before", "start": "2021-04-19T00:00:00+08:00", "source": "E"},
            {"name": "holidays", "start": "2021-05-01T00:00:00+08:00", "source": "E"},
            {"name": "after", "start": "2021-05-06T00:00:00+08:00", "source": "E"}
        ]);
        v["population"]["leagues"] = serde_json::json!([{"name": "Only", "population": 1, "source": "E"}]);
        let g = &mut v["population"]["groups"];
        for k in ["unit", "flexible", "resident_medical", "proxy"] {
            g[k]["count"] = 0.into();
        }
        g["resident_pension"]["count"] = 3000.into();
        g["resident_pension"]["active_share"] = 1.0.into();
        g["resident_pension"]["special_share"] = 0.0.into();
        v["batches"] = serde_json::json!([]);
        let mut ch = serde_json::json!({
            "id": "village", "name": "village POS", "kind": "offline", "share": {"unit": 1.0, "flexible": 1.0, "resident_pension": 1.0, "resident_medical": 1.0},
            "share_source": "E", "open_days": "all_days", "hours": [{"from": "08:00", "to": "20:00"}], "servers": 2,
            "service_seconds": {"kind": "fixed", "value": 60.0}, "capacity_source": "E"
        });
        if let Some(h) = holiday_capacity {
            ch["holiday_capacity"] = h.into();
        }
        // Its own channels, no hotline among them: nobody calls.
        v["behaviour"]["hotline"] = serde_json::Value::Null;
        v["channels"] = serde_json::json!([ch]);
        v["behaviour"]["lookup_share"] = 0.0.into();
        v["gates"] = serde_json::json!([]);
        let spec = Arc::new(cutover::scenario::parse("holiday.json", &v.to_string()).unwrap());
        let out = cutover::engine::simulate(spec, 7, "holiday.json", cutover::model::Faults::default(), None);
        let served = |phase: &str| {
            out.report.cells.iter().filter(|c| c.phase == phase && c.operation.as_str() == "pay").map(|c| c.successes).sum::<u64>()
        };
        (served("holidays"), served("after"))
    };
    let (holidays, after) = run(None);
    assert!(holidays > 100 && after > 100, "open every day: {holidays} on the holidays, {after} after");
    let (holidays, after) = run(Some(0.0));
    assert_eq!(holidays, 0, "shut on the holidays");
    assert!(after > 100);
}

#[test]
fn erlang_c_formula_matches_a_known_value() {
    // Textbook check: M/M/1 with rho 0.5 waits rho/(mu - lambda) = 1 s for mu = 1, lambda = 0.5.
    assert!((erlang_c_wait(0.5, 1.0, 1) - 1.0).abs() < 1e-12);
    // M/M/2, a = 1 (rho 0.5): P(wait) = 1/3, Wq = (1/3) / (2 - 1) = 1/3.
    assert!((erlang_c_wait(1.0, 1.0, 2) - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn regression_closed_stdout_pipe_does_not_panic() {
    // `cutover population ... | head -1`: the reader goes away before the tool writes.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["population", "scenarios/ci-smoke.json"])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = wait_bounded(child, std::time::Duration::from_secs(60));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert_eq!(o.status.code(), Some(0));
}

/// The whole region as shipped: the calibration table lands within its factors, the offline
/// backlog lands on the first working day after the holiday (6 May), and the notice's 04-22
/// stop names exactly its peripheral channels.
#[test]
fn the_region_is_calibrated_and_its_offline_backlog_lands_on_6_may() {
    let dir = temp_dir("region_calibrated");
    let o = cutover(&["simulate", "scenarios/inner-mongolia-2021.json", "--out", dir.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let r = report(&dir);
    let cal = r["calibration"].as_array().unwrap();
    assert_eq!(cal.len(), 5, "{cal:?}");
    for c in cal {
        let ratio = c["ratio"].as_f64().unwrap_or_else(|| panic!("nothing measured for {c}"));
        assert!((1.0 / 1.5..=1.5).contains(&ratio), "{c}");
        assert_eq!(c["within"], true, "{c}");
    }
    assert!(stdout(&o).contains("calibration: 5 of 5 expectations within their factor"), "{}", stdout(&o));
    // The README shows this run's printout: line for line what the binary prints.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let shown = readme
        .split("The whole-region run prints (seed 20210501, this build):\n\n```\n")
        .nth(1)
        .expect("the README shows the region's printout");
    let shown: Vec<&str> = shown.split("```").next().unwrap().lines().collect();
    let out = stdout(&o);
    let printed: Vec<&str> = out.lines().take(shown.len()).collect();
    assert_eq!(shown, printed, "README.md's sample output is not what the binary prints");
    // Hall counters: load and queue on 6 May above those of 1 May (10 % strength, few come).
    let day = |date: &str, ch: &str| -> serde_json::Value {
        let d = r["days"].as_array().unwrap().iter().find(|d| d["date"] == date).unwrap_or_else(|| panic!("no {date}"));
        d["channels"].as_array().unwrap().iter().find(|c| c["channel"] == ch).cloned().unwrap_or_else(|| panic!("no {ch} on {date}"))
    };
    for ch in ["hall_cash", "hall_pos"] {
        let (may1, may6) = (day("2021-05-01", ch), day("2021-05-06", ch));
        let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
        assert!(f(&may6, "queue_peak") > f(&may1, "queue_peak"), "{ch}: {may1} / {may6}");
        assert!(f(&may6, "counter_utilisation") > 5.0 * f(&may1, "counter_utilisation"), "{ch}: {may1} / {may6}");
        assert!(f(&may6, "served_at_counters") > 10.0 * f(&may1, "served_at_counters"), "{ch}: {may1} / {may6}");
        // Waits end at closing time: no one waits longer than the longest opening interval.
        assert!(f(&may6, "waiting_min_p99") < 3.5 * 60.0 + 1.0, "{ch}: {may6}");
        assert!(f(&may6, "turned_away_at_closing") > 0.0, "{ch}: {may6}");
    }
    // Every league of an offline channel has its own row; they add up to the channel's.
    let hall = day("2021-05-06", "hall_cash");
    let leagues = hall["leagues"].as_array().unwrap();
    assert_eq!(leagues.len(), 12);
    let sum: u64 = leagues.iter().map(|l| l["attempts"].as_u64().unwrap()).sum();
    assert_eq!(sum, hall["attempts"].as_u64().unwrap());
    // The hourly series splits by channel and operation, and adds up to the hour's answers.
    let by_channel = r["hourly_by_channel"].as_array().unwrap();
    let hour = &r["hourly"][24 * 17 + 10];
    let split: u64 = by_channel.iter().filter(|h| h["start"] == hour["start"]).map(|h| h["successes"].as_u64().unwrap()).sum();
    assert_eq!(split, hour["successes"].as_u64().unwrap(), "{}", hour["start"]);
    // Units and flexible employees' April dues moved to 20 May; most paid by one date or the other.
    let dues = r["dues"].as_array().unwrap();
    let unit = dues.iter().find(|g| g["group"] == "unit").unwrap();
    assert_eq!(unit["moved_to"], "2021-05-21T00:00:00+08:00");
    let paid = unit["paid_by_due"].as_u64().unwrap() + unit["paid_by_moved_due"].as_u64().unwrap();
    assert_eq!(paid, unit["payments"].as_u64().unwrap());
    // The 04-22 stop: the notice's peripheral channels, and village POS is not among them.
    let peripheral = r["phases"].as_array().unwrap().iter().find(|p| p["name"] == "peripheral_stopped").unwrap();
    let closed: Vec<&str> = peripheral["closed_channels"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(closed, ["tax_app", "etax_web", "wechat_mini", "wechat_city", "alipay", "self_service"]);
}

#[test]
fn a_newcomers_mistakes_are_answered_with_what_to_do() {
    // No target at all: the message names the ways to give one, --model among them.
    let o = cutover(&["run", "scenarios/ci-smoke.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--target http://host:port") && stderr(&o).contains("--model"), "{}", stderr(&o));
    // A dry run says what the run would do, from a simulation of the same payers, and sends
    // nothing: its request count is simulate's.
    let dir = temp_dir("dry_run");
    let o = cutover(&["run", "scenarios/ci-smoke.json", "--dry-run", "--time-scale", "86400", "--out", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plan = stdout(&o);
    assert!(plan.contains("(32.0 days) at 86400x takes 32.0 s of real time"), "{plan}");
    let sim = temp_dir("dry_run_sim");
    let s = cutover(&["simulate", "scenarios/ci-smoke.json", "--out", sim.to_str().unwrap(), "--quiet"]);
    assert_eq!(s.status.code(), Some(0));
    let attempts = read_report(&sim.join("report.json"))["summary"]["attempts"].as_u64().unwrap();
    assert!(plan.contains(&format!("about {attempts} requests")), "{plan}");
    assert!(!dir.join("report.json").exists(), "a dry run wrote a report");
    // It measures what one generator sends here and says how many the plan needs, or the time
    // scale one keeps: the figures agree with each other.
    let number_after = |text: &str, marker: &str| -> f64 {
        let at = text.find(marker).unwrap_or_else(|| panic!("{marker:?} not in:\n{text}")) + marker.len();
        text[at..].split(|c: char| !(c.is_ascii_digit() || c == '.')).next().unwrap().parse().unwrap()
    };
    let sends = number_after(&plan, "connections) sends at most ");
    let (requests, seconds) = (number_after(&plan, "requests per second ("), number_after(&plan, "requests flat out in "));
    let peak = number_after(&plan, "the busiest hour needs ");
    let needed = number_after(&plan, "per second at 86400x: ");
    let keeps = number_after(&plan, "or one at --time-scale ");
    assert!(requests > 0.0 && seconds > 0.0, "{plan}");
    assert!((sends - requests / seconds).abs() <= sends * 0.01, "the rate is the requests over the seconds (printed to 0.01 s): {plan}");
    assert_eq!(peak, number_after(&plan, "requests: "), "the busiest hour's rate as the plan gives it: {plan}");
    assert_eq!(needed, (peak / sends).ceil().max(1.0), "{plan}");
    assert_eq!(keeps, (86400.0 * sends / peak).floor().max(1.0), "{plan}");
    // A target without its scheme: add http://, not a word about TLS.
    let o = cutover(&["run", "scenarios/ci-smoke.json", "--target", "127.0.0.1:9"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("add http:// or https:// (http://127.0.0.1:9)"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("TLS"), "{}", stderr(&o));
    // https:// goes through the client with TLS; one without it is refused, saying why.
    let o = cutover(&["run", "scenarios/ci-smoke.json", "--target", "https://127.0.0.1:9", "--transport", "http1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("speaks plain HTTP only"), "{}", stderr(&o));
    let o = cutover(&["run", "scenarios/ci-smoke.json", "--target", "https://127.0.0.1:9", "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot reach the target https://127.0.0.1:9"), "{}", stderr(&o));
    let o = cutover(&["run", "scenarios/ci-smoke.json", "--target", "https://127.0.0.1:9", "--ca-file", "Cargo.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--ca-file Cargo.toml: no PEM certificate"), "{}", stderr(&o));
    // An option that would be ignored is a mistake, not a silent other run.
    let o = cutover(&["run", "scenarios/ci-smoke.json", "--model", "--profile", "profiles/contract-v1.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("drop --profile, or drop --model"), "{}", stderr(&o));
    let o = cutover(&["run", "scenarios/ci-smoke.json", "--target", "http://127.0.0.1:9", "--fault", "naive-dedup"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--fault") && stderr(&o).contains("cutover serve --fault"), "{}", stderr(&o));
    // An editor's `$schema` line is welcome in a scenario.
    let dir = temp_dir("dollar_schema");
    let mut v = smoke_value();
    v["$schema"] = "./scenario.schema.json".into();
    let p = write_scenario(&dir, "with-schema.json", &v);
    let o = cutover(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn every_shipped_scenario_is_listed_and_valid() {
    let readme = std::fs::read_to_string(root().join("scenarios/README.md")).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    for f in &files {
        assert!(readme.contains(&format!("| `{f}` |")), "scenarios/README.md does not list {f}");
        let o = cutover(&["validate", &format!("scenarios/{f}")]);
        assert_eq!(o.status.code(), Some(0), "{f}: {}", stderr(&o));
    }
    let listed = readme.matches(".json` |").count();
    assert_eq!(listed, files.len(), "scenarios/README.md lists a file that is not there");
}

#[test]
fn flags_out_of_range_exit_2_naming_the_flag_before_any_work() {
    let cases: [(&[&str], &str); 6] = [
        (&["run", "scenarios/ci-smoke.json", "--model", "--dry-run", "--threads", "0"], "--threads: must be between 1 and 64, got 0"),
        (&["run", "scenarios/ci-smoke.json", "--model", "--dry-run", "--timeout-ms", "0"], "--timeout-ms: must be between 1 and"),
        (
            &["run", "scenarios/ci-smoke.json", "--model", "--dry-run", "--drain-seconds", "nan"],
            "--drain-seconds: must be between 0 and 600",
        ),
        (
            &["run", "scenarios/ci-smoke.json", "--model", "--dry-run", "--abort-early", "--abort-grace-seconds", "1e9"],
            "--abort-grace-seconds:",
        ),
        (&["run", "scenarios/ci-smoke.json", "--model", "--dry-run", "--connections", "0"], "--connections: must be between 1"),
        (
            &["sweep", "scenarios/ci-smoke.json", "--vary", "backend.concurrency=2", "--seeds", "0", "--quiet"],
            "--seeds: must be between 1 and 1000",
        ),
    ];
    for (args, says) in cases {
        let o = cutover(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{args:?} did work before refusing: {}", stdout(&o));
    }
}
