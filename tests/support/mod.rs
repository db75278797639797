//! Test support for s3ward's integration tests: a local AWS (moto, with a strictness layer),
//! SDK clients pointed at it, a runner for the `s3ward` binary, and a recording,
//! fault-injecting proxy ([`proxy`]); and what the command tests share ([`fixtures`]).
//!
//! One moto server serves the whole test process ([`moto`]); tests keep apart by naming
//! their buckets and roles with [`unique`], so they can all run in parallel (and under
//! nextest, where every test is its own process with its own server).
//!
//! Nothing here reads the user's AWS configuration: clients are built from explicit
//! settings, and the binary runs with a scrubbed environment ([`hermetic_env`]).
//! See `docs/testing.md`.

// A library for many test modules: not every module uses every helper.
#![allow(dead_code)]

pub mod cli;
pub mod fixtures;
pub mod json_doc;
pub mod plans;
pub mod proxy;

// `s3ward` and `Run` are for the command tests; nothing uses them until the commands exist.
#[allow(unused_imports)]
pub use cli::{Cmd, PlanDir, Run, s3ward};

use std::fmt::Debug;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_sdk_s3::config::BehaviorVersion;
use aws_sdk_s3::config::Region;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The account that moto maps the ambient test credentials to (moto's default account).
pub const AMBIENT_ACCOUNT: &str = "123456789012";
/// The region of every test client and of the binary's environment.
pub const REGION: &str = "us-east-1";
/// Static fake credentials: moto accepts any key it does not know as [`AMBIENT_ACCOUNT`].
pub const ACCESS_KEY_ID: &str = "AKIATESTS3WARD000001";
pub const SECRET_ACCESS_KEY: &str = "s3ward-test-secret-access-key";
/// The canonical user id moto gives every account (it owns every bucket and object).
pub const MOTO_OWNER_ID: &str = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a";
/// A request header that sets the server's principal propagation delay (seconds) for that
/// request alone, e.g. `3600` to make a just-created role deterministically "too new".
pub const PRINCIPAL_DELAY_HEADER: &str = "x-s3ward-principal-delay";
/// The role that [`sdk`] assumes to act in another account.
pub const CROSS_ACCOUNT_ROLE: &str = "s3ward";

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The moto server of this test process.
pub struct Moto {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    pub port: u16,
    /// How long after its creation an IAM role or user is accepted as a policy principal
    /// (`S3WARD_TEST_PRINCIPAL_DELAY`, default 2 s). Tests that need a propagated principal
    /// sleep a little longer than this.
    pub principal_delay: Duration,
    /// The server exits when this pipe closes, that is when the test process exits.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

/// Starts the moto server on first use (installing it if needed) and returns it.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(start_moto)
}

fn start_moto() -> Moto {
    let root = Path::new(ROOT);
    ensure_moto_installed(root);
    let principal_delay = std::env::var("S3WARD_TEST_PRINCIPAL_DELAY")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(Duration::from_secs(2), Duration::from_secs_f64);
    let mut child = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("tests/support/moto_server.py"))
        .current_dir(root)
        // The server must map credentials to accounts itself (see AMBIENT_ACCOUNT).
        .env_remove("MOTO_ACCOUNT_ID")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {ROOT}/.venv/bin/python: {e}"));
    let stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");

    // Read `PORT n` on a thread, so that a server that hangs fails the test instead.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(STARTUP_TIMEOUT)
        .unwrap_or_else(|_| panic!("moto server printed no port within {STARTUP_TIMEOUT:?}"));
    let port: u16 = line
        .strip_prefix("PORT ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| {
            let status = child.try_wait().ok().flatten();
            panic!("moto server did not start (status {status:?}); its first line: {line:?}")
        });

    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        match http_request(port, "GET", "/_s3ward/health", None) {
            Ok((200, _)) => break,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            other => panic!("moto server on port {port} is not healthy: {other:?}"),
        }
    }
    Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        port,
        principal_delay,
        _stdin: Mutex::new(stdin),
        _child: Mutex::new(child),
    }
}

/// Runs `scripts/setup-moto.sh` when the venv or its stamp is missing. Test binaries (and
/// nextest's one-process-per-test) may get here at once: an exclusive lock serialises them,
/// and the script itself leaves a complete install alone.
fn ensure_moto_installed(root: &Path) {
    let installed =
        || root.join(".venv/bin/python").exists() && root.join(".venv/.s3ward-moto").exists();
    if installed() {
        return;
    }
    let lock_path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("setup-moto.lock");
    std::fs::create_dir_all(lock_path.parent().expect("lock file has a parent"))
        .expect("create the lock file's directory");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .unwrap_or_else(|e| panic!("open {}: {e}", lock_path.display()));
    let mut lock = fd_lock::RwLock::new(file);
    let _guard = lock.write().expect("lock setup-moto.lock");
    if installed() {
        return;
    }
    let status = Command::new("bash")
        .arg(root.join("scripts/setup-moto.sh"))
        .current_dir(root)
        .status()
        .expect("run scripts/setup-moto.sh");
    assert!(
        status.success(),
        "scripts/setup-moto.sh failed ({status}); the integration tests need moto in .venv"
    );
}

impl Moto {
    /// Makes `owner_id` (64 hex digits) the owner of an existing object, as if another
    /// account had uploaded it without `bucket-owner-full-control`.
    pub fn set_object_owner(&self, bucket: &str, key: &str, owner_id: &str, display_name: &str) {
        let body = serde_json::json!({
            "bucket": bucket,
            "key": key,
            "owner_id": owner_id,
            "display_name": display_name,
        })
        .to_string();
        let (status, text) = http_request(self.port, "POST", "/_s3ward/object-owner", Some(&body))
            .expect("call the object-owner hook");
        assert_eq!(status, 200, "object-owner hook: {text}");
    }
}

