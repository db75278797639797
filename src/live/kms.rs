//! Reading KMS keys and a bucket's default encryption: DescribeKey, GetKeyPolicy (policy
//! name `default`, the only one KMS has) and ListResourceTags for each `[keys]` entry, and
//! S3 GetBucketEncryption for a bucket whose `encryption` is managed. A key that does not
//! exist is an error: s3ward never creates one. No configuration on the bucket is read as
//! `Absent`, which `diff` takes to be SSE-S3 (what S3 does by default).

use std::collections::BTreeMap;

use aws_sdk_s3::types::ServerSideEncryption;

use super::{LiveDocument, Session, Setting};
use crate::aws::{Op, RetryPolicy};
use crate::change::Address;
use crate::desired::{Bucket, Encryption, Key};
use crate::error::Error;
use crate::state::LiveKey;

/// Reads one key of the plan file.
pub async fn read_key(session: &Session, k: &Key) -> Result<LiveKey, Error> {
    let aws = &session.aws;
    let kms = session.kms(&k.account, &k.region);
    let addr = Address::KeyPolicy(k.key.clone()).to_string();
    let err = |e| Error::aws(addr.clone(), e);
    let describe = aws.call(
        Op::kms("DescribeKey", &k.arn),
        RetryPolicy::STANDARD,
        || kms.describe_key().key_id(&k.arn).send(),
    );
    let policy = aws.call(
        Op::kms("GetKeyPolicy", &k.arn),
        RetryPolicy::STANDARD,
        || {
            kms.get_key_policy()
                .key_id(&k.arn)
                .policy_name("default")
                .send()
        },
    );
    let tags = aws.call(
        Op::kms("ListResourceTags", &k.arn),
        RetryPolicy::STANDARD,
        || kms.list_resource_tags().key_id(&k.arn).send(),
    );
    let (describe, policy, tags) = futures::join!(describe, policy, tags);
    let meta = describe.map_err(err)?;
    let meta = meta.key_metadata();
    let policy = policy.map_err(err)?;
    let tags = tags.map_err(err)?;
    Ok(LiveKey {
        manager: meta
            .and_then(|m| m.key_manager())
            .map_or_else(|| "CUSTOMER".to_string(), |m| m.as_str().to_string()),
        state: meta
            .and_then(|m| m.key_state())
            .map_or_else(String::new, |s| s.as_str().to_string()),
        policy: LiveDocument::from_text(policy.policy().unwrap_or_default()),
        tags: tags
            .tags()
            .iter()
            .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
            .collect::<BTreeMap<_, _>>(),
    })
}

/// The `KeyManager` of a key the plan file does not manage (`AWS` for `aws/s3`), or `None`
/// when DescribeKey does not answer (another account's key that may not be described): the
/// question is only whether to refuse, and an unknown answer refuses nothing.
pub async fn key_manager(session: &Session, account: &str, arn: &str) -> Option<String> {
    let region = crate::desired::parse_key_arn(arn)?.0;
    let kms = session.kms(account, region);
    let out = session
        .aws
        .call(Op::kms("DescribeKey", arn), RetryPolicy::STANDARD, || {
            kms.describe_key().key_id(arn).send()
        })
        .await
        .ok()?;
    Some(out.key_metadata()?.key_manager()?.as_str().to_string())
}

/// Reads a bucket's default encryption (`None`: the bucket does not exist).
pub async fn read_encryption(
    session: &Session,
    account: &str,
    region: &str,
    name: &str,
    key: &str,
) -> Result<Option<Setting<Encryption>>, Error> {
    let s3 = session.s3(account, region);
    let r = session
        .aws
        .call(
            Op::s3("GetBucketEncryption", name),
            RetryPolicy::STANDARD,
            || s3.get_bucket_encryption().bucket(name).send(),
        )
        .await;
    let out = match r {
        Ok(o) => o,
        Err(e) if e.code_is("NoSuchBucket") => return Ok(None),
        Err(e) if e.code_is("ServerSideEncryptionConfigurationNotFoundError") => {
            return Ok(Some(Setting::Absent));
        }
        Err(e) => {
            return Err(Error::aws(
                Address::BucketEncryption(key.to_string()).to_string(),
                e,
            ));
        }
    };
    let rule = out
        .server_side_encryption_configuration()
        .and_then(|c| c.rules().first());
    let Some(by_default) = rule.and_then(|r| r.apply_server_side_encryption_by_default()) else {
        return Ok(Some(Setting::Absent));
    };
    let bucket_key = rule.and_then(|r| r.bucket_key_enabled()).unwrap_or(false);
    Ok(Some(match by_default.sse_algorithm() {
        ServerSideEncryption::Aes256 => Setting::Present(Encryption::SseS3),
        _ => Setting::Present(Encryption::Kms {
            key_arn: by_default
                .kms_master_key_id()
                .unwrap_or_default()
                .to_string(),
            plan_key: None,
            bucket_key,
        }),
    }))
}

/// [`read_encryption`] for a bucket of the plan file whose `encryption` is managed.
pub async fn read_bucket_encryption(
    session: &Session,
    b: &Bucket,
) -> Result<Setting<Encryption>, Error> {
    if b.encryption.is_none() {
        return Ok(Setting::NotRead);
    }
    let region = session.bucket_region(b);
    Ok(
        read_encryption(session, &b.account, &region, &b.name, &b.key)
            .await?
            .unwrap_or(Setting::Absent),
    )
}
