//! What the command tests share: their `s3ward` runs (apply, then plan finds no changes),
//! live state made with the SDK the way a person in the console makes it, live state read
//! back (`None` or `false` where there is nothing), and `plans/ml-models.toml` with names
//! of the test's own.
//!
//! Setup helpers fail the test when AWS refuses them ([`super::ok`]); they take the one
//! client they use, so that tests holding only `sdk(..).await.s3` can use them too.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_s3::types::{
    AccessControlPolicy, Grant, Grantee, ObjectOwnership, Owner, OwnershipControls,
    OwnershipControlsRule, Permission, PublicAccessBlockConfiguration, Tag, Tagging, Type,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::proxy::Proxy;
use super::{MOTO_OWNER_ID, PRINCIPAL_DELAY_HEADER, PlanDir, ROOT, Run, ok, sdk, unique};

/// The plan file's name in a test's plan directory.
pub const PLAN: &str = "plan.toml";
/// A canonical user of another account (moto gives every account [`MOTO_OWNER_ID`]).
pub const FOREIGN_OWNER_ID: &str =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// A trust policy that lets EC2 assume the role.
pub const EC2_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

// --- Names ----------------------------------------------------------------------------------

/// A 12-digit account id of this call alone, reached through AssumeRole (role names are
/// per account, so two tests with the same account and role key would collide).
pub fn account() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("5{:06}{:05}", std::process::id() % 1_000_000, n % 100_000)
}

