//! The documents a plan file's grants and typed trust entries produce, as s3ward writes
//! them: for each grant, its statements in the bucket policy (with the principal) and in the
//! grantee role's `s3ward-grants` inline policy (without); a role's trust policy from its
//! `trust = [...]` entries; and the Sid words both are named with.
//!
//! Deterministic and pure: the output depends only on the resolved grant, bucket and entries
//! (statement order, Sids and the owner-full-control condition included), never on the live
//! state, which is `diff`'s. What a plan file may ask for is checked before, by the resolver.

use std::collections::BTreeMap;

use serde_json::json;

use super::{Access, Bucket, Grant};
use crate::policy::{PolicyDocument, Principal, Statement};

impl Access {
    fn pascal(self) -> &'static str {
        match self {
            Access::List => "List",
            Access::Read => "Read",
            Access::Write => "Write",
            Access::ReadWrite => "ReadWrite",
            Access::Full => "Full",
        }
    }

    /// Actions on the bucket ARN other than `s3:ListBucket` (which is kept apart because it
    /// carries the `s3:prefix` condition).
    pub fn bucket_actions(self) -> Vec<&'static str> {
        let mut a = vec!["s3:GetBucketLocation"];
        if self.writes() {
            a.push("s3:ListBucketMultipartUploads");
        }
        a
    }

    /// Actions on object ARNs, except `s3:PutObject` (kept apart by [`Grant::bucket_statements`]
    /// for its `s3:x-amz-acl` condition).
    pub fn object_actions(self) -> Vec<&'static str> {
        let mut a = Vec::new();
        if self.lists() && self != Access::List {
            a.extend(["s3:GetObject", "s3:GetObjectVersion"]);
        }
        if self.writes() {
            a.extend(["s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]);
        }
        if self == Access::Full {
            a.extend(["s3:DeleteObject", "s3:DeleteObjectVersion"]);
        }
        a
    }
}

impl Grant {
    /// The bucket-policy statements this grant produces (with the principal).
    pub fn bucket_statements(&self, bucket: &Bucket) -> Vec<Statement> {
        self.statements(bucket, Some(&self.principal), &self.sid)
    }

    /// The same permissions for the grantee role's identity policy (no principal). The Sid
    /// names the bucket, since one role's document holds grants on many buckets.
    pub fn identity_statements(&self, bucket: &Bucket) -> Vec<Statement> {
        let sid = format!("s3ward{}{}", pascal(&bucket.key), self.access.pascal());
        self.statements(bucket, None, &sid)
    }

    /// Whether the PutObject statement must require `bucket-owner-full-control`: the bucket
    /// does not enforce ownership and the writer is in another account.
    pub fn needs_owner_full_control(&self, bucket: &Bucket) -> bool {
        self.access.writes()
            && !bucket.enforces_ownership()
            && self
                .principal_account
                .as_deref()
                .is_none_or(|a| a != bucket.account_id)
    }

