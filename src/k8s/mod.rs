//! `s3ward k8s`: the Kubernetes side of the plan's workloads, as typed objects: for each
//! workload its ServiceAccount, and for each volume a PersistentVolume for the Mountpoint
//! for Amazon S3 CSI driver and the PersistentVolumeClaim bound to it.
//!
//! Built with the `k8s-openapi` types, so a field that the Kubernetes API does not have
//! cannot be written; `render::k8s` serialises them. Pure and deterministic: the plan file
//! alone decides every byte (workloads and volumes in plan order, no timestamps, no random
//! names). It does not check that the workload is valid; the plan-file resolver has done
//! that before anything here runs.
//!
//! The shapes follow the driver's static-provisioning examples: `storageClassName: ""` on
//! both sides, a `claimRef` so no other claim can bind the volume, `capacity` that the
//! driver ignores but the schema requires (1200Gi, as its examples), and mount options
//! written as Mountpoint's flags (`region us-east-1`, `prefix DIR/`, `uid=1000`).
//! `volumeAttributes.authenticationSource: pod` makes the driver mount with the pod's own
//! role, the role the plan file grants and `validate` checked, rather than the driver's.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    CSIPersistentVolumeSource, ObjectReference, PersistentVolume, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PersistentVolumeSpec, ServiceAccount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::desired::Desired;
use crate::desired::workloads::{PodAccess, Volume, Workload, how_pods_assume};

/// The CSI driver's name.
pub const DRIVER: &str = "s3.csi.aws.com";
/// The ServiceAccount annotation IRSA reads.
pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// Required by the PersistentVolume schema, ignored by the driver (an S3 bucket has no size).
pub const CAPACITY: &str = "1200Gi";
const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "s3ward");

/// One document of the output.
#[derive(Clone, Debug, PartialEq)]
pub enum Document {
    /// Boxed, all three: a PersistentVolume's spec has a field for every volume source
    /// Kubernetes knows, and the variants stay of one size.
    ServiceAccount(Box<ServiceAccount>),
    PersistentVolume(Box<PersistentVolume>),
    PersistentVolumeClaim(Box<PersistentVolumeClaim>),
}

/// The documents of the workloads `only` names (all when empty), in plan order. `Err`
/// holds the keys of `only` that name no workload.
pub fn documents(desired: &Desired, only: &[String]) -> Result<Vec<Document>, Vec<String>> {
    let unknown: Vec<String> = only
        .iter()
        .filter(|k| !desired.workloads.contains_key(*k))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let mut out = Vec::new();
    let mut accounts: BTreeSet<(String, String)> = BTreeSet::new();
    for w in desired.workloads.values() {
        if !only.is_empty() && !only.contains(&w.key) {
            continue;
        }
        // Two workloads may share a service account: one document for it.
        if accounts.insert((w.namespace.clone(), w.service_account.clone())) {
            out.push(Document::ServiceAccount(Box::new(service_account(
                desired, w,
            ))));
        }
        for v in &w.volumes {
            out.push(Document::PersistentVolume(Box::new(volume(desired, w, v))));
            out.push(Document::PersistentVolumeClaim(Box::new(claim(w, v))));
        }
    }
    Ok(out)
}

fn meta(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(str::to_string),
        labels: Some(BTreeMap::from([(
            MANAGED_BY.0.to_string(),
            MANAGED_BY.1.to_string(),
        )])),
        ..ObjectMeta::default()
    }
}

fn service_account(desired: &Desired, w: &Workload) -> ServiceAccount {
    let mut metadata = meta(&w.service_account, Some(&w.namespace));
    if let Some(role) = desired.roles.get(&w.role)
        && how_pods_assume(&role.trust, &w.namespace, &w.service_account).contains(&PodAccess::Irsa)
    {
        metadata.annotations = Some(BTreeMap::from([(
            ROLE_ARN_ANNOTATION.to_string(),
            role.arn(),
        )]));
    }
    ServiceAccount {
        metadata,
        ..ServiceAccount::default()
    }
}

/// The PersistentVolume's name: cluster-wide, so the namespace is in it.
pub fn volume_name(w: &Workload, v: &Volume) -> String {
    format!("{}-{}", w.namespace, v.claim)
}

fn access_mode(v: &Volume) -> String {
    if v.read_only {
        "ReadOnlyMany".into()
    } else {
        "ReadWriteMany".into()
    }
}

fn storage() -> BTreeMap<String, Quantity> {
    BTreeMap::from([("storage".to_string(), Quantity(CAPACITY.to_string()))])
}

/// Mountpoint's options for the volume, in a fixed order.
pub fn mount_options(region: Option<&str>, v: &Volume) -> Vec<String> {
    let mut o = Vec::new();
    if let Some(r) = region {
        o.push(format!("region {r}"));
    }
    if let Some(p) = &v.prefix {
        o.push(format!("prefix {p}"));
    }
    o.push(
        if v.read_only {
            "read-only"
        } else {
            "allow-delete"
        }
        .to_string(),
    );
    if v.uid.is_some() || v.gid.is_some() {
        o.push("allow-other".into());
    }
    if let Some(u) = v.uid {
        o.push(format!("uid={u}"));
    }
    if let Some(g) = v.gid {
        o.push(format!("gid={g}"));
    }
    o
}

fn volume(desired: &Desired, w: &Workload, v: &Volume) -> PersistentVolume {
    let bucket = &desired.buckets[&v.bucket];
    let region = bucket.region.as_deref().or(desired.region.as_deref());
    let name = volume_name(w, v);
    PersistentVolume {
        metadata: meta(&name, None),
        spec: Some(PersistentVolumeSpec {
            capacity: Some(storage()),
            access_modes: Some(vec![access_mode(v)]),
            storage_class_name: Some(String::new()),
            claim_ref: Some(ObjectReference {
                namespace: Some(w.namespace.clone()),
                name: Some(v.claim.clone()),
                ..ObjectReference::default()
            }),
            mount_options: Some(mount_options(region, v)),
            csi: Some(CSIPersistentVolumeSource {
                driver: DRIVER.to_string(),
                volume_handle: format!("s3ward-{name}"),
                volume_attributes: Some(BTreeMap::from([
                    ("authenticationSource".to_string(), "pod".to_string()),
                    ("bucketName".to_string(), bucket.name.clone()),
                ])),
                ..CSIPersistentVolumeSource::default()
            }),
            ..PersistentVolumeSpec::default()
        }),
        ..PersistentVolume::default()
    }
}

fn claim(w: &Workload, v: &Volume) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: meta(&v.claim, Some(&w.namespace)),
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec![access_mode(v)]),
            storage_class_name: Some(String::new()),
            resources: Some(VolumeResourceRequirements {
                requests: Some(storage()),
                ..VolumeResourceRequirements::default()
            }),
            volume_name: Some(volume_name(w, v)),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}
