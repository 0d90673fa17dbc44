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
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
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
