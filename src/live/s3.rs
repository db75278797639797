//! Reading one bucket's managed settings (S3). All reads start at once (but see
//! [`BucketReads::acl_unless_enforced`]); "no such" answers become [`Setting::Absent`], and
//! `NoSuchBucket` from any of them means the bucket is absent.

use std::collections::BTreeMap;

use aws_sdk_s3::types::{ObjectOwnership as SdkOwnership, Type};

use super::{AclGrant, LiveAcl, LiveBucket, LiveDocument, Session, Setting};
use crate::aws::{AwsError, Op, RetryPolicy};
use crate::change::Address;
use crate::desired::{AclMode, Bucket, ObjectOwnership, PublicAccessBlock};
use crate::error::Error;

/// The outcome of one read: a value, "absent", or "the bucket does not exist".
enum Got<T> {
    Value(T),
    Absent,
    NoBucket,
}

fn classify<T>(r: Result<T, AwsError>, absent_codes: &[&str]) -> Result<Got<T>, AwsError> {
    match r {
        Ok(v) => Ok(Got::Value(v)),
        Err(e) if e.code_is("NoSuchBucket") => Ok(Got::NoBucket),
        Err(e) if e.code.as_deref().is_some_and(|c| absent_codes.contains(&c)) => Ok(Got::Absent),
        Err(e) => Err(e),
    }
}

/// Which optional settings of a bucket to read (policy and tags are always read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketReads {
    pub acl: bool,
    /// Read the ACL only once ownership controls are known not to be `BucketOwnerEnforced`
    /// (needs `ownership`). Under BucketOwnerEnforced ACLs are disabled: AWS refuses to
    /// enforce ownership while the ACL grants anyone but the owner, refuses ACL writes
    /// other than owner-only while it is enforced, and ignores ACLs for access. The ACL is
    /// then owner-only by construction, and the call is saved at the cost of one round trip
    /// in the other case. Chosen where the plan file asks for BucketOwnerEnforced, so the
    /// round trip is paid only by buckets that have drifted from it.
    pub acl_unless_enforced: bool,
    pub ownership: bool,
    pub public_access_block: bool,
}

impl BucketReads {
    /// Everything, all at once (for `import`).
    pub const ALL: BucketReads = BucketReads {
        acl: true,
        acl_unless_enforced: false,
        ownership: true,
        public_access_block: true,
    };

    /// What the plan file manages of `b`.
    pub fn managed(b: &Bucket) -> BucketReads {
        BucketReads {
            acl: b.acl == AclMode::Private,
            acl_unless_enforced: b.ownership == Some(ObjectOwnership::BucketOwnerEnforced),
            ownership: b.ownership.is_some(),
            public_access_block: b.public_access_block.is_some(),
        }
    }
}

/// Reads what the plan file manages of a bucket.
pub async fn read_bucket(session: &Session, b: &Bucket) -> Result<LiveBucket, Error> {
    let region = session.bucket_region(b);
    read(
        session,
        &b.account,
        &region,
        &b.name,
        &b.key,
        BucketReads::managed(b),
    )
    .await
}

