//! `s3ward drift`: each test applies a plan file with the binary, then changes AWS with the
//! SDK (drift) or the plan file (pending), and checks the report, its labels and the exit
//! code (0 in sync, 2 differs, 1 error). Drift never writes: the runs that matter go through
//! a recording proxy and every recorded operation must be a read.
//!
//! Also here, because they are what users copy: the markdown that CI posts stays within
//! GitHub's comment limit, every YAML file under `examples/` parses and says what the docs
//! promise, and the cron wrapper `examples/cron/s3ward-drift.sh` alerts on drift (and on
//! errors) and only then.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use aws_sdk_s3::types::ObjectOwnership;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::support::cli::Cmd;
use crate::support::fixtures::{
    FOREIGN_OWNER_ID, PLAN, account, apply, assert_only_reads, attach_policy, bucket_tags,
    grant_read_acl, json_of, last_line, live_policy, put_policy, put_role_policy, replace,
    role_tags, set_bucket_tags, set_ownership, set_public_access_block, sha256_hex,
};
use crate::support::json_doc;
use crate::support::plans::{S3_READ_ONLY, main_account};
use crate::support::proxy::{Proxy, ProxyRules};
use crate::support::{Clients, PlanDir, Run, moto, ok, sdk, unique};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// GitHub refuses a comment body longer than this.
const GITHUB_COMMENT_LIMIT: usize = 65_536;
/// What `examples/github-actions/plan.yml` adds around s3ward's markdown (marker, header,
/// footer with the run link) must fit in what s3ward leaves free under the limit.
const WORKFLOW_FRAME: usize = 1_000;

// --- Setup ---------------------------------------------------------------------------------

/// One bucket and one role that reads part of it, in an account of the test's own.
struct World {
    dir: PlanDir,
    account: String,
    bucket: String,
    role: String,
    aws: Clients,
}

impl World {
    async fn new(prefix: &str) -> World {
        let account = account();
        let aws = sdk(Some(&account)).await;
        World {
            dir: PlanDir::new(),
            bucket: unique(&format!("{prefix}-b")),
            role: unique(&format!("{prefix}-r")),
            account,
            aws,
        }
    }

    /// The plan file: the base below, then `extra` (more TOML, appended).
    fn plan_text(&self, extra: &str) -> String {
        let World {
            account,
            bucket,
            role,
            ..
        } = self;
        format!(
            r#"version = 1

[accounts.main]
id = "{account}"
assume_role = "arn:aws:iam::{account}:role/s3ward"

[roles.reader]
account = "main"
name = "{role}"
description = "reads models"
tags = {{ team = "ml" }}
trust = [{{ service = "ec2.amazonaws.com" }}]
managed_policies = []

[buckets.models]
account = "main"
name = "{bucket}"
object_ownership = "BucketOwnerEnforced"
block_public_access = true
tags = {{ team = "ml" }}

[[buckets.models.grants]]
to = "role.reader"
access = "read"
prefixes = ["llama/"]
{extra}"#
        )
    }

    fn write(&self, extra: &str) -> String {
        let text = self.plan_text(extra);
        self.dir.write(PLAN, &text);
        text
    }

    /// The same, with `from` replaced by `to` in the base.
    fn write_replacing(&self, extra: &str, from: &str, to: &str) -> String {
        let text = replace(&self.plan_text(extra), from, to);
        self.dir.write(PLAN, &text);
        text
    }

    /// Writes the base plan file and applies it.
    async fn applied(prefix: &str) -> World {
        let w = World::new(prefix).await;
        w.write("");
        apply(&w.dir, None).await;
        w
    }

    /// `s3ward drift ARGS... plan.toml` through a recording proxy; every operation must be
    /// a read.
    async fn drift(&self, args: &[&str]) -> Run {
        let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
        let mut all = vec!["drift"];
        all.extend_from_slice(args);
        all.push(PLAN);
        let run = self
            .dir
            .s3ward(&all)
            .env("AWS_ENDPOINT_URL", &proxy.endpoint)
            .filter(&self.bucket, "[BUCKET]")
            .filter(&self.role, "[ROLE]")
            .filter(&self.account, "[ACCOUNT]")
            .run_async()
            .await;
        assert_only_reads(&proxy, &run);
        run
    }

    async fn drift_json(&self) -> (Run, Value) {
        let run = self.drift(&["--format", "json"]).await;
        let report = json_of(&run);
        (run, report)
    }

    // Out-of-band changes, as a person in the console would make them.

    async fn set_ownership(&self, o: ObjectOwnership) {
        set_ownership(&self.aws.s3, &self.bucket, o).await;
    }

    async fn open_public_access_block(&self) {
        set_public_access_block(&self.aws.s3, &self.bucket, [false; 4]).await;
    }

