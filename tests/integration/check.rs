//! `s3ward check`: each test uploads model directories to a bucket of its own in moto with
//! the SDK, writes a plan file naming them, runs the binary and checks its verdict, its
//! text and JSON output (against `docs/check.md`), its exit codes (0 complete, 2 problems,
//! 1 error), that it only reads, that it pages through long listings, and that it lists
//! directories concurrently (by the proxy's requests-in-flight count, not by time).
//!
//! The 10,000-object throughput is measured by `scripts/measure-check.sh`, not here: timing
//! belongs in benchmarks.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ObjectOwnership;
use futures::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::fixtures::{PLAN, assert_only_reads, json_of, new_bucket, set_ownership};
use crate::support::json_doc::{check_documented, documented_fields, field_paths};
use crate::support::plans::AMBIENT_MAIN;
use crate::support::proxy::{Fault, Proxy, ProxyRules, Rule};
use crate::support::{MOTO_OWNER_ID, PlanDir, Run, moto, ok, sdk, unique};

const INDEX: &str = "model.safetensors.index.json";
const FOREIGN_OWNER_ID: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";
/// A 12-digit account that holds the bucket in the cross-account test, reached through
/// AssumeRole (moto grants it).
const STORAGE: &str = "331144227766";

// --- Model directories --------------------------------------------------------------------

/// `model-0000i-of-0000n.safetensors` for i in 1..=n.
fn shard_names(n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| format!("model-{i:05}-of-{n:05}.safetensors"))
        .collect()
}

/// A whole safetensors file of `len` bytes (at least 10): no tensors, its header `{}`
/// padded with spaces (which the format allows), so its size is what its header says.
fn whole_safetensors(len: usize) -> Vec<u8> {
    let n = len - 8;
    let mut out = (n as u64).to_le_bytes().to_vec();
    out.extend(b"{}");
    out.extend(std::iter::repeat_n(b' ', n - 2));
    out
}

/// A `model.safetensors.index.json` as `transformers` writes it: two tensors per shard.
fn index_json(shards: &[String]) -> String {
    let mut map = serde_json::Map::new();
    for (i, s) in shards.iter().enumerate() {
        map.insert(format!("model.layers.{i}.mlp.up_proj.weight"), json!(s));
        map.insert(format!("model.layers.{i}.mlp.down_proj.weight"), json!(s));
    }
    serde_json::to_string_pretty(&json!({
        "metadata": {"total_size": 16 * shards.len()},
        "weight_map": map,
    }))
    .expect("index JSON")
}

/// The objects of a complete sharded model directory under `prefix`: `config.json`,
/// `tokenizer.json`, the index and `n` shards (16 bytes each).
fn sharded_model(prefix: &str, n: usize) -> Vec<(String, Vec<u8>)> {
    let shards = shard_names(n);
    let mut objects = vec![
        (
            format!("{prefix}config.json"),
            br#"{"model_type": "llama", "hidden_size": 4096}"#.to_vec(),
        ),
        (
            format!("{prefix}tokenizer.json"),
            br#"{"version": "1.0"}"#.to_vec(),
        ),
        (format!("{prefix}{INDEX}"), index_json(&shards).into_bytes()),
    ];
    for s in shards {
        objects.push((format!("{prefix}{s}"), whole_safetensors(16)));
    }
    objects
}

/// Uploads every object, 16 at a time.
async fn upload(s3: &aws_sdk_s3::Client, bucket: &str, objects: Vec<(String, Vec<u8>)>) {
    futures::stream::iter(objects)
        .for_each_concurrent(16, |(key, body)| async move {
            ok(s3
                .put_object()
                .bucket(bucket)
                .key(&key)
                .body(ByteStream::from(body))
                .send()
                .await);
        })
        .await;
}

async fn delete(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) {
    ok(s3.delete_object().bucket(bucket).key(key).send().await);
}

/// A plan file with one bucket `models` (in the ambient account) and these model
/// directories, each `(prefix, require)`; `require` `None` leaves the default.
fn plan_text(bucket: &str, extra: &str, models: &[(&str, Option<&[&str]>)]) -> String {
    let mut text = format!(
        "{AMBIENT_MAIN}\n[buckets.models]\naccount = \"main\"\nname = \"{bucket}\"\n{extra}"
    );
    for (prefix, require) in models {
        text.push_str(&format!(
            "\n[[buckets.models.models]]\nprefix = \"{prefix}\"\n"
        ));
        if let Some(r) = require {
            text.push_str(&format!("require = {}\n", json!(r)));
        }
    }
    text
}

/// A plan file in its own directory.
struct Check {
    dir: PlanDir,
    text: String,
}

impl Check {
    fn new(text: impl Into<String>) -> Check {
        let text = text.into();
        let dir = PlanDir::new();
        dir.write(PLAN, &text);
        Check { dir, text }
    }

    /// `s3ward check plan.toml ARGS...` in the plan's directory.
    async fn run(&self, args: &[&str]) -> Run {
        self.run_at(None, args).await
    }

    /// The same, talking to `endpoint` (a proxy) instead of moto.
    async fn run_at(&self, endpoint: Option<&str>, args: &[&str]) -> Run {
        let mut all = vec!["check", PLAN];
        all.extend_from_slice(args);
        let mut cmd = self.dir.s3ward(&all);
        if let Some(e) = endpoint {
            cmd = cmd.env("AWS_ENDPOINT_URL", e);
        }
        cmd.run_async().await
    }

