//! The promises the hardening review found broken (issue: "every safety promise holds under
//! adversarial review"), each end to end against moto: a cycle of new roles is applied, not
//! reported as done; merge mode loses no statement written by someone else, at write time
//! and between two plan files; a failed policy write still lets the public access block
//! tighten; a closed stdout does not change the exit code.

use std::io::Read;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::support::fixtures::{
    EC2_TRUST, PLAN, account, apply, assert_no_changes, create_bucket, create_role, live_policy,
    put_policy, run,
};
use crate::support::plans::main_account;
use crate::support::proxy::{Fault, Proxy, ProxyRules, Rule};
use crate::support::{PlanDir, hermetic_env, moto, ok, sdk, unique};

fn sids(policy: &Value) -> Vec<String> {
    let mut out: Vec<String> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|s| s["Sid"].as_str().unwrap_or_default().to_string())
        .collect();
    out.sort();
    out
}

async fn trust_of(iam: &aws_sdk_iam::Client, role: &str) -> Value {
    let r = ok(iam.get_role().role_name(role).send().await);
    let text = r
        .role()
        .expect("role")
        .assume_role_policy_document()
        .unwrap_or_default();
    let decoded = percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned();
    serde_json::from_str(&decoded).expect("trust is JSON")
}

/// `s3ward apply --auto-approve plan.toml` through `proxy`, started and not awaited (the
/// test acts while the proxy holds a write).
fn apply_in_background(
    dir: &PlanDir,
    proxy: &Proxy,
) -> tokio::task::JoinHandle<crate::support::Run> {
    let endpoint = proxy.endpoint.clone();
    let dir_path = dir.path().to_path_buf();
    tokio::spawn(async move {
        crate::support::s3ward(&["apply", "--auto-approve", PLAN])
            .current_dir(&dir_path)
            .env("AWS_ENDPOINT_URL", &endpoint)
            .run_async()
            .await
    })
}

// --- A cycle of new roles (SPEC item 8) -------------------------------------------------------

#[tokio::test]
async fn new_roles_that_trust_each_other_are_all_created_with_their_trust() {
    let id = account();
    let (a, b) = (unique("cycle-a"), unique("cycle-b"));
    let dir = PlanDir::new();
    dir.write(
        PLAN,
        &format!(
            r#"{}
[roles.a]
account = "main"
name = "{a}"
trust = [{{ role = "b" }}]

[roles.b]
account = "main"
name = "{b}"
trust = [{{ role = "a" }}, {{ role = "b" }}]
"#,
            main_account(&id)
        ),
    );
    let run = apply(&dir, None).await;
    assert!(
        run.stdout.contains("role.a.trust") || run.stdout.contains("Apply complete: 4 changes"),
        "{run}"
    );
    let c = sdk(Some(&id)).await;
    let trust_a = trust_of(&c.iam, &a).await.to_string();
    let trust_b = trust_of(&c.iam, &b).await.to_string();
    assert!(trust_a.contains(&format!(":role/{b}")), "{trust_a}");
    assert!(trust_b.contains(&format!(":role/{a}")), "{trust_b}");
    assert!(!trust_a.contains("s3wardNoOneUntilTrustIsSet"), "{trust_a}");
    assert_no_changes(&dir, None).await;
}

// --- merge mode (SPEC item 9) -------------------------------------------------------------------

fn merge_plan(id: &str, name: &str, bucket: &str, role: &str, prefix: &str) -> String {
    format!(
        r#"{}
[settings]
name = "{name}"

[roles.reader]
account = "main"
name = "{role}"
trust = [{{ service = "ec2.amazonaws.com" }}]

[buckets.shared]
account = "main"
name = "{bucket}"
create = false
policy_mode = "merge"

[[buckets.shared.grants]]
to = "role.reader"
access = "read"
prefixes = ["{prefix}"]
"#,
        main_account(id)
    )
}

#[tokio::test]
async fn two_plan_files_in_merge_mode_keep_each_others_statements_and_both_converge() {
    let id = account();
    let bucket = unique("merge-two");
    let c = sdk(Some(&id)).await;
    create_bucket(&c.s3, &bucket).await;
    let (one, two) = (PlanDir::new(), PlanDir::new());
    one.write(
        PLAN,
        &merge_plan(&id, "team-one", &bucket, &unique("one"), "one/"),
    );
    two.write(
        PLAN,
        &merge_plan(&id, "team-two", &bucket, &unique("two"), "two/"),
    );
    apply(&one, None).await;
    apply(&two, None).await;
    assert_no_changes(&one, None).await;
    assert_no_changes(&two, None).await;
    let sids = sids(&live_policy(&c.s3, &bucket).await);
    assert!(
        sids.iter().any(|s| s.starts_with("s3wardteamoneRead")),
        "{sids:?}"
    );
    assert!(
        sids.iter().any(|s| s.starts_with("s3wardteamtwoRead")),
        "{sids:?}"
    );
}

