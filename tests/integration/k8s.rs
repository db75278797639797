//! `s3ward k8s`: the YAML it prints is checked against the Kubernetes API schema for real:
//! each document is parsed back into its `k8s-openapi` type, serialised again, and must
//! give the same JSON value. `k8s-openapi` ignores unknown fields when it deserialises,
//! so the equality is what proves that nothing unknown, misspelt or mistyped was emitted;
//! the fields the schema or the CSI driver require are then asserted present. Plus: the
//! output is deterministic, snapshotted for `plans/ml-models.toml`, and equal to the
//! committed `examples/kubernetes/ml-models.yaml`.

use std::path::PathBuf;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, ServiceAccount};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::support::{PlanDir, Run, s3ward};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn k8s(plan: &str, extra: &[&str]) -> Run {
    let mut args = vec!["k8s", plan];
    args.extend(extra);
    s3ward(&args).current_dir(repo()).run()
}

/// The documents of a YAML stream (the comment line before the first `---` dropped).
fn documents(yaml: &str) -> Vec<String> {
    yaml.split("\n---\n")
        .skip(1)
        .map(|d| d.trim_end().to_string() + "\n")
        .collect()
}

/// Parses `doc` as `T` and back: the JSON must not change.
fn round_trip<T: DeserializeOwned + Serialize>(doc: &str) -> T {
    let raw: Value = serde_yaml_ng::from_str(doc).unwrap_or_else(|e| panic!("{e}\n{doc}"));
    let typed: T = serde_yaml_ng::from_str(doc).unwrap_or_else(|e| panic!("{e}\n{doc}"));
    assert_eq!(
        serde_json::to_value(&typed).unwrap(),
        raw,
        "a field the schema does not have, or of the wrong type:\n{doc}"
    );
    typed
}

/// Every document valid against its kind's schema, with the fields that matter present.
/// Returns the kinds, in order.
fn validate(yaml: &str) -> Vec<String> {
    let mut kinds = Vec::new();
    for doc in documents(yaml) {
        let v: Value = serde_yaml_ng::from_str(&doc).unwrap();
        assert_eq!(v["apiVersion"], "v1", "{doc}");
        let kind = v["kind"].as_str().unwrap().to_string();
        match kind.as_str() {
            "ServiceAccount" => {
                let sa: ServiceAccount = round_trip(&doc);
                assert!(sa.metadata.name.is_some() && sa.metadata.namespace.is_some());
            }
            "PersistentVolume" => {
                let pv: PersistentVolume = round_trip(&doc);
                assert!(pv.metadata.namespace.is_none(), "a PV is cluster-scoped");
                let spec = pv.spec.expect("spec");
                assert!(spec.capacity.unwrap().contains_key("storage"));
                assert_eq!(spec.storage_class_name.as_deref(), Some(""));
                let claim = spec.claim_ref.expect("claimRef");
                assert!(claim.name.is_some() && claim.namespace.is_some());
                let csi = spec.csi.expect("csi");
                assert_eq!(csi.driver, "s3.csi.aws.com");
                assert!(!csi.volume_handle.is_empty());
                assert!(csi.volume_attributes.unwrap().contains_key("bucketName"));
                assert!(!spec.mount_options.unwrap().is_empty());
            }
            "PersistentVolumeClaim" => {
                let pvc: PersistentVolumeClaim = round_trip(&doc);
                let spec = pvc.spec.expect("spec");
                assert_eq!(spec.storage_class_name.as_deref(), Some(""));
                assert!(spec.volume_name.is_some());
                assert!(
                    spec.resources
                        .unwrap()
                        .requests
                        .unwrap()
                        .contains_key("storage")
                );
            }
            other => panic!("unexpected kind {other}"),
        }
        kinds.push(kind);
    }
    kinds
}

#[test]
fn ml_models_yaml_is_valid_deterministic_and_committed() {
    let run = k8s("plans/ml-models.toml", &[]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        validate(&run.stdout),
        [
            "ServiceAccount",
            "PersistentVolume",
            "PersistentVolumeClaim"
        ]
    );
    assert_eq!(
        k8s("plans/ml-models.toml", &[]).stdout,
        run.stdout,
        "same plan, same bytes"
    );
    insta::assert_snapshot!(run.stdout);
    let committed = std::fs::read_to_string(repo().join("examples/kubernetes/ml-models.yaml"))
        .expect("examples/kubernetes/ml-models.yaml");
    assert_eq!(
        committed, run.stdout,
        "regenerate it: s3ward k8s plans/ml-models.toml > examples/kubernetes/ml-models.yaml"
    );
}

