//! The S3 side of `check`: list each model directory (paginated), fetch its index file, and
//! find object owners.
//!
//! Owners come from the listing itself (`ListObjectsV2` with `FetchOwner`), one call per
//! 1,000 objects, rather than one `GetObjectAcl` per object: the owner in a listing is the
//! object's ACL owner. They are only asked for when the bucket does not enforce ownership
//! (under `BucketOwnerEnforced` the bucket owner owns everything). Directories are read
//! concurrently, the requests bounded by `--parallelism`.
//!
//! Each non-empty `*.safetensors` object is checked for wholeness with one ranged GET of
//! its first 64 KiB (enough for the header of typical shards; a longer header takes a
//! second ranged GET of exactly the header), judged by [`super::safetensors`]: a truncated
//! shard is a problem in the report, not an error.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;

use super::local::FIRST_READ;
use super::safetensors::{self, Header};
use super::{
    BucketScan, ForeignObject, INDEX, ModelReport, Object, Problem, ScanOutcome, foreign_owned,
    judge, wholeness,
};
use crate::aws::{AwsError, Op, RetryPolicy};
use crate::desired::{Bucket, ModelDir};
use crate::error::Error;
use crate::live::Session;

/// Index files larger than this are not read (real ones are tens of kilobytes).
const INDEX_MAX_BYTES: i64 = 64 * 1024 * 1024;

/// Everything `check` found in one bucket.
pub struct BucketFindings {
    pub models: Vec<ModelReport>,
    pub foreign: Vec<ForeignObject>,
    /// The bucket enforces ownership (it owns every object; owners need no check).
    pub ownership_enforced: bool,
    /// Owners were checked: the bucket does not enforce ownership and its owner is known.
    pub owners_checked: bool,
}

/// Checks every model directory of `b`. `listed` counts objects as they are listed.
pub async fn check_bucket(
    session: &Session,
    b: &Bucket,
    listed: Arc<AtomicUsize>,
) -> Result<BucketFindings, Error> {
    let aws = &session.aws;
    let s3 = session.s3(&b.account, &session.bucket_region(b));
    let name = b.name.as_str();
    let addr = crate::change::Address::Bucket(b.key.clone()).to_string();
    let fail = |e: AwsError| Error::aws(addr.clone(), e);

    let Some((enforced, bucket_owner)) = ownership(session, &s3, name).await.map_err(fail)? else {
        return Ok(BucketFindings {
            models: b.models.iter().map(|m| missing_bucket(b, m)).collect(),
            foreign: Vec::new(),
            ownership_enforced: false,
            owners_checked: false,
        });
    };

    let dirs = futures::future::join_all(b.models.iter().map(|m| {
        let s3 = s3.clone();
        let listed = listed.clone();
        let fetch_owner = bucket_owner.is_some();
        async move {
            let mut objects = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let page = aws
                    .call(Op::s3("ListObjectsV2", name), RetryPolicy::STANDARD, || {
                        s3.list_objects_v2()
                            .bucket(name)
                            .prefix(&m.prefix)
                            .fetch_owner(fetch_owner)
                            .set_continuation_token(token.clone())
                            .send()
                    })
                    .await?;
                for o in page.contents() {
                    let Some(key) = o.key() else { continue };
                    let rel = key.strip_prefix(m.prefix.as_str()).unwrap_or(key);
                    objects.push(Object {
                        name: rel.to_string(),
                        size: o.size().unwrap_or(0),
                        owner: o.owner().and_then(|w| w.id()).map(str::to_string),
                    });
                }
                listed.fetch_add(page.contents().len(), Ordering::Relaxed);
                match (page.is_truncated(), page.next_continuation_token()) {
                    (Some(true), Some(t)) => token = Some(t.to_string()),
                    _ => break,
                }
            }
            let index = match objects.iter().find(|o| o.name == INDEX) {
                None => None,
                Some(o) if o.size > INDEX_MAX_BYTES => Some(Err(format!(
                    "it is {} bytes; s3ward reads at most {INDEX_MAX_BYTES}",
                    o.size
                ))),
                Some(_) => {
                    Some(read_object(session, &s3, name, &format!("{}{INDEX}", m.prefix)).await)
                }
            };
            let shards = objects
                .iter()
                .filter(|o| o.name.ends_with(".safetensors") && o.size > 0)
                .map(|o| {
                    let s3 = s3.clone();
                    let key = format!("{}{}", m.prefix, o.name);
                    async move {
                        let expected = shard_size(session, &s3, name, &key, o.size as u64).await;
                        wholeness(&o.name, o.size as u64, expected)
                    }
                });
            // Requests in flight are bounded by `--parallelism` in `Aws::call`; this bounds
            // the header buffers held at once.
            let shard_problems: Vec<Problem> = futures::stream::iter(shards)
                .buffered(16)
                .filter_map(|p| async move { p })
                .collect()
                .await;
            Ok::<_, AwsError>((m, objects, index, shard_problems))
        }
    }))
    .await;

    let mut models = Vec::new();
    let mut foreign = Vec::new();
    for d in dirs {
        let (m, objects, index, shard_problems) = d.map_err(fail)?;
        if let Some(owner) = &bucket_owner {
            foreign.extend(foreign_owned(&b.key, name, &m.prefix, owner, &objects));
        }
        let mut report = judge(&b.key, name, &m.prefix, &m.require, &objects, index);
        report.problems.extend(shard_problems);
        models.push(report);
    }
    Ok(BucketFindings {
        models,
        foreign,
        ownership_enforced: enforced,
        owners_checked: bucket_owner.is_some(),
    })
}

