//! What was read from AWS, as plain data: each managed setting of each bucket and role,
//! absent or present, documents kept as text with their parse result. No SDK types and no
//! reading here (`live` reads and fills these); `diff`, `import` and saved plans
//! (fingerprints) work on this alone.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::change::{Address, Resource};
use crate::desired::{Encryption, NamedBy, ObjectOwnership, PublicAccessBlock};
use crate::policy::{PolicyDocument, canonical::CanonicalPolicy};

/// A setting as read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Setting<T> {
    /// Not managed by the plan file, so not read.
    #[default]
    NotRead,
    /// Read, and not set in AWS.
    Absent,
    Present(T),
}

impl<T> Setting<T> {
    pub fn present(&self) -> Option<&T> {
        match self {
            Setting::Present(v) => Some(v),
            _ => None,
        }
    }
    pub fn is_read(&self) -> bool {
        !matches!(self, Setting::NotRead)
    }
}

/// A policy document as AWS returned it.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveDocument {
    /// Decoded text (IAM's URL encoding removed).
    pub text: String,
    pub doc: Result<PolicyDocument, String>,
}

impl LiveDocument {
    pub fn from_text(text: &str) -> LiveDocument {
        let text = crate::policy::document::decode_iam_text(text);
        let doc = PolicyDocument::parse(&text).map_err(|e| e.to_string());
        LiveDocument { text, doc }
    }

    /// What the fingerprint covers: the canonical form when it parses, else the text.
    fn fingerprint_input(&self) -> String {
        match &self.doc {
            Ok(d) => format!("{:?}", CanonicalPolicy::of(d)),
            Err(_) => self.text.clone(),
        }
    }
}

/// One bucket ACL grant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AclGrant {
    /// `CanonicalUser:ID`, `Group:URI`, `Email:ADDRESS`.
    pub grantee: String,
    pub permission: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveAcl {
    pub owner: String,
    pub grants: Vec<AclGrant>,
}

impl LiveAcl {
    /// The ACL of a bucket that enforces ownership, without reading it: ACLs are disabled
    /// there, so it grants nothing to anyone but the owner (whose id is not needed).
    pub fn disabled() -> LiveAcl {
        LiveAcl {
            owner: String::new(),
            grants: Vec::new(),
        }
    }

