//! The pod identity associations a role's `pod_identity` trust entries ask for (EKS API):
//! one per entry, in the cluster's region and account, keyed `CLUSTER/NAMESPACE/SERVICE_ACCOUNT`
//! (the text inside `role.KEY.pod_identity[...]`). Pure: built from the resolved trust
//! entries; `live::eks` reads them, `diff::pod_identity` compares them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::TrustEntry;

/// What apply sends for one association (`Write::PodIdentityAssociation`): EKS
/// CreatePodIdentityAssociation, or UpdatePodIdentityAssociation of `association_id`. In
/// the cluster's `account` (an accounts key) and region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssociationWrite {
    pub account: String,
    pub region: String,
    pub cluster: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
    /// `None`: create it, with `tags`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub association_id: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// One association s3ward keeps pointing at its role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodIdentityAssociation {
    pub cluster: String,
    pub region: String,
    /// The cluster's account (12 digits): the entry's `account`, default the role's.
    pub account_id: String,
    pub namespace: String,
    pub service_account: String,
}

impl PodIdentityAssociation {
    /// The association a `pod_identity` trust entry asks for (`None` for other entries, or a
    /// cluster ARN that is not `arn:aws:eks:REGION:ACCOUNT:cluster/NAME`).
    pub fn of(entry: &TrustEntry) -> Option<PodIdentityAssociation> {
        let TrustEntry::PodIdentity {
            cluster_arn,
            account_id,
            namespace,
            service_account,
        } = entry
        else {
            return None;
        };
        let mut parts = cluster_arn.splitn(6, ':');
        let (Some("arn"), Some(_), Some("eks"), Some(region), Some(_), Some(rest)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        Some(PodIdentityAssociation {
            cluster: rest.strip_prefix("cluster/")?.to_string(),
            region: region.to_string(),
            account_id: account_id.clone(),
            namespace: namespace.clone(),
            service_account: service_account.clone(),
        })
    }

    /// `CLUSTER/NAMESPACE/SERVICE_ACCOUNT`: what `role.KEY.pod_identity[...]` holds.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}",
            self.cluster, self.namespace, self.service_account
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_gives_its_cluster_region_and_key() {
        let e = TrustEntry::PodIdentity {
            cluster_arn: super::super::eks_cluster_arn("eu-west-1", "210987654321", "ml-prod"),
            account_id: "210987654321".into(),
            namespace: "ml".into(),
            service_account: "inference".into(),
        };
        let a = PodIdentityAssociation::of(&e).unwrap();
        assert_eq!(a.cluster, "ml-prod");
        assert_eq!(a.region, "eu-west-1");
        assert_eq!(a.account_id, "210987654321");
        assert_eq!(a.key(), "ml-prod/ml/inference");
        assert_eq!(
            PodIdentityAssociation::of(&TrustEntry::Service("x".into())),
            None
        );
    }
}
