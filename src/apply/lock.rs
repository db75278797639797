//! The apply lock (`settings.lock = "s3://BUCKET/KEY"`): so that a cron remediation and a
//! person at a terminal never apply the same plan file at once.
//!
//! Taking the lock is one S3 conditional write, `PutObject` with `If-None-Match: *`: S3
//! creates the object only if no object has that key, atomically, so of two appliers exactly
//! one succeeds. The object records who holds the lock and since when. Releasing it deletes
//! the object, after checking it is still ours (its token). A lock left behind by an apply
//! that was killed stays until `--force-unlock`, which removes it whoever holds it: the
//! person doing that vouches that no apply is running.
//!
//! The lock bucket is reached with the ambient credentials, in `settings.region` (or the
//! ambient region). It is the one object s3ward ever deletes, and only its own.

use serde::{Deserialize, Serialize};

use crate::aws::{Aws, AwsError, Op, RetryPolicy};
use crate::desired::LockLocation;
use crate::error::Error;

/// What the lock object says.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LockInfo {
    /// The identity that took it (caller ARN).
    pub holder: String,
    pub host: String,
    pub pid: u32,
    pub plan: String,
    /// RFC 3339, UTC.
    pub since: String,
    /// Random; proves the lock is ours when releasing it.
    pub token: String,
}

/// A held lock. Release it with [`Lock::release`]; dropping it without releasing leaves the
/// object (as a crash would).
pub struct Lock {
    aws: Aws,
    s3: aws_sdk_s3::Client,
    at: LockLocation,
    token: String,
}

fn url(at: &LockLocation) -> String {
    format!("s3://{}/{}", at.bucket, at.key)
}

async fn read(
    aws: &Aws,
    s3: &aws_sdk_s3::Client,
    at: &LockLocation,
) -> Result<Option<LockInfo>, AwsError> {
    let out = aws
        .call(
            Op::s3("GetObject", &at.bucket),
            RetryPolicy::STANDARD,
            || s3.get_object().bucket(&at.bucket).key(&at.key).send(),
        )
        .await;
    let out = match out {
        Ok(o) => o,
        Err(e) if e.code_is("NoSuchKey") => return Ok(None),
        Err(e) => return Err(e),
    };
    let bytes = out
        .body
        .collect()
        .await
        .map(|b| b.into_bytes())
        .unwrap_or_default();
    Ok(Some(serde_json::from_slice(&bytes).unwrap_or(LockInfo {
        holder: "(unreadable lock object)".into(),
        host: String::new(),
        pid: 0,
        plan: String::new(),
        since: String::new(),
        token: String::new(),
    })))
}

impl Lock {
    /// Takes the lock, or fails naming who holds it. With `force`, removes an existing lock
    /// first.
    pub async fn acquire(
        aws: &Aws,
        region: &str,
        at: &LockLocation,
        holder: &str,
        plan: &str,
        force: bool,
    ) -> Result<Lock, Error> {
        let s3 = aws.s3(region, None);
        let addr = format!("lock {}", url(at));
        if force {
            if let Some(old) = read(aws, &s3, at)
                .await
                .map_err(|e| Error::aws(addr.clone(), e))?
            {
                tracing::warn!(
                    "--force-unlock: removing the lock held by {} since {}",
                    old.holder,
                    old.since
                );
            }
            aws.call(
                Op::s3("DeleteObject", &at.bucket),
                RetryPolicy::STANDARD,
                || s3.delete_object().bucket(&at.bucket).key(&at.key).send(),
            )
            .await
            .map_err(|e| Error::aws(addr.clone(), e))?;
        }
        let info = LockInfo {
            holder: holder.to_string(),
            host: hostname(),
            pid: std::process::id(),
            plan: plan.to_string(),
            since: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            token: format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
        };
        let body = serde_json::to_vec_pretty(&info).expect("a lock serialises");
        let put = aws
            .call(
                Op::s3("PutObject", &at.bucket),
                RetryPolicy::STANDARD,
                || {
                    s3.put_object()
                        .bucket(&at.bucket)
                        .key(&at.key)
                        .if_none_match("*")
                        .content_type("application/json")
                        .body(body.clone().into())
                        .send()
                },
            )
            .await;
        match put {
            Ok(_) => Ok(Lock {
                aws: aws.clone(),
                s3,
                at: at.clone(),
                token: info.token,
            }),
            Err(e)
                if e.code_is("PreconditionFailed") || e.code_is("ConditionalRequestConflict") =>
            {
                let held = read(aws, &s3, at).await.ok().flatten();
                // An earlier attempt of ours took it and its answer was lost.
                if held.as_ref().is_some_and(|h| h.token == info.token) {
                    return Ok(Lock {
                        aws: aws.clone(),
                        s3,
                        at: at.clone(),
                        token: info.token,
                    });
                }
                Err(Error::Locked {
                    location: url(at),
                    holder: held
                        .as_ref()
                        .map_or_else(|| "someone".into(), |h| h.holder.clone()),
                    since: held.as_ref().map(|h| h.since.clone()).unwrap_or_default(),
                    host: held
                        .map(|h| format!("{} (pid {})", h.host, h.pid))
                        .unwrap_or_default(),
                })
            }
            Err(e) => Err(Error::aws(addr, e)),
        }
    }

    /// Releases the lock if it is still ours.
    pub async fn release(self) -> Result<(), Error> {
        let addr = format!("lock {}", url(&self.at));
        let current = read(&self.aws, &self.s3, &self.at)
            .await
            .map_err(|e| Error::aws(addr.clone(), e))?;
        match current {
            Some(info) if info.token == self.token => {
                self.aws
                    .call(
                        Op::s3("DeleteObject", &self.at.bucket),
                        RetryPolicy::STANDARD,
                        || {
                            self.s3
                                .delete_object()
                                .bucket(&self.at.bucket)
                                .key(&self.at.key)
                                .send()
                        },
                    )
                    .await
                    .map_err(|e| Error::aws(addr, e))?;
                Ok(())
            }
            // Someone forced it away meanwhile: not ours to delete.
            _ => {
                tracing::warn!(
                    "the lock {} was no longer ours when releasing it",
                    url(&self.at)
                );
                Ok(())
            }
        }
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "unknown-host".into())
}
