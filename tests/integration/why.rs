//! `s3ward why`: offline over the plan file's documents (the issue's Done-when commands on
//! `plans/ml-models.toml`, snapshotted in text and JSON), a condition s3ward cannot know
//! (`depends`, then decided with `--context`), and `--live` against moto, where a change
//! made outside s3ward (a Deny in the bucket policy, a managed policy attached by hand)
//! turns the answer while the plan file's answer stays.

use serde_json::json;

use crate::support::fixtures::{
    PLAN, account, apply, attach_policy, json_of, live_policy, put_policy,
};
use crate::support::{PlanDir, ok, sdk, unique};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const CONFIG: &str = "s3://acme-ml-models/Mistral-7B-v0.1/config.json";

/// `s3ward why plans/ml-models.toml ARGS...`, with no credentials and an endpoint nothing
/// listens on: offline must not care.
fn why_offline(args: &[&str]) -> crate::support::Run {
    let mut all = vec!["why", "plans/ml-models.toml"];
    all.extend_from_slice(args);
    crate::support::s3ward(&all)
        .current_dir(ROOT)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .run()
}

#[test]
fn the_inference_role_may_read_its_model_and_both_sides_say_so() {
    let run = why_offline(&[
        "--principal",
        "role.inference",
        "--action",
        "s3:GetObject",
        "--resource",
        CONFIG,
    ]);
    assert_eq!(run.code, 0, "{run}");
    insta::assert_snapshot!(run.snapshot_text());
}

