//! Every user-facing error, as the person at the terminal sees it: one short test per
//! message, each an `insta` snapshot of exit code, stdout and stderr (just's
//! `tests/error_messages.rs` is the model). A changed word shows up in review as a changed
//! snapshot.
//!
//! Messages already snapshotted elsewhere are not repeated here: an invalid plan file with
//! several problems (`validate`), a failed apply (`apply`), saved plans that do not match
//! their plan file (`apply`). These tests own no behaviour beyond the words: what each
//! refusal leaves untouched is proved by the tests of its command.
//!
//! Names that differ per run (buckets, accounts) are filtered to `[BUCKET]` and the like;
//! ports and temporary directories are filtered by [`Run::snapshot_text`].

use crate::support::fixtures::{
    LOCK_KEY, PLAN, account, create_bucket, held_by_alice, set_bucket_tags,
};
use crate::support::proxy::{Fault, Proxy, ProxyRules, Rule};
use crate::support::{AMBIENT_ACCOUNT, Cmd, PlanDir, Run, moto, ok, sdk, unique};

/// One bucket in the ambient account, named uniquely; the plan directory holds it as
/// [`PLAN`].
struct Case {
    dir: PlanDir,
    bucket: String,
}

impl Case {
    fn new(prefix: &str) -> Case {
        Case::with(prefix, "")
    }

    /// `settings` lines go into `[settings]`, `bucket` lines into `[buckets.weights]`.
    fn with_lines(prefix: &str, settings: &str, bucket: &str) -> Case {
        let name = unique(prefix);
        let dir = PlanDir::new();
        dir.write(
            PLAN,
            &format!(
                "version = 1\n\n[settings]\nname = \"errors\"\n{settings}\n\
                 [accounts.main]\nid = \"{AMBIENT_ACCOUNT}\"\n\n\
                 [buckets.weights]\naccount = \"main\"\nname = \"{name}\"\n{bucket}"
            ),
        );
        Case { dir, bucket: name }
    }

    fn with(prefix: &str, bucket: &str) -> Case {
        Case::with_lines(prefix, "", bucket)
    }

    /// `s3ward ARGS...` in the plan directory, with the bucket's name filtered.
    fn s3ward(&self, args: &[&str]) -> Cmd {
        self.dir.s3ward(args).filter(&self.bucket, "[BUCKET]")
    }
}

async fn failed(cmd: Cmd) -> Run {
    let run = cmd.run_async().await;
    assert_ne!(run.code, 0, "{run}");
    run
}

// --- Usage ---------------------------------------------------------------------------------

#[test]
fn unknown_flag() {
    let run = crate::support::s3ward(&["plan", "--bogus", PLAN]).run();
    insta::assert_snapshot!(run.snapshot_text());
}

/// Usage errors exit 1 (2 means "differences"); asking for help or the version is no error.
#[test]
fn help_and_version_exit_0() {
    for args in [&["--help"][..], &["--version"], &["plan", "--help"]] {
        let run = crate::support::s3ward(args).run();
        assert_eq!(run.code, 0, "{run}");
    }
}

/// Without `AWS_ENDPOINT_URL`: clap lists arguments given by environment variable in its
/// usage line, so the harness's endpoint would show up as `--endpoint-url <URL>`.
#[test]
fn apply_without_a_plan_file() {
    let run = crate::support::s3ward(&["apply"])
        .env_remove("AWS_ENDPOINT_URL")
        .run();
    insta::assert_snapshot!(run.snapshot_text());
}

#[tokio::test]
async fn target_that_is_not_an_address() {
    let t = Case::new("em-target-bad");
    let run = failed(t.s3ward(&["plan", "--target", "weights", PLAN])).await;
    insta::assert_snapshot!(run.snapshot_text());
}

#[tokio::test]
async fn target_that_names_nothing_in_the_plan_file() {
    let t = Case::new("em-target-unknown");
    let run = failed(t.s3ward(&["plan", "--target", "bucket.logs", PLAN])).await;
    insta::assert_snapshot!(run.snapshot_text());
}

#[test]
fn import_account_that_is_not_an_account_id() {
    let run = crate::support::s3ward(&["import", "--account", "1234", "--bucket", "b-1"]).run();
    insta::assert_snapshot!(run.snapshot_text());
}

#[test]
fn import_account_key_that_is_not_a_key() {
    let run = crate::support::s3ward(&[
        "import",
        "--account",
        AMBIENT_ACCOUNT,
        "--account-key",
        "my account",
        "--bucket",
        "b-1",
    ])
    .run();
    insta::assert_snapshot!(run.snapshot_text());
}

/// With several accounts, order decides which account a resource is in: one before any
/// `--account` is refused in the words of the flags.
#[test]
fn import_resource_before_any_account() {
    let run = crate::support::s3ward(&[
        "import",
        "--bucket",
        "b-1",
        "--account",
        "111111111111",
        "--role",
        "r",
    ])
    .run();
    insta::assert_snapshot!(run.snapshot_text());
}

