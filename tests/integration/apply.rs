//! `s3ward apply`: each test runs the binary against moto (through its strict layer, which
//! refuses what AWS refuses) and checks the exit code, the report, and the live state with
//! the SDK afterwards. The closing check of every converging test is SPEC's promise: `plan
//! --detailed-exitcode` on the same plan file exits 0 with `No changes.`.
//!
//! Every test uses its own buckets, roles and account ids, so they run in parallel on one
//! moto server. Where a test claims "nothing was written", a recording proxy sits between
//! the binary and moto and every recorded operation must be a read.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_s3::types::ObjectOwnership;
use serde_json::{Value, json};

use crate::support::fixtures::{
    FOREIGN_OWNER_ID, MlModels, PLAN, account, apply, assert_no_changes, assert_only_reads,
    attach_policy, bucket_exists, bucket_tags, create_bucket, create_role, grant_read_acl,
    live_policy, put_policy, put_role_policy, replace, role_exists, role_tags, run,
    set_bucket_tags, set_ownership, set_public_access_block, sha256_hex,
};
use crate::support::plans::{S3_READ_ONLY, main_account};
use crate::support::proxy::{Fault, Proxy, ProxyRules, Recorded, Rule};
use crate::support::{
    AMBIENT_ACCOUNT, Clients, MOTO_OWNER_ID, PlanDir, Run, moto, ok, sdk, unique,
};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

// --- Helpers ------------------------------------------------------------------------------

/// `[accounts.main]` in `id`, reached through AssumeRole.
/// The plan must see changes (exit 2): proof that what a test did out of band is visible,
/// so that a later "No changes." means something.
async fn assert_changes(dir: &PlanDir) -> Run {
    let run = run(dir, None, &["plan", "--detailed-exitcode", PLAN]).await;
    assert_eq!(run.code, 2, "{run}");
    run
}

/// `s3ward apply --auto-approve plan.toml` through a proxy that refuses `operation` of
/// `service` with AccessDenied: the apply fails (exit 1).
async fn apply_denied(
    dir: &PlanDir,
    service: &'static str,
    operation: &'static str,
) -> (Proxy, Run) {
    let proxy = Proxy::start(
        &moto().endpoint,
        ProxyRules::none().with(
            Rule::new(Fault::AccessDenied)
                .service(service)
                .operation(operation),
        ),
    );
    let failed = run(
        dir,
        Some(&proxy.endpoint),
        &["apply", "--auto-approve", PLAN],
    )
    .await;
    assert_eq!(failed.code, 1, "{failed}");
    (proxy, failed)
}

