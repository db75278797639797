//! The AWS side of apply: one [`Write`] → the SDK calls that make it so.
//!
//! Every write here is idempotent (doing it twice leaves AWS as doing it once), which is what
//! makes an interrupted apply safe to run again. The few calls that are not idempotent by
//! themselves are made so: a delete of something already gone is success, and creating a
//! bucket this account already owns is success.

use std::time::Duration;

use aws_sdk_s3::types::{
    BucketCannedAcl, BucketLocationConstraint, CreateBucketConfiguration, OwnershipControls,
    OwnershipControlsRule, PublicAccessBlockConfiguration,
};

use crate::aws::{AwsError, Op, RetryPolicy};
use crate::change::Write;
use crate::live::Session;
use crate::live::s3::to_sdk_ownership;

mod bucket;
mod key;
mod pod_identity;
mod role;

pub use bucket::record_bucket;
use bucket::{merge_bucket_policy, merge_bucket_tags};
pub use key::record_key;
pub use role::record_role;
use role::{adopt_created_role, gone_is_done, iam_tags, tag_role};

/// How long a principal created moments ago may take to become usable (SPEC: 2 minutes).
pub const PRINCIPAL_BUDGET: Duration = Duration::from_secs(120);
/// How long a bucket created moments ago may answer `NoSuchBucket`.
pub const NEW_BUCKET_BUDGET: Duration = Duration::from_secs(30);

const INVALID_PRINCIPAL_S3: RetryPolicy = RetryPolicy::with_semantic(
    &[("MalformedPolicy", Some("invalid principal"))],
    PRINCIPAL_BUDGET,
);
/// A policy naming a new principal, on a bucket created in this run.
const INVALID_PRINCIPAL_NEW_BUCKET: RetryPolicy = RetryPolicy::with_semantic(
    &[
        ("MalformedPolicy", Some("invalid principal")),
        ("NoSuchBucket", None),
    ],
    PRINCIPAL_BUDGET,
);
const INVALID_PRINCIPAL_IAM: RetryPolicy = RetryPolicy::with_semantic(
    &[("MalformedPolicyDocument", Some("invalid principal"))],
    PRINCIPAL_BUDGET,
);
const NEW_BUCKET: RetryPolicy =
    RetryPolicy::with_semantic(&[("NoSuchBucket", None)], NEW_BUCKET_BUDGET);

/// Where a write goes.
pub struct Target<'a> {
    pub account: &'a str,
    pub region: &'a str,
    /// The bucket was created earlier in this run: `NoSuchBucket` may still answer for a moment.
    pub bucket_is_new: bool,
}

fn bucket_policy(t: &Target<'_>) -> RetryPolicy {
    if t.bucket_is_new {
        NEW_BUCKET
    } else {
        RetryPolicy::STANDARD
    }
}