#[test]
fn import_assume_role_in_another_account() {
    let run = crate::support::s3ward(&[
        "import",
        "--account",
        AMBIENT_ACCOUNT,
        "--assume-role",
        "arn:aws:iam::111111111111:role/s3ward",
        "--bucket",
        "b-1",
    ])
    .run();
    insta::assert_snapshot!(run.snapshot_text());
}

/// No plan file exists yet during `import`: the message speaks of its flags, not of an
/// `[accounts.KEY]` entry.
#[tokio::test]
async fn import_of_another_account_without_assume_role() {
    let other = account();
    let run = failed(
        crate::support::s3ward(&["import", "--account", &other, "--bucket", "b-1"])
            .filter(&other, "[ACCOUNT]"),
    )
    .await;
    insta::assert_snapshot!(run.snapshot_text());
}

#[test]
fn import_bucket_name_that_s3_would_refuse() {
    let run =
        crate::support::s3ward(&["import", "--account", AMBIENT_ACCOUNT, "--bucket", "B_1"]).run();
    insta::assert_snapshot!(run.snapshot_text());
}

#[test]
fn import_role_name_with_a_path() {
    let run = crate::support::s3ward(&[
        "import",
        "--account",
        AMBIENT_ACCOUNT,
        "--role",
        "service/reader",
    ])
    .run();
    insta::assert_snapshot!(run.snapshot_text());
}

#[tokio::test]
async fn import_of_what_is_not_there() {
    let bucket = unique("em-import-missing");
    let run = failed(
        crate::support::s3ward(&["import", "--account", AMBIENT_ACCOUNT, "--bucket", &bucket])
            .filter(&bucket, "[BUCKET]"),
    )
    .await;
    insta::assert_snapshot!(run.snapshot_text());
}

#[test]
fn import_over_an_existing_file() {
    let dir = PlanDir::new();
    dir.write("imported.toml", "# mine\n");
    let run = dir
        .s3ward(&[
            "import",
            "--account",
            AMBIENT_ACCOUNT,
            "--bucket",
            "b-1",
            "--out",
            "imported.toml",
        ])
        .run();
    insta::assert_snapshot!(run.snapshot_text());
}

// --- The plan file -------------------------------------------------------------------------

#[test]
fn plan_file_that_does_not_exist() {
    let dir = PlanDir::new();
    let run = dir.s3ward(&["plan", "nope.toml"]).run();
    insta::assert_snapshot!(run.snapshot_text());
}

#[test]
fn plan_file_that_is_not_utf8() {
    let dir = PlanDir::new();
    std::fs::write(dir.path().join(PLAN), b"version = 1\n# caf\xe9\n").expect("write");
    let run = dir.s3ward(&["validate", PLAN]).run();
    insta::assert_snapshot!(run.snapshot_text());
}

#[test]
fn plan_file_with_one_toml_error() {
    let dir = PlanDir::new();
    dir.write(PLAN, "version = 1\n[accounts.a]\nid = \"1\n");
    let run = dir.s3ward(&["validate", PLAN]).run();
    insta::assert_snapshot!(run.snapshot_text());
}

// --- Credentials and accounts --------------------------------------------------------------

#[tokio::test]
async fn no_credentials() {
    let t = Case::new("em-no-creds");
    let run = failed(
        t.s3ward(&["plan", PLAN])
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY"),
    )
    .await;
    insta::assert_snapshot!(run.snapshot_text());
}

#[tokio::test]
async fn credentials_for_another_account() {
    let dir = PlanDir::new();
    let other = account();
    dir.write(
        PLAN,
        &format!(
            "version = 1\n\n[accounts.storage]\nid = \"{other}\"\n\n\
             [buckets.weights]\naccount = \"storage\"\nname = \"{}\"\n",
            unique("em-other-account")
        ),
    );
    let run = failed(dir.s3ward(&["plan", PLAN]).filter(&other, "[ACCOUNT]")).await;
    insta::assert_snapshot!(run.snapshot_text());
}

// --- AWS answers ---------------------------------------------------------------------------

#[tokio::test]
async fn access_denied_names_the_resource_and_the_permission() {
    let t = Case::new("em-denied");
    create_bucket(&sdk(None).await.s3, &t.bucket).await;
    let proxy = Proxy::start(
        &moto().endpoint,
        ProxyRules::none().with(Rule::new(Fault::AccessDenied).operation("GetBucketPolicy")),
    );
    let run = failed(
        t.s3ward(&["plan", PLAN])
            .env("AWS_ENDPOINT_URL", &proxy.endpoint),
    )
    .await;
    insta::assert_snapshot!(run.snapshot_text());
}

#[tokio::test]
async fn nothing_answers_at_the_endpoint() {
    let t = Case::new("em-no-answer");
    // Port 9 (discard): nothing listens on loopback, so every connection is refused.
    let run = failed(
        t.s3ward(&["plan", PLAN])
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    )
    .await;
    insta::assert_snapshot!(run.snapshot_text());
}

#[tokio::test]
async fn plan_with_problems() {
    let t = Case::with("em-problems", "create = false\n");
    let run = failed(t.s3ward(&["plan", PLAN])).await;
    insta::assert_snapshot!(run.snapshot_text());
}

