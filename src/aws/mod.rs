//! The one door to AWS: client construction, and a wrapper that every AWS call goes through.
//!
//! `Aws` holds the base SDK configuration (region, profile, endpoint), the limits of requests
//! in flight per service (`limiter.rs`: adapted to throttling, each at most `--parallelism`),
//! and per-service call counters for `-v`.
//! [`Aws::call`] times, counts and retries one operation and turns the SDK's error into an
//! [`AwsError`] that names the operation and the AWS error code.
//!
//! Retries are ours, not the SDK's (its retry layer is disabled): one budget for every
//! operation, each retry logged at `-v`, and an error that names the address when the budget
//! runs out. Callers that know a *semantic* retry (a principal that IAM has not propagated
//! yet) pass their own [`RetryPolicy`].
//!
//! This module does not decide what to read or write; `live/` and `apply/` do.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::SdkConfig;
use aws_types::region::Region;
mod error;
mod limiter;
pub use error::AwsError;
use limiter::{Limits, Outcome};

/// Options that decide how s3ward talks to AWS (the global command-line flags).
#[derive(Clone, Debug, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub parallelism: usize,
}

/// The default region when neither the plan file, `--region`, nor the environment says one.
pub const FALLBACK_REGION: &str = "us-east-1";

/// Shared AWS context for one run.
#[derive(Clone)]
pub struct Aws {
    base: SdkConfig,
    /// True when requests go to a custom endpoint (an emulator or a proxy): S3 then uses
    /// path-style addressing, because `BUCKET.127.0.0.1` does not resolve.
    custom_endpoint: bool,
    limits: Arc<Limits>,
    stats: Arc<Mutex<Stats>>,
}

/// Calls made, per service, for the `-v` summary and the benchmark.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub calls: BTreeMap<&'static str, u64>,
    pub retries: u64,
}

impl std::fmt::Debug for Aws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the SdkConfig: it holds the credentials provider.
        f.debug_struct("Aws")
            .field("region", &self.base.region())
            .field("custom_endpoint", &self.custom_endpoint)
            .finish_non_exhaustive()
    }
}

impl Aws {
    /// Loads the standard credential chain and configuration. Does not call AWS.
    pub async fn connect(opts: &AwsOptions) -> Aws {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            // Our own retry loop (see `call`) replaces the SDK's.
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            );
        if let Some(region) = &opts.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &opts.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &opts.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let mut base = loader.load().await;
        if base.region().is_none() {
            base = base
                .to_builder()
                .region(Region::new(FALLBACK_REGION))
                .build();
        }
        let custom_endpoint = base.endpoint_url().is_some();
        Aws {
            base,
            custom_endpoint,
            limits: Arc::new(Limits::new(opts.parallelism)),
            stats: Arc::new(Mutex::new(Stats::default())),
        }
    }

    /// The region of the ambient configuration (`--region`, profile, `AWS_REGION`, or the fallback).
    pub fn default_region(&self) -> String {
        self.base
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| FALLBACK_REGION.to_string())
    }

    pub fn endpoint_url(&self) -> Option<&str> {
        self.base.endpoint_url()
    }

    fn config(&self, region: Option<&str>, creds: Option<&Credentials>) -> SdkConfig {
        let mut b = self.base.to_builder();
        if let Some(region) = region {
            b = b.region(Region::new(region.to_string()));
        }
        if let Some(creds) = creds {
            b = b.credentials_provider(SharedCredentialsProvider::new(creds.clone()));
        }
        b.build()
    }

    /// An S3 client for one region, acting with `creds` (or the ambient credentials).
    pub fn s3(&self, region: &str, creds: Option<&Credentials>) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.config(Some(region), creds))
            .force_path_style(self.custom_endpoint)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// An IAM client (IAM is global; its endpoint lives in us-east-1 for the `aws` partition).
    pub fn iam(&self, creds: Option<&Credentials>) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.config(Some("us-east-1"), creds))
    }

    /// A KMS client for the region of a key.
    pub fn kms(&self, region: &str, creds: Option<&Credentials>) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.config(Some(region), creds))
    }

    pub fn sts(&self, creds: Option<&Credentials>) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.config(None, creds))
    }

    /// An EKS client for one region (pod identity associations live in the cluster's).
    pub fn eks(&self, region: &str, creds: Option<&Credentials>) -> aws_sdk_eks::Client {
        aws_sdk_eks::Client::new(&self.config(Some(region), creds))
    }

    /// A snapshot of the calls made so far.
    pub fn stats(&self) -> Stats {
        self.stats.lock().expect("stats lock").clone()
    }

    /// Runs one AWS operation: waits for a permit, sends, retries what is worth retrying,
    /// logs each attempt at debug level (`-v`), and counts it.
    ///
    /// `send` is called once per attempt and must build a fresh request each time.
    pub async fn call<T, E, F, Fut>(
        &self,
        op: Op<'_>,
        policy: RetryPolicy,
        mut send: F,
    ) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        // The budget counts from the first attempt (SPEC item 12): time spent waiting for a
        // permit under `--parallelism` is not time AWS had to answer.
        let mut first_attempt: Option<Instant> = None;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let result = {
                let permit = self.limits.acquire(op.service).await;
                let t = Instant::now();
                first_attempt.get_or_insert(t);
                // Boxed: an SDK `send()` future is several KB, and inline it would make every
                // waiting `call` that size. `live::read` starts every read of a plan at once
                // (5 per bucket), so inline it cost ~29 KB per bucket before the first
                // request (`plan` of 1,000 buckets: 69 MB peak RSS, 50 MB boxed); boxed, only
                // the requests holding a permit (at most `--parallelism`) pay for it.
                let r = Box::pin(send())
                    .await
                    .map_err(|e| AwsError::from_sdk(&op, &e));
                self.count(op.service);
                permit.finish(match &r {
                    Err(e) if e.is_throttling() => Outcome::Throttled,
                    _ => Outcome::Answered,
                });
                tracing::debug!(
                    target: "s3ward::aws",
                    "{} {}{}{} {:?} {}",
                    op.service,
                    op.operation,
                    if op.target.is_empty() { "" } else { " " },
                    op.target,
                    t.elapsed(),
                    r.as_ref().map_or_else(AwsError::short, |_| "ok".to_string())
                );
                r
            };
            let err = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let class = policy.classify(&err);
            let budget = match class {
                // `attempts` > 1 tells the caller an earlier attempt may have taken effect.
                Retry::No => return Err(err.exhausted(attempt)),
                Retry::Transient => policy.transient_budget,
                Retry::Semantic => policy.semantic_budget,
            };
            let since_first = first_attempt.map_or(Duration::ZERO, |t| t.elapsed());
            if since_first >= budget || attempt >= policy.max_attempts {
                return Err(err.exhausted(attempt));
            }
            let delay = backoff(attempt, policy.base_delay, policy.max_delay);
            self.stats.lock().expect("stats lock").retries += 1;
            tracing::info!(
                target: "s3ward::retry",
                "retrying {} {}{}{} after {}: attempt {} in {:?}",
                op.service,
                op.operation,
                if op.target.is_empty() { "" } else { " " },
                op.target,
                err.short(),
                attempt + 1,
                delay
            );
            tokio::time::sleep(delay).await;
        }
    }

    fn count(&self, service: &'static str) {
        *self
            .stats
            .lock()
            .expect("stats lock")
            .calls
            .entry(service)
            .or_default() += 1;
    }
}

