//! SSE-KMS, the third side of every grant (SPEC "Encryption with KMS"), against moto: an
//! encrypted bucket in one account, a `read` and a `read-write` role in another; the key
//! policy, the role policies and the bucket encryption hold exactly SPEC's statements; plan
//! then says `No changes.`; a statement added to the key policy by hand survives in `merge`
//! mode and is drift only in `authoritative` mode.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::support::fixtures::{PLAN, account, apply, assert_no_changes, json_of, run};
use crate::support::{PlanDir, REGION, credentials, moto, ok, sdk, service_error, unique};

/// A KMS client acting in `account`, talking to moto.
async fn kms(account: &str) -> aws_sdk_kms::Client {
    let conf = aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new(REGION))
        .endpoint_url(&moto().endpoint)
        .credentials_provider(credentials(Some(account)).await)
        .build();
    aws_sdk_kms::Client::from_conf(conf)
}

async fn key_policy(kms: &aws_sdk_kms::Client, arn: &str) -> Value {
    let out = ok(kms
        .get_key_policy()
        .key_id(arn)
        .policy_name("default")
        .send()
        .await);
    serde_json::from_str(out.policy().unwrap_or_default()).expect("a JSON key policy")
}

/// Statements by Sid.
fn by_sid(policy: &Value) -> BTreeMap<String, Value> {
    policy["Statement"]
        .as_array()
        .expect("a statement list")
        .iter()
        .map(|s| (s["Sid"].as_str().unwrap_or_default().to_string(), s.clone()))
        .collect()
}

struct World {
    dir: PlanDir,
    storage: String,
    compute: String,
    key_arn: String,
    bucket: String,
    reader: String,
    writer: String,
}

impl World {
    async fn new() -> World {
        let (storage, compute) = (account(), account());
        let created = ok(kms(&storage).await.create_key().send().await);
        let key_arn = created
            .key_metadata()
            .and_then(|m| m.arn())
            .expect("CreateKey returns an ARN")
            .to_string();
        World {
            dir: PlanDir::new(),
            storage,
            compute,
            key_arn,
            bucket: unique("kms-models"),
            reader: unique("reader"),
            writer: unique("writer"),
        }
    }

    fn write(&self, key_extra: &str) {
        let World {
            storage,
            compute,
            key_arn,
            bucket,
            reader,
            writer,
            ..
        } = self;
        self.dir.write(
            PLAN,
            &format!(
                r#"version = 1

[settings]
name = "ml-models"
region = "{REGION}"

[accounts.storage]
id = "{storage}"
assume_role = "arn:aws:iam::{storage}:role/s3ward"

[accounts.compute]
id = "{compute}"
assume_role = "arn:aws:iam::{compute}:role/s3ward"

[keys.models]
account = "storage"
arn = "{key_arn}"
{key_extra}

[roles.reader]
account = "compute"
name = "{reader}"
trust = [{{ service = "ec2.amazonaws.com" }}]

[roles.writer]
account = "compute"
name = "{writer}"
trust = [{{ service = "ec2.amazonaws.com" }}]

[buckets.models]
account = "storage"
name = "{bucket}"
object_ownership = "BucketOwnerEnforced"
encryption = {{ kms_key = "key.models", bucket_key = true }}

[[buckets.models.grants]]
to = "role.reader"
access = "read"

[[buckets.models.grants]]
to = "role.writer"
access = "read-write"
"#
            ),
        );
    }
}

fn key_statement(sid: &str, role_arn: &str, actions: Value) -> Value {
    json!({
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": role_arn},
        "Action": actions,
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": format!("s3.{REGION}.amazonaws.com")}},
    })
}