fn position(ops: &[Recorded], operation: &str, resource: &str) -> usize {
    ops.iter()
        .position(|r| r.operation == operation && r.resource.as_deref() == Some(resource))
        .unwrap_or_else(|| panic!("no {operation} on {resource} in {ops:?}"))
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

/// The Sids of a policy's statements.
fn sids(policy: &Value) -> BTreeSet<String> {
    policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|s| s["Sid"].as_str().unwrap_or_default().to_string())
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
    let ml = MlModels::new("apply-ml-models").await;

    let run = apply(&ml.dir, None).await;
    assert!(
        run.stdout
            .contains("Plan: 9 to create, 0 to update, 0 to delete."),
        "{run}"
    );
    assert_no_changes(&ml.dir, None).await;

    // Each resource is in its own account.
    let (s, c) = (sdk(Some(&ml.storage)).await, sdk(Some(&ml.compute)).await);
    assert!(bucket_exists(&s.s3, &ml.bucket).await);
    assert!(!bucket_exists(&c.s3, &ml.bucket).await);
    assert!(role_exists(&c.iam, &ml.inference).await && role_exists(&c.iam, &ml.ray).await);
    assert!(!role_exists(&s.iam, &ml.inference).await);
    assert_eq!(
        live_ownership(&s, &ml.bucket).await,
        ObjectOwnership::BucketOwnerEnforced
    );
    assert_eq!(live_block(&s, &ml.bucket).await, [Some(true); 4]);
    assert_eq!(
        attached_policies(&c, &ml.ray).await,
        BTreeSet::from(["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy".to_string()])
    );
    let grants = ok(c
        .iam
        .get_role_policy()
        .role_name(&ml.inference)
        .policy_name("s3ward-grants")
        .send()
        .await);
    assert!(grants.policy_document().contains(&ml.bucket));
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

    apply(&dir, None).await;
    assert_no_changes(&dir, None).await;

    let c = sdk(None).await;
    assert_eq!(
        live_ownership(&c, &bucket).await,
        ObjectOwnership::BucketOwnerEnforced
    );
    let policy = live_policy(&c.s3, &bucket).await;
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
    apply(&t.dir, None).await;
    let c = t.clients().await;

    // What people do by hand.
    attach_policy(&c.iam, &t.role, READ_ONLY).await;
    set_ownership(&c.s3, &t.bucket, ObjectOwnership::ObjectWriter).await;
    let mut policy = live_policy(&c.s3, &t.bucket).await;
    policy["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "AddedByHand",
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{}:root", account())},
        "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{}/*", t.bucket),
    }));
    put_policy(&c.s3, &t.bucket, &policy.to_string()).await;
    set_public_access_block(&c.s3, &t.bucket, [true, true, false, false]).await;
    grant_read_acl(&c.s3, &t.bucket, FOREIGN_OWNER_ID).await;
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

    apply(&t.dir, None).await;
    assert_no_changes(&t.dir, None).await;

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
    assert!(!sids(&live_policy(&c.s3, &t.bucket).await).contains("AddedByHand"));
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
    assert!(!bucket_exists(&c.s3, &t.bucket).await);
    assert!(!role_exists(&c.iam, &t.role).await);
}

// --- 4. Saved plans ------------------------------------------------------------------------

/// `s3ward apply --saved SAVED` through `proxy`, refused as stale for `why`, having only
/// read.
async fn apply_stale(dir: &PlanDir, proxy: &Proxy, saved: &str, why: &str) -> Run {
    proxy.clear();
    let stale = run(dir, Some(&proxy.endpoint), &["apply", "--saved", saved]).await;
    assert_eq!(stale.code, 1, "{stale}");
    assert!(stale.stderr.contains("saved plan is stale"), "{stale}");
    assert!(stale.stderr.contains(why), "{stale}");
    assert_only_reads(proxy, &stale);
    stale
}

