//! s3ward's own client construction (`s3ward::aws::Aws`) reaches the local moto server:
//! by `--endpoint-url`, by `AWS_ENDPOINT_URL`, with path-style S3, and across accounts.

use std::process::Command;

use aws_sdk_s3::primitives::ByteStream;
use s3ward::aws::{Aws, AwsOptions};

use crate::support::proxy::{Proxy, ProxyRules};
use crate::support::{
    ACCESS_KEY_ID, AMBIENT_ACCOUNT, Cmd, PlanDir, REGION, ambient_credentials, credentials,
    hermetic_env, moto, ok, sdk, unique,
};

const OTHER_ACCOUNT: &str = "111111111111";

/// Set by `endpoint_from_the_environment_reaches_moto` for the child test it runs.
const CHILD_MARKER: &str = "S3WARD_TEST_WIRING_CHILD";

async fn connect(endpoint: &str) -> Aws {
    Aws::connect(&AwsOptions {
        region: Some(REGION.to_string()),
        profile: None,
        endpoint_url: Some(endpoint.to_string()),
        parallelism: 4,
    })
    .await
}

#[tokio::test]
async fn endpoint_option_reaches_moto() {
    let moto = moto();
    let aws = connect(&moto.endpoint).await;
    assert_eq!(aws.endpoint_url(), Some(moto.endpoint.as_str()));

    let creds = ambient_credentials();
    let who = ok(aws.sts(Some(&creds)).get_caller_identity().send().await);
    assert_eq!(who.account(), Some(AMBIENT_ACCOUNT));
}

#[tokio::test]
async fn s3_uses_path_style_with_a_custom_endpoint() {
    // Through a recording proxy: the recorded operations are parsed from path-style URLs,
    // and a virtual-hosted request (`BUCKET.127.0.0.1`) would not even resolve.
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let aws = connect(&proxy.endpoint).await;
    let s3 = aws.s3(REGION, Some(&ambient_credentials()));
    let bucket = unique("wiring-path");

    ok(s3.create_bucket().bucket(&bucket).send().await);
    ok(s3
        .put_object()
        .bucket(&bucket)
        .key("models/config.json")
        .body(ByteStream::from_static(b"{}"))
        .send()
        .await);
    let got = ok(s3
        .get_object()
        .bucket(&bucket)
        .key("models/config.json")
        .send()
        .await);
    let body = got.body.collect().await.expect("object body").into_bytes();
    assert_eq!(&body[..], b"{}");

    assert_eq!(
        proxy.operation_names(),
        ["CreateBucket", "PutObject", "GetObject"]
    );
}

#[tokio::test]
async fn assume_role_acts_in_the_other_account() {
    let aws = connect(&moto().endpoint).await;
    let ambient = ambient_credentials();
    let assumed = ok(aws
        .sts(Some(&ambient))
        .assume_role()
        .role_arn(format!("arn:aws:iam::{OTHER_ACCOUNT}:role/s3ward"))
        .role_session_name("s3ward-wiring")
        .send()
        .await);
    let c = assumed.credentials().expect("credentials");
    let other = aws_credential_types::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "wiring",
    );

    let who = ok(aws.sts(Some(&other)).get_caller_identity().send().await);
    assert_eq!(who.account(), Some(OTHER_ACCOUNT));

    let bucket = unique("wiring-other");
    ok(aws
        .s3(REGION, Some(&other))
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await);
    let names = |out: aws_sdk_s3::operation::list_buckets::ListBucketsOutput| -> Vec<String> {
        out.buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_string))
            .collect()
    };
    let in_other = names(ok(aws.s3(REGION, Some(&other)).list_buckets().send().await));
    let in_ambient = names(ok(aws
        .s3(REGION, Some(&ambient))
        .list_buckets()
        .send()
        .await));
    assert!(in_other.contains(&bucket), "{in_other:?}");
    assert!(!in_ambient.contains(&bucket), "{in_ambient:?}");
}

#[tokio::test]
async fn harness_clients_act_in_the_requested_account() {
    let ambient = sdk(None).await;
    let who = ok(ambient.sts.get_caller_identity().send().await);
    assert_eq!(who.account(), Some(AMBIENT_ACCOUNT));

    let other = sdk(Some(OTHER_ACCOUNT)).await;
    let who = ok(other.sts.get_caller_identity().send().await);
    assert_eq!(who.account(), Some(OTHER_ACCOUNT));
    assert_eq!(
        who.arn(),
        Some(format!("arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/s3ward/s3ward-tests").as_str())
    );
    // The same credentials again (a fresh AssumeRole) still act there.
    let again = credentials(Some(OTHER_ACCOUNT)).await;
    let aws = connect(&moto().endpoint).await;
    let who = ok(aws.sts(Some(&again)).get_caller_identity().send().await);
    assert_eq!(who.account(), Some(OTHER_ACCOUNT));
}

