//! Reading AWS: exactly the settings the plan file manages, concurrently.
//!
//! Every read goes through [`crate::aws::Aws::call`], whose semaphore bounds the requests in
//! flight (`--parallelism`); all reads of all resources are started together, so a plan costs
//! about `calls × latency / parallelism`. Absent resources and settings are data
//! ([`Setting::Absent`]), not errors. Documents that do not parse are kept as text with the
//! parse error, so `plan` can name the address and carry on.
//!
//! Calls per resource (the minimum for what is managed):
//!
//! | resource | calls |
//! |---|---|
//! | bucket | GetBucketPolicy, GetBucketTagging, + GetBucketAcl (`bucket_acl = "private"`, unless the plan file asks for BucketOwnerEnforced and the bucket has it: ACLs are disabled then), + GetBucketOwnershipControls (`object_ownership` set), + GetPublicAccessBlock (`block_public_access` set): 2 to 5 |
//! | role | GetRole, ListRolePolicies and one GetRolePolicy per inline policy (undeclared ones too: they are deleted in exclusive mode, and count towards IAM's size limit otherwise), + ListAttachedRolePolicies (`managed_policies` set): 2 to 3 + n. In an account where the plan reads 10 roles or more: one GetAccountAuthorizationDetails page per 1,000 roles of the account for all of them, + ListRoles (1,000 a page) when one of them sets `description` or `max_session_duration` (`iam_bulk.rs`) |
//! | key | DescribeKey, GetKeyPolicy, ListResourceTags (`[keys]`): 3; + GetBucketEncryption per bucket with `encryption` |
//! | account | one STS GetCallerIdentity per run, one AssumeRole per account with `assume_role` |
//! | pod identity association | per `pod_identity` trust entry, in the cluster's account and region: ListPodIdentityAssociations (namespace and service account, paginated) + DescribePodIdentityAssociation of the match: 1 to 2 |
//! | principal | one GetRole or GetUser per role or user ARN that a grant (`to`) or trust entry (`arn`) names, once per run, in an account s3ward has a session for; none for account roots, for the plan's own roles, or in other accounts (listed as not verified) |

pub mod eks;
pub mod iam;
pub mod iam_bulk;
pub mod kms;
pub mod managed_policies;
pub mod s3;
pub mod sts;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::change::{Address, Resource};
use crate::desired::{Desired, NamedPrincipal};
use crate::error::Error;
// What is read is plain data, defined apart from the reading (`crate::state`): the pure core
// (diff, import) depends on it without depending on this module.
pub use crate::state::{
    AclGrant, Live, LiveAcl, LiveBucket, LiveDocument, LivePrincipal, LiveRole, Setting,
};
pub use sts::Session;

/// Which resources to read: all, or those selected by `--target`.
pub fn selected_resources(desired: &Desired, targets: &[Address]) -> Vec<Resource> {
    let all = desired
        .roles
        .keys()
        .map(|k| Resource::Role(k.clone()))
        .chain(desired.buckets.keys().map(|k| Resource::Bucket(k.clone())))
        .chain(desired.keys.keys().map(|k| Resource::Key(k.clone())));
    if targets.is_empty() {
        all.collect()
    } else {
        let wanted: BTreeSet<Resource> = targets.iter().map(Address::resource).collect();
        all.filter(|r| wanted.contains(r)).collect()
    }
}

/// The accounts those resources live in, and the plan-file accounts with `assume_role` that
/// hold a role or user their grants and trust entries name (read to know it exists). An
/// account without `assume_role` is read only when it holds resources: it must be the
/// ambient one, and a plan file may declare another just to name it.
pub fn accounts_of(desired: &Desired, resources: &[Resource]) -> Vec<String> {
    let mut out: BTreeSet<String> = resources
        .iter()
        .filter_map(|r| match r {
            Resource::Bucket(k) => desired.buckets.get(k).map(|b| b.account.clone()),
            Resource::Role(k) => desired.roles.get(k).map(|r| r.account.clone()),
            Resource::Key(k) => desired.keys.get(k).map(|k| k.account.clone()),
        })
        .collect();
    let named = desired.principals_to_read(named_principals(desired, resources));
    out.extend(
        desired
            .accounts
            .values()
            .filter(|a| a.assume_role.is_some())
            .filter(|a| named.iter().any(|p| p.account_id == a.id))
            .map(|a| a.key.clone()),
    );
    // The clusters' accounts, for their pod identity associations.
    out.extend(cluster_accounts(desired, resources));
    out.into_iter().collect()
}

/// The plan-file accounts that hold a cluster of the `pod_identity` entries of `resources`.
fn cluster_accounts(desired: &Desired, resources: &[Resource]) -> Vec<String> {
    let roles = resources.iter().filter_map(|r| match r {
        Resource::Role(k) => desired.roles.get(k),
        Resource::Bucket(_) | Resource::Key(_) => None,
    });
    roles
        .flat_map(|r| &r.pod_identity)
        .filter_map(|a| desired.accounts.values().find(|acc| acc.id == a.account_id))
        .map(|acc| acc.key.clone())
        .collect()
}

/// The principals that the grants and trust entries of `resources` name.
pub fn named_principals<'a>(
    desired: &'a Desired,
    resources: &[Resource],
) -> impl Iterator<Item = &'a NamedPrincipal> {
    let selected: BTreeSet<Resource> = resources.iter().cloned().collect();
    desired
        .named_principals
        .iter()
        .filter(move |n| selected.contains(&Address::from(&n.by).resource()))
}

/// Reports how many resources have been read, for a progress display.
pub type Progress = Arc<AtomicUsize>;