/// The validator catches what it must: a field the schema lacks, and a mistyped one.
#[test]
fn the_schema_check_refuses_unknown_and_mistyped_fields() {
    let run = k8s("plans/ml-models.toml", &[]);
    let pv = documents(&run.stdout)[1].clone();
    for broken in [
        pv.replace("  volumeHandle:", "  volumeHandel:"),
        pv.replace("storageClassName: ''", "storageClassName: 3"),
    ] {
        let r = std::panic::catch_unwind(|| round_trip::<PersistentVolume>(&broken));
        assert!(r.is_err(), "accepted:\n{broken}");
    }
}

const PLAN: &str = r#"version = 1
[settings]
region = "eu-west-1"
[accounts.main]
id = "123456789012"

[roles.trainer]
account = "main"
trust_policy = '''{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"aws:RequestTag/kubernetes-namespace":"train","aws:RequestTag/kubernetes-service-account":"trainer"}}}]}'''

[buckets.ckpt]
account = "main"
name = "acme-checkpoints"

[[buckets.ckpt.grants]]
to = "role.trainer"
access = "read-write"

[workloads.trainer]
role = "trainer"
namespace = "train"
service_account = "trainer"

[[workloads.trainer.volumes]]
bucket = "ckpt"
read_only = false
"#;

/// Pod Identity: no role annotation; a writable whole-bucket volume: `ReadWriteMany`,
/// `allow-delete`, no prefix, and no `allow-other` without uid/gid.
#[test]
fn a_writable_volume_for_a_pod_identity_workload() {
    let d = PlanDir::new();
    d.write("plan.toml", PLAN);
    let run = d
        .s3ward(&["k8s", "plan.toml", "--workload", "trainer"])
        .run();
    assert_eq!(run.code, 0, "{run}");
    validate(&run.stdout);
    let docs = documents(&run.stdout);
    assert!(!docs[0].contains("eks.amazonaws.com/role-arn"), "{run}");
    let pv: PersistentVolume = serde_yaml_ng::from_str(&docs[1]).unwrap();
    let spec = pv.spec.unwrap();
    assert_eq!(
        spec.mount_options.unwrap(),
        ["region eu-west-1", "allow-delete"]
    );
    assert_eq!(spec.access_modes.unwrap(), ["ReadWriteMany"]);
    assert!(docs[2].contains("name: trainer-ckpt\n"), "{run}");
}

/// Done-when: a volume its role has no grant for fails `validate` at its line.
#[test]
fn a_volume_without_a_matching_grant_fails_validate_with_its_line() {
    let d = PlanDir::new();
    d.write(
        "plan.toml",
        &PLAN.replace("access = \"read-write\"", "access = \"read\""),
    );
    let run = d.s3ward(&["validate", "plan.toml"]).run();
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("plan.toml:24:1"), "{run}");
    assert!(
        run.stderr
            .contains("volume `trainer-ckpt` mounts `s3://acme-checkpoints/` read-write, but role `trainer` has no grant to write it"),
        "{run}"
    );
    let k8s = d.s3ward(&["k8s", "plan.toml"]).run();
    assert_eq!(k8s.code, 1, "{k8s}");
    assert_eq!(k8s.stdout, "", "no YAML for an invalid plan");
}

/// The example Pod is valid against the schema, runs as the workload's service account,
/// mounts the claim `s3ward k8s` prints, and checks the model in an init container.
#[test]
fn the_example_pod_mounts_the_claim_and_checks_the_model_first() {
    use k8s_openapi::api::core::v1::Pod;
    let text =
        std::fs::read_to_string(repo().join("examples/kubernetes/inference-pod.yaml")).unwrap();
    let pod: Pod = round_trip(&text);
    let spec = pod.spec.unwrap();
    assert_eq!(spec.service_account_name.as_deref(), Some("inference"));
    let claim = spec.volumes.unwrap()[0]
        .persistent_volume_claim
        .clone()
        .unwrap()
        .claim_name;
    let generated = k8s("plans/ml-models.toml", &[]).stdout;
    assert!(generated.contains(&format!("  name: {claim}\n  namespace: ml\n")));
    let init = &spec.init_containers.unwrap()[0];
    assert_eq!(
        init.command.as_ref().unwrap()[..4],
        ["s3ward", "check", "--local", "/models/Mistral-7B-v0.1"]
    );
}
