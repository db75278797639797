//! Recognising grants in a live bucket policy.
//!
//! s3ward names the statements a grant writes `s3ward<Access><Grantee><N?><Part>` (see
//! `docs/decisions.md`). Import groups a policy's statements by that name without the part,
//! reads the access, the grantee kind and key, the principal and the prefixes from the group,
//! builds the [`Grant`] the resolver would build, and keeps the group as a grant only when
//! [`Grant::bucket_statements`] writes exactly the live statements again. Anything else (a
//! hand-edited statement, a Sid that only looks like s3ward's, a grantee that cannot be named
//! the same way) stays verbatim in `extra_policy_statements`: a grant that changed the policy
//! would defeat the purpose of importing.
//!
//! Names in Sids are keys in PascalCase, so a key is recovered as kebab-case
//! ([`key_for_word`]): `RayCluster` → `ray-cluster`, whose PascalCase is `RayCluster` again.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use super::model::GrantOut;
use crate::desired::{Access, Bucket, Grant, Grantee, pascal};
use crate::names::parse_iam_arn;
use crate::policy::Statement;
use crate::policy::canonical::{CanonicalStatement, canonical_principal};

/// The grantee kind a Sid names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Role,
    Principal,
    Account,
    Arn,
    Public,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Role,
        Kind::Principal,
        Kind::Account,
        Kind::Arn,
        Kind::Public,
    ];

    fn word(self) -> &'static str {
        match self {
            Kind::Role => "Role",
            Kind::Principal => "Principal",
            Kind::Account => "Account",
            Kind::Arn => "Arn",
            Kind::Public => "Public",
        }
    }
}

/// One reading of a grant's Sid stem (the Sid without its part).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SidName {
    /// `s3ward`, or a plan's `merge` prefix (`s3wardmlmodels`).
    pub prefix: String,
    pub access: Access,
    pub kind: Kind,
    /// The key in PascalCase; for `Arn`, 8 hex digits; for `Public`, empty.
    pub word: String,
    /// 1 for the first grant with this access to this grantee, then 2, 3, …
    pub n: u32,
}

impl SidName {
    /// The stem without the number: grants sharing it are numbered in plan-file order.
    pub fn base(&self) -> String {
        format!(
            "{}{}{}{}",
            self.prefix,
            pascal(self.access.as_str()),
            self.kind.word(),
            self.word
        )
    }
}

/// The parts of a grant, each its own statement.
pub const PARTS: [&str; 4] = ["List", "Bucket", "Put", "Objects"];

/// `s3wardReadRoleRayList` → (`s3wardReadRoleRay`, `List`).
pub fn split_part(sid: &str) -> Option<(&str, &str)> {
    PARTS
        .iter()
        .find_map(|p| sid.strip_suffix(p).map(|stem| (stem, *p)))
}

/// A grant number as s3ward writes it: 2 or more, no leading zero.
fn number(s: &str) -> Option<u32> {
    if s.is_empty() || s.starts_with('0') || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|n| *n >= 2)
}

/// A key in PascalCase, as `desired::pascal` writes it.
pub fn is_word(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_alphanumeric())
}

/// Every reading of a stem. A key that ends in digits makes the number ambiguous
/// (`Model2` is key `model2`, or the second grant to key `model`): all readings are returned,
/// the unnumbered first.
pub fn parse_stem(stem: &str) -> Vec<SidName> {
    parse_stem_after("s3ward", stem)
}