/// Exponential backoff with full jitter, capped.
fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.min(16));
    let cap = exp.min(max);
    let ms = cap.as_millis().max(1) as u64;
    // Full jitter, but never less than half the step, so retries still spread out.
    Duration::from_millis(ms / 2 + fastrand::u64(0..=ms / 2))
}

/// Names one AWS operation for logs and errors.
#[derive(Clone, Copy, Debug)]
pub struct Op<'a> {
    pub service: &'static str,
    pub operation: &'static str,
    /// What the call is about (a bucket or role name), for logs.
    pub target: &'a str,
}

impl<'a> Op<'a> {
    pub fn s3(operation: &'static str, target: &'a str) -> Self {
        Op {
            service: "s3",
            operation,
            target,
        }
    }
    pub fn iam(operation: &'static str, target: &'a str) -> Self {
        Op {
            service: "iam",
            operation,
            target,
        }
    }
    pub fn kms(operation: &'static str, target: &'a str) -> Self {
        Op {
            service: "kms",
            operation,
            target,
        }
    }
    pub fn sts(operation: &'static str, target: &'a str) -> Self {
        Op {
            service: "sts",
            operation,
            target,
        }
    }
    pub fn eks(operation: &'static str, target: &'a str) -> Self {
        Op {
            service: "eks",
            operation,
            target,
        }
    }
}

/// How one call should be retried.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Throttling, 5xx, dropped connections, timeouts, 409 OperationAborted.
    pub transient_budget: Duration,
    /// Errors that this particular call expects to clear with time (for example a principal
    /// that IAM has not propagated yet). Empty for most calls.
    pub semantic_budget: Duration,
    /// `(error code, text the message must contain)`: the errors worth waiting out.
    pub semantic: &'static [(&'static str, Option<&'static str>)],
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The default: transient faults only, about half a minute of budget.
    pub const STANDARD: RetryPolicy = RetryPolicy {
        transient_budget: Duration::from_secs(40),
        semantic_budget: Duration::ZERO,
        semantic: &[],
        max_attempts: 10,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(5),
    };

    /// Retry `errors` (as well as transient faults) for up to `budget`.
    pub const fn with_semantic(
        errors: &'static [(&'static str, Option<&'static str>)],
        budget: Duration,
    ) -> RetryPolicy {
        RetryPolicy {
            semantic_budget: budget,
            semantic: errors,
            max_attempts: 60,
            ..RetryPolicy::STANDARD
        }
    }

    fn classify(&self, err: &AwsError) -> Retry {
        if let Some(code) = &err.code {
            let message = err.message.to_ascii_lowercase();
            if self
                .semantic
                .iter()
                .any(|(c, m)| c == code && m.is_none_or(|m| message.contains(m)))
            {
                return Retry::Semantic;
            }
        }
        if err.is_transient() {
            Retry::Transient
        } else {
            Retry::No
        }
    }
}

