//! `s3ward plan`: each test builds a live state in moto with the SDK, writes a plan file,
//! runs the binary and checks the change set it prints (text, markdown, JSON), its exit
//! codes, the saved plan, and that it only ever reads.
//!
//! In-sync live states are built from the plan file itself: the test parses it with the
//! `s3ward` library and writes exactly the documents s3ward would write ([`converge`]);
//! each test then moves one thing away from that.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_s3::types::ObjectOwnership;
use futures::StreamExt;
use s3ward::desired::{Bucket, Desired, GRANTS_POLICY_NAME, Role};
use serde_json::{Map, Value, json};

use crate::support::fixtures::{
    FOREIGN_OWNER_ID, PLAN, assert_only_reads, attach_policy, create_bucket, grant_read_acl,
    json_of, last_line, put_policy, put_role_policy, run, set_bucket_tags, set_ownership,
    set_public_access_block, sha256_hex,
};
use crate::support::json_doc::{check_documented, documented_fields};
use crate::support::plans::{AMBIENT_MAIN, S3_READ_ONLY};
use crate::support::proxy::{Fault, Proxy, ProxyRules, Rule};
use crate::support::{
    AMBIENT_ACCOUNT, Clients, PRINCIPAL_DELAY_HEADER, PlanDir, Run, moto, ok, sdk, sts_client,
    unique,
};

/// The account that holds buckets in cross-account plans.
const STORAGE: &str = "111111111111";
/// The account that holds roles in cross-account plans.
const COMPUTE: &str = "222222222222";
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
/// A role's unique id, as AWS shows it in a policy once the role is deleted.
const DELETED_ROLE_ID: &str = "AROA5EXAMPLEDELETED1A";

/// `[accounts.storage]` and `[accounts.compute]`, both reached through AssumeRole.
const TWO_ACCOUNTS: &str = r#"version = 1

[accounts.storage]
id = "111111111111"
assume_role = "arn:aws:iam::111111111111:role/s3ward"

[accounts.compute]
id = "222222222222"
assume_role = "arn:aws:iam::222222222222:role/s3ward"
"#;

// --- Fixture ------------------------------------------------------------------------------

/// A plan file in its own directory, and what the s3ward library makes of it.
struct Fixture {
    dir: PlanDir,
    text: String,
    desired: Desired,
}

impl Fixture {
    fn new(text: impl Into<String>) -> Fixture {
        let text = text.into();
        let dir = PlanDir::new();
        let path = dir.write(PLAN, &text);
        let loaded = s3ward::plan_file::parse(
            &path,
            &text,
            s3ward::plan_file::Options {
                allow_self_lockout: false,
            },
        )
        .unwrap_or_else(|e| panic!("the test's plan file does not resolve: {e:?}\n{text}"));
        Fixture {
            dir,
            text,
            desired: loaded.desired,
        }
    }

    fn bucket(&self, key: &str) -> &Bucket {
        &self.desired.buckets[key]
    }

    fn role(&self, key: &str) -> &Role {
        &self.desired.roles[key]
    }

    /// The bucket policy s3ward would write, as a JSON value.
    fn policy(&self, key: &str) -> Value {
        let doc = self
            .bucket(key)
            .policy_document()
            .expect("the bucket has a policy");
        serde_json::from_str(&doc.to_json()).expect("policy JSON")
    }

    /// `s3ward plan plan.toml ARGS...` in the plan's directory.
    async fn plan(&self, args: &[&str]) -> Run {
        self.plan_at(None, args).await
    }

    /// The same, talking to `endpoint` (a proxy) instead of moto.
    async fn plan_at(&self, endpoint: Option<&str>, args: &[&str]) -> Run {
        let mut all = vec!["plan", PLAN];
        all.extend_from_slice(args);
        run(&self.dir, endpoint, &all).await
    }

    /// `plan --format json ARGS...`: the run and its JSON.
    async fn json(&self, args: &[&str]) -> (Run, Value) {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let run = self.plan(&all).await;
        let plan = json_of(&run);
        (run, plan)
    }

    /// Makes the live policy of bucket `key` the one s3ward would write plus `statement`
    /// (a hand-added statement).
    async fn put_policy_with(&self, accounts: &Accounts, key: &str, statement: Value) {
        let b = self.bucket(key);
        let live = with_statement(self.policy(key), statement);
        put_policy(&accounts.get(&b.account_id).s3, &b.name, &live.to_string()).await;
    }
}

/// `(address, action)` of every change in a JSON plan, in output order.
fn changes(plan: &Value) -> Vec<(String, String)> {
    plan["changes"]
        .as_array()
        .expect("changes is an array")
        .iter()
        .map(|c| {
            (
                c["address"].as_str().expect("address").to_string(),
                c["action"].as_str().expect("action").to_string(),
            )
        })
        .collect()
}

fn change<'a>(plan: &'a Value, address: &str) -> &'a Value {
    plan["changes"]
        .as_array()
        .expect("changes is an array")
        .iter()
        .find(|c| c["address"] == address)
        .unwrap_or_else(|| panic!("no change at {address}: {plan:#}"))
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

// --- Building live state -------------------------------------------------------------------

/// Clients per account id, built once per setup.
struct Accounts(BTreeMap<String, Clients>);

impl Accounts {
    async fn new(ids: impl IntoIterator<Item = &str>) -> Accounts {
        let mut map = BTreeMap::new();
        for id in ids {
            if !map.contains_key(id) {
                map.insert(id.to_string(), sdk(Some(id)).await);
            }
        }
        Accounts(map)
    }

    async fn of(desired: &Desired) -> Accounts {
        Accounts::new(desired.accounts.values().map(|a| a.id.as_str())).await
    }

    fn get(&self, id: &str) -> &Clients {
        &self.0[id]
    }
}

/// Builds, with the SDK, exactly the live state the plan file asks for: roles (trust,
/// tags, description, session length, inline and managed policies), then buckets
/// (ownership, public access block, tags, policy).
async fn converge(desired: &Desired) -> Accounts {
    let accounts = Accounts::of(desired).await;
    for r in desired.roles.values() {
        create_planned_role(accounts.get(&r.account_id), r).await;
    }
    futures::stream::iter(desired.buckets.values())
        .for_each_concurrent(16, |b| {
            create_planned_bucket(accounts.get(&b.account_id), b)
        })
        .await;
    accounts
}

async fn create_planned_role(c: &Clients, r: &Role) {
    create_role_with_trust(c, r, &r.trust.to_json()).await;
    if let Some(doc) = &r.grants_policy {
        put_role_policy(&c.iam, &r.name, GRANTS_POLICY_NAME, &doc.to_json()).await;
    }
    for (name, doc) in r.inline_policies.iter().flatten() {
        put_role_policy(&c.iam, &r.name, name, &doc.to_json()).await;
    }
    for arn in r.managed_policies.iter().flatten() {
        attach_policy(&c.iam, &r.name, arn).await;
    }
}