    async fn json(&self) -> (Run, Value) {
        let run = self.run(&["--format", "json"]).await;
        let v = json_of(&run);
        (run, v)
    }
}

/// The JSON report of the model directory `prefix`.
fn model<'a>(report: &'a Value, prefix: &str) -> &'a Value {
    report["models"]
        .as_array()
        .expect("models is an array")
        .iter()
        .find(|m| m["prefix"] == prefix)
        .unwrap_or_else(|| panic!("no model {prefix}: {report:#}"))
}

/// The problems of one model directory, as `(problem, file or reason or bucket)`.
fn problems(report: &Value, prefix: &str) -> Vec<(String, String)> {
    model(report, prefix)["problems"]
        .as_array()
        .expect("problems is an array")
        .iter()
        .map(|p| {
            let what = ["file", "reason", "bucket"]
                .iter()
                .find_map(|k| p[k].as_str())
                .unwrap_or_default();
            (
                p["problem"].as_str().expect("problem").to_string(),
                what.to_string(),
            )
        })
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

fn assert_no_crash(run: &Run) {
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("RUST_BACKTRACE"),
        "{run}"
    );
}

// --- Complete directories -----------------------------------------------------------------

#[tokio::test]
async fn complete_model_directories_pass() {
    let s3 = sdk(None).await.s3;
    let b = new_bucket(&s3, "check-complete").await;
    let mut objects = sharded_model("Mistral-7B-v0.1/", 3);
    // A single-file model, with extra files and a nested directory that are not required.
    objects.extend([
        ("bert-base/config.json".to_string(), b"{}".to_vec()),
        (
            "bert-base/model.safetensors".to_string(),
            whole_safetensors(64),
        ),
        ("bert-base/onnx/model.onnx".to_string(), vec![1u8; 8]),
    ]);
    // A neighbour whose name extends the prefix `bert-base` must not be counted in it.
    objects.push(("bert-base-uncased/config.json".to_string(), b"{}".to_vec()));
    upload(&s3, &b, objects).await;

    let c = Check::new(plan_text(
        &b,
        "",
        &[
            ("Mistral-7B-v0.1/", Some(&["config.json", "tokenizer.json"])),
            ("bert-base", None),
        ],
    ));
    let run = c.run(&[]).await;
    assert_eq!(run.code, 0, "{run}");
    assert_no_crash(&run);
    assert!(
        run.stdout.contains(&format!(
            "ok    bucket.models s3://{b}/Mistral-7B-v0.1/: complete (6 files, 3 weight files"
        )),
        "{run}"
    );
    assert!(
        run.stdout.contains(&format!(
            "ok    bucket.models s3://{b}/bert-base/: complete (3 files, 1 weight file,"
        )),
        "{run}"
    );
    assert!(
        run.stdout.ends_with(
            "Check: 2 of 2 model directories complete; 0 objects owned by another account.\n"
        ),
        "{run}"
    );

    let (run, report) = c.json().await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(report["ok"], true);
    assert_eq!(
        report["summary"],
        json!({"models": 2, "complete": 2, "foreign_owned": 0})
    );
    let bert = model(&report, "bert-base/");
    assert_eq!(bert["files"], 3, "{report:#}");
    assert_eq!(bert["bytes"], 2 + 64 + 8);
    assert_eq!(bert["weight_files"], 1);
    assert_eq!(model(&report, "Mistral-7B-v0.1/")["weight_files"], 3);
}

// --- Incomplete directories ---------------------------------------------------------------

#[tokio::test]
async fn a_missing_shard_is_named() {
    let s3 = sdk(None).await.s3;
    let b = new_bucket(&s3, "check-shard").await;
    upload(&s3, &b, sharded_model("llama/", 4)).await;
    delete(&s3, &b, "llama/model-00003-of-00004.safetensors").await;

    let c = Check::new(plan_text(&b, "", &[("llama/", None)]));
    let run = c.run(&[]).await;
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stdout
            .contains(&format!("FAIL  bucket.models s3://{b}/llama/: 1 problem\n")),
        "{run}"
    );
    assert!(
        run.stdout.contains(
            "shard `model-00003-of-00004.safetensors` is missing (named by `model.safetensors.index.json`)"
        ),
        "{run}"
    );
    let (run, report) = c.json().await;
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(report["ok"], false);
    assert_eq!(
        problems(&report, "llama/"),
        [pair("missing_shard", "model-00003-of-00004.safetensors")]
    );
    assert_eq!(model(&report, "llama/")["weight_files"], 3);
}

#[tokio::test]
async fn a_missing_config_json_is_a_problem() {
    let s3 = sdk(None).await.s3;
    let b = new_bucket(&s3, "check-config").await;
    upload(&s3, &b, sharded_model("llama/", 2)).await;
    delete(&s3, &b, "llama/config.json").await;

    let c = Check::new(plan_text(&b, "", &[("llama/", None)]));
    let run = c.run(&[]).await;
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stdout.contains("`config.json` is missing"), "{run}");
    let (_, report) = c.json().await;
    assert_eq!(
        problems(&report, "llama/"),
        [pair("missing", "config.json")]
    );
}

