//! `s3ward import`: every test builds live state (with `s3ward apply` or the SDK), imports it
//! through the recording proxy, and then requires what import promises: the plan file
//! validates, `s3ward plan --detailed-exitcode` with it prints `No changes.` and exits 0, and
//! import only read AWS.
//!
//! The public corpus (`tests/corpus`, see SOURCES.md) is put live as bucket policies, trust
//! policies and inline policies, and must round-trip the same way.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};

use crate::support::fixtures::{
    self, EC2_TRUST, PLAN, create_bucket, create_role, put_policy, put_role_policy,
    set_public_access_block,
};
use crate::support::proxy::{Proxy, ProxyRules, Recorded};
use crate::support::{AMBIENT_ACCOUNT, PlanDir, Run, moto, ok, sdk, unique};

const IMPORTED: &str = "imported.toml";
/// Another account, reached with `--assume-role` (moto lets any role be assumed).
const STORAGE: &str = "111111111111";

// --- Harness -------------------------------------------------------------------------------

/// `s3ward import ARGS... --out imported.toml` through a recording proxy; asserts that it
/// succeeded and only read, and returns the run and the plan file it wrote.
async fn import(dir: &PlanDir, args: &[&str]) -> (Run, String) {
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", IMPORTED]);
    let run = dir
        .s3ward(&all)
        .env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .run_async()
        .await;
    assert_eq!(run.code, 0, "{run}");
    let ops = proxy.operations();
    let writes: Vec<&Recorded> = ops.iter().filter(|r| !r.is_read()).collect();
    assert!(writes.is_empty(), "import wrote: {writes:?}\n{run}");
    assert!(ops.iter().any(|r| r.service == "sts"), "{ops:?}");
    let text = std::fs::read_to_string(dir.path().join(IMPORTED)).expect("import wrote the file");
    (run, text)
}

/// `validate` exits 0 and `plan --detailed-exitcode` prints `No changes.` and exits 0.
async fn assert_round_trip(dir: &PlanDir, text: &str, extra: &[&str]) {
    let mut args = vec!["validate", IMPORTED];
    args.extend_from_slice(extra);
    let v = dir.s3ward(&args).run_async().await;
    assert_eq!(v.code, 0, "{v}\n{text}");
    let mut args = vec!["plan", IMPORTED, "--detailed-exitcode"];
    args.extend_from_slice(extra);
    let p = dir.s3ward(&args).run_async().await;
    assert_eq!(p.code, 0, "{p}\n{text}");
    assert_eq!(p.stdout.lines().last(), Some("No changes."), "{p}\n{text}");
}

/// Writes `plan` as the plan file and applies it.
async fn apply(dir: &PlanDir, plan: &str) {
    dir.write(PLAN, plan);
    fixtures::apply(dir, None).await;
}

/// A role or user that a corpus document names, created once (tests share fixed names).
async fn ensure_principal(arn: &str) {
    let Some(rest) = arn.strip_prefix("arn:aws:iam::") else {
        return; // account roots, services, `*`, STS sessions: no identity needed
    };
    let Some((account, resource)) = rest.split_once(':') else {
        return;
    };
    let c = sdk(Some(account)).await;
    let result = if let Some(name) = resource.strip_prefix("role/") {
        c.iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(EC2_TRUST)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.into_service_error().meta().code().map(str::to_string))
    } else if let Some(name) = resource.strip_prefix("user/") {
        c.iam
            .create_user()
            .user_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.into_service_error().meta().code().map(str::to_string))
    } else {
        return;
    };
    match result {
        Ok(()) => {}
        Err(Some(code)) if code == "EntityAlreadyExists" => {}
        Err(e) => panic!("creating {arn}: {e:?}"),
    }
}

// --- 1. Grants that fit come back as grants --------------------------------------------------