/// CreateRole as the plan file says, but with `trust` as the trust policy.
async fn create_role_with_trust(c: &Clients, r: &Role, trust: &str) {
    let tags: Vec<aws_sdk_iam::types::Tag> = r
        .tags
        .iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("a tag")
        })
        .collect();
    ok(c.iam
        .create_role()
        .role_name(&r.name)
        .path(r.path_or_default())
        .assume_role_policy_document(trust)
        .set_description(r.description.clone())
        .set_max_session_duration(r.max_session_duration)
        .set_tags((!tags.is_empty()).then_some(tags))
        .customize()
        .mutate_request(|req| {
            req.headers_mut().insert(PRINCIPAL_DELAY_HEADER, "0");
        })
        .send()
        .await);
}

async fn create_planned_bucket(c: &Clients, b: &Bucket) {
    create_bucket(&c.s3, &b.name).await;
    if let Some(o) = b.ownership {
        set_ownership(&c.s3, &b.name, ObjectOwnership::from(o.as_str())).await;
    }
    if let Some(p) = b.public_access_block {
        set_public_access_block(
            &c.s3,
            &b.name,
            [
                p.block_public_acls,
                p.ignore_public_acls,
                p.block_public_policy,
                p.restrict_public_buckets,
            ],
        )
        .await;
    }
    if !b.tags.is_empty() {
        set_bucket_tags(&c.s3, &b.name, &b.tags).await;
    }
    if let Some(doc) = b.policy_document() {
        put_policy(&c.s3, &b.name, &doc.to_json()).await;
    }
}

/// `policy` with `statement` appended.
fn with_statement(mut policy: Value, statement: Value) -> Value {
    policy["Statement"]
        .as_array_mut()
        .expect("Statement is a list")
        .push(statement);
    policy
}

/// A policy equal in meaning to `policy` but written the other way in every respect the
/// SPEC lists: statements in reverse order, keys in reverse order, strings and one-element
/// lists swapped, lists reversed, action names and Effect in lower case, root ARNs as bare
/// account ids, `"*"` as `{"AWS": "*"}`, and pretty-printed.
fn written_differently(policy: &Value) -> String {
    let statements: Vec<Value> = policy["Statement"]
        .as_array()
        .expect("Statement is a list")
        .iter()
        .rev()
        .map(statement_written_differently)
        .collect();
    let doc = json!({"Statement": statements, "Version": policy["Version"]});
    serde_json::to_string_pretty(&doc).expect("JSON")
}

fn statement_written_differently(st: &Value) -> Value {
    let mut out = Map::new();
    for (k, v) in st.as_object().expect("a statement").iter().rev() {
        let v = match k.as_str() {
            "Effect" => json!(v.as_str().expect("Effect").to_lowercase()),
            "Action" | "NotAction" => flip_list(v, |s| s.to_lowercase()),
            "Resource" | "NotResource" => flip_list(v, str::to_string),
            "Principal" => match v {
                Value::String(s) if s == "*" => json!({"AWS": "*"}),
                Value::Object(m) => Value::Object(
                    m.iter()
                        .map(|(k, v)| (k.clone(), flip_list(v, bare_account)))
                        .collect(),
                ),
                other => other.clone(),
            },
            "Condition" => Value::Object(
                v.as_object()
                    .expect("Condition")
                    .iter()
                    .map(|(op, m)| {
                        let m: Map<String, Value> = m
                            .as_object()
                            .expect("condition operator")
                            .iter()
                            .map(|(k, v)| (k.clone(), flip_list(v, str::to_string)))
                            .collect();
                        (op.clone(), Value::Object(m))
                    })
                    .collect(),
            ),
            _ => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    Value::Object(out)
}

/// A string becomes a one-element list, a one-element list a string, a longer list is
/// reversed; `f` rewrites each item.
fn flip_list(v: &Value, f: impl Fn(&str) -> String) -> Value {
    match v {
        Value::String(s) => json!([f(s)]),
        Value::Array(items) if items.len() == 1 => json!(f(items[0].as_str().expect("a string"))),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .rev()
                .map(|i| json!(f(i.as_str().expect("a string"))))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `arn:aws:iam::ID:root` → `ID`.
fn bare_account(s: &str) -> String {
    s.strip_prefix("arn:aws:iam::")
        .and_then(|r| r.strip_suffix(":root"))
        .unwrap_or(s)
        .to_string()
}

// --- 1. Policies equal in meaning ---------------------------------------------------------

#[tokio::test]
async fn an_equivalent_policy_written_differently_is_no_change() {
    let (bucket, role) = (unique("plan-equiv"), unique("plan-equiv-reader"));
    let f = Fixture::new(format!(
        r#"{TWO_ACCOUNTS}
[roles.reader]
account = "compute"
name = "{role}"
trust = [{{ account = "storage" }}, {{ service = "ec2.amazonaws.com" }}]

[buckets.models]
account = "storage"
name = "{bucket}"
object_ownership = "BucketOwnerEnforced"
block_public_access = true
tags = {{ team = "ml" }}
extra_policy_statements = '''[{{"Sid":"s3wardDenyHttp","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/*"],"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}]'''

[[buckets.models.grants]]
to = "role.reader"
access = "read"
prefixes = ["Mistral-7B-v0.1/", "Llama-3-8B/"]

[[buckets.models.grants]]
to = "account.compute"
access = "list"
"#
    ));
    let accounts = converge(&f.desired).await;
    // Sanity: in sync, before the policy is rewritten.
    let run = f.plan(&["--detailed-exitcode"]).await;
    assert_eq!(
        (run.code, last_line(&run.stdout)),
        (0, "No changes."),
        "{run}"
    );

    let rewritten = written_differently(&f.policy("models"));
    // The rewrite really exercises each equivalence.
    let compact = serde_json::from_str::<Value>(&rewritten)
        .expect("JSON")
        .to_string();
    for needle in [
        r#""Action":["s3:listbucket"]"#,
        r#""s3:getobject""#,
        r#""Principal":{"AWS":["222222222222"]}"#,
        r#""Principal":{"AWS":"*"}"#,
        r#""Effect":"deny""#,
        r#""Effect":"allow""#,
    ] {
        assert!(compact.contains(needle), "{needle} not in {rewritten}");
    }
    put_policy(&accounts.get(STORAGE).s3, &bucket, &rewritten).await;

    let run = f.plan(&["--detailed-exitcode"]).await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(last_line(&run.stdout), "No changes.", "{run}");
    let run = f.plan(&["--format", "json"]).await;
    assert_eq!(changes(&json_of(&run)), vec![], "{run}");
}

// --- 2, 3, 4. One drift, one change -------------------------------------------------------

#[tokio::test]
async fn an_extra_live_statement_is_one_policy_update() {
    let (bucket, role) = (unique("plan-extra"), unique("plan-extra-reader"));
    let f = Fixture::new(format!(
        r#"{AMBIENT_MAIN}
[roles.reader]
account = "main"
name = "{role}"
trust = [{{ service = "ec2.amazonaws.com" }}]

[buckets.models]
account = "main"
name = "{bucket}"
object_ownership = "BucketOwnerEnforced"

[[buckets.models.grants]]
to = "role.reader"
access = "read"
"#
    ));
    let accounts = converge(&f.desired).await;
    let extra = json!({
        "Sid": "HandAdded",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::333333333333:root"},
        "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{bucket}/*"),
    });
    f.put_policy_with(&accounts, "models", extra).await;

    let (run, plan) = f.json(&["--detailed-exitcode"]).await;
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(
        changes(&plan),
        pairs(&[("bucket.models.policy", "update")]),
        "{run}"
    );
    let statements = change(&plan, "bucket.models.policy")["statements"]
        .as_array()
        .expect("a policy change lists its statements")
        .clone();
    assert_eq!(statements.len(), 1, "{run}");
    assert_eq!(statements[0]["action"], "removed", "{run}");
    assert_eq!(statements[0]["sid"], "HandAdded", "{run}");
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 1, "delete": 0})
    );

    let run = f.plan(&["--detailed-exitcode"]).await;
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(
        last_line(&run.stdout),
        "Plan: 0 to create, 1 to update, 0 to delete.",
        "{run}"
    );
}

