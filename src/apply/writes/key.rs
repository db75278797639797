//! The writes of KMS keys and bucket encryption: PutKeyPolicy (policy name `default`, never
//! with BypassPolicyLockoutSafetyCheck, so KMS's own lockout check always stands behind
//! s3ward's), the `merge`-mode key policy (read again, merged, written, as bucket policies
//! are), the `s3ward:applied` record as a key tag (TagResource), and PutBucketEncryption.
//!
//! There is deliberately no write that creates, disables or schedules the deletion of a key:
//! `Write` has no such variant, so no plan can ask for one.

use aws_sdk_kms::types::Tag;
use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};

use super::{PRINCIPAL_BUDGET, Target, bucket_policy};
use crate::aws::{AwsError, Op, RetryPolicy};
use crate::desired::{APPLIED_TAG, Encryption, merge_policy};
use crate::live::Session;
use crate::policy::PolicyDocument;

/// A key policy naming a role created moments ago: KMS answers "invalid principals" until
/// IAM has propagated it (the same wait as for bucket policies).
const INVALID_PRINCIPAL_KMS: RetryPolicy = RetryPolicy::with_semantic(
    &[(
        "MalformedPolicyDocumentException",
        Some("invalid principal"),
    )],
    PRINCIPAL_BUDGET,
);

/// Writes a key policy; in `merge` mode (`merge` is the plan's Sid prefix) the live one is
/// read again and the statements this plan does not own are kept as they are now.
pub(super) async fn put_key_policy(
    session: &Session,
    t: &Target<'_>,
    key_arn: &str,
    policy: &str,
    merge: Option<&str>,
) -> Result<(), AwsError> {
    let aws = &session.aws;
    let kms = session.kms(t.account, t.region);
    let text = match merge {
        None => policy.to_string(),
        Some(prefix) => {
            let live = aws
                .call(
                    Op::kms("GetKeyPolicy", key_arn),
                    RetryPolicy::STANDARD,
                    || {
                        kms.get_key_policy()
                            .key_id(key_arn)
                            .policy_name("default")
                            .send()
                    },
                )
                .await?;
            let invalid = |what: &str, e: crate::policy::ParseError| AwsError {
                service: "kms",
                operation: "GetKeyPolicy",
                code: None,
                message: format!(
                    "{what} is not a valid policy document ({e}); in `merge` mode s3ward does not overwrite statements it cannot read"
                ),
                status: None,
                attempts: 1,
                no_response: false,
            };
            let live_doc = PolicyDocument::parse(live.policy().unwrap_or_default())
                .map_err(|e| invalid("the live key policy", e))?;
            let planned =
                PolicyDocument::parse(policy).map_err(|e| invalid("the policy to write", e))?;
            match merge_policy(prefix, Some(&live_doc), Some(&planned)) {
                Some(doc) => doc.to_json(),
                // KMS has no empty key policy: keep what is there.
                None => return Ok(()),
            }
        }
    };
    aws.call(
        Op::kms("PutKeyPolicy", key_arn),
        INVALID_PRINCIPAL_KMS,
        || {
            kms.put_key_policy()
                .key_id(key_arn)
                .policy_name("default")
                .policy(&text)
                .send()
        },
    )
    .await
    .map(drop)
}

/// Sets a bucket's default encryption.
pub(super) async fn put_bucket_encryption(
    session: &Session,
    t: &Target<'_>,
    bucket: &str,
    encryption: &Encryption,
) -> Result<(), AwsError> {
    let s3 = session.s3(t.account, t.region);
    let (by_default, bucket_key) = match encryption {
        Encryption::SseS3 => (
            ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256),
            None,
        ),
        Encryption::Kms {
            key_arn,
            bucket_key,
            ..
        } => (
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::AwsKms)
                .kms_master_key_id(key_arn),
            Some(*bucket_key),
        ),
    };
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(by_default.build().expect("algorithm is set"))
        .set_bucket_key_enabled(bucket_key)
        .build();
    let config = ServerSideEncryptionConfiguration::builder()
        .rules(rule)
        .build()
        .expect("rules are set");
    session
        .aws
        .call(
            Op::s3("PutBucketEncryption", bucket),
            bucket_policy(t),
            || {
                s3.put_bucket_encryption()
                    .bucket(bucket)
                    .server_side_encryption_configuration(config.clone())
                    .send()
            },
        )
        .await
        .map(drop)
}

/// Records what was applied: the `s3ward:applied` tag on a key (TagResource adds or
/// replaces one tag and keeps the others).
pub async fn record_key(
    session: &Session,
    t: &Target<'_>,
    key_arn: &str,
    digest: &str,
) -> Result<(), AwsError> {
    let kms = session.kms(t.account, t.region);
    let tag = Tag::builder()
        .tag_key(APPLIED_TAG)
        .tag_value(digest)
        .build()
        .expect("key and value are set");
    session
        .aws
        .call(
            Op::kms("TagResource", key_arn),
            RetryPolicy::STANDARD,
            || kms.tag_resource().key_id(key_arn).tags(tag.clone()).send(),
        )
        .await
        .map(drop)
}