    /// Adds a statement to the live bucket policy.
    async fn add_policy_statement(&self) {
        let mut policy = live_policy(&self.aws.s3, &self.bucket).await;
        policy["Statement"].as_array_mut().unwrap().push(json!({
            "Sid": "ConsoleEdit",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{}/*", self.bucket),
        }));
        put_policy(&self.aws.s3, &self.bucket, &policy.to_string()).await;
    }

    /// Changes one bucket tag's value, keeping every other tag (as the console does).
    async fn retag_bucket(&self, key: &str, value: &str) {
        let mut tags: BTreeMap<String, String> = bucket_tags(&self.aws.s3, &self.bucket)
            .await
            .into_iter()
            .collect();
        assert!(
            tags.contains_key("s3ward:applied"),
            "apply left no s3ward:applied tag on the bucket: {tags:?}"
        );
        tags.insert(key.into(), value.into());
        set_bucket_tags(&self.aws.s3, &self.bucket, &tags).await;
    }

    /// Grants READ on the bucket to another canonical user (needs ownership other than
    /// BucketOwnerEnforced first, as in AWS).
    async fn grant_acl_to_another_account(&self) {
        grant_read_acl(&self.aws.s3, &self.bucket, FOREIGN_OWNER_ID).await;
    }

    async fn set_trust_service(&self, service: &str) {
        let trust = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
            }],
        });
        ok(self
            .aws
            .iam
            .update_assume_role_policy()
            .role_name(&self.role)
            .policy_document(trust.to_string())
            .send()
            .await);
    }

    async fn attach_managed(&self, arn: &str) {
        attach_policy(&self.aws.iam, &self.role, arn).await;
    }

    async fn delete_grants_policy(&self) {
        ok(self
            .aws
            .iam
            .delete_role_policy()
            .role_name(&self.role)
            .policy_name("s3ward-grants")
            .send()
            .await);
    }

    async fn retag_role(&self, key: &str, value: &str) {
        ok(self
            .aws
            .iam
            .tag_role()
            .role_name(&self.role)
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key(key)
                    .value(value)
                    .build()
                    .unwrap(),
            )
            .send()
            .await);
    }

    async fn set_description(&self, description: &str) {
        ok(self
            .aws
            .iam
            .update_role()
            .role_name(&self.role)
            .description(description)
            .send()
            .await);
    }
}

/// `address → kind` of every difference in a JSON drift report.
fn kinds(report: &Value) -> BTreeMap<String, String> {
    let list = report["differences"]
        .as_array()
        .unwrap_or_else(|| panic!("differences is an array: {report:#}"));
    let map: BTreeMap<String, String> = list
        .iter()
        .map(|d| {
            (
                d["address"].as_str().expect("address").to_string(),
                d["kind"]
                    .as_str()
                    .unwrap_or_else(|| panic!("a difference without a kind: {d:#}"))
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(map.len(), list.len(), "an address listed twice: {report:#}");
    map
}

fn expect(list: &[(&str, &str)]) -> BTreeMap<String, String> {
    list.iter()
        .map(|(a, k)| (a.to_string(), k.to_string()))
        .collect()
}

/// The addresses under a heading of the text report (`Drift: …` or `Pending: …`), up to
/// the next heading or the summary.
fn addresses_under(text: &str, heading: &str) -> Vec<String> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with(heading));
    if lines.next().is_none() {
        return Vec::new();
    }
    lines
        .take_while(|l| !(l.starts_with("Drift:") || l.starts_with("Pending:")))
        .filter_map(|l| {
            let l = l.strip_prefix("  ")?;
            let (sign, addr) = l.split_once(' ')?;
            matches!(sign, "+" | "~" | "-").then(|| addr.to_string())
        })
        .collect()
}

// --- 1. In sync ----------------------------------------------------------------------------

#[tokio::test]
async fn drift_after_a_clean_apply_is_in_sync() {
    let w = World::applied("drift-sync").await;

    let run = w.drift(&[]).await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        last_line(&run.stdout),
        "In sync: AWS matches the plan file.",
        "{run}"
    );

    let (run, report) = w.drift_json().await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(report["in_sync"], true, "{run}");
    assert_eq!(report["differences"], json!([]), "{run}");
    assert_eq!(
        report["summary"],
        json!({"drift": 0, "pending": 0}),
        "{run}"
    );

    // The record drift relies on is there, and says something for every managed setting.
    let tags = bucket_tags(&w.aws.s3, &w.bucket).await;
    let (_, applied) = tags
        .iter()
        .find(|(k, _)| k == "s3ward:applied")
        .expect("an s3ward:applied tag on the bucket");
    for setting in [
        "policy=",
        "acl=",
        "ownership=",
        "public_access_block=",
        "tags=",
    ] {
        assert!(
            applied.contains(setting),
            "{setting} missing from `{applied}`"
        );
    }
    let role_tags: BTreeMap<String, String> =
        role_tags(&w.aws.iam, &w.role).await.into_iter().collect();
    assert!(
        role_tags.contains_key("s3ward:applied"),
        "no s3ward:applied tag on the role: {role_tags:?}"
    );
}

// --- 2. Drift ------------------------------------------------------------------------------

#[tokio::test]
async fn every_out_of_band_change_is_drift() {
    let w = World::applied("drift-oob").await;

    w.set_ownership(ObjectOwnership::ObjectWriter).await;
    w.grant_acl_to_another_account().await;
    w.open_public_access_block().await;
    w.add_policy_statement().await;
    w.retag_bucket("team", "someone-else").await;
    w.set_trust_service("lambda.amazonaws.com").await;
    w.attach_managed(S3_READ_ONLY).await;
    w.delete_grants_policy().await;
    w.retag_role("team", "someone-else").await;
    w.set_description("edited in the console").await;

    let (run, report) = w.drift_json().await;
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(
        kinds(&report),
        expect(&[
            ("bucket.models.acl", "drift"),
            ("bucket.models.ownership", "drift"),
            ("bucket.models.policy", "drift"),
            ("bucket.models.public_access_block", "drift"),
            ("bucket.models.tags", "drift"),
            ("role.reader", "drift"),
            ("role.reader.inline_policy[\"s3ward-grants\"]", "drift"),
            (
                &format!("role.reader.managed_policy[\"{S3_READ_ONLY}\"]"),
                "drift"
            ),
            ("role.reader.tags", "drift"),
            ("role.reader.trust", "drift"),
        ]),
        "{run}"
    );
    assert_eq!(report["in_sync"], false);
    assert_eq!(
        report["summary"],
        json!({"drift": 10, "pending": 0}),
        "{run}"
    );

    let run = w.drift(&[]).await;
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(addresses_under(&run.stdout, "Drift:").len(), 10, "{run}");
    assert!(!run.stdout.contains("\nPending:"), "{run}");
    assert_eq!(
        last_line(&run.stdout),
        "10 drifted, 0 pending. `s3ward apply` makes AWS match the plan file again.",
        "{run}"
    );

    // Apply repairs it, and drift agrees.
    apply(&w.dir, None).await;
    let run = w.drift(&[]).await;
    assert_eq!(run.code, 0, "{run}");
}

// --- 3. Pending ----------------------------------------------------------------------------

#[tokio::test]
async fn a_grant_never_applied_is_pending() {
    let w = World::applied("drift-pending").await;
    let new_bucket = unique("drift-pending-new");
    w.write(&format!(
        r#"
[[buckets.models.grants]]
to = "role.reader"
access = "read-write"
prefixes = ["checkpoints/"]

[buckets.logs]
account = "main"
name = "{new_bucket}"
block_public_access = true

[[buckets.logs.grants]]
to = "role.reader"
access = "list"
"#
    ));

    let (run, report) = w.drift_json().await;
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(
        kinds(&report),
        expect(&[
            ("bucket.logs", "pending"),
            ("bucket.logs.policy", "pending"),
            ("bucket.logs.public_access_block", "pending"),
            ("bucket.logs.tags", "pending"),
            ("bucket.models.policy", "pending"),
            ("role.reader.inline_policy[\"s3ward-grants\"]", "pending"),
        ]),
        "{run}"
    );
    assert_eq!(
        report["summary"],
        json!({"drift": 0, "pending": 6}),
        "{run}"
    );

    let run = w.drift(&[]).await;
    assert_eq!(run.code, 2, "{run}");
    assert!(!run.stdout.contains("Drift:"), "{run}");
    assert_eq!(addresses_under(&run.stdout, "Pending:").len(), 6, "{run}");
}

// --- 4. Both at once ---------------------------------------------------------------------

/// SPEC: "a bucket can have drifted ownership and a pending policy change at the same time".
#[tokio::test]
async fn drift_and_pending_at_once_are_each_labelled() {
    let w = World::applied("drift-both").await;
    // Out of band: the bucket's ownership and the role's trust.
    w.set_ownership(ObjectOwnership::BucketOwnerPreferred).await;
    w.set_trust_service("lambda.amazonaws.com").await;
    // In the plan file: a new grant (the bucket policy and the role's grants policy) and a
    // new role tag.
    w.write_replacing(
        r#"
[[buckets.models.grants]]
to = "role.reader"
access = "list"
prefixes = ["evals/"]
"#,
        "tags = { team = \"ml\" }\ntrust",
        "tags = { team = \"ml\", cost-center = \"42\" }\ntrust",
    );

    let (run, report) = w.drift_json().await;
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(
        kinds(&report),
        expect(&[
            ("bucket.models.ownership", "drift"),
            ("bucket.models.policy", "pending"),
            ("role.reader.inline_policy[\"s3ward-grants\"]", "pending"),
            ("role.reader.tags", "pending"),
            ("role.reader.trust", "drift"),
        ]),
        "{run}"
    );
    assert_eq!(
        report["summary"],
        json!({"drift": 2, "pending": 3}),
        "{run}"
    );
    // The whole JSON report, with what differs between runs named.
    let mut stable = report.clone();
    stable["generated_at"] = json!("[TIME]");
    stable["plan_file"]["sha256"] = json!("[SHA256]");
    let text = serde_json::to_string_pretty(&stable)
        .unwrap()
        .replace(&w.bucket, "[BUCKET]")
        .replace(&w.role, "[ROLE]")
        .replace(&w.account, "[ACCOUNT]");
    insta::assert_snapshot!("drift_json", text);

    // Text: drift first, then pending, each address under its own heading.
    let run = w.drift(&[]).await;
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(
        addresses_under(&run.stdout, "Drift:"),
        ["bucket.models.ownership", "role.reader.trust"],
        "{run}"
    );
    assert_eq!(
        addresses_under(&run.stdout, "Pending:"),
        [
            "bucket.models.policy",
            "role.reader.inline_policy[\"s3ward-grants\"]",
            "role.reader.tags"
        ],
        "{run}"
    );
    assert!(
        run.stdout.find("Drift:") < run.stdout.find("Pending:"),
        "{run}"
    );
    insta::assert_snapshot!(run.snapshot_text());
}

/// `apply --target` applies part of the plan file: what it left out is still pending, not
/// drift (AWS did not move away from anything s3ward applied).
#[tokio::test]
async fn what_a_targeted_apply_left_out_stays_pending() {
    let w = World::applied("drift-target").await;
    w.write_replacing(
        r#"
[[buckets.models.grants]]
to = "role.reader"
access = "list"
prefixes = ["evals/"]
"#,
        "object_ownership = \"BucketOwnerEnforced\"",
        "object_ownership = \"BucketOwnerPreferred\"",
    );
    let run = w
        .dir
        .s3ward(&[
            "apply",
            "--auto-approve",
            "--target",
            "bucket.models.policy",
            PLAN,
        ])
        .run_async()
        .await;
    assert_eq!(run.code, 0, "{run}");

    let (run, report) = w.drift_json().await;
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(
        kinds(&report),
        expect(&[
            ("bucket.models.ownership", "pending"),
            ("role.reader.inline_policy[\"s3ward-grants\"]", "pending"),
        ]),
        "{run}"
    );
}

// --- 4b. Not managed, but granting access --------------------------------------------------

const S3_FULL_ACCESS: &str = "arn:aws:iam::aws:policy/AmazonS3FullAccess";

/// The base plan file without `managed_policies` and with the bucket policy in `merge` mode:
/// attachments, other inline policies and foreign statements are left alone by design.
fn unmanaged_lists(w: &World) -> String {
    let text = replace(&w.plan_text(""), "managed_policies = []\n", "");
    replace(
        &text,
        "block_public_access = true\n",
        "block_public_access = true\npolicy_mode = \"merge\"\n",
    )
}

/// Grants outside what the plan file manages, as a colleague would add them by hand.
async fn grant_access_by_hand(w: &World) {
    attach_policy(&w.aws.iam, &w.role, S3_FULL_ACCESS).await;
    let everything = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    put_role_policy(&w.aws.iam, &w.role, "hand-made", everything).await;
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#;
    put_role_policy(&w.aws.iam, &w.role, "only-denies", deny).await;
    w.add_policy_statement().await;
}

/// Someone attaches `AmazonS3FullAccess` to a managed role by hand (and adds an inline
/// policy, and a bucket policy statement in merge mode): the plan file does not manage
/// them, so drift still exits 0, but it lists each with the key that would manage it. A
/// policy that only denies grants nothing and is not listed.
#[tokio::test]
async fn access_granted_by_hand_beside_the_plan_file_is_listed_as_not_managed() {
    let w = World::new("drift-unmanaged").await;
    w.dir.write(PLAN, &unmanaged_lists(&w));
    apply(&w.dir, None).await;
    grant_access_by_hand(&w).await;

    let run = w.drift(&[]).await;
    assert_eq!(run.code, 0, "{run}");
    insta::assert_snapshot!(run.snapshot_text());

    let (run, report) = w.drift_json().await;
    assert_eq!(report["in_sync"], true, "{run}");
    assert_eq!(
        report["not_managed"][0],
        json!({"resource": "bucket.models", "kind": "bucket_policy_statement", "name": "ConsoleEdit",
               "detail": "AWS arn:aws:iam::999999999999:root: s3:GetObject", "key": "extra_policy_statements"}),
        "{run}"
    );
    assert_eq!(
        report["not_managed"][1],
        json!({"resource": "role.reader", "kind": "managed_policy", "name": S3_FULL_ACCESS, "key": "managed_policies"}),
        "{run}"
    );
    assert_eq!(report["not_managed"][2]["name"], "hand-made", "{run}");
    assert_eq!(
        report["not_managed"].as_array().map(Vec::len),
        Some(3),
        "{run}"
    );

    // `plan` says the same after its (empty) changes.
    let plan = w.dir.s3ward(&["plan", PLAN]).run_async().await;
    assert_eq!(last_line(&plan.stdout), "No changes.", "{plan}");
    assert!(
        plan.stdout.contains(&format!(
            "role.reader: managed policy `{S3_FULL_ACCESS}` is attached; to manage it, declare `managed_policies` in [roles.reader]"
        )),
        "{plan}"
    );
}

// --- 5. The JSON report --------------------------------------------------------------------

/// Checks a report against `docs/drift.md` (types, `always` presence, no field that is not
/// documented); returns the paths seen at least once.
fn check_documented(report: &Value, fields: &[(String, String, String)]) -> BTreeSet<String> {
    let seen = json_doc::check_documented(report, fields);
    // Every object field that appears is documented; before/after values are free-form.
    let present = json_doc::field_paths(report, &["before", "after"]);
    let documented: BTreeSet<&str> = fields.iter().map(|(p, ..)| p.as_str()).collect();
    let undocumented: Vec<&String> = present
        .iter()
        .filter(|p| !documented.contains(p.as_str()))
        .collect();
    assert!(
        undocumented.is_empty(),
        "fields missing from docs/drift.md: {undocumented:?}\n{report:#}"
    );
    seen
}

#[tokio::test]
async fn json_report_matches_docs_drift_md() {
    let fields = json_doc::documented_fields("docs/drift.md");
    assert!(
        fields.len() >= 25,
        "the field table was not found: {fields:?}"
    );

    let w = World::applied("drift-json").await;
    // Drift with a reason, notes and removed statements; pending with added statements; a
    // warning (IAM cannot move a role to another path).
    w.set_ownership(ObjectOwnership::ObjectWriter).await;
    w.grant_acl_to_another_account().await;
    w.add_policy_statement().await;
    let text = w.write_replacing(
        r#"
[[buckets.models.grants]]
to = "role.reader"
access = "write"
prefixes = ["uploads/"]
"#,
        "description = \"reads models\"",
        "description = \"reads models\"\npath = \"/ml/\"",
    );
    // Something granting access that the plan file does not manage.
    attach_policy(&w.aws.iam, &w.role, S3_FULL_ACCESS).await;
    let text = replace(&text, "managed_policies = []\n", "");
    w.dir.write(PLAN, &text);

    let (run, report) = w.drift_json().await;
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(
        kinds(&report),
        expect(&[
            ("bucket.models.acl", "drift"),
            ("bucket.models.ownership", "drift"),
            ("bucket.models.policy", "drift"),
            ("role.reader.inline_policy[\"s3ward-grants\"]", "pending"),
        ]),
        "{run}"
    );
    assert_eq!(report["not_managed"][0]["key"], "managed_policies", "{run}");
    let mut seen = check_documented(&report, &fields);
    assert_eq!(report["format_version"], 1);
    assert_eq!(report["s3ward_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        report["plan_file"],
        json!({"path": PLAN, "name": "plan", "sha256": sha256_hex(&text)}),
    );
    assert_eq!(
        report["accounts"],
        json!([{"key": "main", "id": w.account}]),
        "{run}"
    );
    assert_eq!(report["in_sync"], false);
    assert_eq!(
        report["summary"],
        json!({"drift": 3, "pending": 1}),
        "{run}"
    );
    // RFC 3339 in UTC, to the second: 2026-03-01T04:17:09Z.
    let at = report["generated_at"].as_str().expect("generated_at");
    let shape: String = at
        .chars()
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect();
    assert_eq!(shape, "0000-00-00T00:00:00Z", "generated_at = {at}");
    humantime::parse_rfc3339(at).unwrap_or_else(|e| panic!("generated_at = {at}: {e}"));
    // JSON keeps the plan's order; only text groups drift first.
    let order: Vec<&str> = report["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "bucket.models.policy",
            "bucket.models.acl",
            "bucket.models.ownership",
            "role.reader.inline_policy[\"s3ward-grants\"]"
        ]
    );
    assert!(
        report["warnings"].to_string().contains("/ml/"),
        "expected the path warning: {run}"
    );

    // Problems (a bucket that must exist and does not, a grant to a role that does not
    // exist): exit 1, and the report is still printed, with the problems in it; a grant to
    // a role in an account s3ward cannot read is listed as not verified.
    let missing = unique("drift-json-missing");
    let account = &w.account;
    w.write(&format!(
        "\n[buckets.gone]\naccount = \"main\"\nname = \"{missing}\"\ncreate = false\n\
         [[buckets.gone.grants]]\nto = \"arn:aws:iam::{account}:role/{missing}\"\naccess = \"read\"\n\
         [[buckets.gone.grants]]\nto = \"arn:aws:iam::333333333333:role/partner\"\naccess = \"read\"\n"
    ));
    let (run, report) = w.drift_json().await;
    assert!(report["problems"][1]["place"].is_object(), "{run}");
    assert_eq!(
        report["not_verified"][0]["named_by"][0], "bucket.gone.policy",
        "{run}"
    );
    assert_eq!(run.code, 1, "{run}");
    seen.extend(check_documented(&report, &fields));
    assert_eq!(report["problems"][0]["address"], "bucket.gone", "{run}");

    // In merge mode, the hand-added statement (and those of the plan file's old Sids) are
    // listed as not managed, each with whom it allows what.
    w.dir.write(PLAN, &unmanaged_lists(&w));
    let (run, report) = w.drift_json().await;
    assert!(report["not_managed"][0]["detail"].is_string(), "{run}");
    seen.extend(check_documented(&report, &fields));

    let documented: BTreeSet<String> = fields.iter().map(|(p, ..)| p.clone()).collect();
    let missing: Vec<&String> = documented.difference(&seen).collect();
    assert!(missing.is_empty(), "documented but never seen: {missing:?}");
}

// --- 6. Errors -----------------------------------------------------------------------------

#[tokio::test]
async fn a_plan_file_error_exits_1_with_nothing_on_stdout() {
    let dir = PlanDir::new();
    dir.write(
        PLAN,
        "version = 1\n\n[buckets.models]\naccount = \"nowhere\"\n",
    );
    for format in ["text", "json"] {
        let run = dir
            .s3ward(&["drift", "--format", format, PLAN])
            .run_async()
            .await;
        assert_eq!(run.code, 1, "{run}");
        assert_eq!(run.stdout, "", "{run}");
        assert!(run.stderr.contains("error:"), "{run}");
    }
}

// --- 7. Markdown within GitHub's comment limit ---------------------------------------------

/// A plan file of `buckets` buckets in a new account, each with a cross-account grant:
/// three creates per bucket (the bucket, its policy, its public access block).
fn many_buckets(account: &str, buckets: usize) -> String {
    let mut text = main_account(account);
    let prefix = unique("drift-md");
    for i in 0..buckets {
        text.push_str(&format!(
            r#"
[buckets.b{i:03}]
account = "main"
name = "{prefix}-{i:03}"
block_public_access = true

[[buckets.b{i:03}.grants]]
to = "arn:aws:iam::999999999999:role/trainer"
access = "read-write"
prefixes = ["models/", "checkpoints/"]
"#
        ));
    }
    text
}

/// Checks that `md` is whole markdown: every `<details>` closed, every code fence closed.
fn assert_well_formed(md: &str) {
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count(),
        "a details block was cut in half"
    );
    let fences = md.lines().filter(|l| l.starts_with("```")).count();
    assert_eq!(fences % 2, 0, "a code block was cut in half");
}

#[tokio::test]
async fn markdown_for_300_changes_stays_within_githubs_comment_limit() {
    let dir = PlanDir::new();
    // Four changes per bucket: the bucket, its policy, block and tags.
    dir.write(PLAN, &many_buckets(&account(), 75));
    // As CI runs it: markdown on stdout, the saved plan to a file.
    let run = dir
        .s3ward(&["plan", "--format", "markdown", "--out", "plan.s3ward", PLAN])
        .run_async()
        .await;
    assert_eq!(run.code, 0, "{run}");
    assert!(dir.path().join("plan.s3ward").is_file(), "{run}");
    let md = &run.stdout;
    assert!(
        md.contains("**Plan: 300 to create, 0 to update, 0 to delete.**"),
        "{run}"
    );
    assert!(
        md.len() <= GITHUB_COMMENT_LIMIT - WORKFLOW_FRAME,
        "{} bytes leave no room for the workflow's frame under {GITHUB_COMMENT_LIMIT}",
        md.len()
    );
    // It was cut, says so, and points at the full plan.
    assert!(
        md.contains("> [!NOTE]") && md.contains("not shown here"),
        "no note about what was left out:\n{md}"
    );
    assert!(
        md.contains("saved plan"),
        "the note names no full plan:\n{md}"
    );
    // The summary table is whole: one row per change.
    for i in 0..75 {
        for addr in [
            format!("`bucket.b{i:03}`"),
            format!("`bucket.b{i:03}.policy`"),
            format!("`bucket.b{i:03}.public_access_block`"),
            format!("`bucket.b{i:03}.tags`"),
        ] {
            assert!(
                md.contains(&format!("| {addr} |")),
                "no table row for {addr}"
            );
        }
    }
    assert!(md.contains("<details>"), "no change details at all:\n{md}");
    assert_well_formed(md);
}

#[tokio::test]
async fn markdown_that_fits_is_not_cut() {
    let dir = PlanDir::new();
    dir.write(PLAN, &many_buckets(&account(), 3));
    let run = dir
        .s3ward(&["plan", "--format", "markdown", PLAN])
        .run_async()
        .await;
    assert_eq!(run.code, 0, "{run}");
    let md = &run.stdout;
    assert!(
        md.contains("**Plan: 12 to create, 0 to update, 0 to delete.**"),
        "{run}"
    );
    assert!(!md.contains("not shown here"), "{run}");
    assert_eq!(md.matches("<details>").count(), 12, "{run}");
    assert_well_formed(md);
}

// --- 8. The examples people copy -----------------------------------------------------------

fn examples() -> PathBuf {
    Path::new(ROOT).join("examples")
}

/// Every document of a YAML file, as JSON, parsed by PyYAML (which comes with moto in
/// `.venv`). An error when the file is not valid YAML.
fn yaml_documents(path: &Path) -> Result<Vec<Value>, String> {
    moto(); // installs .venv when missing
    let out = std::process::Command::new(Path::new(ROOT).join(".venv/bin/python"))
        .args([
            "-c",
            "import json, sys, yaml\n\
             with open(sys.argv[1]) as f:\n    docs = list(yaml.safe_load_all(f))\n\
             json.dump(docs, sys.stdout)",
        ])
        .arg(path)
        .output()
        .expect("run .venv/bin/python");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

fn yaml(path: &Path) -> Vec<Value> {
    yaml_documents(path).unwrap_or_else(|e| panic!("{} is not valid YAML:\n{e}", path.display()))
}

/// Checks shell syntax with `bash -n` (GitHub expressions `${{ … }}` replaced first).
pub(crate) fn assert_bash_parses(what: &str, script: &str) {
    let mut text = String::new();
    let mut rest = script;
    while let Some(at) = rest.find("${{") {
        text.push_str(&rest[..at]);
        let end = rest[at..].find("}}").expect("a closed expression") + at + 2;
        text.push('X');
        rest = &rest[end..];
    }
    text.push_str(rest);
    let out = std::process::Command::new("bash")
        .args(["-n", "-c", &text])
        .output()
        .expect("run bash -n");
    assert!(
        out.status.success(),
        "{what}: bash cannot parse it:\n{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A GitHub Actions workflow: its triggers (PyYAML reads the key `on` as `true`), its
/// steps across jobs, and the matrix entries of `job`.
struct Workflow {
    file: String,
    doc: Value,
    text: String,
}

impl Workflow {
    fn load(name: &str) -> Workflow {
        let path = examples().join("github-actions").join(name);
        let mut docs = yaml(&path);
        assert_eq!(docs.len(), 1, "{name}: one document");
        Workflow {
            file: name.into(),
            doc: docs.remove(0),
            text: std::fs::read_to_string(&path).unwrap(),
        }
    }

    fn on(&self) -> &Value {
        self.doc
            .get("on")
            .or_else(|| self.doc.get("true"))
            .unwrap_or_else(|| panic!("{}: no `on`", self.file))
    }

    fn permission(&self, name: &str) -> &str {
        self.doc["permissions"][name].as_str().unwrap_or("none")
    }

    fn steps(&self) -> Vec<&Value> {
        self.doc["jobs"]
            .as_object()
            .unwrap_or_else(|| panic!("{}: no jobs", self.file))
            .values()
            .flat_map(|j| j["steps"].as_array().into_iter().flatten())
            .collect()
    }

    fn runs(&self) -> Vec<&str> {
        self.steps()
            .iter()
            .filter_map(|s| s["run"].as_str())
            .collect()
    }

    fn uses(&self, action: &str) -> Vec<&Value> {
        self.steps()
            .into_iter()
            .filter(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with(&format!("{action}@")))
            })
            .collect()
    }

    fn matrix(&self, job: &str) -> Vec<(String, String)> {
        self.doc["jobs"][job]["strategy"]["matrix"]["include"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no matrix in job {job}", self.file))
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().expect("matrix name").to_string(),
                    e["plan"].as_str().expect("matrix plan").to_string(),
                )
            })
            .collect()
    }

    /// Credentials only through OIDC: configure-aws-credentials with a role, no keys.
    fn assert_oidc_only(&self) {
        assert_eq!(self.permission("id-token"), "write", "{}", self.file);
        let creds = self.uses("aws-actions/configure-aws-credentials");
        assert!(
            !creds.is_empty(),
            "{}: no configure-aws-credentials",
            self.file
        );
        for step in creds {
            assert!(
                step["with"]["role-to-assume"]
                    .as_str()
                    .is_some_and(|r| !r.is_empty()),
                "{}: {step}",
                self.file
            );
        }
        for secret in [
            "aws-access-key-id",
            "aws-secret-access-key",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            assert!(
                !self.text.contains(secret),
                "{}: mentions {secret}",
                self.file
            );
        }
    }

    fn assert_scripts_parse(&self) {
        for (i, run) in self.runs().iter().enumerate() {
            assert_bash_parses(&format!("{} run step {i}", self.file), run);
        }
        for step in self.steps() {
            let uses = step["uses"].as_str().unwrap_or("@");
            // A local action (`./…`) is pinned by the commit that holds it.
            assert!(
                uses.contains('@') || uses.starts_with("./"),
                "{}: unpinned action {uses}",
                self.file
            );
        }
    }
}

#[test]
fn the_yaml_checker_rejects_malformed_yaml() {
    let dir = PlanDir::new();
    let bad = dir.write("bad.yml", "jobs:\n  plan:\n    steps: [\n      - run: x\n");
    assert!(yaml_documents(&bad).is_err(), "malformed YAML was accepted");
    let tabs = dir.write("tabs.yml", "a:\n\tb: 1\n");
    assert!(yaml_documents(&tabs).is_err(), "a tab indent was accepted");
}

#[test]
fn every_yaml_example_parses() {
    let mut files = Vec::new();
    let mut stack = vec![examples()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yml" | "yaml")
            ) {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 4, "examples: {files:?}");
    for f in &files {
        assert!(!yaml(f).is_empty(), "{} has no document", f.display());
    }
}

#[test]
fn the_pull_request_workflows_plan_comment_and_apply_the_saved_plan() {
    let plan = Workflow::load("plan.yml");
    assert!(
        plan.on().get("pull_request").is_some(),
        "plan.yml runs on pull requests"
    );
    plan.assert_oidc_only();
    plan.assert_scripts_parse();
    assert_eq!(plan.permission("pull-requests"), "write");
    assert_eq!(plan.permission("contents"), "read");
    let runs = plan.runs().join("\n");
    assert!(runs.contains("s3ward validate "), "plan.yml validates");
    let plan_cmd = runs
        .lines()
        .find(|l| l.contains("s3ward plan "))
        .expect("plan.yml runs s3ward plan");
    assert!(
        plan_cmd.contains("--format markdown") && plan_cmd.contains("--out "),
        "{plan_cmd}"
    );
    // One comment, updated in place: found by its hidden marker.
    let scripts: Vec<&str> = plan
        .uses("actions/github-script")
        .iter()
        .filter_map(|s| s["with"]["script"].as_str())
        .collect();
    assert!(
        scripts
            .iter()
            .any(|s| s.contains("<!-- s3ward-plan") && s.contains("updateComment")),
        "plan.yml updates its marked comment"
    );
    let upload = plan.uses("actions/upload-artifact");
    assert!(
        upload.iter().any(|s| s["with"]["name"]
            .as_str()
            .unwrap_or("")
            .starts_with("s3ward-plan-")
            && s["with"]["path"]
                .as_str()
                .unwrap_or("")
                .contains("plan.s3ward")),
        "plan.yml uploads the saved plan: {upload:?}"
    );

    let apply = Workflow::load("apply.yml");
    let branches = &apply.on()["push"]["branches"];
    assert_eq!(branches, &json!(["main"]), "apply.yml runs on push to main");
    apply.assert_oidc_only();
    apply.assert_scripts_parse();
    assert_eq!(
        apply.permission("actions"),
        "read",
        "to download the plan run's artifact"
    );
    assert_eq!(apply.doc["concurrency"]["cancel-in-progress"], false);
    let runs = apply.runs().join("\n");
    assert!(
        runs.contains("s3ward apply --saved saved/plan.s3ward --plan-file \"$PLAN_FILE\""),
        "apply.yml passes the merged commit's plan file: {runs}"
    );
    assert!(
        runs.contains("gh run download") && runs.contains("--name \"s3ward-plan-$PLAN_NAME\""),
        "{runs}"
    );
    assert!(
        runs.contains("status=success"),
        "only a successful plan run counts"
    );
    // apply.yml finds plan.yml by the file name the README tells people to use.
    assert_eq!(apply.doc["env"]["PLAN_WORKFLOW"], "s3ward-plan.yml");
    let readme = std::fs::read_to_string(examples().join("README.md")).expect("examples/README.md");
    assert!(readme.contains(".github/workflows/s3ward-plan.yml"));
    // The same plan files, under the same names, in all three workflows.
    let drift = Workflow::load("drift.yml");
    assert_eq!(plan.matrix("plan"), apply.matrix("apply"));
    assert_eq!(plan.matrix("plan"), drift.matrix("drift"));
    for (_, file) in plan.matrix("plan") {
        assert!(
            Path::new(ROOT).join(&file).is_file(),
            "{file} is not a plan file here"
        );
    }
}

#[test]
fn the_scheduled_drift_workflow_reports_json_and_fails_on_drift() {
    let drift = Workflow::load("drift.yml");
    assert!(
        drift.on()["schedule"][0]["cron"].is_string(),
        "drift.yml is scheduled"
    );
    drift.assert_oidc_only();
    drift.assert_scripts_parse();
    let runs = drift.runs().join("\n");
    let cmd = runs
        .lines()
        .find(|l| l.contains("s3ward drift "))
        .expect("drift.yml runs s3ward drift");
    assert!(cmd.contains("--format json"), "{cmd}");
    assert_eq!(drift.permission("issues"), "write");
}

#[test]
fn the_cronjob_runs_drift_json_as_its_irsa_service_account() {
    let docs = yaml(&examples().join("kubernetes/drift-cronjob.yaml"));
    let of_kind = |k: &str| -> Vec<&Value> { docs.iter().filter(|d| d["kind"] == k).collect() };
    let sa = of_kind("ServiceAccount");
    assert_eq!(sa.len(), 1);
    let sa = sa[0];
    assert!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
            .as_str()
            .is_some_and(|a| a.starts_with("arn:aws:iam::")),
        "IRSA annotation: {sa}"
    );
    let jobs = of_kind("CronJob");
    assert!(!jobs.is_empty());
    for cj in jobs {
        assert_eq!(cj["apiVersion"], "batch/v1");
        assert_eq!(cj["metadata"]["namespace"], sa["metadata"]["namespace"]);
        let job = &cj["spec"]["jobTemplate"]["spec"];
        let pod = &job["template"]["spec"];
        assert_eq!(pod["serviceAccountName"], sa["metadata"]["name"], "{cj}");
        assert_eq!(pod["restartPolicy"], "Never");
        let container = &pod["containers"][0];
        let args: Vec<&str> = container["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(args[..3], ["drift", "--format", "json"], "{cj}");
        // The plan file comes from a mounted ConfigMap.
        let mounts = container["volumeMounts"].as_array().expect("volumeMounts");
        let mount = mounts
            .iter()
            .find(|m| args[3].starts_with(m["mountPath"].as_str().unwrap()))
            .unwrap_or_else(|| panic!("{} is not under a mount", args[3]));
        let volume = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == mount["name"])
            .expect("the mounted volume");
        assert!(volume["configMap"]["name"].is_string(), "{volume}");
        // Exit 2 fails the Job without retries; the exit code is the alert.
        let rules = job["podFailurePolicy"]["rules"].as_array().expect("rules");
        assert!(
            rules
                .iter()
                .any(|r| r["action"] == "FailJob" && r["onExitCodes"]["values"] == json!([2])),
            "{cj}"
        );
    }
}

// --- 9. The cron wrapper -------------------------------------------------------------------

fn wrapper() -> PathBuf {
    examples().join("cron/s3ward-drift.sh")
}

#[test]
fn the_cron_files_parse() {
    let script = std::fs::read_to_string(wrapper()).unwrap();
    assert_bash_parses("s3ward-drift.sh", &script);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(wrapper()).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "s3ward-drift.sh is executable");
    let crontab = std::fs::read_to_string(examples().join("cron/crontab")).unwrap();
    let jobs: Vec<&str> = crontab
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| !l.split_whitespace().next().unwrap().contains('='))
        .collect();
    assert!(!jobs.is_empty(), "no job line in the crontab");
    for job in jobs {
        let fields: Vec<&str> = job.split_whitespace().collect();
        assert!(fields.len() > 5, "{job}");
        for f in &fields[..5] {
            assert!(
                f.chars().all(|c| c.is_ascii_digit() || "*/,-".contains(c)),
                "not a schedule field `{f}` in {job}"
            );
        }
        assert!(job.contains("s3ward-drift.sh "), "{job}");
        assert_bash_parses("crontab command", &fields[5..].join(" "));
    }
}

/// Runs the wrapper in `w`'s directory against moto, alerting into the first directory,
/// with the second as its TMPDIR.
async fn cron(w: &World, dirs: &(TempDir, TempDir), alert_cmd: Option<&str>, plan: &str) -> Run {
    let (alerts, scratch) = dirs;
    let mut cmd = Cmd::new(wrapper(), &[plan])
        .current_dir(w.dir.path())
        .env("TMPDIR", scratch.path())
        .env("S3WARD", env!("CARGO_BIN_EXE_s3ward"))
        .env("ALERT_DIR", alerts.path());
    if let Some(a) = alert_cmd {
        cmd = cmd.env("ALERT_CMD", a);
    }
    cmd.run_async().await
}

fn alert_files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_cron_wrapper_alerts_on_drift_and_errors_only() {
    const ALERT: &str = r#"cat >"$ALERT_DIR/$S3WARD_ALERT.stdin"; echo "$S3WARD_EXIT_CODE $S3WARD_PLAN" >"$ALERT_DIR/$S3WARD_ALERT.env"; cp "$S3WARD_REPORT" "$ALERT_DIR/$S3WARD_ALERT.report""#;
    let w = World::applied("drift-cron").await;
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (alerts, scratch) = &dirs;

    // In sync: exit 0, silent, no alert.
    let run = cron(&w, &dirs, Some(ALERT), PLAN).await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.stdout, "", "{run}");
    assert!(alert_files(alerts.path()).is_empty(), "{run}");

