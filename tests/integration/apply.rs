//! `s3ward apply`: each test runs the binary against moto (through its strict layer, which
//! refuses what AWS refuses) and checks the exit code, the report, and the live state with
//! the SDK afterwards. The closing check of every converging test is SPEC's promise: `plan
//! --detailed-exitcode` on the same plan file exits 0 with `No changes.`.
//!
//! Every test uses its own buckets, roles and account ids, so they run in parallel on one
//! moto server. Where a test claims "nothing was written", a recording proxy sits between
//! the binary and moto and every recorded operation must be a read.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_s3::types::{
    AccessControlPolicy, Grant, Grantee, ObjectOwnership, Owner, OwnershipControls,
    OwnershipControlsRule, Permission, PublicAccessBlockConfiguration, Tag, Tagging, Type,
};
use serde_json::{Value, json};

use crate::support::proxy::{Fault, Proxy, ProxyRules, Recorded, Rule};
use crate::support::{
    AMBIENT_ACCOUNT, Clients, MOTO_OWNER_ID, PlanDir, Run, moto, ok, sdk, unique,
};

const PLAN: &str = "plan.toml";
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const FOREIGN_OWNER_ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const S3_READ_ONLY: &str = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

// --- Helpers ------------------------------------------------------------------------------

/// A 12-digit account id of this test alone (role names are per account, so two tests
/// with the same account and role key would collide).
fn account() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("5{:06}{:05}", std::process::id() % 1_000_000, n % 100_000)
}

/// `[accounts.main]` in `id`, reached through AssumeRole.
fn main_account(id: &str) -> String {
    format!(
        "version = 1\n\n[accounts.main]\nid = \"{id}\"\nassume_role = \"arn:aws:iam::{id}:role/s3ward\"\n"
    )
}

