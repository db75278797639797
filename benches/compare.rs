//! s3ward against the tools people use instead, on the same local AWS, through the same
//! latency proxy, in the same run. Run it with `scripts/bench.sh` (which installs the peers
//! and builds the release binary first); the method and the results are in
//! `docs/performance.md`.
//!
//! For each size N (buckets; M = N/5 roles) it starts a fresh moto server, writes a plan file
//! (every bucket with ownership, public access block, tags and grants to roles), derives the
//! peers' `EXPECTED.json` from `s3ward plan --format json` on the empty account, populates
//! moto with `s3ward apply --auto-approve`, and then, for each latency, measures through a
//! recording proxy that adds that latency to every call:
//!
//! - `s3ward plan` and `s3ward drift` (the release binary as a subprocess);
//! - `boto3_drift.py EXPECTED.json` (sequential boto3) and `custodian run --dryrun`.
//!
//! For `check` it fills separate buckets with O objects in model directories of 100 and
//! compares `s3ward check` with the how-to's recipe (`seed-acl-recipe.sh`: one `aws` process
//! per object), which runs on a sample and is extrapolated linearly to O.
//!
//! Measured per run: wall time, peak RSS (GNU `time`; for a process tree its largest process), the calls the proxy
//! saw per service and operation, and the most requests in flight. The ideal is
//! `calls × latency / parallelism`. Results go to `target/bench/results.jsonl` (one JSON
//! object per run, written as it finishes) and `target/bench/summary.md` (the tables).
//!
//! It is not a test: `cargo test` does not build it, and run without `--bench` (as
//! `cargo test --benches` would) it does nothing.

// The integration tests' harness: hermetic environment, SDK clients, the proxy. Built here
// with `cfg(test)` but without the test harness, so its test modules' imports go unused.
#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};

use support::proxy::{Fault, Proxy, ProxyRules, Rule};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const S3WARD: &str = env!("CARGO_BIN_EXE_s3ward");
/// Runs of `plan` with and without expectations, each, per size and latency.
const PAIRS: usize = 5;
/// Objects per model directory in the `check` data set.
const OBJECTS_PER_DIR: usize = 100;
/// Model directories per bucket in the `check` data set.
const DIRS_PER_BUCKET: usize = 10;
/// A canonical user id that is not moto's (which owns everything else).
const OTHER_OWNER: &str = "0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a09080706050403020100f";

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("compare: not a test; run `scripts/bench.sh` (or `cargo bench --bench compare`)");
        return;
    }
    let cfg = Config::from_env();
    fs::create_dir_all(&cfg.out).expect("create the output directory");
    let results_path = cfg.out.join("results.jsonl");
    let mut bench = Bench {
        results: File::create(&results_path).expect("create results.jsonl"),
        rows: Vec::new(),
        runtime: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime"),
        cfg,
    };
    eprintln!("compare: {:?}", bench.cfg);
    let started = Instant::now();
    for n in bench.cfg.ns.clone() {
        bench.plan_and_drift(n);
    }
    for o in bench.cfg.objects.clone() {
        bench.check(o);
    }
    let summary = summary(&bench.cfg, &bench.rows);
    fs::write(bench.cfg.out.join("summary.md"), &summary).expect("write summary.md");
    println!("{summary}");
    eprintln!(
        "compare: done in {:.0?}; {} and summary.md in {}",
        started.elapsed(),
        results_path.display(),
        bench.cfg.out.display()
    );
}

// --- Configuration ----------------------------------------------------------------------

#[derive(Debug)]
struct Config {
    /// Bucket counts (`BENCH_N`); roles are N/5.
    ns: Vec<usize>,
    /// Added latency per call, in milliseconds (`BENCH_LATENCIES_MS`).
    latencies: Vec<u64>,
    /// Object counts for `check` (`BENCH_OBJECTS`).
    objects: Vec<usize>,
    /// Peers to run: `boto3`, `custodian`, `recipe` (`BENCH_PEERS`).
    peers: Vec<String>,
    /// The largest N at which the drift peers run (`BENCH_PEER_MAX_N`).
    peer_max_n: usize,
    /// Objects the recipe runs on, per latency (`BENCH_RECIPE_SAMPLE`); rounded up to whole
    /// model directories.
    recipe_sample: usize,
    parallelism: usize,
    /// Other `--parallelism` values for `plan` at latencies above 0 (`BENCH_EXTRA_PARALLELISM`).
    extra_parallelism: Vec<usize>,
    out: PathBuf,
    /// Where `boto3_drift.py`, `c7n-drift.yml` and `seed-acl-recipe.sh` are (`BENCH_PEERS_DIR`).
    peers_dir: PathBuf,
    /// The peers' virtualenv (`BENCH_VENV`).
    venv: PathBuf,
    /// Kill a run that takes longer (`BENCH_RUN_TIMEOUT_S`).
    run_timeout: Duration,
}

impl Config {
    fn from_env() -> Config {
        let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let list = |name: &str, default: &str| -> Vec<u64> {
            std::env::var(name)
                .unwrap_or_else(|_| default.to_string())
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim()
                        .parse()
                        .unwrap_or_else(|_| panic!("{name}: not a number: {s:?}"))
                })
                .collect()
        };
        let one = |name: &str, default: u64| list(name, &default.to_string())[0];
        let path = |name: &str, default: &str| {
            PathBuf::from(std::env::var(name).unwrap_or_else(|_| default.to_string()))
        };
        Config {
            ns: list("BENCH_N", if quick { "50" } else { "100,500,1000" })
                .into_iter()
                .map(|n| n as usize)
                .collect(),
            latencies: list("BENCH_LATENCIES_MS", "0,100"),
            objects: list("BENCH_OBJECTS", if quick { "1000" } else { "1000,10000" })
                .into_iter()
                .map(|n| n as usize)
                .collect(),
            peers: std::env::var("BENCH_PEERS")
                .unwrap_or_else(|_| "boto3,custodian,recipe".into())
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            peer_max_n: one("BENCH_PEER_MAX_N", 1000) as usize,
            recipe_sample: one("BENCH_RECIPE_SAMPLE", if quick { 20 } else { 200 }) as usize,
            parallelism: one(
                "BENCH_PARALLELISM",
                u64::from(s3ward::cli::DEFAULT_PARALLELISM),
            ) as usize,
            extra_parallelism: list("BENCH_EXTRA_PARALLELISM", "16")
                .into_iter()
                .map(|n| n as usize)
                .collect(),
            out: path("BENCH_OUT", &format!("{ROOT}/target/bench")),
            peers_dir: path("BENCH_PEERS_DIR", &format!("{ROOT}/bench/peers")),
            venv: path("BENCH_VENV", &format!("{ROOT}/.venv-bench")),
            run_timeout: Duration::from_secs(one("BENCH_RUN_TIMEOUT_S", 3600)),
        }
    }

    fn peer(&self, name: &str) -> bool {
        self.peers.iter().any(|p| p == name)
    }
}

