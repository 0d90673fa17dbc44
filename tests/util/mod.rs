//! Helpers for the integration tests: run the real binary, build scenario variants.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn smoke_path() -> PathBuf {
    root().join("scenarios/ci-smoke.json")
}

pub fn smoke_value() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(smoke_path()).unwrap()).unwrap()
}

/// A fresh temporary directory under the target dir, named after the test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = root().join("target/test-tmp").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn write_scenario(dir: &Path, name: &str, v: &serde_json::Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
    p
}

pub fn cutover(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover")).args(args).current_dir(root()).output().expect("run cutover")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Compare with a golden file; `UPDATE_GOLDEN=1` rewrites it instead.
pub fn golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing golden file {} (run with UPDATE_GOLDEN=1)", path.display()));
    assert!(expected == actual, "output differs from {} (run with UPDATE_GOLDEN=1 to refresh):\n{actual}", path.display());
}

/// A `cutover serve` child process on a free loopback port; killed (by its PID) on drop.
pub struct Server {
    child: Option<std::process::Child>,
    pub port: u16,
    pub url: String,
}

impl Server {
    /// Start `cutover serve --addr 127.0.0.1:PORT` (PORT 0 = any free one) with more args.
    pub fn start(port: u16, args: &[&str]) -> Server {
        use std::io::BufRead;
        let addr = format!("127.0.0.1:{port}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(["serve", "--addr", &addr])
            .args(args)
            .current_dir(root())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start cutover serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(std::time::Duration::from_secs(30)).expect("serve printed its address");
        let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}")).to_string();
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        Server { child: Some(child), port, url }
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A plain HTTP/1.1 exchange on loopback: (status, headers lowercased, body).
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Vec<(String, String)>, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    (status, headers, body.to_string())
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The smoke scenario cut to 19 days (to 8 May), without the proxy batch.
pub fn short_smoke() -> serde_json::Value {
    let mut v = smoke_value();
    v["timeline"]["end"] = serde_json::json!("2021-05-08T00:00:00+08:00");
    v["population"]["groups"]["proxy"]["count"] = 0.into();
    let batches: Vec<serde_json::Value> = v["batches"].as_array().unwrap().iter().filter(|b| b["group"] != "proxy").cloned().collect();
    v["batches"] = serde_json::Value::Array(batches);
    v
}

/// Wait (bounded) until `file` has at least `lines` lines; false on timeout.
pub fn wait_for_lines(file: &Path, lines: usize, limit: std::time::Duration) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if std::fs::read_to_string(file).map(|t| t.lines().count() >= lines).unwrap_or(false) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

pub fn spawn_cutover(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn cutover")
}

/// Wait for a child with a bound; kill it (by its PID) and fail if it overruns.
/// `cutover run SCENARIO ARGS... --out DIR --quiet`, bounded to a minute: the live tests' one
/// way to run a rehearsal and wait for it.
pub fn live_run(scenario: &str, dir: &Path, args: &[&str]) -> Output {
    let mut argv = vec!["run", scenario];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--out", dir.to_str().unwrap(), "--quiet"]);
    wait_bounded(spawn_cutover(&argv), std::time::Duration::from_secs(60))
}

pub fn wait_bounded(mut child: std::process::Child, limit: std::time::Duration) -> Output {
    let start = std::time::Instant::now();
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!("cutover did not finish within {limit:?}: {}{}", stdout(&o), stderr(&o));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A JSON Schema kept in reports/ (`report.schema.json`, `sweep.schema.json`), compiled once.
fn schema_validator(file: &'static str) -> &'static jsonschema::Validator {
    static REPORT: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    static SWEEP: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    let cell = if file == "sweep.schema.json" { &SWEEP } else { &REPORT };
    cell.get_or_init(|| {
        let text = std::fs::read_to_string(root().join("reports").join(file)).unwrap();
        jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
    })
}

/// `v` against reports/`file`; panics listing every problem.
pub fn check_against(file: &'static str, v: &serde_json::Value) {
    let errors: Vec<String> = schema_validator(file).iter_errors(v).map(|e| format!("{}: {e}", e.instance_path())).take(20).collect();
    assert!(errors.is_empty(), "not as reports/{file} says: {errors:#?}");
}

/// A report.json, read and checked against reports/report.schema.json: every report the
/// suite reads is one the schema describes.
pub fn read_report(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    check_against("report.schema.json", &v);
    v
}

/// Runs of three or more English words in `text` (outside `code` spans, tags, styles and
/// scripts): what a Chinese page must not contain. Identifiers (with `_`, `=` or digits),
/// units and single words between Chinese text are not runs.
pub fn english_prose(text: &str) -> Vec<String> {
    // Drop style and script blocks and HTML code spans; then tags and Markdown code spans.
    let strip = |s: &str, open: &str, close: &str| {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find(open) {
            out.push_str(&rest[..i]);
            out.push(' ');
            rest = rest[i..].find(close).map_or("", |j| &rest[i + j + close.len()..]);
        }
        out.push_str(rest);
        out
    };
    let plain = [("<style>", "</style>"), ("<script>", "</script>"), ("<code>", "</code>")]
        .iter()
        .fold(text.to_string(), |acc, (open, close)| strip(&acc, open, close));
    let mut text = String::new();
    let mut in_tag = false;
    let mut in_code = false;
    for c in plain.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            '`' => {
                in_code = !in_code;
                text.push(' ');
            }
            _c if in_tag || in_code => {}
            c => text.push(c),
        }
    }
    let mut runs = Vec::new();
    for line in text.lines() {
        let mut run: Vec<&str> = Vec::new();
        for token in line.split_whitespace().chain(std::iter::once("|")) {
            let word = token.trim_end_matches([',', '.', ';', ':', ')']).trim_start_matches('(');
            if word.len() >= 2 && word.chars().all(|c| c.is_ascii_alphabetic()) && !matches!(word, "ms" | "min" | "yuan") {
                run.push(word);
            } else {
                if run.len() >= 3 {
                    runs.push(run.join(" "));
                }
                run.clear();
            }
        }
    }
    runs
}