#[tokio::test]
async fn grants_s3ward_applied_come_back_as_grants() {
    let dir = PlanDir::new();
    let models = unique("imp-models");
    let open = unique("imp-open");
    let reader = unique("imp-reader");
    let writer = unique("imp-writer");
    let plan = format!(
        r#"version = 1

[settings]
name = "ml-models"

[accounts.main]
id = "{AMBIENT_ACCOUNT}"

[principals.vendor]
account = "333333333333"

[roles.reader]
account = "main"
name = "{reader}"
description = "reads models"
tags = {{ team = "ml" }}
trust = [{{ service = "ec2.amazonaws.com" }}]
managed_policies = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]

[roles.ray-writer]
account = "main"
name = "{writer}"
path = "/ml/"
trust = [{{ eks = {{ oidc_provider = "oidc.eks.us-east-1.amazonaws.com/id/ABC", namespace = "ml", service_account = "ray" }} }}]

[roles.ray-writer.inline_policies]
logs = '''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*"}}]}}'''

[buckets.models]
account = "main"
name = "{models}"
object_ownership = "BucketOwnerEnforced"
block_public_access = true
tags = {{ data = "weights" }}
extra_policy_statements = '''[{{"Sid":"s3wardDenyHttp","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{models}","arn:aws:s3:::{models}/*"],"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}]'''

[[buckets.models.grants]]
to = "role.reader"
access = "read"
prefixes = ["llama/", "mistral/"]

[[buckets.models.grants]]
to = "role.ray-writer"
access = "read-write"
prefixes = ["checkpoints/"]

[[buckets.models.grants]]
to = "role.ray-writer"
access = "read"

[[buckets.models.grants]]
to = "principal.vendor"
access = "list"
prefixes = ["evals/"]

[[buckets.models.grants]]
to = "arn:aws:iam::444444444444:root"
access = "write"
prefixes = ["incoming/"]

[buckets.open]
account = "main"
name = "{open}"
region = "eu-west-1"
block_public_access = false

[[buckets.open.grants]]
to = "*"
access = "read"
public = true

[[buckets.open.grants]]
to = "role.reader"
access = "full"
"#
    );
    apply(&dir, &plan).await;
    let (run, text) = import(
        &dir,
        &[
            "--account",
            AMBIENT_ACCOUNT,
            "--bucket",
            &models,
            &open,
            "--role",
            &reader,
            "--role",
            &writer,
        ],
    )
    .await;
    assert!(
        run.stderr.contains("Imported 2 buckets and 2 roles"),
        "{run}"
    );
    assert!(!run.stderr.contains("warning"), "{run}");
    // The grants, by the keys of the plan that made them (they are in the Sids).
    for want in [
        "[roles.reader]",
        "[roles.ray-writer]",
        "[buckets.models]",
        "[buckets.open]",
        "[principals.vendor]",
        "to = \"role.reader\"\naccess = \"read\"\nprefixes = [\"llama/\", \"mistral/\"]",
        "to = \"role.ray-writer\"\naccess = \"read-write\"\nprefixes = [\"checkpoints/\"]",
        "to = \"role.ray-writer\"\naccess = \"read\"\n",
        "to = \"principal.vendor\"\naccess = \"list\"",
        "to = \"arn:aws:iam::444444444444:root\"\naccess = \"write\"",
        "to = \"*\"\naccess = \"read\"\npublic = true",
        "region = \"eu-west-1\"",
        "\"Sid\": \"s3wardDenyHttp\"",
        "{ eks = { oidc_provider = \"oidc.eks.us-east-1.amazonaws.com/id/ABC\", namespace = \"ml\", service_account = \"ray\" } }",
        "managed_policies = [\n  \"arn:aws:iam::aws:policy/ReadOnlyAccess\",\n]",
        "logs = '''",
        "path = \"/ml/\"",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
    assert!(!text.contains("s3ward:applied"), "{text}");
    assert_round_trip(&dir, &text, &[]).await;
}

