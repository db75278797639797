//! Tests of the whole plan-file stage: the example plans, the generated documents, and the
//! diagnostics for broken files.

use std::path::{Path, PathBuf};

use super::{Options, parse};
use crate::desired::{Desired, GRANTS_POLICY_NAME, Mode, ObjectOwnership, PublicAccessBlock};
use crate::policy::PolicyDocument;

fn example(name: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("plans")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

fn ok(text: &str) -> Desired {
    match parse(Path::new("test.toml"), text, Options::default()) {
        Ok(l) => l.desired,
        Err(r) => panic!("{}", r.render(false)),
    }
}

/// The rendered diagnostics of a plan that must fail.
fn errors(text: &str) -> String {
    match parse(Path::new("bad.toml"), text, Options::default()) {
        Ok(_) => panic!("plan file unexpectedly valid"),
        Err(r) => r.render(false),
    }
}

fn warnings(text: &str) -> String {
    match parse(Path::new("test.toml"), text, Options::default()) {
        Ok(l) => l.warnings.render(false),
        Err(r) => panic!("{}", r.render(false)),
    }
}

const HEAD: &str = r#"version = 1
[accounts.storage]
id = "111111111111"
[accounts.compute]
id = "222222222222"
assume_role = "arn:aws:iam::222222222222:role/s3ward"
"#;

#[test]
fn example_plans_resolve() {
    for name in ["ml-models.toml", "single-account.toml"] {
        let (path, text) = example(name);
        let loaded =
            parse(&path, &text, Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(loaded.warnings.errors(), 0);
    }
}

#[test]
fn ml_models_documents() {
    let (path, text) = example("ml-models.toml");
    let d = parse(&path, &text, Options::default()).unwrap().desired;
    let b = &d.buckets["models"];
    assert_eq!(b.name, "acme-ml-models");
    assert_eq!(b.ownership, Some(ObjectOwnership::BucketOwnerEnforced));
    assert_eq!(b.public_access_block, Some(PublicAccessBlock::all(true)));
    assert!(b.policy_statements.iter().all(|s| s.is_s3ward()));
    insta::assert_snapshot!(
        "ml_models_bucket_policy",
        b.policy_document().unwrap().to_pretty()
    );
    let inference = &d.roles["inference"];
    assert_eq!(inference.account_id, "222222222222");
    assert_eq!(inference.managed_policies_mode, Mode::Exclusive);
    insta::assert_snapshot!("ml_models_inference_trust", inference.trust.to_pretty());
    insta::assert_snapshot!(
        "ml_models_ray_grants",
        d.roles["ray-cluster"]
            .grants_policy
            .as_ref()
            .unwrap()
            .to_pretty()
    );
}

#[test]
fn documents_are_byte_identical_across_runs() {
    let (path, text) = example("ml-models.toml");
    let a = parse(&path, &text, Options::default()).unwrap().desired;
    let b = parse(&path, &text, Options::default()).unwrap().desired;
    for (k, bucket) in &a.buckets {
        assert_eq!(
            bucket.policy_document().map(|d| d.to_json()),
            b.buckets[k].policy_document().map(|d| d.to_json())
        );
    }
    for (k, role) in &a.roles {
        assert_eq!(role.trust.to_json(), b.roles[k].trust.to_json());
        assert_eq!(
            role.grants_policy.as_ref().map(PolicyDocument::to_json),
            b.roles[k]
                .grants_policy
                .as_ref()
                .map(PolicyDocument::to_json)
        );
    }
    assert_eq!(a.source.sha256, b.source.sha256);
    assert_eq!(a.source.sha256.len(), 64);
}

#[test]
fn every_trust_kind() {
    let d = ok(&format!(
        r#"{HEAD}
[roles.other]
account = "compute"
trust = [{{ service = "ec2.amazonaws.com" }}]

[roles.r]
account = "compute"
path = "/ml/"
trust = [
  {{ service = "ec2.amazonaws.com" }},
  {{ account = "storage" }},
  {{ account = "444444444444", external_id = "xyz" }},
  {{ arn = "arn:aws:iam::333333333333:role/x", external_id = "abc" }},
  {{ role = "other" }},
  {{ eks = {{ oidc_provider = "oidc.eks.us-east-1.amazonaws.com/id/ABC123", namespace = "ml", service_account = "inference" }} }},
]
"#
    ));
    insta::assert_snapshot!("every_trust_kind", d.roles["r"].trust.to_pretty());
    assert_eq!(d.roles["r"].arn(), "arn:aws:iam::222222222222:role/ml/r");
}

#[test]
fn raw_trust_policy_and_inline_policies() {
    let d = ok(&format!(
        r#"{HEAD}
[roles.r]
account = "compute"
trust_policy = '{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"ecs-tasks.amazonaws.com"}},"Action":"sts:AssumeRole"}}]}}'
managed_policies = ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]
managed_policies_mode = "additive"

[roles.r.inline_policies]
extra = '{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}}]}}'
inline_policies_mode = "additive"
"#
    ));
    let r = &d.roles["r"];
    assert_eq!(r.managed_policies_mode, Mode::Additive);
    // SPEC's example puts `inline_policies_mode` under the inline_policies header; it is the mode.
    assert_eq!(r.inline_policies_mode, Mode::Additive);
    assert_eq!(r.inline_policies.as_ref().unwrap().len(), 1);
    assert!(r.grants_policy.is_none());
}

#[test]
fn cross_account_writer_on_unenforced_bucket_needs_owner_full_control() {
    let d = ok(&format!(
        r#"{HEAD}
[roles.ray]
account = "compute"
trust = [{{ service = "ec2.amazonaws.com" }}]

[buckets.ckpt]
account = "storage"
name = "acme-ckpt"
object_ownership = "BucketOwnerPreferred"

[[buckets.ckpt.grants]]
to = "role.ray"
access = "write"
"#
    ));
    let doc = d.buckets["ckpt"].policy_document().unwrap().to_value();
    let put = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "s3wardWriteRoleRayPut")
        .unwrap();
    assert_eq!(
        put["Condition"]["StringEquals"]["s3:x-amz-acl"],
        "bucket-owner-full-control"
    );
    // The role's own policy holds the same grant, without a principal.
    let grants = d.roles["ray"].grants_policy.as_ref().unwrap();
    assert!(grants.statements.iter().all(|s| s.principal.is_none()));
    assert!(
        grants
            .statements
            .iter()
            .any(|s| s.sid.as_deref() == Some("s3wardCkptWritePut"))
    );
    assert!(d.roles["ray"].inline_policies.is_none());
    let _ = GRANTS_POLICY_NAME;
}

