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
//! - a role's trust (its trust change, or the real trust of a role created with the inert
//!   one) → its pod identity associations (EKS accepts an association to a role that pods
//!   cannot assume yet, but it would not work);
//! - each resource's `s3ward:applied` record → after all of that resource's changes.
//!
//! Two kinds of edge: most are *hard* (`b` runs only if `a` succeeded); a few are *order
//! only* (`b` runs after `a` has finished, whatever became of it): the public access block
//! that tightens waits for the bucket's earlier writes that way, since removing public access
//! is right even when the policy write failed (SPEC item 10).
//!
//! New roles whose trust policies name each other (or themselves) would wait for each other
//! for ever. Such a cycle is broken as SPEC item 8 says: each role in it is created with
//! [`INERT_TRUST`], and a [`Node::Trust`] sets its real trust once every role it names exists.
//!
//! Resources with no edge between them run in parallel.

use std::collections::{BTreeMap, BTreeSet};

use crate::change::{Action, Address, Change, ChangeSet, Resource, Write};
use crate::desired::PublicAccessBlock;

/// The trust a role in a cycle of new roles is created with: it lets no one assume the role
/// (a Deny for everyone, and no Allow). Its real trust follows as soon as the roles it names
/// exist.
pub const INERT_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"s3wardNoOneUntilTrustIsSet","Effect":"Deny","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;

/// A unit of work: one change, the real trust of a role created with [`INERT_TRUST`], or the
/// `s3ward:applied` tag of one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Change(usize),
    /// The trust of the role created by change `i`, set after that role and every new role
    /// its trust names exist.
    Trust(usize),
    Record(Resource),
}

#[derive(Clone, Debug)]
pub struct Graph {
    pub nodes: Vec<Node>,
    /// `deps[i]`: the nodes `i` waits for, and that must have succeeded for `i` to run.
    pub deps: Vec<Vec<usize>>,
    /// `after[i]`: the nodes `i` waits for whatever becomes of them (ordering only).
    pub after: Vec<Vec<usize>>,
    /// `rdeps[i]`: the nodes that wait for `i`, either way.
    rdeps: Vec<Vec<usize>>,
    /// Changes (indices into the change set) that create a role with [`INERT_TRUST`].
    inert: BTreeSet<usize>,
}

impl Graph {
    /// Nodes that wait for `i` (hard or order-only).
    pub fn dependents(&self, i: usize) -> &[usize] {
        &self.rdeps[i]
    }

    /// A graph from explicit edges, for tests of the executor's rules on shapes `build`
    /// never makes (such as a cycle it could not break).
    #[cfg(test)]
    pub fn from_edges(nodes: Vec<Node>, deps: Vec<Vec<usize>>, after: Vec<Vec<usize>>) -> Graph {
        Graph::assemble(nodes, deps, after, BTreeSet::new())
    }

    /// The graph of these edges: each node's edges sorted and deduplicated (an edge that is
    /// both hard and order-only is hard), and the reverse edges.
    fn assemble(
        nodes: Vec<Node>,
        mut deps: Vec<Vec<usize>>,
        mut after: Vec<Vec<usize>>,
        inert: BTreeSet<usize>,
    ) -> Graph {
        let mut rdeps = vec![Vec::new(); nodes.len()];
        for i in 0..nodes.len() {
            deps[i].sort_unstable();
            deps[i].dedup();
            let hard = deps[i].clone();
            after[i].retain(|j| !hard.contains(j));
            after[i].sort_unstable();
            after[i].dedup();
            for &j in deps[i].iter().chain(&after[i]) {
                rdeps[j].push(i);
            }
        }
        Graph {
            nodes,
            deps,
            after,
            rdeps,
            inert,
        }
    }

    /// Whether change `i` creates its role with [`INERT_TRUST`] (a [`Node::Trust`] follows).
    pub fn creates_with_inert_trust(&self, change: usize) -> bool {
        self.inert.contains(&change)
    }

