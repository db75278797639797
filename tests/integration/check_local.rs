//! `s3ward check --local DIR`: real model directories on disk, written by the test (tiny
//! valid safetensors files, truncated ones, empty ones, unreadable ones), judged by the
//! binary. Exit 0 complete, 2 problems, 1 error.
//!
//! The unreadable case needs a process that the file mode stops: as root (CI containers)
//! the binary is run as `nobody` through `setpriv`; when neither works the assertion is
//! skipped with a note on stderr.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::{Value, json};

use crate::support::{Cmd, PlanDir, Run, s3ward};

const INDEX: &str = "model.safetensors.index.json";
const SHARDS: [&str; 2] = [
    "model-00001-of-00002.safetensors",
    "model-00002-of-00002.safetensors",
];

/// A valid safetensors file: one `F32` tensor of `n` values.
fn safetensors(n: u64) -> Vec<u8> {
    let header = serde_json::to_vec(&json!({
        "__metadata__": {"format": "pt"},
        "w": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]},
    }))
    .unwrap();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(&header);
    out.extend(std::iter::repeat_n(0u8, 4 * n as usize));
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// A complete two-shard model in `DIR/model`.
fn model(d: &PlanDir) -> std::path::PathBuf {
    let m = d.path().join("model");
    std::fs::create_dir(&m).unwrap();
    write(&m, "config.json", br#"{"model_type": "mistral"}"#);
    write(&m, "tokenizer.json", br#"{"version": "1.0"}"#);
    let map: serde_json::Map<String, Value> = SHARDS
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("layers.{i}.weight"), json!(s)))
        .collect();
    write(
        &m,
        INDEX,
        &serde_json::to_vec(&json!({ "weight_map": map })).unwrap(),
    );
    write(&m, SHARDS[0], &safetensors(10));
    write(&m, SHARDS[1], &safetensors(20));
    m
}

fn check(m: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["check", "--local", m.to_str().unwrap()];
    args.extend(extra);
    s3ward(&args).run()
}

fn problems(run: &Run) -> Vec<(String, String)> {
    let v: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{run}"));
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["problem"].as_str().unwrap().to_string(),
                p["file"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn pair(p: &str, f: &str) -> (String, String) {
    (p.to_string(), f.to_string())
}

#[test]
fn a_complete_directory_passes() {
    let d = PlanDir::new();
    let m = model(&d);
    let run = check(
        &m,
        &["--require", "config.json", "--require", "tokenizer.json"],
    );
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout
            .contains("complete (5 files, 2 weight files, 2 whole safetensors files"),
        "{run}"
    );
    let json = check(&m, &["--format", "json"]);
    assert_eq!(json.code, 0, "{json}");
    assert_eq!(problems(&json), []);
}

#[test]
fn a_missing_shard_an_empty_file_and_a_truncated_shard_are_problems() {
    let d = PlanDir::new();
    let m = model(&d);
    std::fs::remove_file(m.join(SHARDS[1])).unwrap();
    write(&m, "tokenizer.json", b"");
    let whole = safetensors(10);
    write(&m, SHARDS[0], &whole[..whole.len() - 1]);
    let run = check(&m, &["--format", "json", "--require", "tokenizer.json"]);
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(
        problems(&run),
        [
            pair("empty", "tokenizer.json"),
            pair("missing_shard", SHARDS[1]),
            pair("wrong_size", SHARDS[0]),
        ]
    );
    let text = check(&m, &["--require", "tokenizer.json"]);
    assert_eq!(text.code, 2);
    insta::assert_snapshot!(text.snapshot_text().replace(m.to_str().unwrap(), "[MODEL]"));
}

#[test]
fn the_plan_files_model_directory_gives_require() {
    let d = PlanDir::new();
    let m = model(&d);
    d.write(
        "plan.toml",
        r#"version = 1
[accounts.main]
id = "123456789012"
[buckets.models]
account = "main"
name = "acme-models-check-local"
[[buckets.models.models]]
prefix = "Mistral-7B-v0.1/"
require = ["config.json", "generation_config.json"]
"#,
    );
    let plan = d.path().join("plan.toml");
    let run = check(
        &m,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--model",
            "models:Mistral-7B-v0.1",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(problems(&run), [pair("missing", "generation_config.json")]);
    let unknown = check(
        &m,
        &["--plan", plan.to_str().unwrap(), "--model", "models:nope/"],
    );
    assert_eq!(unknown.code, 1, "{unknown}");
    assert!(
        unknown
            .stderr
            .contains("`models:nope/` is not a model directory"),
        "{unknown}"
    );
}

#[test]
fn a_directory_that_is_not_there_is_an_error() {
    let d = PlanDir::new();
    let run = check(&d.path().join("nope"), &[]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("could not read directory"), "{run}");
    assert_eq!(run.stdout, "");
}

/// Mode 000 on a shard: `Permission denied`, with its cause and fix. Run as a user the
/// mode stops (root reads anything).
#[test]
fn an_unreadable_file_is_reported_with_cause_and_fix() {
    let d = PlanDir::new();
    let m = model(&d);
    let shard = m.join(SHARDS[1]);
    std::fs::set_permissions(&shard, std::fs::Permissions::from_mode(0o000)).unwrap();
    let args = ["check", "--local", m.to_str().unwrap()];
    let run = if std::fs::read(&shard).is_err() {
        s3ward(&args).run()
    } else {
        // Root: let `nobody` through the directories, and run the binary as `nobody`.
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = env!("CARGO_BIN_EXE_s3ward");
        let mut setpriv = vec!["--reuid=65534", "--regid=65534", "--clear-groups", bin];
        setpriv.extend(args);
        let run = Cmd::new("setpriv", &setpriv).run();
        if run.stderr.contains("setpriv") {
            eprintln!(
                "note: running as root and `setpriv` failed; the unreadable-file assertion is skipped\n{run}"
            );
            return;
        }
        run
    };
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stdout.contains(&format!(
            "- `{}` is not readable: Permission denied",
            SHARDS[1]
        )),
        "{run}"
    );
    assert!(run.stdout.contains("cause: this process (uid"), "{run}");
    assert!(run.stdout.contains("fix: set `uid` and `gid`"), "{run}");
}
