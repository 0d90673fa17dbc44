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
    ("engine", &["cohort", "demand", "model", "population", "report", "rng", "scenario", "target", "time"]),
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
