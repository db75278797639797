//! Reliability (issue 7): s3ward under failing networks, killed processes, a second applier,
//! broken live documents, and verbose logs. See `docs/reliability.md` for the numbers.
//!
//! - Faults: `plan` and `apply` of `plans/ml-models.toml` through the fault-injecting proxy
//!   with a fifth of all requests (S3, IAM, STS) failing, across seeds; a fault that never
//!   clears exhausts the retry budget with an error naming the address and operation; an
//!   answer lost after the write happened is retried safely.
//! - Kill anywhere: an apply SIGKILLed right after its k-th write, for every k, then run
//!   again, converges; no bucket, object or merge-mode statement is ever lost.
//! - The apply lock: held → refused, naming holder and time, nothing written, nothing of
//!   the managed resources read; `--force-unlock` takes it over, but never deletes an object
//!   s3ward did not write as a lock; released after an apply and on every refusal; two
//!   appliers → one applies, and every write happens under the lock. Each lock test fails
//!   when `Lock::acquire` does nothing.
//! - Malformed live bucket policies: `plan` names the address and carries on.
//! - Secrets: no credential appears in any output at any verbosity, errors included.
//!
//! Every test has its own account ids, buckets and roles, so all run in parallel on one
//! moto server. Nothing here asserts timing.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ObjectOwnership;
use serde_json::{Value, json};

use crate::support::cli::Killer;
use crate::support::fixtures::{
    LOCK_KEY, MlModels, PLAN, account, apply, assert_no_changes, bucket_exists, bucket_tags,
    create_bucket, grant_read_acl, held_by_alice, live_policy, new_bucket, object_text, put_policy,
    role_exists, role_tags, run, set_ownership,
};
use crate::support::plans::main_account;
use crate::support::proxy::{Fault, Proxy, ProxyRules, Recorded, Rule};
use crate::support::{Clients, PlanDir, Run, moto, ok, sdk, service_error, unique};

const FOREIGN_OWNER_ID: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

// --- Helpers ------------------------------------------------------------------------------

fn writes(ops: &[Recorded]) -> Vec<&Recorded> {
    ops.iter().filter(|r| !r.is_read()).collect()
}

/// The only write was the conditional put of the lock, refused because it is held.
fn assert_only_write_was_a_refused_lock(ops: &[Recorded], run: &Run) {
    let sent: Vec<String> = writes(ops).iter().map(|r| r.to_string()).collect();
    assert_eq!(sent, vec!["s3 PutObject 412".to_string()], "{run}");
}

/// The lock bucket's writes (`s3 PutObject 200`, ...), in order.
fn lock_writes(ops: &[Recorded], lock_bucket: &str) -> Vec<String> {
    writes(ops)
        .iter()
        .filter(|r| r.resource.as_deref() == Some(lock_bucket))
        .map(|r| r.to_string())
        .collect()
}

/// One account reached by AssumeRole, a role, and a bucket that exists already (so that
/// its writes use the standard retry budget), with a grant between them; optionally the
/// apply lock in a bucket of the ambient account.
struct Small {
    dir: PlanDir,
    account: String,
    bucket: String,
    role: String,
    lock_bucket: String,
}

impl Small {
    async fn new(prefix: &str) -> Small {
        let t = Small {
            dir: PlanDir::new(),
            account: account(),
            bucket: unique(prefix),
            role: unique(prefix),
            lock_bucket: unique(&format!("{prefix}-lock")),
        };
        create_bucket(&t.clients().await.s3, &t.bucket).await;
        create_bucket(&sdk(None).await.s3, &t.lock_bucket).await;
        t
    }

    /// The plan file; `lock` adds `settings.lock`, `extra` goes into `[buckets.weights]`.
    fn text(&self, lock: bool, extra: &str) -> String {
        let Small {
            account,
            bucket,
            role,
            lock_bucket,
            ..
        } = self;
        let lock = if lock {
            format!("lock = \"s3://{lock_bucket}/{LOCK_KEY}\"\n")
        } else {
            String::new()
        };
        format!(
            r#"version = 1

[settings]
name = "reliability"
{lock}
[accounts.main]
id = "{account}"
assume_role = "arn:aws:iam::{account}:role/s3ward"

[roles.reader]
account = "main"
name = "{role}"
trust = [{{ service = "ec2.amazonaws.com" }}]

[buckets.weights]
account = "main"
name = "{bucket}"
object_ownership = "BucketOwnerEnforced"
block_public_access = true
{extra}

[[buckets.weights.grants]]
to = "role.reader"
access = "read"

[[buckets.weights.models]]
prefix = "Mistral-7B-v0.1/"
"#
        )
    }

    fn write(&self, lock: bool, extra: &str) {
        self.dir.write(PLAN, &self.text(lock, extra));
    }

    async fn clients(&self) -> Clients {
        sdk(Some(&self.account)).await
    }

    /// The lock object's text, if there is one.
    async fn lock_object(&self) -> Option<String> {
        object_text(&sdk(None).await.s3, &self.lock_bucket, LOCK_KEY).await
    }

    /// A lock left by someone else.
    async fn put_lock_object(&self, text: String) {
        ok(sdk(None)
            .await
            .s3
            .put_object()
            .bucket(&self.lock_bucket)
            .key(LOCK_KEY)
            .body(ByteStream::from(text.into_bytes()))
            .send()
            .await);
    }
}

// --- 1. Convergence under faults ----------------------------------------------------------

/// A fifth of all requests, to every service, fail with a transient fault: throttling, a
/// 500, a 409 or a dropped connection. Each request draws for each of the four rules in
/// turn (the first that fires wins), with `p` such that `1 - (1 - p)^4 = 0.2`.
fn a_fifth_failing(seed: u64) -> ProxyRules {
    let p = 1.0 - 0.8_f64.powf(0.25);
    [
        Fault::Throttling,
        Fault::InternalError,
        Fault::Conflict,
        Fault::DropConnection,
    ]
    .into_iter()
    .fold(ProxyRules::seeded(seed), |rules, f| {
        rules.with(Rule::new(f).probability(p))
    })
}

const SEEDS: [u64; 4] = [11, 22, 33, 44];

/// Plans, applies and plans again through a fifth of requests failing; returns what the
/// proxy recorded.
async fn converge_under_faults(seed: u64) -> Vec<Recorded> {
    let w = MlModels::new("rel-ml-models").await;
    let proxy = Proxy::start(&moto().endpoint, a_fifth_failing(seed));
    let ep = Some(proxy.endpoint.as_str());

    let plan = run(&w.dir, ep, &["plan", "--detailed-exitcode", PLAN]).await;
    assert_eq!(plan.code, 2, "seed {seed}:\n{plan}");
    assert!(
        plan.stdout
            .contains("Plan: 9 to create, 0 to update, 0 to delete."),
        "seed {seed}:\n{plan}"
    );
    let applied = apply(&w.dir, ep).await;
    assert!(
        applied
            .stdout
            .contains("Plan: 9 to create, 0 to update, 0 to delete."),
        "seed {seed}:\n{applied}"
    );
    // Converged: no changes, seen through the faults and without them.
    assert_no_changes(&w.dir, ep).await;
    assert_no_changes(&w.dir, None).await;
    proxy.operations()
}

