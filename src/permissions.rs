//! The least-privilege IAM policies s3ward needs for one plan file (`s3ward permissions`).
//!
//! [`CALLS`] is the one list of every AWS operation s3ward makes, with the IAM action it
//! needs, what it acts on and which commands make it. The modules that make the calls
//! (`live/`, `apply/writes/`, `apply/lock.rs`, `check/read.rs`) keep their own code; a test
//! here reads their source and fails when one of them calls an operation this list does not
//! name, so the policy cannot drift from the code. The integration test
//! `permissions_cover_every_call_of_a_plan_and_an_apply` checks the same from the other
//! side, against the calls a real plan and apply send.
//!
//! [`policies`] turns the list and a resolved plan file into one policy document per
//! account (for the role named by `assume_role`, or the credentials s3ward runs with when
//! the account has none), plus one for the credentials s3ward runs with when they need
//! something of their own (`sts:AssumeRole`, the apply lock). Pure: no AWS call.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::desired::Desired;

/// What a policy is for: the command that will run with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Purpose {
    Plan,
    Apply,
    Drift,
    Check,
    /// `check --all-objects`: also lists whole buckets, every bucket of the plan file.
    CheckAllObjects,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Plan => "plan",
            Purpose::Apply => "apply",
            Purpose::Drift => "drift",
            Purpose::Check => "check",
            Purpose::CheckAllObjects => "check --all-objects",
        }
    }

    /// `check`, with or without `--all-objects`.
    pub fn is_check(self) -> bool {
        matches!(self, Purpose::Check | Purpose::CheckAllObjects)
    }
}

/// What one call acts on, which decides the policy's `Resource`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum On {
    /// A bucket of the plan file, in its account.
    Bucket,
    /// The objects of a declared model directory (`check`), in the bucket's account.
    ModelObjects,
    /// A role of the plan file, in its account.
    Role,
    /// A role that a grant or trust entry names and the plan file does not manage (read to
    /// check that it exists), in its account.
    NamedRole,
    /// A user that a grant or trust entry names, in its account.
    NamedUser,
    /// Every role of an account at once (GetAccountAuthorizationDetails has no resource-level
    /// permission: `*`), where the plan reads enough roles to list them whole.
    AccountRoles,
    /// Every role's description and session length at once (ListRoles, `*` too), where a
    /// listed role declares either.
    AccountRoleDescriptions,
    /// The lock object `settings.lock`, with the credentials s3ward runs with.
    LockObject,
    /// A role named by `assume_role`, assumed by the credentials s3ward runs with.
    AssumeRole,
    /// Needs no permission (`sts:GetCallerIdentity` cannot be denied).
    Nothing,
    /// Made only by `import`, which `permissions` does not cover.
    ImportOnly,
    /// A KMS key of `[keys]`, in its account (the key policy must delegate to IAM, as the
    /// default key policy does, for these to count).
    Key,
    /// A key that a bucket with cross-account grants names by ARN and the plan file does not
    /// manage: described only, to refuse the AWS managed key `aws/s3`.
    OutsideKey,
    /// A managed policy's document (any policy attached to a role `why --live` asks about).
    ManagedPolicy,
    /// The EKS cluster of a `pod_identity` trust entry and its pod identity associations,
    /// in the cluster's account.
    Cluster,
    /// A role of the plan file that EKS is given for a pod identity association
    /// (`iam:PassRole`), by the credentials in the cluster's account.
    PassedRole,
}

/// Which commands make a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Reading the managed settings: plan, drift and apply (which plans first).
    Read,
    /// Writing: apply only.
    Write,
    /// `check`'s own reads.
    Check,
    /// Every command that connects.
    Connect,
}

impl When {
    fn made_by(self, purpose: Purpose) -> bool {
        match self {
            When::Read => !purpose.is_check(),
            When::Write => purpose == Purpose::Apply,
            When::Check => purpose.is_check(),
            When::Connect => true,
        }
    }
}