    /// Whether `a` must come before `b` (directly or through others, by either kind of edge).
    pub fn precedes(&self, a: usize, b: usize) -> bool {
        let waits_for = |n: usize| self.deps[n].iter().chain(&self.after[n]).copied();
        let mut stack: Vec<usize> = waits_for(b).collect();
        let mut seen = vec![false; self.nodes.len()];
        while let Some(n) = stack.pop() {
            if n == a {
                return true;
            }
            if !seen[n] {
                seen[n] = true;
                stack.extend(waits_for(n));
            }
        }
        false
    }

    /// Whether `b` runs only if `a` succeeded (through hard edges alone).
    pub fn requires(&self, b: usize, a: usize) -> bool {
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

    /// A topological order (Kahn's algorithm, lowest index first). Nodes on a cycle are
    /// left out: the executor never starts them and reports them as not attempted.
    pub fn order(&self) -> Vec<usize> {
        let n = self.nodes.len();
        let mut indegree: Vec<usize> = (0..n)
            .map(|i| self.deps[i].len() + self.after[i].len())
            .collect();
        let mut ready: BTreeSet<usize> = (0..n).filter(|i| indegree[*i] == 0).collect();
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
        Write::PutKeyPolicy { policy, .. } => Some(policy),
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
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); changes.len()];
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
                let is_block =
                    |i: usize| matches!(changes[i].address, Address::BucketPublicAccessBlock(_));
                let tightens_at = chain.iter().position(|&i| !relaxing && is_block(i));
                for (at, w) in chain.windows(2).enumerate() {
                    if tightens_at.is_some_and(|t| at + 1 > t) {
                        // After the block (the tags): as before it, needs all earlier writes.
                        deps[w[1]].extend(chain[..=at].iter().copied());
                    } else if tightens_at == Some(at + 1) {
                        // One write at a time still, but a failure before it (the policy,
                        // the ACL reset, ownership) must not keep the bucket open: order
                        // only, except for the bucket's creation, which it needs.
                        for &earlier in &chain[..=at] {
                            if matches!(changes[earlier].address, Address::Bucket(_)) {
                                deps[w[1]].push(earlier);
                            } else {
                                after[w[1]].push(earlier);
                            }
                        }
                    } else {
                        deps[w[1]].push(w[0]);
                    }
                }
            }
            // A key has one change (its policy); its edges are `key_order`'s.
            Resource::Key(_) => {}
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
    super::key_order::key_edges(changes, &mut deps);
    // Policies that name a role created in this run wait for it: AWS rejects a principal
    // that does not exist yet.
    let names: Vec<Vec<usize>> = changes
        .iter()
        .map(|c| {
            policy_text(&c.write).map_or_else(Vec::new, |text| {
                created_roles
                    .iter()
                    .filter(|(_, arn)| text.contains(&format!("\"{arn}\"")))
                    .map(|(creator, _)| *creator)
                    .collect()
            })
        })
        .collect();
    // New roles whose trusts name each other (or themselves) form a cycle: each is created
    // with an inert trust, and its real trust is set once all the roles it names exist.
    let inert = roles_on_a_trust_cycle(&created_roles, &names);
    let mut trust_nodes: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, named) in names.iter().enumerate() {
        if inert.contains(&i) {
            let node = nodes.len();
            nodes.push(Node::Trust(i));
            let mut d = vec![i];
            d.extend(named.iter().copied());
            deps.push(d);
            after.push(Vec::new());
            trust_nodes.insert(i, node);
        } else {
            deps[i].extend(named.iter().copied().filter(|&creator| creator != i));
        }
    }
    for members in by_resource.values() {
        pod_identity_after_trust(changes, members, &trust_nodes, &mut deps);
    }
    // One `s3ward:applied` record per resource that has one, after all its changes (a
    // resource already in sync may have a record to write and no change).
    for resource in cs.applied.keys() {
        let mut d = by_resource.get(resource).cloned().unwrap_or_default();
        let trusts: Vec<usize> = d
            .iter()
            .filter_map(|i| trust_nodes.get(i).copied())
            .collect();
        d.extend(trusts);
        nodes.push(Node::Record(resource.clone()));
        deps.push(d);
        after.push(Vec::new());
    }
    Graph::assemble(nodes, deps, after, inert)
}