#[test]
fn why_json_names_each_side_and_the_plan_file_line() {
    let run = why_offline(&[
        "--principal",
        "role.inference",
        "--action",
        "s3:GetObject",
        "--resource",
        CONFIG,
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{run}");
    let v = json_of(&run);
    assert_eq!(v["decision"], "allowed");
    assert_eq!(v["sides"][0]["side"], "identity");
    assert_eq!(v["sides"][1]["side"], "bucket");
    assert_eq!(
        v["sides"][1]["statements"][0]["source"],
        "plans/ml-models.toml:88"
    );
    insta::assert_snapshot!(run.snapshot_text());
}

#[test]
fn the_vendor_may_not_read_a_model_and_is_told_why() {
    let run = why_offline(&[
        "--principal",
        "principal.eval-vendor",
        "--action",
        "s3:GetObject",
        "--resource",
        CONFIG,
    ]);
    assert_eq!(run.code, 2, "{run}");
    insta::assert_snapshot!(run.snapshot_text());
}

#[test]
fn the_vendor_may_list_evals_only() {
    let list = |prefix: &str| {
        why_offline(&[
            "--principal",
            "principal.eval-vendor",
            "--action",
            "s3:ListBucket",
            "--resource",
            &format!("s3://acme-ml-models/{prefix}"),
        ])
    };
    let evals = list("evals/");
    assert_eq!(evals.code, 0, "{evals}");
    let models = list("Mistral-7B-v0.1/");
    assert_eq!(models.code, 2, "{models}");
    assert!(models.stdout.starts_with("denied: "), "{models}");
}

#[test]
fn a_condition_s3ward_cannot_know_makes_it_depend_on_that_key() {
    let dir = PlanDir::new();
    dir.write(
        PLAN,
        r#"version = 1
[accounts.main]
id = "111111111111"
[roles.app]
account = "main"
trust = [{ service = "ec2.amazonaws.com" }]
[buckets.data]
account = "main"
name = "acme-data"
object_ownership = "BucketOwnerEnforced"
extra_policy_statements = '''
[
  {
    "Sid": "OnlyFromTheVpcEndpoint",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::acme-data", "arn:aws:s3:::acme-data/*"],
    "Condition": { "StringNotEquals": { "aws:SourceVpce": "vpce-1a2b" } }
  }
]
'''
[[buckets.data.grants]]
to = "role.app"
access = "read"
"#,
    );
    let why = |extra: &[&str]| {
        let mut args = vec![
            "why",
            PLAN,
            "--principal",
            "role.app",
            "--action",
            "s3:GetObject",
            "--resource",
            "s3://acme-data/x",
        ];
        args.extend_from_slice(extra);
        dir.s3ward(&args).run()
    };
    let run = why(&[]);
    assert_eq!(run.code, 2, "{run}");
    insta::assert_snapshot!(run.snapshot_text());
    let inside = why(&["--context", "aws:SourceVpce=vpce-1a2b"]);
    assert_eq!(inside.code, 0, "{inside}");
    let outside = why(&["--context", "aws:SourceVpce=vpce-9999", "--format", "json"]);
    assert_eq!(outside.code, 2, "{outside}");
    let v = json_of(&outside);
    assert_eq!(v["decision"], "denied");
    assert_eq!(
        v["sides"][1]["statements"][0]["sid"],
        "OnlyFromTheVpcEndpoint"
    );
    assert_eq!(v["sides"][1]["statements"][0]["source"], "plan.toml:14");
}

#[test]
fn unknown_names_are_usage_errors() {
    let run = why_offline(&[
        "--principal",
        "role.nobody",
        "--action",
        "s3:GetObject",
        "--resource",
        CONFIG,
    ]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("no role `nobody`"), "{run}");
    let run = why_offline(&[
        "--principal",
        "role.inference",
        "--action",
        "s3:GetObject",
        "--resource",
        "s3://someone-elses-bucket/x",
    ]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains("no bucket `someone-elses-bucket`"),
        "{run}"
    );
}

/// A role `reader` with a `read` grant on `llama/` of a bucket that enforces ownership, all
/// in one account reached through `assume_role`; `extra` is appended.
fn reader_plan(account: &str, role: &str, bucket: &str, extra: &str) -> String {
    format!(
        r#"version = 1
[accounts.main]
id = "{account}"
assume_role = "arn:aws:iam::{account}:role/s3ward"
[roles.reader]
account = "main"
name = "{role}"
trust = [{{ service = "ec2.amazonaws.com" }}]
[buckets.models]
account = "main"
name = "{bucket}"
object_ownership = "BucketOwnerEnforced"
block_public_access = true
[[buckets.models.grants]]
to = "role.reader"
access = "read"
prefixes = ["llama/"]
{extra}"#
    )
}

/// A customer managed policy (not attached) whose statement `NoModels` denies
/// `s3:GetObject` everywhere; its ARN.
async fn deny_models_policy(iam: &aws_sdk_iam::Client, stem: &str) -> String {
    let created = ok(iam
        .create_policy()
        .policy_name(unique(stem))
        .policy_document(
            json!({
                "Version": "2012-10-17",
                "Statement": [{"Sid": "NoModels", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}],
            })
            .to_string(),
        )
        .send()
        .await);
    created.policy().and_then(|p| p.arn()).unwrap().to_string()
}

const EXPECT_READER_READS_AND_CANNOT_WRITE: &str = r#"[[buckets.models.expect]]
who = "role.reader"
can = ["read"]
prefix = "llama/"
[[buckets.models.expect]]
who = "role.reader"
cannot = ["write"]
prefix = "llama/"
"#;

#[tokio::test]
async fn live_answers_follow_changes_made_outside_s3ward() {
    let account = account();
    let aws = sdk(Some(&account)).await;
    let bucket = unique("why-b");
    let role = unique("why-r");
    let dir = PlanDir::new();
    dir.write(PLAN, &reader_plan(&account, &role, &bucket, ""));
    apply(&dir, None).await;
    let object = format!("s3://{bucket}/llama/config.json");
    let why = |live: bool| {
        let mut args = vec![
            "why",
            PLAN,
            "--principal",
            "role.reader",
            "--action",
            "s3:GetObject",
            "--resource",
            &object,
            "--format",
            "json",
        ];
        if live {
            args.push("--live");
        }
        dir.s3ward(&args).run_async()
    };
    let run = why(true).await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(json_of(&run)["documents"], "live");

    // A Deny added in the console: live says denied, naming it; the plan file still allows.
    let mut policy = live_policy(&aws.s3, &bucket).await;
    policy["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "ConsoleDeny",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{bucket}/llama/*"),
    }));
    put_policy(&aws.s3, &bucket, &policy.to_string()).await;
    let run = why(true).await;
    assert_eq!(run.code, 2, "{run}");
    let v = json_of(&run);
    assert_eq!(v["decision"], "denied");
    assert_eq!(v["sides"][1]["statements"][0]["sid"], "ConsoleDeny");
    assert_eq!(why(false).await.code, 0);

    // The Deny removed again, and a managed policy that denies attached by hand: its
    // document is read (GetPolicy, GetPolicyVersion) and decides.
    policy["Statement"].as_array_mut().unwrap().pop();
    put_policy(&aws.s3, &bucket, &policy.to_string()).await;
    assert_eq!(why(true).await.code, 0);
    let arn = deny_models_policy(&aws.iam, "why-deny").await;
    attach_policy(&aws.iam, &role, &arn).await;
    let run = why(true).await;
    assert_eq!(run.code, 2, "{run}");
    let v = json_of(&run);
    assert_eq!(v["sides"][0]["decision"], "denied", "{run}");
    assert_eq!(v["sides"][0]["statements"][0]["sid"], "NoModels");
    assert_eq!(
        v["sides"][0]["statements"][0]["policy"],
        format!("managed policy {arn}")
    );
}