/// Replaces `from` by `to`, insisting that `from` is there: a test must not silently keep
/// an example plan's fixed names when the example changes.
fn replace(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` is not in:\n{text}");
    text.replace(from, to)
}

async fn run(dir: &PlanDir, args: &[&str]) -> Run {
    dir.s3ward(args).run_async().await
}

/// The same, talking to `endpoint` (a proxy) instead of moto.
async fn run_at(dir: &PlanDir, endpoint: &str, args: &[&str]) -> Run {
    dir.s3ward(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .run_async()
        .await
}

async fn apply(dir: &PlanDir) -> Run {
    let run = run(dir, &["apply", "--auto-approve", PLAN]).await;
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains("\nApply complete: "),
        "no completion line:\n{run}"
    );
    run
}

/// SPEC: after apply, `plan` on the same file prints `No changes.` and, with
/// `--detailed-exitcode`, exits 0.
async fn assert_no_changes(dir: &PlanDir) {
    let run = run(dir, &["plan", "--detailed-exitcode", PLAN]).await;
    assert_eq!(run.code, 0, "spurious changes after apply:\n{run}");
    assert_eq!(
        run.stdout.trim_end().lines().last(),
        Some("No changes."),
        "{run}"
    );
}

/// The plan must see changes (exit 2): proof that what a test did out of band is visible,
/// so that a later "No changes." means something.
async fn assert_changes(dir: &PlanDir) -> Run {
    let run = run(dir, &["plan", "--detailed-exitcode", PLAN]).await;
    assert_eq!(run.code, 2, "{run}");
    run
}

fn assert_only_reads(proxy: &Proxy, run: &Run) {
    let ops = proxy.operations();
    assert!(
        !ops.is_empty(),
        "the run reached AWS through the proxy:\n{run}"
    );
    let writes: Vec<String> = ops
        .iter()
        .filter(|r| !r.is_read())
        .map(ToString::to_string)
        .collect();
    assert!(writes.is_empty(), "writes: {writes:?}\n{run}");
}

fn position(ops: &[Recorded], operation: &str, resource: &str) -> usize {
    ops.iter()
        .position(|r| r.operation == operation && r.resource.as_deref() == Some(resource))
        .unwrap_or_else(|| panic!("no {operation} on {resource} in {ops:?}"))
}

fn ownership_controls(o: ObjectOwnership) -> OwnershipControls {
    OwnershipControls::builder()
        .rules(
            OwnershipControlsRule::builder()
                .object_ownership(o)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn block(all: bool) -> PublicAccessBlockConfiguration {
    PublicAccessBlockConfiguration::builder()
        .block_public_acls(all)
        .ignore_public_acls(all)
        .block_public_policy(all)
        .restrict_public_buckets(all)
        .build()
}

async fn create_bucket(c: &Clients, name: &str) {
    ok(c.s3.create_bucket().bucket(name).send().await);
}

async fn set_ownership(c: &Clients, bucket: &str, o: ObjectOwnership) {
    ok(c.s3
        .put_bucket_ownership_controls()
        .bucket(bucket)
        .ownership_controls(ownership_controls(o))
        .send()
        .await);
}

/// Grants READ on the bucket to another canonical user (the bucket must not enforce
/// ownership at that moment, or AWS refuses the ACL).
async fn grant_acl_to_another_account(c: &Clients, bucket: &str) {
    let grantee = |id: &str| {
        Grantee::builder()
            .r#type(Type::CanonicalUser)
            .id(id)
            .build()
            .unwrap()
    };
    let grant =
        |id: &str, p: Permission| Grant::builder().grantee(grantee(id)).permission(p).build();
    ok(c.s3
        .put_bucket_acl()
        .bucket(bucket)
        .access_control_policy(
            AccessControlPolicy::builder()
                .owner(Owner::builder().id(MOTO_OWNER_ID).build())
                .grants(grant(MOTO_OWNER_ID, Permission::FullControl))
                .grants(grant(FOREIGN_OWNER_ID, Permission::Read))
                .build(),
        )
        .send()
        .await);
}

async fn live_ownership(c: &Clients, bucket: &str) -> ObjectOwnership {
    let out = ok(c
        .s3
        .get_bucket_ownership_controls()
        .bucket(bucket)
        .send()
        .await);
    out.ownership_controls()
        .expect("ownership controls")
        .rules()[0]
        .object_ownership()
        .clone()
}

/// The four flags, in SPEC's order.
async fn live_block(c: &Clients, bucket: &str) -> [Option<bool>; 4] {
    let out = ok(c.s3.get_public_access_block().bucket(bucket).send().await);
    let p = out
        .public_access_block_configuration()
        .expect("configuration");
    [
        p.block_public_acls(),
        p.ignore_public_acls(),
        p.block_public_policy(),
        p.restrict_public_buckets(),
    ]
}

/// Canonical user ids granted anything by the bucket ACL.
async fn live_acl_grantees(c: &Clients, bucket: &str) -> BTreeSet<String> {
    let out = ok(c.s3.get_bucket_acl().bucket(bucket).send().await);
    out.grants()
        .iter()
        .map(|g| {
            let grantee = g.grantee().expect("grantee");
            grantee
                .id()
                .or(grantee.uri())
                .expect("grantee id or uri")
                .to_string()
        })
        .collect()
}

async fn live_policy(c: &Clients, bucket: &str) -> Value {
    let out = ok(c.s3.get_bucket_policy().bucket(bucket).send().await);
    serde_json::from_str(out.policy().expect("policy")).expect("policy is JSON")
}

async fn put_policy(c: &Clients, bucket: &str, policy: &Value) {
    ok(c.s3
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await);
}

/// The Sids of a policy's statements.
fn sids(policy: &Value) -> BTreeSet<String> {
    policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|s| s["Sid"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn live_bucket_tags(c: &Clients, bucket: &str) -> Vec<(String, String)> {
    let out = ok(c.s3.get_bucket_tagging().bucket(bucket).send().await);
    out.tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

async fn attached_policies(c: &Clients, role: &str) -> BTreeSet<String> {
    let out = ok(c
        .iam
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await);
    out.attached_policies()
        .iter()
        .map(|p| p.policy_arn().unwrap_or_default().to_string())
        .collect()
}

async fn bucket_names(c: &Clients) -> BTreeSet<String> {
    let out = ok(c.s3.list_buckets().send().await);
    out.buckets()
        .iter()
        .map(|b| b.name().unwrap_or_default().to_string())
        .collect()
}

async fn role_exists(c: &Clients, role: &str) -> bool {
    match c.iam.get_role().role_name(role).send().await {
        Ok(_) => true,
        Err(e) => {
            let code = aws_sdk_iam::error::ProvideErrorMetadata::code(&e).map(str::to_string);
            assert_eq!(
                code.as_deref(),
                Some("NoSuchEntity"),
                "GetRole {role}: {e:?}"
            );
            false
        }
    }
}

/// A role another team owns, so that a plan's `[principals]` entry names something that
/// exists (the strict layer refuses bucket policies naming roles that do not).
async fn create_foreign_role(c: &Clients, name: &str) {
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    });
    ok(c.iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await);
}

/// One account; a role that reads one bucket; ownership enforced, all public access
/// blocked, one tag. Its own account id and names.
struct Simple {
    dir: PlanDir,
    account: String,
    bucket: String,
    role: String,
}

impl Simple {
    fn new(prefix: &str) -> Simple {
        Simple {
            dir: PlanDir::new(),
            account: account(),
            bucket: unique(prefix),
            role: unique(prefix),
        }
    }

    /// The plan file, with `extra` appended to `[buckets.weights]` (before its grants).
    fn text(&self, extra: &str) -> String {
        self.text_with_policies(&format!("\"{S3_READ_ONLY}\""), extra)
    }

    /// The same, with the role's `managed_policies` list (`"ARN", ...`).
    fn text_with_policies(&self, managed: &str, extra: &str) -> String {
        let Simple {
            account,
            bucket,
            role,
            ..
        } = self;
        format!(
            r#"{}
[roles.reader]
account = "main"
name = "{role}"
trust = [{{ service = "ec2.amazonaws.com" }}]
managed_policies = [{managed}]

[buckets.weights]
account = "main"
name = "{bucket}"
object_ownership = "BucketOwnerEnforced"
block_public_access = true
{extra}

[[buckets.weights.grants]]
to = "role.reader"
access = "read"
"#,
            main_account(account)
        )
    }

    fn write(&self, extra: &str) {
        self.dir.write(PLAN, &self.text(extra));
    }

    async fn clients(&self) -> Clients {
        sdk(Some(&self.account)).await
    }
}

// --- 1. A fresh apply converges -----------------------------------------------------------

#[tokio::test]
async fn ml_models_example_applies_across_two_accounts_and_then_has_no_changes() {
    let (storage, compute, vendor) = (account(), account(), account());
    let bucket = unique("apply-ml-models");
    let (inference, ray) = (unique("inference"), unique("ray-cluster"));
    let example = std::fs::read_to_string(format!("{ROOT}/plans/ml-models.toml"))
        .expect("read plans/ml-models.toml");
    let text = replace(&example, "111111111111", &storage);
    let text = replace(&text, "222222222222", &compute);
    let text = replace(&text, "333333333333", &vendor);
    let text = replace(&text, "acme-ml-models", &bucket);
    let text = replace(
        &text,
        "[roles.inference]\n",
        &format!("[roles.inference]\nname = \"{inference}\"\n"),
    );
    let text = replace(
        &text,
        "[roles.ray-cluster]\n",
        &format!("[roles.ray-cluster]\nname = \"{ray}\"\n"),
    );
    let dir = PlanDir::new();
    dir.write(PLAN, &text);
    // The vendor's role exists in the vendor's account (s3ward does not manage it).
    create_foreign_role(&sdk(Some(&vendor)).await, "model-eval").await;

    let run = apply(&dir).await;
    assert!(
        run.stdout
            .contains("Plan: 9 to create, 0 to update, 0 to delete."),
        "{run}"
    );
    assert_no_changes(&dir).await;

    // Each resource is in its own account.
    let (s, c) = (sdk(Some(&storage)).await, sdk(Some(&compute)).await);
    assert!(bucket_names(&s).await.contains(&bucket));
    assert!(!bucket_names(&c).await.contains(&bucket));
    assert!(role_exists(&c, &inference).await && role_exists(&c, &ray).await);
    assert!(!role_exists(&s, &inference).await);
    assert_eq!(
        live_ownership(&s, &bucket).await,
        ObjectOwnership::BucketOwnerEnforced
    );
    assert_eq!(live_block(&s, &bucket).await, [Some(true); 4]);
    assert_eq!(
        attached_policies(&c, &ray).await,
        BTreeSet::from(["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy".to_string()])
    );
    let grants = ok(c
        .iam
        .get_role_policy()
        .role_name(&inference)
        .policy_name("s3ward-grants")
        .send()
        .await);
    assert!(grants.policy_document().contains(&bucket));
}

#[tokio::test]
async fn single_account_example_applies_and_then_has_no_changes() {
    let bucket = unique("apply-single");
    let role = unique("reader");
    let example = std::fs::read_to_string(format!("{ROOT}/plans/single-account.toml"))
        .expect("read plans/single-account.toml");
    assert!(example.contains(&format!("id = \"{AMBIENT_ACCOUNT}\"")));
    let text = replace(&example, "example-model-weights", &bucket);
    let text = replace(
        &text,
        "[roles.reader]\n",
        &format!("[roles.reader]\nname = \"{role}\"\n"),
    );
    let dir = PlanDir::new();
    dir.write(PLAN, &text);

    apply(&dir).await;
    assert_no_changes(&dir).await;

    let c = sdk(None).await;
    assert_eq!(
        live_ownership(&c, &bucket).await,
        ObjectOwnership::BucketOwnerEnforced
    );
    let policy = live_policy(&c, &bucket).await;
    assert!(
        policy
            .to_string()
            .contains(&format!("arn:aws:iam::{AMBIENT_ACCOUNT}:role/{role}")),
        "{policy:#}"
    );
}

// --- 2. Out-of-band changes are repaired by one apply --------------------------------------

#[tokio::test]
async fn one_apply_repairs_every_out_of_band_change() {
    let t = Simple::new("apply-repair");
    t.write(r#"tags = { team = "ml" }"#);
    apply(&t.dir).await;
    let c = t.clients().await;

    // What people do by hand.
    ok(c.iam
        .attach_role_policy()
        .role_name(&t.role)
        .policy_arn(READ_ONLY)
        .send()
        .await);
    set_ownership(&c, &t.bucket, ObjectOwnership::ObjectWriter).await;
    let mut policy = live_policy(&c, &t.bucket).await;
    policy["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "AddedByHand",
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{}:root", account())},
        "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{}/*", t.bucket),
    }));
    put_policy(&c, &t.bucket, &policy).await;
    ok(c.s3
        .put_public_access_block()
        .bucket(&t.bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(false)
                .restrict_public_buckets(false)
                .build(),
        )
        .send()
        .await);
    grant_acl_to_another_account(&c, &t.bucket).await;
    // And on the role's side: its trust and its grants policy.
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    });
    ok(c.iam
        .update_assume_role_policy()
        .role_name(&t.role)
        .policy_document(trust.to_string())
        .send()
        .await);
    let everything = json!({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "s3wardAll", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    });
    ok(c.iam
        .put_role_policy()
        .role_name(&t.role)
        .policy_name("s3ward-grants")
        .policy_document(everything.to_string())
        .send()
        .await);

    let plan = assert_changes(&t.dir).await;
    for address in [
        "bucket.weights.policy",
        "bucket.weights.acl",
        "bucket.weights.ownership",
        "bucket.weights.public_access_block",
        "role.reader.trust",
        "role.reader.inline_policy[\"s3ward-grants\"]",
        &format!("role.reader.managed_policy[\"{READ_ONLY}\"]"),
    ] {
        assert!(
            plan.stdout.contains(&format!("# {address} ")),
            "{address}:\n{plan}"
        );
    }

    apply(&t.dir).await;
    assert_no_changes(&t.dir).await;

    assert_eq!(
        live_ownership(&c, &t.bucket).await,
        ObjectOwnership::BucketOwnerEnforced
    );
    assert_eq!(
        live_acl_grantees(&c, &t.bucket).await,
        BTreeSet::from([MOTO_OWNER_ID.to_string()]),
        "the ACL is private again"
    );
    assert_eq!(live_block(&c, &t.bucket).await, [Some(true); 4]);
    assert!(!sids(&live_policy(&c, &t.bucket).await).contains("AddedByHand"));
    assert_eq!(
        attached_policies(&c, &t.role).await,
        BTreeSet::from([S3_READ_ONLY.to_string()])
    );
    // IAM returns policy documents URL-encoded.
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .expect("UTF-8")
            .into_owned()
    };
    let role = ok(c.iam.get_role().role_name(&t.role).send().await);
    let trust = decode(role.role().unwrap().assume_role_policy_document().unwrap());
    assert!(trust.contains("\"ec2.amazonaws.com\""), "{trust}");
    assert!(!trust.contains("lambda"), "{trust}");
    let grants = ok(c
        .iam
        .get_role_policy()
        .role_name(&t.role)
        .policy_name("s3ward-grants")
        .send()
        .await);
    let grants = decode(grants.policy_document());
    assert!(
        grants.contains(&t.bucket) && !grants.contains("\"s3:*\""),
        "{grants}"
    );
}

// --- 3. No terminal, no --auto-approve: refused, nothing written ---------------------------

#[tokio::test]
async fn apply_without_a_terminal_or_auto_approve_refuses_and_writes_nothing() {
    let t = Simple::new("apply-refuse");
    t.write("");
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());

    let run = t
        .dir
        .s3ward(&["apply", PLAN])
        .env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .stdin("yes\n")
        .run_async()
        .await;
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("error: refusing to apply"), "{run}");
    assert!(run.stderr.contains("--auto-approve"), "{run}");
    assert!(
        run.stdout.contains("Plan: "),
        "the plan is shown first:\n{run}"
    );
    assert!(!run.stdout.contains("Apply complete"), "{run}");
    assert_only_reads(&proxy, &run);

    let c = t.clients().await;
    assert!(!bucket_names(&c).await.contains(&t.bucket));
    assert!(!role_exists(&c, &t.role).await);
}

// --- 4. Saved plans ------------------------------------------------------------------------

#[tokio::test]
async fn a_stale_saved_plan_is_refused_and_a_fresh_one_applies_once() {
    let t = Simple::new("apply-saved");
    t.write(r#"tags = { team = "ml" }"#);
    apply(&t.dir).await;
    let c = t.clients().await;
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());

    // AWS changes after the plan was saved.
    t.write(r#"tags = { team = "research" }"#);
    let saved = run(&t.dir, &["plan", PLAN, "--out", "p.json"]).await;
    assert_eq!(saved.code, 0, "{saved}");
    ok(c.s3
        .put_public_access_block()
        .bucket(&t.bucket)
        .public_access_block_configuration(block(false))
        .send()
        .await);
    let stale = run_at(&t.dir, &proxy.endpoint, &["apply", "--saved", "p.json"]).await;
    assert_eq!(stale.code, 1, "{stale}");
    assert!(stale.stderr.contains("saved plan is stale"), "{stale}");
    assert!(
        stale
            .stderr
            .contains("`bucket.weights.public_access_block` changed in AWS"),
        "{stale}"
    );
    assert_only_reads(&proxy, &stale);
    assert_eq!(live_block(&c, &t.bucket).await, [Some(false); 4]);
    assert!(
        live_bucket_tags(&c, &t.bucket)
            .await
            .contains(&("team".into(), "ml".into()))
    );

    // The plan file changes after the plan was saved.
    let saved = run(&t.dir, &["plan", PLAN, "--out", "p2.json"]).await;
    assert_eq!(saved.code, 0, "{saved}");
    t.write(r#"tags = { team = "infra" }"#);
    proxy.clear();
    let stale = run_at(&t.dir, &proxy.endpoint, &["apply", "--saved", "p2.json"]).await;
    assert_eq!(stale.code, 1, "{stale}");
    assert!(stale.stderr.contains("saved plan is stale"), "{stale}");
    assert!(
        stale
            .stderr
            .contains("the plan file `plan.toml` changed since the plan was saved"),
        "{stale}"
    );
    assert!(!stale.stderr.contains("changed in AWS"), "{stale}");
    assert_only_reads(&proxy, &stale);
    assert_eq!(live_block(&c, &t.bucket).await, [Some(false); 4]);
    assert!(
        live_bucket_tags(&c, &t.bucket)
            .await
            .contains(&("team".into(), "ml".into()))
    );

    // A fresh saved plan applies exactly, and only once.
    let saved = run(&t.dir, &["plan", PLAN, "--out", "p3.json"]).await;
    assert_eq!(saved.code, 0, "{saved}");
    let applied = run(&t.dir, &["apply", "--saved", "p3.json"]).await;
    assert_eq!(applied.code, 0, "{applied}");
    assert!(applied.stdout.contains("\nApply complete: "), "{applied}");
    assert_eq!(live_block(&c, &t.bucket).await, [Some(true); 4]);
    assert!(
        live_bucket_tags(&c, &t.bucket)
            .await
            .contains(&("team".into(), "infra".into()))
    );
    assert_no_changes(&t.dir).await;

    proxy.clear();
    let again = run_at(&t.dir, &proxy.endpoint, &["apply", "--saved", "p3.json"]).await;
    assert_eq!(again.code, 1, "{again}");
    assert!(again.stderr.contains("saved plan is stale"), "{again}");
    assert!(
        again
            .stderr
            .contains("`bucket.weights.public_access_block` changed in AWS"),
        "{again}"
    );
    assert_only_reads(&proxy, &again);
}

// --- 5. A failure mid-apply: report, exit 1, and the rerun converges ------------------------

/// The report of a failed apply, with the lines of each list sorted (changes that do not
/// depend on each other finish in any order).
fn report_text(run: &Run) -> String {
    let at = run
        .stdout
        .find("Apply incomplete:")
        .unwrap_or_else(|| panic!("no report:\n{run}"));
    let mut out = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    for line in run.stdout[at..].lines() {
        if line.starts_with("  ") {
            block.push(line);
        } else {
            block.sort_unstable();
            out.append(&mut block);
            out.push(line);
        }
    }
    block.sort_unstable();
    out.append(&mut block);
    let error = &run.stderr[run.stderr.find("error: ").expect("an error on stderr")..];
    format!(
        "exit: {}\n--- stdout (report)\n{}\n--- stderr (from the error)\n{error}",
        run.code,
        out.join("\n")
    )
}

#[tokio::test]
async fn a_failed_write_stops_its_dependents_only_and_the_rerun_converges() {
    let t = Simple::new("apply-fail");
    let logs = unique("apply-fail-logs");
    t.write(&format!(
        r#"tags = {{ team = "ml" }}

[buckets.logs]
account = "main"
name = "{logs}"
object_ownership = "BucketOwnerEnforced"
block_public_access = true
tags = {{ team = "ml" }}
"#
    ));
    // An existing bucket: ownership is then its own write (a new bucket gets it with
    // CreateBucket), which comes before the public access block and the tags.
    let c = t.clients().await;
    create_bucket(&c, &t.bucket).await;
    let proxy = Proxy::start(
        &moto().endpoint,
        ProxyRules::none().with(
            Rule::new(Fault::AccessDenied)
                .service("s3")
                .operation("PutBucketOwnershipControls"),
        ),
    );

    let failed = run_at(&t.dir, &proxy.endpoint, &["apply", "--auto-approve", PLAN]).await;
    assert_eq!(failed.code, 1, "{failed}");
    insta::assert_snapshot!(report_text(&failed));
    // Refused for good: not retried.
    let ops = proxy.operations();
    let denied: Vec<&Recorded> = ops
        .iter()
        .filter(|r| r.operation == "PutBucketOwnershipControls")
        .collect();
    assert_eq!(denied.len(), 1, "{ops:?}");
    assert_eq!(denied[0].fault, Some(Fault::AccessDenied));
    // Nothing after ownership was sent for that bucket.
    for op in ["PutPublicAccessBlock", "PutBucketTagging"] {
        assert!(
            !ops.iter()
                .any(|r| r.operation == op && r.resource.as_deref() == Some(t.bucket.as_str())),
            "{op} on the failed bucket: {ops:?}"
        );
    }
    // The rest was applied.
    assert!(role_exists(&c, &t.role).await);
    assert_eq!(
        live_ownership(&c, &logs).await,
        ObjectOwnership::BucketOwnerEnforced
    );
    assert_eq!(live_block(&c, &logs).await, [Some(true); 4]);
    assert!(
        sids(&live_policy(&c, &t.bucket).await)
            .iter()
            .all(|s| s.starts_with("s3ward"))
    );

    let rerun = apply(&t.dir).await;
    for address in [
        "bucket.weights.ownership",
        "bucket.weights.public_access_block",
        "bucket.weights.tags",
    ] {
        assert!(
            rerun.stdout.contains(&format!("# {address} ")),
            "{address}:\n{rerun}"
        );
    }
    assert!(
        rerun
            .stdout
            .contains("Plan: 3 to create, 0 to update, 0 to delete."),
        "{rerun}"
    );
    assert_no_changes(&t.dir).await;
    assert_eq!(
        live_ownership(&c, &t.bucket).await,
        ObjectOwnership::BucketOwnerEnforced
    );
}

#[tokio::test]
async fn a_failed_attach_leaves_the_policy_it_replaces_attached() {
    let t = Simple::new("apply-fail-iam");
    t.write("");
    apply(&t.dir).await;
    // Swap the managed policy: attach the new one, then detach the old (access is removed
    // last, so the role is never without it).
    t.dir
        .write(PLAN, &t.text_with_policies(&format!("\"{READ_ONLY}\""), ""));
    let proxy = Proxy::start(
        &moto().endpoint,
        ProxyRules::none().with(
            Rule::new(Fault::AccessDenied)
                .service("iam")
                .operation("AttachRolePolicy"),
        ),
    );

    let failed = run_at(&t.dir, &proxy.endpoint, &["apply", "--auto-approve", PLAN]).await;
    assert_eq!(failed.code, 1, "{failed}");
    insta::assert_snapshot!(report_text(&failed));
    let ops = proxy.operation_names();
    assert!(!ops.iter().any(|o| o == "DetachRolePolicy"), "{ops:?}");
    let c = t.clients().await;
    assert_eq!(
        attached_policies(&c, &t.role).await,
        BTreeSet::from([S3_READ_ONLY.to_string()])
    );

    apply(&t.dir).await;
    assert_no_changes(&t.dir).await;
    assert_eq!(
        attached_policies(&c, &t.role).await,
        BTreeSet::from([READ_ONLY.to_string()])
    );
}

// --- 6. policy_mode = "merge" --------------------------------------------------------------

#[tokio::test]
async fn merge_mode_keeps_foreign_statements_and_replaces_its_own() {
    let t = Simple::new("apply-merge");
    t.write(r#"policy_mode = "merge""#);
    let c = t.clients().await;
    create_bucket(&c, &t.bucket).await;
    let foreign = json!({
        "Sid": "AnalyticsTeamRead",
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{}:root", account())},
        "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{}/reports/*", t.bucket),
    });
    let leftover = json!({
        "Sid": "s3wardLeftoverFromAnOldPlan",
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{}:root", account())},
        "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{}/*", t.bucket),
    });
    put_policy(
        &c,
        &t.bucket,
        &json!({"Version": "2012-10-17", "Statement": [foreign, leftover]}),
    )
    .await;

    apply(&t.dir).await;
    assert_no_changes(&t.dir).await;

    let policy = live_policy(&c, &t.bucket).await;
    let statements = policy["Statement"].as_array().unwrap();
    assert!(
        statements.iter().any(|s| s["Sid"] == "AnalyticsTeamRead"
            && s["Resource"] == foreign["Resource"]
            && s["Action"] == foreign["Action"]),
        "the foreign statement is kept as it was: {policy:#}"
    );
    let sids = sids(&policy);
    assert!(!sids.contains("s3wardLeftoverFromAnOldPlan"), "{policy:#}");
    assert!(
        sids.iter().filter(|s| s.starts_with("s3ward")).count() >= 2,
        "the grant's statements: {policy:#}"
    );
    assert!(
        policy
            .to_string()
            .contains(&format!("arn:aws:iam::{}:role/{}", t.account, t.role)),
        "{policy:#}"
    );
}

// --- 7. Ordering that the strict layer checks ----------------------------------------------

#[tokio::test]
async fn a_bucket_policy_naming_a_role_created_in_the_same_apply_succeeds() {
    let t = Simple::new("apply-new-principal");
    t.write("");
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());

    let run = run_at(&t.dir, &proxy.endpoint, &["apply", "--auto-approve", PLAN]).await;
    assert_eq!(run.code, 0, "{run}");
    let ops = proxy.operations();
    let create = position(&ops, "CreateRole", &t.role);
    assert_eq!(ops[create].status, Some(200));
    let puts: Vec<(usize, &Recorded)> = ops
        .iter()
        .enumerate()
        .filter(|(_, r)| r.operation == "PutBucketPolicy")
        .collect();
    assert!(!puts.is_empty(), "{ops:?}");
    assert!(
        puts.iter().all(|(i, _)| *i > create),
        "policy before its principal: {ops:?}"
    );
    // The server refuses a principal for a while after it is created; s3ward retries
    // those refusals until the policy is accepted.
    let (last, rejected) = puts.split_last().unwrap();
    assert_eq!(last.1.status, Some(200), "{ops:?}");
    assert!(
        rejected.iter().all(|(_, r)| r.status == Some(400)),
        "{ops:?}"
    );
    assert_no_changes(&t.dir).await;
}

#[tokio::test]
async fn a_foreign_acl_grant_is_reset_before_ownership_is_enforced() {
    let t = Simple::new("apply-acl-order");
    t.write("");
    let c = t.clients().await;
    create_bucket(&c, &t.bucket).await;
    set_ownership(&c, &t.bucket, ObjectOwnership::ObjectWriter).await;
    grant_acl_to_another_account(&c, &t.bucket).await;
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());

    let run = run_at(&t.dir, &proxy.endpoint, &["apply", "--auto-approve", PLAN]).await;
    assert_eq!(run.code, 0, "{run}");
    let ops = proxy.operations();
    let acl = position(&ops, "PutBucketAcl", &t.bucket);
    let own = position(&ops, "PutBucketOwnershipControls", &t.bucket);
    assert!(acl < own, "{ops:?}");
    // One try each, neither refused.
    for op in ["PutBucketAcl", "PutBucketOwnershipControls"] {
        let sent: Vec<&Recorded> = ops.iter().filter(|r| r.operation == op).collect();
        assert_eq!(sent.len(), 1, "{op}: {ops:?}");
        assert_eq!(sent[0].status, Some(200), "{op}: {ops:?}");
    }
    assert_eq!(
        live_ownership(&c, &t.bucket).await,
        ObjectOwnership::BucketOwnerEnforced
    );
    assert_eq!(
        live_acl_grantees(&c, &t.bucket).await,
        BTreeSet::from([MOTO_OWNER_ID.to_string()])
    );
    assert_no_changes(&t.dir).await;
}

#[tokio::test]
async fn a_relaxed_block_goes_before_the_public_policy_that_needs_it() {
    let t = Simple::new("apply-relax");
    let c = t.clients().await;
    create_bucket(&c, &t.bucket).await;
    ok(c.s3
        .put_public_access_block()
        .bucket(&t.bucket)
        .public_access_block_configuration(block(true))
        .send()
        .await);
    // The server refuses a public policy while BlockPublicPolicy is on.
    let text = t
        .text("")
        .replace("block_public_access = true", "block_public_access = false");
    t.dir.write(
        PLAN,
        &format!(
            "{text}\n[[buckets.weights.grants]]\nto = \"*\"\naccess = \"read\"\npublic = true\n"
        ),
    );
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());

    let run = run_at(&t.dir, &proxy.endpoint, &["apply", "--auto-approve", PLAN]).await;
    assert_eq!(run.code, 0, "{run}");
    let ops = proxy.operations();
    let relax = position(&ops, "PutPublicAccessBlock", &t.bucket);
    let policy = position(&ops, "PutBucketPolicy", &t.bucket);
    assert!(relax < policy, "{ops:?}");
    assert_eq!(live_block(&c, &t.bucket).await, [Some(false); 4]);
    let live = live_policy(&c, &t.bucket).await;
    assert!(
        live["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["Principal"] == "*" || s["Principal"] == json!({"AWS": "*"})),
        "{live:#}"
    );
    assert_no_changes(&t.dir).await;
}

// --- 8. The s3ward:applied tag -------------------------------------------------------------

#[tokio::test]
async fn apply_records_s3ward_applied_and_keeps_other_tags() {
    let t = Simple::new("apply-tags");
    t.write(r#"tags = { team = "ml", data = "weights" }"#);
    let c = t.clients().await;
    create_bucket(&c, &t.bucket).await;
    ok(c.s3
        .put_bucket_tagging()
        .bucket(&t.bucket)
        .tagging(
            Tagging::builder()
                .tag_set(
                    Tag::builder()
                        .key("cost-center")
                        .value("4242")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await);

    apply(&t.dir).await;
    assert_no_changes(&t.dir).await;

    let tags = live_bucket_tags(&c, &t.bucket).await;
    for (k, v) in [("cost-center", "4242"), ("team", "ml"), ("data", "weights")] {
        assert!(
            tags.contains(&(k.to_string(), v.to_string())),
            "{k}={v} in {tags:?}"
        );
    }
    let applied = tags.iter().find(|(k, _)| k == "s3ward:applied");
    assert!(applied.is_some_and(|(_, v)| !v.is_empty()), "{tags:?}");

    let role = ok(c.iam.list_role_tags().role_name(&t.role).send().await);
    let role_tags: Vec<(&str, &str)> = role.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert!(
        role_tags
            .iter()
            .any(|(k, v)| *k == "s3ward:applied" && !v.is_empty()),
        "{role_tags:?}"
    );
    assert!(
        role_tags.contains(&("managed-by", "s3ward")),
        "{role_tags:?}"
    );
}
