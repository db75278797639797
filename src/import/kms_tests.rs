//! `import --key` and a bucket's `encryption`, as round trips without AWS: real-world key
//! policies (the default one, a cross-account one as the KMS docs show it, one with
//! grants-related statements) are adopted in `merge` mode and plan `No changes.`; a bucket's
//! SSE-KMS names an imported key by `key.KEY` when the key side is already in place, and by
//! ARN when it is not.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::desired::{Desired, Encryption};
use crate::state::{LiveAcl, LiveDocument, LiveKey, Setting};

const ACCOUNT: &str = "111111111111";
const ARN: &str = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";

const DEFAULT: &str = r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"}]}"#;

/// As "Allowing users in other accounts to use a KMS key" shows it, with the grants-related
/// statement (`kms:CreateGrant` for AWS resources).
const CROSS_ACCOUNT: &str = r#"{
  "Version": "2012-10-17",
  "Id": "key-consolepolicy-3",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Allow use of the key", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::444455556666:root", "arn:aws:iam::444455556666:role/ExampleRole"]},
     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
     "Resource": "*"},
    {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::444455556666:root"]},
     "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
     "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}
  ]
}"#;

fn key_in(policy: &str) -> KeyIn {
    KeyIn {
        arn: ARN.into(),
        live: LiveKey {
            manager: "CUSTOMER".into(),
            state: "Enabled".into(),
            policy: LiveDocument::from_text(policy),
            tags: BTreeMap::new(),
        },
    }
}

/// A bucket with one s3ward read grant to a role of another account, encrypted with `ARN`.
fn bucket_in() -> BucketIn {
    let policy = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"s3wardReadPrincipalReaderList","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:role/reader"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::acme-ml-models"},
      {"Sid":"s3wardReadPrincipalReaderBucket","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:role/reader"},"Action":"s3:GetBucketLocation","Resource":"arn:aws:s3:::acme-ml-models"},
      {"Sid":"s3wardReadPrincipalReaderObjects","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:role/reader"},"Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::acme-ml-models/*"}]}"#;
    BucketIn {
        account: 0,
        name: "acme-ml-models".into(),
        region: "us-east-1".into(),
        live: crate::state::LiveBucket {
            exists: true,
            policy: Setting::Present(LiveDocument::from_text(policy)),
            acl: Setting::Present(LiveAcl {
                owner: "owner".into(),
                grants: vec![],
            }),
            ownership: Setting::Absent,
            public_access_block: Setting::Absent,
            tags: Setting::Absent,
            encryption: Setting::Present(Encryption::Kms {
                key_arn: ARN.into(),
                plan_key: None,
                bucket_key: true,
            }),
        },
    }
}

fn input(buckets: Vec<BucketIn>, keys: Vec<KeyIn>) -> Input {
    Input {
        plan_name: "ml-models".into(),
        accounts: vec![AccountIn {
            key: None,
            id: ACCOUNT.into(),
            assume_role: None,
            external_id: None,
            identity: None,
        }],
        buckets,
        roles: Vec::new(),
        keys,
    }
}

/// Imports; the result resolves and plans no change.
fn clean(input: &Input) -> (String, Desired) {
    let imported = import(input);
    assert!(imported.invalid.is_none(), "{}", imported.text);
    assert!(
        imported.notes.is_empty(),
        "{:#?}\n{}",
        imported.notes,
        imported.text
    );
    let desired = plan_file::parse(Path::new("t.toml"), &imported.text, Default::default())
        .unwrap_or_else(|r| panic!("{}", r.render(false)))
        .desired;
    (imported.text, desired)
}

#[test]
fn real_world_key_policies_are_adopted_in_merge_mode() {
    for policy in [DEFAULT, CROSS_ACCOUNT] {
        let (text, d) = clean(&input(Vec::new(), vec![key_in(policy)]));
        assert!(
            text.contains(&format!("[keys.key1]\naccount = \"main\"\narn = \"{ARN}\"")),
            "{text}"
        );
        assert!(d.keys["key1"].policy_statements.is_empty());
    }
}

#[test]
fn a_bucket_names_its_key_by_arn_until_the_key_side_is_there() {
    // The key policy lacks the grant's statement: `key.KEY` would add it, so import names
    // the key by ARN (no key side) and plans nothing.
    let (text, d) = clean(&input(vec![bucket_in()], vec![key_in(CROSS_ACCOUNT)]));
    assert!(
        text.contains(&format!(
            "encryption = {{ kms_key = \"{ARN}\", bucket_key = true }}"
        )),
        "{text}"
    );
    assert_eq!(
        d.buckets
            .values()
            .next()
            .unwrap()
            .encryption
            .as_ref()
            .and_then(|e| e.plan_key()),
        None
    );

    // With the statement in place (as an earlier apply leaves it), the bucket names the key.
    let (_, with_key) = {
        let text = text.replace(
            &format!("\"{ARN}\", bucket_key"),
            "\"key.acme-ml-models\", bucket_key",
        );
        let d = plan_file::parse(Path::new("t.toml"), &text, Default::default())
            .unwrap()
            .desired;
        (text, d)
    };
    let statement = with_key.keys["acme-ml-models"].policy_statements[0].to_value();
    let mut live: serde_json::Value = serde_json::from_str(CROSS_ACCOUNT).unwrap();
    live["Statement"].as_array_mut().unwrap().push(statement);
    let (text, d) = clean(&input(vec![bucket_in()], vec![key_in(&live.to_string())]));
    assert!(
        text.contains("encryption = { kms_key = \"key.acme-ml-models\", bucket_key = true }"),
        "{text}"
    );
    assert_eq!(d.keys["acme-ml-models"].policy_statements.len(), 1);
}

#[test]
fn sse_s3_and_no_configuration() {
    let mut b = bucket_in();
    b.live.encryption = Setting::Present(Encryption::SseS3);
    let (text, _) = clean(&input(vec![b.clone()], Vec::new()));
    assert!(text.contains("encryption = \"SSE-S3\""), "{text}");
    b.live.encryption = Setting::Absent;
    let (text, _) = clean(&input(vec![b], Vec::new()));
    assert!(!text.contains("encryption ="), "{text}");
}
