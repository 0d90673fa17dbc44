//! The layers of ARCHITECTURE.md, held against the code: each top-level module of the
//! library may name only the modules listed for it (`crate::<module>` anywhere in its files,
//! unit-test files apart). A new arrow is either a mistake or a change of the design: then
//! change ARCHITECTURE.md and this table together.

use crate::util::root;
use std::collections::{BTreeMap, BTreeSet};

/// Module → the modules it may use, from the bottom layer up.
const ALLOWED: &[(&str, &[&str])] = &[
    ("time", &[]),
    ("hash", &[]),
    ("metrics", &[]),
    ("rng", &["hash"]),
    ("vocabulary", &[]),
    ("cli", &[]),
    ("secrets", &[]),
    ("clock", &["time"]),
    ("scenario", &["hash", "time"]),
    ("dist", &["rng", "scenario"]),
    ("population", &["dist", "rng", "scenario"]),
    ("model", &["hash", "population", "scenario", "time", "vocabulary"]),
    ("contract", &["model", "population", "scenario", "time", "vocabulary"]),
    ("demand", &["dist", "model", "population", "rng", "scenario", "time"]),
    ("target", &["model", "scenario", "time"]),
    ("report", &["hash", "metrics", "model", "population", "scenario", "time", "vocabulary"]),
    ("cohort", &["demand", "hash", "model", "population", "report", "scenario", "time"]),
    ("engine", &["cohort", "demand", "hash", "model", "population", "report", "rng", "scenario", "target", "time"]),
    (
        "live",
        &[
            "clock",
            "cohort",
            "contract",
            "demand",
            "hash",
            "metrics",
            "model",
            "population",
            "report",
            "rng",
            "scenario",
            "secrets",
            "target",
            "time",
            "vocabulary",
        ],
    ),
    ("server", &["clock", "contract", "metrics", "model", "scenario", "time", "vocabulary"]),
    ("migrate", &["contract", "model", "scenario"]),
    // Reads reports as JSON values, not as this build's types.
    ("compare", &[]),
    ("sweep", &["report", "scenario"]),
    // The subcommands: the top, over every layer.
    (
        "commands",
        &[
            "cli",
            "clock",
            "compare",
            "contract",
            "dist",
            "engine",
            "live",
            "migrate",
            "model",
            "population",
            "report",
            "scenario",
            "secrets",
            "server",
            "sweep",
            "time",
        ],
    ),
];