#[tokio::test]
async fn a_zero_byte_shard_or_required_file_is_a_problem() {
    let s3 = sdk(None).await.s3;
    let b = new_bucket(&s3, "check-empty").await;
    let mut objects = sharded_model("llama/", 2);
    objects.retain(|(k, _)| {
        !k.ends_with("00002-of-00002.safetensors") && !k.ends_with("tokenizer.json")
    });
    objects.push(("llama/model-00002-of-00002.safetensors".into(), Vec::new()));
    objects.push(("llama/tokenizer.json".into(), Vec::new()));
    // A lone model.safetensors of zero bytes is no weights either.
    objects.push(("single/config.json".into(), b"{}".to_vec()));
    objects.push(("single/model.safetensors".into(), Vec::new()));
    upload(&s3, &b, objects).await;

    let c = Check::new(plan_text(
        &b,
        "",
        &[
            ("llama/", Some(&["config.json", "tokenizer.json"])),
            ("single/", None),
        ],
    ));
    let run = c.run(&[]).await;
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stdout
            .contains("shard `model-00002-of-00002.safetensors` is empty (0 bytes)"),
        "{run}"
    );
    let (_, report) = c.json().await;
    assert_eq!(
        problems(&report, "llama/"),
        [
            pair("empty", "tokenizer.json"),
            pair("empty_shard", "model-00002-of-00002.safetensors"),
        ]
    );
    assert_eq!(
        problems(&report, "single/"),
        [pair("empty", "model.safetensors")]
    );
    assert_eq!(report["summary"]["complete"], 0);
}

#[tokio::test]
async fn no_weights_at_all_is_a_problem() {
    let s3 = sdk(None).await.s3;
    let b = new_bucket(&s3, "check-noweights").await;
    // Weights in another format (or not uploaded yet): neither index nor model.safetensors.
    upload(
        &s3,
        &b,
        vec![
            ("gpt2/config.json".into(), b"{}".to_vec()),
            ("gpt2/pytorch_model.bin".into(), vec![1u8; 8]),
        ],
    )
    .await;
    let c = Check::new(plan_text(
        &b,
        "",
        &[("gpt2/", None), ("nothing-here/", None)],
    ));
    let run = c.run(&[]).await;
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stdout.contains(
            "no weights: neither `model.safetensors.index.json` nor `model.safetensors` is there"
        ),
        "{run}"
    );
    let (_, report) = c.json().await;
    assert_eq!(problems(&report, "gpt2/"), [pair("no_weights", "")]);
    // An empty (or mistyped) prefix: nothing is there at all.
    assert_eq!(
        problems(&report, "nothing-here/"),
        [pair("missing", "config.json"), pair("no_weights", "")]
    );
    assert_eq!(model(&report, "nothing-here/")["files"], 0);
}

#[tokio::test]
async fn a_corrupt_index_is_a_clear_problem_not_a_crash() {
    let s3 = sdk(None).await.s3;
    let b = new_bucket(&s3, "check-index").await;
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "truncated/",
            br#"{"metadata": {}, "weight_map": {"a": "model-0"#,
            "not valid JSON",
        ),
        ("empty-file/", b"", "not valid JSON"),
        (
            "no-map/",
            br#"{"metadata": {"total_size": 1}}"#,
            "it has no `weight_map` object",
        ),
        (
            "not-a-name/",
            br#"{"weight_map": {"lm_head.weight": 3}}"#,
            "`weight_map.lm_head.weight` is not a file name",
        ),
        (
            "escapes/",
            br#"{"weight_map": {"lm_head.weight": "../other/model.safetensors"}}"#,
            "is not a file name: `../other/model.safetensors`",
        ),
    ];
    let mut objects = Vec::new();
    for (prefix, index, _) in &cases {
        objects.push((format!("{prefix}config.json"), b"{}".to_vec()));
        objects.push((format!("{prefix}{INDEX}"), index.to_vec()));
        objects.push((format!("{prefix}model.safetensors"), whole_safetensors(16)));
    }
    upload(&s3, &b, objects).await;
    let models: Vec<(&str, Option<&[&str]>)> = cases.iter().map(|(p, ..)| (*p, None)).collect();
    let c = Check::new(plan_text(&b, "", &models));

    let run = c.run(&[]).await;
    assert_eq!(run.code, 2, "{run}");
    assert_no_crash(&run);
    for (prefix, _, reason) in &cases {
        let fail = format!(
            "FAIL  bucket.models s3://{b}/{prefix}: 1 problem\n        - `{INDEX}` is unusable: "
        );
        let at = run
            .stdout
            .find(&fail)
            .unwrap_or_else(|| panic!("no failure for {prefix}:\n{run}"));
        let line = run.stdout[at + fail.len()..]
            .lines()
            .next()
            .unwrap_or_default();
        assert!(line.contains(reason), "{prefix}: {line:?}\n{run}");
    }
    let (run, report) = c.json().await;
    assert_eq!(run.code, 2, "{run}");
    for (prefix, _, reason) in &cases {
        let p = problems(&report, prefix);
        assert!(
            matches!(&p[..], [(kind, r)] if kind == "bad_index" && r.contains(reason)),
            "{prefix}: {p:?}"
        );
    }
}

