//! The change set: what `plan` found and `apply` will do, as plain serialisable data.
//!
//! Following Terraform's `plans.Change`: each [`Change`] has an [`Address`], an [`Action`]
//! (whose symbol is defined with it), `before` and `after` values for display, and a
//! `reason` that only explains. What apply sends to AWS is the [`Write`], fixed at plan time
//! so that a saved plan applies exactly what was reviewed.
//!
//! Meaning of `before`/`after` by action:
//!
//! | action | before | after |
//! |---|---|---|
//! | create | `null` | the value s3ward will write |
//! | update | the live value (s3ward's view of it) | the value s3ward will write |
//! | delete | the live value | `null` |
//!
//! Policies appear in their display form (see `policy::canonical`), with a statement-level
//! [`PolicyDiff`] beside them.
//!
//! Addresses ([`Address`], and the [`Resource`] each belongs to) are parsed and printed
//! here and nowhere else: other modules hold them as values and never build their text.
//! This module does not compute changes (`diff`), order or send them (`apply`), or print
//! them (`render`); the `s3ward:applied` record and the drift kind live in `applied`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::applied::{AppliedRecord, DriftKind};
use crate::desired::{ObjectOwnership, PublicAccessBlock};
use crate::policy::PolicyDiff;

mod address;
mod text;
pub use address::{Address, AddressError, Resource};
pub use text::Summary;

/// The kind of a change, with its symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn symbol(self) -> char {
        match self {
            Action::Create => '+',
            Action::Update => '~',
            Action::Delete => '-',
        }
    }

    /// `created`, `updated`, `deleted`.
    pub fn past(self) -> &'static str {
        match self {
            Action::Create => "created",
            Action::Update => "updated",
            Action::Delete => "deleted",
        }
    }
}

/// One change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub address: Address,
    pub action: Action,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// Explains the change; never steers apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For policy changes: the statements that differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_diff: Option<PolicyDiff>,
    /// Facts worth a line under the change (a deleted identity, an ACL grant going away).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Drift or pending, as `diff` classified it from the resource's `s3ward:applied`
    /// record. Only `drift` prints it (SPEC: JSON `kind` is for drift). Not saved: apply
    /// never reads it, so a saved plan holds none and reads back as pending.
    #[serde(skip, default = "never_applied")]
    pub kind: DriftKind,
    /// What apply sends.
    pub write: Write,
}

fn never_applied() -> DriftKind {
    DriftKind::Pending
}

impl Change {
    /// A change with nothing shown yet (no `before`, `after`, reason, diff or notes), pending
    /// until `diff` classifies it.
    pub fn new(address: Address, action: Action, write: Write) -> Change {
        Change {
            address,
            action,
            before: None,
            after: None,
            reason: None,
            policy_diff: None,
            notes: Vec::new(),
            kind: never_applied(),
            write,
        }
    }
}

/// The AWS write behind a change: the exact request content, fixed at plan time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Write {
    CreateBucket {
        bucket: String,
        region: String,
        ownership: Option<ObjectOwnership>,
    },
    /// In `merge` mode (`merge` is the plan's Sid prefix) the live policy is read again when
    /// written: the statements this plan does not own are taken as they are then, and only
    /// the owned statements of `policy` are this plan's (SPEC item 9).
    PutBucketPolicy {
        bucket: String,
        policy: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        merge: Option<String>,
    },
    /// In `merge` mode, statements someone else added since the plan are kept (then it
    /// writes them instead of deleting the policy).
    DeleteBucketPolicy {
        bucket: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        merge: Option<String>,
    },
    /// PutBucketAcl with the canned ACL `private`.
    ResetBucketAcl {
        bucket: String,
    },
    PutBucketOwnership {
        bucket: String,
        ownership: ObjectOwnership,
    },
    PutPublicAccessBlock {
        bucket: String,
        config: PublicAccessBlock,
    },
    /// Merged into the bucket's live tags when written (PutBucketTagging replaces the set).
    PutBucketTags {
        bucket: String,
        tags: BTreeMap<String, String>,
    },
    CreateRole {
        name: String,
        path: String,
        description: Option<String>,
        max_session_duration: Option<i32>,
        trust: String,
        tags: BTreeMap<String, String>,
    },
    UpdateRole {
        name: String,
        description: Option<String>,
        max_session_duration: Option<i32>,
    },
    UpdateTrust {
        role: String,
        policy: String,
    },
    PutRolePolicy {
        role: String,
        name: String,
        policy: String,
    },
    DeleteRolePolicy {
        role: String,
        name: String,
    },
    AttachRolePolicy {
        role: String,
        arn: String,
    },
    DetachRolePolicy {
        role: String,
        arn: String,
    },
    TagRole {
        role: String,
        tags: BTreeMap<String, String>,
    },
    /// Never with BypassPolicyLockoutSafetyCheck; `merge` as for buckets. (No write creates,
    /// disables or deletes a key.)
    PutKeyPolicy {
        key_arn: String,
        policy: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        merge: Option<String>,
    },
    PutBucketEncryption {
        bucket: String,
        encryption: crate::desired::Encryption,
    },
    PodIdentityAssociation(crate::desired::AssociationWrite),
}

/// A problem that stops one resource from being planned (and so the whole apply).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub address: Address,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Where in the plan file, when one entry is the cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<crate::desired::Place>,
}

/// A role or user named in an account s3ward could not read: neither missing nor known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnverifiedPrincipal {
    pub arn: String,
    /// The bucket policies and trusts that name it.
    pub named_by: Vec<Address>,
    /// Why it was not read.
    pub reason: String,
}