#[tokio::test]
async fn merge_mode_keeps_a_statement_added_between_plan_and_write() {
    let id = account();
    let bucket = unique("merge-late");
    let role = unique("late");
    let c = sdk(Some(&id)).await;
    create_bucket(&c.s3, &bucket).await;
    let dir = PlanDir::new();
    dir.write(PLAN, &merge_plan(&id, "late", &bucket, &role, "m/"));
    // The role is new, so its creation is the first write and the policy waits for it:
    // hold that write until someone has added a statement to the bucket policy.
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let gate = proxy.hold_after_writes(0);
    let applying = apply_in_background(&dir, &proxy);
    assert!(
        gate.wait_held(std::time::Duration::from_secs(120)).await,
        "the apply never reached its first write"
    );
    let late = json!({
        "Sid": "AddedWhileApplying",
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{id}:root")},
        "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{bucket}/late/*"),
    });
    put_policy(
        &c.s3,
        &bucket,
        &json!({"Version": "2012-10-17", "Statement": [late]}).to_string(),
    )
    .await;
    gate.open();
    let run = applying.await.expect("apply task");
    assert_eq!(run.code, 0, "{run}");
    let sids = sids(&live_policy(&c.s3, &bucket).await);
    assert!(sids.contains(&"AddedWhileApplying".to_string()), "{sids:?}");
    assert!(
        sids.iter().any(|s| s.starts_with("s3wardlateRead")),
        "{sids:?}"
    );
}

// --- A failed policy write still tightens the block (SPEC item 10) ----------------------------

#[tokio::test]
async fn a_failed_policy_write_still_lets_the_public_access_block_tighten() {
    let id = account();
    let bucket = unique("tighten");
    let role = unique("tighten");
    let c = sdk(Some(&id)).await;
    create_bucket(&c.s3, &bucket).await;
    create_role(&c.iam, &role, EC2_TRUST).await;
    let dir = PlanDir::new();
    dir.write(
        PLAN,
        &format!(
            r#"{}
[roles.reader]
account = "main"
name = "{role}"
trust = [{{ service = "ec2.amazonaws.com" }}]

[buckets.b]
account = "main"
name = "{bucket}"
create = false
block_public_access = true

[[buckets.b.grants]]
to = "role.reader"
access = "read"
"#,
            main_account(&id)
        ),
    );
    let proxy = Proxy::start(
        &moto().endpoint,
        ProxyRules::none().with(
            Rule::new(Fault::AccessDenied)
                .service("s3")
                .operation("PutBucketPolicy"),
        ),
    );
    let failed = run(
        &dir,
        Some(&proxy.endpoint),
        &["apply", "--auto-approve", PLAN],
    )
    .await;
    assert_eq!(failed.code, 1, "{failed}");
    assert!(
        failed
            .stdout
            .contains("bucket.b.policy: S3 PutBucketPolicy failed"),
        "{failed}"
    );
    let pab = ok(c.s3.get_public_access_block().bucket(&bucket).send().await);
    let conf = pab.public_access_block_configuration().expect("a block");
    assert_eq!(conf.block_public_policy(), Some(true), "{failed}");
    assert_eq!(conf.restrict_public_buckets(), Some(true), "{failed}");
}

// --- A closed stdout keeps the exit code (review item 7) --------------------------------------

#[tokio::test]
async fn drift_exits_2_even_when_its_reader_has_gone() {
    let id = account();
    let bucket = unique("closed-pipe");
    let dir = PlanDir::new();
    dir.write(
        PLAN,
        &format!(
            "{}\n[buckets.b]\naccount = \"main\"\nname = \"{bucket}\"\nblock_public_access = true\n",
            main_account(&id)
        ),
    );
    // The bucket does not exist: drift differs (pending), exit 2.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3ward"));
    cmd.args(["drift", PLAN]).current_dir(dir.path());
    hermetic_env(&mut cmd, &moto().endpoint);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn s3ward");
    // The reader goes away before s3ward writes a byte (`s3ward drift | true`).
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(2), "{stderr}");
}

// --- A retried CreateRole adopts only its own role (review item 7) ------------------------------

#[tokio::test]
async fn a_retried_create_role_does_not_take_over_a_role_someone_else_made() {
    let id = account();
    let role = unique("adopt");
    let dir = PlanDir::new();
    dir.write(
        PLAN,
        &format!(
            "{}\n[roles.r]\naccount = \"main\"\nname = \"{role}\"\ntrust = [{{ service = \"ec2.amazonaws.com\" }}]\n",
            main_account(&id)
        ),
    );
    // The first CreateRole is lost on the way (never reaches AWS); its retry is held until
    // someone else has created a role of that name.
    let proxy = Proxy::start(
        &moto().endpoint,
        ProxyRules::none().with(
            Rule::new(Fault::DropConnection)
                .service("iam")
                .operation("CreateRole")
                .first(1),
        ),
    );
    let gate = proxy.hold_after_writes(0);
    let applying = apply_in_background(&dir, &proxy);
    assert!(
        gate.wait_held(std::time::Duration::from_secs(120)).await,
        "the apply never retried CreateRole"
    );
    let c = sdk(Some(&id)).await;
    create_role(&c.iam, &role, EC2_TRUST).await;
    gate.open();
    let run = applying.await.expect("apply task");
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stdout
            .contains("role.r: IAM CreateRole failed: EntityAlreadyExists")
            && run.stdout.contains("does not take it over"),
        "{run}"
    );
}