#[tokio::test]
async fn an_encrypted_bucket_gets_all_three_sides_and_keeps_hand_written_key_statements() {
    let w = World::new().await;
    w.write("");
    let first = apply(&w.dir, None).await;
    assert!(first.stdout.contains("key.models.policy"), "{first}");
    assert!(first.stdout.contains("bucket.models.encryption"), "{first}");
    assert_no_changes(&w.dir, None).await;

    // The key side: the default statement stays (merge mode), and one statement per grant.
    let kms_storage = kms(&w.storage).await;
    let policy = key_policy(&kms_storage, &w.key_arn).await;
    let sids = by_sid(&policy);
    let reader_arn = format!("arn:aws:iam::{}:role/{}", w.compute, w.reader);
    let writer_arn = format!("arn:aws:iam::{}:role/{}", w.compute, w.writer);
    assert_eq!(sids.len(), 3, "{policy:#}");
    assert_eq!(
        sids["s3wardmlmodelsModelsReadRoleReader"],
        key_statement(
            "s3wardmlmodelsModelsReadRoleReader",
            &reader_arn,
            json!("kms:Decrypt")
        )
    );
    assert_eq!(
        sids["s3wardmlmodelsModelsReadWriteRoleWriter"],
        key_statement(
            "s3wardmlmodelsModelsReadWriteRoleWriter",
            &writer_arn,
            json!(["kms:Decrypt", "kms:GenerateDataKey"])
        )
    );

    // The grantees' side on the key.
    let c = sdk(Some(&w.compute)).await;
    for (role, sid, actions) in [
        (&w.reader, "s3wardModelsReadKey", json!("kms:Decrypt")),
        (
            &w.writer,
            "s3wardModelsReadWriteKey",
            json!(["kms:Decrypt", "kms:GenerateDataKey"]),
        ),
    ] {
        let doc = ok(c
            .iam
            .get_role_policy()
            .role_name(role)
            .policy_name("s3ward-grants")
            .send()
            .await);
        let text = percent_encoding::percent_decode_str(doc.policy_document())
            .decode_utf8()
            .expect("UTF-8");
        let doc: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(
            by_sid(&doc)[sid],
            json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": w.key_arn}),
        );
    }

    // The bucket names the key by its full ARN.
    let s = sdk(Some(&w.storage)).await;
    let enc = ok(s.s3.get_bucket_encryption().bucket(&w.bucket).send().await);
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    let by_default = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(by_default.sse_algorithm().as_str(), "aws:kms");
    assert_eq!(by_default.kms_master_key_id(), Some(w.key_arn.as_str()));
    assert_eq!(rule.bucket_key_enabled(), Some(true));

    // Someone adds a statement by hand: merge mode keeps it and sees no drift.
    let mut edited = policy.clone();
    edited["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "AuditorsDescribe",
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{}:root", w.storage)},
        "Action": "kms:DescribeKey",
        "Resource": "*",
    }));
    ok(kms_storage
        .put_key_policy()
        .key_id(&w.key_arn)
        .policy_name("default")
        .policy(serde_json::to_string_pretty(&edited).unwrap())
        .send()
        .await);
    assert_no_changes(&w.dir, None).await;
    let drift = run(&w.dir, None, &["drift", PLAN]).await;
    assert_eq!(drift.code, 0, "{drift}");

    // Authoritative: the plan owns the whole policy (it keeps the account's statement in its
    // extra statements), so the hand-written statement is drift.
    let root = format!("arn:aws:iam::{}:root", w.storage);
    w.write(&format!(
        r#"policy_mode = "authoritative"
extra_policy_statements = '''[{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"{root}"}},"Action":"kms:*","Resource":"*"}}]'''"#
    ));
    let drift = run(&w.dir, None, &["drift", "--format", "json", PLAN]).await;
    assert_eq!(drift.code, 2, "{drift}");
    let report = json_of(&drift);
    let kinds: Vec<(String, String)> = report["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["address"].as_str().unwrap().into(),
                d["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [("key.models.policy".to_string(), "drift".to_string())],
        "{report:#}"
    );
    // Applying it removes the hand-written statement, and then there is nothing to do.
    apply(&w.dir, None).await;
    assert_no_changes(&w.dir, None).await;
    let sids = by_sid(&key_policy(&kms_storage, &w.key_arn).await);
    assert!(!sids.contains_key("AuditorsDescribe"), "{sids:#?}");
    assert!(sids.contains_key("Enable IAM User Permissions"));

    // `import --bucket --key` adopts both; the imported plan file plans no change.
    let role = format!("arn:aws:iam::{}:role/s3ward", w.storage);
    let args = [
        "import",
        "--account",
        &w.storage,
        "--assume-role",
        &role,
        "--bucket",
        &w.bucket,
        "--key",
        &w.key_arn,
        "--name",
        "ml-models",
        "--out",
        "imported.toml",
    ];
    let imported = run(&w.dir, None, &args).await;
    assert_eq!(imported.code, 0, "{imported}");
    let text = std::fs::read_to_string(w.dir.path().join("imported.toml")).unwrap();
    assert!(text.contains("\n[keys."), "{text}");
    assert!(text.contains("encryption = { kms_key = "), "{text}");
    let plan = run(
        &w.dir,
        None,
        &["plan", "--detailed-exitcode", "imported.toml"],
    )
    .await;
    assert_eq!(
        plan.code, 0,
        "{plan}
{text}"
    );
}

