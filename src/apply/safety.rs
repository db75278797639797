//! Refusals before the first write (SPEC "Apply order and safety", item 7), checked on the
//! writes themselves so that saved plans get the same checks as fresh ones: policy sizes,
//! public policies under a block that forbids them, and a bucket policy that would deny the
//! applying identity the bucket policy itself.

use std::collections::BTreeMap;

use crate::change::{ChangeSet, Write};
use crate::desired::Desired;
use crate::policy::PolicyDocument;
use crate::policy::lint::{self, Identity, Tri};

/// Every refusal, as a sentence naming the address. Empty: safe to apply.
pub fn check(
    desired: &Desired,
    cs: &ChangeSet,
    identities: &BTreeMap<String, Identity>,
    allow_self_lockout: bool,
) -> Vec<String> {
    let mut out: Vec<String> = cs
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.address, p.message))
        .collect();
    for c in &cs.changes {
        let addr = c.address.to_string();
        match &c.write {
            Write::PutBucketPolicy { bucket, policy, .. } => {
                if policy.len() > lint::BUCKET_POLICY_MAX_BYTES {
                    out.push(format!(
                        "{addr}: the bucket policy is {} bytes; S3 allows {}",
                        policy.len(),
                        lint::BUCKET_POLICY_MAX_BYTES
                    ));
                }
                let Ok(doc) = PolicyDocument::parse(policy) else {
                    out.push(format!(
                        "{addr}: the policy to write is not a valid document"
                    ));
                    continue;
                };
                let key = c.address.resource();
                let b = desired.buckets.values().find(|b| &b.name == bucket);
                if let Some(b) = b {
                    // Declared and blocking: AWS would refuse. Undeclared: validation warned.
                    let blocks = b
                        .public_access_block
                        .is_some_and(|p| !p.allows_public_policy());
                    if blocks && doc.statements.iter().any(lint::is_public_statement) {
                        out.push(format!(
                            "{addr}: the policy is public, and `{key}` blocks public policies (`block_public_access`)"
                        ));
                    }
                    if let Some(who) = identities.get(&b.account) {
                        for (st, action, verdict) in
                            lint::self_lockout(&doc.statements, who, bucket)
                        {
                            if verdict == Tri::Yes && !allow_self_lockout {
                                out.push(format!(
                                    "{addr}: statement {} would deny `{action}` to `{}`, the identity applying (pass `--allow-self-lockout` if that is meant)",
                                    st.sid().map_or_else(|| "without a Sid".into(), |s| format!("`{s}`")),
                                    who.arn.as_deref().unwrap_or(&who.account)
                                ));
                            }
                        }
                    }
                }
            }
            Write::CreateRole { trust: policy, .. } | Write::UpdateTrust { policy, .. } => {
                let size = PolicyDocument::parse(policy)
                    .map(|d| lint::iam_size(&d))
                    .unwrap_or(policy.len());
                if size > lint::TRUST_POLICY_MAX_CHARS {
                    out.push(format!(
                        "{addr}: the trust policy is {size} characters; IAM allows {}",
                        lint::TRUST_POLICY_MAX_CHARS
                    ));
                }
            }
            Write::PutRolePolicy { policy, .. } => {
                let size = PolicyDocument::parse(policy)
                    .map(|d| lint::iam_size(&d))
                    .unwrap_or(policy.len());
                if size > lint::INLINE_POLICIES_MAX_CHARS {
                    out.push(format!(
                        "{addr}: the inline policy is {size} characters; IAM allows {} for all of a role's inline policies",
                        lint::INLINE_POLICIES_MAX_CHARS
                    ));
                }
            }
            _ => {}
        }
    }
    out
}
