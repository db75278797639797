//! The decision: each side's documents evaluated, then combined as AWS does for S3.
//!
//! - An explicit Deny on any side wins.
//! - Same account (the caller's and the bucket's): an Allow in the identity policies **or** in
//!   the bucket policy suffices; a bucket-policy Allow that names only the account delegates
//!   to its IAM policies, so then the identity side must allow.
//! - Across accounts: both must allow.
//! - The key side (SSE-KMS), when given: the key policy must allow the KMS action S3 makes
//!   for the caller; an Allow naming only the key's account delegates to IAM, so the identity
//!   policies must then allow it on the key too; across accounts both must, always.
//! - `RestrictPublicBuckets` with a public bucket policy: only the bucket owner's account
//!   (and AWS services) keep access through that bucket policy.
//! - Object ownership: an object that another account owns is governed by its ACL, unless
//!   the bucket enforces ownership (`BucketOwnerEnforced`).
//!
//! Not modelled (named in the verdict when they could take away an allow): SCPs, RCPs,
//! permission boundaries, session policies, VPC endpoint policies.

use std::collections::BTreeSet;

use super::Tri;
use super::report::{Deciding, Decision, Side, SideReport, Verdict};
use super::request::Request;
use super::statement::{NamedAs, applies};
use crate::desired::PublicAccessBlock;
use crate::policy::lint::is_public_statement;
use crate::policy::{Effect, PolicyDocument, Statement};

/// A statement and, for documents from the plan file, where it came from (`plans/x.toml:12`).
#[derive(Clone, Debug)]
pub struct Sourced {
    pub statement: Statement,
    pub source: Option<String>,
}

/// One policy document with a name for the output (`inline policy s3ward-grants`).
#[derive(Clone, Debug)]
pub struct Policy {
    pub name: String,
    /// `2012-10-17` reads `${…}` as policy variables; `2008-10-17` (or none) as text.
    pub variables: bool,
    pub statements: Vec<Sourced>,
}

impl Policy {
    pub fn of(
        name: &str,
        doc: &PolicyDocument,
        source: impl Fn(&Statement) -> Option<String>,
    ) -> Policy {
        Policy {
            name: name.to_string(),
            variables: doc.version.as_deref() == Some("2012-10-17"),
            statements: doc
                .statements
                .iter()
                .map(|s| Sourced {
                    statement: s.clone(),
                    source: source(s),
                })
                .collect(),
        }
    }
}

/// The caller's identity policies.
#[derive(Clone, Debug)]
pub enum Identity {
    Known(Vec<Policy>),
    /// Not known to s3ward (a principal this plan does not manage): not evaluated, taken as
    /// allowing, and said so.
    NotKnown,
}

/// What decides on the bucket's side.
#[derive(Clone, Debug)]
pub struct BucketFacts {
    pub account: String,
    pub policy: Option<Policy>,
    /// `None`: not known (the setting is not managed).
    pub enforces_ownership: Option<bool>,
    pub public_access_block: Option<PublicAccessBlock>,
    /// The account that owns the object, when known and not the bucket's.
    pub object_owner: Option<String>,
}

/// The key side of an SSE-KMS bucket: the key's policy, and the KMS action S3 calls for the
/// request (`kms:Decrypt` to read, `kms:GenerateDataKey` to write).
#[derive(Clone, Debug)]
pub struct KeyFacts {
    pub key_arn: String,
    pub account: String,
    pub policy: Policy,
    pub action: String,
    /// `s3.REGION.amazonaws.com`: S3 calls KMS for the caller, so the key sees
    /// `kms:ViaService` with this value (and `aws:ViaAWSService = true`).
    pub via_service: String,
}

pub struct Evaluation<'a> {
    pub request: &'a Request,
    pub identity: &'a Identity,
    pub bucket: &'a BucketFacts,
    pub key: Option<&'a KeyFacts>,
}