#[tokio::test]
async fn another_account_through_assume_role() {
    let dir = PlanDir::new();
    let bucket = unique("imp-storage");
    let role = unique("imp-app");
    let plan = format!(
        r#"version = 1

[accounts.storage]
id = "{STORAGE}"
assume_role = "arn:aws:iam::{STORAGE}:role/s3ward"

[accounts.compute]
id = "222222222222"

[roles.app]
account = "storage"
name = "{role}"
trust = [{{ account = "compute", external_id = "ext-1" }}]

[buckets.data]
account = "storage"
name = "{bucket}"

[[buckets.data.grants]]
to = "role.app"
access = "write"

[[buckets.data.grants]]
to = "account.compute"
access = "read"
"#
    );
    apply(&dir, &plan).await;
    let assume = format!("arn:aws:iam::{STORAGE}:role/s3ward");
    let (_, text) = import(
        &dir,
        &[
            "--account",
            STORAGE,
            "--assume-role",
            &assume,
            "--bucket",
            &bucket,
            "--role",
            &role,
        ],
    )
    .await;
    for want in [
        "[accounts.main]\nid = \"111111111111\"\nassume_role = \"arn:aws:iam::111111111111:role/s3ward\"",
        "[accounts.compute]\nid = \"222222222222\"",
        "to = \"account.compute\"\naccess = \"read\"",
        "to = \"role.app\"\naccess = \"write\"",
        "{ account = \"222222222222\", external_id = \"ext-1\" }",
        "# object_ownership: none set",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
    assert_round_trip(&dir, &text, &[]).await;
}

/// The cross-account shape in one run: a bucket in one account, in `merge` mode with a
/// colleague's hand-written statement beside the plan's, granting read to a role of another
/// account. Import of both accounts gives the grant back as `[[grants]]` to `role.KEY`, the
/// policy in `merge` mode with the colleague's statement left alone, both accounts declared.
#[tokio::test]
async fn two_accounts_come_back_with_the_grant_between_them_in_merge_mode() {
    const COMPUTE: &str = "222222222222";
    let dir = PlanDir::new();
    let bucket = unique("imp-xmodels");
    let role = unique("imp-xray");
    let storage_role = format!("arn:aws:iam::{STORAGE}:role/s3ward");
    let compute_role = format!("arn:aws:iam::{COMPUTE}:role/s3ward");
    let plan = format!(
        r#"version = 1

[settings]
name = "ml-models"

[accounts.storage]
id = "{STORAGE}"
assume_role = "{storage_role}"

[accounts.compute]
id = "{COMPUTE}"
assume_role = "{compute_role}"

[roles.ray]
account = "compute"
name = "{role}"
trust = [{{ service = "ec2.amazonaws.com" }}]

[buckets.models]
account = "storage"
name = "{bucket}"
policy_mode = "merge"

[[buckets.models.grants]]
to = "role.ray"
access = "read"
prefixes = ["llama/"]
"#
    );
    apply(&dir, &plan).await;
    // A colleague adds a statement by hand.
    let s3 = sdk(Some(STORAGE)).await.s3;
    let live = s3
        .get_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .expect("the policy apply wrote");
    let mut doc: Value = serde_json::from_str(live.policy().unwrap()).unwrap();
    doc["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "ColleagueAuditRead",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::333333333333:root"},
        "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{bucket}/audit/*"),
    }));
    put_policy(&s3, &bucket, &doc.to_string()).await;

    let (run, text) = import(
        &dir,
        &[
            "--name",
            "ml-models",
            "--account",
            &format!("{STORAGE}:{storage_role}"),
            "--bucket",
            &bucket,
            "--account",
            &format!("{COMPUTE}:{compute_role}"),
            "--role",
            &role,
        ],
    )
    .await;
    assert!(
        run.stderr
            .contains("from accounts 111111111111 and 222222222222"),
        "{run}"
    );
    for want in [
        "policy_mode = \"merge\"",
        "to = \"role.ray\"\naccess = \"read\"",
        "[roles.ray]\naccount = \"account-2222\"",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
    assert!(!text.contains("ColleagueAuditRead"), "{text}");
    insta::assert_snapshot!(
        "import_two_accounts_merge",
        text.replace(&bucket, "[BUCKET]").replace(&role, "[ROLE]")
    );
    assert_round_trip(&dir, &text, &[]).await;
    // The colleague's statement is still there, untouched by the import.
    let live = s3.get_bucket_policy().bucket(&bucket).send().await.unwrap();
    assert!(live.policy().unwrap().contains("ColleagueAuditRead"));
}

// --- 2. Odd statements stay raw ---------------------------------------------------------------