// --- One measured run -------------------------------------------------------------------

/// One run of one tool, as written to `results.jsonl`.
#[derive(Clone, Debug, Serialize)]
struct Row {
    /// `populate`, `plan`, `drift`, `check`, `plan (paired)`, `plan+expect`, `why`, `why --live`.
    workload: &'static str,
    /// `s3ward`, `boto3_drift.py`, `custodian`, `aws-cli recipe`.
    tool: &'static str,
    buckets: usize,
    roles: usize,
    objects: usize,
    latency_ms: u64,
    /// s3ward's `--parallelism` (0 for the peers).
    parallelism: usize,
    wall_s: f64,
    /// User + system CPU seconds the tool itself spent (not moto's, not the proxy's).
    cpu_s: f64,
    /// Peak resident set of the process, or of the largest process of its tree (for the
    /// recipe: the largest `aws` process), MiB.
    peak_rss_mib: f64,
    exit_code: i32,
    /// Calls the proxy saw, per service and per operation.
    calls: BTreeMap<String, usize>,
    operations: BTreeMap<String, usize>,
    calls_total: usize,
    /// Calls that failed (status ≥ 400 or no answer), which a tool may expect ("no such").
    error_answers: usize,
    max_in_flight: usize,
    /// `calls × latency / parallelism` (s3ward only).
    ideal_s: Option<f64>,
    /// s3ward's own count (`-v`: "AWS calls: ...").
    reported: Option<String>,
    /// The recipe ran on this many objects of `objects`; `wall_s` is extrapolated from
    /// `sample_wall_s`.
    sampled_objects: Option<usize>,
    sample_wall_s: Option<f64>,
    /// What the tool concluded (exit code meaning, resources matched, problems found).
    outcome: String,
    /// The 1-minute load average when the run started (other work on the machine).
    load_before: f64,
}