// --- Apply refusals ------------------------------------------------------------------------

#[tokio::test]
async fn apply_without_a_terminal() {
    let t = Case::new("em-no-terminal");
    let run = failed(t.s3ward(&["apply", PLAN])).await;
    insta::assert_snapshot!(run.snapshot_text());
}

#[tokio::test]
async fn apply_when_the_lock_is_held() {
    let lock_bucket = unique("em-lock-held");
    let t = Case::with_lines(
        "em-lock-held-b",
        &format!("lock = \"s3://{lock_bucket}/{LOCK_KEY}\"\n"),
        "",
    );
    let s3 = sdk(None).await.s3;
    create_bucket(&s3, &lock_bucket).await;
    put_object(&s3, &lock_bucket, &held_by_alice()).await;
    let run = failed(
        t.s3ward(&["apply", "--auto-approve", PLAN])
            .filter(&lock_bucket, "[LOCK_BUCKET]"),
    )
    .await;
    insta::assert_snapshot!(run.snapshot_text());
}

#[tokio::test]
async fn apply_when_the_lock_key_holds_something_else() {
    let lock_bucket = unique("em-not-a-lock");
    let t = Case::with_lines(
        "em-not-a-lock-b",
        &format!("lock = \"s3://{lock_bucket}/{LOCK_KEY}\"\n"),
        "",
    );
    let s3 = sdk(None).await.s3;
    create_bucket(&s3, &lock_bucket).await;
    put_object(&s3, &lock_bucket, "release notes, not a lock\n").await;
    let run = failed(
        t.s3ward(&["apply", "--auto-approve", PLAN])
            .filter(&lock_bucket, "[LOCK_BUCKET]"),
    )
    .await;
    insta::assert_snapshot!(run.snapshot_text());
}

async fn put_object(s3: &aws_sdk_s3::Client, bucket: &str, text: &str) {
    ok(s3
        .put_object()
        .bucket(bucket)
        .key(LOCK_KEY)
        .body(text.as_bytes().to_vec().into())
        .send()
        .await);
}

// --- Saved plans ---------------------------------------------------------------------------

#[tokio::test]
async fn saved_plan_written_where_no_directory_is() {
    let t = Case::new("em-write-out");
    let run = failed(t.s3ward(&["plan", "--out", "no/such/dir/saved.json", PLAN])).await;
    insta::assert_snapshot!(run.snapshot_text());
}

#[test]
fn saved_plan_that_does_not_exist() {
    let dir = PlanDir::new();
    let run = dir.s3ward(&["apply", "--saved", "saved.json"]).run();
    insta::assert_snapshot!(run.snapshot_text());
}

#[test]
fn saved_plan_that_is_not_a_saved_plan() {
    let dir = PlanDir::new();
    dir.write("saved.json", "{\"plan\": \"not really\"}\n");
    let run = dir.s3ward(&["apply", "--saved", "saved.json"]).run();
    insta::assert_snapshot!(run.snapshot_text());
}

#[tokio::test]
async fn saved_plan_made_stale_by_a_change_in_aws() {
    let t = Case::new("em-stale");
    let saved = t
        .s3ward(&["plan", "--out", "saved.json", PLAN])
        .run_async()
        .await;
    assert_eq!(saved.code, 0, "{saved}");
    // Someone creates the bucket between review and apply.
    create_bucket(&sdk(None).await.s3, &t.bucket).await;
    let run = failed(t.s3ward(&["apply", "--saved", "saved.json"])).await;
    insta::assert_snapshot!(run.snapshot_text());
}

#[tokio::test]
async fn saved_plan_applied_already() {
    let t = Case::with("em-reapplied", "bucket_acl = \"private\"\n");
    let saved = t
        .s3ward(&["plan", "--out", "saved.json", PLAN])
        .run_async()
        .await;
    assert_eq!(saved.code, 0, "{saved}");
    let applied = t
        .s3ward(&["apply", "--saved", "saved.json"])
        .run_async()
        .await;
    assert_eq!(applied.code, 0, "{applied}");
    // The same saved plan again (a CI job re-run): nobody changed AWS, the plan was applied.
    let run = failed(t.s3ward(&["apply", "--saved", "saved.json"])).await;
    insta::assert_snapshot!(run.snapshot_text());
}

#[tokio::test]
async fn saved_plan_made_stale_by_an_unmanaged_tag() {
    let t = Case::with("em-stale-tag", "bucket_acl = \"private\"\n");
    create_bucket(&sdk(None).await.s3, &t.bucket).await;
    let saved = t
        .s3ward(&["plan", "--out", "saved.json", PLAN])
        .run_async()
        .await;
    assert_eq!(saved.code, 0, "{saved}");
    // Someone tags the bucket by hand; the plan file manages no tags.
    let tags = std::collections::BTreeMap::from([("cost-center".to_string(), "42".to_string())]);
    set_bucket_tags(&sdk(None).await.s3, &t.bucket, &tags).await;
    let run = failed(t.s3ward(&["apply", "--saved", "saved.json"])).await;
    insta::assert_snapshot!(run.snapshot_text());
}