/// One side's documents against one request.
struct SideEval {
    deny: Tri,
    denies: Vec<Deciding>,
    /// Allows that stand alone (the caller named itself, or an identity policy).
    allow: Tri,
    /// Allows that only delegate to the account (named by its root).
    delegate: Tri,
    allows: Vec<Deciding>,
}

fn eval_side(policies: &[&Policy], req: &Request, resource_policy: bool) -> SideEval {
    let mut deny = Vec::new();
    let mut allow = Vec::new();
    let mut delegate = Vec::new();
    let (mut denies, mut allows) = (Vec::new(), Vec::new());
    for p in policies {
        for s in &p.statements {
            let (t, named) = applies(&s.statement, req, resource_policy, p.variables);
            if t == Tri::No {
                continue;
            }
            let d = Deciding {
                sid: s.statement.sid().map(str::to_string),
                effect: s.statement.effect,
                policy: p.name.clone(),
                source: s.source.clone(),
            };
            match s.statement.effect {
                Effect::Deny => {
                    deny.push(t);
                    denies.push(d);
                }
                Effect::Allow if named == NamedAs::Account => {
                    delegate.push(t);
                    allows.push(d);
                }
                Effect::Allow => {
                    allow.push(t);
                    allows.push(d);
                }
            }
        }
    }
    SideEval {
        deny: Tri::any(deny),
        denies,
        allow: Tri::any(allow),
        delegate: Tri::any(delegate),
        allows,
    }
}

impl SideEval {
    fn report(&self, side: Side, allowed: &Tri) -> SideReport {
        if self.deny == Tri::Yes {
            return SideReport {
                side,
                decision: Decision::Denied,
                statements: self.denies.clone(),
                note: Some("explicit deny".into()),
            };
        }
        let decision = Decision::of(&Tri::all([self.deny.clone().negate(), allowed.clone()]));
        let mut statements = self.allows.clone();
        if matches!(self.deny, Tri::Depends(_)) {
            statements.extend(self.denies.clone());
        }
        let note = (statements.is_empty()).then(|| "no statement allows".to_string());
        SideReport {
            side,
            decision,
            statements,
            note,
        }
    }
}

const NOT_EVALUATED: &[&str] = &[
    "service control policies (SCPs)",
    "resource control policies (RCPs)",
    "permission boundaries",
    "session policies",
    "VPC endpoint policies",
];

