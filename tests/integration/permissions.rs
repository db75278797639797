//! `s3ward permissions`: the printed policies cover every call a plan and an apply of
//! `plans/ml-models.toml` make (as the recording proxy sees them), and name nothing outside
//! the plan file; the output for the example is snapshotted.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::fixtures::{MlModels, PLAN, apply, run};
use crate::support::proxy::{Proxy, ProxyRules, Recorded};
use crate::support::{moto, ok, s3ward, sts_client};

/// The IAM action that authorises an operation (AWS's service authorization reference),
/// written here independently of `s3ward::permissions` so that a wrong action there fails.
fn action_of(service: &str, operation: &str) -> String {
    let action = match operation {
        "GetPublicAccessBlock" => "GetBucketPublicAccessBlock",
        "PutPublicAccessBlock" => "PutBucketPublicAccessBlock",
        "ListObjectsV2" => "ListBucket",
        "HeadObject" => "GetObject",
        "HeadBucket" => "ListBucket",
        other => other,
    };
    format!("{service}:{action}")
}

/// IAM's wildcard match (`*` any run, `?` one character); actions case-insensitively.
fn glob(pattern: &str, value: &str) -> bool {
    fn go(p: &[u8], v: &[u8]) -> bool {
        match (p.first(), v.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], v) || (!v.is_empty() && go(p, &v[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &v[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &v[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), value.as_bytes())
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|s| s.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether `policy` allows `action` on `resource` (Allow statements; no Deny is printed).
fn allows(policy: &Value, action: &str, resource: &str) -> bool {
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| {
            s["Effect"] == "Allow"
                && strings(&s["Action"])
                    .iter()
                    .any(|a| glob(&a.to_lowercase(), &action.to_lowercase()))
                && strings(&s["Resource"]).iter().any(|r| glob(r, resource))
        })
}

/// Every `Resource` the output names.
fn resources(out: &Value) -> BTreeSet<String> {
    let mut docs: Vec<&Value> = out["accounts"]
        .as_object()
        .expect("accounts")
        .values()
        .map(|a| &a["policy"])
        .collect();
    docs.extend(out.get("ambient").map(|a| &a["policy"]));
    docs.iter()
        .flat_map(|d| d["Statement"].as_array().into_iter().flatten())
        .flat_map(|s| strings(&s["Resource"]))
        .collect()
}

async fn account_of_key(access_key: &str) -> String {
    let creds = aws_credential_types::Credentials::new(access_key, "unused", None, None, "probe");
    let who = ok(sts_client(&moto().endpoint, creds)
        .get_caller_identity()
        .send()
        .await);
    who.account().expect("an account").to_string()
}

/// The (account, ARN) a recorded call acts on.
async fn target(r: &Recorded) -> (String, String) {
    let account = account_of_key(r.access_key.as_deref().expect("a signed request")).await;
    let name = r
        .resource
        .clone()
        .unwrap_or_else(|| panic!("no resource: {r:?}"));
    let arn = match r.service {
        "s3" => format!("arn:aws:s3:::{name}"),
        // The example's roles have no path.
        "iam" => format!("arn:aws:iam::{account}:role/{name}"),
        other => panic!("unexpected service {other}: {r:?}"),
    };
    (account, arn)
}

#[tokio::test]
async fn permissions_cover_every_call_of_a_plan_and_an_apply() {
    let ml = MlModels::new("perm-ml-models").await;
    let printed = ml
        .dir
        .s3ward(&["permissions", PLAN, "--for", "apply"])
        .run_async()
        .await;
    assert_eq!(printed.code, 0, "{printed}");
    let out: Value = serde_json::from_str(&printed.stdout).expect("JSON on stdout");

    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let ep = Some(proxy.endpoint.as_str());
    let plan = run(&ml.dir, ep, &["plan", PLAN]).await;
    assert_eq!(plan.code, 0, "{plan}");
    apply(&ml.dir, ep).await;
    let ops = proxy.operations();
    assert!(
        ops.iter().any(|r| !r.is_read()),
        "no write recorded: {ops:?}"
    );

    let assume_roles: Vec<String> = out["accounts"]
        .as_object()
        .expect("accounts")
        .values()
        .map(|a| a["attach_to"].as_str().expect("attach_to").to_string())
        .collect();
    let mut checked = 0;
    for r in &ops {
        match (r.service, r.operation.as_str()) {
            // Needs no permission: AWS answers GetCallerIdentity even under an explicit Deny.
            ("sts", "GetCallerIdentity") => continue,
            // The request names the role in its body, which the proxy does not keep: every
            // `assume_role` must be allowed to the credentials s3ward runs with.
            ("sts", "AssumeRole") => {
                for role in &assume_roles {
                    assert!(
                        allows(&out["ambient"]["policy"], "sts:AssumeRole", role),
                        "sts:AssumeRole on {role} not allowed:\n{}",
                        printed.stdout
                    );
                }
                checked += 1;
                continue;
            }
            _ => {}
        }
        let (account, arn) = target(r).await;
        let (_, entry) = out["accounts"]
            .as_object()
            .expect("accounts")
            .iter()
            .find(|(_, a)| a["account_id"] == account.as_str())
            .unwrap_or_else(|| panic!("no policy for account {account}: {r:?}"));
        let action = action_of(r.service, &r.operation);
        assert!(
            allows(&entry["policy"], &action, &arn),
            "{action} on {arn} (account {account}) is not allowed:\n{}",
            printed.stdout
        );
        checked += 1;
    }
    assert!(checked > 20, "too few calls checked: {ops:?}");

    // Nothing outside the plan file: its bucket, its roles, its `assume_role` roles.
    let mut expected = BTreeSet::from([
        format!("arn:aws:s3:::{}", ml.bucket),
        format!("arn:aws:iam::{}:role/{}", ml.compute, ml.inference),
        format!("arn:aws:iam::{}:role/{}", ml.compute, ml.ray),
    ]);
    expected.extend(assume_roles);
    assert_eq!(resources(&out), expected, "{}", printed.stdout);
}

#[test]
fn permissions_for_the_example_plan_file() {
    let root = env!("CARGO_MANIFEST_DIR");
    for purpose in ["plan", "apply", "check"] {
        let run = s3ward(&["permissions", "plans/ml-models.toml", "--for", purpose])
            .current_dir(root)
            .run();
        insta::assert_snapshot!(format!("permissions_{purpose}"), run.snapshot_text());
    }
    // `check --all-objects` lists whole buckets: no prefix condition.
    let all = |purpose: &str| {
        s3ward(&[
            "permissions",
            "plans/ml-models.toml",
            "--for",
            purpose,
            "--all-objects",
        ])
        .current_dir(root)
        .run()
    };
    let run = all("check");
    assert_eq!(run.code, 0, "{run}");
    insta::assert_snapshot!("permissions_check_all_objects", run.snapshot_text());
    insta::assert_snapshot!(
        "permissions_all_objects_for_plan",
        all("plan").snapshot_text()
    );
    // `plan` is the default.
    let default = s3ward(&["permissions", "plans/ml-models.toml"])
        .current_dir(root)
        .run();
    let plan = s3ward(&["permissions", "plans/ml-models.toml", "--for", "plan"])
        .current_dir(root)
        .run();
    assert_eq!(default.stdout, plan.stdout);
}

#[test]
fn matcher_follows_iam_wildcards() {
    assert!(glob("arn:aws:s3:::b/*", "arn:aws:s3:::b/k/l"));
    assert!(glob("s3:get*", "s3:getobject"));
    assert!(glob("arn:aws:iam::1:role/?", "arn:aws:iam::1:role/a"));
    assert!(!glob("arn:aws:s3:::b", "arn:aws:s3:::bb"));
    assert!(!glob("arn:aws:s3:::b/*", "arn:aws:s3:::b"));
}