/// One AWS operation s3ward calls.
#[derive(Clone, Copy, Debug)]
pub struct Call {
    pub service: &'static str,
    /// The operation name, as in `Op::s3("…")` and in the HTTP request.
    pub operation: &'static str,
    /// The IAM action that authorises it.
    pub action: &'static str,
    pub on: On,
    pub when: When,
}

mod calls;
pub use calls::CALLS;

/// The policy for one account of the plan file.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountPolicy {
    pub key: String,
    pub id: String,
    /// The role to attach it to (`assume_role`); `None`: the credentials s3ward runs with.
    pub attach_to: Option<String>,
    pub document: Value,
}

/// Every policy a plan file needs for one purpose.
#[derive(Clone, Debug, PartialEq)]
pub struct Policies {
    pub plan: String,
    pub purpose: Purpose,
    pub accounts: Vec<AccountPolicy>,
    /// What the credentials s3ward runs with need of their own (`sts:AssumeRole`, the
    /// lock); `None` when nothing.
    pub ambient: Option<Value>,
}

/// One statement under construction: condition, actions, resources.
type Draft = (Option<Value>, Vec<String>, Vec<String>);

/// Statements under construction, by Sid.
#[derive(Default)]
struct Statements {
    by_sid: BTreeMap<String, Draft>,
}

impl Statements {
    fn add(&mut self, sid: &str, condition: Option<Value>, actions: &[&str], resources: &[String]) {
        if actions.is_empty() || resources.is_empty() {
            return;
        }
        let e = self
            .by_sid
            .entry(sid.to_string())
            .or_insert_with(|| (condition, Vec::new(), Vec::new()));
        for a in actions {
            if !e.1.iter().any(|x| x == a) {
                e.1.push(a.to_string());
            }
        }
        for r in resources {
            if !e.2.contains(r) {
                e.2.push(r.clone());
            }
        }
    }

    fn document(self) -> Option<Value> {
        if self.by_sid.is_empty() {
            return None;
        }
        let statements: Vec<Value> = self
            .by_sid
            .into_iter()
            .map(|(sid, (condition, mut actions, mut resources))| {
                actions.sort();
                resources.sort();
                let mut s = json!({
                    "Sid": sid,
                    "Effect": "Allow",
                    "Action": actions,
                    "Resource": resources,
                });
                if let Some(c) = condition {
                    s["Condition"] = c;
                }
                s
            })
            .collect();
        Some(json!({ "Version": "2012-10-17", "Statement": statements }))
    }
}

/// The distinct actions `purpose` needs on `on`, in [`CALLS`] order.
pub fn actions(purpose: Purpose, on: On) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for c in CALLS {
        if c.on == on && c.when.made_by(purpose) && !out.contains(&c.action) {
            out.push(c.action);
        }
    }
    out
}