#[tokio::test]
async fn odd_statements_stay_verbatim() {
    let dir = PlanDir::new();
    let c = sdk(None).await;
    let bucket = unique("imp-odd");
    create_bucket(&c.s3, &bucket).await;
    // A grant's statements with one of them edited by hand, a Sid that only looks like
    // s3ward's, and ordinary statements.
    let arn = format!("arn:aws:s3:::{bucket}");
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "s3wardReadAccountPartnerList", "Effect": "Allow",
             "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
             "Action": "s3:ListBucket", "Resource": arn},
            {"Sid": "s3wardReadAccountPartnerBucket", "Effect": "Allow",
             "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
             "Action": ["s3:GetBucketLocation", "s3:GetBucketTagging"], "Resource": arn},
            {"Sid": "s3wardReadAccountPartnerObjects", "Effect": "Allow",
             "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
             "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": format!("{arn}/*")},
            {"Sid": "s3wardListPrincipalXList", "Effect": "Allow",
             "Principal": {"AWS": ["arn:aws:iam::333333333333:root", "arn:aws:iam::444444444444:root"]},
             "Action": "s3:ListBucket", "Resource": arn},
            {"Sid": "AllowLogs", "Effect": "Allow",
             "Principal": {"Service": "logging.s3.amazonaws.com"},
             "Action": "s3:PutObject", "Resource": format!("{arn}/logs/*"),
             "Condition": {"StringEquals": {"aws:SourceAccount": AMBIENT_ACCOUNT}}},
        ]
    });
    put_policy(&c.s3, &bucket, &policy.to_string()).await;
    let (_, text) = import(&dir, &["--account", AMBIENT_ACCOUNT, "--bucket", &bucket]).await;
    assert!(!text.contains("\n[[buckets."), "no grant expected:\n{text}");
    for sid in [
        "s3wardReadAccountPartnerList",
        "s3wardListPrincipalXList",
        "AllowLogs",
    ] {
        assert!(
            text.contains(&format!("\"Sid\": \"{sid}\"")),
            "{sid}:\n{text}"
        );
    }
    assert!(text.contains("`s3wardReadAccountPartner…`"), "{text}");
    assert_round_trip(&dir, &text, &[]).await;
}

/// SPEC "Policy comparison": `2008-10-17` and `2012-10-17` are equal without `${`. A bucket
/// policy written by CloudFront's console (2008-10-17, with an `Id`) imports and plans to
/// `No changes.`; and a plan file in `merge` mode whose statements AWS holds on 2008-10-17,
/// beside another writer's, plans to `No changes.` too.
#[tokio::test]
async fn a_2008_10_17_bucket_policy_converges_in_both_modes() {
    let dir = PlanDir::new();
    let c = sdk(None).await;
    let bucket = unique("imp-v2008");
    create_bucket(&c.s3, &bucket).await;
    let cloudfront = json!({
        "Version": "2008-10-17",
        "Id": "PolicyForCloudFrontPrivateContent",
        "Statement": [{
            "Sid": "AllowCloudFrontServicePrincipal", "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*"),
            "Condition": {"StringEquals": {"AWS:SourceArn":
                "arn:aws:cloudfront::111122223333:distribution/EDFDVBD6EXAMPLE"}}
        }]
    });
    put_policy(&c.s3, &bucket, &cloudfront.to_string()).await;
    let (run, text) = import(&dir, &["--account", AMBIENT_ACCOUNT, "--bucket", &bucket]).await;
    assert!(!run.stderr.contains("Version"), "{run}\n{text}");
    assert!(!text.contains("`Version`"), "{text}");
    assert_round_trip(&dir, &text, &[]).await;

    // Merge mode: s3ward's statements and the CloudFront one, all on 2008-10-17.
    let dir = PlanDir::new();
    let plan = format!(
        r#"version = 1

[accounts.main]
id = "{AMBIENT_ACCOUNT}"

[buckets.site]
account = "main"
name = "{bucket}"
policy_mode = "merge"

[[buckets.site.grants]]
to = "arn:aws:iam::222222222222:root"
access = "read"
"#
    );
    apply(&dir, &plan).await;
    let mut live = fixtures::live_policy(&c.s3, &bucket).await;
    let statements = live["Statement"].as_array().unwrap().len();
    assert!(statements > 1, "{live}");
    live["Version"] = json!("2008-10-17");
    put_policy(&c.s3, &bucket, &live.to_string()).await;
    fixtures::assert_no_changes(&dir, None).await;
}

// --- 3. Trust, attachments, inline policies ---------------------------------------------------