/// The top-level module a source file belongs to (`src/live/shard.rs` → `live`).
fn module_of(rel: &std::path::Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// Every `crate::<name>` a file's text names.
fn named_modules(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit()).collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

fn source_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src is readable") {
        let p = e.expect("a directory entry").path();
        if p.is_dir() {
            source_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn modules_import_only_the_layers_below_them() {
    let src = root().join("src");
    let allowed: BTreeMap<&str, BTreeSet<&str>> = ALLOWED.iter().map(|(m, deps)| (*m, deps.iter().copied().collect())).collect();
    let mut files = Vec::new();
    source_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    let mut seen_modules = BTreeSet::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        // Unit-test files may reach further (the host equivalence test drives the engine).
        if rel.file_name().and_then(|n| n.to_str()).is_some_and(|n| n == "tests.rs" || n.ends_with("_tests.rs")) {
            continue;
        }
        let Some(module) = module_of(rel) else { continue };
        seen_modules.insert(module.clone());
        let Some(ok) = allowed.get(module.as_str()) else {
            wrong.push(format!("{}: module {module} is not in the table of layers", rel.display()));
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        for used in named_modules(&text) {
            if used != module && !ok.contains(used.as_str()) {
                wrong.push(format!("{}: {module} uses crate::{used}, which it may not", rel.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layers:\n{}", wrong.join("\n"));
    let listed: BTreeSet<String> = allowed.keys().map(|m| m.to_string()).collect();
    assert_eq!(listed, seen_modules, "the table lists exactly the library's modules");
}

#[test]
fn the_layer_check_sees_a_wrong_import() {
    assert!(named_modules("use crate::live::clock::VirtualClock;").contains("live"));
    assert_eq!(module_of(std::path::Path::new("server/mod.rs")).as_deref(), Some("server"));
    let server: BTreeSet<&str> = ALLOWED.iter().find(|(m, _)| *m == "server").unwrap().1.iter().copied().collect();
    assert!(!server.contains("live"), "serve must not depend on the live driver");
}

/// A file's module path (`src/report/markdown.rs` → `report::markdown`, `src/report/mod.rs`
/// → `report`).
fn module_path(rel: &std::path::Path) -> Vec<String> {
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.strip_suffix(".rs").unwrap_or(&last).to_string();
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem);
    }
    parts
}

fn ident(s: &str) -> String {
    s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
}

/// `a::b::C` at the start of `s`: its segments (a trailing `{...}` group is left out).
fn segments(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        let name = ident(rest);
        if name.is_empty() {
            return out;
        }
        rest = &rest[name.len()..];
        out.push(name);
        match rest.strip_prefix("::") {
            Some(r) => rest = r,
            None => return out,
        }
    }
}

/// The module paths a file names through `crate::`, `super::` and `self::`, as far as a
/// reader of the text sees them (a name re-exported by a parent is seen at the parent).
fn paths_named(text: &str, here: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let starts = ["crate::", "super::", "self::"].iter().find(|p| rest.starts_with(**p));
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':');
        let Some(start) = starts.filter(|_| boundary) else {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let mut base: Vec<String> = match *start {
            "crate::" => Vec::new(),
            "self::" => here.to_vec(),
            _ => here[..here.len().saturating_sub(1)].to_vec(),
        };
        let mut j = i + start.len();
        while text[j..].starts_with("super::") {
            base.pop();
            j += "super::".len();
        }
        let tail = &text[j..];
        if let Some(group) = tail.strip_prefix('{') {
            // `use super::{a::X, b::{Y, Z}}`: the first segment of each entry.
            let inner: String = group.chars().take_while(|c| *c != '}' && *c != ';').collect();
            for entry in inner.split(',') {
                let segs = segments(entry.trim());
                if !segs.is_empty() {
                    out.push([base.clone(), segs].concat());
                }
            }
        } else {
            let segs = segments(tail);
            if !segs.is_empty() {
                out.push([base.clone(), segs].concat());
            }
        }
        i = j.max(i + 1);
    }
    out
}

/// The circles among the files of each folder (a file using a sibling that uses it back,
/// directly or round a longer ring), each as its sorted members.
fn circles_in_folders() -> BTreeSet<Vec<String>> {
    let src = root().join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    let read: Vec<(std::path::PathBuf, String)> =
        files.iter().map(|f| (f.strip_prefix(&src).unwrap().to_path_buf(), std::fs::read_to_string(f).unwrap())).collect();
    circles(&read)
}

/// The circles among the files (path below `src`, text) of each folder.
fn circles(files: &[(std::path::PathBuf, String)]) -> BTreeSet<Vec<String>> {
    // Folder module path → child → children it names.
    let mut edges: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut children: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in files {
        if rel.file_name().and_then(|n| n.to_str()).is_some_and(|n| n == "tests.rs" || n.ends_with("_tests.rs")) {
            continue;
        }
        let here = module_path(rel);
        for depth in 0..here.len() {
            let folder = here[..depth].to_vec();
            children.entry(folder.clone()).or_default().insert(here[depth].clone());
        }
        // A file's unit tests (an inline `mod tests` at its end) may reach further, as test
        // files may; and `super` means another module there.
        let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
        // Code only: a doc link to a sibling is not a use of it.
        let code: String = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
        for path in paths_named(&code, &here) {
            // For every folder holding this file below one of its children: an arrow from
            // that child to the sibling the path enters.
            for depth in 0..here.len() {
                let folder = &here[..depth];
                if path.len() > depth && path[..depth] == *folder && path[depth] != here[depth] {
                    edges.entry(folder.to_vec()).or_default().entry(here[depth].clone()).or_default().insert(path[depth].clone());
                }
            }
        }
    }
    let mut circles = BTreeSet::new();
    for (folder, graph) in &edges {
        let known = children.get(folder).cloned().unwrap_or_default();
        // Reachability among the folder's children; a circle is a set that all reach each other.
        let reach = |from: &String| -> BTreeSet<String> {
            let mut seen = BTreeSet::new();
            let mut todo = vec![from.clone()];
            while let Some(n) = todo.pop() {
                for m in graph.get(&n).into_iter().flatten().filter(|m| known.contains(*m)) {
                    if seen.insert(m.clone()) {
                        todo.push(m.clone());
                    }
                }
            }
            seen
        };
        let reaches: BTreeMap<&String, BTreeSet<String>> = known.iter().map(|n| (n, reach(n))).collect();
        for n in &known {
            if !reaches[n].contains(n) {
                continue;
            }
            let mut ring: Vec<String> = known.iter().filter(|m| reaches[n].contains(*m) && reaches[*m].contains(n)).cloned().collect();
            ring.sort();
            let prefix = if folder.is_empty() { String::new() } else { format!("{}/", folder.join("/")) };
            circles.insert(ring.into_iter().map(|m| format!("{prefix}{m}")).collect());
        }
    }
    circles
}

#[test]
fn no_folder_has_a_circle_between_its_files() {
    let found = circles_in_folders();
    assert!(found.is_empty(), "circles between the files of a folder (a file and a sibling that name each other): {found:?}");
}

#[test]
fn the_circle_check_sees_a_circle() {
    let here = vec!["report".to_string(), "markdown".to_string()];
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    let named = paths_named("use super::{cutover::X, human::{a, b}};\nlet y = crate::report::days::f();", &here);
    assert!(named.contains(&v(&["report", "cutover", "X"])), "{named:?}");
    assert!(named.contains(&v(&["report", "human"])), "{named:?}");
    assert!(named.contains(&v(&["report", "days", "f"])), "{named:?}");
    let deep = v(&["report", "html", "days"]);
    assert_eq!(paths_named("use super::super::svg::Band;", &deep), vec![v(&["report", "svg", "Band"])]);
    // A ring of three files in a folder, round a subfolder; a doc link and a unit test do not count.
    let file = |p: &str, t: &str| (std::path::PathBuf::from(p), t.to_string());
    let ring = [
        file("live/a.rs", "use super::b::X;"),
        file("live/b/mod.rs", "use crate::live::c::Y;"),
        file("live/c.rs", "fn f() { super::a::g() }"),
        file("live/d.rs", "//! see [`super::a`]\n#[cfg(test)]\nmod tests { use crate::live::a::g; }"),
        file("live/a2.rs", "use super::d::Z;"),
    ];
    assert_eq!(circles(&ring), BTreeSet::from([v(&["live/a", "live/b", "live/c"])]));
    assert!(circles(&ring[..2]).is_empty());
}

/// The rooms of `report/` by role, from the bottom up, and the rooms each may name: what
/// `report.json` holds; what the hosts feed; the checks; the renderers, which read the report
/// and nothing else.
const REPORT_ROOMS: &[(&str, &[&str])] = &[("data", &[]), ("feed", &["data"]), ("check", &["data", "feed"]), ("render", &["data"])];

/// The rooms of `live/` (the coordinator's files stand above them): the deployment a run
/// sends to, and the sending thread with its transport, which reaches the deployment.
const LIVE_ROOMS: &[(&str, &[&str])] = &[("deployment", &[]), ("thread", &["deployment"])];

/// Every arrow between two rooms of `report/` that the table does not allow.
fn report_rooms_broken(files: &[(std::path::PathBuf, String)]) -> Vec<String> {
    rooms_broken("report", REPORT_ROOMS, files)
}

/// Every arrow between two rooms of the folder `top` that `table` does not allow.
fn rooms_broken(top: &str, table: &[(&str, &[&str])], files: &[(std::path::PathBuf, String)]) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = table.iter().copied().collect();
    let mut wrong = Vec::new();
    for (rel, text) in files {
        let here = module_path(rel);
        if here.first().map(String::as_str) != Some(top) {
            continue;
        }
        let Some(room) = here.get(1).filter(|r| allowed.contains_key(r.as_str())) else { continue };
        let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
        let code: String = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
        for path in paths_named(&code, &here) {
            let Some(other) = path.get(1).filter(|o| path[0] == top && *o != room && allowed.contains_key(o.as_str())) else {
                continue;
            };
            if !allowed[room.as_str()].contains(&other.as_str()) {
                wrong.push(format!("{}: {top}/{room} names {top}/{other}", rel.display()));
            }
        }
    }
    wrong
}

#[test]
fn report_rooms_use_only_the_rooms_below() {
    let src = root().join("src");
    let mut paths = Vec::new();
    source_files(&src.join("report"), &mut paths);
    paths.sort();
    let files: Vec<(std::path::PathBuf, String)> =
        paths.iter().map(|p| (p.strip_prefix(&src).unwrap().to_path_buf(), std::fs::read_to_string(p).unwrap())).collect();
    let rooms: BTreeSet<String> = files.iter().filter_map(|(rel, _)| module_path(rel).get(1).cloned()).filter(|r| r != "mod").collect();
    let expected: BTreeSet<String> = REPORT_ROOMS.iter().map(|(r, _)| r.to_string()).collect();
    assert_eq!(rooms, expected, "report/ holds exactly the rooms of the table");
    let wrong = report_rooms_broken(&files);
    assert!(wrong.is_empty(), "arrows between report's rooms against their roles:\n{}", wrong.join("\n"));
}

#[test]
fn live_rooms_use_only_the_rooms_below() {
    let src = root().join("src");
    let mut paths = Vec::new();
    source_files(&src.join("live"), &mut paths);
    paths.sort();
    let files: Vec<(std::path::PathBuf, String)> =
        paths.iter().map(|p| (p.strip_prefix(&src).unwrap().to_path_buf(), std::fs::read_to_string(p).unwrap())).collect();
    let folders: BTreeSet<String> =
        files.iter().filter(|(rel, _)| rel.components().count() > 2).filter_map(|(rel, _)| module_path(rel).get(1).cloned()).collect();
    let expected: BTreeSet<String> = LIVE_ROOMS.iter().map(|(r, _)| r.to_string()).collect();
    assert_eq!(folders, expected, "live/ holds exactly the rooms of the table");
    let wrong = rooms_broken("live", LIVE_ROOMS, &files);
    assert!(wrong.is_empty(), "arrows between live's rooms against their roles:\n{}", wrong.join("\n"));
    // The deployment room is reached from the thread: the check can see such an arrow.
    assert_eq!(
        rooms_broken(
            "live",
            LIVE_ROOMS,
            &[(std::path::PathBuf::from("live/deployment/target.rs"), "use super::super::thread::shard::Conns;".into())]
        )
        .len(),
        1
    );
}

#[test]
fn the_room_check_sees_a_renderer_reaching_into_the_checks() {
    let file = |p: &str, t: &str| (std::path::PathBuf::from(p), t.to_string());
    let files = [
        file("report/render/junit.rs", "use crate::report::check::gates::gate_result;"),
        file("report/render/html/mod.rs", "use super::super::feed::recorder::Recorder;"),
        file("report/check/build.rs", "use crate::report::feed::recorder::Recorder;"),
        file("report/render/markdown/mod.rs", "//! see [`crate::report::check`]\nuse crate::report::Report;"),
    ];
    let wrong = report_rooms_broken(&files);
    assert_eq!(wrong.len(), 2, "{wrong:?}");
    assert!(wrong[0].contains("report/render names report/check"), "{wrong:?}");
    assert!(wrong[1].contains("report/render names report/feed"), "{wrong:?}");
}