/// A role's pod identity associations wait for its trust: the trust change, or the real
/// trust that follows a role created with [`INERT_TRUST`] (its creation is already a dep).
fn pod_identity_after_trust(
    changes: &[Change],
    members: &[usize],
    trust_nodes: &BTreeMap<usize, usize>,
    deps: &mut [Vec<usize>],
) {
    let trusts: Vec<usize> = members
        .iter()
        .filter(|&&i| matches!(changes[i].address, Address::RoleTrust(_)))
        .copied()
        .chain(members.iter().filter_map(|i| trust_nodes.get(i).copied()))
        .collect();
    for &i in members {
        if matches!(changes[i].address, Address::RolePodIdentity(..)) {
            deps[i].extend(&trusts);
        }
    }
}

/// The role creations that are on a cycle of "my trust names your ARN" (a role naming
/// itself is a cycle of one): none of them could ever start.
fn roles_on_a_trust_cycle(
    created_roles: &[(usize, String)],
    names: &[Vec<usize>],
) -> BTreeSet<usize> {
    let creators: BTreeSet<usize> = created_roles.iter().map(|(i, _)| *i).collect();
    let mut out = BTreeSet::new();
    for &start in &creators {
        // Depth-first from `start` through the creations it names; a way back is a cycle.
        let mut stack: Vec<usize> = names[start].clone();
        let mut seen = BTreeSet::new();
        while let Some(n) = stack.pop() {
            if n == start {
                out.insert(start);
                break;
            }
            if creators.contains(&n) && seen.insert(n) {
                stack.extend(names[n].iter().copied());
            }
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::desired::ObjectOwnership;
    use serde_json::json;

    /// A change with nothing but its address, action and write (for tests of ordering).
    pub(crate) fn c(addr: &str, action: Action, write: Write) -> Change {
        Change::new(addr.parse().unwrap(), action, write)
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
                merge: None,
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
                merge: None,
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
        cs.applied
            .insert(Resource::Bucket("a".into()), Default::default());
        let g = build(&cs);
        assert!(g.deps[0].is_empty() && g.deps[1].is_empty());
        assert_eq!(g.nodes[2], Node::Record(Resource::Bucket("a".into())));
        assert_eq!(g.deps[2], vec![0]);
    }

    /// A change that creates role `key` with a trust naming the roles `trusts`.
    pub(crate) fn new_role(key: &str, trusts: &[&str]) -> Change {
        let principals: Vec<String> = trusts
            .iter()
            .map(|t| format!("\"arn:aws:iam::1:role/{t}\""))
            .collect();
        let mut c = c(
            &format!("role.{key}"),
            Action::Create,
            Write::CreateRole {
                name: key.into(),
                path: "/".into(),
                description: None,
                max_session_duration: None,
                trust: format!(
                    r#"{{"Statement":[{{"Principal":{{"AWS":[{}]}}}}]}}"#,
                    principals.join(",")
                ),
                tags: Default::default(),
            },
        );
        c.after = Some(json!({ "arn": format!("arn:aws:iam::1:role/{key}") }));
        c
    }

    #[test]
    fn new_roles_that_trust_each_other_are_created_inert_then_given_their_trust() {
        let mut cs = ChangeSet::default();
        cs.changes.push(new_role("a", &["b"]));
        cs.changes.push(new_role("b", &["a", "c"]));
        cs.changes.push(new_role("c", &[]));
        cs.changes.push(new_role("d", &["a"]));
        cs.applied
            .insert(Resource::Role("a".into()), Default::default());
        let g = build(&cs);
        // Every node can run: the cycle a <-> b is broken.
        assert_eq!(g.order().len(), g.nodes.len());
        assert!(g.creates_with_inert_trust(0) && g.creates_with_inert_trust(1));
        assert!(!g.creates_with_inert_trust(2) && !g.creates_with_inert_trust(3));
        let trust = |i: usize| g.nodes.iter().position(|n| *n == Node::Trust(i)).unwrap();
        let (ta, tb) = (trust(0), trust(1));
        assert_eq!(
            g.deps[0],
            Vec::<usize>::new(),
            "a is created without waiting"
        );
        assert_eq!(g.deps[ta], vec![0, 1]);
        assert_eq!(g.deps[tb], vec![0, 1, 2], "b's trust waits for a, b and c");
        assert_eq!(
            g.deps[3],
            vec![0],
            "d (not on the cycle) waits for a to exist"
        );
        let record = g.nodes.len() - 1;
        assert!(
            g.requires(record, ta),
            "a's record waits for its real trust"
        );
    }

    #[test]
    fn a_role_that_trusts_itself_is_a_cycle_of_one() {
        let mut cs = ChangeSet::default();
        cs.changes.push(new_role("a", &["a"]));
        let g = build(&cs);
        assert!(g.creates_with_inert_trust(0));
        assert_eq!(g.nodes, vec![Node::Change(0), Node::Trust(0)]);
        assert_eq!(g.deps[1], vec![0]);
    }

    #[test]
    fn a_tightening_block_waits_for_the_policy_but_does_not_need_it() {
        let (p, a, o, b) = bucket_writes("m");
        let mut cs = ChangeSet::default();
        cs.changes.push(c("bucket.m.policy", Action::Update, p));
        cs.changes.push(c("bucket.m.acl", Action::Update, a));
        cs.changes.push(c("bucket.m.ownership", Action::Update, o));
        cs.changes
            .push(c("bucket.m.public_access_block", Action::Update, b));
        let g = build(&cs);
        assert!(g.precedes(0, 3), "still one write at a time");
        assert!(
            !g.requires(3, 0),
            "but the policy's failure does not stop it"
        );
        assert!(g.requires(1, 0), "the ACL reset still needs the policy");
        assert!(g.requires(2, 1), "ownership still needs the ACL reset");
        let mut with_tags = cs.clone();
        with_tags.changes.push(c(
            "bucket.m.tags",
            Action::Update,
            Write::PutBucketTags {
                bucket: "m".into(),
                tags: Default::default(),
            },
        ));
        let g = build(&with_tags);
        assert!(
            g.requires(4, 0) && g.requires(4, 3),
            "the tags still need every write"
        );
    }

    fn association(role: &str) -> Change {
        c(
            &format!(r#"role.{role}.pod_identity["ml-prod/ml/inference"]"#),
            Action::Create,
            Write::PodIdentityAssociation(crate::desired::AssociationWrite {
                account: "prod".into(),
                region: "us-east-1".into(),
                cluster: "ml-prod".into(),
                namespace: "ml".into(),
                service_account: "inference".into(),
                role_arn: format!("arn:aws:iam::1:role/{role}"),
                association_id: None,
                tags: Default::default(),
            }),
        )
    }

    #[test]
    fn an_association_waits_for_its_roles_trust() {
        let mut cs = ChangeSet::default();
        cs.changes.push(association("a"));
        cs.changes.push(c(
            "role.a.trust",
            Action::Update,
            Write::UpdateTrust {
                role: "a".into(),
                policy: "{}".into(),
            },
        ));
        cs.changes.push(association("b"));
        let g = build(&cs);
        assert!(
            g.requires(0, 1),
            "after the trust change, and only if it worked"
        );
        assert!(
            !g.precedes(1, 2),
            "another role's association does not wait"
        );
        // A new role on a trust cycle: after its real trust, not only its creation.
        let mut cs = ChangeSet::default();
        cs.changes.push(new_role("a", &["a"]));
        cs.changes.push(association("a"));
        let g = build(&cs);
        let trust = g.nodes.iter().position(|n| *n == Node::Trust(0)).unwrap();
        assert!(g.requires(1, 0) && g.requires(1, trust));
    }
}