/// The test server refuses the key policies KMS refuses and moto alone accepts, so the test
/// above proves s3ward never sends one (`tests/support/moto_server.py`, rule 5).
/// `why` sees the third side: after apply, the reader may read an object through all three
/// sides; when someone takes the reader's statement out of the key policy, both S3 sides
/// still allow and `why --live` says denied, naming the key side, while the plan file's own
/// documents (offline) still allow.
#[tokio::test]
async fn why_live_reads_the_key_policy_and_finds_the_missing_key_side() {
    let w = World::new().await;
    w.write("");
    apply(&w.dir, None).await;
    let object = format!("s3://{}/Mistral-7B-v0.1/config.json", w.bucket);
    let why = |live: bool| {
        let mut args = vec![
            "why".to_string(),
            PLAN.to_string(),
            "--principal".into(),
            "role.reader".into(),
            "--action".into(),
            "s3:GetObject".into(),
            "--resource".into(),
            object.clone(),
            "--format".into(),
            "json".into(),
        ];
        if live {
            args.push("--live".into());
        }
        args
    };
    let side = |report: &Value, name: &str| -> String {
        report["sides"]
            .as_array()
            .expect("sides")
            .iter()
            .find(|s| s["side"] == name)
            .map(|s| s["decision"].as_str().unwrap_or_default().to_string())
            .unwrap_or_else(|| panic!("no {name} side: {report:#}"))
    };
    let args = why(true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let allowed = run(&w.dir, None, &args).await;
    assert_eq!(allowed.code, 0, "{allowed}");
    let report = json_of(&allowed);
    assert_eq!(report["decision"], "allowed", "{report:#}");
    assert_eq!(side(&report, "key"), "allowed", "{report:#}");

    // Someone removes the reader's key statement by hand.
    let kms_storage = kms(&w.storage).await;
    let mut policy = key_policy(&kms_storage, &w.key_arn).await;
    policy["Statement"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["Sid"] != "s3wardmlmodelsModelsReadRoleReader");
    ok(kms_storage
        .put_key_policy()
        .key_id(&w.key_arn)
        .policy_name("default")
        .policy(policy.to_string())
        .send()
        .await);
    let denied = run(&w.dir, None, &args).await;
    assert_eq!(denied.code, 2, "{denied}");
    let report = json_of(&denied);
    assert_eq!(report["decision"], "denied", "{report:#}");
    assert_eq!(side(&report, "identity"), "allowed", "{report:#}");
    assert_eq!(side(&report, "bucket"), "allowed", "{report:#}");
    assert_eq!(side(&report, "key"), "denied", "{report:#}");

    // The plan file still writes the key side: offline, allowed.
    let args = why(false);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let offline = run(&w.dir, None, &args).await;
    assert_eq!(offline.code, 0, "{offline}");
}

#[tokio::test]
async fn the_test_server_refuses_key_policies_that_kms_refuses() {
    let storage = account();
    let kms = kms(&storage).await;
    let created = ok(kms.create_key().send().await);
    let arn = created
        .key_metadata()
        .and_then(|m| m.arn())
        .unwrap()
        .to_string();
    let root = json!({"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{storage}:root")}, "Action": "kms:*", "Resource": "*"});
    let doc = |statements: Vec<Value>| {
        json!({"Version": "2012-10-17", "Statement": statements}).to_string()
    };
    let put = |policy: String, bypass: bool| {
        kms.put_key_policy()
            .key_id(&arn)
            .policy_name("default")
            .policy(policy)
            .bypass_policy_lockout_safety_check(bypass)
            .send()
    };
    // The lockout safety check: the caller could no longer change the policy.
    let other = json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "kms:*", "Resource": "*"});
    let e = service_error(put(doc(vec![other.clone()]), false).await);
    assert_eq!(e.code, "MalformedPolicyDocumentException", "{e:?}");
    assert!(
        e.message
            .contains("will not allow you to update the key policy"),
        "{e:?}"
    );
    ok(put(doc(vec![other]), true).await);
    // An invalid principal.
    let ghost = json!({"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{storage}:role/{}", unique("ghost"))}, "Action": "kms:Decrypt", "Resource": "*"});
    let e = service_error(put(doc(vec![root.clone(), ghost]), true).await);
    assert_eq!(e.code, "MalformedPolicyDocumentException", "{e:?}");
    assert!(e.message.contains("invalid principals"), "{e:?}");
    // Over 32 KB.
    let mut big = vec![root.clone()];
    big.extend((0..400).map(|i| json!({"Sid": format!("Pad{i}"), "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{storage}:root")}, "Action": "kms:DescribeKey", "Resource": "*"})));
    let e = service_error(put(doc(big), false).await);
    assert_eq!(e.code, "LimitExceededException", "{e:?}");
    // What s3ward sends passes.
    ok(put(doc(vec![root]), false).await);
}
