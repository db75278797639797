//! An AWS API failure as plain data: service, operation, error code, message, HTTP status,
//! attempts. What a person needs to act on it, and what the retry loop needs to decide
//! (transient or not). No SDK types here: `aws` builds these from the SDK's errors
//! (`AwsError::from_sdk`), and everything else — the error report, the apply report, the
//! executor — reads them without depending on the AWS door.

/// An AWS API failure, with what a person needs to act on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsError {
    pub service: &'static str,
    pub operation: &'static str,
    /// The AWS error code (`NoSuchBucket`, `AccessDenied`, ...), when the service sent one.
    pub code: Option<String>,
    pub message: String,
    pub status: Option<u16>,
    /// How many attempts were made, when more than one.
    pub attempts: u32,
    /// No response at all: connection refused or dropped, timeout.
    pub no_response: bool,
}

/// Whether an error's text says the SDK found no usable credentials (never worth a retry).
fn is_credentials_failure(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("loading credentials")
        || m.contains("no credentials")
        || m.contains("credentials provider")
        || m.contains("failed to load credentials")
}

const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "RequestThrottled",
    "PriorRequestNotComplete",
    "ServiceUnavailable",
    "InternalError",
    "OperationAborted",
    "RequestTimeout",
    "RequestTimeoutException",
    "IDPCommunicationError",
    "ConcurrentModification",
];

impl AwsError {
    /// Whether the same request may succeed later without anything else changing.
    pub fn is_transient(&self) -> bool {
        if self.is_credentials_failure() {
            return false;
        }
        if self.no_response {
            return true;
        }
        if let Some(code) = &self.code
            && THROTTLING_CODES.contains(&code.as_str())
        {
            return true;
        }
        match self.status {
            Some(s) => s >= 500 || s == 429,
            // A response we could not parse (a proxy cut it short) is worth another try.
            None => self.code.is_none(),
        }
    }

    /// AWS said to slow down (a throttling code, HTTP 429, or S3's 503 SlowDown).
    pub fn is_throttling(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| THROTTLING_CODES.contains(&c))
            || self.status == Some(429)
    }

    /// The SDK could not find usable credentials.
    pub fn is_credentials_failure(&self) -> bool {
        self.code.is_none() && is_credentials_failure(&self.message)
    }

    pub fn code_is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    pub(super) fn exhausted(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    /// `NoSuchBucket (404)` or `connection failed`: for logs.
    pub fn short(&self) -> String {
        match (&self.code, self.status) {
            (Some(c), Some(s)) => format!("{c} ({s})"),
            (Some(c), None) => c.clone(),
            (None, Some(s)) => format!("HTTP {s}"),
            (None, None) => self.message.clone(),
        }
    }
}

impl AwsError {
    /// `S3`, `IAM`, `STS`.
    pub fn service_name(&self) -> &'static str {
        match self.service {
            "s3" => "S3",
            "iam" => "IAM",
            "sts" => "STS",
            "eks" => "EKS",
            other => other,
        }
    }

    /// `S3 PutBucketPolicy failed: AccessDenied: Access Denied`: the whole story in one line.
    pub fn describe(&self) -> String {
        format!("{} {} failed: {self}", self.service_name(), self.operation)
    }
}

/// `AccessDenied: Access Denied (after 3 attempts)`: the code and message; the operation is
/// said by whoever reports it.
impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.message)?,
            None => write!(f, "{}", self.message)?,
        }
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

impl std::error::Error for AwsError {}