#[tokio::test]
async fn an_unreadable_index_is_a_problem_and_a_failed_listing_an_error() {
    let s3 = sdk(None).await.s3;
    let b = new_bucket(&s3, "check-denied").await;
    upload(&s3, &b, sharded_model("llama/", 2)).await;
    let c = Check::new(plan_text(&b, "", &[("llama/", None)]));

    // GetObject refused (a KMS key the reader may not use answers the same way): the
    // directory cannot be proved complete.
    let proxy = Proxy::start(
        &moto().endpoint,
        ProxyRules::none().with(
            Rule::new(Fault::AccessDenied)
                .service("s3")
                .operation("GetObject"),
        ),
    );
    let run = c.run_at(Some(&proxy.endpoint), &["--format", "json"]).await;
    assert_eq!(run.code, 2, "{run}");
    let report = json_of(&run);
    let p = problems(&report, "llama/");
    assert!(
        matches!(&p[0], (kind, r) if kind == "bad_index" && r.contains("could not read it") && r.contains("AccessDenied")),
        "{p:?}\n{run}"
    );
    // The shards' headers are refused too: their wholeness cannot be proved either.
    let headers = &model(&report, "llama/")["problems"];
    assert_eq!(p.len(), 3, "{p:?}");
    for h in &headers.as_array().unwrap()[1..] {
        assert_eq!(h["problem"], "bad_header", "{run}");
        assert!(
            h["reason"].as_str().unwrap().contains("AccessDenied"),
            "{run}"
        );
    }

    // The listing refused: s3ward cannot judge at all, so that is an error (exit 1) that
    // names the address, the operation and the code, and prints no report.
    let proxy = Proxy::start(
        &moto().endpoint,
        ProxyRules::none().with(
            Rule::new(Fault::AccessDenied)
                .service("s3")
                .operation("ListObjectsV2"),
        ),
    );
    let run = c.run_at(Some(&proxy.endpoint), &["--format", "json"]).await;
    assert_eq!(run.code, 1, "{run}");
    assert_no_crash(&run);
    assert_eq!(run.stdout, "", "{run}");
    for needle in ["bucket.models", "ListObjectsV2", "AccessDenied"] {
        assert!(
            run.stderr.contains(needle),
            "no `{needle}` in stderr:\n{run}"
        );
    }
}

#[tokio::test]
async fn a_missing_bucket_is_a_problem() {
    let b = unique("check-nobucket");
    let c = Check::new(plan_text(&b, "", &[("llama/", None), ("mistral/", None)]));
    let run = c.run(&[]).await;
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stdout.contains(&format!("bucket `{b}` does not exist")),
        "{run}"
    );
    let (run, report) = c.json().await;
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(problems(&report, "llama/"), [pair("no_bucket", &b)]);
    assert_eq!(problems(&report, "mistral/"), [pair("no_bucket", &b)]);
    assert_eq!(report["foreign_owned"], json!([]));
}

// --- Object ownership ---------------------------------------------------------------------

/// `--all-objects` scans whole buckets: a foreign-owned checkpoint outside every model
/// directory, which the model-directory check never sees, is reported with the fix;
/// `--max-objects` cuts the scan and says how far it went (exit 2: never a pass it did not
/// earn); a bucket that enforces ownership is skipped, with the reason.
#[tokio::test]
async fn all_objects_scans_whole_buckets_within_max_objects() {
    let s3 = sdk(None).await.s3;
    let b = new_bucket(&s3, "check-all").await;
    upload(&s3, &b, sharded_model("llama/", 1)).await;
    upload(
        &s3,
        &b,
        vec![
            ("checkpoints/step-100.pt".into(), b"x".to_vec()),
            ("checkpoints/step-200.pt".into(), b"y".to_vec()),
        ],
    )
    .await;
    moto().set_object_owner(&b, "checkpoints/step-200.pt", FOREIGN_OWNER_ID, "trainer");
    let enforced = new_bucket(&s3, "check-all-enforced").await;
    set_ownership(&s3, &enforced, ObjectOwnership::BucketOwnerEnforced).await;
    let c = Check::new(format!(
        "{}\n[buckets.scratch]\naccount = \"main\"\nname = \"{enforced}\"\n",
        plan_text(&b, "", &[("llama/", None)])
    ));
    let run = c.run(&[]).await;
    assert_eq!(run.code, 0, "only the model directory is looked at: {run}");

    let check = |args: &[&str]| {
        let mut all = vec!["check", PLAN];
        all.extend_from_slice(args);
        c.dir
            .s3ward(&all)
            .filter(&enforced, "[ENFORCED]")
            .filter(&b, "[BUCKET]")
            .run_async()
    };
    let run = check(&["--all-objects"]).await;
    assert_eq!(run.code, 2, "{run}");
    insta::assert_snapshot!("all_objects_whole", run.snapshot_text());

    let run = check(&["--all-objects", "--max-objects", "2"]).await;
    assert_eq!(run.code, 2, "{run}");
    insta::assert_snapshot!("all_objects_cut", run.snapshot_text());

    let run = check(&["--all-objects", "--format", "json"]).await;
    let report = json_of(&run);
    assert_eq!(report["all_objects"][0]["outcome"], "whole", "{run}");
    assert_eq!(report["all_objects"][0]["foreign_owned"], 1, "{run}");
    assert_eq!(
        report["all_objects"][1]["outcome"], "ownership_enforced",
        "{run}"
    );
    assert_eq!(
        report["foreign_owned"][0]["key"], "checkpoints/step-200.pt",
        "{run}"
    );
}

