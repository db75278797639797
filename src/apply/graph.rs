//! The order of writes, as a dependency graph over the changes of a change set (SPEC
//! "Apply order and safety"). Pure: built from the change set alone, so saved plans order
//! the same way, and every rule is proved by a unit test below.
//!
//! Edges (`a → b`: `b` waits for `a`):
//!
//! - a role's create → everything else of that role;
//! - a role's create → any bucket policy or trust policy that names the role's ARN
//!   (AWS rejects a principal that does not exist);
//! - within a role: trust, inline puts, attachments → detaches and inline deletes (access is
//!   removed last, so a swap never leaves a window without it);
//! - a bucket's create → everything else of that bucket;
//! - within a bucket, one write at a time: policy → ACL reset → ownership → public access
//!   block, except that a block that *relaxes* goes first (the policy may need it) → tags;
//! - each resource's `s3ward:applied` record → after all of that resource's changes.
//!
//! Resources with no edge between them run in parallel.

use std::collections::BTreeMap;

use crate::change::{Action, Address, Change, ChangeSet, Resource, Write};
use crate::desired::PublicAccessBlock;

/// A unit of work: one change, or the `s3ward:applied` tag of one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Change(usize),
    Record(Resource),
}

#[derive(Clone, Debug)]
pub struct Graph {
    pub nodes: Vec<Node>,
    /// `deps[i]`: the nodes `i` waits for.
    pub deps: Vec<Vec<usize>>,
    /// `rdeps[i]`: the nodes that wait for `i`.
    rdeps: Vec<Vec<usize>>,
}

impl Graph {
    /// Nodes that wait for `i`.
    pub fn dependents(&self, i: usize) -> &[usize] {
        &self.rdeps[i]
    }

    /// Whether `a` must come before `b` (directly or through others).
    pub fn precedes(&self, a: usize, b: usize) -> bool {
        let mut stack = self.deps[b].clone();
        let mut seen = vec![false; self.nodes.len()];
        while let Some(n) = stack.pop() {
            if n == a {
                return true;
            }
            if !seen[n] {
                seen[n] = true;
                stack.extend(self.deps[n].iter().copied());
            }
        }
        false
    }

    /// A topological order (Kahn's algorithm, lowest index first), for a sequential apply.
    pub fn order(&self) -> Vec<usize> {
        let n = self.nodes.len();
        let mut indegree: Vec<usize> = self.deps.iter().map(Vec::len).collect();
        let mut ready: std::collections::BTreeSet<usize> =
            (0..n).filter(|i| indegree[*i] == 0).collect();
        let mut out = Vec::with_capacity(n);
        while let Some(i) = ready.pop_first() {
            out.push(i);
            for &j in self.dependents(i) {
                indegree[j] -= 1;
                if indegree[j] == 0 {
                    ready.insert(j);
                }
            }
        }
        debug_assert_eq!(out.len(), n, "the apply graph has a cycle");
        out
    }
}

/// Rank of a bucket setting in the per-bucket chain.
fn bucket_rank(c: &Change, relaxing_block: bool) -> u8 {
    match &c.address {
        Address::Bucket(_) => 0,
        Address::BucketPublicAccessBlock(_) if relaxing_block => 1,
        Address::BucketPolicy(_) => 2,
        Address::BucketAcl(_) => 3,
        Address::BucketOwnership(_) => 4,
        Address::BucketPublicAccessBlock(_) => 5,
        Address::BucketTags(_) => 6,
        _ => 7,
    }
}

/// Whether a public-access-block change turns any flag off. A block that does not exist yet
/// counts as all-on when the bucket is created in the same run (AWS's default for new
/// buckets) and as all-off otherwise.
fn relaxes(c: &Change, bucket_created: bool) -> bool {
    let after: Option<PublicAccessBlock> = c
        .after
        .as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let before: PublicAccessBlock = c
        .before
        .as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or(PublicAccessBlock::all(bucket_created));
    after.is_some_and(|a| before.relaxes_to(&a))
}

/// The text of a policy a write sends, if it sends one.
fn policy_text(w: &Write) -> Option<&str> {
    match w {
        Write::PutBucketPolicy { policy, .. } => Some(policy),
        Write::UpdateTrust { policy, .. } => Some(policy),
        Write::CreateRole { trust, .. } => Some(trust),
        _ => None,
    }
}

/// The ARN a role create makes (from its write), to find policies that name it.
fn created_role_arn(c: &Change) -> Option<String> {
    match (&c.write, &c.after) {
        (Write::CreateRole { .. }, Some(after)) => after
            .get("arn")
            .and_then(|a| a.as_str())
            .map(str::to_string),
        _ => None,
    }
}