#[test]
fn three_mistakes_are_all_reported_with_line_and_column() {
    let out = errors(
        r#"version = 1
[accounts.storage]
id = "11111111111"
[buckets.b]
account = "storage"
name = "acme-b"
colour = "blue"
[[buckets.b.grants]]
to = "role.nobody"
access = "read"
"#,
    );
    insta::assert_snapshot!("three_mistakes", out);
}

#[test]
fn invalid_toml_reports_line_and_column() {
    let out = errors("version = 1\n[accounts.a]\nid = \"111111111111\n");
    assert!(out.contains("bad.toml:3:"), "{out}");
    assert!(out.contains("invalid TOML"), "{out}");
}

#[test]
fn missing_and_wrong_version() {
    assert!(errors("[accounts.a]\nid = \"111111111111\"\n").contains("missing `version`"));
    assert!(errors("version = 2\n").contains("unsupported plan file version"));
}

#[test]
fn unknown_keys_everywhere_are_errors() {
    for (text, key) in [
        ("version = 1\nregoin = \"x\"\n", "regoin"),
        ("version = 1\n[settings]\nnmae = \"x\"\n", "nmae"),
        (
            &format!("{HEAD}[accounts.x]\nid = \"333333333333\"\nrole = \"x\"\n"),
            "role",
        ),
        (
            &format!("{HEAD}[buckets.b]\naccount = \"storage\"\nacl = \"private\"\n"),
            "acl",
        ),
        (
            &format!(
                "{HEAD}[buckets.b]\naccount = \"storage\"\n[[buckets.b.grants]]\nto = \"*\"\naccess = \"read\"\nprefix = [\"a/\"]\n"
            ),
            "prefix",
        ),
        (
            &format!(
                "{HEAD}[roles.r]\naccount = \"storage\"\ntrust = [{{ service = \"ec2.amazonaws.com\", sevrice = 1 }}]\n"
            ),
            "sevrice",
        ),
        (
            &format!(
                "{HEAD}[buckets.b]\naccount = \"storage\"\nblock_public_access = {{ block_public_acls = true, ignore_public_acls = true, block_public_policy = true, restrict_public_bucket = true }}\n"
            ),
            "restrict_public_bucket",
        ),
    ] {
        let out = errors(text);
        assert!(out.contains(&format!("`{key}`")), "{key}: {out}");
    }
}