#[tokio::test]
async fn object_writer_live_is_one_ownership_update() {
    let bucket = unique("plan-owner");
    let f = Fixture::new(format!(
        r#"{AMBIENT_MAIN}
[buckets.models]
account = "main"
name = "{bucket}"
object_ownership = "BucketOwnerEnforced"
block_public_access = true
"#
    ));
    let accounts = converge(&f.desired).await;
    set_ownership(
        &accounts.get(AMBIENT_ACCOUNT).s3,
        &bucket,
        ObjectOwnership::ObjectWriter,
    )
    .await;

    let (run, plan) = f.json(&["--detailed-exitcode"]).await;
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(
        changes(&plan),
        pairs(&[("bucket.models.ownership", "update")]),
        "{run}"
    );
    let c = change(&plan, "bucket.models.ownership");
    assert_eq!(c["before"], "ObjectWriter", "{run}");
    assert_eq!(c["after"], "BucketOwnerEnforced", "{run}");
}

#[tokio::test]
async fn an_undeclared_managed_policy_is_one_detach() {
    let role = unique("plan-managed");
    let f = Fixture::new(format!(
        r#"{TWO_ACCOUNTS}
[roles.reader]
account = "compute"
name = "{role}"
trust = [{{ service = "ec2.amazonaws.com" }}]
managed_policies = ["{S3_READ_ONLY}"]
"#
    ));
    let accounts = converge(&f.desired).await;
    attach_policy(&accounts.get(COMPUTE).iam, &role, READ_ONLY).await;

    let (run, plan) = f.json(&["--detailed-exitcode"]).await;
    assert_eq!(run.code, 2, "{run}");
    let address = format!(r#"role.reader.managed_policy["{READ_ONLY}"]"#);
    assert_eq!(changes(&plan), pairs(&[(&address, "delete")]), "{run}");
    assert_eq!(change(&plan, &address)["before"], READ_ONLY, "{run}");
    assert_eq!(change(&plan, &address)["after"], Value::Null, "{run}");
}

// --- 5. Missing resources ------------------------------------------------------------------

#[tokio::test]
async fn a_missing_bucket_and_role_are_created() {
    let (bucket, role) = (unique("plan-missing"), unique("plan-missing-reader"));
    let f = Fixture::new(format!(
        r#"{TWO_ACCOUNTS}
[roles.reader]
account = "compute"
name = "{role}"
trust = [{{ service = "ec2.amazonaws.com" }}]
managed_policies = ["{S3_READ_ONLY}"]

[buckets.models]
account = "storage"
name = "{bucket}"
object_ownership = "BucketOwnerEnforced"
block_public_access = true
tags = {{ team = "ml" }}

[[buckets.models.grants]]
to = "role.reader"
access = "read"
"#
    ));
    let (run, plan) = f.json(&["--detailed-exitcode"]).await;
    assert_eq!(run.code, 2, "{run}");
    let managed = format!(r#"role.reader.managed_policy["{S3_READ_ONLY}"]"#);
    let got: BTreeSet<(String, String)> = changes(&plan).into_iter().collect();
    let want: BTreeSet<(String, String)> = pairs(&[
        ("bucket.models", "create"),
        ("bucket.models.policy", "create"),
        ("bucket.models.public_access_block", "create"),
        ("bucket.models.tags", "create"),
        ("role.reader", "create"),
        (r#"role.reader.inline_policy["s3ward-grants"]"#, "create"),
        (&managed, "create"),
    ])
    .into_iter()
    .collect();
    assert_eq!(got, want, "{run}");
    let b = &change(&plan, "bucket.models")["after"];
    assert_eq!(b["name"], bucket.as_str(), "{run}");
    assert_eq!(b["account"], STORAGE, "{run}");
    assert_eq!(b["object_ownership"], "BucketOwnerEnforced", "{run}");
    let r = &change(&plan, "role.reader")["after"];
    assert_eq!(r["account"], COMPUTE, "{run}");
    assert_eq!(
        r["arn"],
        format!("arn:aws:iam::{COMPUTE}:role/{role}").as_str(),
        "{run}"
    );
    assert_eq!(
        plan["summary"],
        json!({"create": 7, "update": 0, "delete": 0}),
        "{run}"
    );
}

// --- 6. --target ---------------------------------------------------------------------------

#[tokio::test]
async fn target_narrows_the_plan_to_one_bucket() {
    let (a, b) = (unique("plan-target-a"), unique("plan-target-b"));
    let f = Fixture::new(format!(
        r#"{AMBIENT_MAIN}
[buckets.a]
account = "main"
name = "{a}"
object_ownership = "BucketOwnerEnforced"
tags = {{ team = "ml" }}

[buckets.b]
account = "main"
name = "{b}"
object_ownership = "BucketOwnerEnforced"
tags = {{ team = "ml" }}
"#
    ));
    let accounts = converge(&f.desired).await;
    let c = accounts.get(AMBIENT_ACCOUNT);
    for name in [&a, &b] {
        set_ownership(&c.s3, name, ObjectOwnership::ObjectWriter).await;
        set_bucket_tags(
            &c.s3,
            name,
            &BTreeMap::from([("team".into(), "other".into())]),
        )
        .await;
    }

    let run = f.plan(&["--format", "json"]).await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        changes(&json_of(&run)),
        pairs(&[
            ("bucket.a.ownership", "update"),
            ("bucket.a.tags", "update"),
            ("bucket.b.ownership", "update"),
            ("bucket.b.tags", "update"),
        ]),
        "{run}"
    );

    // Only a's changes, and only a is read.
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let run = f
        .plan_at(
            Some(&proxy.endpoint),
            &["--format", "json", "--target", "bucket.a"],
        )
        .await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        changes(&json_of(&run)),
        pairs(&[
            ("bucket.a.ownership", "update"),
            ("bucket.a.tags", "update")
        ]),
        "{run}"
    );
    let read: BTreeSet<String> = proxy
        .operations()
        .into_iter()
        .filter(|r| r.service == "s3")
        .filter_map(|r| r.resource)
        .collect();
    assert_eq!(read, BTreeSet::from([a.clone()]));

    // An exact address selects that address alone.
    let run = f
        .plan(&["--format", "json", "--target", "bucket.b.tags"])
        .await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        changes(&json_of(&run)),
        pairs(&[("bucket.b.tags", "update")]),
        "{run}"
    );

    // A target that is not an address, and one that names nothing in the plan file.
    let run = f
        .plan(&["--detailed-exitcode", "--target", "bucket.a.polcy"])
        .await;
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(run.stdout, "", "{run}");
    assert!(
        run.stderr
            .contains("error: `bucket.a.polcy` is not an address"),
        "{run}"
    );
    let run = f
        .plan(&["--detailed-exitcode", "--target", "bucket.nope"])
        .await;
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(run.stdout, "", "{run}");
    // The message names the target and says what it lacks, in words (not `bucket.nope`
    // twice).
    assert!(
        run.stderr.starts_with("error: target `bucket.nope`"),
        "{run}"
    );
    assert!(run.stderr.contains("names no bucket"), "{run}");
    assert!(!run.stderr.contains("no bucket.nope"), "{run}");
}

