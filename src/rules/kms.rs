//! The refusals of SPEC "Encryption with KMS", worded once: an alias in a bucket's default
//! encryption, the AWS managed key `aws/s3` for a bucket with cross-account grants, a key
//! policy over 32 KB, and a key policy that would no longer let the identity that applies
//! call `kms:PutKeyPolicy` (judged by `policy::lockout::key_lockout`).

use super::{ALLOW, Finding, reasons};
use crate::policy::lockout::{KEY_LOCKOUT_ACTION, Tri, key_lockout};
use crate::policy::{Identity, PolicyDocument};

/// KMS's limit on a key policy, in bytes.
pub const KEY_POLICY_MAX_BYTES: usize = 32 * 1024;

/// A bucket's default encryption that names its key by an alias (`kms_key` as written).
pub fn encryption_alias(kms_key: &str, bucket: &str, cross_account: bool) -> Finding {
    if kms_key.ends_with("alias/aws/s3") && cross_account {
        return aws_managed_key(bucket);
    }
    Finding::refusal(
        format!("bucket `{bucket}`'s encryption names its key by the alias `{kms_key}`"),
        "an alias resolves only in the key's own account, so a writer from another account would encrypt with a key of its own; write the key's ARN (`arn:aws:kms:REGION:ACCOUNT:key/ID`) or a `key.KEY` of `[keys]`",
    )
}

/// The AWS managed key `aws/s3` for a bucket with grants to other accounts.
pub fn aws_managed_key(bucket: &str) -> Finding {
    Finding::refusal(
        format!(
            "bucket `{bucket}` has grants to other accounts but is encrypted with the AWS managed key `aws/s3`"
        ),
        "the policy of an AWS managed key cannot be changed, so no other account can decrypt its objects; use a customer managed key in `[keys]`, or `encryption = \"SSE-S3\"`",
    )
}

/// A key policy over KMS's limit.
pub fn key_policy_size(key: &str, doc: &PolicyDocument) -> Option<Finding> {
    let size = doc.to_json().len();
    (size > KEY_POLICY_MAX_BYTES).then(|| {
        Finding::refusal(
            format!(
                "the policy of key `{key}` would be {size} bytes; KMS allows {KEY_POLICY_MAX_BYTES}"
            ),
            "merge grants with the same access, or use fewer extra statements",
        )
    })
}

/// The key policy `doc` as written to `key_arn`, judged for the identity that applies.
pub fn key_self_lockout(
    key: &str,
    doc: &PolicyDocument,
    who: &Identity,
    key_arn: &str,
    allow: bool,
) -> Option<Finding> {
    if allow {
        return None;
    }
    let whom = who
        .arn
        .as_deref()
        .map_or_else(|| "s3ward".to_string(), |a| format!("`{a}`"));
    match key_lockout(&doc.statements, who, key_arn) {
        (Tri::No, _) => None,
        (Tri::Yes, _) => Some(Finding::refusal(
            format!(
                "the policy of key `{key}` would no longer let {whom}, the identity that applies this plan, call `{KEY_LOCKOUT_ACTION}`"
            ),
            &format!(
                "keep a statement that allows it (the default key policy's account statement does), or {ALLOW}; s3ward never bypasses KMS's own lockout check"
            ),
        )),
        (Tri::Unknown, why) => Some(Finding::refusal(
            format!(
                "the policy of key `{key}` might no longer let {whom}, the identity that applies this plan, call `{KEY_LOCKOUT_ACTION}`: {}",
                reasons(&why)
            ),
            &format!(
                "s3ward refuses a lockout it cannot rule out; keep an unconditional statement that allows it, or {ALLOW}"
            ),
        )),
    }
}
