//! What the plan file asks for, resolved: every reference followed, every default applied,
//! and the documents s3ward will write computed (bucket policies, trust policies, the
//! `s3ward-grants` inline policy). This file holds the resolved model and the rules of a
//! shared bucket policy (`merge` mode: which Sids a plan owns); `documents` holds what each
//! grant and trust entry turns into. Nothing here parses TOML (that is `plan_file`'s) or
//! reads AWS.
//!
//! Built by the plan-file resolver (`plan_file`); read by `diff`, `live` (to know what to
//! read) and `apply`.
//! Deterministic: the same plan file always yields byte-identical documents, because every
//! collection here is ordered and every Sid is derived from names, not positions in memory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::policy::{PolicyDocument, Statement};

mod documents;
mod expect;
mod keys;
mod pod_identity;
mod principals;
pub mod workloads;

pub use documents::{POD_IDENTITY_SERVICE, TrustEntry, eks_cluster_arn, pascal, trust_document};
pub use expect::{Expectation, Want};
pub use keys::{Encryption, Key, key_actions, parse_key_arn, via_service};
pub use pod_identity::{AssociationWrite, PodIdentityAssociation};
pub use principals::{
    BULK_MIN_ROLES, NamedBy, NamedPrincipal, Place, PrincipalKind, PrincipalToRead,
    accounts_to_list, line_col,
};

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
    /// `[workloads.KEY]`: pods, the role they get, the volumes they mount (`s3ward k8s`).
    pub workloads: BTreeMap<String, workloads::Workload>,
    /// `[keys.KEY]`: KMS keys whose policy s3ward manages.
    pub keys: BTreeMap<String, Key>,
    /// The principals grants and trust entries name, where the plan file names them.
    pub named_principals: Vec<NamedPrincipal>,
    /// `[[buckets.KEY.expect]]` entries, in plan-file order.
    pub expectations: Vec<Expectation>,
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
    /// The pod identity associations of its `pod_identity` trust entries (EKS API).
    pub pod_identity: Vec<PodIdentityAssociation>,
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

/// A grant's access level (SPEC's access table); the actions each level allows are in
/// `documents`, beside the statements that carry them.
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
    pub fn lists(self) -> bool {
        !matches!(self, Access::Write)
    }
    pub fn writes(self) -> bool {
        matches!(self, Access::Write | Access::ReadWrite | Access::Full)
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
    /// Default encryption; `None`: not managed.
    pub encryption: Option<Encryption>,
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

#[cfg(test)]
mod tests {
    use super::*;

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
