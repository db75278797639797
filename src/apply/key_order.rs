//! The edges that KMS adds to the apply graph (SPEC "Encryption with KMS", apply order): a
//! key policy waits for the `s3ward-grants` of the roles it names (the role side first, as
//! for every grant), and a bucket's encryption waits for the policy of the plan key it
//! starts using, so that no writer is ever sent to a key that does not let it in yet. A key
//! policy naming a role created in this run already waits for the creation (the graph's
//! "names a created role" edges, which read its text); KMS's "invalid principals" answer is
//! retried by the write as a bucket policy's is.
//!
//! Pure: changes in, extra dependencies out.

use crate::change::{Address, Change, Write};
use crate::desired::{Encryption, GRANTS_POLICY_NAME};

/// Adds the KMS edges to `deps` (by change index).
pub(super) fn key_edges(changes: &[Change], deps: &mut [Vec<usize>]) {
    for (i, c) in changes.iter().enumerate() {
        match (&c.address, &c.write) {
            (Address::KeyPolicy(_), Write::PutKeyPolicy { policy, .. }) => {
                for (j, other) in changes.iter().enumerate() {
                    if let (Address::RoleInlinePolicy(_, name), Write::PutRolePolicy { role, .. }) =
                        (&other.address, &other.write)
                        && name == GRANTS_POLICY_NAME
                        && policy.contains(&format!("/{role}\""))
                    {
                        deps[i].push(j);
                    }
                }
            }
            (
                Address::BucketEncryption(_),
                Write::PutBucketEncryption {
                    encryption:
                        Encryption::Kms {
                            plan_key: Some(k), ..
                        },
                    ..
                },
            ) => {
                let key_policy = Address::KeyPolicy(k.clone());
                deps[i].extend(
                    changes
                        .iter()
                        .enumerate()
                        .filter(|(_, o)| o.address == key_policy)
                        .map(|(j, _)| j),
                );
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::apply::graph::build;
    use crate::apply::graph::tests::c;
    use crate::change::{Action, ChangeSet, Write};
    use crate::desired::Encryption;

    #[test]
    fn roles_then_key_policy_then_bucket_encryption() {
        let mut cs = ChangeSet::default();
        cs.changes.push(c(
            "bucket.m.encryption",
            Action::Create,
            Write::PutBucketEncryption {
                bucket: "m".into(),
                encryption: Encryption::Kms {
                    key_arn: "arn:aws:kms:us-east-1:111111111111:key/k".into(),
                    plan_key: Some("k".into()),
                    bucket_key: false,
                },
            },
        ));
        cs.changes.push(c(
            "key.k.policy",
            Action::Update,
            Write::PutKeyPolicy {
                key_arn: "arn:aws:kms:us-east-1:111111111111:key/k".into(),
                policy: r#"{"Principal":{"AWS":"arn:aws:iam::222222222222:role/reader"}}"#.into(),
                merge: None,
            },
        ));
        cs.changes.push(c(
            r#"role.reader.inline_policy["s3ward-grants"]"#,
            Action::Create,
            Write::PutRolePolicy {
                role: "reader".into(),
                name: "s3ward-grants".into(),
                policy: "{}".into(),
            },
        ));
        let g = build(&cs);
        assert!(
            g.requires(1, 2),
            "the key policy waits for the role's grants"
        );
        assert!(g.requires(0, 1), "the encryption waits for the key policy");
        assert!(!g.requires(2, 1) && !g.requires(1, 0));
    }
}