/// `AWS_ENDPOINT_URL` without the option: checked in a child process (this test binary
/// again, running only `environment_child`), because tests share one process environment.
#[test]
fn endpoint_from_the_environment_reaches_moto() {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        "wiring::environment_child",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    hermetic_env(&mut cmd, &moto().endpoint);
    cmd.env(CHILD_MARKER, "1");
    let out = cmd.output().expect("run the child test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child test failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

#[tokio::test]
#[ignore = "run by endpoint_from_the_environment_reaches_moto in a child process"]
async fn environment_child() {
    if std::env::var_os(CHILD_MARKER).is_none() {
        // Run by hand (`--include-ignored`): without the parent's hermetic environment this
        // would talk to whatever AWS the environment names. Do nothing.
        return;
    }
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("the parent sets AWS_ENDPOINT_URL");
    // Exactly what the binary does with no options: the standard chain and environment.
    let aws = Aws::connect(&AwsOptions {
        parallelism: 1,
        ..AwsOptions::default()
    })
    .await;
    assert_eq!(aws.endpoint_url(), Some(endpoint.as_str()));
    assert_eq!(aws.default_region(), REGION);

    let who = ok(aws.sts(None).get_caller_identity().send().await);
    assert_eq!(who.account(), Some(AMBIENT_ACCOUNT));

    let s3 = aws.s3(&aws.default_region(), None);
    let bucket = unique("wiring-env");
    ok(s3.create_bucket().bucket(&bucket).send().await);
    ok(s3.head_bucket().bucket(&bucket).send().await);
}

// --- The runner's environment -------------------------------------------------------------

fn env_lines(stdout: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = stdout.lines().collect();
    lines.sort_unstable();
    lines
}

#[test]
fn hermetic_env_removes_what_could_reach_real_aws() {
    let mut cmd = Command::new("env");
    for key in [
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ROLE_ARN",
        "RUST_LOG",
        "CLICOLOR_FORCE",
    ] {
        cmd.env(key, "leaked");
    }
    hermetic_env(&mut cmd, "http://127.0.0.1:9");
    let out = cmd.output().expect("run env");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines = env_lines(&stdout);
    assert!(!stdout.contains("leaked"), "{lines:#?}");
    for expected in [
        "AWS_ENDPOINT_URL=http://127.0.0.1:9".to_string(),
        format!("AWS_ACCESS_KEY_ID={ACCESS_KEY_ID}"),
        format!("AWS_REGION={REGION}"),
        "AWS_EC2_METADATA_DISABLED=true".to_string(),
        "NO_COLOR=1".to_string(),
    ] {
        assert!(
            lines.contains(&expected.as_str()),
            "{expected} missing: {lines:#?}"
        );
    }
    for file in ["AWS_CONFIG_FILE=", "AWS_SHARED_CREDENTIALS_FILE="] {
        let path = lines
            .iter()
            .find_map(|l| l.strip_prefix(file))
            .unwrap_or_else(|| panic!("{file} not set: {lines:#?}"));
        assert!(!std::path::Path::new(path).exists(), "{path} exists");
    }
}

#[test]
fn runner_points_programs_at_moto_and_lets_tests_override() {
    let run = Cmd::new("env", &[]).env("AWS_REGION", "eu-west-1").run();
    assert_eq!(run.code, 0, "{run}");
    let lines = env_lines(&run.stdout);
    let endpoint = format!("AWS_ENDPOINT_URL={}", moto().endpoint);
    assert!(lines.contains(&endpoint.as_str()), "{lines:#?}");
    assert!(lines.contains(&"AWS_REGION=eu-west-1"), "{lines:#?}");
}

#[test]
fn runner_feeds_stdin_and_captures_a_terminal_session() {
    let dir = PlanDir::new();
    let plan = dir.write("plans/p.toml", "version = 1\n");
    assert_eq!(std::fs::read_to_string(&plan).unwrap(), "version = 1\n");
    let script = "read answer; echo \"answer: $answer\"; cat plans/p.toml; \
                  echo \"$PWD at $AWS_ENDPOINT_URL\" >&2; exit 3";
    let run = Cmd::new("sh", &["-c", script])
        .current_dir(dir.path())
        .stdin("yes\n")
        .run();
    assert_eq!(run.code, 3, "{run}");
    assert_eq!(run.stdout, "answer: yes\nversion = 1\n");
    assert_eq!(
        run.snapshot_text(),
        "exit: 3\n--- stdout\nanswer: yes\nversion = 1\n--- stderr\n\
         [TMP] at http://127.0.0.1:[PORT]\n"
    );

    // Without .stdin(), stdin is empty, as in CI.
    let run = Cmd::new("sh", &["-c", "cat; echo done"]).run();
    assert_eq!((run.code, run.stdout.as_str()), (0, "done\n"));
}

/// `scripts/local-aws.sh` (the README's realistic local trial) starts the stricter server,
/// prints the endpoint to export, serves the test hooks, and stops when its stdin closes.
#[test]
fn the_local_aws_script_serves_the_stricter_server_until_its_input_closes() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::Stdio;

    let root = env!("CARGO_MANIFEST_DIR");
    let mut child = Command::new("bash")
        .arg(format!("{root}/scripts/local-aws.sh"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start scripts/local-aws.sh");
    // A script that never ends must fail this test, not hang the suite.
    let pid = child.id();
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let finished = finished.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(120));
            if !finished.load(std::sync::atomic::Ordering::SeqCst) {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
        })
    };
    drop(watchdog);
    let stdout = child.stdout.take().expect("stdout");
    let mut endpoint = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        if let Some(e) = line.strip_prefix("export AWS_ENDPOINT_URL=") {
            endpoint = Some(e.to_string());
            break;
        }
    }
    let endpoint = endpoint.expect("the script printed the endpoint to export");
    let host = endpoint.strip_prefix("http://").expect("an http endpoint");
    let mut conn = std::net::TcpStream::connect(host).expect("the server listens");
    write!(conn, "GET /_s3ward/health HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
    // Closing its input (Ctrl-D, or the terminal going away) stops it.
    drop(child.stdin.take());
    let status = child.wait().expect("the script ends");
    finished.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(
        status.success(),
        "{status:?} (killed after 120 s if it did not end)"
    );
}