/// Does the bucket enforce ownership, and if not, whose is it (from its ACL)? `None`: the
/// bucket does not exist.
async fn ownership(
    session: &Session,
    s3: &aws_sdk_s3::Client,
    name: &str,
) -> Result<Option<(bool, Option<String>)>, AwsError> {
    let aws = &session.aws;
    let controls = aws
        .call(
            Op::s3("GetBucketOwnershipControls", name),
            RetryPolicy::STANDARD,
            || s3.get_bucket_ownership_controls().bucket(name).send(),
        )
        .await;
    let enforced = match controls {
        Ok(o) => o
            .ownership_controls()
            .and_then(|c| c.rules().first())
            .is_some_and(|r| r.object_ownership().as_str() == "BucketOwnerEnforced"),
        Err(e) if e.code_is("OwnershipControlsNotFoundError") => false,
        Err(e) if e.code_is("NoSuchBucket") => return Ok(None),
        Err(e) => return Err(e),
    };
    if enforced {
        return Ok(Some((true, None)));
    }
    let acl = aws
        .call(Op::s3("GetBucketAcl", name), RetryPolicy::STANDARD, || {
            s3.get_bucket_acl().bucket(name).send()
        })
        .await?;
    Ok(Some((
        false,
        acl.owner().and_then(|o| o.id()).map(str::to_string),
    )))
}