    /// Grants to anyone but the bucket owner: access that `bucket_acl = "private"` removes.
    pub fn foreign_grants(&self) -> Vec<&AclGrant> {
        let owner = format!("CanonicalUser:{}", self.owner);
        self.grants.iter().filter(|g| g.grantee != owner).collect()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LiveBucket {
    pub exists: bool,
    pub policy: Setting<LiveDocument>,
    pub acl: Setting<LiveAcl>,
    pub ownership: Setting<ObjectOwnership>,
    pub public_access_block: Setting<PublicAccessBlock>,
    pub tags: Setting<BTreeMap<String, String>>,
    /// GetBucketEncryption's default rule (read when `encryption` is managed); `Absent`: no
    /// configuration, which S3 treats as SSE-S3.
    pub encryption: Setting<Encryption>,
}

/// A KMS key of `[keys]`, as read: DescribeKey and GetKeyPolicy (`default`), and its tags
/// (which hold the `s3ward:applied` record). A key s3ward cannot find is an error, never
/// created.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveKey {
    /// `AWS` for an AWS managed key (whose policy cannot be changed), else `CUSTOMER`.
    pub manager: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, ...
    pub state: String,
    pub policy: LiveDocument,
    pub tags: BTreeMap<String, String>,
}

impl LiveBucket {
    pub fn absent() -> LiveBucket {
        LiveBucket {
            exists: false,
            policy: Setting::Absent,
            acl: Setting::Absent,
            ownership: Setting::Absent,
            public_access_block: Setting::Absent,
            tags: Setting::Absent,
            encryption: Setting::Absent,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LiveRole {
    pub exists: bool,
    pub arn: String,
    pub path: String,
    pub description: Option<String>,
    pub max_session_duration: Option<i32>,
    pub tags: BTreeMap<String, String>,
    pub trust: Option<LiveDocument>,
    /// Attached managed policy ARNs.
    pub managed: Setting<BTreeSet<String>>,
    /// Attached managed policy ARNs when the plan file does not declare `managed_policies`
    /// (then `managed` is `NotRead`): not managed, read only to list them as granting
    /// access beyond the plan file. Kept apart from `managed` so that neither the diff nor a
    /// saved plan's fingerprints see them.
    pub attached_unmanaged: BTreeSet<String>,
    /// Inline policies read, by name.
    pub inline: BTreeMap<String, LiveDocument>,
    /// Whether `inline` is every inline policy of the role (listed), or only those asked for.
    pub inline_complete: bool,
}

impl LiveRole {
    pub fn absent() -> LiveRole {
        LiveRole {
            exists: false,
            arn: String::new(),
            path: String::new(),
            description: None,
            max_session_duration: None,
            tags: BTreeMap::new(),
            trust: None,
            managed: Setting::Absent,
            attached_unmanaged: BTreeSet::new(),
            inline: BTreeMap::new(),
            inline_complete: true,
        }
    }
}

/// A role or user that a grant or trust entry names, as read in its account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LivePrincipal {
    Exists,
    /// No role or user of that name.
    Missing,
    /// One of that name, with another path (AWS refuses an ARN whose path is wrong).
    OtherPath(String),
    /// s3ward may not read it there (AccessDenied): the reason, as AWS gave it.
    Unreadable(String),
}

/// The address of what names a principal: the bucket policy, or the role's trust.
impl From<&NamedBy> for Address {
    fn from(by: &NamedBy) -> Address {
        match by {
            NamedBy::BucketPolicy(k) => Address::BucketPolicy(k.clone()),
            NamedBy::RoleTrust(k) => Address::RoleTrust(k.clone()),
        }
    }
}

/// A pod identity association as EKS describes it (DescribePodIdentityAssociation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveAssociation {
    pub id: String,
    pub role_arn: String,
    pub tags: BTreeMap<String, String>,
}

/// The live state of everything the plan file manages (or the targeted part of it).
#[derive(Clone, Debug, Default)]
pub struct Live {
    pub buckets: BTreeMap<String, LiveBucket>,
    pub roles: BTreeMap<String, LiveRole>,
    pub keys: BTreeMap<String, LiveKey>,
    /// KMS keys that buckets with cross-account grants name by ARN and the plan file does not
    /// manage: ARN → `KeyManager` (`AWS` for `aws/s3`), when DescribeKey answered.
    pub outside_keys: BTreeMap<String, String>,
    /// The principals named by grants and trust entries, by ARN, read in the accounts
    /// s3ward has a session for; one not here was not read (see `desired::principals`).
    pub principals: BTreeMap<String, LivePrincipal>,
    /// Role key → `CLUSTER/NAMESPACE/SERVICE_ACCOUNT` → the association for that service
    /// account (`NotRead`: no session in the cluster's account).
    pub pod_identity: BTreeMap<String, BTreeMap<String, Setting<LiveAssociation>>>,
}

fn digest(input: &str) -> String {
    hex::encode(&Sha256::digest(input.as_bytes())[..12])
}

impl Live {
    /// A fingerprint of every setting read, by address, for saved plans: `apply --saved`
    /// reads again and refuses when any differs.
    pub fn fingerprints(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut put = |addr: String, input: String| {
            out.insert(addr, digest(&input));
        };
        for (k, b) in &self.buckets {
            put(
                Address::Bucket(k.clone()).to_string(),
                format!("{}", b.exists),
            );
            put(
                Address::BucketPolicy(k.clone()).to_string(),
                match &b.policy {
                    Setting::Present(d) => d.fingerprint_input(),
                    other => format!("{other:?}"),
                },
            );
            if b.acl.is_read() {
                put(
                    Address::BucketAcl(k.clone()).to_string(),
                    format!("{:?}", b.acl),
                );
            }
            if b.ownership.is_read() {
                put(
                    Address::BucketOwnership(k.clone()).to_string(),
                    format!("{:?}", b.ownership),
                );
            }
            if b.public_access_block.is_read() {
                put(
                    Address::BucketPublicAccessBlock(k.clone()).to_string(),
                    format!("{:?}", b.public_access_block),
                );
            }
            if b.tags.is_read() {
                put(
                    Address::BucketTags(k.clone()).to_string(),
                    format!("{:?}", b.tags),
                );
            }
            if b.encryption.is_read() {
                put(
                    Address::BucketEncryption(k.clone()).to_string(),
                    format!("{:?}", b.encryption),
                );
            }
        }
        for (k, key) in &self.keys {
            put(
                Address::KeyPolicy(k.clone()).to_string(),
                key.policy.fingerprint_input(),
            );
            put(
                Address::Key(k.clone()).to_string(),
                format!("{} {} {:?}", key.manager, key.state, key.tags),
            );
        }
        for (k, r) in &self.roles {
            put(
                Address::Role(k.clone()).to_string(),
                format!(
                    "{} {} {:?} {:?} {:?}",
                    r.exists, r.path, r.description, r.max_session_duration, r.tags
                ),
            );
            put(
                Address::RoleTrust(k.clone()).to_string(),
                r.trust
                    .as_ref()
                    .map_or_else(String::new, LiveDocument::fingerprint_input),
            );
            if r.managed.is_read() {
                put(
                    format!("{}.managed_policies", Resource::Role(k.clone())),
                    format!("{:?}", r.managed),
                );
            }
            let inline: Vec<String> = r
                .inline
                .iter()
                .map(|(n, d)| format!("{n}={}", d.fingerprint_input()))
                .collect();
            put(
                format!("{}.inline_policies", Resource::Role(k.clone())),
                format!("{} {}", r.inline_complete, inline.join(";")),
            );
        }
        for (k, associations) in &self.pod_identity {
            for (id, a) in associations {
                put(
                    Address::RolePodIdentity(k.clone(), id.clone()).to_string(),
                    format!("{a:?}"),
                );
            }
        }
        out
    }
}
