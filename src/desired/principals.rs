//! The principals that grants and trust entries name, and which of them `plan` reads to
//! know they exist: roles and users written as ARNs (in place or in `[principals]`), except
//! the roles this plan file manages (read with their own settings, or created by this run)
//! and account roots (an account always exists). Principals in raw documents
//! (`trust_policy`, `extra_policy_statements`) are not followed: their text is the user's.
//! Also [`Place`]: where in the plan file, for problems found once connected (the change
//! set carries it, so it lives below `change`, not in `plan_file`).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Desired;
use crate::names::parse_iam_arn;

/// What names a principal: the bucket policy of a grant, or the trust of a role (by key).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NamedBy {
    BucketPolicy(String),
    RoleTrust(String),
}

/// One principal as a grant's `to` or a trust entry's `arn` names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedPrincipal {
    pub arn: String,
    pub by: NamedBy,
    /// Where in the plan file (the grant's `to`, the trust entry's `arn`).
    pub span: Option<Range<usize>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrincipalKind {
    Role,
    User,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Role => "role",
            PrincipalKind::User => "user",
        }
    }
}

/// A role or user to read (`iam:GetRole` / `iam:GetUser` by name; the path is compared).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PrincipalToRead {
    pub arn: String,
    pub account_id: String,
    pub kind: PrincipalKind,
    pub name: String,
    /// `/` or `/a/b/`.
    pub path: String,
}

impl PrincipalToRead {
    /// A role or user ARN; `None` for account roots, assumed-role sessions and the like.
    pub fn of(arn: &str) -> Option<PrincipalToRead> {
        let (account_id, kind, path_name) = parse_iam_arn(arn)?;
        let kind = match kind.as_str() {
            "role" => PrincipalKind::Role,
            "user" => PrincipalKind::User,
            _ => return None,
        };
        let (path, name) = match path_name.rsplit_once('/') {
            Some((p, n)) => (format!("/{p}/"), n.to_string()),
            None => ("/".to_string(), path_name),
        };
        Some(PrincipalToRead {
            arn: arn.to_string(),
            account_id,
            kind,
            name,
            path,
        })
    }
}

impl Desired {
    /// Whether `p` is a role of this plan file (read, or created, as a managed resource).
    pub fn manages(&self, p: &PrincipalToRead) -> bool {
        p.kind == PrincipalKind::Role
            && self
                .roles
                .values()
                .any(|r| r.account_id == p.account_id && r.name == p.name)
    }

    /// What `named` needs read, once each: roles and users this plan does not manage.
    pub fn principals_to_read<'a>(
        &self,
        named: impl IntoIterator<Item = &'a NamedPrincipal>,
    ) -> Vec<PrincipalToRead> {
        let mut out: Vec<PrincipalToRead> = named
            .into_iter()
            .filter_map(|n| PrincipalToRead::of(&n.arn))
            .filter(|p| !self.manages(p))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// A place in the plan file, for problems found after it resolved (a missing principal):
/// `path:line:column`, 1-based, columns in characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl Place {
    /// The place of byte `offset` of `text`, read from `path` (as the user gave it).
    pub fn at(path: &Path, text: &str, offset: usize) -> Place {
        let (line, column) = line_col(text, offset);
        Place {
            file: path.display().to_string(),
            line,
            column,
        }
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..offset].chars().count() + 1;
    (line, col)
}

/// The fewest roles read in one account for which `plan` lists the account's roles whole with
/// IAM's GetAccountAuthorizationDetails instead of reading them one by one
/// (`live/iam_bulk.rs` says why, by counting calls).
pub const BULK_MIN_ROLES: usize = 10;

/// The accounts to list whole: those where `roles` holds at least [`BULK_MIN_ROLES`]
/// distinct names (IAM role names are unique regardless of case). `roles` is (account,
/// role name) of every role read: the plan's own and the ones grants and trust entries name.
pub fn accounts_to_list<'a>(roles: impl Iterator<Item = (&'a str, &'a str)>) -> BTreeSet<String> {
    let mut per_account: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (account, name) in roles {
        per_account
            .entry(account)
            .or_default()
            .insert(name.to_ascii_lowercase());
    }
    per_account
        .into_iter()
        .filter(|(_, names)| names.len() >= BULK_MIN_ROLES)
        .map(|(account, _)| account.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_and_user_arns_are_read_with_their_path() {
        let p = PrincipalToRead::of("arn:aws:iam::222222222222:role/ml/ray-cluster-nodes").unwrap();
        assert_eq!(p.kind, PrincipalKind::Role);
        assert_eq!(p.name, "ray-cluster-nodes");
        assert_eq!(p.path, "/ml/");
        assert_eq!(p.account_id, "222222222222");
        let u = PrincipalToRead::of("arn:aws:iam::222222222222:user/alice").unwrap();
        assert_eq!(
            (u.kind, u.name.as_str(), u.path.as_str()),
            (PrincipalKind::User, "alice", "/")
        );
        assert_eq!(PrincipalToRead::of("arn:aws:iam::222222222222:root"), None);
        assert_eq!(PrincipalToRead::of("*"), None);
    }
}

#[cfg(test)]
mod bulk_tests {
    use super::*;

    #[test]
    fn an_account_is_listed_from_ten_distinct_roles() {
        let nine: Vec<(String, String)> = (0..9)
            .map(|i| ("compute".to_string(), format!("role-{i}")))
            .collect();
        let pairs = |v: &[(String, String)]| -> BTreeSet<String> {
            accounts_to_list(v.iter().map(|(a, n)| (a.as_str(), n.as_str())))
        };
        assert!(pairs(&nine).is_empty(), "nine roles are read one by one");
        let mut ten = nine.clone();
        ten.push(("compute".into(), "role-9".into()));
        assert_eq!(pairs(&ten), BTreeSet::from(["compute".to_string()]));
        // The same role named twice (a plan role that a grant names too, or in another
        // case) counts once.
        let mut dup = nine.clone();
        dup.push(("compute".into(), "ROLE-0".into()));
        assert!(pairs(&dup).is_empty());
        // Per account.
        let mut split = nine;
        split.push(("storage".into(), "role-9".into()));
        assert!(pairs(&split).is_empty());
    }
}
