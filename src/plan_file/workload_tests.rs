//! `[workloads]`: what resolves, and the errors a workload whose role could not serve it
//! gets, at its line.

use std::path::Path;

use super::{Options, parse};
use crate::desired::Desired;

const HEAD: &str = r#"version = 1
[settings]
region = "us-east-1"
[accounts.storage]
id = "111111111111"
[accounts.compute]
id = "222222222222"

[roles.inference]
account = "compute"
trust = [{ eks = { oidc_provider = "oidc.eks.us-east-1.amazonaws.com/id/ABC", namespace = "ml", service_account = "inference" } }]

[buckets.models]
account = "storage"
name = "acme-models"

[[buckets.models.grants]]
to = "role.inference"
access = "read"
prefixes = ["Mistral-7B-v0.1/"]
"#;

fn resolve(extra: &str) -> Result<Desired, String> {
    parse(
        Path::new("plan.toml"),
        &format!("{HEAD}{extra}"),
        Options::default(),
    )
    .map(|l| l.desired)
    .map_err(|r| r.render(false))
}

const WORKLOAD: &str = r#"
[workloads.inference]
role = "inference"
namespace = "ml"
service_account = "inference"

[[workloads.inference.volumes]]
bucket = "models"
prefix = "Mistral-7B-v0.1"
"#;

#[test]
fn a_workload_resolves_with_its_defaults() {
    let d = resolve(WORKLOAD).unwrap();
    let w = &d.workloads["inference"];
    assert_eq!(
        (w.namespace.as_str(), w.service_account.as_str()),
        ("ml", "inference")
    );
    let v = &w.volumes[0];
    assert_eq!(v.prefix.as_deref(), Some("Mistral-7B-v0.1/"));
    assert!(v.read_only);
    assert_eq!(v.claim, "inference-models");
    assert_eq!((v.uid, v.gid), (None, None));
}

#[test]
fn a_volume_without_a_grant_is_an_error_at_its_line() {
    let other = WORKLOAD.replace("Mistral-7B-v0.1", "Llama-3-8B/");
    insta::assert_snapshot!("volume_not_granted", resolve(&other).unwrap_err());
    let writable = format!("{WORKLOAD}read_only = false\n");
    insta::assert_snapshot!("volume_not_writable", resolve(&writable).unwrap_err());
}

#[test]
fn a_trust_that_does_not_name_the_service_account_is_an_error() {
    let wrong = WORKLOAD.replace(
        "service_account = \"inference\"",
        "service_account = \"batch\"",
    );
    insta::assert_snapshot!("trust_names_another_sa", resolve(&wrong).unwrap_err());
}

#[test]
fn references_and_kubernetes_names_are_checked() {
    let bad = r#"
[workloads.inference]
role = "inferense"
namespace = "ML"
service_account = "inference"

[[workloads.inference.volumes]]
bucket = "modles"

[[workloads.inference.volumes]]
bucket = "models"
prefix = "Mistral-7B-v0.1/"
claim = "Bad_Claim"
"#;
    insta::assert_snapshot!("workload_references", resolve(bad).unwrap_err());
}

#[test]
fn a_raw_trust_policy_counts_and_a_literal_wildcard_sub_is_explained() {
    let raw = HEAD.replace(
        r#"trust = [{ eks = { oidc_provider = "oidc.eks.us-east-1.amazonaws.com/id/ABC", namespace = "ml", service_account = "inference" } }]"#,
        r#"trust_policy = '''{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::222222222222:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.eks.us-east-1.amazonaws.com/id/ABC:sub":"system:serviceaccount:ml:*"}}}]}'''"#,
    );
    let text = format!("{raw}{WORKLOAD}");
    let err = parse(Path::new("plan.toml"), &text, Options::default()).unwrap_err();
    let err = err.render(false);
    assert!(err.contains("`*` is a literal character"), "{err}");
    let like = text.replace("StringEquals", "StringLike");
    assert!(parse(Path::new("plan.toml"), &like, Options::default()).is_ok());
}

#[test]
fn a_pod_identity_entry_writes_its_statement_and_admits_the_workload() {
    let text = HEAD.replace(
        r#"trust = [{ eks = { oidc_provider = "oidc.eks.us-east-1.amazonaws.com/id/ABC", namespace = "ml", service_account = "inference" } }]"#,
        r#"trust = [{ pod_identity = { cluster = "ml-prod", namespace = "ml", service_account = "inference", account = "storage" } }]"#,
    );
    let d = parse(
        Path::new("plan.toml"),
        &format!("{text}{WORKLOAD}"),
        Options::default(),
    )
    .map_err(|r| r.render(false))
    .unwrap()
    .desired;
    insta::assert_snapshot!(d.roles["inference"].trust.to_pretty());
    let no_region = text.replace("[settings]\nregion = \"us-east-1\"\n", "");
    let err = parse(Path::new("plan.toml"), &no_region, Options::default())
        .unwrap_err()
        .render(false);
    assert!(err.contains("the cluster's region is not known"), "{err}");
    let bad = text.replace("cluster = \"ml-prod\"", "cluster = \"ml prod\"");
    let err = parse(Path::new("plan.toml"), &bad, Options::default())
        .unwrap_err()
        .render(false);
    assert!(
        err.contains("`ml prod` is not an EKS cluster name"),
        "{err}"
    );
}

/// A volume on a bucket encrypted with a key the plan does not manage gets a warning naming
/// the key side the pods need; with a `[keys]` entry the grants write it and nothing is said.
#[test]
fn a_volume_on_an_outside_kms_key_is_warned_about_and_a_plan_key_is_not() {
    let warnings = |encryption: &str, keys: &str| -> String {
        let text = format!("{HEAD}{keys}{WORKLOAD}").replace(
            "name = \"acme-models\"\n",
            &format!("name = \"acme-models\"\nencryption = {encryption}\n"),
        );
        let loaded = parse(Path::new("plan.toml"), &text, Options::default())
            .unwrap_or_else(|r| panic!("{}", r.render(false)));
        loaded.warnings.render(false)
    };
    let arn = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let outside = warnings(&format!("{{ kms_key = \"{arn}\" }}"), "");
    assert!(
        outside.contains("a key this plan does not manage")
            && outside.contains("`kms:Decrypt`")
            && outside.contains("role `inference`"),
        "{outside}"
    );
    let keys = format!("\n[keys.models]\naccount = \"storage\"\narn = \"{arn}\"\n");
    let planned = warnings("{ kms_key = \"key.models\" }", &keys);
    assert!(!planned.contains("does not manage"), "{planned}");
}

#[test]
fn two_roles_with_the_same_pod_identity_service_account_is_an_error() {
    let entry = r#"[{ pod_identity = { cluster = "ml-prod", namespace = "ml", service_account = "inference" } }]"#;
    let text = format!(
        "version = 1\n[settings]\nregion = \"us-east-1\"\n[accounts.compute]\nid = \"222222222222\"\n\n[roles.a]\naccount = \"compute\"\ntrust = {entry}\n\n[roles.b]\naccount = \"compute\"\ntrust = {entry}\n"
    );
    let r = parse(Path::new("plan.toml"), &text, Options::default());
    let err = r.map(|_| ()).map_err(|r| r.render(false)).unwrap_err();
    insta::assert_snapshot!("pod_identity_claimed_twice", err);
    // Another service account of the same cluster is fine.
    let other = text.replacen(
        "service_account = \"inference\"",
        "service_account = \"batch\"",
        1,
    );
    assert!(parse(Path::new("plan.toml"), &other, Options::default()).is_ok());
}
