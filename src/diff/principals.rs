//! The principals that grants and trust entries name, as read (`live::iam::read_principal`):
//! a role or user missing in an account s3ward reads is a problem at the bucket policy or
//! trust that names it, placed at the plan-file entry; one in an account s3ward cannot read
//! is listed as not verified. Roles the plan manages are not judged here: they are read (or
//! created) as resources.

use std::collections::BTreeMap;

use crate::change::{Address, ChangeSet, Problem, UnverifiedPrincipal};
use crate::desired::Place;
use crate::desired::{Desired, NamedBy, NamedPrincipal, PrincipalToRead};
use crate::state::{Live, LivePrincipal};

/// Adds the problems, the not-verified list and the verified set for the resources in `live`.
pub(super) fn check(desired: &Desired, live: &Live, cs: &mut ChangeSet) {
    let mut unverified: BTreeMap<String, UnverifiedPrincipal> = BTreeMap::new();
    for n in &desired.named_principals {
        let at = Address::from(&n.by);
        let read = match &n.by {
            NamedBy::BucketPolicy(k) => live.buckets.contains_key(k),
            NamedBy::RoleTrust(k) => live.roles.contains_key(k),
        };
        let Some(p) = PrincipalToRead::of(&n.arn).filter(|p| read && !desired.manages(p)) else {
            continue;
        };
        let reason = match live.principals.get(&n.arn) {
            Some(LivePrincipal::Exists) => {
                cs.verified_principals.insert(n.arn.clone());
                continue;
            }
            Some(LivePrincipal::Missing) => {
                cs.problems.push(missing(desired, n, &p, at, None));
                continue;
            }
            Some(LivePrincipal::OtherPath(path)) => {
                cs.problems.push(missing(desired, n, &p, at, Some(path)));
                continue;
            }
            Some(LivePrincipal::Unreadable(why)) => {
                format!("reading it in account {} was denied: {why}", p.account_id)
            }
            None => format!(
                "the plan file gives s3ward no access to account {}",
                p.account_id
            ),
        };
        let u = unverified
            .entry(n.arn.clone())
            .or_insert_with(|| UnverifiedPrincipal {
                arn: n.arn.clone(),
                named_by: Vec::new(),
                reason,
            });
        if !u.named_by.contains(&at) {
            u.named_by.push(at);
        }
    }
    cs.unverified_principals = unverified.into_values().collect();
    for (key, r) in &live.roles {
        if let (true, Some(role)) = (r.exists, desired.roles.get(key)) {
            cs.verified_principals.insert(role.arn());
        }
    }
}

