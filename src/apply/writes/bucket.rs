//! The writes of a bucket that are more than one call: the `merge`-mode bucket policy (read
//! again, merged, written), the tags (S3 replaces the whole set: read, merge, write), and the
//! `s3ward:applied` record. Each is idempotent, as every write is.

use std::collections::BTreeMap;

use aws_sdk_s3::types::{Tag, Tagging};

use super::{Target, bucket_policy, perform};
use crate::aws::{AwsError, Op};
use crate::change::Write;
use crate::desired::{APPLIED_TAG, merge_policy};
use crate::live::Session;
use crate::policy::PolicyDocument;

/// `merge` mode: reads the live policy again and writes the statements others own as they
/// are now, with this plan's (SPEC item 9). A statement added between plan and apply is kept.
pub(super) async fn merge_bucket_policy(
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

/// PutBucketTagging replaces the whole set: read the live tags, merge, write.
pub(super) async fn merge_bucket_tags(
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