/// `check --all-objects`: lists the whole bucket with owners (ListObjectsV2 with FetchOwner,
/// 1,000 a page) and finds the objects another account owns, looking at no more than `max`
/// objects. Not listed under BucketOwnerEnforced (the bucket owns every object), nor when
/// the bucket does not exist. `listed` counts objects as they are listed.
pub async fn scan_bucket(
    session: &Session,
    b: &Bucket,
    max: usize,
    listed: Arc<AtomicUsize>,
) -> Result<BucketScan, Error> {
    let aws = &session.aws;
    let s3 = session.s3(&b.account, &session.bucket_region(b));
    let name = b.name.as_str();
    let addr = crate::change::Address::Bucket(b.key.clone()).to_string();
    let fail = |e: AwsError| Error::aws(addr.clone(), e);
    let mut scan = BucketScan {
        bucket_key: b.key.clone(),
        bucket: b.name.clone(),
        outcome: ScanOutcome::Whole,
        scanned: 0,
        foreign: Vec::new(),
    };
    let owner = match ownership(session, &s3, name).await.map_err(fail)? {
        None => {
            scan.outcome = ScanOutcome::NoBucket;
            return Ok(scan);
        }
        Some((true, _)) => {
            scan.outcome = ScanOutcome::OwnershipEnforced;
            return Ok(scan);
        }
        Some((false, None)) => {
            scan.outcome = ScanOutcome::OwnerUnknown;
            return Ok(scan);
        }
        Some((false, Some(owner))) => owner,
    };
    let mut objects = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .call(Op::s3("ListObjectsV2", name), RetryPolicy::STANDARD, || {
                s3.list_objects_v2()
                    .bucket(name)
                    .fetch_owner(true)
                    .set_continuation_token(token.clone())
                    .send()
            })
            .await
            .map_err(fail)?;
        let contents = page.contents();
        let room = max - objects.len();
        for o in contents.iter().take(room) {
            objects.push(Object {
                name: o.key().unwrap_or_default().to_string(),
                size: o.size().unwrap_or(0),
                owner: o.owner().and_then(|w| w.id()).map(str::to_string),
            });
        }
        listed.fetch_add(contents.len().min(room), Ordering::Relaxed);
        let more =
            matches!(page.is_truncated(), Some(true)) && page.next_continuation_token().is_some();
        if contents.len() > room || (more && objects.len() >= max) {
            // Cut: what is known to exist is what was listed, and one more when the
            // listing goes on.
            let seen = (max - room) + contents.len();
            scan.outcome = ScanOutcome::Cut {
                at_least: seen + usize::from(more),
            };
            break;
        }
        match (more, page.next_continuation_token()) {
            (true, Some(t)) => token = Some(t.to_string()),
            _ => break,
        }
    }
    scan.scanned = objects.len();
    scan.foreign = foreign_owned(&b.key, name, "", &owner, &objects);
    Ok(scan)
}

fn missing_bucket(b: &Bucket, m: &ModelDir) -> ModelReport {
    ModelReport {
        bucket_key: b.key.clone(),
        bucket: b.name.clone(),
        prefix: m.prefix.clone(),
        files: 0,
        bytes: 0,
        weight_files: 0,
        problems: vec![Problem::NoBucket {
            bucket: b.name.clone(),
        }],
    }
}

/// Reads a small object; an access error becomes the reason the index is unusable.
async fn read_object(
    session: &Session,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Vec<u8>, String> {
    let out = session
        .aws
        .call(Op::s3("GetObject", bucket), RetryPolicy::STANDARD, || {
            s3.get_object().bucket(bucket).key(key).send()
        })
        .await
        .map_err(|e| format!("could not read it: {e}"))?;
    out.body
        .collect()
        .await
        .map(|b| b.into_bytes().to_vec())
        .map_err(|e| format!("could not read it: {e}"))
}

/// The size a whole shard at `key` has, from its header: one ranged GET of the first
/// [`FIRST_READ`] bytes, and a second of the header when it is longer.
async fn shard_size(
    session: &Session,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    size: u64,
) -> Result<u64, String> {
    let first = read_range(session, s3, bucket, key, 0, FIRST_READ as u64).await?;
    match safetensors::from_start(&first, size)? {
        Header::Size(s) => Ok(s),
        Header::Need(n) => {
            let header = read_range(session, s3, bucket, key, safetensors::PREFIX_LEN, n).await?;
            safetensors::expected_size(n, &header)
        }
    }
}

/// `len` bytes of `key` from `start` (fewer when the object ends first).
async fn read_range(
    session: &Session,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    start: u64,
    len: u64,
) -> Result<Vec<u8>, String> {
    let range = format!("bytes={start}-{}", start + len - 1);
    let out = session
        .aws
        .call(Op::s3("GetObject", bucket), RetryPolicy::STANDARD, || {
            s3.get_object().bucket(bucket).key(key).range(&range).send()
        })
        .await
        .map_err(|e| format!("could not read its header: {e}"))?;
    out.body
        .collect()
        .await
        .map(|b| b.into_bytes().to_vec())
        .map_err(|e| format!("could not read its header: {e}"))
}