#[test]
fn public_grants_are_refused_unless_explicit() {
    let base = format!("{HEAD}[buckets.b]\naccount = \"storage\"\nname = \"acme-b\"\n");
    let grant = "[[buckets.b.grants]]\nto = \"*\"\naccess = \"read\"\n";
    assert!(errors(&format!("{base}{grant}")).contains("needs `public = true`"));
    assert!(errors(&format!("{base}{grant}public = true\n")).contains("blocks public policies"));
    let d = ok(&format!(
        "{HEAD}[buckets.b]\naccount = \"storage\"\nname = \"acme-b\"\nblock_public_access = false\n{grant}public = true\n"
    ));
    assert!(d.buckets["b"].policy_document().is_some());
}

#[test]
fn self_lockout_is_refused_and_can_be_allowed() {
    let text = format!(
        r#"{HEAD}[buckets.b]
account = "storage"
name = "acme-b"
extra_policy_statements = '[{{"Sid":"s3wardDenyAll","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::acme-b"}}]'
"#
    );
    assert!(errors(&text).contains("would deny `s3:PutBucketPolicy` to s3ward"));
    let allowed = parse(
        Path::new("t.toml"),
        &text,
        Options {
            allow_self_lockout: true,
        },
    )
    .unwrap();
    assert_eq!(allowed.warnings.warnings(), 1);
    // The common TLS-only Deny is fine.
    ok(&format!(
        r#"{HEAD}[buckets.b]
account = "storage"
name = "acme-b"
extra_policy_statements = '[{{"Sid":"s3wardTls","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::acme-b","arn:aws:s3:::acme-b/*"],"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}]'
"#
    ));
}

#[test]
fn policy_size_limits() {
    let mut text = format!("{HEAD}[buckets.b]\naccount = \"storage\"\nname = \"acme-b\"\n");
    for i in 0..120 {
        text.push_str(&format!(
            "[[buckets.b.grants]]\nto = \"arn:aws:iam::333333333333:role/reader-{i:03}\"\naccess = \"read\"\nprefixes = [\"models/some-long-directory-name-{i:03}/\"]\n"
        ));
    }
    assert!(errors(&text).contains("S3 allows 20480"));
    let mut trust = String::from("trust = [\n");
    for i in 0..40 {
        trust.push_str(&format!(
            "  {{ arn = \"arn:aws:iam::333333333333:role/caller-{i:03}\" }},\n"
        ));
    }
    trust.push_str("]\n");
    let out = errors(&format!("{HEAD}[roles.r]\naccount = \"compute\"\n{trust}"));
    assert!(out.contains("IAM allows 2048"), "{out}");
}

#[test]
fn a_repeated_json_key_is_an_error_at_its_line_and_column() {
    // Each kind of raw JSON the plan file takes. In literal strings (`'`, `'''`) the
    // diagnostic points at the repeated key itself; in a basic string with escapes, whose
    // text is not the JSON's byte for byte, at the string.
    let out = errors(&format!(
        r#"{HEAD}
[roles.r]
account = "compute"
trust_policy = '''
{{"Version": "2012-10-17", "Statement": [{{
  "Effect": "Deny",
  "Principal": {{"Service": "ec2.amazonaws.com"}},
  "Action": "sts:AssumeRole",
  "Effect": "Allow"
}}]}}'''

[roles.r.inline_policies]
extra = '{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Resource":"arn:aws:kms:us-east-1:222222222222:key/k"}}]}}'
other = "{{\"Version\":\"2012-10-17\",\"Version\":\"2012-10-17\",\"Statement\":[]}}"

[buckets.b]
account = "storage"
name = "acme-b"
extra_policy_statements = '''[
  {{"Sid": "DenyHttp", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
    "Resource": "arn:aws:s3:::acme-b/*",
    "Condition": {{"Bool": {{"aws:SecureTransport": "false", "aws:SecureTransport": "true"}}}}}}
]'''
"#
    ));
    insta::assert_snapshot!("repeated_json_keys", out);
}

