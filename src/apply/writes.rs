//! The AWS side of apply: one [`Write`] → the SDK calls that make it so.
//!
//! Every write here is idempotent (doing it twice leaves AWS as doing it once), which is what
//! makes an interrupted apply safe to run again. The few calls that are not idempotent by
//! themselves are made so: a delete of something already gone is success, and creating a
//! bucket this account already owns is success.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_s3::types::{
    BucketCannedAcl, BucketLocationConstraint, CreateBucketConfiguration, OwnershipControls,
    OwnershipControlsRule, PublicAccessBlockConfiguration, Tag, Tagging,
};

use crate::aws::{AwsError, Op, RetryPolicy};
use crate::change::Write;
use crate::desired::{APPLIED_TAG, merge_policy};
use crate::live::Session;
use crate::live::s3::to_sdk_ownership;
use crate::policy::PolicyDocument;

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
    }
}

/// `merge` mode: reads the live policy again and writes the statements others own as they
/// are now, with this plan's (SPEC item 9). A statement added between plan and apply is kept.
async fn merge_bucket_policy(
    session: &Session,
    t: &Target<'_>,
    bucket: &str,
    prefix: &str,
    planned: Option<&str>,
) -> Result<(), AwsError> {
    let aws = &session.aws;
    let s3 = session.s3(t.account, t.region);
    let live = aws
        .call(Op::s3("GetBucketPolicy", bucket), bucket_policy(t), || {
            s3.get_bucket_policy().bucket(bucket).send()
        })
        .await;
    let live_text = match live {
        Ok(o) => o.policy().map(str::to_string),
        Err(e) if e.code_is("NoSuchBucketPolicy") => None,
        Err(e) => return Err(e),
    };
    let invalid = |what: &str, e: crate::policy::ParseError| AwsError {
        service: "s3",
        operation: "GetBucketPolicy",
        code: None,
        message: format!(
            "{what} is not a valid policy document ({e}); in `merge` mode s3ward does not overwrite statements it cannot read"
        ),
        status: None,
        attempts: 1,
        no_response: false,
    };
    let live_doc = live_text
        .as_deref()
        .map(PolicyDocument::parse)
        .transpose()
        .map_err(|e| invalid("the live bucket policy", e))?;
    let planned_doc = planned
        .map(PolicyDocument::parse)
        .transpose()
        .map_err(|e| invalid("the policy to write", e))?;
    match merge_policy(prefix, live_doc.as_ref(), planned_doc.as_ref()) {
        Some(doc) => {
            let w = Write::PutBucketPolicy {
                bucket: bucket.to_string(),
                policy: doc.to_json(),
                merge: None,
            };
            Box::pin(perform(session, t, &w)).await
        }
        None if live_doc.is_none() => Ok(()),
        None => {
            let w = Write::DeleteBucketPolicy {
                bucket: bucket.to_string(),
                merge: None,
            };
            Box::pin(perform(session, t, &w)).await
        }
    }
}

/// After a retried CreateRole answered `EntityAlreadyExists`: the role is the one an earlier
/// attempt created when it carries every tag that attempt sent (`managed-by`, `s3ward:plan`
/// and the declared tags); otherwise the error stands, saying why.
async fn adopt_created_role(
    session: &Session,
    account: &str,
    name: &str,
    sent: &[aws_sdk_iam::types::Tag],
    exists: AwsError,
) -> Result<(), AwsError> {
    let iam = session.iam(account);
    let live = session
        .aws
        .call(Op::iam("GetRole", name), RetryPolicy::STANDARD, || {
            iam.get_role().role_name(name).send()
        })
        .await?;
    let live_tags: BTreeMap<String, String> = live
        .role()
        .map(|r| {
            r.tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let sent: BTreeMap<String, String> = sent
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    if created_by(&sent, &live_tags) {
        Ok(())
    } else {
        let mut e = exists;
        e.message.push_str(
            "; a role of this name appeared during the apply, and its tags do not say this plan created it: s3ward does not take it over",
        );
        Err(e)
    }
}

/// Whether a role with `live` tags is the one created with `sent` tags.
fn created_by(sent: &BTreeMap<String, String>, live: &BTreeMap<String, String>) -> bool {
    sent.iter().all(|(k, v)| live.get(k) == Some(v))
}

fn iam_tags(tags: &BTreeMap<String, String>) -> Vec<aws_sdk_iam::types::Tag> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("key and value are set")
        })
        .collect()
}

fn gone_is_done<T>(r: Result<T, AwsError>) -> Result<(), AwsError> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.code_is("NoSuchEntity") => Ok(()),
        Err(e) => Err(e),
    }
}

/// PutBucketTagging replaces the whole set: read the live tags, merge, write.
async fn merge_bucket_tags(
    session: &Session,
    t: &Target<'_>,
    bucket: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    let aws = &session.aws;
    let s3 = session.s3(t.account, t.region);
    let live = aws
        .call(Op::s3("GetBucketTagging", bucket), bucket_policy(t), || {
            s3.get_bucket_tagging().bucket(bucket).send()
        })
        .await;
    let mut merged: BTreeMap<String, String> = match live {
        Ok(o) => o
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        Err(e) if e.code_is("NoSuchTagSet") => BTreeMap::new(),
        Err(e) => return Err(e),
    };
    merged.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
    let set: Vec<Tag> = merged
        .iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("key and value are set")
        })
        .collect();
    let tagging = Tagging::builder()
        .set_tag_set(Some(set))
        .build()
        .expect("tag set is set");
    aws.call(Op::s3("PutBucketTagging", bucket), bucket_policy(t), || {
        s3.put_bucket_tagging()
            .bucket(bucket)
            .tagging(tagging.clone())
            .send()
    })
    .await
    .map(drop)
}

async fn tag_role(
    session: &Session,
    account: &str,
    role: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    let iam = session.iam(account);
    let tags = iam_tags(tags);
    session
        .aws
        .call(Op::iam("TagRole", role), RetryPolicy::STANDARD, || {
            iam.tag_role()
                .role_name(role)
                .set_tags(Some(tags.clone()))
                .send()
        })
        .await
        .map(drop)
}

/// Records what was applied: the `s3ward:applied` tag on a bucket (merged into its tags).
pub async fn record_bucket(
    session: &Session,
    t: &Target<'_>,
    bucket: &str,
    digest: &str,
) -> Result<(), AwsError> {
    let tags = BTreeMap::from([(APPLIED_TAG.to_string(), digest.to_string())]);
    merge_bucket_tags(session, t, bucket, &tags).await
}

/// Records what was applied: the `s3ward:applied` tag on a role.
pub async fn record_role(
    session: &Session,
    account: &str,
    role: &str,
    digest: &str,
) -> Result<(), AwsError> {
    let tags = BTreeMap::from([(APPLIED_TAG.to_string(), digest.to_string())]);
    tag_role(session, account, role, &tags).await
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_is_adopted_only_with_every_tag_its_creation_sent() {
        let sent = BTreeMap::from([
            ("managed-by".to_string(), "s3ward".to_string()),
            ("s3ward:plan".to_string(), "ml-models".to_string()),
        ]);
        let mut live = sent.clone();
        live.insert("s3ward:applied".into(), "x".into());
        assert!(created_by(&sent, &live));
        live.insert("s3ward:plan".into(), "other-plan".into());
        assert!(!created_by(&sent, &live), "another plan's role");
        assert!(
            !created_by(&sent, &BTreeMap::new()),
            "someone's untagged role"
        );
    }
}