    // Drift: exit 2, the report on stdout and on the alert's stdin.
    w.set_ownership(ObjectOwnership::ObjectWriter).await;
    let run = cron(&w, &dirs, Some(ALERT), PLAN).await;
    assert_eq!(run.code, 2, "{run}");
    let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{run}"));
    assert_eq!(
        kinds(&report),
        expect(&[("bucket.models.ownership", "drift")]),
        "{run}"
    );
    let got = alert_files(alerts.path());
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        ["drift.env", "drift.report", "drift.stdin"],
        "{run}"
    );
    assert_eq!(got["drift.env"], format!("2 {PLAN}\n"));
    assert_eq!(got["drift.stdin"], run.stdout);
    assert_eq!(got["drift.report"], run.stdout);
    for f in got.keys() {
        std::fs::remove_file(alerts.path().join(f)).unwrap();
    }

    // A failing alert command does not hide the finding.
    let run = cron(&w, &dirs, Some("exit 3"), PLAN).await;
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr.contains("the alert command failed (exit 3)"),
        "{run}"
    );

    // Without an alert command: the exit code and the report (cron mails it).
    let run = cron(&w, &dirs, None, PLAN).await;
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stdout.contains("\"kind\": \"drift\""), "{run}");

    // An error: exit 1, alerted as an error with s3ward's message.
    let run = cron(&w, &dirs, Some(ALERT), "missing.toml").await;
    assert_eq!(run.code, 1, "{run}");
    let got = alert_files(alerts.path());
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        ["error.env", "error.report", "error.stdin"],
        "{run}"
    );
    assert_eq!(got["error.env"], "1 missing.toml\n");
    assert!(got["error.stdin"].contains("error:"), "{got:?}");
    assert!(got["error.stdin"].contains("missing.toml"), "{got:?}");
    assert!(run.stderr.contains("missing.toml"), "{run}");

    // The wrapper cleans up after itself.
    let left: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
}

