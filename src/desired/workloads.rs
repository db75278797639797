//! Workloads: what runs in the cluster, the role its pods get, and the model directories it
//! mounts (`[workloads.KEY]`). Resolved here as plain data, with the two questions
//! `validate` asks of each one, answered from the plan file alone:
//!
//! - does the role's trust let this namespace and service account in ([`how_pods_assume`]):
//!   an IRSA statement (`Federated` OIDC provider, `sts:AssumeRoleWithWebIdentity`, its
//!   `:sub` naming `system:serviceaccount:NS:SA`) or an EKS Pod Identity statement
//!   (`pods.eks.amazonaws.com`, session tags naming the namespace and service account);
//! - do the role's grants cover a volume ([`volume_access`]).
//!
//! Both read the resolved documents and grants directly, so a raw `trust_policy` counts as
//! much as typed entries. They are deliberately narrow (Allow statements, the operators
//! the shapes above use): the general access evaluator answers the open questions.

use serde_json::Value;

use super::{Access, Bucket, Grantee, Role};
use crate::policy::{Effect, PolicyDocument, Principal, Statement};

/// A `[workloads.KEY]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    pub key: String,
    /// A `[roles]` key.
    pub role: String,
    pub namespace: String,
    pub service_account: String,
    pub volumes: Vec<Volume>,
}

/// A `[[workloads.KEY.volumes]]` entry: one PersistentVolume and its claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volume {
    /// A `[buckets]` key.
    pub bucket: String,
    /// The directory mounted, ending in `/`; `None` mounts the whole bucket.
    pub prefix: Option<String>,
    pub read_only: bool,
    /// The PersistentVolumeClaim's name.
    pub claim: String,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// How pods of a service account get a role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PodAccess {
    /// IAM roles for service accounts: the ServiceAccount carries the role's ARN.
    Irsa,
    /// EKS Pod Identity: an association in the cluster names the role.
    PodIdentity,
}