/// The policies `desired` needs for `purpose`: exact actions on the plan file's own
/// buckets, roles (ARNs with their paths), model directories, lock object and
/// `assume_role` roles.
pub fn policies(desired: &Desired, purpose: Purpose) -> Policies {
    let (read, write) = (When::Read, When::Write);
    let only = |when: When| {
        move |on: On| -> Vec<&'static str> {
            let mut out: Vec<&'static str> = Vec::new();
            for c in CALLS {
                if c.on == on
                    && c.when == when
                    && c.when.made_by(purpose)
                    && !out.contains(&c.action)
                {
                    out.push(c.action);
                }
            }
            out
        }
    };
    // `check` connects only the accounts of buckets with model directories (with
    // `--all-objects`, of any bucket).
    let all_objects = purpose == Purpose::CheckAllObjects;
    let wanted: Vec<_> = desired
        .accounts
        .values()
        .filter(|a| {
            !purpose.is_check()
                || desired
                    .buckets
                    .values()
                    .any(|b| b.account == a.key && (all_objects || !b.models.is_empty()))
        })
        .collect();
    let mut accounts = Vec::new();
    for a in &wanted {
        let buckets: Vec<_> = desired
            .buckets
            .values()
            .filter(|b| b.account == a.key)
            .collect();
        let roles: Vec<String> = desired
            .roles
            .values()
            .filter(|r| r.account == a.key)
            .map(|r| r.arn())
            .collect();
        let bucket_arns: Vec<String> = buckets.iter().map(|b| b.arn()).collect();
        let mut s = Statements::default();
        // Default encryption is read and written only where a bucket manages it.
        let encrypted = buckets.iter().any(|b| b.encryption.is_some());
        let on_buckets = |actions: Vec<&'static str>| -> Vec<&'static str> {
            actions
                .into_iter()
                .filter(|a| encrypted || !a.ends_with("EncryptionConfiguration"))
                .collect()
        };
        s.add(
            "ReadBuckets",
            None,
            &on_buckets(only(read)(On::Bucket)),
            &bucket_arns,
        );
        s.add("ReadRoles", None, &only(read)(On::Role), &roles);
        let key_arns: Vec<String> = desired
            .keys
            .values()
            .filter(|k| k.account == a.key)
            .map(|k| k.arn.clone())
            .collect();
        // Keys named by ARN by buckets with cross-account grants: plan asks whether `aws/s3`.
        let outside: Vec<String> = buckets
            .iter()
            .filter_map(|b| b.outside_key_to_check())
            .map(str::to_string)
            .collect();
        s.add("DescribeKeys", None, &only(read)(On::OutsideKey), &outside);
        s.add("ReadKeys", None, &only(read)(On::Key), &key_arns);
        // The roles and users grants and trust entries name in this account: plan reads them
        // to say which one is missing before anything is written.
        let named = desired.principals_to_read(&desired.named_principals);
        let named_in = |kind: crate::desired::PrincipalKind| -> Vec<String> {
            named
                .iter()
                .filter(|p| p.account_id == a.id && p.kind == kind)
                .map(|p| p.arn.clone())
                .collect()
        };
        s.add(
            "ReadNamedRoles",
            None,
            &only(read)(On::NamedRole),
            &named_in(crate::desired::PrincipalKind::Role),
        );
        s.add(
            "ReadNamedUsers",
            None,
            &only(read)(On::NamedUser),
            &named_in(crate::desired::PrincipalKind::User),
        );
        // Where the plan reads enough roles, plan lists them all at once (live/iam_bulk.rs).
        let named_roles = named
            .iter()
            .filter(|p| p.account_id == a.id && p.kind == crate::desired::PrincipalKind::Role);
        let listed = crate::desired::accounts_to_list(
            desired
                .roles
                .values()
                .filter(|r| r.account == a.key)
                .map(|r| (r.account.as_str(), r.name.as_str()))
                .chain(named_roles.map(|p| (a.key.as_str(), p.name.as_str()))),
        );
        if !listed.is_empty() {
            let mut actions = only(read)(On::AccountRoles);
            if desired.roles.values().any(|r| {
                r.account == a.key && (r.description.is_some() || r.max_session_duration.is_some())
            }) {
                actions.extend(only(read)(On::AccountRoleDescriptions));
            }
            s.add("ListRoles", None, &actions, &["*".to_string()]);
        }
        // The documents of the managed policies that the roles expectations name have
        // declared (`managed_policies`): plan reads them to evaluate the expectations.
        let managed_docs: Vec<String> = desired
            .expectations
            .iter()
            .filter_map(|x| x.who.strip_prefix("role."))
            .filter_map(|k| desired.roles.get(k))
            .filter(|r| r.account == a.key)
            .flat_map(|r| r.managed_policies.iter().flatten().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        s.add(
            "ReadManagedPolicies",
            None,
            &only(read)(On::ManagedPolicy),
            &managed_docs,
        );
        // Reads that a write makes again are in the read statement already.
        let new = |on: On| -> Vec<&'static str> {
            let reads = only(read)(on);
            only(write)(on)
                .into_iter()
                .filter(|a| !reads.contains(a))
                .collect()
        };
        s.add(
            "WriteBuckets",
            None,
            &on_buckets(new(On::Bucket)),
            &bucket_arns,
        );
        s.add("WriteRoles", None, &new(On::Role), &roles);
        s.add("WriteKeys", None, &new(On::Key), &key_arns);
        let (clusters, passed) = pod_identity_resources(desired, &a.id);
        s.add("ReadPodIdentity", None, &only(read)(On::Cluster), &clusters);
        s.add("WritePodIdentity", None, &new(On::Cluster), &clusters);
        s.add(
            "PassRolesToEks",
            None,
            &only(write)(On::PassedRole),
            &passed,
        );
        // `check` reads only buckets with model directories, and lists only those; with
        // `--all-objects`, every bucket, listed whole (no `s3:prefix` condition).
        let checked: Vec<_> = buckets
            .iter()
            .filter(|b| all_objects || !b.models.is_empty())
            .collect();
        let check_on = only(When::Check);
        let listing: Vec<&str> = check_on(On::Bucket)
            .into_iter()
            .filter(|a| *a != "s3:ListBucket")
            .collect();
        let checked_arns: Vec<String> = checked.iter().map(|b| b.arn()).collect();
        s.add("CheckBuckets", None, &listing, &checked_arns);
        if all_objects {
            let lists: Vec<&str> = check_on(On::Bucket)
                .into_iter()
                .filter(|a| *a == "s3:ListBucket")
                .collect();
            s.add("ListWholeBuckets", None, &lists, &checked_arns);
        }
        for (i, b) in checked.iter().filter(|b| !b.models.is_empty()).enumerate() {
            if !all_objects {
                let prefixes: Vec<String> =
                    b.models.iter().map(|m| format!("{}*", m.prefix)).collect();
                let list = json!({ "StringLike": { "s3:prefix": prefixes } });
                let lists: Vec<&str> = check_on(On::Bucket)
                    .into_iter()
                    .filter(|a| *a == "s3:ListBucket")
                    .collect();
                s.add(
                    &format!("ListModels{}", i + 1),
                    Some(list),
                    &lists,
                    &[b.arn()],
                );
            }
            let objects: Vec<String> = b
                .models
                .iter()
                .map(|m| format!("{}/{}*", b.arn(), m.prefix))
                .collect();
            s.add("ReadModels", None, &check_on(On::ModelObjects), &objects);
        }
        accounts.push(AccountPolicy {
            key: a.key.clone(),
            id: a.id.clone(),
            attach_to: a.assume_role.clone(),
            document: s
                .document()
                .unwrap_or_else(|| json!({ "Version": "2012-10-17", "Statement": [] })),
        });
    }
    let mut ambient = Statements::default();
    let assumed: Vec<String> = wanted
        .iter()
        .filter_map(|a| a.assume_role.clone())
        .collect();
    ambient.add(
        "AssumeAccountRoles",
        None,
        &actions(purpose, On::AssumeRole),
        &assumed,
    );
    if let Some(lock) = &desired.lock {
        let object = format!("arn:aws:s3:::{}/{}", lock.bucket, lock.key);
        ambient.add(
            "ApplyLock",
            None,
            &actions(purpose, On::LockObject),
            &[object],
        );
    }
    Policies {
        plan: desired.name.clone(),
        purpose,
        accounts,
        ambient: ambient.document(),
    }
}