/// Performs one write. Returns the AWS operation that failed, if any.
pub async fn perform(session: &Session, t: &Target<'_>, w: &Write) -> Result<(), AwsError> {
    let aws = &session.aws;
    match w {
        Write::CreateBucket {
            bucket,
            region,
            ownership,
        } => {
            let s3 = session.s3(t.account, region);
            let config = (region != "us-east-1").then(|| {
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region.as_str()))
                    .build()
            });
            let r = aws
                .call(
                    Op::s3("CreateBucket", bucket),
                    RetryPolicy::STANDARD,
                    || {
                        s3.create_bucket()
                            .bucket(bucket)
                            .set_create_bucket_configuration(config.clone())
                            .set_object_ownership(ownership.map(to_sdk_ownership))
                            .send()
                    },
                )
                .await;
            match r {
                Ok(_) => Ok(()),
                // Ours already (an earlier, interrupted apply): nothing to do.
                Err(e) if e.code_is("BucketAlreadyOwnedByYou") => Ok(()),
                Err(e) => Err(e),
            }
        }
        Write::PutBucketPolicy {
            bucket,
            policy,
            merge: Some(prefix),
        } => merge_bucket_policy(session, t, bucket, prefix, Some(policy)).await,
        Write::DeleteBucketPolicy {
            bucket,
            merge: Some(prefix),
        } => merge_bucket_policy(session, t, bucket, prefix, None).await,
        Write::PutBucketPolicy { bucket, policy, .. } => {
            let s3 = session.s3(t.account, t.region);
            // A principal created moments ago may not be usable yet; a new bucket may not
            // be visible yet. Both clear with time.
            let retry = if t.bucket_is_new {
                INVALID_PRINCIPAL_NEW_BUCKET
            } else {
                INVALID_PRINCIPAL_S3
            };
            aws.call(Op::s3("PutBucketPolicy", bucket), retry, || {
                s3.put_bucket_policy().bucket(bucket).policy(policy).send()
            })
            .await
            .map(drop)
        }
        Write::DeleteBucketPolicy { bucket, .. } => {
            let s3 = session.s3(t.account, t.region);
            aws.call(
                Op::s3("DeleteBucketPolicy", bucket),
                bucket_policy(t),
                || s3.delete_bucket_policy().bucket(bucket).send(),
            )
            .await
            .map(drop)
        }
        Write::ResetBucketAcl { bucket } => {
            let s3 = session.s3(t.account, t.region);
            aws.call(Op::s3("PutBucketAcl", bucket), bucket_policy(t), || {
                s3.put_bucket_acl()
                    .bucket(bucket)
                    .acl(BucketCannedAcl::Private)
                    .send()
            })
            .await
            .map(drop)
        }
        Write::PutBucketOwnership { bucket, ownership } => {
            let s3 = session.s3(t.account, t.region);
            let controls = OwnershipControls::builder()
                .rules(
                    OwnershipControlsRule::builder()
                        .object_ownership(to_sdk_ownership(*ownership))
                        .build()
                        .expect("object_ownership is set"),
                )
                .build()
                .expect("rules are set");
            aws.call(
                Op::s3("PutBucketOwnershipControls", bucket),
                bucket_policy(t),
                || {
                    s3.put_bucket_ownership_controls()
                        .bucket(bucket)
                        .ownership_controls(controls.clone())
                        .send()
                },
            )
            .await
            .map(drop)
        }
        Write::PutPublicAccessBlock { bucket, config } => {
            let s3 = session.s3(t.account, t.region);
            let c = PublicAccessBlockConfiguration::builder()
                .block_public_acls(config.block_public_acls)
                .ignore_public_acls(config.ignore_public_acls)
                .block_public_policy(config.block_public_policy)
                .restrict_public_buckets(config.restrict_public_buckets)
                .build();
            aws.call(
                Op::s3("PutPublicAccessBlock", bucket),
                bucket_policy(t),
                || {
                    s3.put_public_access_block()
                        .bucket(bucket)
                        .public_access_block_configuration(c.clone())
                        .send()
                },
            )
            .await
            .map(drop)
        }
        Write::PutBucketTags { bucket, tags } => merge_bucket_tags(session, t, bucket, tags).await,
        Write::CreateRole {
            name,
            path,
            description,
            max_session_duration,
            trust,
            tags,
        } => {
            let iam = session.iam(t.account);
            let tags = iam_tags(tags);
            let r = aws
                .call(Op::iam("CreateRole", name), INVALID_PRINCIPAL_IAM, || {
                    iam.create_role()
                        .role_name(name)
                        .path(path)
                        .assume_role_policy_document(trust)
                        .set_description(description.clone())
                        .set_max_session_duration(*max_session_duration)
                        .set_tags(Some(tags.clone()))
                        .send()
                })
                .await;
            match r {
                Ok(_) => Ok(()),
                // An earlier attempt may have created it and its answer was lost (a dropped
                // connection, a timeout). Adopt it only if its tags say this plan created it:
                // a role someone else made meanwhile is not ours to take over.
                Err(e) if e.code_is("EntityAlreadyExists") && e.attempts > 1 => {
                    adopt_created_role(session, t.account, name, &tags, e).await
                }
                Err(e) => Err(e),
            }
        }
        Write::UpdateRole {
            name,
            description,
            max_session_duration,
        } => {
            let iam = session.iam(t.account);
            aws.call(Op::iam("UpdateRole", name), RetryPolicy::STANDARD, || {
                iam.update_role()
                    .role_name(name)
                    .set_description(description.clone())
                    .set_max_session_duration(*max_session_duration)
                    .send()
            })
            .await
            .map(drop)
        }
        Write::UpdateTrust { role, policy } => {
            let iam = session.iam(t.account);
            aws.call(
                Op::iam("UpdateAssumeRolePolicy", role),
                INVALID_PRINCIPAL_IAM,
                || {
                    iam.update_assume_role_policy()
                        .role_name(role)
                        .policy_document(policy)
                        .send()
                },
            )
            .await
            .map(drop)
        }
        Write::PutRolePolicy { role, name, policy } => {
            let iam = session.iam(t.account);
            aws.call(
                Op::iam("PutRolePolicy", role),
                RetryPolicy::STANDARD,
                || {
                    iam.put_role_policy()
                        .role_name(role)
                        .policy_name(name)
                        .policy_document(policy)
                        .send()
                },
            )
            .await
            .map(drop)
        }
        Write::DeleteRolePolicy { role, name } => {
            let iam = session.iam(t.account);
            let r = aws
                .call(
                    Op::iam("DeleteRolePolicy", role),
                    RetryPolicy::STANDARD,
                    || {
                        iam.delete_role_policy()
                            .role_name(role)
                            .policy_name(name)
                            .send()
                    },
                )
                .await;
            gone_is_done(r)
        }
        Write::AttachRolePolicy { role, arn } => {
            let iam = session.iam(t.account);
            aws.call(
                Op::iam("AttachRolePolicy", role),
                RetryPolicy::STANDARD,
                || {
                    iam.attach_role_policy()
                        .role_name(role)
                        .policy_arn(arn)
                        .send()
                },
            )
            .await
            .map(drop)
        }
        Write::DetachRolePolicy { role, arn } => {
            let iam = session.iam(t.account);
            let r = aws
                .call(
                    Op::iam("DetachRolePolicy", role),
                    RetryPolicy::STANDARD,
                    || {
                        iam.detach_role_policy()
                            .role_name(role)
                            .policy_arn(arn)
                            .send()
                    },
                )
                .await;
            gone_is_done(r)
        }
        Write::TagRole { role, tags } => tag_role(session, t.account, role, tags).await,
        Write::PutKeyPolicy {
            key_arn,
            policy,
            merge,
        } => key::put_key_policy(session, t, key_arn, policy, merge.as_deref()).await,
        Write::PutBucketEncryption { bucket, encryption } => {
            key::put_bucket_encryption(session, t, bucket, encryption).await
        }
        Write::PodIdentityAssociation(a) => pod_identity::write(session, a).await,
    }
}