/// [`parse_stem`] for statements under another Sid prefix (a plan's in `merge` mode,
/// `s3wardmlmodels`).
pub fn parse_stem_after(prefix: &str, stem: &str) -> Vec<SidName> {
    let Some(rest) = stem.strip_prefix(prefix) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for access in Access::ALL {
        let Some(rest) = rest.strip_prefix(pascal(access.as_str()).as_str()) else {
            continue;
        };
        for kind in Kind::ALL {
            let Some(tail) = rest.strip_prefix(kind.word()) else {
                continue;
            };
            let mut push = |word: &str, n: u32| {
                out.push(SidName {
                    prefix: prefix.to_string(),
                    access,
                    kind,
                    word: word.to_string(),
                    n,
                })
            };
            match kind {
                Kind::Public => {
                    if tail.is_empty() {
                        push("", 1);
                    } else if let Some(n) = number(tail) {
                        push("", n);
                    }
                }
                Kind::Arn => {
                    let hex8 = tail.get(..8).filter(|h| {
                        h.bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                    });
                    if let Some(h) = hex8 {
                        let rest = &tail[8..];
                        if rest.is_empty() {
                            push(h, 1);
                        } else if let Some(n) = number(rest) {
                            push(h, n);
                        }
                    }
                }
                Kind::Role | Kind::Principal | Kind::Account => {
                    if is_word(tail) {
                        push(tail, 1);
                    }
                    for (i, _) in tail.char_indices().skip(1) {
                        if let Some(n) = number(&tail[i..])
                            && is_word(&tail[..i])
                        {
                            push(&tail[..i], n);
                        }
                    }
                }
            }
        }
    }
    out
}

/// The key whose PascalCase is `word`: `RayCluster` → `ray-cluster`.
pub fn key_for_word(word: &str) -> String {
    let mut out = String::new();
    for (i, c) in word.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The single AWS principal of a statement (`*` included), canonical.
pub fn single_principal(st: &Statement) -> Option<String> {
    if st.not_principal.is_some() {
        return None;
    }
    let p = canonical_principal(st.principal.as_ref()?);
    if p.len() != 1 {
        return None;
    }
    let values = p.get("AWS")?;
    if values.len() != 1 {
        return None;
    }
    values.iter().next().cloned()
}

/// The names import is choosing, shared by every bucket (principals and other accounts grow
/// as grants need them).
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// The imported accounts: id → key.
    pub accounts_in: BTreeMap<String, String>,
    /// Imported roles that may be grantees: ARN → key.
    pub roles: BTreeMap<String, String>,
    /// `[principals.KEY]`: key → ARN.
    pub principals: BTreeMap<String, String>,
    /// Other `[accounts.KEY]`: key → id.
    pub accounts: BTreeMap<String, String>,
}

/// What became of one bucket's policy statements.
#[derive(Clone, Debug, Default)]
pub struct Matched {
    pub grants: Vec<GrantOut>,
    /// Live statements kept verbatim, in policy order.
    pub extras: Vec<Statement>,
    /// Stems of s3ward-named groups that did not become grants (for the comments).
    pub unmatched_stems: Vec<String>,
}

/// A group that regenerates: its reading, the plan-file grant, and the names it needs.
struct Candidate {
    name: SidName,
    /// Where the group starts in the live policy: grants keep the policy's order.
    first: usize,
    out: GrantOut,
    principal: Option<(String, String)>,
    account: Option<(String, String)>,
}

