//! Choosing the plan-file keys of the imported account, roles and buckets.
//!
//! Keys are part of the statement ids s3ward wrote (`s3wardReadRoleRayList` in a bucket
//! policy, `s3wardModelsReadList` in a role's `s3ward-grants`), so a key is taken from those
//! ids when they name the resource, else from its name. Keys are chosen once, before the
//! first build, and never change between verification rounds. Reads only the live state in
//! [`Input`]; decides nothing else.

use std::collections::BTreeMap;

use super::bucket::policy_statements;
use super::{Input, grants};
use crate::desired::{Access, GRANTS_POLICY_NAME, merge_sid_prefix, pascal};
use crate::names::account_root_arn;

/// Keys, chosen once.
pub(super) struct Keys {
    /// One per `Input::accounts`.
    pub(super) accounts: Vec<String>,
    pub(super) buckets: Vec<String>,
    pub(super) roles: Vec<String>,
}

impl Keys {
    /// The index in `Input::buckets` of the bucket with plan-file key `key`.
    pub(super) fn bucket(&self, key: &str) -> Option<usize> {
        self.buckets.iter().position(|b| b == key)
    }

    /// The index in `Input::roles` of the role with plan-file key `key`.
    pub(super) fn role(&self, key: &str) -> Option<usize> {
        self.roles.iter().position(|r| r == key)
    }
}

pub(super) fn choose_keys(input: &Input) -> Keys {
    // `--account-key` as given (`app::import` refuses one given twice); the others around them.
    let mut taken: Vec<String> = input
        .accounts
        .iter()
        .filter_map(|a| a.key.clone())
        .collect();
    let mut accounts: Vec<String> = Vec::new();
    for (i, a) in input.accounts.iter().enumerate() {
        let key = a.key.clone().unwrap_or_else(|| {
            let root = account_root_arn(&a.id);
            let key = pick_key(
                &default_account_key(i, &a.id),
                &grantee_words(input, &root, grants::Kind::Account),
            );
            let key = unique_key(key, &taken);
            taken.push(key.clone());
            key
        });
        accounts.push(key);
    }

    let mut roles = Vec::new();
    for r in &input.roles {
        let words = grantee_words(input, &r.live.arn, grants::Kind::Role);
        roles.push(unique_key(
            pick_key(&key_from_name(&r.name), &words),
            &roles,
        ));
    }

    let mut buckets = Vec::new();
    for b in &input.buckets {
        let words = bucket_words(input, &b.name);
        buckets.push(unique_key(
            pick_key(&key_from_name(&b.name), &words),
            &buckets,
        ));
    }
    Keys {
        accounts,
        buckets,
        roles,
    }
}

/// An account's key when neither `--account-key` nor s3ward's Sids name one: `main` for the
/// first account, as when import took one, and `account-` + the last four digits of the id
/// for the others (`account-2222`): short, stable from run to run, and telling which account
/// it is without a lookup.
pub(super) fn default_account_key(index: usize, id: &str) -> String {
    if index == 0 {
        "main".into()
    } else {
        format!("account-{}", &id[id.len().saturating_sub(4)..])
    }
}

/// The words that name a grantee of `kind` in the Sids of the bucket-policy statements
/// whose one principal is `principal_arn`, each with how often: a reading as the first
/// grant with its access to the grantee (`n == 1`) counts twice.
fn grantee_words(input: &Input, principal_arn: &str, kind: grants::Kind) -> BTreeMap<String, u32> {
    let mut words: BTreeMap<String, u32> = BTreeMap::new();
    for st in input
        .buckets
        .iter()
        .flat_map(|b| policy_statements(&b.live))
    {
        let Some((stem, _)) = st.sid().and_then(grants::split_part) else {
            continue;
        };
        if grants::single_principal(st).as_deref() != Some(principal_arn) {
            continue;
        }
        // Authoritative Sids (`s3wardRead…`), or this plan's in `merge` mode.
        let merge = merge_sid_prefix(&input.plan_name);
        let readings = grants::parse_stem(stem)
            .into_iter()
            .chain(grants::parse_stem_after(&merge, stem));
        for n in readings {
            if n.kind == kind {
                *words.entry(n.word).or_default() += if n.n == 1 { 2 } else { 1 };
            }
        }
    }
    words
}

/// The bucket words in the Sids of the roles' `s3ward-grants` statements on `bucket_name`
/// (the bucket or its objects), each with how often.
fn bucket_words(input: &Input, bucket_name: &str) -> BTreeMap<String, u32> {
    let arn = format!("arn:aws:s3:::{bucket_name}");
    let mut words: BTreeMap<String, u32> = BTreeMap::new();
    for r in &input.roles {
        let Some(Ok(doc)) = r.live.inline.get(GRANTS_POLICY_NAME).map(|d| &d.doc) else {
            continue;
        };
        for st in &doc.statements {
            let on_bucket = st
                .resource
                .iter()
                .flatten()
                .any(|res| *res == arn || res.starts_with(&format!("{arn}/")));
            if !on_bucket {
                continue;
            }
            for w in st.sid().map(identity_sid_words).unwrap_or_default() {
                *words.entry(w).or_default() += 1;
            }
        }
    }
    words
}

/// The bucket words a Sid of a role's `s3ward-grants` may hold:
/// `s3ward<BucketKey><Access><Part><N?>`.
pub(super) fn identity_sid_words(sid: &str) -> Vec<String> {
    let Some(rest) = sid.strip_prefix("s3ward") else {
        return Vec::new();
    };
    let rest = rest.trim_end_matches(|c: char| c.is_ascii_digit());
    let Some((stem, _)) = grants::split_part(rest) else {
        return Vec::new();
    };
    Access::ALL
        .iter()
        .filter_map(|a| stem.strip_suffix(pascal(a.as_str()).as_str()))
        .filter(|w| grants::is_word(w))
        .map(str::to_string)
        .collect()
}

/// The key from the name when the Sids agree with it (or say nothing), else the key the
/// Sids name most.
pub(super) fn pick_key(from_name: &str, words: &BTreeMap<String, u32>) -> String {
    if words.is_empty() || words.contains_key(&pascal(from_name)) {
        return from_name.to_string();
    }
    let best = words
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.len().cmp(&a.0.len())))
        .map(|(w, _)| w.clone())
        .expect("not empty");
    grants::key_for_word(&best)
}

/// A plan-file key from a bucket or role name: letters, digits, `-` and `_`.
pub(super) fn key_from_name(name: &str) -> String {
    let k: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if k.is_empty() { "imported".into() } else { k }
}

fn unique_key(key: String, taken: &[String]) -> String {
    if !taken.contains(&key) {
        return key;
    }
    (2..)
        .map(|n| format!("{key}-{n}"))
        .find(|k| !taken.contains(k))
        .expect("some number is free")
}
