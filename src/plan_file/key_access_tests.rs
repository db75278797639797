//! The key side from a plan file: a grant on an SSE-KMS bucket of a `[keys]` entry is
//! allowed through all three sides (the key statement's `kms:ViaService` condition holds for
//! the KMS call S3 makes), a key statement taken away denies, and a key the plan does not
//! manage is named as not evaluated.

use std::path::Path;

use super::{Options, parse};
use crate::access::keys::KeySide;
use crate::access::offline::{Asked, ask};
use crate::access::{Decision, Evaluation, Side, Verdict, evaluate};

const DENY: &str = r#"extra_policy_statements = '''[{"Sid":"s3wardplanNoInference","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::222222222222:role/inference"},"Action":"kms:Decrypt","Resource":"*"}]'''"#;
const ARN: &str = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn plan(encryption: &str, extra_key: &str) -> String {
    format!(
        r#"version = 1
[settings]
region = "us-east-1"
[accounts.storage]
id = "111111111111"
[accounts.compute]
id = "222222222222"

[keys.models]
account = "storage"
arn = "{ARN}"
{extra_key}

[roles.inference]
account = "compute"
trust = [{{ service = "ec2.amazonaws.com" }}]

[buckets.models]
account = "storage"
name = "acme-models"
encryption = {encryption}

[[buckets.models.grants]]
to = "role.inference"
access = "read"
"#
    )
}

fn why(text: &str, action: &str) -> Verdict {
    let loaded = parse(Path::new("plan.toml"), text, Options::default())
        .unwrap_or_else(|r| panic!("{}", r.render(false)));
    let q = ask(
        &loaded.desired,
        &Asked {
            principal: "role.inference".into(),
            action: action.into(),
            resource: "s3://acme-models/Mistral-7B-v0.1/config.json".into(),
            context: Vec::new(),
        },
    )
    .expect("a question");
    let key = q.key.for_action(&q.request.action);
    let mut v = evaluate(&Evaluation {
        request: &q.request,
        identity: &q.identity,
        bucket: &q.bucket,
        key: key.as_ref(),
    });
    v.not_evaluated
        .extend(q.key.not_evaluated(&q.request.action));
    v
}

#[test]
fn a_read_grant_on_a_plan_key_is_allowed_on_all_three_sides() {
    let v = why(&plan(r#"{ kms_key = "key.models" }"#, ""), "s3:GetObject");
    assert_eq!(v.decision, Decision::Allowed, "{v:#?}");
    let key = v
        .sides
        .iter()
        .find(|s| s.side == Side::Key)
        .expect("a key side");
    assert_eq!(key.decision, Decision::Allowed, "{v:#?}");
    let source = key.statements[0].source.as_deref().unwrap_or_default();
    assert!(
        source.ends_with("plan.toml:23"),
        "the grant's line: {source}"
    );
    // Listing needs no key.
    let v = why(&plan(r#"{ kms_key = "key.models" }"#, ""), "s3:ListBucket");
    assert!(v.sides.iter().all(|s| s.side != Side::Key), "{v:#?}");
}

#[test]
fn a_key_policy_deny_denies_although_both_s3_sides_allow() {
    let deny = DENY;
    let text = plan(r#"{ kms_key = "key.models" }"#, deny);
    let v = why(&text, "s3:GetObject");
    assert_eq!(v.decision, Decision::Denied, "{v:#?}");
    let key = v
        .sides
        .iter()
        .find(|s| s.side == Side::Key)
        .expect("a key side");
    assert_eq!(key.decision, Decision::Denied, "{v:#?}");
}

#[test]
fn a_key_the_plan_does_not_manage_is_not_evaluated() {
    let v = why(
        &plan(&format!(r#"{{ kms_key = "{ARN}" }}"#), ""),
        "s3:GetObject",
    );
    assert!(
        v.not_evaluated
            .iter()
            .any(|n| n.contains(ARN) && n.contains("does not manage")),
        "{v:#?}"
    );
    // SSE-S3 needs no key: no key side at all.
    let sse_s3 = parse(
        Path::new("p.toml"),
        &plan(r#""SSE-S3""#, ""),
        Options::default(),
    )
    .unwrap()
    .desired;
    let side = crate::access::keys::planned(
        &sse_s3,
        &crate::access::sources::Sources::read(&sse_s3.source.text),
        &sse_s3.buckets["models"],
    );
    assert!(matches!(side, KeySide::None), "{side:?}");
}