#[tokio::test]
async fn a_stale_saved_plan_is_refused_and_a_fresh_one_applies_once() {
    let t = Simple::new("apply-saved");
    t.write(r#"tags = { team = "ml" }"#);
    apply(&t.dir, None).await;
    let c = t.clients().await;
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    // What a refused apply leaves: the block opened by hand, the tags of the first apply.
    let assert_untouched = async || {
        assert_eq!(live_block(&c, &t.bucket).await, [Some(false); 4]);
        assert!(
            bucket_tags(&c.s3, &t.bucket)
                .await
                .contains(&("team".into(), "ml".into()))
        );
    };

    // AWS changes after the plan was saved.
    t.write(r#"tags = { team = "research" }"#);
    let saved = run(&t.dir, None, &["plan", PLAN, "--out", "p.json"]).await;
    assert_eq!(saved.code, 0, "{saved}");
    set_public_access_block(&c.s3, &t.bucket, [false; 4]).await;
    apply_stale(
        &t.dir,
        &proxy,
        "p.json",
        "`bucket.weights.public_access_block` (the public access block) changed in AWS",
    )
    .await;
    assert_untouched().await;

    // The plan file changes after the plan was saved.
    let saved = run(&t.dir, None, &["plan", PLAN, "--out", "p2.json"]).await;
    assert_eq!(saved.code, 0, "{saved}");
    t.write(r#"tags = { team = "infra" }"#);
    let stale = apply_stale(
        &t.dir,
        &proxy,
        "p2.json",
        "the plan file `plan.toml` changed since the plan was saved",
    )
    .await;
    assert!(!stale.stderr.contains("changed in AWS"), "{stale}");
    assert_untouched().await;

    // A fresh saved plan applies exactly, and only once.
    let saved = run(&t.dir, None, &["plan", PLAN, "--out", "p3.json"]).await;
    assert_eq!(saved.code, 0, "{saved}");
    let applied = run(&t.dir, None, &["apply", "--saved", "p3.json"]).await;
    assert_eq!(applied.code, 0, "{applied}");
    assert!(applied.stdout.contains("\nApply complete: "), "{applied}");
    assert_eq!(live_block(&c, &t.bucket).await, [Some(true); 4]);
    assert!(
        bucket_tags(&c.s3, &t.bucket)
            .await
            .contains(&("team".into(), "infra".into()))
    );
    assert_no_changes(&t.dir, None).await;

    // Again: nobody changed AWS, the saved plan was applied, and it says so.
    let again = run(
        &t.dir,
        Some(&proxy.endpoint),
        &["apply", "--saved", "p3.json"],
    )
    .await;
    assert_eq!(again.code, 1, "{again}");
    assert!(
        again
            .stderr
            .contains("saved plan was already applied: `bucket.weights`"),
        "{again}"
    );
    assert!(!again.stderr.contains("changed in AWS"), "{again}");
    assert_only_reads(&proxy, &again);
}

// --- 4b. Saved plans altered on their way --------------------------------------------------

/// The saved plan at `name` in `dir`, as JSON.
fn read_saved(dir: &PlanDir, name: &str) -> Value {
    let text = std::fs::read_to_string(dir.path().join(name)).expect("the saved plan");
    serde_json::from_str(&text).expect("a saved plan is JSON")
}

fn write_saved(dir: &PlanDir, name: &str, saved: &Value) {
    dir.write(name, &serde_json::to_string_pretty(saved).unwrap());
}

/// `s3ward apply --saved ARGS...` through `proxy`, refused (exit 1) with "saved plan does
/// not match its plan file" having written nothing at all; its output for a snapshot.
async fn apply_mismatched(t: &Simple, proxy: &Proxy, args: &[&str]) -> String {
    proxy.clear();
    let run = run(&t.dir, Some(&proxy.endpoint), args).await;
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr
            .contains("error: saved plan does not match its plan file: "),
        "{run}"
    );
    assert!(!run.stdout.contains("Apply complete"), "{run}");
    let writes: Vec<String> = proxy
        .operations()
        .iter()
        .filter(|r| !r.is_read())
        .map(ToString::to_string)
        .collect();
    assert!(writes.is_empty(), "writes: {writes:?}\n{run}");
    let c = t.clients().await;
    assert!(!bucket_exists(&c.s3, &t.bucket).await, "{run}");
    assert!(!role_exists(&c.iam, &t.role).await, "{run}");
    run.snapshot_text()
}

/// The index of the first change whose write is `op`.
fn change_with(saved: &Value, op: &str) -> usize {
    saved["change_set"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["write"]["op"] == op)
        .unwrap_or_else(|| panic!("no `{op}` write in {saved:#}"))
}

/// SPEC "Saved plans": the saved change set must be exactly what its plan-file text gives;
/// a write edited on its way, or a change added, is refused before anything is written.
#[tokio::test]
async fn a_saved_plan_whose_changes_were_altered_is_refused_and_writes_nothing() {
    let t = Simple::new("apply-saved-edit");
    t.write("");
    let made = run(&t.dir, None, &["plan", PLAN, "--out", "p.json"]).await;
    assert_eq!(made.code, 0, "{made}");
    let honest = read_saved(&t.dir, "p.json");
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());

    // The bucket policy in a `write` opened to everyone.
    let mut saved = honest.clone();
    let i = change_with(&saved, "put_bucket_policy");
    let public = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{}/*", t.bucket)}]});
    saved["change_set"]["changes"][i]["write"]["policy"] = json!(public.to_string());
    write_saved(&t.dir, "edited.json", &saved);
    let edited = apply_mismatched(&t, &proxy, &["apply", "--saved", "edited.json"]).await;
    insta::assert_snapshot!("saved_plan_with_an_edited_write", edited);

    // A change added: the policy of a bucket the plan file does not name.
    let mut saved = honest.clone();
    let mut added = saved["change_set"]["changes"][i].clone();
    added["address"] = json!("bucket.victim.policy");
    added["write"]["bucket"] = json!(unique("apply-victim"));
    saved["change_set"]["changes"]
        .as_array_mut()
        .unwrap()
        .push(added);
    write_saved(&t.dir, "added.json", &saved);
    let added = apply_mismatched(&t, &proxy, &["apply", "--saved", "added.json"]).await;
    insta::assert_snapshot!("saved_plan_with_an_added_change", added);

    // The `s3ward:applied` records are part of the change set too.
    let mut saved = honest.clone();
    let records = saved["change_set"]["applied"].as_object_mut().unwrap();
    assert!(records.contains_key("bucket.weights"), "{honest:#}");
    records.remove("bucket.weights");
    write_saved(&t.dir, "records.json", &saved);
    apply_mismatched(&t, &proxy, &["apply", "--saved", "records.json"]).await;

    // The honest one applies.
    let applied = run(&t.dir, None, &["apply", "--saved", "p.json"]).await;
    assert_eq!(applied.code, 0, "{applied}");
    assert_no_changes(&t.dir, None).await;
}

/// The plan-file text a saved plan carries cannot be swapped either: not without its
/// SHA-256 (refused before any AWS call), and not with it fixed up and the recorded path
/// pointed at a file that holds the new text (the change set no longer follows).
#[tokio::test]
async fn a_saved_plan_whose_plan_file_text_was_altered_is_refused() {
    let t = Simple::new("apply-saved-text");
    t.write("");
    let made = run(&t.dir, None, &["plan", PLAN, "--out", "p.json"]).await;
    assert_eq!(made.code, 0, "{made}");
    let honest = read_saved(&t.dir, "p.json");
    let evil = t.text(r#"tags = { owner = "mallory" }"#);
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());

    // The text edited, its SHA-256 left as it was: refused before any AWS call.
    let mut saved = honest.clone();
    saved["plan_file"]["text"] = json!(evil);
    write_saved(&t.dir, "text.json", &saved);
    let text = apply_mismatched(&t, &proxy, &["apply", "--saved", "text.json"]).await;
    assert!(proxy.operations().is_empty(), "{text}");
    insta::assert_snapshot!("saved_plan_with_edited_text", text);

    // The SHA-256 fixed up and the path pointed at a file holding the edited text.
    t.dir.write("saved/evil.toml", &evil);
    saved["plan_file"]["sha256"] = json!(sha256_hex(&evil));
    saved["plan_file"]["path"] = json!("saved/evil.toml");
    write_saved(&t.dir, "fixed.json", &saved);
    let fixed = apply_mismatched(&t, &proxy, &["apply", "--saved", "fixed.json"]).await;
    insta::assert_snapshot!("saved_plan_with_edited_text_and_sha256", fixed);

    // The SHA-256 fixed up, the recorded path left: the plan file there no longer has
    // that SHA-256, which is how a changed plan file looks, so it is stale.
    saved["plan_file"]["path"] = honest["plan_file"]["path"].clone();
    write_saved(&t.dir, "stale.json", &saved);
    apply_stale(
        &t.dir,
        &proxy,
        "stale.json",
        "the plan file `plan.toml` changed since the plan was saved",
    )
    .await;
    assert!(!role_exists(&t.clients().await.iam, &t.role).await);
}

/// `apply --saved FILE --plan-file PATH` (CI passes the merged plan file) refuses unless
/// PATH holds the text the saved plan was made from, naming both; even a saved plan made
/// honestly, but from another plan file.
#[tokio::test]
async fn apply_saved_with_plan_file_refuses_another_plan_file() {
    let t = Simple::new("apply-saved-pf");
    t.write("");
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());

    // A saved plan made, by the book, from another plan file.
    t.dir
        .write("other.toml", &t.text(r#"tags = { owner = "mallory" }"#));
    let made = run(&t.dir, None, &["plan", "other.toml", "--out", "other.json"]).await;
    assert_eq!(made.code, 0, "{made}");
    let other = apply_mismatched(
        &t,
        &proxy,
        &["apply", "--saved", "other.json", "--plan-file", PLAN],
    )
    .await;
    insta::assert_snapshot!("saved_plan_of_another_plan_file", other);

    // The right saved plan, and a --plan-file that holds other text.
    let made = run(&t.dir, None, &["plan", PLAN, "--out", "p.json"]).await;
    assert_eq!(made.code, 0, "{made}");
    let wrong = apply_mismatched(
        &t,
        &proxy,
        &["apply", "--saved", "p.json", "--plan-file", "other.toml"],
    )
    .await;
    assert!(
        wrong
            .contains("`other.toml` (--plan-file) does not hold the text of `plan.toml`, the plan file that `p.json` was made from"),
        "{wrong}"
    );

    // The same text under another path is the same plan file.
    t.dir.write("merged/plan.toml", &t.text(""));
    let applied = run(
        &t.dir,
        None,
        &[
            "apply",
            "--saved",
            "p.json",
            "--plan-file",
            "merged/plan.toml",
        ],
    )
    .await;
    assert_eq!(applied.code, 0, "{applied}");
    assert!(applied.stdout.contains("\nApply complete: "), "{applied}");
    assert_no_changes(&t.dir, None).await;
}

// --- 5. A failure mid-apply: report, exit 1, and the rerun converges ------------------------

/// The report of a failed apply, with the lines of each list sorted (changes that do not
/// depend on each other finish in any order).
/// What `apply` prints on stdout when everything goes well: the plan, then the report.
#[tokio::test]
async fn apply_output() {
    let t = Simple::new("apply-output");
    t.write("");
    let run = apply(&t.dir, None).await;
    let stdout = run
        .stdout
        .replace(&t.bucket, "[BUCKET]")
        .replace(&t.role, "[ROLE]")
        .replace(&t.account, "[ACCOUNT]");
    insta::assert_snapshot!("apply_output", stdout);
}

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
    create_bucket(&c.s3, &t.bucket).await;

    let (proxy, failed) = apply_denied(&t.dir, "s3", "PutBucketOwnershipControls").await;
    insta::assert_snapshot!(report_text(&failed));
    // Refused for good: not retried.
    let ops = proxy.operations();
    let denied: Vec<&Recorded> = ops
        .iter()
        .filter(|r| r.operation == "PutBucketOwnershipControls")
        .collect();
    assert_eq!(denied.len(), 1, "{ops:?}");
    assert_eq!(denied[0].fault, Some(Fault::AccessDenied));
    // Nothing that needs ownership was sent for that bucket; the public access block, which
    // only removes access, still tightened (SPEC item 10).
    let sent = |op: &str| {
        ops.iter()
            .any(|r| r.operation == op && r.resource.as_deref() == Some(t.bucket.as_str()))
    };
    assert!(
        !sent("PutBucketTagging"),
        "tags on the failed bucket: {ops:?}"
    );
    assert!(sent("PutPublicAccessBlock"), "{ops:?}");
    // The rest was applied.
    assert!(role_exists(&c.iam, &t.role).await);
    assert_eq!(
        live_ownership(&c, &logs).await,
        ObjectOwnership::BucketOwnerEnforced
    );
    assert_eq!(live_block(&c, &logs).await, [Some(true); 4]);
    assert!(
        sids(&live_policy(&c.s3, &t.bucket).await)
            .iter()
            .all(|s| s.starts_with("s3ward"))
    );

    let rerun = apply(&t.dir, None).await;
    for address in ["bucket.weights.ownership", "bucket.weights.tags"] {
        assert!(
            rerun.stdout.contains(&format!("# {address} ")),
            "{address}:\n{rerun}"
        );
    }
    assert!(
        rerun
            .stdout
            .contains("Plan: 2 to create, 0 to update, 0 to delete."),
        "{rerun}"
    );
    assert_no_changes(&t.dir, None).await;
    assert_eq!(
        live_ownership(&c, &t.bucket).await,
        ObjectOwnership::BucketOwnerEnforced
    );
}

#[tokio::test]
async fn a_failed_attach_leaves_the_policy_it_replaces_attached() {
    let t = Simple::new("apply-fail-iam");
    t.write("");
    apply(&t.dir, None).await;
    // Swap the managed policy: attach the new one, then detach the old (access is removed
    // last, so the role is never without it).
    t.dir
        .write(PLAN, &t.text_with_policies(&format!("\"{READ_ONLY}\""), ""));

    let (proxy, failed) = apply_denied(&t.dir, "iam", "AttachRolePolicy").await;
    insta::assert_snapshot!(report_text(&failed));
    let ops = proxy.operation_names();
    assert!(!ops.iter().any(|o| o == "DetachRolePolicy"), "{ops:?}");
    let c = t.clients().await;
    assert_eq!(
        attached_policies(&c, &t.role).await,
        BTreeSet::from([S3_READ_ONLY.to_string()])
    );

    apply(&t.dir, None).await;
    assert_no_changes(&t.dir, None).await;
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
    create_bucket(&c.s3, &t.bucket).await;
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
        &c.s3,
        &t.bucket,
        &json!({"Version": "2012-10-17", "Statement": [foreign, leftover]}).to_string(),
    )
    .await;

    apply(&t.dir, None).await;
    assert_no_changes(&t.dir, None).await;

    let policy = live_policy(&c.s3, &t.bucket).await;
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

    let run = run(
        &t.dir,
        Some(&proxy.endpoint),
        &["apply", "--auto-approve", PLAN],
    )
    .await;
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
    assert_no_changes(&t.dir, None).await;
}

#[tokio::test]
async fn a_foreign_acl_grant_is_reset_before_ownership_is_enforced() {
    let t = Simple::new("apply-acl-order");
    t.write("");
    let c = t.clients().await;
    create_bucket(&c.s3, &t.bucket).await;
    set_ownership(&c.s3, &t.bucket, ObjectOwnership::ObjectWriter).await;
    grant_read_acl(&c.s3, &t.bucket, FOREIGN_OWNER_ID).await;
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());

    let run = run(
        &t.dir,
        Some(&proxy.endpoint),
        &["apply", "--auto-approve", PLAN],
    )
    .await;
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
    assert_no_changes(&t.dir, None).await;
}

#[tokio::test]
async fn a_relaxed_block_goes_before_the_public_policy_that_needs_it() {
    let t = Simple::new("apply-relax");
    let c = t.clients().await;
    create_bucket(&c.s3, &t.bucket).await;
    set_public_access_block(&c.s3, &t.bucket, [true; 4]).await;
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

    let run = run(
        &t.dir,
        Some(&proxy.endpoint),
        &["apply", "--auto-approve", PLAN],
    )
    .await;
    assert_eq!(run.code, 0, "{run}");
    let ops = proxy.operations();
    let relax = position(&ops, "PutPublicAccessBlock", &t.bucket);
    let policy = position(&ops, "PutBucketPolicy", &t.bucket);
    assert!(relax < policy, "{ops:?}");
    assert_eq!(live_block(&c, &t.bucket).await, [Some(false); 4]);
    let live = live_policy(&c.s3, &t.bucket).await;
    assert!(
        live["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["Principal"] == "*" || s["Principal"] == json!({"AWS": "*"})),
        "{live:#}"
    );
    assert_no_changes(&t.dir, None).await;
}

// --- 8. The s3ward:applied tag -------------------------------------------------------------

/// IAM's 10,240 characters are for all of a role's inline policies together: in `additive`
/// mode an undeclared live one stays, so s3ward reads it and counts it before writing.
#[tokio::test]
async fn inline_policies_that_stay_count_towards_the_size_limit() {
    let t = Simple::new("apply-inline-size");
    let policy = |n: usize| {
        let resources: Vec<String> = (0..n)
            .map(|i| format!("\"arn:aws:s3:::bucket-number-{i:04}/*\""))
            .collect();
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":[{}]}}]}}"#,
            resources.join(",")
        )
    };
    let text = replace(
        &t.text(""),
        "managed_policies = [",
        &format!(
            "inline_policies_mode = \"additive\"\ninline_policies = {{ declared = '{}' }}\nmanaged_policies = [",
            policy(140)
        ),
    );
    t.dir.write(PLAN, &text);
    let c = t.clients().await;
    create_role(
        &c.iam,
        &t.role,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
    )
    .await;
    put_role_policy(&c.iam, &t.role, "theirs", &policy(140)).await;

    let planned = run(&t.dir, None, &["plan", PLAN]).await;
    assert_eq!(planned.code, 1, "{planned}");
    assert!(
        planned.stdout.contains(&format!(
            "role.reader: the inline policies of role `{}` would total",
            t.role
        )) && planned.stdout.contains("in live ones that stay: `theirs`"),
        "{planned}"
    );
}

/// AWS allows 50 tags on a bucket, and s3ward merges its own into the live ones: 45 tags it
/// does not manage plus 10 declared (plus `s3ward:applied`) is refused before any write, at
/// plan and at apply, rather than failing PutBucketTagging on every apply.
#[tokio::test]
async fn more_than_50_merged_tags_are_refused_before_any_write() {
    let t = Simple::new("apply-tags50");
    let declared: Vec<String> = (0..10).map(|i| format!("declared{i} = \"v\"")).collect();
    t.write(&format!("tags = {{ {} }}", declared.join(", ")));
    let c = t.clients().await;
    create_bucket(&c.s3, &t.bucket).await;
    let theirs: BTreeMap<String, String> = (0..45)
        .map(|i| (format!("theirs{i}"), "v".to_string()))
        .collect();
    set_bucket_tags(&c.s3, &t.bucket, &theirs).await;

    let planned = run(&t.dir, None, &["plan", PLAN]).await;
    assert_eq!(planned.code, 1, "{planned}");
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let refused = run(
        &t.dir,
        Some(&proxy.endpoint),
        &["apply", "--auto-approve", PLAN],
    )
    .await;
    assert_eq!(refused.code, 1, "{refused}");
    for out in [&planned, &refused] {
        // The plan lists its problems with the changes (stdout); apply's refusal is on stderr.
        assert!(
            format!("{}{}", out.stdout, out.stderr).contains(&format!(
                "bucket.weights.tags: bucket `{}` would have 56 tags once s3ward's are merged into the 45 it has; AWS allows 50",
                t.bucket
            )),
            "{out}"
        );
    }
    assert_only_reads(&proxy, &refused);
    assert!(!role_exists(&c.iam, &t.role).await, "nothing was created");
    let tags: BTreeMap<String, String> = bucket_tags(&c.s3, &t.bucket).await.into_iter().collect();
    assert_eq!(tags, theirs);
}

#[tokio::test]
async fn apply_records_s3ward_applied_and_keeps_other_tags() {
    let t = Simple::new("apply-tags");
    t.write(r#"tags = { team = "ml", data = "weights" }"#);
    let c = t.clients().await;
    create_bucket(&c.s3, &t.bucket).await;
    set_bucket_tags(
        &c.s3,
        &t.bucket,
        &BTreeMap::from([("cost-center".into(), "4242".into())]),
    )
    .await;

    apply(&t.dir, None).await;
    assert_no_changes(&t.dir, None).await;

    let tags = bucket_tags(&c.s3, &t.bucket).await;
    for (k, v) in [("cost-center", "4242"), ("team", "ml"), ("data", "weights")] {
        assert!(
            tags.contains(&(k.to_string(), v.to_string())),
            "{k}={v} in {tags:?}"
        );
    }
    let applied = tags.iter().find(|(k, _)| k == "s3ward:applied");
    assert!(applied.is_some_and(|(_, v)| !v.is_empty()), "{tags:?}");

    let role_tags = role_tags(&c.iam, &t.role).await;
    assert!(
        role_tags
            .iter()
            .any(|(k, v)| k == "s3ward:applied" && !v.is_empty()),
        "{role_tags:?}"
    );
    assert!(
        role_tags.contains(&("managed-by".into(), "s3ward".into())),
        "{role_tags:?}"
    );
}
