//! KMS keys and bucket encryption (SPEC "Encryption with KMS: the third side of a grant"):
//! the resolved `[keys.KEY]` entry, a bucket's `encryption`, and the key side of a grant —
//! the key-policy statement for the grantee and the role's identity statement on the key.
//!
//! Pure and deterministic like the rest of `desired`: statements depend only on the grant,
//! the bucket and the key. s3ward never creates, disables or schedules the deletion of a key:
//! nothing here (or anywhere) describes such a change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Access, Bucket, Grant, Grantee, PolicyMode, owns_sid, pascal};
use crate::policy::{PolicyDocument, Principal, Statement};

/// A `[keys.KEY]` entry: an existing customer-managed key whose policy s3ward manages.
#[derive(Clone, Debug)]
pub struct Key {
    pub key: String,
    pub account: String,
    pub account_id: String,
    /// The key's ARN (`arn:aws:kms:REGION:ACCOUNT:key/ID`).
    pub arn: String,
    /// The key's region, from its ARN: SSE-KMS needs the bucket in the same region.
    pub region: String,
    pub policy_mode: PolicyMode,
    /// How the Sids of the statements this plan owns begin (as for buckets).
    pub sid_prefix: String,
    /// The statements s3ward owns in the key policy: the grants' key side, then
    /// `extra_policy_statements`. Filled once every bucket is resolved.
    pub policy_statements: Vec<Statement>,
}

impl Key {
    /// The policy document s3ward owns, or `None` when it owns no statement.
    pub fn policy_document(&self) -> Option<PolicyDocument> {
        (!self.policy_statements.is_empty())
            .then(|| PolicyDocument::new(self.policy_statements.clone()))
    }

    /// Whether this plan owns a statement of the live key policy (as [`Bucket::owns`]).
    pub fn owns(&self, st: &Statement) -> bool {
        self.policy_mode == PolicyMode::Authoritative || owns_sid(&self.sid_prefix, st.sid())
    }
}

/// A bucket's default encryption, as the plan file asks for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "algorithm")]
pub enum Encryption {
    /// `"SSE-S3"` (AES256), which is also what S3 does with no configuration at all.
    #[serde(rename = "AES256")]
    SseS3,
    /// SSE-KMS with the key of this ARN; `plan_key` when it is a `[keys]` entry.
    #[serde(rename = "aws:kms")]
    Kms {
        key_arn: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plan_key: Option<String>,
        bucket_key: bool,
    },
}

impl Encryption {
    /// The `[keys]` entry whose policy carries this bucket's grants, if any.
    pub fn plan_key(&self) -> Option<&str> {
        match self {
            Encryption::Kms { plan_key, .. } => plan_key.as_deref(),
            Encryption::SseS3 => None,
        }
    }
}

/// The KMS actions a grant needs on the bucket's key: none for `list`, `kms:Decrypt` to read,
/// and `kms:GenerateDataKey` too for the levels that write (multipart uploads need both).
pub fn key_actions(access: Access) -> Vec<&'static str> {
    match access {
        Access::List => Vec::new(),
        Access::Read => vec!["kms:Decrypt"],
        Access::Write | Access::ReadWrite | Access::Full => {
            vec!["kms:Decrypt", "kms:GenerateDataKey"]
        }
    }
}

/// `s3.REGION.amazonaws.com`: the service a key-policy statement is limited to.
pub fn via_service(region: &str) -> String {
    format!("s3.{region}.amazonaws.com")
}