/// A minimal HTTP/1.1 exchange for the test hooks (no SDK involved).
fn http_request(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {response:?}")))?;
    let text = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, text))
}

/// A name unique to this call and this process, valid as an S3 bucket name and an IAM role
/// name: `prefix-<pid base36>-<counter base36>`, lowercase, at most 40 characters.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tail = format!("-{}-{}", base36(std::process::id()), base36(n));
    let mut name: String = prefix
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-') => c,
            _ => '-',
        })
        .collect();
    name.truncate(40 - tail.len());
    let name = name.trim_matches('-');
    let name = if name.is_empty() { "t" } else { name };
    format!("{name}{tail}")
}

fn base36(mut n: u32) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ascii")
}

/// The static fake credentials of [`AMBIENT_ACCOUNT`].
pub fn ambient_credentials() -> Credentials {
    Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None, None, "s3ward-tests")
}

/// Credentials for `account`: the ambient ones for `None` or [`AMBIENT_ACCOUNT`], otherwise
/// from STS AssumeRole into `arn:aws:iam::ACCOUNT:role/s3ward` (moto lets any role be
/// assumed, and its credentials then act in that account).
pub async fn credentials(account: Option<&str>) -> Credentials {
    let account = match account {
        None => return ambient_credentials(),
        Some(a) if a == AMBIENT_ACCOUNT => return ambient_credentials(),
        Some(a) => a,
    };
    assert!(
        account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()),
        "not an account id: {account:?}"
    );
    let sts = sts_client(&moto().endpoint, ambient_credentials());
    let out = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/{CROSS_ACCOUNT_ROLE}"))
        .role_session_name("s3ward-tests")
        .send()
        .await
        .unwrap_or_else(|e| panic!("AssumeRole into {account}: {}", DisplayErrorContext(&e)));
    let c = out.credentials().expect("AssumeRole returns credentials");
    Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "s3ward-tests-assumed",
    )
}

/// SDK clients for one account, for test setup and checks.
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub account: String,
    pub credentials: Credentials,
}

/// Clients that talk to moto, acting in `account` (`None`: the ambient account).
pub async fn sdk(account: Option<&str>) -> Clients {
    sdk_at(&moto().endpoint, account).await
}

/// Clients that talk to `endpoint` (a [`proxy::Proxy`], say) with credentials for
/// `account`. The credentials themselves come from moto directly.
///
/// The clients are hermetic (no environment, no profile files), use path-style S3, and do
/// not retry, so a test sees exactly what the server answered.
pub async fn sdk_at(endpoint: &str, account: Option<&str>) -> Clients {
    let credentials = credentials(account).await;
    Clients {
        s3: s3_client(endpoint, credentials.clone()),
        iam: iam_client(endpoint, credentials.clone()),
        sts: sts_client(endpoint, credentials.clone()),
        account: account.unwrap_or(AMBIENT_ACCOUNT).to_string(),
        credentials,
    }
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .operation_timeout(Duration::from_secs(60))
        .build()
}

pub fn s3_client(endpoint: &str, credentials: Credentials) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .force_path_style(true)
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts())
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

pub fn iam_client(endpoint: &str, credentials: Credentials) -> aws_sdk_iam::Client {
    let conf = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts())
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

pub fn sts_client(endpoint: &str, credentials: Credentials) -> aws_sdk_sts::Client {
    let conf = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts())
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

/// What an AWS service answered when it refused a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceError {
    pub code: String,
    pub message: String,
    pub status: u16,
}

/// The service error of a call that must fail; panics (showing what happened) when the
/// call succeeded or failed without an answer from the service.
pub fn service_error<T, E>(result: Result<T, SdkError<E, HttpResponse>>) -> ServiceError
where
    T: Debug,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(v) => panic!("expected an AWS error, got success: {v:?}"),
        Err(SdkError::ServiceError(se)) => ServiceError {
            code: se.err().code().unwrap_or_default().to_string(),
            message: se.err().message().unwrap_or_default().to_string(),
            status: se.raw().status().as_u16(),
        },
        Err(other) => panic!(
            "expected a service error, got: {}",
            DisplayErrorContext(&other)
        ),
    }
}

/// Unwraps an SDK result, showing the whole error chain when it failed.
pub fn ok<T, E>(result: Result<T, SdkError<E, HttpResponse>>) -> T
where
    E: std::error::Error + Send + Sync + 'static,
{
    result.unwrap_or_else(|e| panic!("AWS call failed: {}", DisplayErrorContext(&e)))
}

/// Scrubs a command's environment of everything that could point the AWS SDK at real
/// AWS or the user's configuration, then points it at `endpoint` with the fake ambient
/// credentials. Used by the binary runner and by tests that re-run this test binary.
pub fn hermetic_env(cmd: &mut Command, endpoint: &str) {
    let inherited = std::env::vars_os().map(|(k, _)| k);
    let set_on_cmd: Vec<_> = cmd.get_envs().map(|(k, _)| k.to_owned()).collect();
    for key in inherited.chain(set_on_cmd) {
        let Some(key) = key.to_str() else { continue };
        if key.starts_with("AWS_")
            || matches!(
                key,
                "RUST_LOG" | "NO_COLOR" | "CLICOLOR" | "CLICOLOR_FORCE" | "FORCE_COLOR" | "COLUMNS"
            )
        {
            cmd.env_remove(key);
        }
    }
    // Files that do not exist: no profile, no shared credentials.
    let nowhere = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-aws-config");
    cmd.env("AWS_CONFIG_FILE", nowhere.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", nowhere.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
        .env("AWS_REGION", REGION)
        .env("NO_COLOR", "1");
}