#[tokio::test]
async fn foreign_owned_objects_are_reported_until_ownership_is_enforced() {
    let s3 = sdk(None).await.s3;
    let b = new_bucket(&s3, "check-owner").await;
    upload(&s3, &b, sharded_model("llama/", 2)).await;
    let foreign = [
        "llama/config.json",
        "llama/model-00002-of-00002.safetensors",
    ];
    for key in foreign {
        moto().set_object_owner(&b, key, FOREIGN_OWNER_ID, "uploader");
    }
    let c = Check::new(plan_text(&b, "", &[("llama/", None)]));

    let run = c.run(&[]).await;
    assert_eq!(run.code, 2, "{run}");
    // The directory itself is complete: ownership is the only problem.
    assert!(
        run.stdout
            .contains(&format!("ok    bucket.models s3://{b}/llama/: complete")),
        "{run}"
    );
    assert!(
        run.stdout.contains("Objects owned by another account (2)"),
        "{run}"
    );
    for key in foreign {
        assert!(
            run.stdout
                .contains(&format!("- s3://{b}/{key} (owner {FOREIGN_OWNER_ID})")),
            "{key} not named:\n{run}"
        );
    }
    assert!(
        !run.stdout
            .contains(&format!("s3://{b}/llama/tokenizer.json (owner")),
        "{run}"
    );
    assert!(
        run.stdout.contains(
            "fix: set `object_ownership = \"BucketOwnerEnforced\"` on `[buckets.models]` and run `s3ward apply`"
        ),
        "{run}"
    );
    assert!(
        run.stdout.ends_with(
            "Check: 1 of 1 model directory complete; 2 objects owned by another account.\n"
        ),
        "{run}"
    );

    let (run, report) = c.json().await;
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(report["ok"], false);
    assert_eq!(
        report["summary"],
        json!({"models": 1, "complete": 1, "foreign_owned": 2})
    );
    let listed: BTreeSet<String> = report["foreign_owned"]
        .as_array()
        .expect("foreign_owned")
        .iter()
        .map(Value::to_string)
        .collect();
    let want: BTreeSet<String> = foreign
        .iter()
        .map(|k| {
            json!({"bucket_key": "models", "bucket": b, "key": k, "owner": FOREIGN_OWNER_ID})
                .to_string()
        })
        .collect();
    assert_eq!(listed, want);

    // BucketOwnerPreferred only affects new uploads: the old objects stay foreign.
    set_ownership(&s3, &b, ObjectOwnership::BucketOwnerPreferred).await;
    let (run, report) = c.json().await;
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(report["summary"]["foreign_owned"], 2);

    // The fix, as check prints it: enforce ownership with s3ward apply. The bucket then
    // owns every object and check is clean.
    let fixed = Check::new(plan_text(
        &b,
        "object_ownership = \"BucketOwnerEnforced\"\n",
        &[("llama/", None)],
    ));
    // Before the apply, the plan file already asks for the fix: check says it is pending,
    // not to set what is set.
    let run = fixed.run(&[]).await;
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stdout.contains(
            "pending: run `s3ward apply`: the plan file already sets `object_ownership = \"BucketOwnerEnforced\"` on `[buckets.models]`"
        ),
        "{run}"
    );
    assert!(!run.stdout.contains("fix: set"), "{run}");
    let (_, report) = fixed.json().await;
    assert_eq!(report["buckets"][0]["ownership_pending"], true);
    let apply = fixed
        .dir
        .s3ward(&["apply", "--auto-approve", PLAN])
        .run_async()
        .await;
    assert_eq!(apply.code, 0, "{apply}");
    let acl = ok(s3.get_object_acl().bucket(&b).key(foreign[0]).send().await);
    assert_eq!(acl.owner().and_then(|o| o.id()), Some(MOTO_OWNER_ID));

    let run = fixed.run(&[]).await;
    assert_eq!(run.code, 0, "{run}");
    assert!(!run.stdout.contains("owned by another account ("), "{run}");
    let (run, report) = fixed.json().await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(report["foreign_owned"], json!([]));
    assert_eq!(report["ok"], true);
}

#[tokio::test]
async fn a_bucket_in_another_account_is_checked_through_assume_role() {
    let s3 = sdk(Some(STORAGE)).await.s3;
    let b = new_bucket(&s3, "check-xacct").await;
    upload(&s3, &b, sharded_model("llama/", 2)).await;
    let text = format!(
        r#"version = 1

[accounts.storage]
id = "{STORAGE}"
assume_role = "arn:aws:iam::{STORAGE}:role/s3ward-check"

[buckets.models]
account = "storage"
name = "{b}"

[[buckets.models.models]]
prefix = "llama/"
"#
    );
    let c = Check::new(text);
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let run = c.run_at(Some(&proxy.endpoint), &[]).await;
    assert_eq!(run.code, 0, "{run}");
    let ops = proxy.operation_names();
    assert!(ops.iter().any(|o| o == "AssumeRole"), "{ops:?}");
}

// --- Output -------------------------------------------------------------------------------