/// The AWS operation a write performs first (for reports).
pub fn operation(w: &Write) -> &'static str {
    match w {
        Write::CreateBucket { .. } => "CreateBucket",
        Write::PutBucketPolicy { .. } => "PutBucketPolicy",
        Write::DeleteBucketPolicy { .. } => "DeleteBucketPolicy",
        Write::ResetBucketAcl { .. } => "PutBucketAcl",
        Write::PutBucketOwnership { .. } => "PutBucketOwnershipControls",
        Write::PutPublicAccessBlock { .. } => "PutPublicAccessBlock",
        Write::PutBucketTags { .. } => "PutBucketTagging",
        Write::CreateRole { .. } => "CreateRole",
        Write::UpdateRole { .. } => "UpdateRole",
        Write::UpdateTrust { .. } => "UpdateAssumeRolePolicy",
        Write::PutRolePolicy { .. } => "PutRolePolicy",
        Write::DeleteRolePolicy { .. } => "DeleteRolePolicy",
        Write::AttachRolePolicy { .. } => "AttachRolePolicy",
        Write::DetachRolePolicy { .. } => "DetachRolePolicy",
        Write::TagRole { .. } => "TagRole",
        Write::PutKeyPolicy { .. } => "PutKeyPolicy",
        Write::PutBucketEncryption { .. } => "PutBucketEncryption",
        Write::PodIdentityAssociation(a) if a.association_id.is_some() => {
            "UpdatePodIdentityAssociation"
        }
        Write::PodIdentityAssociation(_) => "CreatePodIdentityAssociation",
    }
}