/// The decision for one request, with every side's deciding statements.
pub fn evaluate(e: &Evaluation<'_>) -> Verdict {
    let req = e.request;
    let caller_account = req.caller.account().to_string();
    let same_account = caller_account == e.bucket.account;
    let identity_policies: Vec<&Policy> = match e.identity {
        Identity::Known(p) => p.iter().collect(),
        Identity::NotKnown => Vec::new(),
    };
    let id = eval_side(&identity_policies, req, false);
    let bucket_policies: Vec<&Policy> = e.bucket.policy.iter().collect();
    let bk = eval_side(&bucket_policies, req, true);
    let identity_known = matches!(e.identity, Identity::Known(_));
    let id_allow = if identity_known {
        id.allow.clone()
    } else {
        Tri::Yes
    };

    // RestrictPublicBuckets: with a public bucket policy, only the owner's account keeps
    // access through it.
    let public = e.bucket.policy.as_ref().is_some_and(|p| {
        p.statements
            .iter()
            .any(|s| is_public_statement(&s.statement))
    });
    let restricted = public
        && !same_account
        && e.bucket
            .public_access_block
            .is_some_and(|b| b.restrict_public_buckets);
    let bucket_allow = if restricted {
        Tri::No
    } else {
        Tri::any([bk.allow.clone(), bk.delegate.clone()])
    };
    // The bucket side alone suffices only in the same account and when it names the caller.
    let allow_s3 = if same_account {
        Tri::any([
            id_allow.clone(),
            if restricted {
                Tri::No
            } else {
                bk.allow.clone()
            },
        ])
    } else {
        Tri::all([id_allow.clone(), bucket_allow.clone()])
    };

    let mut sides = Vec::new();
    let mut id_report = id.report(Side::Identity, &id_allow);
    if !identity_known {
        id_report.decision = Decision::Allowed;
        id_report.note =
            Some("this principal's policies are not in the plan file; taken as allowing".into());
    }
    sides.push(id_report);
    sides.push(bk.report(Side::Bucket, &bucket_allow));

    let mut deny = Tri::any([id.deny.clone(), bk.deny.clone()]);
    let mut allow = allow_s3;

    if let Some(k) = e.key {
        let mut kreq = Request {
            action: k.action.clone(),
            resource: k.key_arn.clone(),
            ..req.clone()
        };
        // S3 makes the KMS call on the caller's behalf.
        kreq.context
            .set_default("kms:ViaService", &[&k.via_service]);
        kreq.context
            .set_default("kms:CallerAccount", &[&caller_account]);
        kreq.context.set("aws:ViaAWSService", &["true"]);
        let kid = eval_side(&identity_policies, &kreq, false);
        let kp = eval_side(&[&k.policy], &kreq, true);
        let kid_allow = if identity_known {
            kid.allow.clone()
        } else {
            Tri::Yes
        };
        let key_allow = if caller_account == k.account {
            Tri::any([
                kp.allow.clone(),
                Tri::all([kp.delegate.clone(), kid_allow.clone()]),
            ])
        } else {
            Tri::all([Tri::any([kp.allow.clone(), kp.delegate.clone()]), kid_allow])
        };
        sides.push(kp.report(Side::Key, &key_allow));
        deny = Tri::any([deny, kid.deny, kp.deny]);
        allow = Tri::all([allow, key_allow]);
    }

    if restricted {
        sides.push(SideReport {
            side: Side::PublicAccessBlock,
            decision: Decision::Denied,
            statements: Vec::new(),
            note: Some(
                "RestrictPublicBuckets: the bucket policy is public, so only the bucket owner's account keeps access through it"
                    .into(),
            ),
        });
    }

    if req.on_object() {
        let (t, note) = match (e.bucket.enforces_ownership, &e.bucket.object_owner) {
            (Some(true), _) => (
                Tri::Yes,
                "the bucket owns every object (BucketOwnerEnforced)",
            ),
            (_, Some(owner)) if *owner != e.bucket.account => {
                if *owner == caller_account {
                    (
                        Tri::Yes,
                        "the caller's account owns the object; its ACL grants it",
                    )
                } else {
                    (
                        Tri::depends("s3ward:object-acl"),
                        "another account owns the object: its ACL decides, not the bucket policy",
                    )
                }
            }
            (None, _) => (
                Tri::Yes,
                "ownership not managed: objects are taken as the bucket owner's",
            ),
            (Some(false), _) => (
                Tri::Yes,
                "objects are taken as the bucket owner's; one another account wrote is governed by its ACL",
            ),
        };
        sides.push(SideReport {
            side: Side::Ownership,
            decision: Decision::of(&t),
            statements: Vec::new(),
            note: Some(note.into()),
        });
        allow = Tri::all([allow, t]);
    }

    let decision_tri = Tri::all([deny.clone().negate(), allow]);
    let decision = if deny == Tri::Yes {
        Decision::Denied
    } else {
        Decision::of(&decision_tri)
    };
    let missing: BTreeSet<String> = match &decision_tri {
        Tri::Depends(k) => k.clone(),
        _ => BTreeSet::new(),
    };
    let not_evaluated = if decision == Decision::Denied {
        Vec::new()
    } else {
        NOT_EVALUATED.iter().map(|s| s.to_string()).collect()
    };
    let rule = if same_account {
        format!(
            "same account ({caller_account}): an allow in the identity policies or in the bucket policy suffices"
        )
    } else {
        format!(
            "across accounts (caller {caller_account}, bucket {}): the identity and the bucket side must both allow",
            e.bucket.account
        )
    };
    Verdict {
        decision,
        sides,
        rule,
        missing_context: missing.into_iter().collect(),
        not_evaluated,
    }
}
