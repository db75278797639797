//! What the plan file asks for, resolved: every reference followed, every default applied,
//! and the documents s3ward will write computed (bucket policies, trust policies, the
//! `s3ward-grants` inline policy).
//!
//! Built by the plan-file resolver (`plan_file`); read by `diff`, `live` (to know what to read) and `apply`.
//! Deterministic: the same plan file always yields byte-identical documents, because every
//! collection here is ordered and every Sid is derived from names, not positions in memory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::policy::{PolicyDocument, Principal, Statement};

/// The resolved plan file.
#[derive(Clone, Debug)]
pub struct Desired {
    /// `settings.name`, else the file stem.
    pub name: String,
    pub source: PlanSource,
    /// `settings.region`.
    pub region: Option<String>,
    pub lock: Option<LockLocation>,
    pub accounts: BTreeMap<String, Account>,
    pub principals: BTreeMap<String, String>,
    pub roles: BTreeMap<String, Role>,
    pub buckets: BTreeMap<String, Bucket>,
}

/// Where the plan file came from, and its exact bytes' SHA-256.
#[derive(Clone, Debug)]
pub struct PlanSource {
    pub path: PathBuf,
    pub text: String,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockLocation {
    pub bucket: String,
    pub key: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub key: String,
    pub id: String,
    pub assume_role: Option<String>,
    pub external_id: Option<String>,
}

/// `exclusive` (s3ward removes what the plan file does not declare) or `additive`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Exclusive,
    Additive,
}

#[derive(Clone, Debug)]
pub struct Role {
    pub key: String,
    pub name: String,
    pub account: String,
    pub account_id: String,
    pub path: Option<String>,
    pub description: Option<String>,
    pub max_session_duration: Option<i32>,
    pub tags: BTreeMap<String, String>,
    /// `None`: attachments are not managed.
    pub managed_policies: Option<BTreeSet<String>>,
    pub managed_policies_mode: Mode,
    pub trust: PolicyDocument,
    /// `None`: inline policies other than `s3ward-grants` are not managed.
    pub inline_policies: Option<BTreeMap<String, PolicyDocument>>,
    pub inline_policies_mode: Mode,
    /// The `s3ward-grants` inline policy, when any grant names this role.
    pub grants_policy: Option<PolicyDocument>,
}

/// The key of the tag that records what s3ward applied (its home is `applied`).
pub use crate::applied::APPLIED_TAG;

/// The inline policy that holds a role's grants. It always belongs to s3ward.
pub const GRANTS_POLICY_NAME: &str = "s3ward-grants";

impl Role {
    pub fn path_or_default(&self) -> &str {
        self.path.as_deref().unwrap_or("/")
    }

    /// The role's ARN (with its path, as IAM builds it).
    pub fn arn(&self) -> String {
        role_arn(&self.account_id, self.path_or_default(), &self.name)
    }
}

pub fn role_arn(account_id: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account_id}:role{path}{name}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ObjectOwnership {
    BucketOwnerEnforced,
    BucketOwnerPreferred,
    ObjectWriter,
}