#[tokio::test]
async fn irsa_trust_attachments_and_inline_policies() {
    let dir = PlanDir::new();
    let c = sdk(None).await;
    let role = unique("imp-irsa");
    let provider = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::{AMBIENT_ACCOUNT}:oidc-provider/{provider}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                format!("{provider}:sub"): "system:serviceaccount:serving:vllm",
                format!("{provider}:aud"): "sts.amazonaws.com"
            }}
        }]
    });
    create_role(&c.iam, &role, &trust.to_string()).await;
    for arn in [
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    ] {
        ok(c.iam
            .attach_role_policy()
            .role_name(&role)
            .policy_arn(arn)
            .send()
            .await);
    }
    put_role_policy(
        &c.iam,
        &role,
        "kms-decrypt",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"s3.eu-west-1.amazonaws.com"}}}]}"#,
    )
    .await;
    put_role_policy(
        &c.iam,
        &role,
        "quoted",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Quote","Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::x/it's'''here/*"}]}"#,
    )
    .await;
    ok(c.iam
        .tag_role()
        .role_name(&role)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("s3ward:applied")
                .value("trust=abcd")
                .build()
                .unwrap(),
        )
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("team")
                .value("serving")
                .build()
                .unwrap(),
        )
        .send()
        .await);
    let (_, text) = import(&dir, &["--account", AMBIENT_ACCOUNT, "--role", &role]).await;
    for want in [
        format!("{{ eks = {{ oidc_provider = \"{provider}\", namespace = \"serving\", service_account = \"vllm\" }} }}"),
        "managed_policies = [\n  \"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess\",\n  \"arn:aws:iam::aws:policy/ReadOnlyAccess\",\n]".into(),
        "kms-decrypt = '''".into(),
        // `'''` inside the JSON: a basic string with escapes.
        "quoted = \"\"\"".into(),
        "tags = { team = \"serving\" }".into(),
    ] {
        assert!(text.contains(&want), "no {want:?} in:\n{text}");
    }
    // The whole output after the header (whose line breaks move with the role name's length),
    // as a user reads it.
    let body = &text[text.find("version = 1").expect("a version line")..];
    insta::assert_snapshot!("import_irsa_role", body.replace(&role, "[ROLE]"));
    assert_round_trip(&dir, &text, &[]).await;
}

#[tokio::test]
async fn a_trust_policy_with_conditions_stays_raw() {
    let dir = PlanDir::new();
    let c = sdk(None).await;
    let role = unique("imp-gha");
    let trust = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
         "Action":"sts:AssumeRoleWithWebIdentity",
         "Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/models:*"},
                      "StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}},
        {"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    create_role(&c.iam, &role, trust).await;
    let (_, text) = import(&dir, &["--account", AMBIENT_ACCOUNT, "--role", &role]).await;
    assert!(text.contains("trust_policy = '''"), "{text}");
    assert!(
        text.contains("statement 0 has no `StringEquals` on `:sub`"),
        "{text}"
    );
    assert!(!text.contains("\ntrust = ["), "{text}");
    assert_round_trip(&dir, &text, &[]).await;
    // Without `--out`, the same text on stdout; `--out` never overwrites.
    let run = dir
        .s3ward(&["import", "--account", AMBIENT_ACCOUNT, "--role", &role])
        .run_async()
        .await;
    assert_eq!((run.code, run.stdout.as_str()), (0, text.as_str()), "{run}");
    let run = dir
        .s3ward(&[
            "import",
            "--account",
            AMBIENT_ACCOUNT,
            "--role",
            &role,
            "--out",
            IMPORTED,
        ])
        .run_async()
        .await;
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("already exists"), "{run}");
}

// --- 4. What import cannot reproduce is said ----------------------------------------------------

#[tokio::test]
async fn missing_resources_are_an_error_and_nothing_is_written() {
    let dir = PlanDir::new();
    let run = dir
        .s3ward(&[
            "import",
            "--account",
            AMBIENT_ACCOUNT,
            "--bucket",
            &unique("imp-none"),
            "--role",
            &unique("imp-none"),
            "--out",
            IMPORTED,
        ])
        .run_async()
        .await;
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("not found in account"), "{run}");
    assert!(!dir.path().join(IMPORTED).exists());
    // The wrong account is refused before any read.
    let run = dir
        .s3ward(&["import", "--account", STORAGE, "--role", "x"])
        .run_async()
        .await;
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains(&format!(
            "the credentials are for account {AMBIENT_ACCOUNT}, not `--account {STORAGE}`"
        )),
        "{run}"
    );
    assert!(!run.stderr.contains("[accounts."), "{run}");
}

// --- 5. The public corpus --------------------------------------------------------------------

fn corpus(kind: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(kind);
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no corpus in {}", dir.display());
    out
}

/// `Resource`/`NotResource` ARNs of any bucket rewritten to `bucket` (S3 accepts only its own).
fn to_bucket(policy: &str, bucket: &str) -> Value {
    let mut v: Value = serde_json::from_str(policy).unwrap();
    let rewrite = |s: &str| -> String {
        match s.strip_prefix("arn:aws:s3:::") {
            Some(rest) => match rest.split_once('/') {
                Some((_, key)) => format!("arn:aws:s3:::{bucket}/{key}"),
                None => format!("arn:aws:s3:::{bucket}"),
            },
            None => s.to_string(),
        }
    };
    let statements = match &mut v["Statement"] {
        Value::Array(a) => a.iter_mut().collect::<Vec<_>>(),
        other => vec![other],
    };
    for st in statements {
        for k in ["Resource", "NotResource"] {
            match st.get_mut(k) {
                Some(Value::String(s)) => *s = rewrite(s),
                Some(Value::Array(a)) => {
                    for x in a {
                        if let Value::String(s) = x {
                            *s = rewrite(s);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    v
}

/// Every IAM role or user ARN a policy names as a principal.
fn principal_arns(policy: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let statements = match &policy["Statement"] {
        Value::Array(a) => a.iter().collect::<Vec<_>>(),
        other => vec![other],
    };
    for st in statements {
        for k in ["Principal", "NotPrincipal"] {
            let aws = &st[k]["AWS"];
            let values = match aws {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            out.extend(values.into_iter().map(str::to_string));
        }
    }
    out
}

#[tokio::test]
async fn the_public_corpus_round_trips() {
    let dir = PlanDir::new();
    let c = sdk(None).await;
    let mut plain = Vec::new();
    let mut lockout = Vec::new();
    for (name, text) in corpus("bucket") {
        let bucket = unique(&format!("imp-c{}", &name[..2]));
        create_bucket(&c.s3, &bucket).await;
        let policy = to_bucket(&text, &bucket);
        for arn in principal_arns(&policy) {
            ensure_principal(&arn).await;
        }
        let doc = s3ward::policy::PolicyDocument::from_value(&policy).unwrap();
        if doc
            .statements
            .iter()
            .any(s3ward::policy::lint::is_public_statement)
        {
            set_public_access_block(&c.s3, &bucket, [false; 4]).await;
        }
        put_policy(&c.s3, &bucket, &policy.to_string()).await;
        // A Deny that shuts out every principal of the account but a few also shuts out
        // s3ward: those need `--allow-self-lockout`, and are imported on their own.
        let offline = s3ward::policy::lint::Identity {
            account: AMBIENT_ACCOUNT.into(),
            ..Default::default()
        };
        let locks_out = s3ward::policy::lint::self_lockout(&doc.statements, &offline, &bucket)
            .iter()
            .any(|(_, _, t)| *t == s3ward::policy::lint::Tri::Yes);
        if locks_out {
            lockout.push(bucket);
        } else {
            plain.push(bucket);
        }
    }
    let mut roles = Vec::new();
    for (name, text) in corpus("trust") {
        let role = unique(&format!("imp-t{}", &name[..2]));
        let policy: Value = serde_json::from_str(&text).unwrap();
        for arn in principal_arns(&policy) {
            ensure_principal(&arn).await;
        }
        create_role(&c.iam, &role, &text).await;
        roles.push(role);
    }
    let holder = unique("imp-identity");
    create_role(&c.iam, &holder, EC2_TRUST).await;
    for (name, text) in corpus("identity") {
        put_role_policy(&c.iam, &holder, &name, &text).await;
    }
    roles.push(holder);

    let mut args = vec!["--account", AMBIENT_ACCOUNT, "--bucket"];
    args.extend(plain.iter().map(String::as_str));
    args.push("--role");
    args.extend(roles.iter().map(String::as_str));
    let (run, text) = import(&dir, &args).await;
    assert!(!run.stderr.contains("warning"), "{run}\n{text}");
    // Only s3ward's own statement ids make grants: the corpus has none.
    assert!(!text.contains("\n[[buckets."), "{text}");
    // Two trust policies fit typed entries (13: `Sid ""`; 15: a vendor root + external id).
    assert!(
        text.contains("trust = [\n  { service = \"ecs-tasks.amazonaws.com\" },\n]"),
        "{text}"
    );
    assert!(
        text.contains("{ account = \"270852171095\", external_id = \"example-external-id-0001\" }"),
        "{text}"
    );
    assert_round_trip(&dir, &text, &[]).await;

    assert!(
        !lockout.is_empty(),
        "the corpus has a self-lockout policy (19)"
    );
    let dir = PlanDir::new();
    let mut args = vec!["--account", AMBIENT_ACCOUNT, "--bucket"];
    args.extend(lockout.iter().map(String::as_str));
    let (run, text) = import(&dir, &args).await;
    assert!(run.stderr.contains("--allow-self-lockout"), "{run}");
    assert_round_trip(&dir, &text, &["--allow-self-lockout"]).await;
}
