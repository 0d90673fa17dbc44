//! report.html in a real browser: headless Chromium loads the page offline, with no console
//! message (the page's Content-Security-Policy turns any fetch into one), draws every chart,
//! and gives a screenshot.

use crate::util::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The browser: `CUTOVER_BROWSER`, else Debian's `chromium` (`scripts/test-deps` installs it).
fn browser() -> PathBuf {
    if let Some(b) = std::env::var_os("CUTOVER_BROWSER") {
        return PathBuf::from(b);
    }
    for b in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"] {
        if Path::new(b).exists() {
            return PathBuf::from(b);
        }
    }
    panic!("this test needs headless Chromium: run scripts/test-deps (the README's test command does), or set CUTOVER_BROWSER");
}

/// Run the browser headless on `page` with `args`, bounded in time; its stdout and stderr.
fn headless(page: &Path, args: &[&str]) -> (String, String) {
    let profile = temp_dir(&format!("chromium-profile-{}", page.parent().unwrap().file_name().unwrap().to_string_lossy()));
    // Output to files, not pipes: a dumped page is larger than a pipe holds.
    let (out, err) = (profile.join("stdout"), profile.join("stderr"));
    let mut child = Command::new(browser())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--enable-logging=stderr", "--v=0"])
        .args(args)
        .arg(format!("file://{}", page.canonicalize().unwrap().display()))
        .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err).unwrap()))
        .spawn()
        .expect("start chromium");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    (read(&out), read(&err))
}

fn attribute(dom: &str, name: &str) -> Option<usize> {
    let at = dom.find(&format!("{name}=\""))? + name.len() + 2;
    dom[at..].split('"').next()?.parse().ok()
}

/// Load the page, check it, screenshot it; the dumped DOM.
fn check_page(dir: &Path) -> String {
    let page = dir.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // Nothing to fetch: links stay on the page, no src= at all.
    assert!(!html.contains(" src="), "the page loads something");
    for (i, _) in html.match_indices("href=\"") {
        assert!(html[i + 6..].starts_with('#'), "a link leaves the page: {}", &html[i..i + 60]);
    }
    let (dom, log) = headless(&page, &["--dump-dom"]);
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "the page wrote to the console: {console:#?}");
    let charts = attribute(&dom, "data-charts").expect("data-charts");
    let drawn = attribute(&dom, "data-charts-drawn").expect("the page's own check did not run");
    assert!(charts >= 4, "{charts} charts");
    assert_eq!(drawn, charts, "charts drawn with a size and marks");
    assert_eq!(dom.matches("<svg class=\"chart\"").count(), charts);
    let shot = dir.join("report.png");
    let _ = std::fs::remove_file(&shot);
    headless(&page, &[&format!("--screenshot={}", shot.display()), "--window-size=1200,3000", "--hide-scrollbars"]);
    let png = std::fs::read(&shot).expect("no screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 20_000, "a near-empty screenshot: {} bytes", png.len());
    dom
}

