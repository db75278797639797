//! The key side of the diff: comparison by meaning of a key policy as KMS returns it
//! (pretty-printed, reordered), merge versus authoritative, and the refusals that need the
//! identity that applies (the key-policy lockout), also on the writes (`apply::safety`).

use std::collections::BTreeMap;
use std::path::Path;

use super::{Context, diff};
use crate::change::Address;
use crate::desired::Desired;
use crate::plan_file::{Options, parse};
use crate::policy::Identity;
use crate::state::{Live, LiveDocument, LiveKey};

const ARN: &str = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const DEFAULT_POLICY: &str = r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"}]}"#;

fn desired(key_extra: &str) -> Desired {
    let text = format!(
        r#"version = 1
[settings]
name = "ml"
region = "us-east-1"
[accounts.storage]
id = "111111111111"
[keys.models]
account = "storage"
arn = "{ARN}"
{key_extra}
[buckets.models]
account = "storage"
encryption = {{ kms_key = "key.models" }}
[[buckets.models.grants]]
to = "arn:aws:iam::222222222222:role/reader"
access = "read"
"#
    );
    parse(Path::new("t.toml"), &text, Options::default())
        .unwrap_or_else(|r| panic!("{}", r.render(false)))
        .desired
}

fn live_key(policy: &str) -> Live {
    let mut live = Live::default();
    live.keys.insert(
        "models".into(),
        LiveKey {
            manager: "CUSTOMER".into(),
            state: "Enabled".into(),
            policy: LiveDocument::from_text(policy),
            tags: BTreeMap::new(),
        },
    );
    live
}

fn ctx() -> Context {
    let mut ctx = Context::default();
    ctx.identities.insert(
        "storage".into(),
        Identity::from_caller_arn(
            "111111111111",
            "arn:aws:sts::111111111111:assumed-role/s3ward/run",
        ),
    );
    ctx
}

#[test]
fn a_key_policy_as_kms_returns_it_has_no_changes() {
    let d = desired("");
    let cs = diff(&d, &live_key(DEFAULT_POLICY), &ctx());
    assert_eq!(cs.changes.len(), 1, "the grant's statement is missing");
    let write = match &cs.changes[0].write {
        crate::change::Write::PutKeyPolicy { policy, .. } => policy.clone(),
        w => panic!("{w:?}"),
    };
    // KMS pretty-prints and reorders: the same meaning is no change, in merge mode too.
    let mut doc: serde_json::Value = serde_json::from_str(&write).unwrap();
    doc["Statement"].as_array_mut().unwrap().reverse();
    let pretty = serde_json::to_string_pretty(&doc).unwrap();
    let cs = diff(&d, &live_key(&pretty), &ctx());
    assert!(cs.changes.is_empty() && cs.problems.is_empty(), "{cs:#?}");
}

#[test]
fn an_authoritative_policy_without_the_applier_is_refused_at_plan_and_apply() {
    let d = desired(r#"policy_mode = "authoritative""#);
    let cs = diff(&d, &live_key(DEFAULT_POLICY), &ctx());
    let p = &cs.problems[0];
    assert_eq!(p.address, Address::KeyPolicy("models".into()));
    assert!(
        p.message
            .contains("would no longer let `arn:aws:sts::111111111111:assumed-role/s3ward/run`"),
        "{}",
        p.message
    );
    assert!(p.message.contains("kms:PutKeyPolicy"));
    // A saved plan gets it from the write itself.
    let mut saved = cs.clone();
    saved.problems.clear();
    let refusals = crate::apply::safety::check(&d, &saved, &ctx().identities, false);
    assert!(
        refusals
            .iter()
            .any(|r| r.starts_with("key.models.policy: ") && r.contains("kms:PutKeyPolicy")),
        "{refusals:?}"
    );
    // `--allow-self-lockout` lets it through (KMS's own check still stands).
    assert!(crate::apply::safety::check(&d, &saved, &ctx().identities, true).is_empty());
    // With the account's statement kept, it is fine.
    let kept = desired(&format!(
        "policy_mode = \"authoritative\"\nextra_policy_statements = '''[{}]'''",
        &DEFAULT_POLICY[DEFAULT_POLICY.find("[{").unwrap() + 1..DEFAULT_POLICY.len() - 2]
    ));
    let cs = diff(&kept, &live_key(DEFAULT_POLICY), &ctx());
    assert!(cs.problems.is_empty(), "{:?}", cs.problems);
}

#[test]
fn an_aws_managed_key_is_refused() {
    let d = desired("");
    let mut live = live_key(DEFAULT_POLICY);
    live.keys.get_mut("models").unwrap().manager = "AWS".into();
    let cs = diff(&d, &live, &ctx());
    assert!(cs.problems[0].message.contains("AWS managed key"));
}

#[test]
fn the_aws_managed_key_named_by_arn_is_refused_for_cross_account_grants() {
    let text = format!(
        r#"version = 1
[accounts.storage]
id = "111111111111"
[buckets.models]
account = "storage"
region = "us-east-1"
encryption = {{ kms_key = "{ARN}" }}
[[buckets.models.grants]]
to = "arn:aws:iam::222222222222:role/reader"
access = "read"
"#
    );
    let d = parse(Path::new("t.toml"), &text, Options::default())
        .unwrap()
        .desired;
    let mut live = Live::default();
    live.buckets
        .insert("models".into(), crate::state::LiveBucket::absent());
    live.buckets.get_mut("models").unwrap().exists = true;
    let cs = diff(&d, &live, &ctx());
    assert!(cs.problems.is_empty(), "unknown manager: {:?}", cs.problems);
    live.outside_keys.insert(ARN.into(), "AWS".into());
    let cs = diff(&d, &live, &ctx());
    let p = &cs.problems[0];
    assert_eq!(p.address, Address::BucketEncryption("models".into()));
    assert!(
        p.message.contains("AWS managed key `aws/s3`"),
        "{}",
        p.message
    );
    live.outside_keys.insert(ARN.into(), "CUSTOMER".into());
    assert!(diff(&d, &live, &ctx()).problems.is_empty());
}