/// A bucket with one complete model, one missing and one empty shard, one object another
/// account owns, and an index that is not JSON: every kind of finding, for the outputs.
async fn every_finding() -> (Check, String) {
    let s3 = sdk(None).await.s3;
    let b = new_bucket(&s3, "check-text").await;
    let mut objects = sharded_model("Mistral-7B-v0.1/", 2);
    objects.extend(sharded_model("Llama-3-8B/", 4));
    objects.retain(|(k, _)| k != "Llama-3-8B/model-00002-of-00004.safetensors");
    objects.push((
        "Llama-3-8B/model-00002-of-00004.safetensors".into(),
        Vec::new(),
    ));
    objects.retain(|(k, _)| k != "Llama-3-8B/model-00004-of-00004.safetensors");
    objects.extend([
        ("whisper-small/config.json".to_string(), b"{}".to_vec()),
        (
            "whisper-small/model.safetensors".to_string(),
            whole_safetensors(2500),
        ),
        ("broken/config.json".to_string(), b"{}".to_vec()),
        (format!("broken/{INDEX}"), b"{\"weight_map\": ".to_vec()),
    ]);
    upload(&s3, &b, objects).await;
    moto().set_object_owner(
        &b,
        "whisper-small/model.safetensors",
        FOREIGN_OWNER_ID,
        "vendor",
    );

    let c = Check::new(plan_text(
        &b,
        "",
        &[
            ("Mistral-7B-v0.1/", Some(&["config.json", "tokenizer.json"])),
            ("Llama-3-8B/", None),
            (
                "whisper-small/",
                Some(&["config.json", "preprocessor_config.json"]),
            ),
            ("broken/", None),
        ],
    ));
    (c, b)
}

#[tokio::test]
async fn check_text() {
    let (c, b) = every_finding().await;
    let run = c
        .dir
        .s3ward(&["check", PLAN])
        .filter(&b, "[BUCKET]")
        .run_async()
        .await;
    assert_eq!(run.code, 2, "{run}");
    insta::assert_snapshot!("check_text", run.snapshot_text());
}

#[tokio::test]
async fn check_json() {
    let (c, b) = every_finding().await;
    let run = c
        .dir
        .s3ward(&["check", "--format", "json", PLAN])
        .run_async()
        .await;
    assert_eq!(run.code, 2, "{run}");
    // What differs between runs, named: the time, and the plan file's hash (it holds the
    // bucket's name).
    let mut report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    report["generated_at"] = "[TIME]".into();
    report["plan_file"]["sha256"] = "[SHA256]".into();
    let text = serde_json::to_string_pretty(&report)
        .unwrap()
        .replace(&b, "[BUCKET]");
    insta::assert_snapshot!("check_json", text);
}

#[tokio::test]
async fn json_output_matches_docs_check_md() {
    let fields = documented_fields("docs/check.md");
    assert!(
        fields.len() >= 20,
        "the field table was not found: {fields:?}"
    );

    let s3 = sdk(None).await.s3;
    let b = new_bucket(&s3, "check-json").await;
    let mut objects = sharded_model("complete/", 2);
    objects.extend(sharded_model("incomplete/", 2));
    objects.retain(|(k, _)| {
        k != "incomplete/config.json" && k != "incomplete/model-00001-of-00002.safetensors"
    });
    objects.extend([
        ("bad-index/config.json".to_string(), b"{}".to_vec()),
        (format!("bad-index/{INDEX}"), b"[]".to_vec()),
    ]);
    upload(&s3, &b, objects).await;
    moto().set_object_owner(&b, "complete/tokenizer.json", FOREIGN_OWNER_ID, "vendor");
    let missing = unique("check-json-missing");
    let text = format!(
        "{}\n[buckets.gone]\naccount = \"main\"\nname = \"{missing}\"\n\n[[buckets.gone.models]]\nprefix = \"llama/\"\n",
        plan_text(
            &b,
            "",
            &[
                ("complete/", None),
                ("incomplete/", None),
                ("bad-index/", None)
            ],
        )
    );
    let c = Check::new(text);
    let (run, report) = c.json().await;
    assert_eq!(run.code, 2, "{run}");

    // The header, value by value.
    assert_eq!(report["format_version"], 1);
    assert_eq!(report["s3ward_version"], env!("CARGO_PKG_VERSION"));
    let generated = report["generated_at"].as_str().expect("generated_at");
    humantime::parse_rfc3339(generated).unwrap_or_else(|e| panic!("{generated}: {e}"));
    assert_eq!(report["plan_file"]["path"], PLAN);
    assert_eq!(report["plan_file"]["name"], "plan");
    assert_eq!(
        report["plan_file"]["sha256"],
        hex::encode(Sha256::digest(c.text.as_bytes())).as_str()
    );
    assert_eq!(report["ok"], false);
    assert_eq!(
        report["summary"],
        json!({"models": 4, "complete": 1, "foreign_owned": 1})
    );

    // Models, in plan-file order within each bucket, each field.
    let by_prefix: BTreeMap<(String, String), &Value> = report["models"]
        .as_array()
        .expect("models")
        .iter()
        .map(|m| {
            (
                (
                    m["bucket_key"].as_str().unwrap().to_string(),
                    m["prefix"].as_str().unwrap().to_string(),
                ),
                m,
            )
        })
        .collect();
    assert_eq!(by_prefix.len(), 4, "{report:#}");
    let complete = model(&report, "complete/");
    assert_eq!(complete["address"], "bucket.models");
    assert_eq!(complete["bucket_key"], "models");
    assert_eq!(complete["bucket"], b.as_str());
    assert_eq!(complete["files"], 5);
    assert_eq!(complete["weight_files"], 2);
    assert_eq!(complete["complete"], true);
    assert_eq!(complete["problems"], json!([]));
    let sizes: i64 = sharded_model("complete/", 2)
        .iter()
        .map(|(_, body)| body.len() as i64)
        .sum();
    assert_eq!(complete["bytes"], sizes);
    assert_eq!(
        model(&report, "incomplete/")["problems"],
        json!([
            {"problem": "missing", "file": "config.json", "message": "`config.json` is missing"},
            {
                "problem": "missing_shard",
                "file": "model-00001-of-00002.safetensors",
                "message": "shard `model-00001-of-00002.safetensors` is missing (named by `model.safetensors.index.json`)"
            },
        ])
    );
    assert_eq!(model(&report, "incomplete/")["complete"], false);
    let bad = &model(&report, "bad-index/")["problems"][0];
    assert_eq!(bad["problem"], "bad_index");
    assert!(
        bad["reason"]
            .as_str()
            .is_some_and(|r| r.contains("weight_map")),
        "{bad}"
    );
    let gone = model(&report, "llama/");
    assert_eq!(gone["address"], "bucket.gone");
    assert_eq!(
        gone["problems"],
        json!([{
            "problem": "no_bucket",
            "bucket": missing,
            "message": format!("bucket `{missing}` does not exist")
        }])
    );
    assert_eq!(
        report["foreign_owned"],
        json!([{"bucket_key": "models", "bucket": b, "key": "complete/tokenizer.json", "owner": FOREIGN_OWNER_ID}])
    );

    // Every documented field appears with its type; every field that appears is documented.
    let seen = check_documented(&report, &fields);
    let documented: BTreeSet<String> = fields.iter().map(|(p, ..)| p.clone()).collect();
    let missing: Vec<&String> = documented.difference(&seen).collect();
    assert!(missing.is_empty(), "documented but never seen: {missing:?}");
    let present = field_paths(&report, &[]);
    let undocumented: Vec<&String> = present.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "in the output but not in docs/check.md: {undocumented:?}"
    );
}