/// Splits a bucket's live statements into grants and extras. `bucket` is the bucket as the
/// plan file will declare it (its ownership decides the `s3:x-amz-acl` condition); `demoted`
/// are stems that must stay extras (decided by an earlier, failed verification).
pub fn match_bucket(
    bucket: &Bucket,
    statements: &[Statement],
    names: &mut Names,
    demoted: &BTreeSet<String>,
) -> Matched {
    // Group by stem, keeping the first position of each group.
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut taken = vec![false; statements.len()];
    for (i, st) in statements.iter().enumerate() {
        let Some((stem, _)) = st.sid().and_then(split_part) else {
            continue;
        };
        if parse_stem_after(&bucket.sid_prefix, stem).is_empty() {
            continue;
        }
        if !groups.contains_key(stem) {
            order.push(stem.to_string());
        }
        groups.entry(stem.to_string()).or_default().push(i);
    }
    let mut matched: Vec<Candidate> = Vec::new();
    let mut unmatched_stems = Vec::new();
    for stem in &order {
        let idx = &groups[stem];
        let group: Vec<&Statement> = idx.iter().map(|i| &statements[*i]).collect();
        let found = if demoted.contains(stem) {
            None
        } else {
            parse_stem_after(&bucket.sid_prefix, stem)
                .into_iter()
                .find_map(|name| candidate(bucket, stem, name, &group, names))
                .map(|c| Candidate { first: idx[0], ..c })
        };
        match found {
            Some(c) => {
                if let Some((k, arn)) = &c.principal {
                    names.principals.insert(k.clone(), arn.clone());
                }
                if let Some((k, id)) = &c.account {
                    names.accounts.insert(k.clone(), id.clone());
                }
                matched.push(c);
            }
            None => unmatched_stems.push(stem.clone()),
        }
    }
    // The resolver numbers grants with the same base 1, 2, 3… in file order: only a run
    // starting at 1 can be written back; the rest stay extras.
    let mut by_base: BTreeMap<String, BTreeMap<u32, Candidate>> = BTreeMap::new();
    for c in matched {
        by_base
            .entry(c.name.base())
            .or_default()
            .insert(c.name.n, c);
    }
    let mut runs: Vec<(usize, Vec<GrantOut>)> = Vec::new();
    let mut kept_stems: BTreeSet<String> = BTreeSet::new();
    for (base, numbered) in by_base {
        let mut run = Vec::new();
        let mut first = usize::MAX;
        for (n, c) in numbered {
            let stem = if n == 1 {
                base.clone()
            } else {
                format!("{base}{n}")
            };
            if n == run.len() as u32 + 1 {
                first = first.min(c.first);
                kept_stems.insert(stem);
                run.push(c.out);
            } else {
                unmatched_stems.push(stem);
            }
        }
        runs.push((first, run));
    }
    runs.sort_by_key(|(first, _)| *first);
    let grants = runs.into_iter().flat_map(|(_, run)| run).collect();
    for (stem, idx) in &groups {
        if kept_stems.contains(stem) {
            for i in idx {
                taken[*i] = true;
            }
        }
    }
    let extras = statements
        .iter()
        .zip(&taken)
        .filter(|(_, t)| !**t)
        .map(|(s, _)| s.clone())
        .collect();
    unmatched_stems.sort();
    Matched {
        grants,
        extras,
        unmatched_stems,
    }
}

/// The prefixes of a group: from the object resources, else the `s3:prefix` condition of
/// the List part. `None` when they are not what a grant writes.
fn prefixes(bucket_arn: &str, group: &[&Statement]) -> Option<Vec<String>> {
    let object_part = group.iter().find(|s| {
        s.sid()
            .and_then(split_part)
            .is_some_and(|(_, p)| p == "Objects" || p == "Put")
    });
    if let Some(st) = object_part {
        let resources = st.resource.as_ref()?;
        if resources.len() == 1 && resources[0] == format!("{bucket_arn}/*") {
            return Some(Vec::new());
        }
        return resources
            .iter()
            .map(|r| {
                r.strip_prefix(&format!("{bucket_arn}/"))?
                    .strip_suffix('*')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
            })
            .collect();
    }
    let list = group.iter().find(|s| {
        s.sid()
            .and_then(split_part)
            .is_some_and(|(_, p)| p == "List")
    })?;
    let Some(cond) = &list.condition else {
        return Some(Vec::new());
    };
    let values = cond
        .get("StringLike")?
        .iter()
        .find_map(|(k, v)| k.eq_ignore_ascii_case("s3:prefix").then_some(v))?;
    values
        .iter()
        .map(|v| {
            v.as_str()?
                .strip_suffix('*')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
        })
        .collect()
}