#[tokio::test]
async fn ml_models_plans_and_applies_with_a_fifth_of_requests_failing() {
    let runs = futures::future::join_all(SEEDS.map(converge_under_faults)).await;
    let all: Vec<&Recorded> = runs.iter().flatten().collect();
    let faulted: Vec<&&Recorded> = all.iter().filter(|r| r.fault.is_some()).collect();
    // The faults were real: every kind, on every service, and about a fifth of requests.
    for service in ["s3", "iam", "sts"] {
        assert!(
            faulted.iter().any(|r| r.service == service),
            "no fault hit {service}"
        );
    }
    for kind in [
        Fault::Throttling,
        Fault::InternalError,
        Fault::Conflict,
        Fault::DropConnection,
    ] {
        assert!(
            faulted.iter().any(|r| r.fault == Some(kind)),
            "no {kind:?} injected"
        );
    }
    let rate = faulted.len() as f64 / all.len() as f64;
    eprintln!(
        "{} of {} requests failed ({:.1}%) over {} seeds",
        faulted.len(),
        all.len(),
        rate * 100.0,
        SEEDS.len()
    );
    assert!((0.1..0.3).contains(&rate), "fault rate {rate}");
    // Writes were hit too, not only reads.
    assert!(
        faulted.iter().any(|r| !r.is_read()),
        "no write was faulted: {faulted:?}"
    );
}

/// A fault that never clears: the budget runs out (10 attempts at most for an ordinary
/// call), and the error names the address, the AWS operation and the error code.
#[tokio::test]
async fn when_the_retry_budget_runs_out_the_error_names_the_address_and_operation() {
    let while_planning = async {
        let t = Small::new("rel-budget-plan").await;
        t.write(false, "");
        let proxy = Proxy::start(
            &moto().endpoint,
            ProxyRules::none().with(
                Rule::new(Fault::Throttling)
                    .service("iam")
                    .operation("GetRole"),
            ),
        );
        let failed = run(&t.dir, Some(&proxy.endpoint), &["plan", PLAN]).await;
        assert_eq!(failed.code, 1, "{failed}");
        assert!(
            failed
                .stderr
                .contains("error: role.reader: IAM GetRole failed"),
            "{failed}"
        );
        assert!(
            failed
                .stderr
                .contains("caused by: Throttling: Rate exceeded (after 10 attempts)"),
            "{failed}"
        );
        assert!(failed.stdout.is_empty(), "{failed}");
        let tries = proxy
            .operations()
            .iter()
            .filter(|r| r.operation == "GetRole")
            .count();
        assert_eq!(tries, 10, "{failed}");
        // Once the fault clears, plan works.
        let plan = run(&t.dir, None, &["plan", "--detailed-exitcode", PLAN]).await;
        assert_eq!(plan.code, 2, "{plan}");
    };
    let while_applying = async {
        let t = Small::new("rel-budget-apply").await;
        t.write(false, "");
        let proxy = Proxy::start(
            &moto().endpoint,
            ProxyRules::none().with(
                Rule::new(Fault::InternalError)
                    .service("s3")
                    .operation("PutPublicAccessBlock"),
            ),
        );
        let failed = run(
            &t.dir,
            Some(&proxy.endpoint),
            &["apply", "--auto-approve", PLAN],
        )
        .await;
        assert_eq!(failed.code, 1, "{failed}");
        assert!(
            failed.stdout.contains(
                "  bucket.weights.public_access_block: S3 PutPublicAccessBlock failed: \
                 InternalError: We encountered an internal error. Please try again. \
                 (after 10 attempts)"
            ),
            "{failed}"
        );
        assert!(failed.stderr.contains("error: apply failed"), "{failed}");
        let tries = proxy
            .operations()
            .iter()
            .filter(|r| r.operation == "PutPublicAccessBlock")
            .count();
        assert_eq!(tries, 10, "{failed}");
        // The rerun converges.
        apply(&t.dir, None).await;
        assert_no_changes(&t.dir, None).await;
    };
    tokio::join!(while_planning, while_applying);
}

/// The writes of an ml-models apply. Each loses its first answer: the write happened, the
/// client saw a dropped connection, and retried.
const ML_MODELS_WRITES: &[&str] = &[
    "CreateRole",
    "PutRolePolicy",
    "AttachRolePolicy",
    "TagRole",
    "CreateBucket",
    "PutBucketPolicy",
    "PutPublicAccessBlock",
    "PutBucketTagging",
];

async fn apply_losing_first_answers(ops: &[&str]) {
    let w = MlModels::new("rel-ml-models").await;
    let rules = ops.iter().fold(ProxyRules::none(), |rules, op| {
        rules.with(Rule::new(Fault::DropResponse).operation(op).first(1))
    });
    let proxy = Proxy::start(&moto().endpoint, rules);
    let applied = run(
        &w.dir,
        Some(&proxy.endpoint),
        &["apply", "--auto-approve", PLAN],
    )
    .await;
    let lost: Vec<String> = proxy
        .operations()
        .iter()
        .filter(|r| r.fault == Some(Fault::DropResponse))
        .map(|r| format!("{} {:?}", r.operation, r.status))
        .collect();
    assert_eq!(
        lost.len(),
        ops.len(),
        "every listed write lost one answer: {lost:?}\n{applied}"
    );
    assert_eq!(applied.code, 0, "answers lost: {lost:?}\n{applied}");
    assert_no_changes(&w.dir, None).await;
}

#[tokio::test]
async fn a_write_whose_answer_was_lost_is_retried_and_the_apply_converges() {
    let ops: Vec<&str> = ML_MODELS_WRITES
        .iter()
        .copied()
        .filter(|op| *op != "CreateRole")
        .collect();
    apply_losing_first_answers(&ops).await;
}

/// s3ward bug (reported): CreateRole is not idempotent under a lost answer. The retry gets
/// `EntityAlreadyExists` (409), which is neither retried nor taken as success, so the apply
/// fails; a rerun converges.
#[tokio::test]
async fn a_create_role_whose_answer_was_lost_is_retried_and_the_apply_converges() {
    apply_losing_first_answers(&["CreateRole"]).await;
}

// --- 2. Kill anywhere ---------------------------------------------------------------------

/// A plan whose apply does a bit of everything: takes the lock; creates a role (trust,
/// tags, grants policy, a managed policy); on an existing merge-mode bucket holding objects
/// and another team's statement, writes the policy, resets a foreign ACL grant, enforces
/// ownership, blocks public access and tags; creates a second bucket; records
/// `s3ward:applied`; releases the lock.
struct KillWorld {
    dir: PlanDir,
    account: String,
    models: String,
    checkpoints: String,
    role: String,
    lock_bucket: String,
    foreign: Value,
}