impl ObjectOwnership {
    pub const ALL: [ObjectOwnership; 3] = [
        ObjectOwnership::BucketOwnerEnforced,
        ObjectOwnership::BucketOwnerPreferred,
        ObjectOwnership::ObjectWriter,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectOwnership::BucketOwnerEnforced => "BucketOwnerEnforced",
            ObjectOwnership::BucketOwnerPreferred => "BucketOwnerPreferred",
            ObjectOwnership::ObjectWriter => "ObjectWriter",
        }
    }
    pub fn parse(s: &str) -> Option<ObjectOwnership> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// The four public access block flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    pub fn all(on: bool) -> PublicAccessBlock {
        PublicAccessBlock {
            block_public_acls: on,
            ignore_public_acls: on,
            block_public_policy: on,
            restrict_public_buckets: on,
        }
    }

    fn flags(&self) -> [bool; 4] {
        [
            self.block_public_acls,
            self.ignore_public_acls,
            self.block_public_policy,
            self.restrict_public_buckets,
        ]
    }

    /// Whether going from `self` to `to` turns any flag off (and so may be needed before a
    /// policy that relies on it).
    pub fn relaxes_to(&self, to: &PublicAccessBlock) -> bool {
        self.flags().iter().zip(to.flags()).any(|(a, b)| *a && !b)
    }

    /// Whether a public bucket policy can exist under this block.
    pub fn allows_public_policy(&self) -> bool {
        !self.block_public_policy && !self.restrict_public_buckets
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AclMode {
    /// The bucket ACL grants nothing to anyone but the owner.
    Private,
    Unmanaged,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyMode {
    /// s3ward owns the whole bucket policy.
    Authoritative,
    /// s3ward owns only statements whose Sid starts with `s3ward`.
    Merge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    List,
    Read,
    Write,
    ReadWrite,
    Full,
}

impl Access {
    pub const ALL: [Access; 5] = [
        Access::List,
        Access::Read,
        Access::Write,
        Access::ReadWrite,
        Access::Full,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Access::List => "list",
            Access::Read => "read",
            Access::Write => "write",
            Access::ReadWrite => "read-write",
            Access::Full => "full",
        }
    }
    pub fn parse(s: &str) -> Option<Access> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
    fn pascal(self) -> &'static str {
        match self {
            Access::List => "List",
            Access::Read => "Read",
            Access::Write => "Write",
            Access::ReadWrite => "ReadWrite",
            Access::Full => "Full",
        }
    }
    pub fn lists(self) -> bool {
        !matches!(self, Access::Write)
    }
    pub fn writes(self) -> bool {
        matches!(self, Access::Write | Access::ReadWrite | Access::Full)
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

    /// Actions on object ARNs, except `s3:PutObject` (see [`Grant::object_statements`]).
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

/// Who a grant is to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grantee {
    /// A role of this plan (its key); gets the `s3ward-grants` inline policy too.
    Role(String),
    /// A `[principals.KEY]` entry.
    Principal(String),
    /// An `[accounts.KEY]` entry: the whole account.
    Account(String),
    /// An IAM ARN written in place.
    Arn,
    /// `*`: anyone (needs `public = true`).
    Anyone,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub grantee: Grantee,
    /// The principal as it goes into the bucket policy: an ARN, or `*`.
    pub principal: String,
    /// The account the principal belongs to (`None` for `*`).
    pub principal_account: Option<String>,
    pub access: Access,
    /// Empty: the whole bucket.
    pub prefixes: Vec<String>,
    /// Sid stem, unique within the bucket: `s3ward` + access + grantee.
    pub sid: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelDir {
    pub prefix: String,
    pub require: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Bucket {
    pub key: String,
    pub name: String,
    pub account: String,
    pub account_id: String,
    /// `None`: the ambient region, known only when connected.
    pub region: Option<String>,
    pub create: bool,
    pub ownership: Option<ObjectOwnership>,
    pub public_access_block: Option<PublicAccessBlock>,
    pub acl: AclMode,
    pub policy_mode: PolicyMode,
    /// How the Sids of the statements this plan owns in the bucket policy begin: `s3ward`
    /// when it owns the whole policy, [`merge_sid_prefix`] in `merge` mode.
    pub sid_prefix: String,
    /// The statements s3ward owns in the bucket policy (generated from grants, then
    /// `extra_policy_statements`), in a fixed order. Empty: s3ward wants none.
    pub policy_statements: Vec<Statement>,
    pub tags: BTreeMap<String, String>,
    pub grants: Vec<Grant>,
    pub models: Vec<ModelDir>,
}

impl Bucket {
    pub fn arn(&self) -> String {
        format!("arn:aws:s3:::{}", self.name)
    }

    /// The policy document s3ward owns, or `None` when it owns no statement.
    pub fn policy_document(&self) -> Option<PolicyDocument> {
        (!self.policy_statements.is_empty())
            .then(|| PolicyDocument::new(self.policy_statements.clone()))
    }

    pub fn enforces_ownership(&self) -> bool {
        self.ownership == Some(ObjectOwnership::BucketOwnerEnforced)
    }

    /// The Sid prefix to merge under when writing the bucket policy (`merge` mode), else `None`.
    pub fn merge_prefix(&self) -> Option<String> {
        (self.policy_mode == PolicyMode::Merge).then(|| self.sid_prefix.clone())
    }

    /// Whether this plan owns a statement of the live bucket policy: all of them when
    /// authoritative; in `merge` mode only its own (see [`owns_sid`]).
    pub fn owns(&self, st: &Statement) -> bool {
        self.policy_mode == PolicyMode::Authoritative || owns_sid(&self.sid_prefix, st.sid())
    }
}

/// The Sid prefix of the statements one plan file owns in a bucket policy it shares with
/// others (`merge` mode): `s3ward` and the plan's name in lowercase letters and digits
/// (`ml-models` → `s3wardmlmodels`). What follows it always starts with a capital letter,
/// so no plan's prefix can claim another plan's statements (`s3wardml` does not own
/// `s3wardml2Read…`, nor `s3wardmlmodelsRead…`).
pub fn merge_sid_prefix(plan_name: &str) -> String {
    let token: String = plan_name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    format!("s3ward{token}")
}

/// The bucket policy to write in `merge` mode, at the moment of writing: the statements of
/// `live` that the plan does not own, as they are now, then the plan's own statements of
/// `planned`. `None`: nothing is left, delete the policy.
pub fn merge_policy(
    prefix: &str,
    live: Option<&PolicyDocument>,
    planned: Option<&PolicyDocument>,
) -> Option<PolicyDocument> {
    let mut statements: Vec<Statement> = live
        .iter()
        .flat_map(|d| &d.statements)
        .filter(|s| !owns_sid(prefix, s.sid()))
        .cloned()
        .collect();
    statements.extend(
        planned
            .iter()
            .flat_map(|d| &d.statements)
            .filter(|s| owns_sid(prefix, s.sid()))
            .cloned(),
    );
    let version = planned
        .and_then(|d| d.version.clone())
        .or_else(|| live.and_then(|d| d.version.clone()))
        .unwrap_or_else(|| "2012-10-17".into());
    (!statements.is_empty()).then(|| PolicyDocument {
        version: Some(version),
        id: None,
        statements,
    })
}

/// Whether a statement with `sid` belongs to the plan whose merge prefix is `prefix`: the
/// prefix followed by a capital letter; or a Sid written before Sids carried the plan's name
/// (`s3ward` directly followed by a capital letter), which every plan of the bucket treats as
/// its own so that the next apply rewrites it under its own name.
pub fn owns_sid(prefix: &str, sid: Option<&str>) -> bool {
    let capital_after = |p: &str| {
        sid.and_then(|s| s.strip_prefix(p))
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
    };
    capital_after(prefix) || capital_after("s3ward")
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
    use super::*;

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

    #[test]
    fn block_direction() {
        let on = PublicAccessBlock::all(true);
        let off = PublicAccessBlock::all(false);
        assert!(on.relaxes_to(&off));
        assert!(!off.relaxes_to(&on));
        assert!(!on.relaxes_to(&on));
    }

    fn st(sid: &str) -> Statement {
        Statement {
            sid: Some(sid.into()),
            ..Statement::allow()
        }
    }

    #[test]
    fn merge_prefixes_never_claim_another_plans_statements() {
        assert_eq!(merge_sid_prefix("ml-models"), "s3wardmlmodels");
        assert_eq!(merge_sid_prefix("Team_2"), "s3wardteam2");
        let ml = merge_sid_prefix("ml");
        assert!(owns_sid(&ml, Some("s3wardmlReadRoleApp")));
        assert!(
            !owns_sid(&ml, Some("s3wardmlmodelsReadRoleApp")),
            "plan `ml-models`'s"
        );
        assert!(!owns_sid(&ml, Some("s3wardml2ReadRoleApp")), "plan `ml2`'s");
        assert!(!owns_sid(&ml, Some("s3wardmlreadRoleApp")));
        assert!(!owns_sid(&ml, Some("AnalyticsRead")));
        assert!(!owns_sid(&ml, None));
        // Written before Sids carried the plan's name: every plan takes it over.
        assert!(owns_sid(&ml, Some("s3wardReadRoleApp")));
    }

    #[test]
    fn merging_at_write_time_keeps_what_others_own_now() {
        let prefix = merge_sid_prefix("one");
        let doc = |sids: &[&str]| PolicyDocument::new(sids.iter().map(|s| st(s)).collect());
        // Planned: someone's statement as it was at plan time, and ours.
        let planned = doc(&["Theirs", "s3wardoneReadA"]);
        // Now: theirs, one added since, another plan's, and our old one.
        let live = doc(&["Theirs", "AddedLater", "s3wardtwoReadB", "s3wardoneReadOld"]);
        let merged = merge_policy(&prefix, Some(&live), Some(&planned)).unwrap();
        let sids: Vec<&str> = merged.statements.iter().filter_map(|s| s.sid()).collect();
        assert_eq!(
            sids,
            ["Theirs", "AddedLater", "s3wardtwoReadB", "s3wardoneReadA"]
        );
        // Deleting our part leaves theirs; nothing left means no policy.
        let left = merge_policy(&prefix, Some(&live), None).unwrap();
        assert_eq!(left.statements.len(), 3);
        assert!(merge_policy(&prefix, Some(&doc(&["s3wardoneReadOld"])), None).is_none());
    }
}