// --- Calls: read-only, paginated, concurrent ----------------------------------------------

#[tokio::test]
async fn check_only_reads_and_makes_the_documented_calls() {
    let s3 = sdk(None).await.s3;
    let b = new_bucket(&s3, "check-reads").await;
    let mut objects = sharded_model("a/", 2);
    objects.extend(sharded_model("b/", 2));
    objects.extend([
        ("c/config.json".to_string(), b"{}".to_vec()),
        ("c/model.safetensors".to_string(), whole_safetensors(16)),
    ]);
    upload(&s3, &b, objects).await;
    let c = Check::new(plan_text(
        &b,
        "",
        &[("a/", None), ("b/", None), ("c/", None)],
    ));

    // Ownership not enforced: ownership controls, the bucket ACL (for the owner), one
    // listing per directory (owners come with it), one GetObject per index file, and one
    // ranged GetObject per safetensors file (2 + 2 shards, 1 single file): 7.
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let run = c.run_at(Some(&proxy.endpoint), &[]).await;
    assert_eq!(run.code, 0, "{run}");
    let ops = proxy.operations();
    assert!(ops.iter().all(|r| r.is_read()), "a write: {ops:?}");
    let mut names = proxy.operation_names();
    names.sort();
    assert_eq!(
        names,
        [
            "GetBucketAcl",
            "GetBucketOwnershipControls",
            "GetCallerIdentity",
            "GetObject",
            "GetObject",
            "GetObject",
            "GetObject",
            "GetObject",
            "GetObject",
            "GetObject",
            "ListObjectsV2",
            "ListObjectsV2",
            "ListObjectsV2",
        ],
        "{run}"
    );

    // Enforced: every object is the bucket owner's, so no ACL read.
    set_ownership(&s3, &b, ObjectOwnership::BucketOwnerEnforced).await;
    proxy.clear();
    let run = c.run_at(Some(&proxy.endpoint), &[]).await;
    assert_eq!(run.code, 0, "{run}");
    let mut names = proxy.operation_names();
    names.sort();
    assert_eq!(
        names,
        [
            "GetBucketOwnershipControls",
            "GetCallerIdentity",
            "GetObject",
            "GetObject",
            "GetObject",
            "GetObject",
            "GetObject",
            "GetObject",
            "GetObject",
            "ListObjectsV2",
            "ListObjectsV2",
            "ListObjectsV2",
        ],
        "{run}"
    );
}

#[tokio::test]
async fn a_directory_of_more_than_a_thousand_objects_is_read_page_by_page() {
    // 1,100 shards: with config.json and the index, 1,102 objects, two pages. The listing
    // is sorted, so the index (`model.` after `model-`) and shard 1,050 are on page two:
    // without pagination the index would be unseen and check would say "no weights".
    const SHARDS: usize = 1100;
    let s3 = sdk(None).await.s3;
    let b = new_bucket(&s3, "check-pages").await;
    let mut objects = sharded_model("big/", SHARDS);
    objects
        .retain(|(k, _)| k != "big/tokenizer.json" && k != "big/model-01050-of-01100.safetensors");
    upload(&s3, &b, objects).await;
    let c = Check::new(plan_text(&b, "", &[("big/", None)]));

    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let run = c.run_at(Some(&proxy.endpoint), &["--format", "json"]).await;
    assert_eq!(run.code, 2, "{run}");
    let report = json_of(&run);
    assert_eq!(
        problems(&report, "big/"),
        [pair("missing_shard", "model-01050-of-01100.safetensors")]
    );
    let big = model(&report, "big/");
    assert_eq!(big["files"], SHARDS + 1, "{report:#}");
    assert_eq!(big["weight_files"], SHARDS - 1);
    let lists = proxy
        .operation_names()
        .iter()
        .filter(|o| *o == "ListObjectsV2")
        .count();
    assert_eq!(lists, 2, "{:?}", proxy.operation_names());
}