    fn statements(&self, bucket: &Bucket, principal: Option<&str>, sid: &str) -> Vec<Statement> {
        let bucket_arn = bucket.arn();
        let object_arns: Vec<String> = if self.prefixes.is_empty() {
            vec![format!("{bucket_arn}/*")]
        } else {
            self.prefixes
                .iter()
                .map(|p| format!("{bucket_arn}/{p}*"))
                .collect()
        };
        let base = |suffix: &str, actions: Vec<&str>, resources: Vec<String>| {
            let mut st = Statement::allow();
            st.sid = Some(format!("{sid}{suffix}"));
            st.principal = principal.map(|p| {
                if p == "*" {
                    Principal::Star
                } else {
                    Principal::Map(BTreeMap::from([("AWS".to_string(), vec![p.to_string()])]))
                }
            });
            st.action = Some(actions.into_iter().map(str::to_string).collect());
            st.resource = Some(resources);
            st
        };
        let mut out = Vec::new();
        if self.access.lists() {
            let mut list = base("List", vec!["s3:ListBucket"], vec![bucket_arn.clone()]);
            if !self.prefixes.is_empty() {
                let patterns = self
                    .prefixes
                    .iter()
                    .map(|p| json!(format!("{p}*")))
                    .collect();
                list.condition = Some(BTreeMap::from([(
                    "StringLike".to_string(),
                    BTreeMap::from([("s3:prefix".to_string(), patterns)]),
                )]));
            }
            out.push(list);
        }
        out.push(base(
            "Bucket",
            self.access.bucket_actions(),
            vec![bucket_arn.clone()],
        ));
        let object_actions = self.access.object_actions();
        if self.access.writes() {
            let mut put = base("Put", vec!["s3:PutObject"], object_arns.clone());
            if principal.is_some() && self.needs_owner_full_control(bucket) {
                put.condition = Some(BTreeMap::from([(
                    "StringEquals".to_string(),
                    BTreeMap::from([(
                        "s3:x-amz-acl".to_string(),
                        vec![json!("bucket-owner-full-control")],
                    )]),
                )]));
            }
            out.push(put);
        }
        if !object_actions.is_empty() {
            out.push(base("Objects", object_actions, object_arns));
        }
        out
    }
}

/// The service principal of EKS Pod Identity.
pub const POD_IDENTITY_SERVICE: &str = "pods.eks.amazonaws.com";

/// `arn:aws:eks:REGION:ACCOUNT:cluster/NAME`.
pub fn eks_cluster_arn(region: &str, account_id: &str, cluster: &str) -> String {
    format!("arn:aws:eks:{region}:{account_id}:cluster/{cluster}")
}

/// The trust policy statement kinds of SPEC's `trust = [...]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustEntry {
    Service(String),
    /// An account root or any IAM ARN, optionally with an external id.
    Aws {
        arn: String,
        external_id: Option<String>,
    },
    Eks {
        provider_arn: String,
        provider: String,
        namespace: String,
        service_account: String,
    },
    /// EKS Pod Identity: the service `pods.eks.amazonaws.com`, for one service account of
    /// one cluster (`cluster_arn`, in `account_id`).
    PodIdentity {
        cluster_arn: String,
        account_id: String,
        namespace: String,
        service_account: String,
    },
}

impl TrustEntry {
    pub fn statement(&self) -> Statement {
        let mut st = Statement::allow();
        match self {
            TrustEntry::Service(s) => {
                st.principal = Some(Principal::Map(BTreeMap::from([(
                    "Service".to_string(),
                    vec![s.clone()],
                )])));
                st.action = Some(vec!["sts:AssumeRole".into()]);
            }
            TrustEntry::Aws { arn, external_id } => {
                st.principal = Some(Principal::Map(BTreeMap::from([(
                    "AWS".to_string(),
                    vec![arn.clone()],
                )])));
                st.action = Some(vec!["sts:AssumeRole".into()]);
                if let Some(id) = external_id {
                    st.condition = Some(BTreeMap::from([(
                        "StringEquals".to_string(),
                        BTreeMap::from([("sts:ExternalId".to_string(), vec![json!(id)])]),
                    )]));
                }
            }
            TrustEntry::Eks {
                provider_arn,
                provider,
                namespace,
                service_account,
            } => {
                st.principal = Some(Principal::Map(BTreeMap::from([(
                    "Federated".to_string(),
                    vec![provider_arn.clone()],
                )])));
                st.action = Some(vec!["sts:AssumeRoleWithWebIdentity".into()]);
                st.condition = Some(BTreeMap::from([(
                    "StringEquals".to_string(),
                    BTreeMap::from([
                        (
                            format!("{provider}:sub"),
                            vec![json!(format!(
                                "system:serviceaccount:{namespace}:{service_account}"
                            ))],
                        ),
                        (format!("{provider}:aud"), vec![json!("sts.amazonaws.com")]),
                    ]),
                )]));
            }
            TrustEntry::PodIdentity {
                cluster_arn,
                account_id,
                namespace,
                service_account,
            } => {
                // EKS Pod Identity tags the session with the cluster, namespace and
                // service account; conditions on those tags (and on the account the request
                // comes from) keep every other association from using the role.
                st.principal = Some(Principal::Map(BTreeMap::from([(
                    "Service".to_string(),
                    vec![POD_IDENTITY_SERVICE.to_string()],
                )])));
                st.action = Some(vec!["sts:AssumeRole".into(), "sts:TagSession".into()]);
                st.condition = Some(BTreeMap::from([(
                    "StringEquals".to_string(),
                    BTreeMap::from([
                        ("aws:SourceAccount".to_string(), vec![json!(account_id)]),
                        (
                            "aws:RequestTag/eks-cluster-arn".to_string(),
                            vec![json!(cluster_arn)],
                        ),
                        (
                            "aws:RequestTag/kubernetes-namespace".to_string(),
                            vec![json!(namespace)],
                        ),
                        (
                            "aws:RequestTag/kubernetes-service-account".to_string(),
                            vec![json!(service_account)],
                        ),
                    ]),
                )]));
            }
        }
        st
    }
}

