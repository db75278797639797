//! Building the plan model from the live state, with the keys chosen and the choices the
//! verification rounds made: the settings region, the account, the accounts and principals
//! that grants name, and each bucket ([`bucket`](super::bucket)) and role
//! ([`role`](super::role)). Also [`plan_tags`], the live tags either may declare under the
//! resolver's tag rule (`names`).
//!
//! Pure and deterministic: the same input, keys and choices give the same model. It does
//! not check its result; [`import`](super::import) hands the rendered text to the resolver
//! and the diff for that.

use std::collections::{BTreeMap, BTreeSet};

use super::keys::Keys;
use super::model::{AccountOut, Plan};
use super::verify::Choices;
use super::{Input, bucket::bucket, grants, role::role, trust};
use crate::desired::{APPLIED_TAG, GRANTS_POLICY_NAME};
use crate::names::{is_aws_reserved_tag_key, valid_tag_key, valid_tag_value};

/// The tags to declare, and a comment on those left out.
pub(super) fn plan_tags(
    live: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Option<String>) {
    let mut out = BTreeMap::new();
    let mut skipped = Vec::new();
    for (k, v) in live {
        if k == APPLIED_TAG {
            continue; // s3ward's own record of what it applied; refused in a plan file
        }
        // The resolver's rule: it refuses a plan file that declares any other.
        if is_aws_reserved_tag_key(k) || !valid_tag_key(k) || !valid_tag_value(v) {
            skipped.push(format!("`{k}`"));
            continue;
        }
        out.insert(k.clone(), v.clone());
    }
    let comment = (!skipped.is_empty()).then(|| {
        format!(
            "Tags left out (unmanaged): {}; s3ward refuses `aws:` keys and characters outside \
             letters, digits, spaces and `_ . : / = + - @`.",
            skipped.join(", ")
        )
    });
    (out, comment)
}

pub(super) fn build(input: &Input, keys: &Keys, choices: &Choices) -> Plan {
    // Every imported account, by id: grants and trust name them by key.
    let accounts_in: BTreeMap<String, String> = input
        .accounts
        .iter()
        .zip(&keys.accounts)
        .map(|(a, k)| (a.id.clone(), k.clone()))
        .collect();
    let all_roles: BTreeMap<String, String> = input
        .roles
        .iter()
        .zip(&keys.roles)
        .map(|(r, k)| (r.live.arn.clone(), k.clone()))
        .collect();
    // Grants may name a role only when the role has an `s3ward-grants` policy for the
    // resolver to compare with: otherwise the grant would add one.
    let grantee_roles: BTreeMap<String, String> = input
        .roles
        .iter()
        .zip(&keys.roles)
        .enumerate()
        .filter(|(i, (r, _))| {
            !choices.no_grants_to.contains(i) && r.live.inline.contains_key(GRANTS_POLICY_NAME)
        })
        .map(|(_, (r, k))| (r.live.arn.clone(), k.clone()))
        .collect();
    let mut names = grants::Names {
        accounts_in: accounts_in.clone(),
        roles: grantee_roles,
        ..Default::default()
    };

    // The most common bucket region becomes `settings.region`.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for b in &input.buckets {
        *counts.entry(&b.region).or_default() += 1;
    }
    let region = input
        .buckets
        .iter()
        .map(|b| b.region.as_str())
        .fold(None::<&str>, |best, r| match best {
            Some(b) if counts[b] >= counts[r] => Some(b),
            _ => Some(r),
        })
        .map(str::to_string);

    let mut buckets = Vec::new();
    for (i, (b, key)) in input.buckets.iter().zip(&keys.buckets).enumerate() {
        buckets.push(bucket(
            b,
            key,
            (&keys.accounts[b.account], &input.accounts[b.account].id),
            &input.plan_name,
            region.as_deref(),
            &mut names,
            choices.all_extras.contains(&i),
        ));
    }

    let mut roles = Vec::new();
    for (i, (r, key)) in input.roles.iter().zip(&keys.roles).enumerate() {
        let trust_names = trust::TrustNames {
            role_account: &input.accounts[r.account].id,
            accounts: &accounts_in,
            roles: &all_roles,
        };
        roles.push(role(
            r,
            key,
            &keys.accounts[r.account],
            &trust_names,
            choices.raw_trust.contains(&i),
        ));
    }

    let key_names = super::kms::key_names(input, &keys.buckets);
    for (b, out) in input.buckets.iter().zip(buckets.iter_mut()) {
        let (e, why) = super::kms::encryption(input, b, &key_names, &choices.outside_keys);
        out.encryption = e;
        out.encryption_comment = why;
    }

    // Only what a grant names.
    let used: BTreeSet<&str> = buckets
        .iter()
        .flat_map(|b| b.grants.iter().map(|g| g.to.as_str()))
        .collect();
    let named = |kind: &str, keys: BTreeMap<String, String>| -> BTreeMap<String, String> {
        keys.into_iter()
            .filter(|(k, _)| used.contains(format!("{kind}.{k}").as_str()))
            .collect()
    };
    let principals = named("principal", names.principals);
    let other_accounts = named("account", names.accounts);
    Plan {
        name: input.plan_name.clone(),
        region: if buckets.is_empty() { None } else { region },
        accounts: input
            .accounts
            .iter()
            .zip(&keys.accounts)
            .map(|(a, key)| AccountOut {
                key: key.clone(),
                id: a.id.clone(),
                assume_role: a.assume_role.clone(),
                external_id: a.external_id.clone(),
            })
            .collect(),
        other_accounts,
        principals,
        roles,
        buckets,
        keys: super::kms::keys_out(input, &key_names, &choices.raw_keys),
        notes: Vec::new(),
    }
}