#[tokio::test]
async fn directories_and_buckets_are_listed_concurrently_within_parallelism() {
    let s3 = sdk(None).await.s3;
    let b1 = new_bucket(&s3, "check-conc-a").await;
    let b2 = new_bucket(&s3, "check-conc-b").await;
    let prefixes = ["m1/", "m2/", "m3/", "m4/"];
    let mut objects = Vec::new();
    for p in prefixes {
        objects.extend(sharded_model(p, 2));
    }
    upload(&s3, &b1, objects.clone()).await;
    upload(&s3, &b2, objects).await;
    let mut text = plan_text(&b1, "", &prefixes.map(|p| (p, None)));
    text.push_str(&format!(
        "\n[buckets.more]\naccount = \"main\"\nname = \"{b2}\"\n"
    ));
    for p in prefixes {
        text.push_str(&format!("\n[[buckets.more.models]]\nprefix = \"{p}\"\n"));
    }
    let c = Check::new(text);

    // Held listings make overlap certain when the requests are sent together; the delay is
    // not measured.
    let held = || {
        ProxyRules::none().with(
            Rule::new(Fault::Latency(Duration::from_millis(300)))
                .service("s3")
                .operation("ListObjectsV2"),
        )
    };
    let proxy = Proxy::start(&moto().endpoint, held());
    let run = c.run_at(Some(&proxy.endpoint), &[]).await;
    assert_eq!(run.code, 0, "{run}");
    let max = proxy.max_in_flight();
    assert!(
        max >= 4,
        "at most {max} requests in flight: the 8 directories were not listed concurrently"
    );

    let proxy = Proxy::start(&moto().endpoint, held());
    let run = c
        .run_at(Some(&proxy.endpoint), &["--parallelism", "3"])
        .await;
    assert_eq!(run.code, 0, "{run}");
    let max = proxy.max_in_flight();
    assert!(
        (2..=3).contains(&max),
        "{max} requests in flight with --parallelism 3"
    );
}

// --- Shard wholeness -----------------------------------------------------------------------

/// A safetensors file with `tensors` one-byte tensors: its header grows with their number.
fn safetensors_with(tensors: usize) -> Vec<u8> {
    let header: serde_json::Map<String, Value> = (0..tensors)
        .map(|i| {
            (
                format!("model.layers.{i}.weight"),
                json!({"dtype": "U8", "shape": [1], "data_offsets": [i, i + 1]}),
            )
        })
        .collect();
    let header = serde_json::to_vec(&header).unwrap();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(&header);
    out.extend(std::iter::repeat_n(0u8, tensors));
    out
}

/// A truncated shard is a problem (exit 2), found with ranged GETs of the headers; a
/// header longer than the first read takes a second one and still counts as whole.
#[tokio::test]
async fn a_truncated_shard_is_a_problem_found_by_its_header() {
    let s3 = sdk(None).await.s3;
    let b = new_bucket(&s3, "check-whole").await;
    let mut objects = sharded_model("llama/", 3);
    let long = safetensors_with(2000);
    assert!(long.len() > 64 * 1024);
    let truncated = &long[..long.len() - 100];
    for (k, body) in &mut objects {
        if k.ends_with("00001-of-00003.safetensors") {
            *body = long.clone();
        }
        if k.ends_with("00002-of-00003.safetensors") {
            *body = truncated.to_vec();
        }
        if k.ends_with("00003-of-00003.safetensors") {
            *body = b"not a safetensors file".to_vec();
        }
    }
    upload(&s3, &b, objects).await;
    let c = Check::new(plan_text(&b, "", &[("llama/", None)]));
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let run = c.run_at(Some(&proxy.endpoint), &["--format", "json"]).await;
    assert_eq!(run.code, 2, "{run}");
    let report = json_of(&run);
    let p = &model(&report, "llama/")["problems"];
    assert_eq!(
        p[0],
        json!({
            "problem": "wrong_size",
            "file": "model-00002-of-00003.safetensors",
            "size": truncated.len(),
            "expected": long.len(),
            "message": format!(
                "`model-00002-of-00003.safetensors` is truncated: {} bytes, its header says {} (an upload or copy that stopped early)",
                truncated.len(),
                long.len()
            ),
        }),
        "{run}"
    );
    assert_eq!(p[1]["problem"], "bad_header", "{run}");
    assert_eq!(p[1]["file"], "model-00003-of-00003.safetensors", "{run}");
    assert_eq!(p.as_array().unwrap().len(), 2, "{run}");
    // The index, then per shard one ranged GET, and a second one for the two long headers.
    let gets = proxy
        .operation_names()
        .iter()
        .filter(|n| *n == "GetObject")
        .count();
    assert_eq!(gets, 1 + 3 + 2, "{run}");
    assert_only_reads(&proxy, &run);
}