/// A trust policy from typed entries: one statement per entry, in plan-file order.
pub fn trust_document(entries: &[TrustEntry]) -> PolicyDocument {
    PolicyDocument::new(entries.iter().map(TrustEntry::statement).collect())
}

/// `ray-cluster` → `RayCluster`: keys turned into Sid-safe words (IAM Sids are `[A-Za-z0-9]`).
pub fn pascal(key: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in key.chars() {
        if c.is_ascii_alphanumeric() {
            if upper {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::desired::{AclMode, Grantee, ObjectOwnership, PolicyMode};

    fn bucket(ownership: Option<ObjectOwnership>) -> Bucket {
        Bucket {
            key: "models".into(),
            name: "acme-ml-models".into(),
            account: "storage".into(),
            account_id: "111111111111".into(),
            region: None,
            create: true,
            ownership,
            public_access_block: None,
            acl: AclMode::Private,
            policy_mode: PolicyMode::Authoritative,
            sid_prefix: "s3ward".into(),
            policy_statements: vec![],
            tags: BTreeMap::new(),
            encryption: None,
            grants: vec![],
            models: vec![],
        }
    }

    fn grant(access: Access, prefixes: &[&str], account: &str) -> Grant {
        Grant {
            grantee: Grantee::Role("ray".into()),
            principal: format!("arn:aws:iam::{account}:role/ray"),
            principal_account: Some(account.into()),
            access,
            prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
            sid: "s3wardReadWriteRoleRay".into(),
        }
    }

    fn actions(sts: &[Statement]) -> Vec<(String, Vec<String>)> {
        sts.iter()
            .map(|s| (s.sid.clone().unwrap(), s.action.clone().unwrap()))
            .collect()
    }

    #[test]
    fn access_table_matches_spec() {
        let b = bucket(Some(ObjectOwnership::BucketOwnerEnforced));
        let list = grant(Access::List, &[], "111111111111").bucket_statements(&b);
        assert_eq!(
            actions(&list),
            vec![
                (
                    "s3wardReadWriteRoleRayList".into(),
                    vec!["s3:ListBucket".into()]
                ),
                (
                    "s3wardReadWriteRoleRayBucket".into(),
                    vec!["s3:GetBucketLocation".into()]
                ),
            ]
        );
        let full = grant(Access::Full, &[], "111111111111").bucket_statements(&b);
        let all: BTreeSet<String> = full
            .iter()
            .flat_map(|s| s.action.clone().unwrap())
            .collect();
        let want: BTreeSet<String> = [
            "s3:ListBucket",
            "s3:GetBucketLocation",
            "s3:ListBucketMultipartUploads",
            "s3:GetObject",
            "s3:GetObjectVersion",
            "s3:PutObject",
            "s3:AbortMultipartUpload",
            "s3:ListMultipartUploadParts",
            "s3:DeleteObject",
            "s3:DeleteObjectVersion",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(all, want);
        let write = grant(Access::Write, &[], "111111111111").bucket_statements(&b);
        let all: BTreeSet<String> = write
            .iter()
            .flat_map(|s| s.action.clone().unwrap())
            .collect();
        assert!(!all.contains("s3:ListBucket") && !all.contains("s3:GetObject"));
        assert!(
            all.contains("s3:GetBucketLocation") && all.contains("s3:ListBucketMultipartUploads")
        );
    }

    #[test]
    fn prefixes_scope_objects_and_listing() {
        let b = bucket(Some(ObjectOwnership::BucketOwnerEnforced));
        let sts = grant(
            Access::Read,
            &["Mistral-7B-v0.1/", "shared/"],
            "111111111111",
        )
        .bucket_statements(&b);
        let list = &sts[0];
        assert_eq!(
            list.resource.as_deref(),
            Some(&["arn:aws:s3:::acme-ml-models".to_string()][..])
        );
        let cond = list.condition.as_ref().unwrap();
        assert_eq!(
            cond["StringLike"]["s3:prefix"],
            vec![json!("Mistral-7B-v0.1/*"), json!("shared/*")]
        );
        let objects = sts
            .iter()
            .find(|s| s.sid.as_deref().unwrap().ends_with("Objects"))
            .unwrap();
        assert_eq!(
            objects.resource.clone().unwrap(),
            vec![
                "arn:aws:s3:::acme-ml-models/Mistral-7B-v0.1/*".to_string(),
                "arn:aws:s3:::acme-ml-models/shared/*".to_string()
            ]
        );
    }

    #[test]
    fn cross_account_writers_must_hand_over_ownership_unless_enforced() {
        let open = bucket(None);
        let g = grant(Access::ReadWrite, &["checkpoints/"], "222222222222");
        let put = g
            .bucket_statements(&open)
            .into_iter()
            .find(|s| s.sid.as_deref().unwrap().ends_with("Put"))
            .unwrap();
        assert_eq!(
            put.condition.unwrap()["StringEquals"]["s3:x-amz-acl"],
            vec![json!("bucket-owner-full-control")]
        );
        // Same account, or ownership enforced: no condition.
        let same = grant(Access::ReadWrite, &[], "111111111111");
        assert!(
            same.bucket_statements(&open)
                .iter()
                .all(|s| s.condition.is_none())
        );
        let enforced = bucket(Some(ObjectOwnership::BucketOwnerEnforced));
        assert!(
            g.bucket_statements(&enforced).iter().all(|s| s
                .sid
                .as_deref()
                .unwrap()
                .ends_with("List")
                || s.condition.is_none())
        );
        // The identity side never carries it (the condition is about the bucket's owner).
        assert!(
            g.identity_statements(&open).iter().all(|s| !s
                .sid
                .as_deref()
                .unwrap()
                .ends_with("Put")
                || s.condition.is_none())
        );
    }

    #[test]
    fn eks_trust_has_sub_and_aud() {
        let e = TrustEntry::Eks {
            provider_arn:
                "arn:aws:iam::222222222222:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
                    .into(),
            provider: "oidc.eks.us-east-1.amazonaws.com/id/ABC".into(),
            namespace: "ml".into(),
            service_account: "inference".into(),
        };
        let v = e.statement().to_value();
        assert_eq!(v["Action"], "sts:AssumeRoleWithWebIdentity");
        assert_eq!(
            v["Condition"]["StringEquals"]["oidc.eks.us-east-1.amazonaws.com/id/ABC:sub"],
            "system:serviceaccount:ml:inference"
        );
        assert_eq!(
            v["Condition"]["StringEquals"]["oidc.eks.us-east-1.amazonaws.com/id/ABC:aud"],
            "sts.amazonaws.com"
        );
    }

    #[test]
    fn pascal_case_keys() {
        assert_eq!(pascal("ray-cluster"), "RayCluster");
        assert_eq!(pascal("inference"), "Inference");
        assert_eq!(pascal("a_b.c"), "ABC");
    }
}