/// "role `ray-cluster-nodes` does not exist in account 222222222222", at the entry.
fn missing(
    desired: &Desired,
    n: &NamedPrincipal,
    p: &PrincipalToRead,
    at: Address,
    other_path: Option<&String>,
) -> Problem {
    let kind = p.kind.as_str();
    let (message, hint) = match other_path {
        None => (
            format!(
                "{kind} `{}` does not exist in account {}",
                p.name, p.account_id
            ),
            format!(
                "AWS refuses a policy that names a {kind} that does not exist; check the name in `{}`, or create the {kind} first",
                n.arn
            ),
        ),
        Some(path) => (
            format!(
                "{kind} `{}` does not exist in account {} with path `{}`",
                p.name, p.account_id, p.path
            ),
            format!(
                "{kind} `{}` has path `{path}`: its ARN is `arn:aws:iam::{}:{kind}{path}{}`",
                p.name, p.account_id, p.name
            ),
        ),
    };
    Problem {
        address: at,
        message,
        hint: Some(hint),
        place: n
            .span
            .as_ref()
            .map(|s| Place::at(&desired.source.path, &desired.source.text, s.start)),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::desired::PrincipalKind;
    use crate::diff::{Context, diff};
    use crate::state::{LiveBucket, LiveRole};

    const PLAN: &str = r#"version = 1
[accounts.storage]
id = "111111111111"
[accounts.compute]
id = "222222222222"

[roles.ray]
account = "compute"
trust = [{ arn = "arn:aws:iam::222222222222:user/ci" }]

[buckets.models]
account = "storage"
name = "acme-models"

[[buckets.models.grants]]
to = "arn:aws:iam::222222222222:role/ray-cluster-nodes"
access = "read"

[[buckets.models.grants]]
to = "arn:aws:iam::333333333333:role/partner"
access = "read"

[[buckets.models.grants]]
to = "arn:aws:iam::222222222222:role/ray"
access = "list"

[[buckets.models.grants]]
to = "account.compute"
access = "list"
"#;

    fn desired() -> Desired {
        crate::plan_file::parse(Path::new("t.toml"), PLAN, Default::default())
            .unwrap()
            .desired
    }

    fn live(principals: &[(&str, LivePrincipal)]) -> Live {
        let mut live = Live::default();
        live.buckets.insert("models".into(), LiveBucket::absent());
        live.roles.insert("ray".into(), LiveRole::absent());
        live.principals = principals
            .iter()
            .map(|(a, p)| (a.to_string(), p.clone()))
            .collect();
        live
    }

    #[test]
    fn only_roles_and_users_the_plan_does_not_manage_are_read() {
        let d = desired();
        let read: Vec<(String, PrincipalKind)> = d
            .principals_to_read(&d.named_principals)
            .into_iter()
            .map(|p| (p.arn, p.kind))
            .collect();
        assert_eq!(
            read,
            [
                (
                    "arn:aws:iam::222222222222:role/ray-cluster-nodes".into(),
                    PrincipalKind::Role
                ),
                (
                    "arn:aws:iam::222222222222:user/ci".into(),
                    PrincipalKind::User
                ),
                (
                    "arn:aws:iam::333333333333:role/partner".into(),
                    PrincipalKind::Role
                ),
            ]
        );
    }

    #[test]
    fn a_missing_principal_is_a_problem_at_its_entry() {
        let d = desired();
        let l = live(&[
            (
                "arn:aws:iam::222222222222:role/ray-cluster-nodes",
                LivePrincipal::Missing,
            ),
            (
                "arn:aws:iam::222222222222:user/ci",
                LivePrincipal::OtherPath("/ops/".into()),
            ),
        ]);
        let cs = diff(&d, &l, &Context::default());
        let got: Vec<(String, String, String)> = cs
            .problems
            .iter()
            .map(|p| {
                (
                    p.address.to_string(),
                    p.message.clone(),
                    p.place.as_ref().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "role.ray.trust".to_string(),
                    "user `ci` does not exist in account 222222222222 with path `/`".to_string(),
                    "t.toml:9:18".to_string()
                ),
                (
                    "bucket.models.policy".to_string(),
                    "role `ray-cluster-nodes` does not exist in account 222222222222".to_string(),
                    "t.toml:16:6".to_string()
                ),
            ]
        );
    }

    #[test]
    fn principals_not_read_are_listed_as_not_verified() {
        let d = desired();
        let l = live(&[
            (
                "arn:aws:iam::222222222222:role/ray-cluster-nodes",
                LivePrincipal::Exists,
            ),
            (
                "arn:aws:iam::222222222222:user/ci",
                LivePrincipal::Unreadable("denied".into()),
            ),
        ]);
        let cs = diff(&d, &l, &Context::default());
        assert!(cs.problems.is_empty(), "{:?}", cs.problems);
        let got: Vec<(&str, String)> = cs
            .unverified_principals
            .iter()
            .map(|u| (u.arn.as_str(), u.named_by[0].to_string()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "arn:aws:iam::222222222222:user/ci",
                    "role.ray.trust".to_string()
                ),
                (
                    "arn:aws:iam::333333333333:role/partner",
                    "bucket.models.policy".to_string()
                ),
            ]
        );
        assert_eq!(
            cs.verified_principals.iter().collect::<Vec<_>>(),
            ["arn:aws:iam::222222222222:role/ray-cluster-nodes"]
        );
        // Targeting the role leaves only what its trust names.
        let mut cs = cs;
        cs.retain_targets(&["role.ray".parse().unwrap()]);
        assert_eq!(cs.unverified_principals.len(), 1);
    }
}