/// The clusters (and their associations) of `pod_identity` entries in account `id`, and
/// the roles those associations are given.
fn pod_identity_resources(desired: &Desired, id: &str) -> (Vec<String>, Vec<String>) {
    let (mut clusters, mut roles) = (Vec::new(), Vec::new());
    for r in desired.roles.values() {
        for a in r.pod_identity.iter().filter(|a| a.account_id == id) {
            let cluster = crate::desired::eks_cluster_arn(&a.region, id, &a.cluster);
            let associations = format!(
                "arn:aws:eks:{}:{id}:podidentityassociation/{}/*",
                a.region, a.cluster
            );
            for arn in [cluster, associations, r.arn()] {
                let list = if arn.contains(":iam:") {
                    &mut roles
                } else {
                    &mut clusters
                };
                if !list.contains(&arn) {
                    list.push(arn);
                }
            }
        }
    }
    (clusters, roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `Op::SERVICE("Operation"` in `src/`, with the file that names it.
    fn calls_in_source() -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(dir) = dirs.pop() {
            for e in std::fs::read_dir(&dir).expect("read src/") {
                let p = e.expect("a directory entry").path();
                if p.is_dir() {
                    dirs.push(p);
                    continue;
                }
                if p.extension().is_none_or(|x| x != "rs")
                    || p.ends_with("aws/mod.rs")
                    || p.ends_with("src/permissions.rs")
                {
                    continue;
                }
                let text = std::fs::read_to_string(&p).expect("read a source file");
                for service in ["s3", "iam", "sts", "kms", "eks"] {
                    let open = format!("Op::{service}(\"");
                    for (at, _) in text.match_indices(&open) {
                        let rest = &text[at + open.len()..];
                        let op = &rest[..rest.find('"').expect("a closing quote")];
                        out.push((service.to_string(), op.to_string(), p.display().to_string()));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_call_in_the_source_is_listed() {
        let found = calls_in_source();
        assert!(found.len() > 30, "the scan found too little: {found:?}");
        for (service, op, file) in found {
            assert!(
                CALLS
                    .iter()
                    .any(|c| c.service == service && c.operation == op),
                "{file} calls {service} {op}, which permissions::CALLS does not list"
            );
        }
    }

    #[test]
    fn every_listed_call_is_in_the_source() {
        let found = calls_in_source();
        for c in CALLS {
            assert!(
                found
                    .iter()
                    .any(|(s, op, _)| s == c.service && op == c.operation),
                "permissions::CALLS lists {} {}, which no code calls",
                c.service,
                c.operation
            );
        }
    }

    /// Ten roles in one account: plan lists them all at once, so the policy allows the
    /// listing (and ListRoles where a role declares a description); nine are read one by one
    /// and it does not.
    #[test]
    fn the_role_listing_is_allowed_where_plan_lists_roles() {
        let plan = |n: usize, described: bool| {
            let mut text = String::from("version = 1\n[accounts.main]\nid = \"111111111111\"\n");
            for i in 0..n {
                text.push_str(&format!(
                    "[roles.r{i}]\naccount = \"main\"\nname = \"r{i}\"\n\
                     trust = [{{ service = \"ec2.amazonaws.com\" }}]\n"
                ));
                if described && i == 0 {
                    text.push_str("description = \"reads models\"\n");
                }
            }
            let loaded = crate::plan_file::parse(
                std::path::Path::new("p.toml"),
                &text,
                crate::plan_file::Options {
                    allow_self_lockout: false,
                },
            )
            .unwrap_or_else(|e| panic!("{e:?}"));
            let doc = policies(&loaded.desired, Purpose::Plan).accounts[0]
                .document
                .to_string();
            (
                doc.contains("iam:GetAccountAuthorizationDetails"),
                doc.contains("iam:ListRoles"),
            )
        };
        assert_eq!(plan(9, true), (false, false));
        assert_eq!(plan(10, false), (true, false));
        // A listed role that declares a description: ListRoles too.
        assert_eq!(plan(10, true), (true, true));
    }

    #[test]
    fn read_purposes_need_no_write() {
        for p in [
            Purpose::Plan,
            Purpose::Drift,
            Purpose::Check,
            Purpose::CheckAllObjects,
        ] {
            for on in [
                On::Bucket,
                On::Role,
                On::LockObject,
                On::ModelObjects,
                On::Key,
                On::OutsideKey,
                On::Cluster,
                On::PassedRole,
            ] {
                for a in actions(p, on) {
                    let verb = a.split(':').nth(1).unwrap_or_default();
                    assert!(
                        ["Get", "List", "Describe"]
                            .iter()
                            .any(|v| verb.starts_with(v)),
                        "{} needs {a}",
                        p.as_str()
                    );
                }
            }
        }
    }

    #[test]
    fn pod_identity_entries_get_eks_actions_and_pass_role() {
        let text = r#"version = 1
[settings]
region = "us-east-1"
[accounts.compute]
id = "222222222222"
[roles.inference]
account = "compute"
trust = [{ pod_identity = { cluster = "ml-prod", namespace = "ml", service_account = "inference" } }]
"#;
        let d = crate::plan_file::parse(std::path::Path::new("p.toml"), text, Default::default())
            .unwrap()
            .desired;
        let sids = |purpose| -> Vec<Value> {
            let p = policies(&d, purpose);
            p.accounts[0].document["Statement"]
                .as_array()
                .unwrap()
                .clone()
        };
        let find = |all: &[Value], sid: &str| all.iter().find(|s| s["Sid"] == sid).cloned();
        let apply = sids(Purpose::Apply);
        let read = find(&apply, "ReadPodIdentity").expect("reads");
        assert_eq!(
            read["Resource"],
            json!([
                "arn:aws:eks:us-east-1:222222222222:cluster/ml-prod",
                "arn:aws:eks:us-east-1:222222222222:podidentityassociation/ml-prod/*"
            ])
        );
        let write = find(&apply, "WritePodIdentity").expect("writes");
        assert_eq!(
            write["Action"],
            json!([
                "eks:CreatePodIdentityAssociation",
                "eks:TagResource",
                "eks:UpdatePodIdentityAssociation"
            ])
        );
        let pass = find(&apply, "PassRolesToEks").expect("pass role");
        assert_eq!(
            pass["Resource"],
            json!(["arn:aws:iam::222222222222:role/inference"])
        );
        let plan = sids(Purpose::Plan);
        assert!(find(&plan, "ReadPodIdentity").is_some());
        assert!(
            find(&plan, "WritePodIdentity").is_none() && find(&plan, "PassRolesToEks").is_none()
        );
    }

    /// `check --all-objects` lists every bucket of the plan file whole: `s3:ListBucket`
    /// without the `s3:prefix` condition, on the buckets without model directories too;
    /// plain `check` keeps to the model directories' prefixes.
    #[test]
    fn check_all_objects_lists_every_bucket_whole() {
        let text = r#"version = 1
[accounts.main]
id = "111111111111"
[buckets.models]
account = "main"
name = "acme-models"
[[buckets.models.models]]
prefix = "llama/"
[buckets.scratch]
account = "main"
name = "acme-scratch"
"#;
        let d = crate::plan_file::parse(std::path::Path::new("p.toml"), text, Default::default())
            .unwrap()
            .desired;
        let statements = |purpose| -> Vec<Value> {
            policies(&d, purpose).accounts[0].document["Statement"]
                .as_array()
                .unwrap()
                .clone()
        };
        let find = |all: &[Value], sid: &str| all.iter().find(|s| s["Sid"] == sid).cloned();
        let both = json!(["arn:aws:s3:::acme-models", "arn:aws:s3:::acme-scratch"]);

        let whole = statements(Purpose::CheckAllObjects);
        let list = find(&whole, "ListWholeBuckets").expect("a whole listing");
        assert_eq!(list["Resource"], both);
        assert_eq!(list["Action"], json!(["s3:ListBucket"]));
        assert!(list.get("Condition").is_none(), "{list}");
        assert_eq!(find(&whole, "CheckBuckets").unwrap()["Resource"], both);
        assert!(find(&whole, "ReadModels").is_some(), "{whole:?}");
        assert!(find(&whole, "ListModels1").is_none(), "{whole:?}");

        let models_only = statements(Purpose::Check);
        assert!(find(&models_only, "ListWholeBuckets").is_none());
        assert!(find(&models_only, "ListModels1").is_some());
        assert_eq!(
            find(&models_only, "CheckBuckets").unwrap()["Resource"],
            json!(["arn:aws:s3:::acme-models"])
        );
    }
}