struct Measured {
    wall: Duration,
    /// User + system CPU time of the process (for a tree: GNU time's, its waited-for children).
    cpu: Duration,
    peak_rss_kib: i64,
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` to completion and measures its wall time and peak RSS.
///
/// The peak RSS and CPU time come from GNU time (`/usr/bin/time -f "%M %U %S"`), not from our own `wait4`: a
/// child forked from this (large) process inherits our RSS high-water mark until it execs,
/// and the kernel keeps that in the child's `ru_maxrss`. `time` is small, so what it reports
/// is the tool's own peak (for a process tree, the largest process in it).
fn measure(cmd: Command, timeout: Duration) -> Measured {
    let rss_file = tempfile::NamedTempFile::new().expect("a temporary file");
    let mut timed = Command::new("/usr/bin/time");
    timed
        .arg("-f")
        .arg("%M %U %S")
        .arg("-o")
        .arg(rss_file.path())
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        timed.current_dir(dir);
    }
    // Its own process group, so that a timeout kills the whole tree.
    timed
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = timed
        .spawn()
        .unwrap_or_else(|e| panic!("spawn /usr/bin/time {:?}: {e}", cmd.get_program()));
    let pid = child.id();
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(timeout) == Err(mpsc::RecvTimeoutError::Timeout) {
            eprintln!("compare: run exceeded {timeout:?}; killing process group {pid}");
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{pid}")])
                .status();
        }
    });
    let status = child.wait().expect("wait for the run");
    let wall = started.elapsed();
    let _ = done_tx.send(());
    let _ = watchdog.join();
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1);
    // GNU time writes "Command exited with non-zero status N" before the values: peak RSS
    // (KiB), user and system CPU seconds.
    let timed = fs::read_to_string(rss_file.path()).unwrap_or_default();
    let values: Vec<f64> = timed
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let (peak_rss_kib, cpu) = match values[..] {
        [rss, user, sys] => (rss as i64, Duration::from_secs_f64(user + sys)),
        _ => (-1, Duration::ZERO),
    };
    Measured {
        wall,
        cpu,
        peak_rss_kib,
        code,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// The environment of every measured tool: no real AWS, the fake keys, `endpoint`.
fn aws_env(cmd: &mut Command, endpoint: &str) {
    support::hermetic_env(cmd, endpoint);
    // botocore reads AWS_DEFAULT_REGION (AWS_REGION only in recent versions).
    cmd.env("AWS_DEFAULT_REGION", support::REGION);
}

// --- A moto server of our own -----------------------------------------------------------

/// A fresh moto server (with the test strictness layer), one per data set, so that the
/// sizes do not share state. `support::moto()` is one server per process; this is not.
struct MotoServer {
    endpoint: String,
    port: u16,
    child: Child,
    _stdin: ChildStdin,
}

impl MotoServer {
    fn start(log: &Path) -> MotoServer {
        let python = Path::new(ROOT).join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/setup-moto.sh (scripts/bench.sh does)",
            python.display()
        );
        let mut child = Command::new(python)
            .arg(Path::new(ROOT).join("tests/support/moto_server.py"))
            .current_dir(ROOT)
            .env_remove("MOTO_ACCOUNT_ID")
            // The data set is written by s3ward apply: no artificial IAM propagation delay.
            .env("S3WARD_TEST_PRINCIPAL_DELAY", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(log).expect("moto log file"))
            .spawn()
            .expect("start moto");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("read moto's port");
        let port: u16 = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("moto did not start; first line {line:?}"));
        let deadline = Instant::now() + Duration::from_secs(60);
        while http(port, "GET", "/_s3ward/health", "")
            .ok()
            .map(|(s, _)| s)
            != Some(200)
        {
            assert!(Instant::now() < deadline, "moto on {port} is not healthy");
            std::thread::sleep(Duration::from_millis(50));
        }
        MotoServer {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            child,
            _stdin: stdin,
        }
    }

    fn set_object_owner(&self, bucket: &str, key: &str) {
        let body = json!({"bucket": bucket, "key": key, "owner_id": OTHER_OWNER,
                          "display_name": "other-account"})
        .to_string();
        let (status, text) =
            http(self.port, "POST", "/_s3ward/object-owner", &body).expect("object-owner hook");
        assert_eq!(status, 200, "object-owner hook: {text}");
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    s.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let text = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, text))
}

fn latency_proxy(upstream: &str, latency_ms: u64) -> Proxy {
    let rules = if latency_ms == 0 {
        ProxyRules::none()
    } else {
        ProxyRules::none()
            .with(Rule::new(Fault::Latency(Duration::from_millis(latency_ms))).probability(1.0))
    };
    Proxy::start(upstream, rules)
}

// --- Data sets --------------------------------------------------------------------------

const ACCOUNT: &str = support::AMBIENT_ACCOUNT;

fn bucket_name(i: usize) -> String {
    format!("s3ward-bench-{i:04}")
}

/// N buckets and N/5 roles in the ambient account, as a team would declare them: every
/// bucket enforces ownership, blocks public access, carries tags and grants read of
/// `models/` to a role; every fifth bucket also grants read-write of `checkpoints/` to
/// another. Roles are assumed by EKS service accounts and have one managed policy.
///
/// With `expect`, every bucket also carries two expectations (`[[buckets.KEY.expect]]`): its
/// reader role can read `models/`, and a role of an account the plan does not know can
/// neither list nor read. They change nothing in AWS: the same live state plans the same.
fn drift_plan(n: usize, expect: bool) -> (String, usize) {
    let m = (n / 5).max(1);
    let mut t = format!(
        "# Generated by benches/compare.rs: {n} buckets, {m} roles.\nversion = 1\n\n\
         [settings]\nname = \"bench-{n}\"\nregion = \"us-east-1\"\n\n\
         [accounts.main]\nid = \"{ACCOUNT}\"\n\n"
    );
    for j in 0..m {
        let _ = write!(
            t,
            "[roles.r{j:04}]\naccount = \"main\"\nname = \"bench-model-reader-{j:04}\"\n\
             description = \"EKS pods of team {j} that load model weights\"\n\
             tags = {{ team = \"team-{j}\" }}\n\
             trust = [{{ eks = {{ oidc_provider = \"oidc.eks.us-east-1.amazonaws.com/id/BENCHD539D4633E53DE1B71EXAMPLE\", namespace = \"ml\", service_account = \"reader-{j}\" }} }}]\n\
             managed_policies = [\"arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy\"]\n\n"
        );
    }
    for i in 0..n {
        let _ = write!(
            t,
            "[buckets.b{i:04}]\naccount = \"main\"\nname = \"{}\"\n\
             object_ownership = \"BucketOwnerEnforced\"\nblock_public_access = true\n\
             tags = {{ team = \"team-{}\", data = \"model-weights\" }}\n\n\
             [[buckets.b{i:04}.grants]]\nto = \"role.r{:04}\"\naccess = \"read\"\n\
             prefixes = [\"models/\"]\n\n",
            bucket_name(i),
            i % m,
            i % m
        );
        if i % 5 == 0 {
            let _ = write!(
                t,
                "[[buckets.b{i:04}.grants]]\nto = \"role.r{:04}\"\naccess = \"read-write\"\n\
                 prefixes = [\"checkpoints/\"]\n\n",
                (i / 5 + 1) % m
            );
        }
        if expect {
            let _ = write!(
                t,
                "[[buckets.b{i:04}.expect]]\nwho = \"role.r{:04}\"\ncan = [\"read\"]\n\
                 prefix = \"models/\"\n\n\
                 [[buckets.b{i:04}.expect]]\nwho = \"arn:aws:iam::333333333333:role/outsider\"\n\
                 cannot = [\"list\", \"read\"]\n\n",
                i % m
            );
        }
    }
    (t, m)
}

/// `EXPECTED.json` for `boto3_drift.py` (see `bench/peers/README.md`), from
/// `s3ward plan --format json` against the empty account: every `after` is what the plan
/// file asks for.
fn expected_from_plan(plan_json: &str) -> Value {
    let plan: Value = serde_json::from_str(plan_json).expect("plan --format json");
    let mut bucket_names = BTreeMap::new();
    let mut role_names = BTreeMap::new();
    for c in plan["changes"].as_array().expect("changes") {
        let addr = c["address"].as_str().unwrap_or_default();
        if let Some(key) = addr.strip_prefix("bucket.").filter(|k| !k.contains('.')) {
            bucket_names.insert(key.to_string(), c["after"]["name"].clone());
        }
        if let Some(key) = addr.strip_prefix("role.").filter(|k| !k.contains('.')) {
            role_names.insert(key.to_string(), c["after"]["name"].clone());
        }
    }
    let mut buckets = serde_json::Map::new();
    let mut roles = serde_json::Map::new();
    let name_of = |names: &BTreeMap<String, Value>, key: &str| -> String {
        names[key].as_str().expect("a name").to_string()
    };
    for c in plan["changes"].as_array().expect("changes") {
        let addr = c["address"].as_str().unwrap_or_default();
        let after = &c["after"];
        if let Some(rest) = addr.strip_prefix("bucket.") {
            let (key, setting) = rest.split_once('.').unwrap_or((rest, ""));
            let b = buckets.entry(name_of(&bucket_names, key)).or_insert_with(
                || json!({"policy": null, "ownership": null, "public_access_block": null}),
            );
            match setting {
                // A new bucket's ownership comes with its creation, not as a change of its own.
                "" if !after["object_ownership"].is_null() => {
                    b["ownership"] = after["object_ownership"].clone()
                }
                "policy" => b["policy"] = after.clone(),
                "ownership" => b["ownership"] = after.clone(),
                "public_access_block" => {
                    b["public_access_block"] = json!({
                        "BlockPublicAcls": after["block_public_acls"],
                        "IgnorePublicAcls": after["ignore_public_acls"],
                        "BlockPublicPolicy": after["block_public_policy"],
                        "RestrictPublicBuckets": after["restrict_public_buckets"],
                    })
                }
                _ => {}
            }
        } else if let Some(rest) = addr.strip_prefix("role.") {
            let (key, setting) = rest.split_once('.').unwrap_or((rest, ""));
            let r = roles.entry(name_of(&role_names, key)).or_insert_with(
                || json!({"trust": null, "managed_policies": [], "inline_policies": {}}),
            );
            if setting.is_empty() {
                r["trust"] = after["trust"].clone();
            } else if let Some(name) = setting.strip_prefix("inline_policy[") {
                let name: String =
                    serde_json::from_str(name.trim_end_matches(']')).expect("a JSON string");
                r["inline_policies"][name] = after.clone();
            } else if setting.starts_with("managed_policy[") {
                r["managed_policies"]
                    .as_array_mut()
                    .expect("a list")
                    .push(after.clone());
            }
        }
    }
    json!({"buckets": buckets, "roles": roles})
}

/// The `check` data set: O objects in model directories of 100 (config, tokenizer,
/// generation config, a safetensors index and the 96 shards it names), 10 directories per
/// bucket; one shard per directory is owned by another account. Buckets do not enforce
/// ownership, so `check` asks for owners.
fn check_layout(objects: usize) -> Vec<(String, Vec<String>)> {
    let dirs = objects.div_ceil(OBJECTS_PER_DIR);
    let buckets = dirs.div_ceil(DIRS_PER_BUCKET);
    (0..buckets)
        .map(|b| {
            let in_bucket = (dirs - b * DIRS_PER_BUCKET).min(DIRS_PER_BUCKET);
            (
                format!("s3ward-bench-models-{b:03}"),
                (0..in_bucket).map(|d| format!("model-{d:02}/")).collect(),
            )
        })
        .collect()
}

const SHARDS: usize = OBJECTS_PER_DIR - 4;

fn shard(k: usize) -> String {
    format!("model-{:05}-of-{SHARDS:05}.safetensors", k + 1)
}

fn model_files() -> Vec<(String, Vec<u8>)> {
    let weight_map: serde_json::Map<String, Value> = (0..SHARDS)
        .map(|k| (format!("model.layers.{k}.weight"), json!(shard(k))))
        .collect();
    let index = json!({"metadata": {"total_size": SHARDS * 16}, "weight_map": weight_map});
    let mut files = vec![
        (
            "config.json".to_string(),
            br#"{"model_type":"bench"}"#.to_vec(),
        ),
        (
            "tokenizer.json".to_string(),
            br#"{"version":"1.0"}"#.to_vec(),
        ),
        (
            "generation_config.json".to_string(),
            br#"{"do_sample":true}"#.to_vec(),
        ),
        (
            "model.safetensors.index.json".to_string(),
            serde_json::to_vec(&index).expect("json"),
        ),
    ];
    files.extend((0..SHARDS).map(|k| (shard(k), vec![b'w'; 16])));
    files
}

fn check_plan(objects: usize, layout: &[(String, Vec<String>)]) -> String {
    let mut t = format!(
        "# Generated by benches/compare.rs: {objects} objects.\nversion = 1\n\n\
         [settings]\nname = \"bench-check-{objects}\"\nregion = \"us-east-1\"\n\n\
         [accounts.main]\nid = \"{ACCOUNT}\"\n\n"
    );
    for (b, (name, dirs)) in layout.iter().enumerate() {
        let _ = write!(
            t,
            "[buckets.m{b:03}]\naccount = \"main\"\nname = \"{name}\"\n\n"
        );
        for d in dirs {
            let _ = write!(
                t,
                "[[buckets.m{b:03}.models]]\nprefix = \"{d}\"\n\
                 require = [\"config.json\", \"tokenizer.json\"]\n\n"
            );
        }
    }
    t
}

// --- The benchmark ----------------------------------------------------------------------

struct Bench {
    cfg: Config,
    results: File,
    rows: Vec<Row>,
    runtime: tokio::runtime::Runtime,
}

/// What the proxy saw during one run.
struct Seen {
    calls: BTreeMap<String, usize>,
    operations: BTreeMap<String, usize>,
    total: usize,
    errors: usize,
    max_in_flight: usize,
}

fn seen(proxy: &Proxy) -> Seen {
    let ops = proxy.operations();
    let mut calls = BTreeMap::new();
    let mut operations = BTreeMap::new();
    for r in &ops {
        *calls.entry(r.service.to_string()).or_default() += 1;
        *operations
            .entry(format!("{} {}", r.service, r.operation))
            .or_default() += 1;
    }
    Seen {
        calls,
        operations,
        total: ops.len(),
        errors: ops
            .iter()
            .filter(|r| r.status.is_none_or(|s| s >= 400))
            .count(),
        max_in_flight: proxy.max_in_flight(),
    }
}

struct Run<'a> {
    workload: &'static str,
    /// s3ward's `--parallelism` (0 for the peers).
    parallelism: usize,
    tool: &'static str,
    buckets: usize,
    roles: usize,
    objects: usize,
    latency_ms: u64,
    cmd: Command,
    proxy: &'a Proxy,
}

impl Bench {
    fn s3ward(&self, endpoint: &str, args: &[&str]) -> Command {
        self.s3ward_with(self.cfg.parallelism, endpoint, args)
    }

    /// s3ward with `-v`; `--parallelism` only when it is not the default, so the default
    /// runs are s3ward as a user runs it.
    fn s3ward_with(&self, parallelism: usize, endpoint: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(S3WARD);
        aws_env(&mut cmd, endpoint);
        cmd.arg("-v");
        if parallelism != usize::from(s3ward::cli::DEFAULT_PARALLELISM) {
            cmd.arg("--parallelism").arg(parallelism.to_string());
        }
        cmd.args(args);
        cmd
    }

    fn venv_cmd(&self, program: &str, endpoint: &str) -> Command {
        let bin = self.cfg.venv.join("bin");
        let mut cmd = Command::new(if program.contains('/') {
            PathBuf::from(program)
        } else {
            bin.join(program)
        });
        aws_env(&mut cmd, endpoint);
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", bin.display()))
            .env("PYTHONDONTWRITEBYTECODE", "1");
        cmd
    }

    /// Runs one tool through `proxy`, records and returns the row and what it printed.
    fn run(&mut self, r: Run<'_>, outcome: impl Fn(&Measured) -> String) -> (Row, Measured) {
        r.proxy.clear();
        eprintln!(
            "compare: {} {} (N={}, M={}, O={}, {} ms) ...",
            r.tool, r.workload, r.buckets, r.roles, r.objects, r.latency_ms
        );
        let load_before = load_average();
        let m = measure(r.cmd, self.cfg.run_timeout);
        let s = seen(r.proxy);
        if r.tool == "s3ward" {
            // `-v` logs every call with its duration: the profile of the run.
            let log = self.cfg.out.join("logs").join(format!(
                "s3ward-{}-n{}-o{}-{}ms-p{}.log",
                r.workload, r.buckets, r.objects, r.latency_ms, r.parallelism
            ));
            let _ = fs::create_dir_all(log.parent().expect("a directory"));
            let _ = fs::write(log, &m.stderr);
        }
        let row = Row {
            workload: r.workload,
            tool: r.tool,
            buckets: r.buckets,
            roles: r.roles,
            objects: r.objects,
            latency_ms: r.latency_ms,
            parallelism: r.parallelism,
            wall_s: m.wall.as_secs_f64(),
            cpu_s: m.cpu.as_secs_f64(),
            peak_rss_mib: m.peak_rss_kib as f64 / 1024.0,
            exit_code: m.code,
            calls: s.calls,
            operations: s.operations,
            calls_total: s.total,
            error_answers: s.errors,
            max_in_flight: s.max_in_flight,
            ideal_s: (r.tool == "s3ward").then(|| {
                s.total as f64 * r.latency_ms as f64 / 1000.0 / r.parallelism.max(1) as f64
            }),
            reported: m.stderr.lines().find_map(|l| {
                l.split_once("AWS calls: ")
                    .map(|(_, c)| c.trim().to_string())
            }),
            sampled_objects: None,
            sample_wall_s: None,
            outcome: outcome(&m),
            load_before,
        };
        eprintln!(
            "compare:   {:.2} s, {:.1} MiB, exit {}, {} calls {:?}, max in flight {}{}",
            row.wall_s,
            row.peak_rss_mib,
            row.exit_code,
            row.calls_total,
            row.calls,
            row.max_in_flight,
            row.ideal_s
                .map(|i| format!(", ideal {i:.2} s"))
                .unwrap_or_default()
        );
        if m.code != 0 && m.code != 2 {
            eprintln!(
                "compare:   stderr (tail): {}",
                tail(&m.stderr, 1500).replace('\n', "\n    ")
            );
        }
        (row, m)
    }

    fn record(&mut self, row: Row) {
        serde_json::to_writer(&mut self.results, &row).expect("write results");
        writeln!(self.results).expect("write results");
        self.results.flush().expect("flush results");
        self.rows.push(row);
    }

    fn plan_and_drift(&mut self, n: usize) {
        let dir = self.cfg.out.join(format!("n{n}"));
        fs::create_dir_all(&dir).expect("create the data set directory");
        let (plan_text, m) = drift_plan(n, false);
        let plan = dir.join("plan.toml");
        fs::write(&plan, plan_text).expect("write the plan file");
        let plan_arg = plan.to_str().expect("a UTF-8 path").to_string();
        let expect_plan = dir.join("plan-expect.toml");
        fs::write(&expect_plan, drift_plan(n, true).0).expect("write the plan file");
        let expect_arg = expect_plan.to_str().expect("a UTF-8 path").to_string();
        let moto = MotoServer::start(&dir.join("moto.log"));
        eprintln!("compare: N={n}: moto on {}", moto.endpoint);

        // EXPECTED.json for the boto3 script, from the plan on the empty account.
        let m0 = measure(
            self.s3ward(&moto.endpoint, &["plan", "--format", "json", &plan_arg]),
            self.cfg.run_timeout,
        );
        assert_eq!(m0.code, 0, "plan on the empty account: {}", m0.stderr);
        let expected = dir.join("EXPECTED.json");
        fs::write(
            &expected,
            serde_json::to_string_pretty(&expected_from_plan(&m0.stdout)).expect("json"),
        )
        .expect("write EXPECTED.json");

        // Populate with s3ward apply (through a recording proxy without latency).
        let proxy = latency_proxy(&moto.endpoint, 0);
        let apply = self.s3ward(&proxy.endpoint, &["apply", "--auto-approve", &plan_arg]);
        let (row, _) = self.run(
            Run {
                parallelism: self.cfg.parallelism,
                workload: "populate",
                tool: "s3ward",
                buckets: n,
                roles: m,
                objects: 0,
                latency_ms: 0,
                cmd: apply,
                proxy: &proxy,
            },
            |m| format!("apply exit {}", m.code),
        );
        assert_eq!(row.exit_code, 0, "apply failed; see above");
        self.record(row);
        drop(proxy);

        for latency in self.cfg.latencies.clone() {
            let proxy = latency_proxy(&moto.endpoint, latency);
            for workload in ["plan", "drift"] {
                let mut args = vec![workload];
                if workload == "plan" {
                    args.push("--detailed-exitcode");
                }
                args.push(&plan_arg);
                let cmd = self.s3ward(&proxy.endpoint, &args);
                let (row, _) = self.run(
                    Run {
                        parallelism: self.cfg.parallelism,
                        workload,
                        tool: "s3ward",
                        buckets: n,
                        roles: m,
                        objects: 0,
                        latency_ms: latency,
                        cmd,
                        proxy: &proxy,
                    },
                    |m| match m.code {
                        0 => "in sync".into(),
                        2 => format!("differs: {}", last_line(&m.stdout)),
                        c => format!("error {c}: {}", last_line(&m.stderr)),
                    },
                );
                self.record(row);
            }
            self.expectations_and_why(n, m, latency, &proxy, &plan_arg, &expect_arg);
            // Other limits of requests in flight: what the latency bound becomes, and
            // where moto's own throughput takes over.
            for p in self.cfg.extra_parallelism.clone() {
                if latency == 0 || p == self.cfg.parallelism {
                    continue;
                }
                let cmd = self.s3ward_with(p, &proxy.endpoint, &["plan", &plan_arg]);
                let (row, _) = self.run(
                    Run {
                        workload: "plan",
                        parallelism: p,
                        tool: "s3ward",
                        buckets: n,
                        roles: m,
                        objects: 0,
                        latency_ms: latency,
                        cmd,
                        proxy: &proxy,
                    },
                    |m| format!("exit {}", m.code),
                );
                self.record(row);
            }
            if n > self.cfg.peer_max_n {
                continue;
            }
            if self.cfg.peer("boto3") {
                let mut cmd = self.venv_cmd("python", &proxy.endpoint);
                cmd.arg(self.cfg.peers_dir.join("boto3_drift.py"))
                    .arg(&expected);
                let (row, _) = self.run(
                    Run {
                        parallelism: 0,
                        workload: "drift",
                        tool: "boto3_drift.py",
                        buckets: n,
                        roles: m,
                        objects: 0,
                        latency_ms: latency,
                        cmd,
                        proxy: &proxy,
                    },
                    |m| format!("exit {}: {}", m.code, last_line(&m.stdout)),
                );
                self.record(row);
            }
            if self.cfg.peer("custodian") {
                let out = dir.join(format!("custodian-{latency}ms"));
                let _ = fs::remove_dir_all(&out);
                let cache = dir.join(format!("custodian-{latency}ms.cache"));
                let _ = fs::remove_file(&cache);
                let mut cmd = self.venv_cmd("custodian", &proxy.endpoint);
                cmd.args(["run", "--dryrun", "-s"])
                    .arg(&out)
                    .args(["--region", "us-east-1", "--cache"])
                    .arg(&cache)
                    .arg(self.cfg.peers_dir.join("c7n-drift.yml"));
                let (row, _) = self.run(
                    Run {
                        parallelism: 0,
                        workload: "drift",
                        tool: "custodian",
                        buckets: n,
                        roles: m,
                        objects: 0,
                        latency_ms: latency,
                        cmd,
                        proxy: &proxy,
                    },
                    |m| format!("exit {}: matched {}", m.code, custodian_matches(&out)),
                );
                self.record(row);
            }
        }
    }

    /// What expectations and `why` cost next to `plan`: `plan` and `plan` of the same plan
    /// file with two expectations per bucket, in turn, [`PAIRS`] times each (the medians
    /// are compared: one pair would measure moto's noise); then `why` offline (no AWS call)
    /// and `why --live` of one question.
    fn expectations_and_why(
        &mut self,
        n: usize,
        m: usize,
        latency: u64,
        proxy: &Proxy,
        plan_arg: &str,
        expect_arg: &str,
    ) {
        let measured = |bench: &mut Bench, workload: &'static str, args: &[&str]| {
            let cmd = bench.s3ward(&proxy.endpoint, args);
            let (row, _) = bench.run(
                Run {
                    parallelism: bench.cfg.parallelism,
                    workload,
                    tool: "s3ward",
                    buckets: n,
                    roles: m,
                    objects: 0,
                    latency_ms: latency,
                    cmd,
                    proxy,
                },
                |m| match m.code {
                    0 => "exit 0".into(),
                    c => format!("exit {c}: {}", last_line(&m.stderr)),
                },
            );
            bench.record(row);
        };
        for _ in 0..PAIRS {
            measured(self, "plan (paired)", &["plan", plan_arg]);
            measured(self, "plan+expect", &["plan", expect_arg]);
        }
        let resource = format!("s3://{}/models/config.json", bucket_name(0));
        let why = [
            "why",
            expect_arg,
            "--principal",
            "role.r0000",
            "--action",
            "s3:GetObject",
            "--resource",
            &resource,
        ];
        measured(self, "why", &why);
        let mut live = why.to_vec();
        live.push("--live");
        measured(self, "why --live", &live);
    }

    fn check(&mut self, objects: usize) {
        let dir = self.cfg.out.join(format!("objects{objects}"));
        fs::create_dir_all(&dir).expect("create the data set directory");
        let layout = check_layout(objects);
        let plan = dir.join("check.toml");
        fs::write(&plan, check_plan(objects, &layout)).expect("write the plan file");
        let plan_arg = plan.to_str().expect("a UTF-8 path").to_string();
        let moto = MotoServer::start(&dir.join("moto.log"));
        eprintln!(
            "compare: O={objects}: {} buckets on {}; uploading ...",
            layout.len(),
            moto.endpoint
        );
        let t = Instant::now();
        self.runtime.block_on(upload(&moto.endpoint, &layout));
        for (bucket, dirs) in &layout {
            for d in dirs {
                moto.set_object_owner(bucket, &format!("{d}{}", shard(7)));
            }
        }
        eprintln!("compare:   uploaded in {:.1?}", t.elapsed());
        let total: usize = layout.iter().map(|(_, d)| d.len()).sum::<usize>() * OBJECTS_PER_DIR;

        // s3ward check at every latency first: the recipe rewrites object ACLs (owners).
        for latency in self.cfg.latencies.clone() {
            let proxy = latency_proxy(&moto.endpoint, latency);
            let cmd = self.s3ward(&proxy.endpoint, &["check", "--format", "json", &plan_arg]);
            let (row, _) = self.run(
                Run {
                    parallelism: self.cfg.parallelism,
                    workload: "check",
                    tool: "s3ward",
                    buckets: layout.len(),
                    roles: 0,
                    objects: total,
                    latency_ms: latency,
                    cmd,
                    proxy: &proxy,
                },
                check_outcome,
            );
            self.record(row);
        }
        if !self.cfg.peer("recipe") {
            return;
        }
        let sample_dirs = self.cfg.recipe_sample.div_ceil(OBJECTS_PER_DIR).max(1);
        let sample: Vec<(String, String)> = layout
            .iter()
            .flat_map(|(b, dirs)| dirs.iter().map(move |d| (b.clone(), d.clone())))
            .take(sample_dirs)
            .collect();
        // A sample under one directory: the prefix `model-0000` selects 9 of its shards.
        let small = self.cfg.recipe_sample < OBJECTS_PER_DIR;
        for latency in self.cfg.latencies.clone() {
            let proxy = latency_proxy(&moto.endpoint, latency);
            let mut rows = Vec::new();
            for (bucket, d) in &sample {
                let prefix = if small {
                    format!("{d}model-0000")
                } else {
                    d.clone()
                };
                let mut cmd = self.venv_cmd("/bin/bash", &proxy.endpoint);
                cmd.arg(self.cfg.peers_dir.join("seed-acl-recipe.sh"))
                    .arg(bucket)
                    .arg(&prefix);
                let (row, _) = self.run(
                    Run {
                        parallelism: 0,
                        workload: "check",
                        tool: "aws-cli recipe",
                        buckets: 1,
                        roles: 0,
                        objects: total,
                        latency_ms: latency,
                        cmd,
                        proxy: &proxy,
                    },
                    |m| format!("exit {}", m.code),
                );
                rows.push(row);
            }
            let sampled: usize = rows
                .iter()
                .map(|r| r.operations.get("s3 PutObjectAcl").copied().unwrap_or(0))
                .sum();
            let sample_wall: f64 = rows.iter().map(|r| r.wall_s).sum();
            let mut row = rows[0].clone();
            for r in &rows[1..] {
                for (k, v) in &r.calls {
                    *row.calls.entry(k.clone()).or_default() += v;
                }
                for (k, v) in &r.operations {
                    *row.operations.entry(k.clone()).or_default() += v;
                }
                row.calls_total += r.calls_total;
                row.error_answers += r.error_answers;
                row.peak_rss_mib = row.peak_rss_mib.max(r.peak_rss_mib);
                row.exit_code = row.exit_code.max(r.exit_code);
            }
            row.buckets = layout.len();
            row.sampled_objects = Some(sampled);
            row.sample_wall_s = Some(sample_wall);
            row.wall_s = sample_wall * total as f64 / sampled.max(1) as f64;
            row.outcome = format!(
                "sampled {sampled} objects in {sample_wall:.1} s ({:.3} s per object); \
                 extrapolated to {total}",
                sample_wall / sampled.max(1) as f64
            );
            eprintln!("compare:   recipe: {}", row.outcome);
            self.record(row);
        }
    }
}

/// Creates the buckets of `layout` and uploads every model directory, many requests at once.
async fn upload(endpoint: &str, layout: &[(String, Vec<String>)]) {
    let s3 = support::s3_client(endpoint, support::ambient_credentials());
    for (bucket, _) in layout {
        support::ok(s3.create_bucket().bucket(bucket).send().await);
    }
    let files = &model_files();
    let puts = layout.iter().flat_map(|(bucket, dirs)| {
        dirs.iter().flat_map(move |d| {
            files
                .iter()
                .map(move |(name, body)| (bucket.clone(), format!("{d}{name}"), body.clone()))
        })
    });
    futures::stream::iter(puts)
        .map(|(bucket, key, body)| {
            let s3 = s3.clone();
            async move {
                support::ok(
                    s3.put_object()
                        .bucket(bucket)
                        .key(key)
                        .body(body.into())
                        .send()
                        .await,
                );
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
}

fn check_outcome(m: &Measured) -> String {
    let Ok(v) = serde_json::from_str::<Value>(&m.stdout) else {
        return format!("exit {}: {}", m.code, last_line(&m.stderr));
    };
    let s = &v["summary"];
    format!(
        "exit {}: {} models, {} complete, {} objects owned by another account",
        m.code, s["models"], s["complete"], s["foreign_owned"]
    )
}

/// Resources matched per policy, from custodian's output directory.
fn custodian_matches(out: &Path) -> String {
    let Ok(entries) = fs::read_dir(out) else {
        return "no output".into();
    };
    let mut found: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let text = fs::read_to_string(e.path().join("resources.json")).ok()?;
            let n = serde_json::from_str::<Value>(&text)
                .ok()?
                .as_array()
                .map_or(0, Vec::len);
            Some(format!("{} {n}", e.file_name().to_string_lossy()))
        })
        .collect();
    found.sort();
    found.join(", ")
}

fn load_average() -> f64 {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

fn last_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_string()
}

fn tail(s: &str, n: usize) -> &str {
    let start = s.len().saturating_sub(n);
    let start = (start..s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(s.len());
    &s[start..]
}

// --- The summary ------------------------------------------------------------------------

fn find<'a>(
    rows: &'a [Row],
    workload: &str,
    tool: &str,
    size: usize,
    latency: u64,
    parallelism: usize,
) -> Option<&'a Row> {
    rows.iter().find(|r| {
        r.workload == workload
            && r.tool == tool
            && r.latency_ms == latency
            && (r.tool != "s3ward" || r.parallelism == parallelism)
            && (if workload == "check" {
                r.objects == size
            } else {
                r.buckets == size
            })
    })
}

fn secs(r: Option<&Row>) -> String {
    r.map_or("—".into(), |r| format!("{:.2} s", r.wall_s))
}

fn ratio(peer: Option<&Row>, ours: Option<&Row>) -> String {
    match (peer, ours) {
        (Some(p), Some(o)) if o.wall_s > 0.0 => format!("{:.1}×", p.wall_s / o.wall_s),
        _ => "—".into(),
    }
}

fn services(r: &Row) -> String {
    ["s3", "iam", "sts"]
        .iter()
        .map(|s| r.calls.get(*s).copied().unwrap_or(0).to_string())
        .collect::<Vec<_>>()
        .join(" / ")
}

fn median(mut xs: Vec<f64>) -> Option<f64> {
    xs.sort_by(f64::total_cmp);
    (!xs.is_empty()).then(|| xs[xs.len() / 2])
}

/// The median of `of` over the `workload` runs of s3ward at one size and latency.
fn median_of(
    rows: &[Row],
    workload: &str,
    n: usize,
    latency: u64,
    of: impl Fn(&Row) -> f64,
) -> Option<f64> {
    median(
        rows.iter()
            .filter(|r| {
                r.workload == workload
                    && r.tool == "s3ward"
                    && r.buckets == n
                    && r.latency_ms == latency
            })
            .map(of)
            .collect(),
    )
}

fn median_wall(rows: &[Row], workload: &str, n: usize, latency: u64) -> Option<f64> {
    median_of(rows, workload, n, latency, |r| r.wall_s)
}

/// #18's targets, computed from the rows (each line says which run it reads).
fn targets(cfg: &Config, rows: &[Row]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## Targets\n");
    let _ = writeln!(s, "| target | measured | |");
    let _ = writeln!(s, "|---|---|---|");
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    for &l in cfg.latencies.iter().filter(|&&l| l > 0) {
        let plan = find(rows, "plan", "s3ward", 500, l, cfg.parallelism);
        for (peer, goal) in [("boto3_drift.py", 30.0), ("custodian", 8.0)] {
            let other = find(rows, "drift", peer, 500, l, 0);
            if let (Some(p), Some(o)) = (plan, other) {
                let x = o.wall_s / p.wall_s;
                let _ = writeln!(
                    s,
                    "| plan of 500 buckets + 100 roles ≥ {goal} × faster than {peer} ({l} ms) | {:.2} s vs {:.2} s: {x:.1} × | {} |",
                    p.wall_s,
                    o.wall_s,
                    verdict(x >= goal)
                );
            }
        }
    }
    for r in rows
        .iter()
        .filter(|r| r.workload == "plan" && r.tool == "s3ward" && r.roles >= 50)
        .filter(|r| r.parallelism == cfg.parallelism)
    {
        let iam = r.calls.get("iam").copied().unwrap_or(0);
        let per = iam as f64 / r.roles as f64;
        let _ = writeln!(
            s,
            "| IAM calls per role ≤ 0.2 ({} roles, {} ms) | {iam} calls: {per:.3} per role | {} |",
            r.roles,
            r.latency_ms,
            verdict(per <= 0.2)
        );
    }
    for r in rows
        .iter()
        .filter(|r| r.tool == "s3ward" && r.buckets == 1000)
        .filter(|r| matches!(r.workload, "plan" | "drift") && r.parallelism == cfg.parallelism)
    {
        let mb = r.peak_rss_mib * 1024.0 * 1024.0 / 1e6;
        let _ = writeln!(
            s,
            "| peak memory ≤ 64 MB at 1,000 buckets ({}, {} ms) | {:.1} MiB ({mb:.1} MB) | {} |",
            r.workload,
            r.latency_ms,
            r.peak_rss_mib,
            verdict(mb <= 64.0)
        );
    }
    for &n in &cfg.ns {
        for &l in &cfg.latencies {
            let Some(plan) = median_wall(rows, "plan (paired)", n, l) else {
                continue;
            };
            if let Some(e) = median_wall(rows, "plan+expect", n, l) {
                // Wall time on a shared moto varies by more than 5 % from run to run; the
                // CPU time s3ward itself spends is what expectations add to its own work.
                let add = (e / plan - 1.0) * 100.0;
                let cpu = |w| median_of(rows, w, n, l, |r| r.cpu_s).unwrap_or(0.0);
                let (cpu_plan, cpu_expect) = (cpu("plan (paired)"), cpu("plan+expect"));
                let cpu_add = (cpu_expect - cpu_plan) / plan * 100.0;
                let _ = writeln!(
                    s,
                    "| expectations add < 5 % to plan (N = {n}, {} expectations, {l} ms; medians of {PAIRS}) | wall {plan:.2} s → {e:.2} s ({add:+.1} %); s3ward CPU {cpu_plan:.2} s → {cpu_expect:.2} s ({cpu_add:+.1} % of plan's wall) | {} |",
                    2 * n,
                    verdict(cpu_add < 5.0)
                );
            }
            for why in ["why", "why --live"] {
                if let Some(w) = median_wall(rows, why, n, l) {
                    let share = w / plan * 100.0;
                    let _ = writeln!(
                        s,
                        "| `{why}` < 5 % of plan's wall time (N = {n}, {l} ms) | {w:.2} s: {share:.1} % | {} |",
                        verdict(share < 5.0)
                    );
                }
            }
        }
    }
    s
}

fn summary(cfg: &Config, rows: &[Row]) -> String {
    let mut s = targets(cfg, rows);
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "## plan and drift: N buckets, N/5 roles (parallelism {})\n",
        cfg.parallelism
    );
    let _ = writeln!(
        s,
        "| N / M | latency | s3ward plan | ideal | plan ÷ ideal | s3ward drift | calls s3 / iam / sts | per bucket / role | peak RSS | boto3_drift.py | boto3 ÷ plan | custodian | custodian ÷ plan |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for &n in &cfg.ns {
        for &l in &cfg.latencies {
            let plan = find(rows, "plan", "s3ward", n, l, cfg.parallelism);
            let drift = find(rows, "drift", "s3ward", n, l, cfg.parallelism);
            let boto = find(rows, "drift", "boto3_drift.py", n, l, 0);
            let c7n = find(rows, "drift", "custodian", n, l, 0);
            let Some(p) = plan else { continue };
            let _ = writeln!(
                s,
                "| {n} / {} | {l} ms | {} | {} | {} | {} | {} | {:.2} / {:.2} | {:.1} MiB | {} | {} | {} | {} |",
                p.roles,
                secs(plan),
                p.ideal_s.map_or("—".into(), |i| format!("{i:.2} s")),
                p.ideal_s
                    .filter(|&i| i > 0.0)
                    .map_or("—".into(), |i| format!("{:.2}", p.wall_s / i)),
                secs(drift),
                services(p),
                p.calls.get("s3").copied().unwrap_or(0) as f64 / n as f64,
                p.calls.get("iam").copied().unwrap_or(0) as f64 / p.roles.max(1) as f64,
                p.peak_rss_mib,
                secs(boto),
                ratio(boto, plan),
                secs(c7n),
                ratio(c7n, plan),
            );
        }
    }
    let _ = writeln!(s, "\n## plan at other --parallelism values\n");
    let _ = writeln!(
        s,
        "| N / M | latency | parallelism | s3ward plan | ideal | plan ÷ ideal | calls/s | max in flight | peak RSS | boto3 ÷ plan |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
    for r in rows
        .iter()
        .filter(|r| r.workload == "plan" && r.tool == "s3ward" && r.latency_ms > 0)
    {
        let boto = find(rows, "drift", "boto3_drift.py", r.buckets, r.latency_ms, 0);
        let _ = writeln!(
            s,
            "| {} / {} | {} ms | {} | {:.2} s | {} | {} | {:.0} | {} | {:.1} MiB | {} |",
            r.buckets,
            r.roles,
            r.latency_ms,
            r.parallelism,
            r.wall_s,
            r.ideal_s.map_or("—".into(), |i| format!("{i:.2} s")),
            r.ideal_s
                .filter(|&i| i > 0.0)
                .map_or("—".into(), |i| format!("{:.2}", r.wall_s / i)),
            r.calls_total as f64 / r.wall_s,
            r.max_in_flight,
            r.peak_rss_mib,
            ratio(boto, Some(r)),
        );
    }
    let _ = writeln!(s, "\n## Every run\n");
    let _ = writeln!(
        s,
        "| tool | N / O | latency | parallelism | wall | calls s3 / iam / sts | max in flight | peak RSS | load | outcome |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let _ = writeln!(
            s,
            "| {} {} | {} | {} ms | {} | {:.2} s | {} | {} | {:.1} MiB | {:.1} | {} |",
            r.tool,
            r.workload,
            if r.workload == "check" {
                r.objects
            } else {
                r.buckets
            },
            r.latency_ms,
            r.parallelism,
            r.wall_s,
            services(r),
            r.max_in_flight,
            r.peak_rss_mib,
            r.load_before,
            r.outcome.replace('|', "/")
        );
    }
    let _ = writeln!(s, "\n## check: O objects in model directories of 100\n");
    let _ = writeln!(
        s,
        "| objects | latency | s3ward check | calls | ideal | check ÷ ideal | peak RSS | recipe (extrapolated) | recipe ÷ check | recipe sample |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
    for &o in &cfg.objects {
        for &l in &cfg.latencies {
            let o = o.div_ceil(OBJECTS_PER_DIR) * OBJECTS_PER_DIR;
            let ours = find(rows, "check", "s3ward", o, l, cfg.parallelism);
            let recipe = find(rows, "check", "aws-cli recipe", o, l, 0);
            let Some(c) = ours else { continue };
            let _ = writeln!(
                s,
                "| {} | {l} ms | {:.2} s | {} | {} | {} | {:.1} MiB | {} | {} | {} |",
                c.objects,
                c.wall_s,
                c.calls_total,
                c.ideal_s.map_or("—".into(), |i| format!("{i:.2} s")),
                c.ideal_s
                    .filter(|&i| i > 0.0)
                    .map_or("—".into(), |i| format!("{:.2}", c.wall_s / i)),
                c.peak_rss_mib,
                secs(recipe),
                ratio(recipe, ours),
                recipe
                    .and_then(|r| Some(format!(
                        "{} objects, {:.1} s",
                        r.sampled_objects?, r.sample_wall_s?
                    )))
                    .unwrap_or_else(|| "—".into()),
            );
        }
    }
    let _ = writeln!(s, "\n## Populate (s3ward apply --auto-approve, 0 ms)\n");
    let _ = writeln!(
        s,
        "| N / M | wall | calls s3 / iam / sts | calls/s | peak RSS |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|");
    for r in rows.iter().filter(|r| r.workload == "populate") {
        let _ = writeln!(
            s,
            "| {} / {} | {:.2} s | {} | {:.0} | {:.1} MiB |",
            r.buckets,
            r.roles,
            r.wall_s,
            services(r),
            r.calls_total as f64 / r.wall_s,
            r.peak_rss_mib
        );
    }
    let _ = writeln!(s, "\n## Throughput at 0 ms (what moto serves)\n");
    let _ = writeln!(s, "| tool | workload | N or O | calls | wall | calls/s |");
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for r in rows.iter().filter(|r| r.latency_ms == 0) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.2} s | {:.0} |",
            r.tool,
            r.workload,
            if r.workload == "check" {
                r.objects
            } else {
                r.buckets
            },
            r.calls_total,
            r.sample_wall_s.unwrap_or(r.wall_s),
            r.calls_total as f64 / r.sample_wall_s.unwrap_or(r.wall_s)
        );
    }
    s
}