#[tokio::test]
async fn drift_exits_2_at_the_expectation_that_live_state_breaks() {
    let account = account();
    let aws = sdk(Some(&account)).await;
    let bucket = unique("exp-b");
    let role = unique("exp-r");
    let dir = PlanDir::new();
    dir.write(
        PLAN,
        &reader_plan(
            &account,
            &role,
            &bucket,
            EXPECT_READER_READS_AND_CANNOT_WRITE,
        ),
    );
    apply(&dir, None).await;
    let drift = || {
        dir.s3ward(&["drift", PLAN])
            .filter(&bucket, "[BUCKET]")
            .filter(&role, "[ROLE]")
            .filter(&account, "[ACCOUNT]")
            .run_async()
    };
    let run = drift().await;
    assert_eq!(run.code, 0, "{run}");

    // An inline policy this plan file does not manage, added by hand, lets the role write:
    // AWS still matches the plan file, but the promise that the role cannot write is broken.
    crate::support::fixtures::put_role_policy(
        &aws.iam,
        &role,
        "hand-made",
        &json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}],
        })
        .to_string(),
    )
    .await;
    let run = drift().await;
    assert_eq!(run.code, 2, "{run}");
    insta::assert_snapshot!(run.snapshot_text());
    let json = dir
        .s3ward(&["drift", "--format", "json", PLAN])
        .run_async()
        .await;
    assert_eq!(json.code, 2, "{json}");
    let v = json_of(&json);
    assert_eq!(v["in_sync"], false);
    assert_eq!(v["expectations"][0]["address"], "bucket.models.expect[1]");
    assert_eq!(v["expectations"].as_array().unwrap().len(), 1, "{json}");
}

/// A managed policy the plan file declares (`managed_policies`) decides an expectation in
/// `plan`: its document is read (beside the other reads, since the plan file names it) and
/// its Deny breaks the promise that the role can read.
#[tokio::test]
async fn a_declared_managed_policy_that_denies_breaks_an_expectation_in_plan() {
    let account = account();
    let aws = sdk(Some(&account)).await;
    let bucket = unique("exp-m");
    let role = unique("exp-mr");
    let arn = deny_models_policy(&aws.iam, "exp-deny").await;
    let trust = "trust = [{ service = \"ec2.amazonaws.com\" }]\n";
    let dir = PlanDir::new();
    dir.write(
        PLAN,
        &reader_plan(
            &account,
            &role,
            &bucket,
            EXPECT_READER_READS_AND_CANNOT_WRITE,
        )
        .replace(trust, &format!("{trust}managed_policies = [\"{arn}\"]\n")),
    );
    apply(&dir, None).await;
    let run = dir
        .s3ward(&["plan", "--format", "json", PLAN])
        .run_async()
        .await;
    assert_eq!(run.code, 0, "{run}");
    let v = json_of(&run);
    assert_eq!(v["changes"].as_array().map(Vec::len), Some(0), "{run}");
    let broken = v["expectations"].as_array().expect("expectations");
    assert_eq!(broken.len(), 1, "{run}");
    assert_eq!(broken[0]["address"], "bucket.models.expect[0]", "{run}");
    assert!(broken[0].to_string().contains("NoModels"), "{run}");
}