#[test]
fn merge_mode_extra_statements_must_be_s3ward_owned() {
    let out = errors(&format!(
        r#"{HEAD}[buckets.b]
account = "storage"
name = "acme-b"
policy_mode = "merge"
extra_policy_statements = '[{{"Sid":"Vendor","Effect":"Allow","Principal":{{"AWS":"333333333333"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-b/*"}}]'
"#
    ));
    assert!(
        out.contains("needs a Sid starting with `s3wardbad` and a capital letter"),
        "{out}"
    );
    // A Sid of the form every plan of the bucket would own is not enough either: two plan
    // files sharing the bucket would fight over it.
    let out = errors(&format!(
        r#"{HEAD}[buckets.b]
account = "storage"
name = "acme-b"
policy_mode = "merge"
extra_policy_statements = '[{{"Sid":"s3wardDenyHttp","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::acme-b/*","Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}]'
"#
    ));
    assert!(
        out.contains("needs a Sid starting with `s3wardbad`"),
        "{out}"
    );
}

#[test]
fn useful_warnings() {
    let w = warnings(&format!(
        r#"{HEAD}[buckets.b]
account = "storage"
name = "acme-b"
[[buckets.b.grants]]
to = "account.compute"
access = "full"
[[buckets.b.grants]]
to = "account.compute"
access = "full"
[[buckets.b.grants]]
to = "account.compute"
access = "read"
prefixes = ["models"]
"#
    ));
    assert!(
        w.contains("`full` access to the whole bucket `b` for another account"),
        "{w}"
    );
    assert!(w.contains("this grant repeats an earlier one"), "{w}");
    assert!(w.contains("prefix `models` does not end with `/`"), "{w}");
}

#[test]
fn two_entries_for_one_bucket_are_refused() {
    let out = errors(&format!(
        "{HEAD}[buckets.a]\naccount = \"storage\"\nname = \"acme-same\"\n[buckets.b]\naccount = \"storage\"\nname = \"acme-same\"\n"
    ));
    assert!(out.contains("all name the bucket `acme-same`"), "{out}");
}

#[test]
fn references_are_checked() {
    let out = errors(&format!(
        r#"{HEAD}[principals.vendor]
account = "nowhere"
[roles.r]
account = "compute"
trust = [{{ role = "ghost" }}, {{ account = "storag" }}]
[buckets.b]
account = "storage"
name = "acme-b"
[[buckets.b.grants]]
to = "principal.vendr"
access = "list"
"#
    ));
    for needle in [
        "`nowhere` is neither an `[accounts]` key",
        "unknown role `ghost`",
        "did you mean `storage`?",
        "did you mean `principal.vendor`?",
    ] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
}

#[test]
fn reserved_names() {
    let out = errors(&format!(
        r#"{HEAD}[roles.r]
account = "compute"
trust = [{{ service = "ec2.amazonaws.com" }}]
tags = {{ "s3ward:applied" = "x", "aws:foo" = "y" }}
[roles.r.inline_policies]
s3ward-grants = '{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}]}}'
"#
    ));
    assert!(out.contains("`s3ward-grants` is reserved"), "{out}");
    assert!(
        out.contains("tag key `s3ward:applied` is reserved"),
        "{out}"
    );
    assert!(out.contains("tag key `aws:foo` is reserved"), "{out}");
}

