//! The plan-file stage for KMS keys and bucket encryption: the key side of grants, exactly as
//! SPEC "Encryption with KMS" says, and the refusals found without AWS.

use std::path::Path;

use super::{Options, parse};
use crate::desired::{Desired, Encryption, GRANTS_POLICY_NAME};

fn ok(text: &str) -> Desired {
    match parse(Path::new("test.toml"), text, Options::default()) {
        Ok(l) => l.desired,
        Err(r) => panic!("{}", r.render(false)),
    }
}

fn errors(text: &str) -> String {
    match parse(Path::new("bad.toml"), text, Options::default()) {
        Ok(_) => panic!("plan file unexpectedly valid"),
        Err(r) => r.render(false),
    }
}

pub(crate) const KEY_ARN: &str =
    "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn plan(encryption: &str, key_extra: &str) -> String {
    format!(
        r#"version = 1
[settings]
name = "ml-models"
region = "us-east-1"
[accounts.storage]
id = "111111111111"
[accounts.compute]
id = "222222222222"
[keys.models]
account = "storage"
arn = "{KEY_ARN}"
{key_extra}
[roles.reader]
account = "compute"
trust = [{{ service = "ec2.amazonaws.com" }}]
[roles.writer]
account = "compute"
trust = [{{ service = "ec2.amazonaws.com" }}]
[buckets.models]
account = "storage"
name = "acme-ml-models"
encryption = {encryption}
[[buckets.models.grants]]
to = "role.reader"
access = "read"
[[buckets.models.grants]]
to = "role.writer"
access = "read-write"
[[buckets.models.grants]]
to = "account.compute"
access = "list"
"#
    )
}

#[test]
fn grants_write_the_key_side() {
    let d = ok(&plan(
        r#"{ kms_key = "key.models", bucket_key = true }"#,
        "",
    ));
    assert_eq!(
        d.buckets["models"].encryption,
        Some(Encryption::Kms {
            key_arn: KEY_ARN.into(),
            plan_key: Some("models".into()),
            bucket_key: true,
        })
    );
    let key = d.keys["models"].policy_document().unwrap();
    insta::assert_snapshot!("key_policy", key.to_pretty());
    let reader = d.roles["reader"].grants_policy.as_ref().unwrap();
    insta::assert_snapshot!("reader_grants", reader.to_pretty());
    let writer = d.roles["writer"].grants_policy.as_ref().unwrap();
    assert!(
        writer.to_json().contains("kms:GenerateDataKey"),
        "{GRANTS_POLICY_NAME}"
    );
}

#[test]
fn an_outside_key_gets_no_key_side() {
    let d = ok(&plan(&format!(r#"{{ kms_key = "{KEY_ARN}" }}"#), ""));
    assert!(d.keys["models"].policy_document().is_none());
    let reader = d.roles["reader"].grants_policy.as_ref().unwrap();
    assert!(!reader.to_json().contains("kms:"));
    let d = ok(&plan(r#""SSE-S3""#, ""));
    assert_eq!(d.buckets["models"].encryption, Some(Encryption::SseS3));
}

#[test]
fn refusals_without_aws() {
    let text = plan(
        r#"{ kms_key = "alias/aws/s3" }"#,
        r#"policy_mode = "sometimes""#,
    )
    .replace("key/1234abcd", "alias/1234abcd");
    insta::assert_snapshot!("kms_mistakes", errors(&text));
    let alias = plan(
        r#"{ kms_key = "arn:aws:kms:us-east-1:111111111111:alias/ml" }"#,
        "",
    );
    assert!(errors(&alias).contains("by the alias"));
    let other_region = plan(r#"{ kms_key = "key.models" }"#, "").replace(
        "name = \"acme-ml-models\"",
        "name = \"acme-ml-models\"\nregion = \"eu-west-1\"",
    );
    assert!(errors(&other_region).contains("is in `eu-west-1` but its key is in `us-east-1`"));
}

#[test]
fn key_extra_statements_in_merge_mode_need_the_plans_sid() {
    let bad = plan(
        r#"{ kms_key = "key.models" }"#,
        r#"extra_policy_statements = '''[{"Sid":"Admins","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"}]'''"#,
    );
    assert!(errors(&bad).contains("needs a Sid starting with `s3wardmlmodels`"));
    let good = bad.replace("\"Sid\":\"Admins\"", "\"Sid\":\"s3wardmlmodelsAdmins\"");
    let d = ok(&good);
    assert_eq!(d.keys["models"].policy_statements.len(), 3);
}

#[test]
fn a_key_policy_over_32_kb_is_refused() {
    let many: Vec<String> = (0..400)
        .map(|i| format!(r#"{{"Sid":"s3wardmlmodelsX{i}","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111111111111:role/some-long-role-name-{i}"}},"Action":"kms:Decrypt","Resource":"*"}}"#))
        .collect();
    let text = plan(
        r#"{ kms_key = "key.models" }"#,
        &format!("extra_policy_statements = '''[{}]'''", many.join(",")),
    );
    assert!(
        errors(&text).contains("KMS allows 32768"),
        "{}",
        errors(&text)
    );
}