// --- 7. Exit codes -------------------------------------------------------------------------

#[tokio::test]
async fn exit_codes_with_and_without_detailed_exitcode() {
    let bucket = unique("plan-exit");
    let f = Fixture::new(format!(
        r#"{AMBIENT_MAIN}
[buckets.models]
account = "main"
name = "{bucket}"
block_public_access = true
"#
    ));
    // Changes (the bucket is missing): 0, or 2 with --detailed-exitcode.
    let run = f.plan(&[]).await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        last_line(&run.stdout),
        "Plan: 3 to create, 0 to update, 0 to delete.",
        "{run}"
    );
    let run = f.plan(&["--detailed-exitcode"]).await;
    assert_eq!(run.code, 2, "{run}");

    // No changes: 0 either way.
    converge(&f.desired).await;
    for args in [&[][..], &["--detailed-exitcode"][..]] {
        let run = f.plan(args).await;
        assert_eq!(run.code, 0, "{run}");
        assert_eq!(last_line(&run.stdout), "No changes.", "{run}");
    }

    // Errors: 1 either way, nothing on stdout. An account without `assume_role` that is
    // not the ambient account is refused before any read.
    let wrong = Fixture::new(format!(
        r#"version = 1

[accounts.main]
id = "{STORAGE}"

[buckets.models]
account = "main"
name = "{bucket}"
"#
    ));
    for args in [&[][..], &["--detailed-exitcode"][..]] {
        let run = wrong.plan(args).await;
        assert_eq!(run.code, 1, "{run}");
        assert_eq!(run.stdout, "", "{run}");
        assert!(run.stderr.starts_with("error: "), "{run}");
        assert!(run.stderr.contains(AMBIENT_ACCOUNT), "{run}");
    }
    // An invalid plan file.
    f.dir
        .write("bad.toml", "version = 1\n[buckets.x]\naccount = \"nope\"\n");
    let run = f
        .dir
        .s3ward(&["plan", "bad.toml", "--detailed-exitcode"])
        .run_async()
        .await;
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(run.stdout, "", "{run}");
}

// --- 8. Two accounts ------------------------------------------------------------------------

/// The account an access key acts in, as moto's STS sees it.
async fn account_of_key(access_key: &str) -> String {
    let creds = aws_credential_types::Credentials::new(access_key, "unused", None, None, "probe");
    let who = ok(sts_client(&moto().endpoint, creds)
        .get_caller_identity()
        .send()
        .await);
    who.account().expect("an account").to_string()
}

#[tokio::test]
async fn a_two_account_plan_reads_each_resource_in_its_account() {
    let (bucket, role) = (unique("plan-2acct"), unique("plan-2acct-reader"));
    let f = Fixture::new(format!(
        r#"{TWO_ACCOUNTS}
[roles.reader]
account = "compute"
name = "{role}"
trust = [{{ service = "ec2.amazonaws.com" }}]

[buckets.models]
account = "storage"
name = "{bucket}"
object_ownership = "BucketOwnerEnforced"
block_public_access = true

[[buckets.models.grants]]
to = "role.reader"
access = "read-write"
"#
    ));
    // The grant crosses accounts: the bucket policy names the role in the other account.
    let policy = f.policy("models").to_string();
    assert!(
        policy.contains(&format!("arn:aws:iam::{COMPUTE}:role/{role}")),
        "{policy}"
    );
    let accounts = converge(&f.desired).await;
    // Where setup put things: the role exists only in COMPUTE.
    ok(accounts
        .get(COMPUTE)
        .iam
        .get_role()
        .role_name(&role)
        .send()
        .await);
    let in_storage = accounts
        .get(STORAGE)
        .iam
        .get_role()
        .role_name(&role)
        .send()
        .await;
    assert!(in_storage.is_err(), "the role must not exist in {STORAGE}");

    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let run = f
        .plan_at(Some(&proxy.endpoint), &["--detailed-exitcode"])
        .await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(last_line(&run.stdout), "No changes.", "{run}");

    // Every S3 read was signed by credentials of STORAGE, every IAM read by COMPUTE's, and
    // each account was reached through one AssumeRole.
    let ops = proxy.operations();
    let count = |op: &str| ops.iter().filter(|r| r.operation == op).count();
    assert_eq!(count("AssumeRole"), 2, "{ops:?}");
    assert_eq!(count("GetCallerIdentity"), 1, "{ops:?}");
    let mut accounts_by_service: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for r in ops.iter().filter(|r| r.service != "sts") {
        let key = r.access_key.clone().expect("a signed request");
        accounts_by_service
            .entry(r.service)
            .or_default()
            .insert(account_of_key(&key).await);
    }
    assert_eq!(
        accounts_by_service,
        BTreeMap::from([
            ("iam", BTreeSet::from([COMPUTE.to_string()])),
            ("s3", BTreeSet::from([STORAGE.to_string()])),
        ]),
        "{ops:?}"
    );
}

// --- 9. Renderers ------------------------------------------------------------------------