enum Retry {
    No,
    Transient,
    Semantic,
}

impl AwsError {
    pub fn from_sdk<E>(op: &Op<'_>, err: &SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let (code, message, no_response) = match err {
            SdkError::ServiceError(se) => {
                let e = se.err();
                (
                    e.code().map(str::to_string),
                    e.message()
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("HTTP {}", status.unwrap_or_default())),
                    false,
                )
            }
            SdkError::DispatchFailure(d) => {
                let what = if d.is_timeout() {
                    "request timed out"
                } else if d.is_io() {
                    "connection failed"
                } else {
                    "request could not be sent"
                };
                (None, format!("{what}: {}", source_chain(err)), true)
            }
            SdkError::TimeoutError(_) => (None, "request timed out".to_string(), true),
            SdkError::ResponseError(_) => (
                None,
                format!("could not read the response: {}", source_chain(err)),
                false,
            ),
            SdkError::ConstructionFailure(_) => (
                None,
                format!("could not build the request: {}", source_chain(err)),
                false,
            ),
            _ => (None, source_chain(err), false),
        };
        AwsError {
            service: op.service,
            operation: op.operation,
            code,
            message,
            status,
            attempts: 1,
            no_response,
        }
    }
}

fn source_chain(err: &dyn std::error::Error) -> String {
    let mut out = Vec::new();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if out.last() != Some(&s) {
            out.push(s);
        }
        cur = e.source();
    }
    if out.is_empty() {
        err.to_string()
    } else {
        out.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: Option<&str>, status: Option<u16>) -> AwsError {
        AwsError {
            service: "s3",
            operation: "GetBucketPolicy",
            code: code.map(str::to_string),
            message: "m".into(),
            status,
            attempts: 1,
            no_response: false,
        }
    }

    #[test]
    fn transient_errors_are_throttling_5xx_and_aborts() {
        assert!(err(Some("SlowDown"), Some(503)).is_transient());
        assert!(err(Some("Throttling"), Some(400)).is_transient());
        assert!(err(Some("OperationAborted"), Some(409)).is_transient());
        assert!(err(Some("InternalError"), Some(500)).is_transient());
        assert!(err(None, Some(502)).is_transient());
        assert!(!err(Some("AccessDenied"), Some(403)).is_transient());
        assert!(!err(Some("NoSuchBucket"), Some(404)).is_transient());
        assert!(!err(Some("MalformedPolicy"), Some(400)).is_transient());
    }

    #[test]
    fn semantic_retry_needs_code_and_message() {
        let p = RetryPolicy::with_semantic(
            &[("MalformedPolicy", Some("invalid principal"))],
            Duration::from_secs(120),
        );
        let mut e = err(Some("MalformedPolicy"), Some(400));
        e.message = "Invalid principal in policy".into();
        assert!(matches!(p.classify(&e), Retry::Semantic));
        e.message = "Policy has invalid resource".into();
        assert!(matches!(p.classify(&e), Retry::No));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        for attempt in 1..30 {
            let d = backoff(attempt, base, max);
            assert!(d <= max, "{d:?}");
            assert!(d >= base.min(max) / 2, "{d:?}");
        }
        assert!(backoff(10, base, max) >= Duration::from_millis(2500));
    }

    #[test]
    fn display_names_service_operation_and_code() {
        let mut e = err(Some("AccessDenied"), Some(403));
        e.attempts = 3;
        assert_eq!(
            e.describe(),
            "S3 GetBucketPolicy failed: AccessDenied: m (after 3 attempts)"
        );
        assert_eq!(e.to_string(), "AccessDenied: m (after 3 attempts)");
    }

    #[tokio::test]
    async fn the_retry_budget_counts_from_the_first_attempt_not_the_wait_for_a_permit() {
        use aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyError;
        let aws = Aws::connect(&AwsOptions {
            region: Some("us-east-1".into()),
            profile: None,
            endpoint_url: Some("http://127.0.0.1:9".into()),
            parallelism: 1,
        })
        .await;
        let policy = RetryPolicy {
            transient_budget: Duration::from_millis(50),
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            ..RetryPolicy::STANDARD
        };
        // Someone else holds the only permit for longer than the whole budget.
        let held = aws.limits.acquire("s3").await;
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            drop(held);
        });
        let mut calls = 0;
        let r: Result<(), AwsError> = aws
            .call(Op::s3("GetBucketPolicy", "b"), policy, || {
                calls += 1;
                let first = calls == 1;
                async move {
                    if first {
                        Err(
                            SdkError::<GetBucketPolicyError, HttpResponse>::timeout_error(
                                "timed out",
                            ),
                        )
                    } else {
                        Ok(())
                    }
                }
            })
            .await;
        assert!(
            r.is_ok(),
            "the first attempt's fault must be retried: {r:?}"
        );
        assert_eq!(calls, 2);
    }
}
