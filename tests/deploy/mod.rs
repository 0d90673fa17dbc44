//! The Kubernetes manifests of deploy/kubernetes/ checked offline against the Kubernetes
//! API's schemas (kubernetes-validate, strict: an unknown field is an error, not only a
//! parse), and the generators' Job checked to run a shard as `run --shard` expects; the
//! Dockerfile's build context checked to hold what the sources include.

use crate::util::*;
use std::path::PathBuf;

/// The Kubernetes version the manifests are written for (an Indexed Job's
/// `backoffLimitPerIndex` is GA from 1.33).
const KUBERNETES: &str = "1.33.0";

/// The validator `scripts/test-deps` installs (or `CUTOVER_KUBERNETES_VALIDATE`).
fn validator() -> PathBuf {
    if let Ok(p) = std::env::var("CUTOVER_KUBERNETES_VALIDATE") {
        return PathBuf::from(p);
    }
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root().join("target"));
    let p = target.join("tools/k8s/bin/kubernetes-validate");
    assert!(p.is_file(), "{} is missing: run scripts/test-deps (the README's test command does)", p.display());
    p
}

fn validate(files: &[PathBuf]) -> std::process::Output {
    std::process::Command::new(validator()).args(["-k", KUBERNETES, "--strict"]).args(files).output().expect("run kubernetes-validate")
}

fn manifests() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("deploy/kubernetes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

#[test]
fn the_kubernetes_manifests_validate_against_the_api_schemas() {
    let files = manifests();
    let names: Vec<String> = files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["merge-job.yaml", "rehearsal-config.yaml", "rehearsal-job.yaml", "results-volume.yaml"]);
    let o = validate(&files);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let said = stdout(&o) + &stderr(&o);
    assert_eq!(said.matches(" passed for resource ").count(), 4, "{said}");
    // The check is the schemas', not a parse: a field the API does not know fails it, as
    // does a value of the wrong type.
    let dir = temp_dir("k8s_broken");
    let job = std::fs::read_to_string(root().join("deploy/kubernetes/rehearsal-job.yaml")).unwrap();
    for (what, broken) in [
        ("unknown field", job.replace("completionMode: Indexed", "completionMod: Indexed")),
        ("wrong type", job.replace("completions: 4", "completions: four")),
    ] {
        assert_ne!(broken, job, "{what}: the manifest changed");
        let path = dir.join("broken.yaml");
        std::fs::write(&path, broken).unwrap();
        let o = validate(&[path]);
        assert!(!o.status.success(), "{what}: {}{}", stdout(&o), stderr(&o));
    }
}

/// The generators' Job: Indexed, one pod per shard, each told the number of shards (its index
/// from JOB_COMPLETION_INDEX), the shared start instant and run id, its own output directory
/// on the shared volume; a failed shard not run again; the merge reading that volume.
#[test]
fn the_generators_job_runs_one_shard_per_index_and_the_merge_reads_their_parts() {
    let job = std::fs::read_to_string(root().join("deploy/kubernetes/rehearsal-job.yaml")).unwrap();
    let config = std::fs::read_to_string(root().join("deploy/kubernetes/rehearsal-config.yaml")).unwrap();
    let merge = std::fs::read_to_string(root().join("deploy/kubernetes/merge-job.yaml")).unwrap();
    let field = |text: &str, key: &str| -> String {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}:")).map(|v| v.trim().trim_matches('"').to_string()))
            .unwrap_or_default()
    };
    assert_eq!(field(&job, "completionMode"), "Indexed");
    assert_eq!(field(&job, "backoffLimitPerIndex"), "0");
    let shards = field(&config, "SHARDS");
    assert_eq!(field(&job, "completions"), shards, "completions = SHARDS");
    assert_eq!(field(&job, "parallelism"), shards, "parallelism = SHARDS");
    let args = |text: &str| -> Vec<String> {
        let start = text.find("args:").unwrap();
        text[start..]
            .lines()
            .skip(1)
            .take_while(|l| l.trim_start().starts_with("- "))
            .map(|l| l.trim_start()[2..].trim().to_string())
            .collect()
    };
    let a = args(&job);
    let after = |flag: &str| a.iter().position(|x| x == flag).map(|i| a[i + 1].clone()).unwrap_or_else(|| panic!("{flag} in {a:?}"));
    assert_eq!(a[0], "run");
    assert_eq!(after("--shard"), "$(SHARDS)");
    assert_eq!(after("--start-at"), "$(START_AT)");
    assert_eq!(after("--run-id"), "$(RUN_ID)");
    assert_eq!(after("--out"), "/results/$(RUN_ID)/shard-$(JOB_COMPLETION_INDEX)");
    let m = args(&merge);
    assert_eq!(&m[..2], ["merge", "/results/$(RUN_ID)"]);
    // The config's scenario is one the image carries, and the arguments parse: a dry run of
    // the same command line with the config's values (no network) is refused only for what a
    // machine without the targets lacks, never for a flag.
    let scenario = field(&config, "SCENARIO");
    assert!(root().join(&scenario).is_file(), "{scenario}");
    let o = cutover(&[
        "run",
        &scenario,
        "--shard",
        "5/4",
        "--start-at",
        &field(&config, "START_AT"),
        "--old",
        "http://127.0.0.1:9",
        "--new",
        "http://127.0.0.1:9",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--shard: shard 5 of 4"), "{}", stderr(&o));
}

/// Everything the sources include at compile time is in the Dockerfile's build context (what
/// it copies, less what .dockerignore leaves out), and the Rust image is recent enough.
#[test]
fn the_dockerfile_copies_what_the_build_needs() {
    let docker = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let ignored = std::fs::read_to_string(root().join(".dockerignore")).unwrap();
    let copied: Vec<&str> = docker
        .lines()
        .filter_map(|l| l.strip_prefix("COPY "))
        .filter(|l| !l.starts_with("--from"))
        .flat_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words[..words.len() - 1].to_vec()
        })
        .collect();
    for c in &copied {
        assert!(root().join(c).exists(), "COPY {c}: not in the repository");
        assert!(!ignored.lines().any(|i| i.trim() == *c), "COPY {c}: left out by .dockerignore");
    }
    // Every include_str!/include_bytes! of src/, as a path from the repository's root.
    let mut included = Vec::new();
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            for (i, _) in text.match_indices("include_str!(\"").chain(text.match_indices("include_bytes!(\"")) {
                let rest = &text[i..];
                let start = rest.find('"').unwrap() + 1;
                let end = start + rest[start..].find('"').unwrap();
                let path = p.parent().unwrap().join(&rest[start..end]);
                included.push(path.canonicalize().unwrap_or(path));
            }
        }
    }
    assert!(included.len() > 5);
    let root = root().canonicalize().unwrap();
    for path in included {
        let rel = path.strip_prefix(&root).unwrap_or_else(|_| panic!("{} outside the repository", path.display()));
        let top = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
        assert!(copied.contains(&top.as_str()), "{} is included by the sources but not copied ({copied:?})", rel.display());
    }
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let needed = cargo.lines().find_map(|l| l.strip_prefix("rust-version = ")).unwrap().trim_matches('"').to_string();
    let image = docker.lines().find_map(|l| l.strip_prefix("FROM rust:")).unwrap();
    let version = image.split('-').next().unwrap();
    let num = |v: &str| v.split('.').map(|x| x.parse::<u32>().unwrap()).collect::<Vec<_>>();
    assert!(num(version) >= num(&needed), "rust:{version} is older than rust-version {needed}");
}