fn candidate(
    bucket: &Bucket,
    stem: &str,
    name: SidName,
    group: &[&Statement],
    names: &Names,
) -> Option<Candidate> {
    let principals: BTreeSet<Option<String>> = group.iter().map(|s| single_principal(s)).collect();
    if principals.len() != 1 {
        return None;
    }
    let principal = principals.into_iter().next().flatten()?;
    let prefixes = prefixes(&bucket.arn(), group)?;
    let mut new_principal = None;
    let mut new_account = None;
    let (grantee, to) = match name.kind {
        Kind::Role => {
            let key = names.roles.get(&principal)?;
            if pascal(key) != name.word {
                return None;
            }
            (Grantee::Role(key.clone()), format!("role.{key}"))
        }
        Kind::Principal => {
            parse_iam_arn(&principal)?;
            let key = key_for_word(&name.word);
            if names.principals.get(&key).is_some_and(|a| *a != principal) {
                return None;
            }
            new_principal = Some((key.clone(), principal.clone()));
            (Grantee::Principal(key.clone()), format!("principal.{key}"))
        }
        Kind::Account => {
            let (id, kind, _) = parse_iam_arn(&principal)?;
            if kind != "root" {
                return None;
            }
            let key = if let Some(key) = names.accounts_in.get(&id) {
                if pascal(key) != name.word {
                    return None;
                }
                key.clone()
            } else {
                let key = key_for_word(&name.word);
                if names.accounts_in.values().any(|k| *k == key)
                    || names.accounts.get(&key).is_some_and(|i| *i != id)
                {
                    return None;
                }
                new_account = Some((key.clone(), id));
                key
            };
            (Grantee::Account(key.clone()), format!("account.{key}"))
        }
        Kind::Arn => {
            parse_iam_arn(&principal)?;
            let digest = hex::encode(Sha256::digest(principal.as_bytes()));
            if digest[..8] != name.word {
                return None;
            }
            (Grantee::Arn, principal.clone())
        }
        Kind::Public => {
            // The resolver refuses a public grant unless the bucket allows public policies.
            let allowed = bucket
                .public_access_block
                .is_some_and(|b| b.allows_public_policy());
            if principal != "*" || !allowed {
                return None;
            }
            (Grantee::Anyone, "*".to_string())
        }
    };
    let grant = Grant {
        grantee,
        principal_account: parse_iam_arn(&principal).map(|(a, _, _)| a),
        principal,
        access: name.access,
        prefixes: prefixes.clone(),
        sid: stem.to_string(),
    };
    let want: BTreeSet<CanonicalStatement> = grant
        .bucket_statements(bucket)
        .iter()
        .map(CanonicalStatement::of)
        .collect();
    let have: BTreeSet<CanonicalStatement> =
        group.iter().map(|s| CanonicalStatement::of(s)).collect();
    if want != have || group.len() != want.len() {
        return None;
    }
    Some(Candidate {
        first: 0,
        out: GrantOut {
            to,
            access: name.access,
            prefixes,
            public: name.kind == Kind::Public,
        },
        name,
        principal: new_principal,
        account: new_account,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_parse_every_way_they_can() {
        let p = parse_stem("s3wardReadRoleRayCluster");
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].access, p[0].kind, p[0].word.as_str(), p[0].n),
            (Access::Read, Kind::Role, "RayCluster", 1)
        );
        // ReadWrite is not Read + "Write…" (no kind starts with Write).
        let p = parse_stem("s3wardReadWritePrincipalVendor3");
        assert_eq!(
            p.iter()
                .map(|s| (s.access, s.word.as_str(), s.n))
                .collect::<Vec<_>>(),
            vec![
                (Access::ReadWrite, "Vendor3", 1),
                (Access::ReadWrite, "Vendor", 3)
            ]
        );
        let p = parse_stem("s3wardFullArn0a1b2c3d2");
        assert_eq!((p[0].word.as_str(), p[0].n), ("0a1b2c3d", 2));
        let p = parse_stem("s3wardListPublic");
        assert_eq!((p[0].kind, p[0].n), (Kind::Public, 1));
        assert!(parse_stem("s3wardDenyInsecureTransport").is_empty());
        assert!(parse_stem("s3wardReadRole").is_empty());
        assert!(parse_stem("s3wardReadRolemodels").is_empty());
        // `02` is not a grant number; `2` is.
        let p = parse_stem("s3wardReadRoleX02");
        assert_eq!(
            p.iter().map(|s| (s.word.as_str(), s.n)).collect::<Vec<_>>(),
            vec![("X02", 1), ("X0", 2)]
        );
    }

    #[test]
    fn keys_come_back_from_words() {
        for key in [
            "ray-cluster",
            "inference",
            "llama2-reader",
            "a-b-c",
            "s3-reader",
        ] {
            assert_eq!(pascal(&key_for_word(&pascal(key))), pascal(key), "{key}");
        }
        assert_eq!(key_for_word("RayCluster"), "ray-cluster");
        assert_eq!(
            split_part("s3wardReadRoleXObjects"),
            Some(("s3wardReadRoleX", "Objects"))
        );
        assert_eq!(split_part("AllowAll"), None);
    }
}