/// Reads a bucket by name; errors name `bucket.KEY` addresses with `key`.
pub async fn read(
    session: &Session,
    account: &str,
    region: &str,
    name: &str,
    key: &str,
    reads: BucketReads,
) -> Result<LiveBucket, Error> {
    let aws = &session.aws;
    let s3 = session.s3(account, region);
    let err = |addr: Address| move |e: AwsError| Error::aws(addr.to_string(), e);

    let policy = async {
        let r = aws
            .call(
                Op::s3("GetBucketPolicy", name),
                RetryPolicy::STANDARD,
                || s3.get_bucket_policy().bucket(name).send(),
            )
            .await;
        classify(r, &["NoSuchBucketPolicy"]).map(|g| match g {
            Got::Value(o) => Got::Value(LiveDocument::from_text(o.policy().unwrap_or_default())),
            Got::Absent => Got::Absent,
            Got::NoBucket => Got::NoBucket,
        })
    };
    let tags = async {
        let r = aws
            .call(
                Op::s3("GetBucketTagging", name),
                RetryPolicy::STANDARD,
                || s3.get_bucket_tagging().bucket(name).send(),
            )
            .await;
        classify(r, &["NoSuchTagSet"]).map(|g| match g {
            Got::Value(o) => Got::Value(
                o.tag_set()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect::<BTreeMap<_, _>>(),
            ),
            Got::Absent => Got::Absent,
            Got::NoBucket => Got::NoBucket,
        })
    };
    let acl = async {
        if !reads.acl {
            return Ok(None);
        }
        let r = aws
            .call(Op::s3("GetBucketAcl", name), RetryPolicy::STANDARD, || {
                s3.get_bucket_acl().bucket(name).send()
            })
            .await;
        classify(r, &[]).map(|g| {
            Some(match g {
                Got::Value(o) => Got::Value(LiveAcl {
                    owner: o
                        .owner()
                        .and_then(|o| o.id())
                        .unwrap_or_default()
                        .to_string(),
                    grants: o
                        .grants()
                        .iter()
                        .filter_map(|g| {
                            let grantee = g.grantee()?;
                            let who = match grantee.r#type() {
                                Type::CanonicalUser => {
                                    format!("CanonicalUser:{}", grantee.id().unwrap_or_default())
                                }
                                Type::Group => {
                                    format!("Group:{}", grantee.uri().unwrap_or_default())
                                }
                                Type::AmazonCustomerByEmail => {
                                    format!("Email:{}", grantee.email_address().unwrap_or_default())
                                }
                                other => format!(
                                    "{}:{}",
                                    other.as_str(),
                                    grantee.id().unwrap_or_default()
                                ),
                            };
                            Some(AclGrant {
                                grantee: who,
                                permission: g
                                    .permission()
                                    .map(|p| p.as_str().to_string())
                                    .unwrap_or_default(),
                            })
                        })
                        .collect(),
                }),
                Got::Absent => Got::Absent,
                Got::NoBucket => Got::NoBucket,
            })
        })
    };
    let ownership = async {
        if !reads.ownership {
            return Ok(None);
        }
        let r = aws
            .call(
                Op::s3("GetBucketOwnershipControls", name),
                RetryPolicy::STANDARD,
                || s3.get_bucket_ownership_controls().bucket(name).send(),
            )
            .await;
        classify(r, &["OwnershipControlsNotFoundError"]).map(|g| {
            Some(match g {
                Got::Value(o) => {
                    let rule = o
                        .ownership_controls()
                        .and_then(|c| c.rules().first())
                        .map(|r| r.object_ownership().clone());
                    match rule.and_then(|o| from_sdk_ownership(&o)) {
                        Some(v) => Got::Value(v),
                        None => Got::Absent,
                    }
                }
                Got::Absent => Got::Absent,
                Got::NoBucket => Got::NoBucket,
            })
        })
    };
    let pab = async {
        if !reads.public_access_block {
            return Ok(None);
        }
        let r = aws
            .call(
                Op::s3("GetPublicAccessBlock", name),
                RetryPolicy::STANDARD,
                || s3.get_public_access_block().bucket(name).send(),
            )
            .await;
        classify(r, &["NoSuchPublicAccessBlockConfiguration"]).map(|g| {
            Some(match g {
                Got::Value(o) => match o.public_access_block_configuration() {
                    Some(c) => Got::Value(PublicAccessBlock {
                        block_public_acls: c.block_public_acls().unwrap_or(false),
                        ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                        block_public_policy: c.block_public_policy().unwrap_or(false),
                        restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
                    }),
                    None => Got::Absent,
                },
                Got::Absent => Got::Absent,
                Got::NoBucket => Got::NoBucket,
            })
        })
    };
    let ownership_and_acl = async {
        if !(reads.acl_unless_enforced && reads.ownership) {
            return futures::join!(ownership, acl);
        }
        let ownership = ownership.await;
        let acl = match &ownership {
            Ok(Some(Got::Value(ObjectOwnership::BucketOwnerEnforced))) if reads.acl => {
                Ok(Some(Got::Value(LiveAcl::disabled())))
            }
            Ok(Some(Got::NoBucket)) if reads.acl => Ok(Some(Got::NoBucket)),
            _ => acl.await,
        };
        (ownership, acl)
    };
    let (policy, tags, (ownership, acl), pab) =
        futures::join!(policy, tags, ownership_and_acl, pab);
    let policy = policy.map_err(err(Address::BucketPolicy(key.to_string())))?;
    let tags = tags.map_err(err(Address::BucketTags(key.to_string())))?;
    let acl = acl.map_err(err(Address::BucketAcl(key.to_string())))?;
    let ownership = ownership.map_err(err(Address::BucketOwnership(key.to_string())))?;
    let pab = pab.map_err(err(Address::BucketPublicAccessBlock(key.to_string())))?;

    let gone = matches!(policy, Got::NoBucket)
        || matches!(tags, Got::NoBucket)
        || matches!(acl, Some(Got::NoBucket))
        || matches!(ownership, Some(Got::NoBucket))
        || matches!(pab, Some(Got::NoBucket));
    if gone {
        // Only what was asked for counts as read (saved-plan fingerprints compare reads).
        let mut absent = LiveBucket::absent();
        if !reads.acl {
            absent.acl = Setting::NotRead;
        }
        if !reads.ownership {
            absent.ownership = Setting::NotRead;
        }
        if !reads.public_access_block {
            absent.public_access_block = Setting::NotRead;
        }
        return Ok(absent);
    }
    fn setting<T>(g: Option<Got<T>>) -> Setting<T> {
        match g {
            None => Setting::NotRead,
            Some(Got::Value(v)) => Setting::Present(v),
            Some(Got::Absent | Got::NoBucket) => Setting::Absent,
        }
    }
    Ok(LiveBucket {
        exists: true,
        policy: setting(Some(policy)),
        tags: setting(Some(tags)),
        acl: setting(acl),
        ownership: setting(ownership),
        public_access_block: setting(pab),
        encryption: Setting::NotRead,
    })
}