#[test]
fn report_html_loads_offline_in_a_browser_and_draws_its_charts() {
    // The cutover: two systems, the migration checks, a go.
    let dir = temp_dir("html_cutover");
    let o = cutover(&["simulate", "scenarios/cutover-2021-ci.json", "--out", dir.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let dom = check_page(&dir);
    assert!(dom.contains("class=\"verdict go\""), "no go verdict");
    for section in ["timeline", "surge", "counters", "refusals", "latency", "cutover", "ledger", "gates"] {
        assert!(dom.contains(&format!("<h2 id=\"{section}\"")), "no {section} section");
    }
    assert!(dom.contains("double charges"));

    // A live run whose latency gate fails: a no-go naming the gate, and the live section.
    let dir = temp_dir("html_live");
    let mut v = short_smoke();
    v["gates"] = serde_json::json!([{ "metric": "latency_ms_p50", "max": 0.000001 }]);
    let scenario = write_scenario(&dir, "strict.json", &v);
    let o = live_run(scenario.to_str().unwrap(), &dir, &["--model", "--time-scale", "600000"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let dom = check_page(&dir);
    assert!(dom.contains("class=\"verdict nogo\""), "no no-go verdict");
    assert!(dom.contains("latency_ms_p50 &lt;= 0.000001: measured"), "the failed gate is not named");
    assert!(dom.contains("<h2 id=\"live\""), "no live section");
    assert!(dom.contains("Response time (from the scheduled instant) and service time (from the send) by percentile"));
    // Both histograms whole, as percentile distributions from the minimum to the maximum.
    let r = read_report(&dir.join("report.json"));
    for (dist, summary) in [("response_time_distribution", "response_time_ms"), ("service_time_distribution", "service_time_ms")] {
        let d = r["live"][dist].as_array().unwrap_or_else(|| panic!("no {dist}"));
        assert_eq!(d.len(), 18, "{dist}");
        let ms: Vec<f64> = d.iter().map(|q| q["ms"].as_f64().unwrap()).collect();
        assert!(ms.windows(2).all(|w| w[0] <= w[1]), "{dist} not monotone: {ms:?}");
        assert_eq!(d[17]["percentile"], 100.0);
        assert_eq!(d[17]["ms"], r["live"][summary]["max"], "{dist}'s maximum");
        assert_eq!(d[5]["ms"], r["live"][summary]["p50"], "{dist}'s median");
    }
}

#[test]
fn summary_and_page_come_in_chinese_with_the_notices_names() {
    // The cutover in Chinese: the page in a browser, and the summary beside it.
    let dir = temp_dir("html_zh");
    let o = cutover(&["simulate", "scenarios/cutover-2021-ci.json", "--out", dir.to_str().unwrap(), "--quiet", "--lang", "zh"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // Without a font that has Chinese glyphs the screenshot shows empty boxes.
    let fonts = Command::new("fc-list").arg(":lang=zh").output().expect("fc-list (fontconfig) runs: scripts/test-deps installs it");
    assert!(!fonts.stdout.is_empty(), "no font with Chinese glyphs: scripts/test-deps installs fonts-wqy-zenhei");
    let dom = check_page(&dir);
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(dom.contains("<html lang=\"zh-CN\""), "the page does not say it is Chinese");
    for name in ["微信城市服务", "蒙速办", "税务实体大厅（现金缴费）", "暂停办理缴费业务", "灵活就业人员", "呼和浩特市"]
    {
        assert!(dom.contains(name), "the page does not name {name}");
        assert!(md.contains(name) || name == "呼和浩特市", "summary.md does not name {name}");
    }
    assert!(!dom.contains("wechat_city") && !md.contains("wechat_city"), "a channel shown by its id");
    assert_eq!(english_prose(&dom), Vec::<String>::new(), "English left on the Chinese page");
    assert_eq!(english_prose(&md), Vec::<String>::new(), "English left in the Chinese summary");
    // The same run in English has its prose, so the check above can fail.
    let en = temp_dir("html_en");
    let o = cutover(&["simulate", "scenarios/cutover-2021-ci.json", "--out", en.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0));
    let html = std::fs::read_to_string(en.join("report.html")).unwrap();
    assert!(english_prose(&html).iter().any(|r| r.contains("double charges")), "{:?}", english_prose(&html));
    // JSON stays English whatever the language: the same bytes.
    assert_eq!(std::fs::read(dir.join("report.json")).unwrap(), std::fs::read(en.join("report.json")).unwrap());

    // A live run in Chinese: the live section, hooks and reconciliation worded too.
    let dir = temp_dir("html_zh_live");
    let v = short_smoke();
    let scenario = write_scenario(&dir, "short.json", &v);
    let o = live_run(scenario.to_str().unwrap(), &dir, &["--model", "--time-scale", "600000", "--lang", "zh"]);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}{}", stdout(&o), stderr(&o));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(html.contains("<h2 id=\"live\">实时演练</h2>"), "no live section in Chinese");
    assert_eq!(english_prose(&html), Vec::<String>::new(), "English left on the live run's Chinese page");
    assert_eq!(english_prose(&md), Vec::<String>::new(), "English left in the live run's Chinese summary");
    assert!(stdout(&o).contains("对账："), "the printed summary is not in Chinese: {}", stdout(&o));
}