/// Replaces `from` by `to`, insisting that `from` is there: a test must not silently keep
/// an example plan's fixed names when the example changes.
pub fn replace(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` is not in:\n{text}");
    text.replace(from, to)
}

// --- The apply lock -------------------------------------------------------------------------

/// Where the lock tests keep the apply lock (`settings.lock = "s3://BUCKET/{LOCK_KEY}"`).
pub const LOCK_KEY: &str = "locks/s3ward.lock";

/// A lock object that another s3ward left (Alice's apply).
pub fn held_by_alice() -> String {
    serde_json::json!({
        "holder": "arn:aws:sts::123456789012:assumed-role/ops/alice",
        "host": "laptop-7",
        "pid": 4242,
        "plan": "reliability",
        "since": "2026-01-02T03:04:05Z",
        "token": "0123456789abcdef",
    })
    .to_string()
}

// --- Running s3ward -------------------------------------------------------------------------

/// `s3ward ARGS...` in `dir`, talking to `endpoint` (a proxy) or, with `None`, to moto.
pub async fn run(dir: &PlanDir, endpoint: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = dir.s3ward(args);
    if let Some(e) = endpoint {
        cmd = cmd.env("AWS_ENDPOINT_URL", e);
    }
    cmd.run_async().await
}

/// `s3ward apply --auto-approve plan.toml`, which must succeed and say so.
pub async fn apply(dir: &PlanDir, endpoint: Option<&str>) -> Run {
    let run = run(dir, endpoint, &["apply", "--auto-approve", PLAN]).await;
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains("\nApply complete: "),
        "no completion line:\n{run}"
    );
    run
}

/// SPEC: after apply, `plan` on the same file prints `No changes.` and, with
/// `--detailed-exitcode`, exits 0.
pub async fn assert_no_changes(dir: &PlanDir, endpoint: Option<&str>) {
    let run = run(dir, endpoint, &["plan", "--detailed-exitcode", PLAN]).await;
    assert_eq!(run.code, 0, "spurious changes after apply:\n{run}");
    assert_eq!(
        run.stdout.trim_end().lines().last(),
        Some("No changes."),
        "{run}"
    );
}

/// `run` reached AWS through `proxy`, and only read.
pub fn assert_only_reads(proxy: &Proxy, run: &Run) {
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

/// The `--format json` output of a run.
pub fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{run}"))
}

pub fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or_default()
}

/// As reports show a plan file's text.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

// --- Making live state: S3 ------------------------------------------------------------------

pub async fn create_bucket(s3: &aws_sdk_s3::Client, name: &str) {
    ok(s3.create_bucket().bucket(name).send().await);
}

/// A bucket of this test, named `prefix-…`, with moto's defaults (no ownership controls,
/// no public access block).
pub async fn new_bucket(s3: &aws_sdk_s3::Client, prefix: &str) -> String {
    let name = unique(prefix);
    create_bucket(s3, &name).await;
    name
}

pub fn ownership_controls(o: ObjectOwnership) -> OwnershipControls {
    OwnershipControls::builder()
        .rules(
            OwnershipControlsRule::builder()
                .object_ownership(o)
                .build()
                .expect("a rule"),
        )
        .build()
        .expect("controls")
}

pub async fn set_ownership(s3: &aws_sdk_s3::Client, bucket: &str, o: ObjectOwnership) {
    ok(s3
        .put_bucket_ownership_controls()
        .bucket(bucket)
        .ownership_controls(ownership_controls(o))
        .send()
        .await);
}

/// The four flags, in SPEC's order: block public ACLs, ignore public ACLs, block public
/// policy, restrict public buckets.
pub fn public_access_block(flags: [bool; 4]) -> PublicAccessBlockConfiguration {
    PublicAccessBlockConfiguration::builder()
        .block_public_acls(flags[0])
        .ignore_public_acls(flags[1])
        .block_public_policy(flags[2])
        .restrict_public_buckets(flags[3])
        .build()
}

pub async fn set_public_access_block(s3: &aws_sdk_s3::Client, bucket: &str, flags: [bool; 4]) {
    ok(s3
        .put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(public_access_block(flags))
        .send()
        .await);
}

/// Replaces the bucket's tags with `tags`.
pub async fn set_bucket_tags(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    tags: &BTreeMap<String, String>,
) {
    let set: Vec<Tag> = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().expect("a tag"))
        .collect();
    ok(s3
        .put_bucket_tagging()
        .bucket(bucket)
        .tagging(
            Tagging::builder()
                .set_tag_set(Some(set))
                .build()
                .expect("tagging"),
        )
        .send()
        .await);
}

/// PutBucketPolicy, with principals accepted at once (roles may have been created moments
/// ago).
pub async fn put_policy(s3: &aws_sdk_s3::Client, bucket: &str, policy: &str) {
    ok(s3
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy)
        .customize()
        .mutate_request(|req| {
            req.headers_mut().insert(PRINCIPAL_DELAY_HEADER, "0");
        })
        .send()
        .await);
}

/// Grants READ on the bucket to the canonical user `grantee` beside the owner's FULL_CONTROL
/// (the bucket must not enforce ownership at that moment, or AWS refuses the ACL).
pub async fn grant_read_acl(s3: &aws_sdk_s3::Client, bucket: &str, grantee: &str) {
    let grant = |id: &str, p: Permission| {
        Grant::builder()
            .grantee(
                Grantee::builder()
                    .r#type(Type::CanonicalUser)
                    .id(id)
                    .build()
                    .expect("a grantee"),
            )
            .permission(p)
            .build()
    };
    ok(s3
        .put_bucket_acl()
        .bucket(bucket)
        .access_control_policy(
            AccessControlPolicy::builder()
                .owner(Owner::builder().id(MOTO_OWNER_ID).build())
                .grants(grant(MOTO_OWNER_ID, Permission::FullControl))
                .grants(grant(grantee, Permission::Read))
                .build(),
        )
        .send()
        .await);
}

// --- Making live state: IAM -----------------------------------------------------------------

/// CreateRole, with principals in the trust policy accepted at once.
pub async fn create_role(iam: &aws_sdk_iam::Client, name: &str, trust: &str) {
    ok(iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .customize()
        .mutate_request(|req| {
            req.headers_mut().insert(PRINCIPAL_DELAY_HEADER, "0");
        })
        .send()
        .await);
}

pub async fn put_role_policy(iam: &aws_sdk_iam::Client, role: &str, name: &str, doc: &str) {
    ok(iam
        .put_role_policy()
        .role_name(role)
        .policy_name(name)
        .policy_document(doc)
        .send()
        .await);
}

pub async fn attach_policy(iam: &aws_sdk_iam::Client, role: &str, arn: &str) {
    ok(iam
        .attach_role_policy()
        .role_name(role)
        .policy_arn(arn)
        .send()
        .await);
}

// --- Reading live state ---------------------------------------------------------------------

/// The answer, or `None` when the service says there is no such thing (error code
/// `absent`); any other failure fails the test.
fn unless_absent<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
    absent: &str,
    what: &str,
) -> Option<T>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            assert_eq!(
                e.code(),
                Some(absent),
                "{what}: {}",
                DisplayErrorContext(&e)
            );
            None
        }
    }
}

/// The text of an object, or `None` when there is no such key.
pub async fn object_text(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<String> {
    let got = s3.get_object().bucket(bucket).key(key).send().await;
    let o = unless_absent(got, "NoSuchKey", &format!("GetObject {key}"))?;
    let bytes = o.body.collect().await.expect("object body").into_bytes();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

pub async fn role_exists(iam: &aws_sdk_iam::Client, role: &str) -> bool {
    let got = iam.get_role().role_name(role).send().await;
    unless_absent(got, "NoSuchEntity", &format!("GetRole {role}")).is_some()
}

pub async fn bucket_exists(s3: &aws_sdk_s3::Client, name: &str) -> bool {
    let out = ok(s3.list_buckets().send().await);
    out.buckets().iter().any(|b| b.name() == Some(name))
}

/// The bucket policy, as JSON.
pub async fn live_policy(s3: &aws_sdk_s3::Client, bucket: &str) -> Value {
    let out = ok(s3.get_bucket_policy().bucket(bucket).send().await);
    serde_json::from_str(out.policy().expect("a policy")).expect("the policy is JSON")
}

/// The bucket's tags, `(key, value)` in AWS's order.
pub async fn bucket_tags(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<(String, String)> {
    let out = ok(s3.get_bucket_tagging().bucket(bucket).send().await);
    out.tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// The role's tags, `(key, value)` in AWS's order.
pub async fn role_tags(iam: &aws_sdk_iam::Client, role: &str) -> Vec<(String, String)> {
    let out = ok(iam.list_role_tags().role_name(role).send().await);
    out.tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

// --- plans/ml-models.toml -------------------------------------------------------------------

/// `plans/ml-models.toml` as `plan.toml` in a directory of its own, with this test's own
/// account ids, bucket and role names. The vendor's role `model-eval` (which the plan names
/// and s3ward does not manage) exists in the vendor's account.
pub struct MlModels {
    pub dir: PlanDir,
    /// The account that holds the bucket.
    pub storage: String,
    /// The account that holds the roles.
    pub compute: String,
    pub vendor: String,
    pub bucket: String,
    /// `[roles.inference]`'s name.
    pub inference: String,
    /// `[roles.ray-cluster]`'s name.
    pub ray: String,
}

impl MlModels {
    /// The bucket is named `bucket_prefix-…`.
    pub async fn new(bucket_prefix: &str) -> MlModels {
        let (storage, compute, vendor) = (account(), account(), account());
        let bucket = unique(bucket_prefix);
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
        create_role(&sdk(Some(&vendor)).await.iam, "model-eval", EC2_TRUST).await;
        MlModels {
            dir,
            storage,
            compute,
            vendor,
            bucket,
            inference,
            ray,
        }
    }
}
