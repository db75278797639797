//! The evaluation suite: table-driven cases, each citing the AWS documentation rule it
//! encodes. Every row runs through the whole evaluator ([`super::evaluate`]), not a helper.
//! The rows are in `cases/*.rs`, one file per kind of rule; this file holds the harness.

use super::request::{Caller, Request};
use super::{BucketFacts, Decision, Evaluation, Identity, KeyFacts, Policy, evaluate};
use crate::desired::PublicAccessBlock;
use crate::policy::PolicyDocument;

#[path = "cases/conditions.rs"]
mod conditions;
#[path = "cases/matching.rs"]
mod matching;
#[path = "cases/scenarios.rs"]
mod scenarios;

/// The AWS pages the rows cite.
pub const EVAL: &str = "IAM: Policy evaluation logic";
pub const SAME: &str = "IAM: Policy evaluation for requests within a single account";
pub const CROSS: &str = "IAM: Cross-account policy evaluation logic";
pub const OPS: &str = "IAM: Condition operators";
pub const SETS: &str = "IAM: Set operators for multivalued context keys";
pub const VARS: &str = "IAM: Policy variables";
pub const PRINCIPAL: &str = "IAM: Principal element";
pub const NOTPRINCIPAL: &str = "IAM: NotPrincipal element";
pub const ACTION: &str = "IAM: Action / NotAction elements";
pub const RESOURCE: &str = "IAM: Resource / NotResource elements";
pub const S3AUTH: &str = "S3: How Amazon S3 authorizes a request";
pub const PAB: &str = "S3: Blocking public access to your Amazon S3 storage";
pub const OWNERSHIP: &str = "S3: Controlling ownership of objects (Object Ownership)";
pub const KMS: &str = "KMS: Default key policy (allows the account's IAM policies)";

pub const A: Decision = Decision::Allowed;
pub const D: Decision = Decision::Denied;
pub const Q: Decision = Decision::Depends;

pub const BUCKET_ACCOUNT: &str = "111111111111";

/// One request against documents; everything not set is empty.
#[derive(Clone, Debug)]
pub struct Case {
    pub rule: &'static str,
    pub caller: &'static str,
    pub identity: Option<String>,
    pub bucket: Option<String>,
    /// The caller's identity policies are not known (a principal no plan manages).
    pub external: bool,
    pub key: Option<(&'static str, &'static str)>,
    pub action: &'static str,
    pub resource: &'static str,
    pub context: &'static [(&'static str, &'static str)],
    pub restrict_public: bool,
    pub enforced: Option<bool>,
    pub object_owner: Option<&'static str>,
    pub expect: Decision,
}

pub const ROLE: &str = "arn:aws:iam::111111111111:role/app";
pub const OTHER_ROLE: &str = "arn:aws:iam::222222222222:role/reader";

impl Case {
    pub const fn new(rule: &'static str, expect: Decision) -> Case {
        Case {
            rule,
            caller: ROLE,
            identity: None,
            bucket: None,
            external: false,
            key: None,
            action: "s3:GetObject",
            resource: "arn:aws:s3:::b/k",
            context: &[],
            restrict_public: false,
            enforced: Some(true),
            object_owner: None,
            expect,
        }
    }
}

fn doc(version: &str, statements: &str) -> PolicyDocument {
    let text = format!(r#"{{"Version":"{version}","Statement":{statements}}}"#);
    PolicyDocument::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn policy(name: &str, statements: &str) -> Policy {
    // `2008:` before the statements asks for a 2008-10-17 document.
    let (version, statements) = match statements.strip_prefix("2008:") {
        Some(s) => ("2008-10-17", s),
        None => ("2012-10-17", statements),
    };
    Policy::of(name, &doc(version, statements), |_| None)
}

pub fn run(case: &Case) -> Decision {
    let caller = Caller::from_arn(case.caller).expect("caller ARN");
    let extra: Vec<(String, String)> = case
        .context
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let request = Request::new(caller, case.action, case.resource, &extra);
    let identity = match &case.identity {
        _ if case.external => Identity::NotKnown,
        Some(s) => Identity::Known(vec![policy("identity", s)]),
        None => Identity::Known(Vec::new()),
    };
    let bucket = BucketFacts {
        account: BUCKET_ACCOUNT.into(),
        policy: case.bucket.as_deref().map(|s| policy("bucket policy", s)),
        enforces_ownership: case.enforced,
        public_access_block: Some(PublicAccessBlock {
            block_public_acls: false,
            ignore_public_acls: false,
            block_public_policy: false,
            restrict_public_buckets: case.restrict_public,
        }),
        object_owner: case.object_owner.map(str::to_string),
    };
    let key = case.key.map(|(account, statements)| KeyFacts {
        key_arn: format!("arn:aws:kms:us-east-1:{account}:key/k1"),
        account: account.into(),
        policy: policy("key policy", statements),
        action: if case.action.starts_with("s3:Put") {
            "kms:GenerateDataKey".into()
        } else {
            "kms:Decrypt".into()
        },
        via_service: "s3.us-east-1.amazonaws.com".into(),
    });
    evaluate(&Evaluation {
        request: &request,
        identity: &identity,
        bucket: &bucket,
        key: key.as_ref(),
    })
    .decision
}

fn all_cases() -> Vec<Case> {
    let mut out = Vec::new();
    out.extend(conditions::cases());
    out.extend(matching::cases());
    out.extend(scenarios::cases());
    out
}

#[test]
fn the_suite_holds_at_least_300_cases_each_citing_a_rule() {
    let cases = all_cases();
    assert!(cases.len() >= 300, "only {} cases", cases.len());
    assert!(cases.iter().all(|c| c.rule.contains(": ")));
}

#[test]
fn every_case_decides_as_aws_documents() {
    let mut failures = Vec::new();
    for (i, c) in all_cases().iter().enumerate() {
        let got = run(c);
        if got != c.expect {
            failures.push(format!(
                "#{i} [{}] expected {:?}, got {got:?}: {c:?}",
                c.rule, c.expect
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