pub fn build(cs: &ChangeSet) -> Graph {
    let changes = &cs.changes;
    let mut nodes: Vec<Node> = (0..changes.len()).map(Node::Change).collect();
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); changes.len()];
    let mut by_resource: BTreeMap<Resource, Vec<usize>> = BTreeMap::new();
    for (i, c) in changes.iter().enumerate() {
        by_resource.entry(c.address.resource()).or_default().push(i);
    }
    // Roles created in this run, by ARN.
    let created_roles: Vec<(usize, String)> = changes
        .iter()
        .enumerate()
        .filter_map(|(i, c)| created_role_arn(c).map(|a| (i, a)))
        .collect();

    for (resource, members) in &by_resource {
        match resource {
            Resource::Bucket(_) => {
                let created = members.iter().any(|&i| {
                    matches!(changes[i].address, Address::Bucket(_))
                        && changes[i].action == Action::Create
                });
                let relaxing = members.iter().any(|&i| {
                    matches!(changes[i].address, Address::BucketPublicAccessBlock(_))
                        && relaxes(&changes[i], created)
                });
                let mut chain = members.clone();
                chain.sort_by_key(|&i| bucket_rank(&changes[i], relaxing));
                for w in chain.windows(2) {
                    deps[w[1]].push(w[0]);
                }
            }
            Resource::Role(_) => {
                let create = members.iter().copied().find(|&i| {
                    matches!(changes[i].address, Address::Role(_))
                        && changes[i].action == Action::Create
                });
                let removal = |i: usize| {
                    changes[i].action == Action::Delete
                        && matches!(
                            changes[i].address,
                            Address::RoleManagedPolicy(..) | Address::RoleInlinePolicy(..)
                        )
                };
                for &i in members {
                    if Some(i) != create
                        && let Some(c) = create
                    {
                        deps[i].push(c);
                    }
                    if removal(i) {
                        for &j in members {
                            if j != i && !removal(j) && Some(j) != create {
                                deps[i].push(j);
                            }
                        }
                    }
                }
            }
        }
    }
    // Policies that name a role created in this run wait for it.
    for (i, c) in changes.iter().enumerate() {
        let Some(text) = policy_text(&c.write) else {
            continue;
        };
        for (creator, arn) in &created_roles {
            if *creator != i && text.contains(&format!("\"{arn}\"")) && !deps[i].contains(creator) {
                deps[i].push(*creator);
            }
        }
    }
    // One `s3ward:applied` record per resource that has one, after all its changes (a
    // resource already in sync may have a record to write and no change).
    for key in cs.applied.keys() {
        let Ok(addr) = key.parse::<Address>() else {
            continue;
        };
        let resource = addr.resource();
        nodes.push(Node::Record(resource.clone()));
        deps.push(by_resource.get(&resource).cloned().unwrap_or_default());
    }
    let mut rdeps = vec![Vec::new(); nodes.len()];
    for (i, d) in deps.iter_mut().enumerate() {
        d.sort_unstable();
        d.dedup();
        for &j in d.iter() {
            rdeps[j].push(i);
        }
    }
    Graph { nodes, deps, rdeps }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::ObjectOwnership;
    use serde_json::json;

    fn c(addr: &str, action: Action, write: Write) -> Change {
        Change {
            address: addr.parse().unwrap(),
            action,
            before: None,
            after: None,
            reason: None,
            policy_diff: None,
            notes: vec![],
            kind: None,
            write,
        }
    }

    fn idx(cs: &ChangeSet, addr: &str) -> usize {
        cs.changes
            .iter()
            .position(|c| c.address.to_string() == addr)
            .unwrap()
    }

    fn bucket_writes(b: &str) -> (Write, Write, Write, Write) {
        (
            Write::PutBucketPolicy {
                bucket: b.into(),
                policy: "{}".into(),
            },
            Write::ResetBucketAcl { bucket: b.into() },
            Write::PutBucketOwnership {
                bucket: b.into(),
                ownership: ObjectOwnership::BucketOwnerEnforced,
            },
            Write::PutPublicAccessBlock {
                bucket: b.into(),
                config: PublicAccessBlock::all(true),
            },
        )
    }

    #[test]
    fn acl_reset_before_ownership_and_one_write_at_a_time_per_bucket() {
        let (p, a, o, b) = bucket_writes("m");
        let mut cs = ChangeSet::default();
        // Deliberately out of order.
        cs.changes.push(c("bucket.m.ownership", Action::Update, o));
        cs.changes
            .push(c("bucket.m.public_access_block", Action::Create, b));
        cs.changes.push(c("bucket.m.acl", Action::Update, a));
        cs.changes.push(c("bucket.m.policy", Action::Update, p));
        let g = build(&cs);
        let (pol, acl, own, pab) = (
            idx(&cs, "bucket.m.policy"),
            idx(&cs, "bucket.m.acl"),
            idx(&cs, "bucket.m.ownership"),
            idx(&cs, "bucket.m.public_access_block"),
        );
        assert!(g.precedes(acl, own), "ACL reset must come before ownership");
        assert!(g.precedes(pol, acl));
        assert!(g.precedes(own, pab), "a tightening block comes last");
        assert_eq!(g.order(), vec![pol, acl, own, pab]);
    }

    #[test]
    fn relaxing_block_goes_before_the_policy() {
        let (p, _, _, _) = bucket_writes("m");
        let mut cs = ChangeSet::default();
        cs.changes.push(c("bucket.m.policy", Action::Update, p));
        let mut relax = c(
            "bucket.m.public_access_block",
            Action::Update,
            Write::PutPublicAccessBlock {
                bucket: "m".into(),
                config: PublicAccessBlock::all(false),
            },
        );
        relax.before = Some(json!(PublicAccessBlock::all(true)));
        relax.after = Some(json!(PublicAccessBlock::all(false)));
        cs.changes.push(relax);
        let g = build(&cs);
        assert!(g.precedes(1, 0));
        // On a bucket created in the same run the block starts all-on: relaxing too.
        let mut created = cs.clone();
        created.changes[1].before = None;
        created.changes.push(c(
            "bucket.m",
            Action::Create,
            Write::CreateBucket {
                bucket: "m".into(),
                region: "us-east-1".into(),
                ownership: None,
            },
        ));
        let g = build(&created);
        assert!(g.precedes(2, 1) && g.precedes(1, 0));
    }

    #[test]
    fn role_create_before_the_bucket_policy_that_names_it() {
        let mut cs = ChangeSet::default();
        cs.changes.push(c(
            "bucket.m.policy",
            Action::Update,
            Write::PutBucketPolicy {
                bucket: "m".into(),
                policy: r#"{"Statement":[{"Principal":{"AWS":"arn:aws:iam::2:role/ray"}}]}"#.into(),
            },
        ));
        let mut create = c(
            "role.ray",
            Action::Create,
            Write::CreateRole {
                name: "ray".into(),
                path: "/".into(),
                description: None,
                max_session_duration: None,
                trust: "{}".into(),
                tags: Default::default(),
            },
        );
        create.after = Some(json!({"arn": "arn:aws:iam::2:role/ray"}));
        cs.changes.push(create);
        // A trust policy of another role naming it waits too; an unrelated one does not.
        cs.changes.push(c(
            "role.other.trust",
            Action::Update,
            Write::UpdateTrust {
                role: "other".into(),
                policy: r#"{"Principal":{"AWS":"arn:aws:iam::2:role/ray"}}"#.into(),
            },
        ));
        cs.changes.push(c(
            "role.third.trust",
            Action::Update,
            Write::UpdateTrust {
                role: "third".into(),
                policy: r#"{"Principal":{"AWS":"arn:aws:iam::2:role/ray-two"}}"#.into(),
            },
        ));
        let g = build(&cs);
        assert!(g.precedes(1, 0));
        assert!(g.precedes(1, 2));
        assert!(!g.precedes(1, 3));
    }

    #[test]
    fn detach_after_attach_and_puts() {
        let mut cs = ChangeSet::default();
        cs.changes.push(c(
            r#"role.r.managed_policy["arn:old"]"#,
            Action::Delete,
            Write::DetachRolePolicy {
                role: "r".into(),
                arn: "arn:old".into(),
            },
        ));
        cs.changes.push(c(
            r#"role.r.managed_policy["arn:new"]"#,
            Action::Create,
            Write::AttachRolePolicy {
                role: "r".into(),
                arn: "arn:new".into(),
            },
        ));
        cs.changes.push(c(
            r#"role.r.inline_policy["s3ward-grants"]"#,
            Action::Update,
            Write::PutRolePolicy {
                role: "r".into(),
                name: "s3ward-grants".into(),
                policy: "{}".into(),
            },
        ));
        let g = build(&cs);
        assert!(g.precedes(1, 0), "detach after attach");
        assert!(
            g.precedes(2, 0),
            "detach after the grants policy is in place"
        );
        assert!(!g.precedes(0, 1));
    }

    #[test]
    fn independent_resources_have_no_edges_and_records_come_last() {
        let (p1, ..) = bucket_writes("a");
        let (p2, ..) = bucket_writes("b");
        let mut cs = ChangeSet::default();
        cs.changes.push(c("bucket.a.policy", Action::Update, p1));
        cs.changes.push(c("bucket.b.policy", Action::Update, p2));
        cs.applied.insert("bucket.a".into(), Default::default());
        let g = build(&cs);
        assert!(g.deps[0].is_empty() && g.deps[1].is_empty());
        assert_eq!(g.nodes[2], Node::Record(Resource::Bucket("a".into())));
        assert_eq!(g.deps[2], vec![0]);
    }
}
