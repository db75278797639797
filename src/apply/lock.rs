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
//! `--force-unlock` deletes only an object that s3ward wrote as a lock: one whose body is a
//! lock record ([`LockInfo`], every field present). Anything else at the lock key (a file
//! someone put there, a key mistyped in `settings.lock`) is refused, named, and left
//! alone: s3ward cannot know what it is, and a wrong `settings.lock` must not cost someone
//! an object. (Rejected: trusting any object at the key, as before; or a metadata marker,
//! which locks written by earlier versions lack.)
//!
//! The lock bucket is reached with the ambient credentials, in `settings.region` (or the
//! ambient region). It is the one object s3ward ever deletes, and only its own.

use serde::{Deserialize, Serialize};

use crate::aws::{Aws, AwsError, Op, RetryPolicy};
use crate::desired::LockLocation;
use crate::error::Error;

/// What the lock object says. Every field is required: a body that is not all of this was
/// not written by s3ward as a lock.
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

/// What is at the lock key.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Held {
    /// A lock that s3ward wrote.
    Lock(LockInfo),
    /// Some other object, which s3ward never deletes.
    Foreign { size: usize },
}

impl Held {
    fn lock(&self) -> Option<&LockInfo> {
        match self {
            Held::Lock(info) => Some(info),
            Held::Foreign { .. } => None,
        }
    }
}

/// Tells a lock s3ward wrote from anything else that may sit at its key.
fn classify(body: &[u8]) -> Held {
    match serde_json::from_slice::<LockInfo>(body) {
        Ok(info) => Held::Lock(info),
        Err(_) => Held::Foreign { size: body.len() },
    }
}

async fn read(
    aws: &Aws,
    s3: &aws_sdk_s3::Client,
    at: &LockLocation,
) -> Result<Option<Held>, AwsError> {
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
    // A body cut short must not pass for a foreign object (or for a lock).
    let bytes = out.body.collect().await.map_err(|e| AwsError {
        service: "s3",
        operation: "GetObject",
        code: None,
        message: format!("reading the lock object failed: {e}"),
        status: None,
        attempts: 1,
        no_response: true,
    })?;
    Ok(Some(classify(&bytes.into_bytes())))
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
            match read(aws, &s3, at)
                .await
                .map_err(|e| Error::aws(addr.clone(), e))?
            {
                Some(Held::Lock(old)) => tracing::warn!(
                    "--force-unlock: removing the lock held by {} since {}",
                    old.holder,
                    old.since
                ),
                Some(Held::Foreign { size }) => {
                    return Err(Error::NotALock {
                        location: url(at),
                        size,
                    });
                }
                None => {}
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
                if held
                    .as_ref()
                    .and_then(Held::lock)
                    .is_some_and(|h| h.token == info.token)
                {
                    return Ok(Lock {
                        aws: aws.clone(),
                        s3,
                        at: at.clone(),
                        token: info.token,
                    });
                }
                if let Some(Held::Foreign { size }) = held {
                    return Err(Error::NotALock {
                        location: url(at),
                        size,
                    });
                }
                let held = held.as_ref().and_then(Held::lock);
                Err(Error::Locked {
                    location: url(at),
                    holder: held.map_or_else(|| "someone".into(), |h| h.holder.clone()),
                    since: held.map(|h| h.since.clone()).unwrap_or_default(),
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
            Some(Held::Lock(info)) if info.token == self.token => {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> LockInfo {
        LockInfo {
            holder: "arn:aws:sts::123456789012:assumed-role/ops/alice".into(),
            host: "laptop-7".into(),
            pid: 4242,
            plan: "ml-models".into(),
            since: "2026-01-02T03:04:05Z".into(),
            token: "0123456789abcdef".into(),
        }
    }

    #[test]
    fn what_s3ward_writes_is_a_lock() {
        let body = serde_json::to_vec_pretty(&info()).unwrap();
        assert_eq!(classify(&body), Held::Lock(info()));
    }

    #[test]
    fn anything_else_at_the_key_is_foreign() {
        for body in [
            &b""[..],
            b"model weights",
            b"{}",
            br#"{"holder": "someone", "since": "yesterday"}"#,
            b"[1, 2, 3]",
        ] {
            assert_eq!(
                classify(body),
                Held::Foreign { size: body.len() },
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