#[tokio::test]
async fn renders_a_mix_of_create_update_and_delete() {
    let (models, logs, role) = (
        unique("plan-snap-models"),
        unique("plan-snap-logs"),
        unique("plan-snap-reader"),
    );
    let f = Fixture::new(format!(
        r#"{AMBIENT_MAIN}
[roles.reader]
account = "main"
name = "{role}"
trust = [{{ service = "ec2.amazonaws.com" }}]
managed_policies = []

[buckets.models]
account = "main"
name = "{models}"
object_ownership = "BucketOwnerEnforced"

[[buckets.models.grants]]
to = "role.reader"
access = "read"

[buckets.logs]
account = "main"
name = "{logs}"
block_public_access = true
tags = {{ team = "ml" }}
"#
    ));
    // The role and `models` exist: the role has an extra managed policy (delete), `models`
    // lets objects be owned by their writers (update) and has a hand-added statement
    // (update). `logs` is missing (create).
    let accounts = Accounts::of(&f.desired).await;
    let c = accounts.get(AMBIENT_ACCOUNT);
    create_planned_role(c, f.role("reader")).await;
    attach_policy(&c.iam, &role, S3_READ_ONLY).await;
    create_planned_bucket(c, f.bucket("models")).await;
    set_ownership(&c.s3, &models, ObjectOwnership::ObjectWriter).await;
    let extra = json!({
        "Sid": "HandAdded",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::333333333333:root"},
        "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": [format!("arn:aws:s3:::{models}"), format!("arn:aws:s3:::{models}/*")],
    });
    put_policy(
        &c.s3,
        &models,
        &with_statement(f.policy("models"), extra).to_string(),
    )
    .await;

    let sha = sha256_hex(&f.text);
    for (format, name) in [
        ("text", "plan_text"),
        ("markdown", "plan_markdown"),
        ("json", "plan_json"),
    ] {
        let run = f
            .dir
            .s3ward(&["plan", PLAN, "--format", format, "--detailed-exitcode"])
            .filter(&models, "[MODELS]")
            .filter(&logs, "[LOGS]")
            .filter(&role, "[ROLE]")
            .filter(&sha, "[SHA256]")
            .filter(
                format!(r#""s3ward_version": "{}""#, env!("CARGO_PKG_VERSION")),
                r#""s3ward_version": "[VERSION]""#,
            )
            .run_async()
            .await;
        assert_eq!(run.code, 2, "{run}");
        // The records' digests cover the names, which differ from run to run.
        insta::with_settings!({filters => vec![(r#""value": "[a-z_ =0-9a-f]*""#, r#""value": "[DIGESTS]""#)]}, {
            insta::assert_snapshot!(name, run.snapshot_text());
        });
    }
}

/// Resources in sync but never applied by s3ward (made by hand, say, or imported): the plan
/// says `No changes.` to access, and above it the `s3ward:applied` records apply would still
/// write, one line per resource; in JSON, `records`. Once applied, none are left to write.
#[tokio::test]
async fn records_alone_are_noted_above_no_changes() {
    let (bucket, role) = (unique("plan-records"), unique("plan-records-reader"));
    let f = Fixture::new(format!(
        r#"{AMBIENT_MAIN}
[roles.reader]
account = "main"
name = "{role}"
trust = [{{ service = "ec2.amazonaws.com" }}]

[buckets.models]
account = "main"
name = "{bucket}"
block_public_access = true

[[buckets.models.grants]]
to = "role.reader"
access = "read"
"#
    ));
    converge(&f.desired).await;
    let run = f
        .dir
        .s3ward(&["plan", PLAN, "--detailed-exitcode"])
        .filter(&bucket, "[BUCKET]")
        .filter(&role, "[ROLE]")
        .run_async()
        .await;
    assert_eq!(run.code, 0, "{run}");
    insta::assert_snapshot!(run.snapshot_text());
    let (run, plan) = f.json(&[]).await;
    let records: Vec<&str> = plan["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["resource"].as_str().expect("resource"))
        .collect();
    assert_eq!(records, ["bucket.models", "role.reader"], "{run}");
    assert_eq!(plan["records"][0]["tag"], "s3ward:applied", "{run}");

    let applied = f
        .dir
        .s3ward(&["apply", PLAN, "--auto-approve"])
        .run_async()
        .await;
    assert_eq!(applied.code, 0, "{applied}");
    let run = f.plan(&[]).await;
    assert_eq!(run.stdout, "No changes.\n", "{run}");
    let (run, plan) = f.json(&[]).await;
    assert_eq!(plan["records"], json!([]), "{run}");
}

// --- 10. plan only reads --------------------------------------------------------------------

/// A plan file and a live state that differ in every way `plan` can see: every bucket and
/// role setting drifted, plus a missing bucket and a missing role.
struct EveryDrift {
    f: Fixture,
    models: String,
}

async fn every_kind_of_drift() -> EveryDrift {
    every_kind_of_drift_and_roles_in_sync(0).await
}

/// The same, with `n` more roles in the main account that are as the plan file says.
async fn every_kind_of_drift_and_roles_in_sync(n: usize) -> EveryDrift {
    let (app, fresh_role) = (unique("plan-all-app"), unique("plan-all-fresh"));
    let in_sync: String = (0..n)
        .map(|i| {
            format!(
                "\n[roles.sync{i}]\naccount = \"main\"\nname = \"{app}-sync{i}\"\n\
                 trust = [{{ service = \"ec2.amazonaws.com\" }}]\n"
            )
        })
        .collect();
    let (models, merged, fresh_bucket) = (
        unique("plan-all-models"),
        unique("plan-all-merged"),
        unique("plan-all-fresh"),
    );
    let f = Fixture::new(format!(
        r#"{AMBIENT_MAIN}
[roles.app]
account = "main"
name = "{app}"
description = "declared description"
max_session_duration = 7200
tags = {{ team = "ml" }}
trust = [{{ service = "ec2.amazonaws.com" }}]
managed_policies = ["{S3_READ_ONLY}"]

[roles.app.inline_policies]
extra = '''{{"Version":"2012-10-17","Statement":[{{"Sid":"Logs","Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*"}}]}}'''

[roles.fresh]
account = "main"
name = "{fresh_role}"
trust = [{{ service = "ec2.amazonaws.com" }}]

[buckets.models]
account = "main"
name = "{models}"
object_ownership = "BucketOwnerEnforced"
block_public_access = true
tags = {{ team = "ml" }}

[[buckets.models.grants]]
to = "role.app"
access = "read"

[buckets.merged]
account = "main"
name = "{merged}"
policy_mode = "merge"

[[buckets.merged.grants]]
to = "role.app"
access = "list"

[buckets.fresh]
account = "main"
name = "{fresh_bucket}"
block_public_access = true
{in_sync}"#
    ));
    let accounts = Accounts::of(&f.desired).await;
    let c = accounts.get(AMBIENT_ACCOUNT);
    for i in 0..n {
        create_planned_role(c, f.role(&format!("sync{i}"))).await;
    }
    let want_app = f.role("app");

    // Role `app`: other description, session length, tags and trust; `extra` differs,
    // `stray` is undeclared, `s3ward-grants` is missing; the declared managed policy is
    // missing and an undeclared one attached.
    let mut drifted = want_app.clone();
    drifted.description = Some("hand-edited".into());
    drifted.max_session_duration = Some(3600);
    drifted.tags = BTreeMap::from([("team".into(), "other".into())]);
    create_role_with_trust(
        c,
        &drifted,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
    )
    .await;
    put_role_policy(
        &c.iam,
        &app,
        "extra",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Logs","Effect":"Allow","Action":"logs:*","Resource":"*"}]}"#,
    )
    .await;
    put_role_policy(
        &c.iam,
        &app,
        "stray",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}"#,
    )
    .await;
    attach_policy(&c.iam, &app, READ_ONLY).await;

    // Bucket `models`: writers own objects, the ACL grants another account READ, the public
    // access block is off, the tag differs, and the policy has an extra statement.
    let want_models = f.bucket("models");
    create_bucket(&c.s3, &models).await;
    set_ownership(&c.s3, &models, ObjectOwnership::ObjectWriter).await;
    set_public_access_block(&c.s3, &models, [false; 4]).await;
    set_bucket_tags(
        &c.s3,
        &models,
        &BTreeMap::from([("team".into(), "other".into())]),
    )
    .await;
    grant_read_acl(&c.s3, &models, FOREIGN_OWNER_ID).await;
    let policy = with_statement(
        serde_json::from_str(&want_models.policy_document().expect("a policy").to_json())
            .expect("JSON"),
        json!({
            "Sid": "HandAdded",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::333333333333:root"},
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{models}/*"),
        }),
    );
    put_policy(&c.s3, &models, &policy.to_string()).await;

    // Bucket `merged` (merge mode): a statement s3ward does not own names a deleted role.
    create_bucket(&c.s3, &merged).await;
    put_policy(
        &c.s3,
        &merged,
        &json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "VendorRead",
                "Effect": "Allow",
                "Principal": {"AWS": DELETED_ROLE_ID},
                "Action": "s3:GetObject",
                "Resource": format!("arn:aws:s3:::{merged}/*"),
            }],
        })
        .to_string(),
    )
    .await;
    EveryDrift { f, models }
}

/// In an account where the plan reads ten roles or more, one GetAccountAuthorizationDetails
/// listing replaces the per-role reads (`src/live/iam_bulk.rs`), and the plan is the same:
/// every drift of `role.app` is seen exactly as the per-role path (`--target role.app`,
/// one role) sees it.
#[tokio::test]
async fn roles_listed_in_bulk_plan_exactly_as_roles_read_one_by_one() {
    // app, fresh, and nine in sync: eleven roles in the main account.
    let EveryDrift { f, .. } = every_kind_of_drift_and_roles_in_sync(9).await;
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let (bulk, bulk_plan) = {
        let run = f
            .plan_at(Some(&proxy.endpoint), &["--format", "json"])
            .await;
        assert_eq!(run.code, 0, "{run}");
        let plan = json_of(&run);
        (run, plan)
    };
    let iam_calls = |proxy: &Proxy| -> Vec<String> {
        let mut iam: Vec<String> = proxy
            .operations()
            .iter()
            .filter(|r| r.service == "iam")
            .map(|r| r.operation.clone())
            .collect();
        iam.sort();
        iam
    };
    // One listing, and ListRoles for `app`, whose description and session length only
    // ListRoles and GetRole return.
    assert_eq!(
        iam_calls(&proxy),
        ["GetAccountAuthorizationDetails", "ListRoles"],
        "{bulk}"
    );

    let role_changes = |plan: &Value, role: &str| -> Vec<Value> {
        plan["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .filter(|c| {
                let a = c["address"].as_str().unwrap_or("");
                a == role || a.starts_with(&format!("{role}."))
            })
            .cloned()
            .collect()
    };
    for i in 0..9 {
        let role = format!("role.sync{i}");
        assert!(role_changes(&bulk_plan, &role).is_empty(), "{role}: {bulk}");
    }
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let one = f
        .plan_at(
            Some(&proxy.endpoint),
            &["--format", "json", "--target", "role.app"],
        )
        .await;
    assert_eq!(one.code, 0, "{one}");
    assert!(
        proxy
            .operations()
            .iter()
            .all(|r| r.operation != "GetAccountAuthorizationDetails"),
        "one role is read on its own"
    );
    let by_role = role_changes(&json_of(&one), "role.app");
    assert!(by_role.len() >= 7, "the drift of role.app was seen: {one}");
    assert_eq!(role_changes(&bulk_plan, "role.app"), by_role);

    // ListRoles refused: GetRole for `app` instead, and the same plan.
    let proxy = Proxy::start(
        &moto().endpoint,
        ProxyRules::none().with(Rule::new(Fault::AccessDenied).operation("ListRoles")),
    );
    let refused = f
        .plan_at(Some(&proxy.endpoint), &["--format", "json"])
        .await;
    assert_eq!(refused.code, 0, "{refused}");
    assert_eq!(
        iam_calls(&proxy),
        ["GetAccountAuthorizationDetails", "GetRole", "ListRoles"],
        "{refused}"
    );
    assert_eq!(role_changes(&json_of(&refused), "role.app"), by_role);

    // A saved plan records the same fingerprints on either path, so one made where the
    // listing is allowed is not stale where it is not (a role in sync that declares no
    // description: the per-role path reads one, the listing has none).
    let fingerprints = |file: &str| -> Value {
        let text = std::fs::read_to_string(f.dir.path().join(file)).expect("saved plan");
        let saved: Value = serde_json::from_str(&text).expect("JSON");
        saved["fingerprints"].clone()
    };
    let run = f.plan(&["--out", "bulk.json"]).await;
    assert_eq!(run.code, 0, "{run}");
    let run = f
        .plan(&["--out", "one.json", "--target", "role.sync0"])
        .await;
    assert_eq!(run.code, 0, "{run}");
    let (bulk_fp, one_fp) = (fingerprints("bulk.json"), fingerprints("one.json"));
    for addr in [
        "role.sync0",
        "role.sync0.trust",
        "role.sync0.inline_policies",
    ] {
        assert!(!one_fp[addr].is_null(), "{addr}: {one_fp:#}");
        assert_eq!(bulk_fp[addr], one_fp[addr], "{addr}");
    }
}

#[tokio::test]
async fn plan_only_reads() {
    let EveryDrift { f, .. } = every_kind_of_drift().await;
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let run = f
        .plan_at(Some(&proxy.endpoint), &["--format", "json"])
        .await;
    assert_eq!(run.code, 0, "{run}");

    // The drift was seen (so this test can fail): a change at every kind of address.
    let got: BTreeSet<(String, String)> = changes(&json_of(&run)).into_iter().collect();
    let managed = |arn: &str| format!(r#"role.app.managed_policy["{arn}"]"#);
    for want in pairs(&[
        ("role.app", "update"),
        ("role.app.trust", "update"),
        (r#"role.app.inline_policy["extra"]"#, "update"),
        (r#"role.app.inline_policy["stray"]"#, "delete"),
        (r#"role.app.inline_policy["s3ward-grants"]"#, "create"),
        (&managed(S3_READ_ONLY), "create"),
        (&managed(READ_ONLY), "delete"),
        ("role.app.tags", "update"),
        ("role.fresh", "create"),
        ("bucket.models.policy", "update"),
        ("bucket.models.acl", "update"),
        ("bucket.models.ownership", "update"),
        ("bucket.models.public_access_block", "update"),
        ("bucket.models.tags", "update"),
        ("bucket.merged.policy", "update"),
        ("bucket.fresh", "create"),
        ("bucket.fresh.public_access_block", "create"),
    ]) {
        assert!(got.contains(&want), "no {want:?} in the plan:\n{run}");
    }

    assert_only_reads(&proxy, &run);
    let ops = proxy.operations();
    for service in ["s3", "iam", "sts"] {
        assert!(
            ops.iter().any(|r| r.service == service),
            "no {service} call recorded: {ops:?}"
        );
    }
}

// --- 11. JSON format -------------------------------------------------------------------------

#[tokio::test]
async fn json_output_matches_docs_json_format() {
    let fields = documented_fields("docs/json-format.md");
    assert!(
        fields.len() >= 20,
        "the field table was not found: {fields:?}"
    );

    let EveryDrift { f, models } = every_kind_of_drift().await;
    let (run, plan) = f.json(&[]).await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(plan["format_version"], 1);
    assert_eq!(plan["s3ward_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(plan["plan_file"]["path"], PLAN);
    assert_eq!(plan["plan_file"]["name"], "plan");
    assert_eq!(plan["plan_file"]["sha256"], sha256_hex(&f.text).as_str());
    let mut seen = check_documented(&plan, &fields);
    assert!(
        !plan["warnings"].as_array().expect("warnings").is_empty(),
        "expected a warning (deleted identity in a statement s3ward does not own): {run}"
    );
    assert!(
        plan["warnings"].to_string().contains(DELETED_ROLE_ID),
        "{run}"
    );
    let summary = &plan["summary"];
    let n = |a: &str| {
        changes(&plan)
            .iter()
            .filter(|(_, action)| action == a)
            .count() as u64
    };
    assert_eq!(summary["create"], n("create"));
    assert_eq!(summary["update"], n("update"));
    assert_eq!(summary["delete"], n("delete"));

    // A plan with problems (a missing bucket that must not be created, a grant to a role
    // that does not exist): exit 1, and the JSON still printed; a grant to a role in an
    // account s3ward cannot read is listed as not verified.
    let problem = Fixture::new(format!(
        r#"{AMBIENT_MAIN}
[buckets.models]
account = "main"
name = "{models}-x"
create = false

[[buckets.models.grants]]
to = "arn:aws:iam::{AMBIENT_ACCOUNT}:role/{models}-nobody"
access = "read"

[[buckets.models.grants]]
to = "arn:aws:iam::333333333333:role/partner"
access = "read"
"#
    ));
    let (run, plan) = problem.json(&[]).await;
    assert_eq!(run.code, 1, "{run}");
    seen.extend(check_documented(&plan, &fields));
    assert_eq!(plan["problems"][0]["address"], "bucket.models", "{run}");
    assert_eq!(plan["problems"][1]["place"]["line"], 12, "{run}");
    assert_eq!(
        plan["not_verified"][0]["arn"], "arn:aws:iam::333333333333:role/partner",
        "{run}"
    );

    // Every documented field appeared at least once with its type (`kind` is documented as
    // appearing only in drift reports, which tests/integration/drift.rs checks).
    let documented: BTreeSet<String> = fields
        .iter()
        .map(|(p, ..)| p.clone())
        .filter(|p| p != "changes[].kind")
        .collect();
    let missing: Vec<&String> = documented.difference(&seen).collect();
    assert!(missing.is_empty(), "documented but never seen: {missing:?}");
}

// --- 12. Saved plans ---------------------------------------------------------------------

#[tokio::test]
async fn out_writes_a_saved_plan() {
    let bucket = unique("plan-saved");
    let f = Fixture::new(format!(
        r#"{AMBIENT_MAIN}
[buckets.models]
account = "main"
name = "{bucket}"
object_ownership = "BucketOwnerEnforced"
block_public_access = true
"#
    ));
    let accounts = converge(&f.desired).await;
    set_ownership(
        &accounts.get(AMBIENT_ACCOUNT).s3,
        &bucket,
        ObjectOwnership::ObjectWriter,
    )
    .await;

    let run = f.plan(&["--out", "saved.json"]).await;
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stderr.contains("saved.json"), "{run}");
    let text = std::fs::read_to_string(f.dir.path().join("saved.json")).expect("saved plan");
    let saved: Value = serde_json::from_str(&text).expect("the saved plan is JSON");
    assert_eq!(saved["format"], "s3ward-saved-plan");
    assert_eq!(saved["format_version"], 1);
    assert_eq!(saved["plan_file"]["sha256"], sha256_hex(&f.text).as_str());
    assert_eq!(saved["plan_file"]["text"], f.text.as_str());
    let fingerprints = saved["fingerprints"].as_object().expect("fingerprints");
    assert!(!fingerprints.is_empty(), "{saved:#}");
    for addr in [
        "bucket.models",
        "bucket.models.policy",
        "bucket.models.ownership",
        "bucket.models.public_access_block",
    ] {
        assert!(
            fingerprints.contains_key(addr),
            "no fingerprint of {addr}: {saved:#}"
        );
    }
    let saved_changes = &saved["change_set"]["changes"];
    assert_eq!(saved_changes.as_array().map(Vec::len), Some(1), "{saved:#}");
    assert_eq!(saved_changes[0]["address"], "bucket.models.ownership");
    assert_eq!(
        saved_changes[0]["write"]["ownership"],
        "BucketOwnerEnforced"
    );
    // The library reads it back.
    s3ward::saved::SavedPlan::read(&f.dir.path().join("saved.json")).expect("a saved plan");
}

// --- 13. Scale ---------------------------------------------------------------------------

#[tokio::test]
async fn two_hundred_buckets_cost_the_minimum_reads_concurrently() {
    const N: usize = 200;
    let stem = unique("plan-scale");
    let names: Vec<String> = (0..N).map(|i| format!("{stem}-{i:03}")).collect();
    let mut text = AMBIENT_MAIN.to_string();
    // Every tenth bucket lets writers own their objects, so its ACL matters.
    let enforced = |i: usize| !i.is_multiple_of(10);
    for (i, name) in names.iter().enumerate() {
        let ownership = if enforced(i) {
            "BucketOwnerEnforced"
        } else {
            "ObjectWriter"
        };
        text.push_str(&format!(
            "\n[buckets.b{i:03}]\naccount = \"main\"\nname = \"{name}\"\n\
             object_ownership = \"{ownership}\"\nblock_public_access = true\n"
        ));
    }
    let f = Fixture::new(text);
    converge(&f.desired).await;

    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let run = f
        .plan_at(Some(&proxy.endpoint), &["--detailed-exitcode"])
        .await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(last_line(&run.stdout), "No changes.", "{run}");

    // Per bucket (src/live/mod.rs): GetBucketPolicy, GetBucketTagging, and one read per
    // managed optional setting: ownership, the public access block and the ACL
    // (`bucket_acl` defaults to private), except where the bucket enforces ownership as
    // the plan file asks (ACLs are disabled there). Once each, nothing else; one
    // GetCallerIdentity per run.
    let ops = proxy.operations();
    let reads = |i: usize| {
        let mut r = vec![
            "GetBucketOwnershipControls",
            "GetBucketPolicy",
            "GetBucketTagging",
            "GetPublicAccessBlock",
        ];
        if !enforced(i) {
            r.insert(0, "GetBucketAcl");
        }
        r
    };
    let mut by_bucket: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut other = Vec::new();
    for r in &ops {
        match (&r.resource, r.service) {
            (Some(b), "s3") => by_bucket
                .entry(b.clone())
                .or_default()
                .push(r.operation.clone()),
            _ => other.push(r.to_string()),
        }
    }
    assert_eq!(other, ["sts GetCallerIdentity 200"]);
    assert_eq!(by_bucket.len(), N);
    for (i, name) in names.iter().enumerate() {
        let mut got = by_bucket.get(name).cloned().unwrap_or_default();
        got.sort();
        assert_eq!(got, reads(i), "reads of {name}");
    }
    assert_eq!(ops.len(), 1 + (0..N).map(|i| reads(i).len()).sum::<usize>());
    assert!(
        ops.iter()
            .all(|r| r.status == Some(200) || r.status == Some(404))
    );

    // Concurrent, within the default --parallelism.
    let max = proxy.max_in_flight();
    let default = usize::from(s3ward::cli::DEFAULT_PARALLELISM);
    assert!(
        (2..=default).contains(&max),
        "max requests in flight: {max}"
    );
}

/// `--parallelism` bounds each service, not all of them together (`src/aws/limiter.rs`):
/// S3 reads do not wait behind IAM's. The latency holds every request long enough that
/// the reads, all sent together, overlap; the time is not measured.
#[tokio::test]
async fn each_service_has_its_own_limit_within_parallelism() {
    let stem = unique("plan-limits");
    let mut text = AMBIENT_MAIN.to_string();
    for i in 0..6 {
        text.push_str(&format!(
            "\n[buckets.b{i}]\naccount = \"main\"\nname = \"{stem}-{i}\"\nblock_public_access = true\n\
             \n[roles.r{i}]\naccount = \"main\"\nname = \"{stem}-r{i}\"\n\
             trust = [{{ service = \"ec2.amazonaws.com\" }}]\n"
        ));
    }
    let f = Fixture::new(text);
    converge(&f.desired).await;

    let held = ProxyRules::none().with(Rule::new(Fault::Latency(Duration::from_millis(300))));
    let proxy = Proxy::start(&moto().endpoint, held);
    let run = f
        .plan_at(Some(&proxy.endpoint), &["--parallelism", "3"])
        .await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(last_line(&run.stdout), "No changes.", "{run}");
    assert_eq!(proxy.max_in_flight_of("s3"), 3, "24 S3 reads, 3 at a time");
    assert_eq!(proxy.max_in_flight_of("iam"), 3, "IAM reads, 3 at a time");
    let max = proxy.max_in_flight();
    assert!(
        max >= 4,
        "{max} in flight: S3 and IAM waited for each other"
    );
}

// --- 14. Semantic edges ------------------------------------------------------------------

#[tokio::test]
async fn an_equivalent_live_trust_policy_is_no_change() {
    let role = unique("plan-trust");
    let f = Fixture::new(format!(
        r#"{TWO_ACCOUNTS}
[roles.reader]
account = "compute"
name = "{role}"
trust = [{{ account = "storage" }}]
"#
    ));
    let desired_trust = f.role("reader").trust.to_json();
    assert!(
        desired_trust.contains(&format!("arn:aws:iam::{STORAGE}:root")),
        "{desired_trust}"
    );
    let accounts = Accounts::of(&f.desired).await;
    // Stored as written: the account as a bare id, Action as a list, Effect in lower case.
    let live = json!({
        "Statement": [{
            "Action": ["sts:AssumeRole"],
            "Principal": {"AWS": STORAGE},
            "Effect": "allow",
        }],
        "Version": "2012-10-17",
    });
    create_role_with_trust(accounts.get(COMPUTE), f.role("reader"), &live.to_string()).await;
    let got = ok(accounts
        .get(COMPUTE)
        .iam
        .get_role()
        .role_name(&role)
        .send()
        .await);
    let stored = got
        .role()
        .and_then(|r| r.assume_role_policy_document())
        .unwrap_or_default();
    assert!(
        !stored.contains(":root"),
        "moto rewrote the trust policy: {stored}"
    );

    let run = f.plan(&["--format", "json", "--detailed-exitcode"]).await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(changes(&json_of(&run)), vec![], "{run}");
}

#[tokio::test]
async fn a_deleted_identity_in_the_live_policy_is_named() {
    let bucket = unique("plan-deleted");
    let f = Fixture::new(format!(
        r#"{AMBIENT_MAIN}
[buckets.models]
account = "main"
name = "{bucket}"

[[buckets.models.grants]]
to = "account.main"
access = "list"
"#
    ));
    let accounts = converge(&f.desired).await;
    f.put_policy_with(
        &accounts,
        "models",
        json!({
            "Sid": "OldReader",
            "Effect": "Allow",
            "Principal": {"AWS": DELETED_ROLE_ID},
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{bucket}/*"),
        }),
    )
    .await;

    let run = f.plan(&[]).await;
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("deleted identity"), "{run}");
    assert!(run.stdout.contains(DELETED_ROLE_ID), "{run}");
    let (run, plan) = f.json(&[]).await;
    assert_eq!(
        changes(&plan),
        pairs(&[("bucket.models.policy", "update")]),
        "{run}"
    );
    let notes = change(&plan, "bucket.models.policy")["notes"].to_string();
    assert!(
        notes.contains(DELETED_ROLE_ID) && notes.contains("deleted identity"),
        "{run}"
    );
}

// --- 15. Merge mode ----------------------------------------------------------------------

#[tokio::test]
async fn merge_mode_leaves_foreign_statements_alone() {
    let bucket = unique("plan-merge");
    let f = Fixture::new(format!(
        r#"{TWO_ACCOUNTS}
[buckets.models]
account = "storage"
name = "{bucket}"
policy_mode = "merge"

[[buckets.models.grants]]
to = "account.compute"
access = "read"
"#
    ));
    let accounts = converge(&f.desired).await;
    let c = accounts.get(STORAGE);
    let vendor = json!({
        "Sid": "VendorRead",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::333333333333:root"},
        "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{bucket}/*"),
    });

    // In sync: s3ward's statements as planned, beside a foreign one.
    let live = with_statement(f.policy("models"), vendor.clone());
    put_policy(&c.s3, &bucket, &live.to_string()).await;
    let run = f.plan(&["--detailed-exitcode"]).await;
    assert_eq!(
        (run.code, last_line(&run.stdout)),
        (0, "No changes."),
        "{run}"
    );

    // s3ward's statements are stale (one it no longer wants, the planned ones missing): the
    // plan replaces them and keeps the foreign statement.
    let stale = json!({
        "Sid": "s3wardOldGrant",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::444444444444:root"},
        "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{bucket}/*"),
    });
    let live = json!({"Version": "2012-10-17", "Statement": [vendor, stale]});
    put_policy(&c.s3, &bucket, &live.to_string()).await;

    let (run, plan) = f.json(&["--out", "saved.json"]).await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        changes(&plan),
        pairs(&[("bucket.models.policy", "update")]),
        "{run}"
    );
    let c = change(&plan, "bucket.models.policy");
    let statements = c["statements"].as_array().expect("statements");
    assert!(
        statements
            .iter()
            .any(|s| s["action"] == "removed" && s["sid"] == "s3wardOldGrant"),
        "{run}"
    );
    assert!(!c.to_string().contains("VendorRead"), "{run}");

    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(f.dir.path().join("saved.json")).expect("saved plan"),
    )
    .expect("JSON");
    let write = &saved["change_set"]["changes"][0]["write"];
    assert_eq!(write["op"], "put_bucket_policy", "{saved:#}");
    let written: Value =
        serde_json::from_str(write["policy"].as_str().expect("policy text")).expect("JSON");
    let sids: BTreeSet<&str> = written["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect();
    assert!(sids.contains("VendorRead"), "{written:#}");
    assert!(!sids.contains("s3wardOldGrant"), "{written:#}");
    let planned: BTreeSet<String> = f.policy("models")["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter_map(|s| s["Sid"].as_str().map(str::to_string))
        .collect();
    assert!(!planned.is_empty());
    for sid in &planned {
        assert!(sids.contains(sid.as_str()), "{sid} not in {written:#}");
    }
    let foreign = written["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .find(|s| s["Sid"] == "VendorRead")
        .expect("VendorRead");
    assert_eq!(
        foreign["Principal"]["AWS"],
        "arn:aws:iam::333333333333:root"
    );
}