/// Broken plan files of every kind: each gives an error at a place in the file, never a panic.
#[test]
fn broken_plan_files_give_clear_errors() {
    let huge_key = "k".repeat(100_000);
    let many_buckets: String = (0..3000)
        .map(|i| format!("[buckets.b{i}]\naccount = \"storage\"\nname = \"acme-{i}\"\nobject_ownership = \"Nope\"\n"))
        .collect();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "unterminated string",
            "version = 1\nx = \"abc\n".into(),
            "invalid TOML",
        ),
        (
            "duplicate key",
            "version = 1\nversion = 1\n".into(),
            "invalid TOML",
        ),
        (
            "duplicate table",
            format!("{HEAD}[accounts.storage]\nid = \"333333333333\"\n"),
            "invalid TOML",
        ),
        (
            "bad table header",
            "version = 1\n[buckets.\n".into(),
            "invalid TOML",
        ),
        (
            "version as string",
            "version = \"1\"\n".into(),
            "unsupported plan file version",
        ),
        (
            "accounts not a table",
            "version = 1\naccounts = 3\n".into(),
            "must be a table",
        ),
        (
            "id as integer",
            "version = 1\n[accounts.a]\nid = 111111111111\n".into(),
            "invalid type",
        ),
        (
            "grants as table",
            format!("{HEAD}[buckets.b]\naccount = \"storage\"\ngrants = 3\n"),
            "invalid type",
        ),
        (
            "prefixes with a number",
            format!(
                "{HEAD}[buckets.bkt]\naccount = \"storage\"\n[[buckets.bkt.grants]]\nto = \"account.compute\"\naccess = \"read\"\nprefixes = [\"a/\", 3]\n"
            ),
            "invalid type",
        ),
        (
            "negative session",
            format!(
                "{HEAD}[roles.r]\naccount = \"storage\"\nmax_session_duration = -5\ntrust = [{{ service = \"ec2.amazonaws.com\" }}]\n"
            ),
            "out of range",
        ),
        (
            "unknown reference",
            format!(
                "{HEAD}[roles.r]\naccount = \"nowhere\"\ntrust = [{{ service = \"ec2.amazonaws.com\" }}]\n"
            ),
            "unknown account",
        ),
        (
            "trust entry with two kinds",
            format!(
                "{HEAD}[roles.r]\naccount = \"storage\"\ntrust = [{{ service = \"ec2.amazonaws.com\", account = \"storage\" }}]\n"
            ),
            "exactly one kind",
        ),
        (
            "empty trust",
            format!("{HEAD}[roles.r]\naccount = \"storage\"\ntrust = []\n"),
            "at least one entry",
        ),
        (
            "both trusts",
            format!(
                "{HEAD}[roles.r]\naccount = \"storage\"\ntrust = [{{ service = \"ec2.amazonaws.com\" }}]\ntrust_policy = '{{}}'\n"
            ),
            "not both",
        ),
        (
            "trust policy not JSON",
            format!("{HEAD}[roles.r]\naccount = \"storage\"\ntrust_policy = 'nope'\n"),
            "invalid policy document",
        ),
        (
            "extra statements not JSON",
            format!(
                "{HEAD}[buckets.bkt]\naccount = \"storage\"\nextra_policy_statements = '[{{'\n"
            ),
            "invalid `extra_policy_statements`",
        ),
        (
            "unicode bucket name",
            format!("{HEAD}[buckets.bkt]\naccount = \"storage\"\nname = \"modèles\"\n"),
            "not a valid S3 bucket name",
        ),
        (
            "unicode key",
            format!("{HEAD}[buckets.\"modèles\"]\naccount = \"storage\"\nname = \"acme-x\"\n"),
            "not a usable key",
        ),
        (
            "emoji tag",
            format!("{HEAD}[buckets.bkt]\naccount = \"storage\"\ntags = {{ team = \"ml 🚀\" }}\n"),
            "not a valid tag value",
        ),
        (
            "right-to-left override",
            format!(
                "{HEAD}[roles.\"r\u{202e}x\"]\naccount = \"storage\"\ntrust = [{{ service = \"ec2.amazonaws.com\" }}]\n"
            ),
            "not a usable key",
        ),
        (
            "nul byte",
            "version = 1\n[accounts.a]\nid = \"1111\u{0}11111111\"\n".into(),
            "invalid TOML",
        ),
        (
            "huge key",
            format!("version = 1\n[accounts.{huge_key}]\nid = \"111111111111\"\n"),
            "is not a usable key in `[accounts]`",
        ),
        (
            "huge file",
            format!("{HEAD}{many_buckets}"),
            "unknown object ownership",
        ),
        ("empty file", String::new(), "missing `version`"),
        (
            "only comments",
            "# nothing here\n".into(),
            "missing `version`",
        ),
        // A byte order mark is skipped (editors on Windows write one); the error after it
        // is still placed on its own line and column.
        (
            "BOM",
            "\u{feff}version = 1\nx = 1\n".into(),
            "unknown key `x`\n --> bad.toml:2:1",
        ),
        (
            "deeply nested array",
            format!("version = 1\nx = {}\n", "[".repeat(100_000)),
            "invalid TOML",
        ),
        (
            "deeply nested statements",
            format!(
                "{HEAD}[buckets.bkt]\naccount = \"storage\"\nextra_policy_statements = '{}'\n",
                "[".repeat(200_000)
            ),
            "invalid `extra_policy_statements`",
        ),
        (
            "lock without a key",
            "version = 1\n[settings]\nlock = \"s3://ops-bucket\"\n".into(),
            "not an S3 object URL",
        ),
        (
            "lock over https",
            "version = 1\n[settings]\nlock = \"https://b/k\"\n".into(),
            "not an S3 object URL",
        ),
        (
            "lone surrogate",
            "version = 1\n[accounts.a]\nid = \"\\uD800\"\n".into(),
            "invalid TOML",
        ),
    ];
    for (name, text, want) in cases {
        let r =
            std::panic::catch_unwind(|| parse(Path::new("bad.toml"), &text, Options::default()));
        let r = r.unwrap_or_else(|_| panic!("{name}: panicked"));
        assert!(!want.is_empty(), "{name}: a case must say what it expects");
        match r {
            Ok(_) => panic!("{name}: accepted"),
            Err(report) => {
                assert!(report.errors() > 0, "{name}");
                let out = report.render(false);
                assert!(out.contains(want), "{name}: wanted `{want}` in\n{out}");
                // Every error points into the file (a line and column), except whole-file ones.
                assert!(
                    report.diagnostics.iter().all(|d| d.span.is_some()),
                    "{name}: an error without a place"
                );
            }
        }
    }
}