/// A live setting that grants access beyond the plan file and that s3ward does not manage
/// (the plan file leaves it alone by design): listed by `plan` and `drift` so that a nightly
/// check is not blind to it, with the plan-file key that would manage it. Never a change,
/// never a problem: exit codes do not count it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotManaged {
    /// The bucket or role it is on.
    pub resource: Resource,
    pub kind: NotManagedKind,
    /// The policy ARN (`managed_policy`), the policy name (`inline_policy`), the statement's
    /// Sid or `[N]`, its index, when it has none (`bucket_policy_statement`).
    pub name: String,
    /// For a statement: whom it allows what (`AWS arn:aws:iam::333333333333:root: s3:GetObject`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The key of the resource's plan-file table that would manage it.
    pub key: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotManagedKind {
    ManagedPolicy,
    InlinePolicy,
    BucketPolicyStatement,
}

/// Everything `plan` computed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeSet {
    pub changes: Vec<Change>,
    /// Findings that block applying (exit 1).
    #[serde(default)]
    pub problems: Vec<Problem>,
    /// Findings worth saying that block nothing.
    #[serde(default)]
    pub warnings: Vec<Problem>,
    /// Per resource (keyed `bucket.KEY`, `role.KEY` when saved), what to record in its
    /// `s3ward:applied` tag once its changes are applied; also for resources already in
    /// sync whose record is missing or out of date.
    #[serde(default)]
    pub applied: BTreeMap<Resource, AppliedRecord>,
    /// Principals that grants and trust entries name and s3ward could not read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unverified_principals: Vec<UnverifiedPrincipal>,
    /// Expectations (`bucket.KEY.expect[N]`) that the live state does not meet: shown with
    /// the changes, and `drift` exits 2; they block nothing (apply is how they are met again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expectations: Vec<Problem>,
    /// Principals found at plan time: apply does not suspect them when AWS refuses one.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub verified_principals: std::collections::BTreeSet<String>,
    /// Live settings that grant access beyond the plan file. Not saved: apply never acts on
    /// them, and one attached by hand between `plan --out` and `apply --saved` must not
    /// make the saved plan "not match its plan file".
    #[serde(skip)]
    pub not_managed: Vec<NotManaged>,
}

impl ChangeSet {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Delete => s.delete += 1,
            }
        }
        s
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Sorts changes into display order.
    pub fn sort(&mut self) {
        self.changes.sort_by_key(|c| c.address.sort_key());
    }

    /// Keeps only changes selected by one of `targets` (all when empty).
    pub fn retain_targets(&mut self, targets: &[Address]) {
        if targets.is_empty() {
            return;
        }
        let keep = |a: &Address| targets.iter().any(|t| t.selects(a));
        self.changes.retain(|c| keep(&c.address));
        // A problem stays when it is about a targeted resource (or something of it).
        let keep_named = |p: &Problem| targets.iter().any(|t| t.resource() == p.address.resource());
        self.problems.retain(keep_named);
        self.warnings.retain(keep_named);
        self.not_managed
            .retain(|n| targets.iter().any(|t| t.resource() == n.resource));
        self.unverified_principals.retain_mut(|u| {
            u.named_by
                .retain(|a| targets.iter().any(|t| t.resource() == a.resource()));
            !u.named_by.is_empty()
        });
        // A resource targeted whole records everything; one targeted setting by setting
        // records only those settings (see `AppliedRecord::narrow_to`).
        let changed: std::collections::BTreeSet<Resource> =
            self.changes.iter().map(|c| c.address.resource()).collect();
        self.applied.retain(|resource, record| {
            let whole = targets
                .iter()
                .any(|t| t.is_resource() && t.resource() == *resource);
            if whole {
                return true;
            }
            let settings: Vec<&str> = targets
                .iter()
                .filter(|t| t.resource() == *resource)
                .filter_map(Address::setting)
                .collect();
            if settings.is_empty() || !changed.contains(resource) {
                return false;
            }
            record.narrow_to(&settings);
            true
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        for s in [
            "bucket.models",
            "bucket.models.policy",
            "bucket.models.acl",
            "bucket.models.ownership",
            "bucket.models.public_access_block",
            "bucket.models.tags",
            "bucket.models.encryption",
            "key.models",
            "key.models.policy",
            "role.ray-cluster",
            "role.ray-cluster.trust",
            "role.ray-cluster.tags",
            r#"role.ray.managed_policy["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]"#,
            r#"role.ray.inline_policy["s3ward-grants"]"#,
            r#"role.ray.pod_identity["ml-prod/ml/inference"]"#,
        ] {
            let a: Address = s.parse().unwrap();
            assert_eq!(a.to_string(), s);
        }
        for bad in [
            "bucket",
            "bucket.",
            "bucket.m.polic",
            "role.r.managed_policy[x]",
            "x.y",
        ] {
            assert!(bad.parse::<Address>().is_err(), "{bad}");
        }
    }

    #[test]
    fn targets_select_resources_and_exact_addresses() {
        let b: Address = "bucket.m".parse().unwrap();
        let p: Address = "bucket.m.policy".parse().unwrap();
        let o: Address = "bucket.m.ownership".parse().unwrap();
        let other: Address = "bucket.n.policy".parse().unwrap();
        assert!(b.selects(&p) && b.selects(&b));
        assert!(!b.selects(&other));
        assert!(p.selects(&p) && !p.selects(&o));
    }

    #[test]
    fn summary_line() {
        assert_eq!(Summary::default().to_string(), "No changes.");
        let s = Summary {
            create: 1,
            update: 2,
            delete: 0,
        };
        assert_eq!(
            s.to_string(),
            "Plan: 1 to create, 2 to update, 0 to delete."
        );
    }
}