/// Reads every resource in `resources`, concurrently.
pub async fn read(
    session: &Session,
    desired: &Desired,
    resources: &[Resource],
    progress: Option<Progress>,
) -> Result<Live, Error> {
    let tick = |p: &Option<Progress>| {
        if let Some(p) = p {
            p.fetch_add(1, Ordering::Relaxed);
        }
    };
    let bucket_reads = resources.iter().filter_map(|r| match r {
        Resource::Bucket(k) => desired.buckets.get(k),
        Resource::Role(_) | Resource::Key(_) => None,
    });
    let role_reads = resources.iter().filter_map(|r| match r {
        Resource::Role(k) => desired.roles.get(k),
        Resource::Bucket(_) | Resource::Key(_) => None,
    });
    let key_reads = resources.iter().filter_map(|r| match r {
        Resource::Key(k) => desired.keys.get(k),
        Resource::Bucket(_) | Resource::Role(_) => None,
    });
    let buckets = futures::future::join_all(bucket_reads.map(|b| {
        let progress = progress.clone();
        async move {
            let (r, encryption) = futures::join!(
                s3::read_bucket(session, b),
                kms::read_bucket_encryption(session, b)
            );
            tick(&progress);
            let mut live = r?;
            live.encryption = match encryption? {
                Setting::Present(_) if !live.exists => Setting::Absent,
                e => e,
            };
            Ok::<_, Error>((b.key.clone(), live))
        }
    }));
    let role_reads: Vec<&crate::desired::Role> = role_reads.collect();
    let associations = futures::future::join_all(
        role_reads
            .iter()
            .filter(|r| !r.pod_identity.is_empty())
            .map(|r| async move {
                eks::read_associations(session, r)
                    .await
                    .map(|a| (r.key.clone(), a))
            }),
    );
    // Principals in accounts without a session are not read: the diff lists them as not
    // verified.
    let named: Vec<&NamedPrincipal> = named_principals(desired, resources).collect();
    let principal_reads = desired
        .principals_to_read(named.iter().copied())
        .into_iter()
        .filter_map(|p| {
            let account = session.accounts.values().find(|a| a.id == p.account_id)?;
            let at = named
                .iter()
                .find(|n| n.arn == p.arn)
                .map(|n| Address::from(&n.by))?;
            Some((account.key.clone(), p, at))
        })
        .collect::<Vec<_>>();
    // Accounts where enough roles are read are listed whole first (`iam_bulk.rs`).
    let to_list = iam_bulk::accounts_to_list(
        role_reads
            .iter()
            .map(|r| (r.account.as_str(), r.name.as_str()))
            .chain(
                principal_reads
                    .iter()
                    .filter(|(_, p, _)| p.kind == crate::desired::PrincipalKind::Role)
                    .map(|(account, p, _)| (account.as_str(), p.name.as_str())),
            ),
    );
    let iam_reads = async {
        let role_reads = &role_reads;
        let listed = futures::future::join_all(to_list.iter().map(|account| async move {
            // ListRoles too where a listed role declares what only it and GetRole return.
            let described = role_reads.iter().any(|r| {
                &r.account == account
                    && (r.description.is_some() || r.max_session_duration.is_some())
            });
            iam_bulk::list(session, account, described)
                .await
                .map(|l| l.map(|l| (account.clone(), l)))
        }))
        .await;
        let mut listings = std::collections::BTreeMap::new();
        for l in listed {
            if let Some((account, listing)) = l? {
                listings.insert(account, listing);
            }
        }
        let listings = &listings;
        let roles = futures::future::join_all(role_reads.iter().map(|r| {
            let progress = progress.clone();
            async move {
                let res = match listings.get(&r.account) {
                    Some(listing) => iam_bulk::read_role(session, listing, r).await,
                    None => iam::read_role(session, r).await,
                };
                tick(&progress);
                res.map(|live| (r.key.clone(), live))
            }
        }));
        let principals =
            futures::future::join_all(principal_reads.iter().map(|(account, p, at)| async move {
                let listed = listings
                    .get(account)
                    .and_then(|listing| iam_bulk::principal(listing, p));
                match listed {
                    Some(state) => Ok((p.arn.clone(), state)),
                    None => iam::read_principal(session, account, p, at)
                        .await
                        .map(|state| (p.arn.clone(), state)),
                }
            }));
        let (roles, principals) = futures::join!(roles, principals);
        Ok::<_, Error>((roles, principals))
    };
    let keys = futures::future::join_all(key_reads.map(|k| {
        let progress = progress.clone();
        async move {
            let res = kms::read_key(session, k).await;
            tick(&progress);
            res.map(|live| (k.key.clone(), live))
        }
    }));
    let outside: Vec<(&str, &str)> = resources
        .iter()
        .filter_map(|r| match r {
            Resource::Bucket(k) => desired.buckets.get(k),
            _ => None,
        })
        .filter_map(|b| Some((b.account.as_str(), b.outside_key_to_check()?)))
        .collect();
    let outside = futures::future::join_all(outside.into_iter().map(|(account, arn)| async move {
        kms::key_manager(session, account, arn)
            .await
            .map(|m| (arn.to_string(), m))
    }));
    let (buckets, iam_reads, keys, outside, associations) =
        futures::join!(buckets, iam_reads, keys, outside, associations);
    let (roles, principals) = iam_reads?;
    let mut live = Live::default();
    for p in principals {
        let (arn, state) = p?;
        live.principals.insert(arn, state);
    }
    for b in buckets {
        let (k, v) = b?;
        live.buckets.insert(k, v);
    }
    for r in roles {
        let (k, v) = r?;
        live.roles.insert(k, v);
    }
    for r in keys {
        let (k, v) = r?;
        live.keys.insert(k, v);
    }
    live.outside_keys.extend(outside.into_iter().flatten());
    for a in associations {
        let (k, v) = a?;
        live.pod_identity.insert(k, v);
    }
    Ok(live)
}
