//! What a pipeline reads: `cutover compare` against a kept baseline.

use crate::util::*;

/// The smoke scenario ten times over with a slow backend of `servers` servers: loaded enough
/// that halving its servers shows in the waiting.
fn loaded(dir: &std::path::Path, servers: u32) -> std::path::PathBuf {
    let mut v = smoke_value();
    for g in v["population"]["groups"].as_object_mut().unwrap().values_mut() {
        g["count"] = (g["count"].as_u64().unwrap() * 10).into();
    }
    v["backend"]["service_ms"] = serde_json::json!({ "kind": "log_normal", "median": 2000.0, "p90": 5000.0 });
    v["backend"]["concurrency"] = servers.into();
    write_scenario(dir, &format!("servers-{servers}.json"), &v)
}

#[test]
fn compare_fails_on_half_the_backend_and_passes_on_the_same_report() {
    let dir = temp_dir("compare");
    let mut reports = Vec::new();
    for servers in [2, 1] {
        let scenario = loaded(&dir, servers);
        let out = dir.join(format!("report-{servers}"));
        let o = cutover(&["simulate", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}{}", stdout(&o), stderr(&o));
        reports.push(out.join("report.json").to_str().unwrap().to_string());
    }
    let (base, half) = (reports[0].as_str(), reports[1].as_str());

    let o = cutover(&["compare", base, base]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("0 regression(s)"), "{}", stdout(&o));

    // Half the servers: waiting grows, past 10 % somewhere, named with both figures.
    let o = cutover(&["compare", base, half, "--max-regression", "10%"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let table = stdout(&o);
    let row = table.lines().find(|l| l.contains("latency p99 ms") && l.contains("**REGRESSED**")).unwrap_or_else(|| panic!("{table}"));
    let cols: Vec<&str> = row.split('|').map(str::trim).collect();
    let (b, n): (f64, f64) = (cols[3].parse().unwrap(), cols[4].parse().unwrap());
    assert!(n > b * 1.1, "{row}");

    // The JSON says the same, row by row.
    let json = |a: &str, b: &str| {
        let o = cutover(&["compare", a, b, "--format", "json"]);
        serde_json::from_str::<serde_json::Value>(&stdout(&o)).unwrap()
    };
    let c = json(base, half);
    let regressed: Vec<&serde_json::Value> = c["rows"].as_array().unwrap().iter().filter(|r| r["regressed"] == true).collect();
    assert_eq!(c["regressions"].as_u64().unwrap() as usize, regressed.len());
    assert!(regressed.iter().all(|r| r["new"].as_f64().is_none_or(|n| n != r["base"].as_f64().unwrap())), "{regressed:?}");

    // The backend serves the online channels: their latency rises with half of it, and falls
    // the other way round. (Waits at counters follow payers whose later choices depend on
    // what happened before, so they move either way between any two runs whose timings differ.)
    let online = ["tax_app", "wechat_mini", "wechat_city", "alipay", "mengsuban", "etax_web", "unit_client", "agency_online"];
    let online_latency = |c: &serde_json::Value| -> (f64, usize) {
        let rows: Vec<&serde_json::Value> = c["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["figure"].as_str().unwrap().starts_with("latency"))
            .filter(|r| online.contains(&r["scope"].as_str().unwrap().split('/').nth(1).unwrap()))
            .filter(|r| r["change"].is_number() && !r["verdict"].as_str().unwrap().starts_with("not judged"))
            .collect();
        let mut changes: Vec<f64> = rows.iter().map(|r| r["change"].as_f64().unwrap()).collect();
        changes.sort_by(f64::total_cmp);
        assert!(changes.len() > 50, "{} online latency rows", changes.len());
        (changes[changes.len() / 2], rows.iter().filter(|r| r["regressed"] == true).count())
    };
    let (worse_median, worse_regressed) = online_latency(&c);
    let (better_median, better_regressed) = online_latency(&json(half, base));
    assert!(worse_median > 0.02 && better_median < -0.02, "median change {worse_median} then {better_median}");
    assert!(worse_regressed > 2 * better_regressed, "{worse_regressed} online rows regressed, {better_regressed} the other way");

    // A limit wide enough lets every latency pass; a figure from nothing still counts.
    let o = cutover(&["compare", base, half, "--max-regression", "10000%"]);
    let wide = stdout(&o);
    assert!(wide.lines().filter(|l| l.contains("**REGRESSED**")).all(|l| l.contains("| 0 |")), "{wide}");

    // Bad input: exit 2, the file named once.
    let missing = dir.join("nope.json");
    let o = cutover(&["compare", base, missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).matches("nope.json").count(), 1, "{}", stderr(&o));
    let o = cutover(&["compare", base, base, "--max-regression", "ten"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--max-regression"), "{}", stderr(&o));
}

/// Read an interval log with the `hdrhistogram` crate's own reader and deserializer: every
/// histogram with its tag, start and duration (seconds).
fn read_hlog(path: &std::path::Path) -> Vec<(Option<String>, f64, f64, hdrhistogram::Histogram<u64>)> {
    use base64::Engine;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    let bytes = std::fs::read(path).unwrap();
    let mut start_time = None;
    let mut out = Vec::new();
    for entry in IntervalLogIterator::new(&bytes) {
        match entry.unwrap_or_else(|e| panic!("{}: {e:?}", path.display())) {
            LogEntry::StartTime(t) => start_time = Some(t),
            LogEntry::BaseTime(_) => {}
            LogEntry::Interval(i) => {
                let raw = base64::engine::general_purpose::STANDARD.decode(i.encoded_histogram()).unwrap();
                let h: hdrhistogram::Histogram<u64> =
                    hdrhistogram::serialization::Deserializer::new().deserialize(&mut raw.as_slice()).unwrap();
                out.push((i.tag().map(|t| t.as_str().to_string()), i.start_timestamp().as_secs_f64(), i.duration().as_secs_f64(), h));
            }
        }
    }
    assert!(start_time.is_some(), "{}: no StartTime", path.display());
    out
}

#[test]
fn hlog_logs_read_back_with_hdrhistograms_reader_and_agree_with_the_report() {
    let dir = temp_dir("hlog");
    let hlog = dir.join("hlog");
    let out = dir.join("report");
    let o = cutover(&["simulate", "scenarios/ci-smoke.json", "--out", out.to_str().unwrap(), "--hlog", hlog.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let r: serde_json::Value = read_report(&out.join("report.json"));
    let phases: Vec<(String, String)> = r["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_string(), p["start"].as_str().unwrap().to_string()))
        .collect();
    let mut files: Vec<String> = std::fs::read_dir(&hlog).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    // One log per channel and operation that saw traffic.
    let mut expected: Vec<String> = r["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{}.{}.hlog", c["channel"].as_str().unwrap(), c["operation"].as_str().unwrap()))
        .collect();
    expected.sort();
    expected.dedup();
    assert_eq!(files, expected);
    let mut intervals = 0;
    for c in r["cells"].as_array().unwrap() {
        let file = hlog.join(format!("{}.{}.hlog", c["channel"].as_str().unwrap(), c["operation"].as_str().unwrap()));
        let logged = read_hlog(&file);
        let phase = c["phase"].as_str().unwrap();
        let (_, start, duration, h) = logged
            .iter()
            .find(|(tag, ..)| tag.as_deref() == Some(phase))
            .unwrap_or_else(|| panic!("{}: no interval tagged {phase}", file.display()));
        intervals += 1;
        // The same samples as the report's cell, at the same percentiles (ms with 3 decimals).
        assert_eq!(h.len(), c["attempts"].as_u64().unwrap(), "{} {phase}", file.display());
        let p99 = (h.value_at_quantile(0.99) as f64).round() / 1000.0;
        assert!(
            (p99 - c["latency_ms"]["p99"].as_f64().unwrap()).abs() < 0.0015,
            "{} {phase}: {p99} against {}",
            file.display(),
            c["latency_ms"]["p99"]
        );
        // The interval is the phase: it starts where the phase starts, from the timeline's start.
        let k = phases.iter().position(|(n, _)| n == phase).unwrap();
        let phase_start = chrono::DateTime::parse_from_rfc3339(&phases[k].1).unwrap();
        let timeline = chrono::DateTime::parse_from_rfc3339(r["scenario"]["start"].as_str().unwrap()).unwrap();
        assert!((start - (phase_start - timeline).num_seconds() as f64).abs() < 0.001, "{start}");
        assert!(*duration > 0.0);
    }
    assert!(intervals > 20, "{intervals} intervals");
}

#[test]
fn sweep_names_the_cheapest_passing_combination_and_agrees_with_each_run_alone() {
    let dir = temp_dir("sweep");
    // Ten times the smoke population on a slow backend: one server is too few for the online
    // gate; the hall's counters change its waits.
    let mut v = smoke_value();
    for g in v["population"]["groups"].as_object_mut().unwrap().values_mut() {
        g["count"] = (g["count"].as_u64().unwrap() * 10).into();
    }
    v["backend"]["service_ms"] = serde_json::json!({ "kind": "log_normal", "median": 2000.0, "p90": 5000.0 });
    v["gates"] = serde_json::json!([
        { "metric": "accepted_while_suspended", "max": 0 },
        { "metric": "latency_ms_p99", "operation": "pay", "channel": "wechat_mini", "phase": "new_system", "max": 20000 }
    ]);
    v["costs"] = serde_json::json!({ "channels.hall_cash.servers": 30, "backend.concurrency": 100 });
    let scenario = write_scenario(&dir, "loaded.json", &v);
    // The grid: two hall sizes by three backends, over two seeds, into `out`.
    let grid = |out: &std::path::Path, more: &[&str]| {
        let mut args = vec![
            "sweep",
            scenario.to_str().unwrap(),
            "--vary",
            "channels.hall_cash.servers=12,48",
            "--vary",
            "backend.concurrency=1,2,4",
            "--seeds",
            "2",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(more);
        cutover(&args)
    };
    let out = dir.join("sweep");
    let o = grid(&out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("6 combinations x 2 seeds = 12 simulations"), "{}", stderr(&o));
    assert!(stderr(&o).contains("12 of 12 done"), "{}", stderr(&o));
    let sw: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    check_against("sweep.schema.json", &sw);
    let combos = sw["combinations"].as_array().unwrap();
    assert_eq!(combos.len(), 6);
    // Each combination alone, at each seed: the same gates fail, the same waits.
    let mut cheapest: Option<(f64, usize)> = None;
    for c in combos {
        let i = c["index"].as_u64().unwrap() as usize;
        let file = c["scenario_file"].as_str().unwrap();
        let mut all_pass = true;
        for run in c["runs"].as_array().unwrap() {
            let seed = run["seed"].as_u64().unwrap().to_string();
            let one = dir.join(format!("one-{i}-{seed}"));
            let o = cutover(&["simulate", file, "--seed", &seed, "--out", one.to_str().unwrap(), "--quiet"]);
            let r: serde_json::Value = read_report(&one.join("report.json"));
            let passed = r["summary"]["gates_passed"].as_bool().unwrap();
            assert_eq!(o.status.code(), Some(if passed { 0 } else { 1 }));
            assert_eq!(run["gates_passed"].as_bool().unwrap(), passed, "combination {i} seed {seed}");
            let failed = r["gates"].as_array().unwrap().iter().filter(|g| g["passed"] == false).count();
            assert_eq!(run["failed_gates"].as_array().unwrap().len(), failed);
            let hall = r["days"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|d| d["channels"].as_array().unwrap().iter())
                .filter(|ch| ch["channel"] == "hall_cash")
                .filter_map(|ch| ch["waiting_min_p99"].as_f64())
                .fold(0.0f64, f64::max);
            assert_eq!(run["channel_wait_p99_min"]["hall_cash"].as_f64().unwrap(), hall, "combination {i} seed {seed}");
            all_pass &= passed;
        }
        assert_eq!(c["passed"].as_bool().unwrap(), all_pass);
        let values = c["values"].as_array().unwrap();
        let cost = values[0][1].as_f64().unwrap() * 30.0 + values[1][1].as_f64().unwrap() * 100.0;
        assert_eq!(c["cost"].as_f64().unwrap(), cost);
        if all_pass && cheapest.is_none_or(|(best, _)| cost < best) {
            cheapest = Some((cost, i));
        }
        // The spread is over the seeds' own figures.
        let waits: Vec<f64> =
            c["runs"].as_array().unwrap().iter().map(|r| r["channel_wait_p99_min"]["hall_cash"].as_f64().unwrap()).collect();
        let s = &c["channel_wait_p99_min"][0][1];
        assert_eq!(s["min"].as_f64().unwrap(), waits.iter().cloned().fold(f64::MAX, f64::min));
        assert_eq!(s["max"].as_f64().unwrap(), waits.iter().cloned().fold(0.0, f64::max));
    }
    let (_, best) = cheapest.expect("a combination passes");
    assert!(combos.iter().any(|c| c["passed"] == false), "every combination passes: the grid decides nothing");
    assert_eq!(sw["cheapest_passing"].as_u64().unwrap() as usize, best);
    let md = std::fs::read_to_string(out.join("sweep.md")).unwrap();
    assert!(md.contains(&format!("passes every gate for all 2 seeds: #{best}")), "{md}");
    assert!(std::fs::read_to_string(out.join("sweep.html")).unwrap().contains("<svg class=\"chart\""));

    // The same grid in Chinese: sweep.md and sweep.html worded, channels named
    // by the scenario's label_zh, sweep.json's figures unchanged.
    let zh = dir.join("sweep-zh");
    let o = grid(&zh, &["--quiet", "--lang", "zh"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let md = std::fs::read_to_string(zh.join("sweep.md")).unwrap();
    let html = std::fs::read_to_string(zh.join("sweep.html")).unwrap();
    assert!(md.contains("通过全部门限的最便宜组合") && md.contains("税务实体大厅（现金缴费） 最差 p99 等待"), "{md}");
    assert!(html.contains("<html lang=\"zh-CN\""));
    assert_eq!(english_prose(&md), Vec::<String>::new(), "English left in the Chinese sweep.md");
    assert_eq!(english_prose(&html), Vec::<String>::new(), "English left in the Chinese sweep.html");
    let zh_sw: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(zh.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(zh_sw["cheapest_passing"], sw["cheapest_passing"]);

    // A path the scenario lacks: exit 2, naming it and what is there.
    let o = cutover(&["sweep", scenario.to_str().unwrap(), "--vary", "backend.servers=1,2", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("backend.servers") && stderr(&o).contains("concurrency"), "{}", stderr(&o));
}

/// The smoke scenario with `gates`, simulated: exit code and report.
fn simulate_gates(name: &str, gates: serde_json::Value) -> (Option<i32>, serde_json::Value, String) {
    let dir = temp_dir(name);
    let mut v = smoke_value();
    v["gates"] = gates;
    let scenario = write_scenario(&dir, "gates.json", &v);
    let o = cutover(&["simulate", scenario.to_str().unwrap(), "--out", dir.to_str().unwrap(), "--quiet"]);
    let text = stdout(&o) + &stderr(&o);
    let path = dir.join("report.json");
    let r = if path.exists() { read_report(&path) } else { serde_json::Value::Null };
    (o.status.code(), r, text)
}

#[test]
fn a_gate_with_no_data_is_incomplete_unless_it_may_be_empty() {
    // Nobody asks the bank's batch channel for a certificate: nothing to judge, so the
    // verdict is INCOMPLETE (exit 4), neither GO nor NO-GO.
    let (code, r, text) = simulate_gates(
        "gate_no_data",
        serde_json::json!([{ "metric": "latency_ms_p99", "operation": "certificate", "channel": "bank_batch", "max": 1000 }]),
    );
    assert_eq!(code, Some(4), "{text}");
    assert_eq!(r["verdict"]["verdict"], "incomplete", "{}", r["verdict"]);
    assert_eq!(
        (r["verdict"]["reasons"][0]["check"].as_str(), r["verdict"]["reasons"][0]["state"].as_str()),
        (Some("gate"), Some("unknown"))
    );
    assert!(text.contains("verdict: INCOMPLETE"), "{text}");
    let g = &r["gates"][0];
    assert_eq!((g["no_data"].as_bool(), g["samples"].as_u64(), g["passed"].as_bool()), (Some(true), Some(0), Some(false)), "{g}");
    assert!(text.contains("no data"), "{text}");
    let (code, r, text) = simulate_gates(
        "gate_no_data_allowed",
        serde_json::json!([{ "metric": "latency_ms_p99", "operation": "certificate", "channel": "bank_batch", "max": 1000, "allow_empty": true }]),
    );
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(r["gates"][0]["passed"], true);
}

#[test]
fn gates_per_day_and_on_the_backlog_measure_what_the_report_shows() {
    let (_, base, _) = simulate_gates("gate_days_base", serde_json::json!([]));
    // The day with the longest p99 wait at hall_cash, as days[] shows it.
    let (day, wait) = base["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| {
            let c = d["channels"].as_array().unwrap().iter().find(|c| c["channel"] == "hall_cash")?;
            Some((d["date"].as_str().unwrap().to_string(), c["waiting_min_p99"].as_f64()?))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    assert!(wait > 0.0);
    let ro = &base["reopening"];
    let hours = |t: &str| {
        let at = chrono::DateTime::parse_from_rfc3339(t).unwrap();
        let open = chrono::DateTime::parse_from_rfc3339(ro["at"].as_str().unwrap()).unwrap();
        (at - open).num_microseconds().unwrap() as f64 / 3.6e9
    };
    let cleared_90 = hours(ro["backlog_90pct_cleared_at"].as_str().unwrap());
    let cleared_at = chrono::DateTime::parse_from_rfc3339(ro["backlog_90pct_cleared_at"].as_str().unwrap()).unwrap();
    let by = |minutes: i64| (cleared_at + chrono::Duration::minutes(minutes)).to_rfc3339();
    let (code, r, text) = simulate_gates(
        "gate_days",
        serde_json::json!([
            { "metric": "waiting_min_p99", "channel": "hall_cash", "day": day, "max": wait },
            { "metric": "waiting_min_p99", "channel": "hall_cash", "day": day, "max": wait * 0.9 },
            { "metric": "waiting_min_p99", "kind": "offline", "max": 100000 },
            { "metric": "backlog_cleared_hours", "share": 0.9, "max": cleared_90 + 0.01 },
            { "metric": "backlog_cleared_hours", "share": 0.9, "max": cleared_90 - 1.0 },
            { "metric": "gave_up", "max": 1000000 },
            { "metric": "hung_up", "kind": "hotline", "max": 1000000, "allow_empty": true },
            { "metric": "backlog_cleared_hours", "share": 0.9, "by": by(1) },
            { "metric": "backlog_cleared_hours", "share": 0.9, "by": by(-60) }
        ]),
    );
    assert_eq!(code, Some(1), "{text}");
    let gates = r["gates"].as_array().unwrap();
    let passed: Vec<bool> = gates.iter().map(|g| g["passed"].as_bool().unwrap()).collect();
    assert_eq!(passed, vec![true, false, true, true, false, true, true, true, false], "{gates:#?}");
    // Cleared by an instant: the bound is the hours from the reopening to it.
    assert!((gates[7]["max"].as_f64().unwrap() - (cleared_90 + 1.0 / 60.0)).abs() < 0.01, "{}", gates[7]);
    assert!(text.contains("  - backlog_cleared_hours share=0.9 by=2021-05-"), "{text}");
    assert_eq!(gates[0]["value"].as_f64().unwrap(), wait, "{}", gates[0]);
    assert!((gates[3]["value"].as_f64().unwrap() - cleared_90).abs() < 0.01, "{} against {cleared_90}", gates[3]);
    assert_eq!(gates[5]["value"].as_f64(), base["summary"]["gave_up"].as_f64(), "gave_up over every day and channel");
    assert!(text.contains(&format!("  - waiting_min_p99 channel=hall_cash day={day} <=")), "{text}");

    // Checked at load time: a day on a latency gate, an unknown kind, a share, a metric.
    let (code, _, text) = simulate_gates(
        "gate_bad",
        serde_json::json!([
            { "metric": "latency_ms_p99", "day": "2021-05-06", "max": 1 },
            { "metric": "waiting_min_p99", "kind": "halls", "max": 1 },
            { "metric": "backlog_cleared_hours", "share": 0.5, "max": 1 },
            { "metric": "gave_up", "by": "2021-05-06T00:00:00+08:00" },
            { "metric": "backlog_cleared_hours", "share": 0.9 },
            { "metric": "backlog_cleared_hours", "share": 0.9, "by": "6 May" }
        ]),
    );
    assert_eq!(code, Some(2), "{text}");
    for field in ["gates[0].day", "gates[1].kind", "gates[2].share", "gates[3].by", "gates[4].max", "gates[5].by"] {
        assert!(text.contains(field), "{field} not named: {text}");
    }
    let (code, _, text) = simulate_gates("gate_unknown", serde_json::json!([{ "metric": "p99_wait", "max": 1 }]));
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("gates[0].metric") && text.contains("waiting_min_p99"), "the valid names are not listed: {text}");
}

#[test]
fn the_report_schemas_in_the_tree_are_the_builds() {
    // Refreshed with UPDATE_GOLDEN=1, like the golden files.
    for (of, file) in [("report", "report.schema.json"), ("sweep", "sweep.schema.json")] {
        let o = cutover(&["schema", "--of", of]);
        assert_eq!(o.status.code(), Some(0));
        let path = root().join("reports").join(file);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, stdout(&o)).unwrap();
        }
        let kept = std::fs::read_to_string(&path).unwrap();
        assert_eq!(kept, stdout(&o), "reports/{file} is not this build's schema: refresh it with UPDATE_GOLDEN=1 cargo test");
    }
    // And the schema is strict enough to fail a report that lacks a field.
    let mut r: serde_json::Value = serde_json::from_str(&cutover_report_text()).unwrap();
    r["summary"].as_object_mut().unwrap().remove("accepted");
    let result = std::panic::catch_unwind(|| check_against("report.schema.json", &r));
    assert!(result.is_err(), "a report without summary.accepted passed the schema");
}

/// A small report to tamper with.
fn cutover_report_text() -> String {
    let dir = temp_dir("schema_strict");
    let o = cutover(&["simulate", "scenarios/ci-smoke.json", "--out", dir.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0));
    std::fs::read_to_string(dir.join("report.json")).unwrap()
}

/// One scrape of `http://127.0.0.1:port/metrics`, parsed by the prometheus-parse crate.
fn scrape(port: u16) -> prometheus_parse::Scrape {
    let (status, _, body) = http(port, "GET", "/metrics", &[], "");
    assert_eq!(status, 200, "{body}");
    prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text")
}

fn key(s: &prometheus_parse::Sample) -> String {
    let mut labels: Vec<String> =
        ["phase", "channel", "operation", "outcome"].iter().filter_map(|k| s.labels.get(k).map(|v| format!("{k}={v}"))).collect();
    labels.sort();
    format!("{}{{{}}}", s.metric, labels.join(","))
}

#[test]
fn a_live_run_and_serve_give_prometheus_metrics_that_a_parser_reads_and_that_add_up() {
    use std::io::BufRead;
    let server = Server::start(0, &["--scenario", "scenarios/ci-smoke.json"]);
    let dir = temp_dir("metrics");
    let mut child = spawn_cutover(&[
        "run",
        "scenarios/ci-smoke.json",
        "--target",
        &server.url,
        "--time-scale",
        "250000",
        "--metrics-addr",
        "127.0.0.1:0",
        "--out",
        dir.to_str().unwrap(),
        "--quiet",
    ]);
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let port: u16 = first
        .strip_prefix("metrics at http://127.0.0.1:")
        .and_then(|r| r.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("{first}"))
        .parse()
        .unwrap();
    // The rest of standard error, drained so the run never blocks on it.
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let counters = |s: &prometheus_parse::Scrape| -> std::collections::BTreeMap<String, f64> {
        s.samples
            .iter()
            .filter_map(|x| match x.value {
                prometheus_parse::Value::Counter(v) => Some((key(x), v)),
                _ => None,
            })
            .collect()
    };
    let answered = |c: &std::collections::BTreeMap<String, f64>| {
        c.iter().filter(|(k, _)| k.starts_with("cutover_requests_total")).map(|(_, v)| v).sum::<f64>()
    };
    // Scrape until the answers counted pass `above` (the threads copy their figures about
    // once a second), polling, bounded in time.
    let scrape_past = |above: f64| {
        let started = std::time::Instant::now();
        loop {
            let s = scrape(port);
            if answered(&counters(&s)) > above {
                return s;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(60), "no more than {above} answers counted in 60 s");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let a = scrape_past(0.0);
    let b = scrape_past(answered(&counters(&a)));
    let o = wait_bounded(child, std::time::Duration::from_secs(120));
    assert_eq!(o.status.code(), Some(0), "{:?}", rest.join().unwrap());

    let (ca, cb) = (counters(&a), counters(&b));
    assert!(answered(&ca) > 0.0, "nothing answered: {ca:?}");
    assert!(answered(&cb) > answered(&ca), "the counters did not move");
    for (k, v) in &ca {
        assert!(cb.get(k).is_some_and(|w| w >= v), "{k} went down: {v} then {:?}", cb.get(k));
    }
    // Each cell's response-time histogram counts what its outcomes count.
    let mut histograms = 0;
    for s in &b.samples {
        if let prometheus_parse::Value::Histogram(buckets) = &s.value {
            histograms += 1;
            assert!(buckets.windows(2).all(|w| w[0].less_than < w[1].less_than && w[0].count <= w[1].count), "{buckets:?}");
            let same = |x: &prometheus_parse::Sample| ["phase", "channel", "operation"].iter().all(|k| x.labels.get(k) == s.labels.get(k));
            let cell = key(s);
            let outcomes: f64 = b
                .samples
                .iter()
                .filter(|x| x.metric == "cutover_requests_total" && same(x))
                .map(|x| match x.value {
                    prometheus_parse::Value::Counter(v) => v,
                    _ => 0.0,
                })
                .sum();
            assert_eq!(buckets.last().unwrap().count, outcomes, "{cell}");
        }
    }
    assert!(histograms > 5, "{histograms} histograms");
    for name in ["cutover_queue_depth", "cutover_not_sent_total", "cutover_auditor_disagreements_total", "cutover_completed_total"] {
        assert!(b.samples.iter().any(|s| s.metric == name), "no {name}");
    }

    // The server's own account: every payment it accepted is one the run's report counts,
    // and each operation's decision times count its decisions.
    let s = scrape(server.port);
    let value = |x: &prometheus_parse::Sample| match x.value {
        prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) => v,
        _ => 0.0,
    };
    let accepted: f64 = s
        .samples
        .iter()
        .filter(|x| x.metric == "cutover_serve_requests_total" && x.labels.get("outcome") == Some("accepted"))
        .map(value)
        .sum();
    let r = read_report(&dir.join("report.json"));
    assert_eq!(accepted, r["summary"]["accepted"].as_f64().unwrap(), "payments the server accepted");
    let mut ops = 0;
    for h in &s.samples {
        if let prometheus_parse::Value::Histogram(buckets) = &h.value {
            ops += 1;
            let op = h.labels.get("operation").unwrap();
            let decided: f64 = s
                .samples
                .iter()
                .filter(|x| {
                    x.metric == "cutover_serve_requests_total"
                        && x.labels.get("operation") == Some(op)
                        && x.labels.get("outcome") != Some("overloaded")
                })
                .map(value)
                .sum();
            assert_eq!(buckets.last().unwrap().count, decided, "{op}");
        }
    }
    assert!(ops >= 3, "{ops} operations with decision times");
    assert!(s.samples.iter().any(|x| x.metric == "cutover_serve_in_flight"));
}

#[test]
fn compare_refuses_a_simulation_against_a_run() {
    // Regression: a simulate report against a run report read "-99.8 %, 0 regressions" and
    // exited 0; their latencies are in different units.
    let dir = temp_dir("compare_modes");
    let sim = dir.join("sim");
    let o = cutover(&["simulate", "scenarios/ci-smoke.json", "--out", sim.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The same report marked as a run's: only the mode differs.
    let mut run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(sim.join("report.json")).unwrap()).unwrap();
    run["mode"] = "run".into();
    let run_path = dir.join("run.json");
    std::fs::write(&run_path, run.to_string()).unwrap();
    let base = sim.join("report.json");
    let o = cutover(&["compare", base.to_str().unwrap(), run_path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("a `simulate` report") && stderr(&o).contains("a `run` report"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "nothing compared: {}", stdout(&o));
    let o = cutover(&["compare", run_path.to_str().unwrap(), run_path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "a run against a run: {}", stderr(&o));
}

/// Issue 24, item 5: a sweep never starts more simulations at once than fit in memory. Two
/// hundred whole regions at once need far more than any machine here has: refused before
/// anything is written, saying how many would fit.
#[test]
fn sweep_refuses_more_simulations_at_once_than_fit_in_memory() {
    let dir = temp_dir("sweep_memory");
    let out = dir.join("sweep");
    let values: Vec<String> = (1..=200).map(|n| n.to_string()).collect();
    let vary = format!("backend.concurrency={}", values.join(","));
    let o = cutover(&["sweep", "scenarios/inner-mongolia-2021.json", "--vary", &vary, "--jobs", "200", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("--jobs 200: 200 simulations at once need about"), "{e}");
    assert!(e.contains("available: use --jobs"), "{e}");
    assert!(!out.exists(), "nothing written for a refused sweep");
}

/// The estimate a sweep runs by bounds what a simulation really takes: the peak resident
/// memory of `simulate` (the child's own, from wait4) stays under it, one system and two.
#[test]
fn a_simulations_peak_memory_stays_under_its_estimate() {
    let dir = temp_dir("memory_estimate");
    for scenario in ["scenarios/ci-smoke.json", "scenarios/cutover-2021-ci.json"] {
        let out = dir.join(scenario.replace('/', "-"));
        // Reaped by wait4 below, which also gives its peak memory.
        #[allow(clippy::zombie_processes)]
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(["simulate", scenario, "--quiet", "--out", out.to_str().unwrap()])
            .current_dir(root())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
        // SAFETY: waits for our own child, once, with valid out-pointers.
        let reaped = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
        assert_eq!(reaped, child.id() as i32);
        assert!(libc::WIFEXITED(status), "{scenario}: exited");
        let peak = usage.ru_maxrss as u64 * 1024;
        let spec = cutover::scenario::load(&root().join(scenario)).unwrap();
        let estimate = cutover::engine::memory::peak_bytes_estimate(&spec);
        assert!(peak > 1 << 20 && peak < estimate, "{scenario}: peak {peak} bytes, estimate {estimate}");
    }
}