const OBJECTS: &[(&str, &str)] = &[
    (
        "Mistral-7B-v0.1/config.json",
        "{\"model_type\": \"mistral\"}",
    ),
    ("Mistral-7B-v0.1/tokenizer.json", "{\"version\": \"1.0\"}"),
    (
        "Mistral-7B-v0.1/model-00001-of-00002.safetensors",
        "shard one",
    ),
    (
        "Mistral-7B-v0.1/model-00002-of-00002.safetensors",
        "shard two",
    ),
    ("reports/2026-05.csv", "month,loss\n5,0.12\n"),
];

impl KillWorld {
    async fn new() -> KillWorld {
        let w = KillWorld {
            dir: PlanDir::new(),
            account: account(),
            models: unique("rel-kill-models"),
            checkpoints: unique("rel-kill-ckpt"),
            role: unique("rel-kill-reader"),
            lock_bucket: unique("rel-kill-lock"),
            foreign: Value::Null,
        };
        let foreign = json!({
            "Sid": "AnalyticsTeamReadsReports",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{}:root", account())},
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{}/reports/*", w.models),
        });
        let c = w.clients().await;
        create_bucket(&sdk(None).await.s3, &w.lock_bucket).await;
        create_bucket(&c.s3, &w.models).await;
        set_ownership(&c.s3, &w.models, ObjectOwnership::ObjectWriter).await;
        for (key, body) in OBJECTS {
            ok(c.s3
                .put_object()
                .bucket(&w.models)
                .key(*key)
                .body(ByteStream::from(body.as_bytes().to_vec()))
                .send()
                .await);
        }
        // Another account uploaded one shard (BucketOwnerEnforced takes it back).
        moto().set_object_owner(&w.models, OBJECTS[3].0, FOREIGN_OWNER_ID, "uploader");
        // A foreign ACL grant: reset before ownership is enforced.
        grant_read_acl(&c.s3, &w.models, FOREIGN_OWNER_ID).await;
        put_policy(
            &c.s3,
            &w.models,
            &json!({"Version": "2012-10-17", "Statement": [foreign]}).to_string(),
        )
        .await;
        let w = KillWorld { foreign, ..w };
        w.dir.write(PLAN, &w.text());
        w
    }

    fn text(&self) -> String {
        let KillWorld {
            account,
            models,
            checkpoints,
            role,
            lock_bucket,
            ..
        } = self;
        format!(
            r#"version = 1

[settings]
name = "kill-anywhere"
lock = "s3://{lock_bucket}/{LOCK_KEY}"

[accounts.main]
id = "{account}"
assume_role = "arn:aws:iam::{account}:role/s3ward"

[roles.reader]
account = "main"
name = "{role}"
description = "reads models, writes checkpoints"
tags = {{ team = "ml" }}
trust = [{{ service = "ec2.amazonaws.com" }}]
managed_policies = ["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"]

[buckets.models]
account = "main"
name = "{models}"
policy_mode = "merge"
object_ownership = "BucketOwnerEnforced"
block_public_access = true
tags = {{ team = "ml" }}

[[buckets.models.grants]]
to = "role.reader"
access = "read"
prefixes = ["Mistral-7B-v0.1/"]

[buckets.checkpoints]
account = "main"
name = "{checkpoints}"
object_ownership = "BucketOwnerEnforced"
block_public_access = true

[[buckets.checkpoints.grants]]
to = "role.reader"
access = "read-write"
"#
        )
    }

    async fn clients(&self) -> Clients {
        sdk(Some(&self.account)).await
    }

    async fn lock_object(&self) -> Option<String> {
        object_text(&sdk(None).await.s3, &self.lock_bucket, LOCK_KEY).await
    }

    /// Nothing s3ward must keep is gone: the buckets that existed, every object with its
    /// content, and the other team's statement exactly as it was.
    async fn assert_nothing_lost(&self, when: &str) {
        let c = self.clients().await;
        assert!(
            bucket_exists(&c.s3, &self.models).await,
            "{when}: bucket gone"
        );
        assert!(
            bucket_exists(&sdk(None).await.s3, &self.lock_bucket).await,
            "{when}: lock bucket gone"
        );
        let listed = ok(c.s3.list_objects_v2().bucket(&self.models).send().await);
        let keys: BTreeSet<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
        let want: BTreeSet<&str> = OBJECTS.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, want, "{when}: objects");
        for (key, body) in OBJECTS {
            assert_eq!(
                object_text(&c.s3, &self.models, key).await.as_deref(),
                Some(*body),
                "{when}: {key}"
            );
        }
        let policy = live_policy(&c.s3, &self.models).await;
        let statements = policy["Statement"].as_array().expect("statements");
        let theirs: Vec<&Value> = statements
            .iter()
            .filter(|s| s["Sid"] == self.foreign["Sid"])
            .collect();
        assert_eq!(theirs.len(), 1, "{when}: {policy:#}");
        for field in ["Effect", "Action", "Resource"] {
            assert_eq!(theirs[0][field], self.foreign[field], "{when}: {policy:#}");
        }
        let principal = theirs[0]["Principal"]["AWS"].as_str().unwrap_or_default();
        assert_eq!(
            principal,
            self.foreign["Principal"]["AWS"].as_str().unwrap(),
            "{when}: {policy:#}"
        );
    }
}

/// Applies a fresh [`KillWorld`] through a recording proxy and returns how many writes a
/// whole apply makes, with their names.
async fn writes_of_a_whole_apply() -> (usize, Vec<String>) {
    let w = KillWorld::new().await;
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    apply(&w.dir, Some(&proxy.endpoint)).await;
    let n = proxy.writes_applied();
    let ops = proxy.operations();
    let names: Vec<String> = writes(&ops)
        .iter()
        .filter(|r| r.status.is_some_and(|s| (200..300).contains(&s)))
        .map(|r| r.operation.clone())
        .collect();
    assert_eq!(names.len(), n, "{ops:?}");
    w.assert_nothing_lost("after a whole apply").await;
    assert_no_changes(&w.dir, None).await;
    (n, names)
}

/// SIGKILLs an apply of a fresh [`KillWorld`] right after its `k`-th write (of `n`), checks
/// what it left, then runs apply again and checks that it converged.
async fn kill_after(k: usize, n: usize) {
    let w = KillWorld::new().await;
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let killer: Arc<OnceLock<Killer>> = Arc::new(OnceLock::new());
    let kill = killer.clone();
    proxy.stop_after_writes(k, move || {
        kill.get()
            .expect("the apply was spawned before it could write")
            .kill()
    });
    let child = w
        .dir
        .s3ward(&["apply", "--auto-approve", PLAN])
        .env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .spawn();
    let pid = child.pid();
    assert!(killer.set(child.killer()).is_ok());
    let killed = child.wait_async().await;
    let at = format!("killed after write {k} of {n}");
    assert_eq!(killed.code, 128 + 9, "{at}: not killed:\n{killed}");
    assert!(proxy.stopped(), "{at}");
    assert_eq!(proxy.writes_applied(), k, "{at}");
    w.assert_nothing_lost(&at).await;

    // What it left behind: its lock, unless it was killed after releasing it.
    let lock = w.lock_object().await;
    if k < n {
        let lock = lock.unwrap_or_else(|| panic!("{at}: no lock left behind"));
        assert!(lock.contains(&format!("\"pid\": {pid}")), "{at}: {lock}");
        // The next apply is refused, naming the killed one, even when it has nothing left
        // to do (killed after its last change, before the release): it takes the lock
        // before it reads, so it cannot know that.
        let next = run(&w.dir, None, &["apply", "--auto-approve", PLAN]).await;
        assert_eq!(next.code, 1, "{at}:\n{next}");
        assert!(
            next.stderr
                .contains(&format!("(pid {pid}); nothing was changed")),
            "{at}:\n{next}"
        );
    } else {
        assert_eq!(lock, None, "{at}");
    }

    let rerun = run(
        &w.dir,
        None,
        &["apply", "--auto-approve", "--force-unlock", PLAN],
    )
    .await;
    assert_eq!(rerun.code, 0, "{at}: the rerun failed:\n{rerun}");
    w.assert_nothing_lost(&format!("{at}, then rerun")).await;
    assert_no_changes(&w.dir, None).await;
    assert_eq!(w.lock_object().await, None, "{at}, then rerun: lock left");
    let drift = run(&w.dir, None, &["drift", PLAN]).await;
    assert_eq!(drift.code, 0, "{at}, then rerun:\n{drift}");
    let c = w.clients().await;
    assert!(bucket_exists(&c.s3, &w.checkpoints).await, "{at}");
    assert!(role_exists(&c.iam, &w.role).await, "{at}");
    // Every resource records what was applied to it, so that drift can tell drift from
    // pending later.
    for bucket in [&w.models, &w.checkpoints] {
        let tags = bucket_tags(&c.s3, bucket).await;
        assert!(
            tags.iter().any(|(k, _)| k == "s3ward:applied"),
            "{at}, then rerun: {bucket} has no s3ward:applied tag: {tags:?}"
        );
    }
    let tags = role_tags(&c.iam, &w.role).await;
    assert!(
        tags.iter().any(|(k, _)| k == "s3ward:applied"),
        "{at}, then rerun: the role has no s3ward:applied tag: {tags:?}"
    );
}

/// s3ward bug (reported): `apply --force-unlock` returns at "No changes." before it looks at
/// the lock, so a lock left by an apply killed after its last change stays, and the next
/// apply that has something to do is refused.
#[tokio::test]
async fn force_unlock_removes_a_stale_lock_when_nothing_is_left_to_apply() {
    let t = Small::new("rel-lock-stale").await;
    t.write(true, "");
    apply(&t.dir, None).await;
    let stale = json!({"holder": "arn:aws:sts::123456789012:assumed-role/ops/cron", "host": "cron-1",
        "pid": 7, "plan": "reliability", "since": "2026-01-02T03:04:05Z", "token": "dead"});
    t.put_lock_object(stale.to_string()).await;
    let forced = run(
        &t.dir,
        None,
        &["apply", "--auto-approve", "--force-unlock", PLAN],
    )
    .await;
    assert_eq!(forced.code, 0, "{forced}");
    assert_eq!(t.lock_object().await, None, "{forced}");
}

/// Every kill point `k` with `k % parts == part`, in turn.
async fn kill_anywhere(part: usize, parts: usize) {
    let (n, names) = writes_of_a_whole_apply().await;
    assert!(n >= 15, "a whole apply makes {n} writes: {names:?}");
    eprintln!("a whole apply makes {n} writes: {names:?}");
    for k in (1..=n).filter(|k| k % parts == part) {
        kill_after(k, n).await;
    }
}

#[tokio::test]
async fn an_apply_killed_after_any_write_converges_on_rerun_part_1_of_3() {
    kill_anywhere(1, 3).await;
}

#[tokio::test]
async fn an_apply_killed_after_any_write_converges_on_rerun_part_2_of_3() {
    kill_anywhere(2, 3).await;
}

#[tokio::test]
async fn an_apply_killed_after_any_write_converges_on_rerun_part_3_of_3() {
    kill_anywhere(0, 3).await;
}

// --- 3. The apply lock --------------------------------------------------------------------

/// moto 5.2.5 itself answers `If-None-Match: *` on an existing key with 412: the lock tests
/// need no emulation of the conditional write.
#[tokio::test]
async fn moto_refuses_a_conditional_put_over_an_existing_object() {
    let s3 = sdk(None).await.s3;
    let bucket = new_bucket(&s3, "rel-conditional").await;
    let put = || {
        s3.put_object()
            .bucket(&bucket)
            .key("k")
            .if_none_match("*")
            .body(ByteStream::from_static(b"first"))
            .send()
    };
    ok(put().await);
    let e = service_error(put().await);
    assert_eq!((e.code.as_str(), e.status), ("PreconditionFailed", 412));
    assert_eq!(
        object_text(&s3, &bucket, "k").await.as_deref(),
        Some("first")
    );
}

#[tokio::test]
async fn a_held_lock_refuses_naming_holder_and_time_and_force_unlock_takes_it_over() {
    let t = Small::new("rel-lock-held").await;
    t.write(true, "");
    let held = held_by_alice();
    t.put_lock_object(held.clone()).await;
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());

    let refused = run(
        &t.dir,
        Some(&proxy.endpoint),
        &["apply", "--auto-approve", PLAN],
    )
    .await;
    assert_eq!(refused.code, 1, "{refused}");
    assert!(
        refused.stderr.contains(&format!(
            "error: the apply lock `s3://{}/{LOCK_KEY}` is held by \
             arn:aws:sts::123456789012:assumed-role/ops/alice since 2026-01-02T03:04:05Z \
             on laptop-7 (pid 4242); nothing was changed",
            t.lock_bucket
        )),
        "{refused}"
    );
    assert!(refused.stderr.contains("--force-unlock"), "{refused}");
    assert_only_write_was_a_refused_lock(&proxy.operations(), &refused);
    assert_eq!(t.lock_object().await.as_deref(), Some(held.as_str()));
    assert!(!role_exists(&t.clients().await.iam, &t.role).await);

    // `--force-unlock` takes it over, applies, and releases it.
    let forced = run(
        &t.dir,
        None,
        &["apply", "--auto-approve", "--force-unlock", PLAN],
    )
    .await;
    assert_eq!(forced.code, 0, "{forced}");
    assert!(
        forced.stderr.contains(
            "--force-unlock: removing the lock held by \
             arn:aws:sts::123456789012:assumed-role/ops/alice since 2026-01-02T03:04:05Z"
        ),
        "{forced}"
    );
    assert!(forced.stdout.contains("\nApply complete: "), "{forced}");
    assert_eq!(t.lock_object().await, None);
    assert_no_changes(&t.dir, None).await;
}

#[tokio::test]
async fn an_apply_takes_the_lock_before_its_first_write_and_removes_it_after_its_last() {
    let t = Small::new("rel-lock-normal").await;
    t.write(true, "");
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    apply(&t.dir, Some(&proxy.endpoint)).await;
    let ops = proxy.operations();
    let sent = writes(&ops);
    let lock_ops: Vec<String> = sent
        .iter()
        .filter(|r| r.resource.as_deref() == Some(t.lock_bucket.as_str()))
        .map(|r| r.to_string())
        .collect();
    assert_eq!(
        lock_ops,
        vec!["s3 PutObject 200", "s3 DeleteObject 204"],
        "{ops:?}"
    );
    assert_eq!(
        sent.first().map(|r| r.operation.as_str()),
        Some("PutObject")
    );
    assert_eq!(
        sent.last().map(|r| r.operation.as_str()),
        Some("DeleteObject")
    );
    assert!(sent.len() > 2, "{ops:?}");
    assert_eq!(t.lock_object().await, None);

    // `plan` takes no lock.
    proxy.clear();
    assert_no_changes(&t.dir, Some(&proxy.endpoint)).await;
    assert!(writes(&proxy.operations()).is_empty());
    // Nothing to do: apply takes the lock before it reads (it cannot know that before),
    // and writes nothing else.
    let again = run(
        &t.dir,
        Some(&proxy.endpoint),
        &["apply", "--auto-approve", PLAN],
    )
    .await;
    assert_eq!(again.code, 0, "{again}");
    let sent: Vec<String> = writes(&proxy.operations())
        .iter()
        .map(|r| r.to_string())
        .collect();
    assert_eq!(sent, ["s3 PutObject 200", "s3 DeleteObject 204"], "{again}");
    assert_eq!(t.lock_object().await, None);
}

#[tokio::test]
async fn of_two_concurrent_applies_of_one_plan_file_one_applies_and_the_other_is_refused() {
    let t = Small::new("rel-lock-two").await;
    t.write(true, "");
    // The first apply is held right after it took the lock.
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let gate = proxy.hold_after_writes(1);
    let first = t
        .dir
        .s3ward(&["apply", "--auto-approve", PLAN])
        .env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .spawn();
    let first_pid = first.pid();
    assert!(
        gate.wait_held(Duration::from_secs(120)).await,
        "the first apply never got past its lock"
    );
    assert!(t.lock_object().await.is_some());

    // The second one, meanwhile, is refused and writes nothing but its attempt at the lock.
    let recording = Proxy::start(&moto().endpoint, ProxyRules::none());
    let second = run(
        &t.dir,
        Some(&recording.endpoint),
        &["apply", "--auto-approve", PLAN],
    )
    .await;
    assert_eq!(second.code, 1, "{second}");
    assert!(
        second
            .stderr
            .contains(&format!("(pid {first_pid}); nothing was changed")),
        "{second}"
    );
    assert_only_write_was_a_refused_lock(&recording.operations(), &second);

    gate.open();
    let first = first.wait_async().await;
    assert_eq!(first.code, 0, "{first}");
    assert!(first.stdout.contains("\nApply complete: "), "{first}");
    assert_eq!(t.lock_object().await, None);
    assert_no_changes(&t.dir, None).await;
}

/// Unsynchronised: each of two applies started together either applies or is refused by
/// the lock; at least one applies; the result converges. Both go through one recording
/// proxy, each with its own ambient access key, so that the order of their requests shows
/// the lock at work: its holders never overlap, and every write to the managed resources
/// is made by an apply while it holds the lock (without the lock, both could apply and
/// converge, and the test would prove nothing).
#[tokio::test]
async fn two_applies_started_together_never_both_fail_and_converge() {
    let t = Small::new("rel-lock-race").await;
    t.write(true, "");
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let keys = ["AKIATESTS3WARDRACE0A", "AKIATESTS3WARDRACE0B"];
    let start = |key: &str| {
        t.dir
            .s3ward(&["apply", "--auto-approve", PLAN])
            .env("AWS_ENDPOINT_URL", &proxy.endpoint)
            .env("AWS_ACCESS_KEY_ID", key)
            .spawn()
    };
    let (a, b) = (start(keys[0]), start(keys[1]));
    let (a, b) = tokio::join!(a.wait_async(), b.wait_async());
    for r in [&a, &b] {
        assert!(
            r.code == 0 || (r.code == 1 && r.stderr.contains("is held by")),
            "{r}"
        );
    }
    assert!(a.code == 0 || b.code == 0, "{a}\n{b}");

    let ops = proxy.operations();
    let mut holder: Option<&str> = None;
    let mut managed_writes = 0;
    for r in writes(&ops) {
        let key = r.access_key.as_deref().unwrap_or_default();
        if r.resource.as_deref() == Some(t.lock_bucket.as_str()) {
            match (r.operation.as_str(), r.status, holder) {
                ("PutObject", Some(200), None) => holder = Some(key),
                // Refused: by the other's lock (its answer may be recorded just after the
                // other released it, as answers are recorded when they leave).
                ("PutObject", Some(412), h) => assert_ne!(h, Some(key), "{ops:#?}"),
                ("DeleteObject", Some(204), Some(h)) if h == key => holder = None,
                _ => panic!("{r} by {key} while the lock is held by {holder:?}: {ops:#?}"),
            }
        } else {
            managed_writes += 1;
            assert!(holder.is_some(), "{r} without the lock: {ops:#?}");
        }
    }
    assert_eq!(holder, None, "{ops:#?}");
    assert!(managed_writes > 0, "{ops:#?}");
    assert_eq!(t.lock_object().await, None);
    assert_no_changes(&t.dir, None).await;
}

/// s3ward bug (reported): when the answer to the lock's conditional PutObject is lost, the
/// retry meets s3ward's own lock (412) and the apply is refused as "held by" itself, and the
/// lock is left behind.
#[tokio::test]
async fn a_lock_whose_answer_was_lost_is_still_ours() {
    let t = Small::new("rel-lock-lost").await;
    t.write(true, "");
    let proxy = Proxy::start(
        &moto().endpoint,
        ProxyRules::none().with(
            Rule::new(Fault::DropResponse)
                .service("s3")
                .operation("PutObject")
                .first(1),
        ),
    );
    apply(&t.dir, Some(&proxy.endpoint)).await;
    // The lock was taken (the answer lost), found to be ours on the retry, and released.
    assert_eq!(
        lock_writes(&proxy.operations(), &t.lock_bucket),
        [
            "s3 PutObject 200 [DropResponse]",
            "s3 PutObject 412",
            "s3 DeleteObject 204"
        ]
    );
    assert_eq!(t.lock_object().await, None);
    assert_no_changes(&t.dir, None).await;
}

/// SPEC apply order 9: `apply PLAN` and `apply --saved` take the lock before they read
/// anything of the resources they manage: with the lock held by another apply, the only
/// requests are STS (resolving the accounts) and the lock's own.
#[tokio::test]
async fn a_held_lock_refuses_apply_before_it_reads_the_managed_resources() {
    let t = Small::new("rel-lock-first").await;
    t.write(true, "");
    let made = run(&t.dir, None, &["plan", PLAN, "--out", "p.json"]).await;
    assert_eq!(made.code, 0, "{made}");
    t.put_lock_object(held_by_alice()).await;
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    for args in [
        &["apply", "--auto-approve", PLAN][..],
        &["apply", "--saved", "p.json"],
    ] {
        proxy.clear();
        let refused = run(&t.dir, Some(&proxy.endpoint), args).await;
        assert_eq!(refused.code, 1, "{refused}");
        assert!(refused.stderr.contains("is held by"), "{refused}");
        let ops = proxy.operations();
        let read: Vec<String> = ops
            .iter()
            .filter(|r| r.service != "sts" && r.resource.as_deref() != Some(t.lock_bucket.as_str()))
            .map(|r| format!("{r} ({:?})", r.resource))
            .collect();
        assert!(read.is_empty(), "before the lock: {read:?}\n{refused}");
        assert_only_write_was_a_refused_lock(&ops, &refused);
    }
    assert_eq!(t.lock_object().await, Some(held_by_alice()));
}

/// The lock is released on every way out after it was taken: a refused prompt, a stale
/// saved plan, a saved plan that does not match its plan file.
#[tokio::test]
async fn the_lock_is_released_when_apply_refuses_after_taking_it() {
    let t = Small::new("rel-lock-release").await;
    t.write(true, "");
    let made = run(&t.dir, None, &["plan", PLAN, "--out", "p.json"]).await;
    assert_eq!(made.code, 0, "{made}");
    t.dir
        .write("other.toml", &t.text(true, "# another plan file\n"));
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let refusals: [(&[&str], &str); 2] = [
        (&["apply", PLAN], "stdin is not a terminal"),
        (
            &["apply", "--saved", "p.json", "--plan-file", "other.toml"],
            "saved plan does not match its plan file",
        ),
    ];
    let check = |refused: &Run, why: &str| {
        assert_eq!(refused.code, 1, "{refused}");
        assert!(refused.stderr.contains(why), "{refused}");
        assert_eq!(
            lock_writes(&proxy.operations(), &t.lock_bucket),
            ["s3 PutObject 200", "s3 DeleteObject 204"],
            "{refused}"
        );
        assert_eq!(writes(&proxy.operations()).len(), 2, "{refused}");
    };
    for (args, why) in refusals {
        proxy.clear();
        let refused = run(&t.dir, Some(&proxy.endpoint), args).await;
        check(&refused, why);
        assert_eq!(t.lock_object().await, None, "{refused}");
    }
    // Stale: AWS changed after the plan was saved.
    set_ownership(
        &t.clients().await.s3,
        &t.bucket,
        ObjectOwnership::ObjectWriter,
    )
    .await;
    proxy.clear();
    let stale = run(
        &t.dir,
        Some(&proxy.endpoint),
        &["apply", "--saved", "p.json"],
    )
    .await;
    check(&stale, "saved plan is stale");
    assert_eq!(t.lock_object().await, None, "{stale}");
}

/// SPEC apply order 11: an object at the lock key that s3ward did not write as a lock is
/// never deleted, `--force-unlock` or not; the refusal names it.
#[tokio::test]
async fn force_unlock_never_deletes_an_object_that_s3ward_did_not_write() {
    let t = Small::new("rel-lock-foreign").await;
    t.write(true, "");
    let theirs = "{\"holder\": \"not a lock\", \"weights\": [0.1, 0.2]}".to_string();
    t.put_lock_object(theirs.clone()).await;
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    for args in [
        &["apply", "--auto-approve", "--force-unlock", PLAN][..],
        &["apply", "--auto-approve", PLAN],
    ] {
        proxy.clear();
        let refused = run(&t.dir, Some(&proxy.endpoint), args).await;
        assert_eq!(refused.code, 1, "{refused}");
        assert!(
            refused.stderr.contains(&format!(
                "error: `s3://{}/{LOCK_KEY}` holds an object ({} bytes) that s3ward did not \
                 write as a lock; s3ward never deletes it",
                t.lock_bucket,
                theirs.len()
            )),
            "{refused}"
        );
        assert!(refused.stderr.contains("settings.lock"), "{refused}");
        let deleted: Vec<String> = writes(&proxy.operations())
            .iter()
            .filter(|r| r.operation.starts_with("Delete"))
            .map(|r| r.to_string())
            .collect();
        assert!(deleted.is_empty(), "{deleted:?}\n{refused}");
        assert_eq!(t.lock_object().await.as_deref(), Some(theirs.as_str()));
    }
    assert!(!role_exists(&t.clients().await.iam, &t.role).await);
}

// --- 4. Malformed live documents ------------------------------------------------------------

/// Live bucket policies that are not policies (moto stores any text; IAM refuses malformed
/// trust and inline policies itself, so those cannot be made live here): `plan` names each
/// address and carries on with everything else.
#[tokio::test]
async fn malformed_live_bucket_policies_are_named_and_the_rest_is_planned() {
    let acct = account();
    let c = sdk(Some(&acct)).await;
    let cases: &[(&str, &str, &str)] = &[
        ("notjson", "authoritative", "this is not JSON {"),
        ("array", "authoritative", "[1, 2, 3]"),
        (
            "shape",
            "authoritative",
            r#"{"Version":"2012-10-17","Statement":"everything"}"#,
        ),
        (
            "number",
            "authoritative",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":42},"Action":"s3:GetObject","Resource":"*"}]}"#,
        ),
        ("mergebroken", "merge", "{\"Statement\": ["),
    ];
    let unknown_operator = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Odd","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::BUCKET/*","Condition":{"StringEqualsFooBar":{"aws:SourceVpce":"vpce-1"}}}]}"#;
    let mut text = format!(
        "{}\n[roles.reader]\naccount = \"main\"\nname = \"{}\"\ntrust = [{{ service = \"ec2.amazonaws.com\" }}]\n",
        main_account(&acct),
        unique("rel-malformed")
    );
    let mut names = Vec::new();
    for (key, mode, policy) in cases {
        let name = new_bucket(&c.s3, &format!("rel-bad-{key}")).await;
        put_policy(&c.s3, &name, policy).await;
        text.push_str(&format!(
            "\n[buckets.{key}]\naccount = \"main\"\nname = \"{name}\"\npolicy_mode = \"{mode}\"\n\
             [[buckets.{key}.grants]]\nto = \"account.main\"\naccess = \"list\"\n"
        ));
        names.push(name);
    }
    let odd = new_bucket(&c.s3, "rel-bad-operator").await;
    put_policy(&c.s3, &odd, &unknown_operator.replace("BUCKET", &odd)).await;
    text.push_str(&format!(
        "\n[buckets.operator]\naccount = \"main\"\nname = \"{odd}\"\n\
         [[buckets.operator.grants]]\nto = \"account.main\"\naccess = \"list\"\n"
    ));
    // A bucket that is fine and missing: planned as usual.
    let fresh = unique("rel-bad-fresh");
    text.push_str(&format!(
        "\n[buckets.fresh]\naccount = \"main\"\nname = \"{fresh}\"\n"
    ));
    let dir = PlanDir::new();
    dir.write(PLAN, &text);

    for command in [vec!["plan", PLAN], vec!["drift", PLAN]] {
        let r = run(&dir, None, &command).await;
        // The merge-mode bucket is a problem (its foreign statements cannot be found), so
        // plan exits 1 after planning everything; drift reports what it found.
        assert!(r.code == 1 || r.code == 2, "{r}");
        let all = format!("{}{}", r.stdout, r.stderr);
        for key in ["notjson", "array", "shape", "number", "mergebroken"] {
            assert!(
                all.contains(&format!("bucket.{key}.policy")),
                "{command:?}: bucket.{key}.policy not named:\n{r}"
            );
        }
        assert!(all.contains("bucket.operator.policy"), "{command:?}:\n{r}");
        assert!(all.contains("StringEqualsFooBar"), "{command:?}:\n{r}");
        assert!(all.contains("bucket.fresh"), "{command:?}:\n{r}");
        assert!(all.contains("role.reader"), "{command:?}:\n{r}");
        assert!(!all.contains("panicked"), "{command:?}:\n{r}");
    }
    let plan = run(&dir, None, &["plan", PLAN]).await;
    assert_eq!(plan.code, 1, "{plan}");
    assert!(
        plan.stderr.contains("the plan has 1 problem"),
        "only the merge-mode bucket blocks:\n{plan}"
    );

    // Without the merge-mode bucket, apply replaces the broken policies and converges.
    let without = text
        .split("\n[buckets.mergebroken]")
        .next()
        .unwrap()
        .to_string()
        + &text[text.find("\n[buckets.operator]").unwrap()..];
    dir.write(PLAN, &without);
    apply(&dir, None).await;
    assert_no_changes(&dir, None).await;
    for name in &names[..4] {
        let p = live_policy(&c.s3, name).await;
        assert!(p["Statement"].is_array(), "{name}: {p:#}");
    }
    let p = live_policy(&c.s3, &odd).await;
    assert!(!p.to_string().contains("StringEqualsFooBar"), "{p:#}");
    // The merge-mode bucket was left alone.
    assert_eq!(
        ok(c.s3.get_bucket_policy().bucket(&names[4]).send().await).policy(),
        Some("{\"Statement\": [")
    );
}

// --- 5. Secrets ---------------------------------------------------------------------------

const LEAK_ACCESS_KEY: &str = "AKIAS3WARDLEAKTEST42";
const LEAK_SECRET: &str = "s3wardAmbientSecretKey/DoNotPrint+0123456789";
const LEAK_TOKEN: &str = "s3wardAmbientSessionToken/DoNotPrint+abcdefghij==";

/// The `UserId` moto's GetCallerIdentity answers with: AWS's documentation example key,
/// not a credential of these tests.
const MOTO_CALLER_USER_ID: &str = "AKIAIOSFODNN7EXAMPLE";

/// Credential-looking strings in `text`: the given `secrets` (as they are, and
/// URL-encoded) and moto's session tokens (`FQoGZXIvYXdzE...`); with `key_ids`, also those
/// access key ids and any string shaped like one (`AKIA`/`ASIA` and 16 capitals or digits).
fn leaks(text: &str, secrets: &[String], key_ids: Option<&[String]>) -> Vec<String> {
    let mut found = Vec::new();
    for s in secrets.iter().chain(key_ids.unwrap_or_default()) {
        let encoded = percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
        if text.contains(s.as_str()) || text.contains(&encoded) {
            found.push(format!("`{s}`"));
        }
    }
    if key_ids.is_some() {
        for prefix in ["AKIA", "ASIA"] {
            for (i, _) in text.match_indices(prefix) {
                let tail = &text.as_bytes()[i + 4..];
                if tail.len() >= 16
                    && tail[..16]
                        .iter()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                    && &text[i..i + 20] != MOTO_CALLER_USER_ID
                {
                    found.push(text[i..i + 20].to_string());
                }
            }
        }
    }
    if text.contains("FQoGZXIvYXdzE") {
        found.push("a session token `FQoGZXIvYXdzE...`".into());
    }
    found.dedup();
    found
}

/// The value of `<Tag>` elements in an STS answer.
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    xml.split(&format!("<{tag}>"))
        .skip(1)
        .filter_map(|s| s.split(&format!("</{tag}>")).next())
        .map(str::to_string)
        .collect()
}

/// One verbosity: its flags and its `RUST_LOG`.
struct Verbosity {
    name: &'static str,
    flags: &'static [&'static str],
    rust_log: Option<&'static str>,
}

const VERBOSITIES: &[Verbosity] = &[
    Verbosity {
        name: "quiet",
        flags: &[],
        rust_log: None,
    },
    Verbosity {
        name: "-v",
        flags: &["-v"],
        rust_log: None,
    },
    Verbosity {
        name: "-vv",
        flags: &["-vv"],
        rust_log: None,
    },
    Verbosity {
        name: "RUST_LOG=trace",
        flags: &["-vv"],
        rust_log: Some("trace"),
    },
];

/// What the runs at one verbosity printed, and the credentials STS issued meanwhile.
struct Outputs {
    /// (what, text): each run's whole session, and the saved plan file.
    texts: Vec<(String, String)>,
    /// Issued secret keys and session tokens.
    secrets: Vec<String>,
    /// Issued access key ids.
    key_ids: Vec<String>,
}

/// Runs every command, and its error paths, at one verbosity with distinctive ambient
/// credentials, through a recording proxy.
async fn every_command_at(v: &Verbosity) -> Outputs {
    let t = Small::new("rel-secrets").await;
    t.write(true, "tags = { run = \"1\" }");
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let denied = |op: &str| {
        Proxy::start(
            &moto().endpoint,
            ProxyRules::none().with(Rule::new(Fault::AccessDenied).operation(op)),
        )
    };
    let (deny_tags, deny_assume) = (denied("PutBucketTagging"), denied("AssumeRole"));
    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut go = async |what: &str, endpoint: &str, args: &[&str], no_secret: bool| -> Run {
        let mut all: Vec<&str> = v.flags.to_vec();
        all.extend_from_slice(args);
        let mut cmd = t
            .dir
            .s3ward(&all)
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", LEAK_ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", LEAK_SECRET)
            .env("AWS_SESSION_TOKEN", LEAK_TOKEN);
        if no_secret {
            cmd = cmd.env_remove("AWS_SECRET_ACCESS_KEY");
        }
        if let Some(l) = v.rust_log {
            cmd = cmd.env("RUST_LOG", l);
        }
        let r = cmd.run_async().await;
        outputs.push((format!("{} {what}", v.name), format!("{r}")));
        r
    };
    let ep = proxy.endpoint.as_str();
    let r = go("validate", ep, &["validate", PLAN], false).await;
    assert_eq!(r.code, 0, "{r}");
    let r = go("plan", ep, &["plan", "--out", "saved.json", PLAN], false).await;
    assert_eq!(r.code, 0, "{r}");
    let r = go("apply", ep, &["apply", "--auto-approve", PLAN], false).await;
    assert_eq!(r.code, 0, "{r}");
    let c = t.clients().await;
    // A whole (empty) safetensors file: header length 2, header `{}`, no tensors.
    for (key, body) in [
        ("config.json", &b"{}"[..]),
        ("model.safetensors", &b"\x02\0\0\0\0\0\0\0{}"[..]),
    ] {
        ok(c.s3
            .put_object()
            .bucket(&t.bucket)
            .key(format!("Mistral-7B-v0.1/{key}"))
            .body(ByteStream::from_static(body))
            .send()
            .await);
    }
    let r = go("drift", ep, &["drift", PLAN], false).await;
    assert_eq!(r.code, 0, "{r}");
    let r = go("check", ep, &["check", PLAN], false).await;
    assert_eq!(r.code, 0, "{r}");
    // Error paths: a failed apply, a refused AssumeRole, no secret key.
    t.write(true, "tags = { run = \"2\" }");
    let r = go(
        "failed apply",
        &deny_tags.endpoint,
        &["apply", "--auto-approve", PLAN],
        false,
    )
    .await;
    assert_eq!(r.code, 1, "{r}");
    let r = go(
        "AssumeRole denied",
        &deny_assume.endpoint,
        &["plan", PLAN],
        false,
    )
    .await;
    assert_eq!(r.code, 1, "{r}");
    let r = go("no secret key", ep, &["plan", PLAN], true).await;
    assert_eq!(r.code, 1, "{r}");
    let saved = std::fs::read_to_string(t.dir.path().join("saved.json")).expect("saved plan");
    outputs.push((format!("{} saved plan file", v.name), saved));

    // The runs did use these credentials, and STS issued some.
    let ops = proxy.operations();
    assert!(
        ops.iter()
            .any(|r| r.access_key.as_deref() == Some(LEAK_ACCESS_KEY)),
        "{ops:?}"
    );
    let (mut secrets, mut key_ids) = (Vec::new(), Vec::new());
    for answer in proxy.sts_answers() {
        key_ids.extend(xml_values(&answer, "AccessKeyId"));
        secrets.extend(xml_values(&answer, "SecretAccessKey"));
        secrets.extend(xml_values(&answer, "SessionToken"));
    }
    assert!(
        !key_ids.is_empty() && secrets.len() == 2 * key_ids.len(),
        "STS issued no credentials"
    );
    Outputs {
        texts: outputs,
        secrets,
        key_ids,
    }
}

/// Runs [`every_command_at`] each verbosity and looks for credentials in every output:
/// secret keys and session tokens always, access key ids with `key_ids`.
async fn assert_no_credentials_at(verbosities: &[Verbosity], key_ids: bool) {
    let results = futures::future::join_all(verbosities.iter().map(every_command_at)).await;
    let mut secrets: Vec<String> = vec![LEAK_SECRET.into(), LEAK_TOKEN.into()];
    let mut ids: Vec<String> = vec![LEAK_ACCESS_KEY.into()];
    for o in &results {
        secrets.extend(o.secrets.iter().cloned());
        ids.extend(o.key_ids.iter().cloned());
    }
    let mut found = Vec::new();
    for (what, text) in results.iter().flat_map(|o| &o.texts) {
        let l = leaks(text, &secrets, key_ids.then_some(&ids[..]));
        if !l.is_empty() {
            found.push(format!("{what}: {}", l.join(", ")));
        }
    }
    assert!(
        found.is_empty(),
        "credentials in the output:\n{}",
        found.join("\n")
    );
}

#[tokio::test]
async fn no_credential_appears_in_any_output_at_any_s3ward_verbosity() {
    assert_no_credentials_at(&VERBOSITIES[..3], true).await;
}

/// `RUST_LOG=trace` turns on the AWS SDK's own logs too, which redact secret keys, session
/// tokens and signatures.
#[tokio::test]
async fn no_secret_key_or_session_token_appears_with_rust_log_trace() {
    assert_no_credentials_at(&VERBOSITIES[3..], false).await;
}

/// With `RUST_LOG=debug` or `trace` the SDK's own logs print the access key ids of the
/// ambient and the assumed-role credentials (`Credentials { access_key_id: "AKIA…" }` in
/// "resolving endpoint" and "resolved identity"); s3ward's log writer masks them.
#[tokio::test]
async fn no_access_key_id_appears_with_rust_log_trace() {
    assert_no_credentials_at(&VERBOSITIES[3..], true).await;
}

#[test]
fn the_leak_detector_finds_what_it_looks_for() {
    let secrets = vec!["top/secret+1".to_string()];
    let ids = vec!["AKIAS3WARDLEAKTEST42".to_string()];
    let clean = "nothing here: AKIA1234 arn:aws:iam::123456789012:root AKIAIOSFODNN7EXAMPLE";
    assert!(leaks(clean, &secrets, Some(&ids)).is_empty());
    assert_eq!(
        leaks("x top%2Fsecret%2B1 y", &secrets, None),
        vec!["`top/secret+1`"]
    );
    assert_eq!(
        leaks("key=ASIARTXV5AHDZSEEVLPU,", &[], Some(&[])),
        vec!["ASIARTXV5AHDZSEEVLPU"]
    );
    assert!(leaks("key=ASIARTXV5AHDZSEEVLPU,", &[], None).is_empty());
    assert_eq!(
        leaks("id AKIAS3WARDLEAKTEST42", &[], Some(&ids)),
        vec!["`AKIAS3WARDLEAKTEST42`", "AKIAS3WARDLEAKTEST42"]
    );
    assert_eq!(leaks("FQoGZXIvYXdzEBYaDu6", &[], None).len(), 1);
}
