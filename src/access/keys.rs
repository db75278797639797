//! The key side of an SSE-KMS bucket: which KMS action S3 calls for a request, and the key's
//! facts as the plan file writes them (each statement with the grant that produced it) or
//! as AWS holds them.
//!
//! Only a bucket encrypted with a `[keys]` entry has a key side s3ward can evaluate. A bucket
//! encrypted with a key the plan does not manage is reported as not evaluated; SSE-S3 (or no
//! setting) needs no key access.

use std::collections::BTreeMap;

use super::decide::{KeyFacts, Policy};
use super::sources::Sources;
use crate::desired::{Bucket, Desired, Encryption, via_service};
use crate::policy::PolicyDocument;

/// The KMS action S3 calls on the bucket's key for `s3_action`: `kms:Decrypt` to read an
/// object, `kms:GenerateDataKey` to write one; `None` for requests that touch no object data
/// (listing, deleting, bucket settings).
pub fn kms_action(s3_action: &str) -> Option<&'static str> {
    match s3_action.to_ascii_lowercase().as_str() {
        "s3:getobject" | "s3:getobjectversion" => Some("kms:Decrypt"),
        "s3:putobject" => Some("kms:GenerateDataKey"),
        _ => None,
    }
}

/// What is known of a bucket's key side.
#[derive(Clone, Debug)]
pub enum KeySide {
    /// SSE-S3, no setting, or encryption not managed: no key to ask.
    None,
    /// A `[keys]` entry: its facts, `action` still empty (see [`KeySide::for_action`]).
    Known(KeyFacts),
    /// A key the plan does not manage: named in the answer as not evaluated.
    NotEvaluated(String),
}

impl KeySide {
    /// The key facts for a request of `s3_action`, or `None` when it needs no key access.
    pub fn for_action(&self, s3_action: &str) -> Option<KeyFacts> {
        match self {
            KeySide::Known(base) => kms_action(s3_action).map(|a| KeyFacts {
                action: a.to_string(),
                ..base.clone()
            }),
            _ => None,
        }
    }

    /// What could matter but is not evaluated, for a request of `s3_action`.
    pub fn not_evaluated(&self, s3_action: &str) -> Option<String> {
        match self {
            KeySide::NotEvaluated(note) if kms_action(s3_action).is_some() => Some(note.clone()),
            _ => None,
        }
    }

    /// The same side with the key policy AWS holds instead of the plan file's.
    pub fn with_policy(self, doc: Option<&PolicyDocument>) -> KeySide {
        match (self, doc) {
            (KeySide::Known(mut k), Some(doc)) => {
                k.policy = super::offline::live_policy("key policy", doc);
                KeySide::Known(k)
            }
            (side, _) => side,
        }
    }
}

/// The key side of `b` as the plan file writes it: the key policy's statements this plan
/// owns, each with the plan-file line of the grant (or extra statement) that produced it.
pub fn planned(desired: &Desired, src: &Sources, b: &Bucket) -> KeySide {
    let (key_arn, plan_key) = match &b.encryption {
        Some(Encryption::Kms {
            key_arn, plan_key, ..
        }) => (key_arn, plan_key),
        _ => return KeySide::None,
    };
    let Some(key) = plan_key.as_ref().and_then(|k| desired.keys.get(k)) else {
        return KeySide::NotEvaluated(format!(
            "the policy of key {key_arn}, which this plan does not manage"
        ));
    };
    // Sid → the grant that writes it, over every bucket encrypted with this key.
    let mut lines: BTreeMap<String, String> = BTreeMap::new();
    for other in desired.buckets.values() {
        if other.encryption.as_ref().and_then(Encryption::plan_key) != Some(key.key.as_str()) {
            continue;
        }
        for (i, g) in other.grants.iter().enumerate() {
            let (Some(st), Some(span)) = (
                g.key_statement(other, key),
                src.grants.get(&other.key).and_then(|g| g.get(i)),
            ) else {
                continue;
            };
            if let Some(sid) = st.sid() {
                let at = format!("{}:{}", desired.source.path.display(), src.line(span.start));
                lines.insert(sid.to_string(), at);
            }
        }
    }
    let doc = key
        .policy_document()
        .unwrap_or_else(|| PolicyDocument::new(Vec::new()));
    let policy = Policy::of("key policy", &doc, |s| {
        s.sid().and_then(|sid| lines.get(sid)).cloned()
    });
    KeySide::Known(KeyFacts {
        key_arn: key.arn.clone(),
        account: key.account_id.clone(),
        policy,
        action: String::new(),
        via_service: via_service(&key.region),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_actions_that_touch_object_data_need_the_key() {
        assert_eq!(kms_action("s3:GetObject"), Some("kms:Decrypt"));
        assert_eq!(kms_action("S3:getobjectversion"), Some("kms:Decrypt"));
        assert_eq!(kms_action("s3:PutObject"), Some("kms:GenerateDataKey"));
        assert_eq!(kms_action("s3:ListBucket"), None);
        assert_eq!(kms_action("s3:DeleteObject"), None);
    }
}
