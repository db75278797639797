//! `plan` reads the roles and users that grants and trust entries name: a missing one in an
//! account s3ward reads stops the plan at its plan-file line (and so apply writes nothing);
//! one in an account it cannot read is listed as not verified.

use crate::support::fixtures::{PLAN, bucket_exists, create_role, json_of, run, sha256_hex};
use crate::support::{PlanDir, sdk, unique};

const STORAGE: &str = "111111111111";
const COMPUTE: &str = "222222222222";
const TRUST_EC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// A bucket in `storage` granted to `to`; `compute` is declared with `assume_role`, so
/// s3ward reads there too.
fn plan_text(bucket: &str, to: &str) -> String {
    format!(
        r#"version = 1

[accounts.storage]
id = "{STORAGE}"
assume_role = "arn:aws:iam::{STORAGE}:role/s3ward"

[accounts.compute]
id = "{COMPUTE}"
assume_role = "arn:aws:iam::{COMPUTE}:role/s3ward"

[buckets.models]
account = "storage"
name = "{bucket}"

[[buckets.models.grants]]
to = "{to}"
access = "read"
"#
    )
}

#[tokio::test]
async fn a_grant_to_a_missing_role_fails_plan_at_its_line_and_apply_writes_nothing() {
    let role = unique("pr-ray");
    create_role(&sdk(Some(COMPUTE)).await.iam, &role, TRUST_EC2).await;
    let bucket = unique("pr-missing");
    let dir = PlanDir::new();
    // A typo: one letter short.
    let typo = &role[..role.len() - 1];
    let arn = format!("arn:aws:iam::{COMPUTE}:role/{typo}");
    dir.write(PLAN, &plan_text(&bucket, &arn));
    let plan = dir
        .s3ward(&["plan", PLAN])
        .filter(&bucket, "[BUCKET]")
        .filter(typo, "[TYPO]")
        // The grant's Sid names the ARN by its digest.
        .filter(&sha256_hex(&arn)[..8], "[DIGEST]")
        .run_async()
        .await;
    assert_eq!(plan.code, 1, "{plan}");
    insta::assert_snapshot!(plan.snapshot_text());

    let apply = run(&dir, None, &["apply", "--auto-approve", PLAN]).await;
    assert_eq!(apply.code, 1, "{apply}");
    assert!(
        apply.stdout.contains(&format!(
            "role `{typo}` does not exist in account {COMPUTE}"
        )),
        "{apply}"
    );
    assert!(
        !bucket_exists(&sdk(Some(STORAGE)).await.s3, &bucket).await,
        "apply wrote nothing"
    );

    // The role's real name plans.
    dir.write(
        PLAN,
        &plan_text(&bucket, &format!("arn:aws:iam::{COMPUTE}:role/{role}")),
    );
    let ok = run(&dir, None, &["plan", PLAN]).await;
    assert_eq!(ok.code, 0, "{ok}");
}

#[tokio::test]
async fn a_principal_in_an_account_s3ward_cannot_read_is_listed_as_not_verified() {
    let bucket = unique("pr-unread");
    let dir = PlanDir::new();
    dir.write(
        PLAN,
        &plan_text(&bucket, "arn:aws:iam::333333333333:role/partner-reader"),
    );
    let plan = dir
        .s3ward(&["plan", PLAN])
        .filter(&bucket, "[BUCKET]")
        .run_async()
        .await;
    assert_eq!(plan.code, 0, "{plan}");
    insta::assert_snapshot!(plan.snapshot_text());

    let json = json_of(&run(&dir, None, &["plan", "--format", "json", PLAN]).await);
    assert_eq!(
        json["not_verified"],
        serde_json::json!([{
            "arn": "arn:aws:iam::333333333333:role/partner-reader",
            "named_by": ["bucket.models.policy"],
            "reason": "the plan file gives s3ward no access to account 333333333333",
        }])
    );
}