/// The ways the role's trust lets pods of `namespace`/`service_account` assume it.
pub fn how_pods_assume(trust: &PolicyDocument, namespace: &str, sa: &str) -> Vec<PodAccess> {
    let subject = format!("system:serviceaccount:{namespace}:{sa}");
    let mut out: Vec<PodAccess> = trust
        .statements
        .iter()
        .filter(|s| s.effect == Effect::Allow)
        .filter_map(|s| {
            if principal_has(s, "Federated", |_| true)
                && has_action(s, "sts:AssumeRoleWithWebIdentity")
                && condition_admits(s, |k| k.ends_with(":sub"), &subject, true)
            {
                Some(PodAccess::Irsa)
            } else if principal_has(s, "Service", |v| v == "pods.eks.amazonaws.com")
                && has_action(s, "sts:AssumeRole")
                && has_action(s, "sts:TagSession")
                && condition_admits(
                    s,
                    |k| k.eq_ignore_ascii_case("aws:RequestTag/kubernetes-namespace"),
                    namespace,
                    true,
                )
                && condition_admits(
                    s,
                    |k| k.eq_ignore_ascii_case("aws:RequestTag/kubernetes-service-account"),
                    sa,
                    true,
                )
            {
                Some(PodAccess::PodIdentity)
            } else {
                None
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// An IRSA `:sub` condition that holds a wildcard under `StringEquals`, where `*` is a
/// literal character and never matches (a common mistake): the value, for the hint.
pub fn literal_wildcard_sub(trust: &PolicyDocument) -> Option<String> {
    trust.statements.iter().find_map(|s| {
        let ops = s.condition.as_ref()?;
        ops.iter()
            .filter(|(op, _)| op.as_str() == "StringEquals")
            .flat_map(|(_, keys)| keys.iter())
            .filter(|(k, _)| k.ends_with(":sub"))
            .flat_map(|(_, vs)| vs.iter())
            .filter_map(Value::as_str)
            .find(|v| v.contains('*'))
            .map(str::to_string)
    })
}

fn principal_has(s: &Statement, kind: &str, pred: impl Fn(&str) -> bool) -> bool {
    match &s.principal {
        Some(Principal::Map(m)) => m.get(kind).is_some_and(|vs| vs.iter().any(|v| pred(v))),
        _ => false,
    }
}

fn has_action(s: &Statement, action: &str) -> bool {
    s.action.as_ref().is_some_and(|a| {
        a.iter()
            .any(|x| x == "*" || x.eq_ignore_ascii_case(action) || x.eq_ignore_ascii_case("sts:*"))
    })
}

/// Whether the statement's conditions on keys matching `key` admit `value`: some
/// `StringEquals` value equal to it or some `StringLike` pattern matching it. With
/// `required`, a statement with no such condition does not admit it (it names no one).
fn condition_admits(
    s: &Statement,
    key: impl Fn(&str) -> bool,
    value: &str,
    required: bool,
) -> bool {
    let mut seen = false;
    for (op, keys) in s.condition.iter().flatten() {
        for (k, vs) in keys {
            if !key(k) {
                continue;
            }
            seen = true;
            let strs = vs.iter().filter_map(Value::as_str);
            let ok = match op.as_str() {
                "StringEquals" => strs.into_iter().any(|v| v == value),
                "StringLike" => strs.into_iter().any(|p| glob(p, value)),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
    }
    seen || !required
}

/// IAM's `StringLike`: `*` any run of characters, `?` one character.
fn glob(pattern: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), s.chars().collect());
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// What the role's grants on `bucket` allow under the volume's prefix: (read, write).
pub fn volume_access(role: &Role, bucket: &Bucket, volume: &Volume) -> (bool, bool) {
    let mut read = false;
    let mut write = false;
    for g in &bucket.grants {
        if g.grantee != Grantee::Role(role.key.clone()) {
            continue;
        }
        let covers = g.prefixes.is_empty()
            || volume
                .prefix
                .as_deref()
                .is_some_and(|p| g.prefixes.iter().any(|gp| p.starts_with(gp.as_str())));
        if !covers {
            continue;
        }
        match g.access {
            Access::List => {}
            Access::Read => read = true,
            Access::Write => write = true,
            Access::ReadWrite | Access::Full => {
                read = true;
                write = true;
            }
        }
    }
    (read, write)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(json: &str) -> PolicyDocument {
        PolicyDocument::parse(json).unwrap()
    }

    const IRSA: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Principal":{"Federated":"arn:aws:iam::222222222222:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/A"},
        "Action":"sts:AssumeRoleWithWebIdentity",
        "Condition":{"StringEquals":{"oidc.eks.us-east-1.amazonaws.com/id/A:sub":"system:serviceaccount:ml:inference",
                                     "oidc.eks.us-east-1.amazonaws.com/id/A:aud":"sts.amazonaws.com"}}}]}"#;

    #[test]
    fn irsa_names_exactly_one_service_account() {
        let d = doc(IRSA);
        assert_eq!(how_pods_assume(&d, "ml", "inference"), [PodAccess::Irsa]);
        assert_eq!(how_pods_assume(&d, "ml", "other"), []);
        assert_eq!(how_pods_assume(&d, "default", "inference"), []);
        assert_eq!(literal_wildcard_sub(&d), None);
        let wild = doc(&IRSA.replace("ml:inference", "ml:*"));
        assert_eq!(how_pods_assume(&wild, "ml", "inference"), []);
        assert_eq!(
            literal_wildcard_sub(&wild).as_deref(),
            Some("system:serviceaccount:ml:*")
        );
        let like = doc(&IRSA
            .replace("StringEquals", "StringLike")
            .replace("ml:inference", "ml:*"));
        assert_eq!(how_pods_assume(&like, "ml", "inference"), [PodAccess::Irsa]);
    }

    #[test]
    fn pod_identity_needs_its_session_tags() {
        let d = doc(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
            "Principal":{"Service":"pods.eks.amazonaws.com"},
            "Action":["sts:AssumeRole","sts:TagSession"],
            "Condition":{"StringEquals":{"aws:RequestTag/kubernetes-namespace":"ml",
                "aws:RequestTag/kubernetes-service-account":"inference"}}}]}"#);
        assert_eq!(
            how_pods_assume(&d, "ml", "inference"),
            [PodAccess::PodIdentity]
        );
        assert_eq!(how_pods_assume(&d, "ml", "batch"), []);
    }

    #[test]
    fn globs_match_as_iam_does() {
        assert!(glob("a*c", "abbbc"));
        assert!(glob("a?c", "abc"));
        assert!(glob("*", ""));
        assert!(!glob("a*d", "abc"));
        assert!(!glob("abc", "abcd"));
    }
}