impl Grant {
    /// The key-policy statement of this grant on `bucket` encrypted with `key`, or `None`
    /// when it needs no key access (`list`, or a public grant: anonymous requests cannot use
    /// a KMS key at all). Sid: the key's prefix, the bucket, the access, the grantee.
    pub fn key_statement(&self, bucket: &Bucket, key: &Key) -> Option<Statement> {
        let actions = key_actions(self.access);
        if actions.is_empty() || self.grantee == Grantee::Anyone {
            return None;
        }
        let grantee = self
            .sid
            .strip_prefix(&bucket.sid_prefix)
            .unwrap_or(&self.sid);
        let mut st = Statement::allow();
        st.sid = Some(format!(
            "{}{}{}",
            key.sid_prefix,
            pascal(&bucket.key),
            grantee
        ));
        st.principal = Some(Principal::Map(BTreeMap::from([(
            "AWS".to_string(),
            vec![self.principal.clone()],
        )])));
        st.action = Some(actions.into_iter().map(str::to_string).collect());
        st.resource = Some(vec!["*".into()]);
        st.condition = Some(BTreeMap::from([(
            "StringEquals".to_string(),
            BTreeMap::from([(
                "kms:ViaService".to_string(),
                vec![json!(via_service(&key.region))],
            )]),
        )]));
        Some(st)
    }

    /// The grantee role's identity statement on the key (no principal), or `None` for `list`.
    pub fn key_identity_statement(&self, bucket: &Bucket, key_arn: &str) -> Option<Statement> {
        let actions = key_actions(self.access);
        if actions.is_empty() {
            return None;
        }
        let mut st = Statement::allow();
        st.sid = Some(format!(
            "s3ward{}{}Key",
            pascal(&bucket.key),
            pascal(self.access.as_str())
        ));
        st.action = Some(actions.into_iter().map(str::to_string).collect());
        st.resource = Some(vec![key_arn.to_string()]);
        Some(st)
    }
}

impl Bucket {
    /// Whether a grant of this bucket goes to another account (or to anyone).
    pub fn has_cross_account_grants(&self) -> bool {
        self.grants.iter().any(|g| {
            g.principal_account
                .as_deref()
                .is_none_or(|a| a != self.account_id)
        })
    }

    /// The ARN of a key this plan does not manage that the bucket's encryption names, when
    /// the bucket has grants to other accounts (`plan` asks whether it is `aws/s3`).
    pub fn outside_key_to_check(&self) -> Option<&str> {
        match &self.encryption {
            Some(Encryption::Kms {
                key_arn,
                plan_key: None,
                ..
            }) if self.has_cross_account_grants() => Some(key_arn),
            _ => None,
        }
    }

    /// The grantee role's statement on this bucket's plan key for `g`, if any (SPEC: only a
    /// bucket encrypted with a `[keys]` entry gets the key side).
    pub fn key_identity_statement(&self, g: &Grant) -> Option<Statement> {
        match &self.encryption {
            Some(Encryption::Kms {
                key_arn,
                plan_key: Some(_),
                ..
            }) => g.key_identity_statement(self, key_arn),
            _ => None,
        }
    }
}

/// The parts of `arn:aws:kms:REGION:ACCOUNT:key/ID`: (region, account), or `None` when `arn`
/// is not a key ARN (an alias ARN is not).
pub fn parse_key_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:kms:")?;
    let (region, rest) = rest.split_once(':')?;
    let (account, id) = rest.split_once(':')?;
    let id = id.strip_prefix("key/")?;
    let ok = !region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then_some((region, account))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_arns() {
        let arn = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(parse_key_arn(arn), Some(("us-east-1", "111111111111")));
        assert_eq!(
            parse_key_arn("arn:aws:kms:us-east-1:111111111111:alias/ml"),
            None
        );
        assert_eq!(parse_key_arn("arn:aws:kms:us-east-1:1111:key/x"), None);
        assert_eq!(parse_key_arn("alias/aws/s3"), None);
    }

    #[test]
    fn actions_by_level() {
        assert!(key_actions(Access::List).is_empty());
        assert_eq!(key_actions(Access::Read), ["kms:Decrypt"]);
        for a in [Access::Write, Access::ReadWrite, Access::Full] {
            assert_eq!(key_actions(a), ["kms:Decrypt", "kms:GenerateDataKey"]);
        }
    }
}
