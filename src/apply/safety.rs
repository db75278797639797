//! Refusals before the first write (SPEC "Apply order and safety", item 7), checked on the
//! writes themselves so that saved plans get the same checks as fresh ones: policy sizes
//! (a role's inline policies together), public policies under a block that forbids them, a
//! bucket policy that would or might deny the applying identity the bucket policy itself, and
//! changes to the role s3ward runs as. The rules and their words are [`crate::rules`]'s; the
//! plan's problems (which need the live state: merged tag counts, live inline policies that
//! stay) come first.

use std::collections::BTreeMap;

use crate::change::{Address, ChangeSet, Resource, Write};
use crate::desired::Desired;
use crate::policy::lint;
use crate::policy::{Identity, PolicyDocument};
use crate::rules::{self, Stage};

/// Every refusal, as a sentence naming the address. Empty: safe to apply.
pub fn check(
    desired: &Desired,
    cs: &ChangeSet,
    identities: &BTreeMap<String, Identity>,
    allow_self_lockout: bool,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |line: String| {
        // The plan's problems and these checks may find the same thing: say it once.
        if !out.contains(&line) {
            out.push(line);
        }
    };
    for p in &cs.problems {
        push(format!("{}: {}", p.address, p.message));
    }
    // Role key → characters of the inline policies written.
    let mut inline: BTreeMap<String, usize> = BTreeMap::new();
    for c in &cs.changes {
        let addr = c.address.to_string();
        if let Resource::Role(key) = c.address.resource()
            && let Some(r) = desired.roles.get(&key)
            && let Some(who) = identities.get(&r.account)
            && is_policy_write(&c.write)
            && let Some(f) =
                rules::own_role_change(&c.address, &r.account_id, &r.name, who, allow_self_lockout)
        {
            push(format!("{addr}: {}", f.message));
        }
        match &c.write {
            Write::PutBucketPolicy { bucket, policy, .. } => {
                if policy.len() > lint::BUCKET_POLICY_MAX_BYTES {
                    push(format!(
                        "{addr}: the bucket policy is {} bytes; S3 allows {}",
                        policy.len(),
                        lint::BUCKET_POLICY_MAX_BYTES
                    ));
                }
                let Ok(doc) = PolicyDocument::parse(policy) else {
                    push(format!(
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
                        push(format!(
                            "{addr}: the policy is public, and `{key}` blocks public policies (`block_public_access`)"
                        ));
                    }
                    if let Some(who) = identities.get(&b.account) {
                        // The statements this plan file owns: in merge mode the others were
                        // there before and stay as they are.
                        let owned: Vec<_> = doc
                            .statements
                            .iter()
                            .filter(|s| b.owns(s))
                            .cloned()
                            .collect();
                        let findings = rules::self_lockout(
                            &owned,
                            who,
                            bucket,
                            allow_self_lockout,
                            Stage::Connected,
                        );
                        for f in findings.into_iter().filter(|f| f.refused) {
                            push(format!("{addr}: {}", f.message));
                        }
                    }
                }
            }
            Write::CreateRole { trust: policy, .. } | Write::UpdateTrust { policy, .. } => {
                let size = PolicyDocument::parse(policy)
                    .map(|d| lint::iam_size(&d))
                    .unwrap_or(policy.len());
                if size > lint::TRUST_POLICY_MAX_CHARS {
                    push(format!(
                        "{addr}: the trust policy is {size} characters; IAM allows {}",
                        lint::TRUST_POLICY_MAX_CHARS
                    ));
                }
            }
            Write::PutKeyPolicy {
                key_arn, policy, ..
            } => {
                for line in key_refusals(desired, identities, key_arn, policy, allow_self_lockout) {
                    push(format!("{addr}: {line}"));
                }
            }
            Write::PutRolePolicy { policy, .. } => {
                let size = rules::inline_policy_chars(
                    PolicyDocument::parse(policy)
                        .as_ref()
                        .map_err(|_| policy.as_str()),
                );
                if let Resource::Role(key) = c.address.resource() {
                    *inline.entry(key).or_default() += size;
                }
            }
            _ => {}
        }
    }
    // IAM's limit is for a role's inline policies together; those that stay were counted by
    // the plan (a problem above), these are the ones written.
    for (key, written) in inline {
        let name = desired
            .roles
            .get(&key)
            .map_or(key.as_str(), |r| r.name.as_str());
        if let Some(f) = rules::inline_policies_size(name, written, &[]) {
            push(format!("{}: {}", Address::Role(key.clone()), f.message));
        }
    }
    out
}

/// The KMS refusals on a key policy about to be written (SPEC "Encryption with KMS"): its
/// size and the lockout of the identity that applies, judged on the whole document sent.
fn key_refusals(
    desired: &Desired,
    identities: &BTreeMap<String, Identity>,
    key_arn: &str,
    policy: &str,
    allow_self_lockout: bool,
) -> Vec<String> {
    let Ok(doc) = PolicyDocument::parse(policy) else {
        return vec!["the key policy to write is not a valid document".into()];
    };
    let Some(k) = desired.keys.values().find(|k| k.arn == key_arn) else {
        return Vec::new();
    };
    let lockout = identities
        .get(&k.account)
        .and_then(|who| rules::key_self_lockout(&k.key, &doc, who, key_arn, allow_self_lockout));
    lockout
        .into_iter()
        .chain(rules::key_policy_size(&k.key, &doc))
        .map(|f| f.message)
        .collect()
}

/// Writes to a role's trust or policies.
fn is_policy_write(w: &Write) -> bool {
    matches!(
        w,
        Write::UpdateTrust { .. }
            | Write::PutRolePolicy { .. }
            | Write::DeleteRolePolicy { .. }
            | Write::AttachRolePolicy { .. }
            | Write::DetachRolePolicy { .. }
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::change::{Action, Address, Change};

    const PLAN: &str = r#"version = 1
[accounts.storage]
id = "111111111111"
assume_role = "arn:aws:iam::111111111111:role/s3ward"
[roles.ray]
account = "storage"
trust = [{ service = "ec2.amazonaws.com" }]
[roles.me]
account = "storage"
name = "s3ward"
trust = [{ service = "ec2.amazonaws.com" }]
[buckets.models]
account = "storage"
name = "acme-models"
"#;

    fn desired() -> Desired {
        crate::plan_file::parse(Path::new("t.toml"), PLAN, Default::default())
            .unwrap()
            .desired
    }

    fn identities() -> BTreeMap<String, Identity> {
        BTreeMap::from([(
            "storage".to_string(),
            Identity::from_caller_arn(
                "111111111111",
                "arn:aws:sts::111111111111:assumed-role/s3ward/s3ward-t",
            ),
        )])
    }

    fn change(address: Address, write: Write) -> Change {
        Change {
            address,
            action: Action::Update,
            before: None,
            after: None,
            reason: None,
            policy_diff: None,
            notes: Vec::new(),
            kind: crate::applied::DriftKind::Pending,
            write,
        }
    }

    fn refusals(changes: Vec<Change>, allow: bool) -> Vec<String> {
        let cs = ChangeSet {
            changes,
            ..Default::default()
        };
        check(&desired(), &cs, &identities(), allow)
    }

    /// An inline policy of about `n` × 36 characters.
    fn policy(n: usize) -> String {
        let resources: Vec<String> = (0..n)
            .map(|i| format!("\"arn:aws:s3:::bucket-number-{i:04}/*\""))
            .collect();
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":[{}]}}]}}"#,
            resources.join(",")
        )
    }

    #[test]
    fn inline_policies_of_one_role_are_counted_together() {
        let put = |name: &str| {
            change(
                Address::RoleInlinePolicy("ray".into(), name.into()),
                Write::PutRolePolicy {
                    role: "ray".into(),
                    name: name.into(),
                    policy: policy(150),
                },
            )
        };
        // Each fits on its own; together they do not.
        assert!(refusals(vec![put("a")], false).is_empty());
        let r = refusals(vec![put("a"), put("b")], false);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(r[0].starts_with("role.ray: "), "{}", r[0]);
    }

    #[test]
    fn a_saved_bucket_policy_that_might_lock_s3ward_out_is_refused() {
        let c = change(
            Address::BucketPolicy("models".into()),
            Write::PutBucketPolicy {
                bucket: "acme-models".into(),
                policy: r#"{"Version":"2012-10-17","Statement":[{"Sid":"s3wardVpce","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::acme-models","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}}]}"#.into(),
                merge: None,
            },
        );
        let r = refusals(vec![c.clone()], false);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(r[0].contains("`aws:SourceVpce`"), "{}", r[0]);
        assert!(refusals(vec![c], true).is_empty());
    }

    #[test]
    fn writes_to_the_role_s3ward_runs_as_are_refused() {
        let writes = vec![
            change(
                Address::RoleTrust("me".into()),
                Write::UpdateTrust {
                    role: "s3ward".into(),
                    policy: r#"{"Version":"2012-10-17","Statement":[]}"#.into(),
                },
            ),
            change(
                Address::RoleManagedPolicy("me".into(), "arn:aws:iam::aws:policy/X".into()),
                Write::DetachRolePolicy {
                    role: "s3ward".into(),
                    arn: "arn:aws:iam::aws:policy/X".into(),
                },
            ),
            change(
                Address::RoleInlinePolicy("me".into(), "p".into()),
                Write::DeleteRolePolicy {
                    role: "s3ward".into(),
                    name: "p".into(),
                },
            ),
            // Another role is fine.
            change(
                Address::RoleTrust("ray".into()),
                Write::UpdateTrust {
                    role: "ray".into(),
                    policy: r#"{"Version":"2012-10-17","Statement":[]}"#.into(),
                },
            ),
        ];
        let r = refusals(writes.clone(), false);
        assert_eq!(r.len(), 3, "{r:?}");
        assert!(r[0].starts_with("role.me.trust: "), "{}", r[0]);
        assert!(r[0].contains("role `s3ward`"), "{}", r[0]);
        assert!(refusals(writes, true).is_empty());
    }
}