pub fn from_sdk_ownership(o: &SdkOwnership) -> Option<ObjectOwnership> {
    ObjectOwnership::parse(o.as_str())
}

pub fn to_sdk_ownership(o: ObjectOwnership) -> SdkOwnership {
    SdkOwnership::from(o.as_str())
}

/// The region a bucket lives in (GetBucketLocation, asked in the ambient region, which AWS
/// answers for a bucket in any region); `None` when the bucket does not exist. For `import`,
/// which is given bucket names without regions.
pub async fn bucket_region(
    session: &Session,
    account: &str,
    name: &str,
) -> Result<Option<String>, Error> {
    let s3 = session.s3(account, &session.aws.default_region());
    let r = session
        .aws
        .call(
            Op::s3("GetBucketLocation", name),
            RetryPolicy::STANDARD,
            || s3.get_bucket_location().bucket(name).send(),
        )
        .await;
    match classify(r, &[]) {
        Ok(Got::Value(o)) => Ok(Some(location_region(
            o.location_constraint().map(|c| c.as_str()),
        ))),
        Ok(Got::Absent | Got::NoBucket) => Ok(None),
        Err(e) => Err(Error::aws(Address::Bucket(name.to_string()).to_string(), e)),
    }
}

/// GetBucketLocation's answer as a region: empty means `us-east-1`, and `EU` is the old
/// name of `eu-west-1`.
fn location_region(constraint: Option<&str>) -> String {
    match constraint {
        None | Some("") => "us-east-1".into(),
        Some("EU") => "eu-west-1".into(),
        Some(r) => r.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::location_region;

    #[test]
    fn location_constraints_are_regions() {
        assert_eq!(location_region(None), "us-east-1");
        assert_eq!(location_region(Some("")), "us-east-1");
        assert_eq!(location_region(Some("EU")), "eu-west-1");
        assert_eq!(location_region(Some("ap-south-1")), "ap-south-1");
    }
}