#[test]
fn sids_never_collide() {
    let d = ok(&format!(
        r#"{HEAD}
[roles.model]
account = "compute"
trust = [{{ service = "ec2.amazonaws.com" }}]
[roles.model2]
account = "compute"
trust = [{{ service = "ec2.amazonaws.com" }}]
[buckets.models]
account = "storage"
name = "acme-models"
[buckets.models-read]
account = "storage"
name = "acme-models-read"
[[buckets.models.grants]]
to = "role.model"
access = "read"
prefixes = ["a/"]
[[buckets.models.grants]]
to = "role.model"
access = "read"
prefixes = ["b/"]
[[buckets.models.grants]]
to = "role.model2"
access = "read"
[[buckets.models.grants]]
to = "role.model"
access = "read-write"
[[buckets.models-read.grants]]
to = "role.model"
access = "write"
"#
    ));
    let sids: Vec<String> = d.buckets["models"]
        .policy_statements
        .iter()
        .filter_map(|s| s.sid.clone())
        .collect();
    let unique: std::collections::BTreeSet<&String> = sids.iter().collect();
    assert_eq!(unique.len(), sids.len(), "{sids:?}");
    assert!(sids.contains(&"s3wardReadRoleModel2List".to_string()));
    assert!(
        sids.contains(&"s3wardReadRoleModel22List".to_string()),
        "{sids:?}"
    );
    for r in d.roles.values() {
        let sids: Vec<String> = r
            .grants_policy
            .iter()
            .flat_map(|g| g.statements.iter().filter_map(|s| s.sid.clone()))
            .collect();
        let unique: std::collections::BTreeSet<&String> = sids.iter().collect();
        assert_eq!(unique.len(), sids.len(), "{sids:?}");
    }
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let d = ok("\u{feff}version = 1\n[settings]\nname = \"bom\"\n");
    assert_eq!(d.name, "bom");
}

#[test]
fn prefixes_holding_a_policy_variable_are_refused_at_their_line() {
    let out = errors(&format!(
        r#"{HEAD}[roles.r]
account = "storage"
trust = [{{ service = "ec2.amazonaws.com" }}]
[buckets.b]
account = "storage"
name = "acme-b"
[[buckets.b.grants]]
to = "role.r"
access = "read"
prefixes = ["home/${{aws:username}}/", "shared/"]
[[buckets.b.models]]
prefix = "models/${{aws:PrincipalTag/team}}/"
"#
    ));
    insta::assert_snapshot!("policy_variable_prefixes", out);
}

#[test]
fn a_deny_that_might_lock_s3ward_out_is_named_at_validate() {
    let text = format!(
        r#"{HEAD}[buckets.b]
account = "storage"
name = "acme-b"
extra_policy_statements = '[{{"Sid":"s3wardVpceOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::acme-b","Condition":{{"StringNotEquals":{{"aws:SourceVpce":"vpce-1"}}}}}}]'
"#
    );
    let out = warnings(&text);
    assert!(
        out.contains("might deny `s3:PutBucketPolicy`") && out.contains("`aws:SourceVpce`"),
        "{out}"
    );
}