// --- 10. The pull-request flow, end to end -------------------------------------------------

/// What plan.yml and apply.yml do, in two checkouts: plan the pull request's plan file with
/// `--format markdown --out`, carry the saved plan over as an artifact, apply it with
/// `--saved` and `--plan-file` from the main branch's checkout, then drift finds nothing.
/// Applying the same artifact again (a re-run) fails as stale, and so does a plan file that
/// changed on main (stale comes before "does not match its plan file").
#[tokio::test]
async fn the_ci_flow_applies_the_saved_plan_from_another_checkout() {
    let w = World::new("drift-ci").await;
    let text = w.plan_text("");
    let pr = PlanDir::new();
    pr.write("plans/models.toml", &text);
    std::fs::create_dir_all(pr.path().join("out")).unwrap(); // `mkdir -p out`, as plan.yml does
    let run = pr
        .s3ward(&[
            "plan",
            "plans/models.toml",
            "--format",
            "markdown",
            "--out",
            "out/plan.s3ward",
        ])
        .run_async()
        .await;
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.starts_with("### s3ward plan"), "{run}");
    let artifact = std::fs::read(pr.path().join("out/plan.s3ward")).expect("the saved plan");

    let main = &w.dir;
    main.write("plans/models.toml", &text);
    std::fs::create_dir_all(main.path().join("saved")).unwrap();
    std::fs::write(main.path().join("saved/plan.s3ward"), &artifact).unwrap();
    let run = main
        .s3ward(&[
            "apply",
            "--saved",
            "saved/plan.s3ward",
            "--plan-file",
            "plans/models.toml",
        ])
        .run_async()
        .await;
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("Apply complete:"), "{run}");

    let run = main
        .s3ward(&["drift", "plans/models.toml"])
        .run_async()
        .await;
    assert_eq!(
        run.code, 0,
        "the saved apply recorded what it applied:\n{run}"
    );

    let run = main
        .s3ward(&[
            "apply",
            "--saved",
            "saved/plan.s3ward",
            "--plan-file",
            "plans/models.toml",
        ])
        .run_async()
        .await;
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains("saved plan was already applied"),
        "{run}"
    );

    main.write("plans/models.toml", &w.plan_text("\n# changed on main\n"));
    let run = main
        .s3ward(&[
            "apply",
            "--saved",
            "saved/plan.s3ward",
            "--plan-file",
            "plans/models.toml",
        ])
        .run_async()
        .await;
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains("changed since the plan was saved"),
        "{run}"
    );
}
