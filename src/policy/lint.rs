//! Judgements about policies that s3ward makes before AWS would: sizes, public grants,
//! statements that would lock the applying identity out, and principals that are IAM
//! unique ids (what AWS shows once the named identity was deleted).
//!
//! These are deliberately conservative: a check refuses only what it can prove. A condition
//! it cannot evaluate offline makes the self-lockout check answer "unknown", which callers
//! report as a warning rather than a refusal.

use super::canonical::normalize_aws_principal;
use super::document::{Effect, PolicyDocument, Principal, Statement};

/// AWS's limit on a bucket policy: 20 KB.
pub const BUCKET_POLICY_MAX_BYTES: usize = 20 * 1024;
/// IAM's limit on the aggregate size of a role's inline policies (characters, no whitespace).
pub const INLINE_POLICIES_MAX_CHARS: usize = 10_240;
/// IAM's default limit on a role trust policy (characters, no whitespace).
pub const TRUST_POLICY_MAX_CHARS: usize = 2_048;

/// The size IAM counts: the compact JSON without whitespace outside strings.
pub fn iam_size(doc: &PolicyDocument) -> usize {
    doc.to_json().chars().count()
}

/// The size S3 counts: bytes of the document as sent.
pub fn s3_size(doc: &PolicyDocument) -> usize {
    doc.to_json().len()
}

/// Condition keys that pin a `*` principal to something not public, following the keys AWS
/// lists in "The meaning of public" (S3 user guide).
const NON_PUBLIC_KEYS: &[&str] = &[
    "aws:sourceip",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:userid",
    "aws:principalorgpaths",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
];

fn principal_is_star(p: &Principal) -> bool {
    match p {
        Principal::Star => true,
        Principal::Map(m) => m.get("AWS").is_some_and(|v| v.iter().any(|x| x == "*")),
    }
}

/// Whether a statement makes a bucket public: an Allow to `*` that no condition narrows.
pub fn is_public_statement(st: &Statement) -> bool {
    if st.effect != Effect::Allow {
        return false;
    }
    let to_anyone =
        st.principal.as_ref().is_some_and(principal_is_star) || st.not_principal.is_some();
    if !to_anyone {
        return false;
    }
    let narrowed = st.condition.iter().flatten().any(|(_, keys)| {
        keys.keys()
            .any(|k| NON_PUBLIC_KEYS.contains(&k.to_ascii_lowercase().as_str()))
    });
    !narrowed
}

/// Principals in a policy that are IAM unique ids (`AROA…` roles, `AIDA…` users): AWS
/// replaces an ARN with the unique id once the identity behind it is deleted.
pub fn deleted_identities(doc: &PolicyDocument) -> Vec<String> {
    let mut out = Vec::new();
    for st in &doc.statements {
        for p in [&st.principal, &st.not_principal].into_iter().flatten() {
            if let Principal::Map(m) = p {
                for v in m.get("AWS").into_iter().flatten() {
                    if is_unique_id(v) && !out.contains(v) {
                        out.push(v.clone());
                    }
                }
            }
        }
    }
    out
}

/// `AROA…`/`AIDA…` followed by upper-case letters and digits (21 characters in all).
pub fn is_unique_id(v: &str) -> bool {
    (v.starts_with("AROA") || v.starts_with("AIDA"))
        && v.len() >= 16
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Three-valued answer for checks that may depend on facts not known offline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tri {
    Yes,
    No,
    Unknown,
}

impl Tri {
    fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Yes, Tri::Yes) => Tri::Yes,
            _ => Tri::Unknown,
        }
    }
    fn not(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            Tri::Unknown => Tri::Unknown,
        }
    }
    fn any(items: impl IntoIterator<Item = Tri>) -> Tri {
        let mut acc = Tri::No;
        for t in items {
            match t {
                Tri::Yes => return Tri::Yes,
                Tri::Unknown => acc = Tri::Unknown,
                Tri::No => {}
            }
        }
        acc
    }
}

/// Who applies: the account always (s3ward acts in the bucket's account), the ARNs when known
/// (at plan time, from STS: the assumed-role session ARN and the role ARN).
#[derive(Clone, Debug, Default)]
pub struct Identity {
    pub account: String,
    /// `arn:aws:sts::ACCT:assumed-role/NAME/SESSION` or `arn:aws:iam::ACCT:user/NAME`.
    pub arn: Option<String>,
    /// For an assumed role, `arn:aws:iam::ACCT:role/NAME` (path not known from STS).
    pub role_arn: Option<String>,
}

impl Identity {
    pub fn from_caller_arn(account: &str, arn: &str) -> Identity {
        let role_arn = arn
            .strip_prefix(&format!("arn:aws:sts::{account}:assumed-role/"))
            .and_then(|rest| rest.split('/').next())
            .map(|name| format!("arn:aws:iam::{account}:role/{name}"));
        Identity {
            account: account.to_string(),
            arn: Some(arn.to_string()),
            role_arn,
        }
    }

    fn arns(&self) -> Vec<&str> {
        self.arn
            .iter()
            .chain(self.role_arn.iter())
            .map(String::as_str)
            .collect()
    }
}

/// `*` and `?` wildcards, as IAM matches actions (case-insensitive) and ARNs.
pub fn wildcard_match(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if case_insensitive {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    // Iterative matcher with backtracking on the last `*`.
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn principal_matches(p: &Principal, who: &Identity) -> Tri {
    match p {
        Principal::Star => Tri::Yes,
        Principal::Map(m) => {
            let Some(values) = m.get("AWS") else {
                return Tri::No;
            };
            Tri::any(values.iter().map(|v| {
                let v = normalize_aws_principal(v);
                if v == "*" || v == format!("arn:aws:iam::{}:root", who.account) {
                    Tri::Yes
                } else if who.arn.is_none() {
                    // A specific role or user in the account: it may be the one applying.
                    if v.contains(&format!("::{}:", who.account)) {
                        Tri::Unknown
                    } else {
                        Tri::No
                    }
                } else if who.arns().iter().any(|a| *a == v) {
                    Tri::Yes
                } else {
                    Tri::No
                }
            }))
        }
    }
}

/// Evaluates the condition keys s3ward can know; anything else is `Unknown`.
fn condition_applies(st: &Statement, who: &Identity) -> Tri {
    let Some(cond) = &st.condition else {
        return Tri::Yes;
    };
    let mut result = Tri::Yes;
    for (op, keys) in cond {
        for (key, values) in keys {
            let values: Vec<String> = values
                .iter()
                .map(super::canonical::condition_value_text)
                .collect();
            let key = key.to_ascii_lowercase();
            let t = match (op.as_str(), key.as_str()) {
                // s3ward always calls AWS over TLS.
                ("Bool", "aws:securetransport") => Tri::any(values.iter().map(|v| {
                    if v.eq_ignore_ascii_case("true") {
                        Tri::Yes
                    } else {
                        Tri::No
                    }
                })),
                (op, "aws:principalaccount") => {
                    string_op(op, &values, &[who.account.as_str()], false)
                }
                (op, "aws:principalarn") => {
                    if who.arn.is_none() {
                        Tri::Unknown
                    } else {
                        string_op(op, &values, &who.arns(), false)
                    }
                }
                _ => Tri::Unknown,
            };
            result = result.and(t);
        }
    }
    result
}

fn string_op(op: &str, patterns: &[String], subjects: &[&str], ci: bool) -> Tri {
    let (negated, like) = match op {
        "StringEquals" | "ArnEquals" => (false, false),
        "StringLike" | "ArnLike" => (false, true),
        "StringNotEquals" | "ArnNotEquals" => (true, false),
        "StringNotLike" | "ArnNotLike" => (true, true),
        _ => return Tri::Unknown,
    };
    let hit = subjects.iter().any(|s| {
        patterns.iter().any(|p| {
            if like {
                wildcard_match(p, s, ci)
            } else {
                p == s
            }
        })
    });
    let t = if hit { Tri::Yes } else { Tri::No };
    if negated { t.not() } else { t }
}

/// Whether a statement denies `who` the action `action` on `resource`.
pub fn denies(st: &Statement, who: &Identity, action: &str, resource: &str) -> Tri {
    if st.effect != Effect::Deny {
        return Tri::No;
    }
    let action_hit = match (&st.action, &st.not_action) {
        (Some(list), _) => list.iter().any(|p| wildcard_match(p, action, true)),
        (None, Some(list)) => !list.iter().any(|p| wildcard_match(p, action, true)),
        (None, None) => false,
    };
    if !action_hit {
        return Tri::No;
    }
    let resource_hit = match (&st.resource, &st.not_resource) {
        (Some(list), _) => list.iter().any(|p| wildcard_match(p, resource, false)),
        (None, Some(list)) => !list.iter().any(|p| wildcard_match(p, resource, false)),
        (None, None) => true,
    };
    if !resource_hit {
        return Tri::No;
    }
    let principal = match (&st.principal, &st.not_principal) {
        (Some(p), _) => principal_matches(p, who),
        (None, Some(np)) => principal_matches(np, who).not(),
        // An identity policy statement applies to whoever holds it; a bucket policy needs one.
        (None, None) => Tri::Yes,
    };
    principal.and(condition_applies(st, who))
}

/// The actions s3ward needs on a bucket to keep managing its policy.
pub const SELF_LOCKOUT_ACTIONS: &[&str] = &["s3:PutBucketPolicy", "s3:GetBucketPolicy"];

/// Statements that would deny `who` the management of `bucket`'s policy, with the answer for
/// each (only `Yes` and `Unknown` are returned).
pub fn self_lockout<'a>(
    statements: &'a [Statement],
    who: &Identity,
    bucket: &str,
) -> Vec<(&'a Statement, &'static str, Tri)> {
    let arn = format!("arn:aws:s3:::{bucket}");
    let mut out = Vec::new();
    for st in statements {
        for action in SELF_LOCKOUT_ACTIONS {
            let t = denies(st, who, action, &arn);
            if t != Tri::No {
                out.push((st, *action, t));
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(json: &str) -> Statement {
        PolicyDocument::parse_statements(json).unwrap().remove(0)
    }

    fn who_offline() -> Identity {
        Identity {
            account: "111111111111".into(),
            ..Default::default()
        }
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("s3:*", "s3:PutBucketPolicy", true));
        assert!(wildcard_match("S3:put*policy", "s3:PutBucketPolicy", true));
        assert!(wildcard_match("*", "anything", false));
        assert!(wildcard_match(
            "arn:aws:s3:::b*",
            "arn:aws:s3:::bucket",
            false
        ));
        assert!(!wildcard_match("arn:aws:s3:::b/*", "arn:aws:s3:::b", false));
        assert!(wildcard_match("a?c", "abc", false));
        assert!(!wildcard_match("a?c", "ac", false));
    }

    #[test]
    fn unconditional_deny_to_everyone_locks_out() {
        let s =
            st(r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b"}"#);
        assert_eq!(
            denies(&s, &who_offline(), "s3:PutBucketPolicy", "arn:aws:s3:::b"),
            Tri::Yes
        );
        // Object-only resources do not touch the bucket.
        let s = st(
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}"#,
        );
        assert_eq!(
            denies(&s, &who_offline(), "s3:PutBucketPolicy", "arn:aws:s3:::b"),
            Tri::No
        );
    }

    #[test]
    fn tls_deny_does_not_lock_out() {
        let s = st(
            r#"{"Effect":"Deny","Principal":"*","Action":"*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
        );
        assert_eq!(
            denies(&s, &who_offline(), "s3:PutBucketPolicy", "arn:aws:s3:::b"),
            Tri::No
        );
    }

    #[test]
    fn principal_arn_exceptions_need_the_identity() {
        let s = st(
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:PutBucketPolicy","Resource":"arn:aws:s3:::b","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111111111111:role/admin*"}}}"#,
        );
        assert_eq!(
            denies(&s, &who_offline(), "s3:PutBucketPolicy", "arn:aws:s3:::b"),
            Tri::Unknown
        );
        let admin = Identity::from_caller_arn(
            "111111111111",
            "arn:aws:sts::111111111111:assumed-role/admin-s3ward/s3ward-plan",
        );
        assert_eq!(
            admin.role_arn.as_deref(),
            Some("arn:aws:iam::111111111111:role/admin-s3ward")
        );
        assert_eq!(
            denies(&s, &admin, "s3:PutBucketPolicy", "arn:aws:s3:::b"),
            Tri::No
        );
        let ci = Identity::from_caller_arn(
            "111111111111",
            "arn:aws:sts::111111111111:assumed-role/ci/s3ward-plan",
        );
        assert_eq!(
            denies(&s, &ci, "s3:PutBucketPolicy", "arn:aws:s3:::b"),
            Tri::Yes
        );
    }

    #[test]
    fn not_action_and_not_principal() {
        let s = st(
            r#"{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111111111111:root"},"NotAction":"s3:GetObject","Resource":"*"}"#,
        );
        assert_eq!(
            denies(&s, &who_offline(), "s3:PutBucketPolicy", "arn:aws:s3:::b"),
            Tri::No
        );
        let s =
            st(r#"{"Effect":"Deny","Principal":"*","NotAction":"s3:GetObject","Resource":"*"}"#);
        assert_eq!(
            denies(&s, &who_offline(), "s3:PutBucketPolicy", "arn:aws:s3:::b"),
            Tri::Yes
        );
    }

    #[test]
    fn public_statements() {
        assert!(is_public_statement(&st(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#
        )));
        assert!(!is_public_statement(&st(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#
        )));
        assert!(!is_public_statement(&st(
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}"#
        )));
        assert!(!is_public_statement(&st(
            r#"{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"s3:GetObject","Resource":"*"}"#
        )));
    }

    #[test]
    fn unique_ids() {
        let d = PolicyDocument::parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["AROA3X42LBCD50JYWQ97C","arn:aws:iam::1:root"]},"Action":"s3:GetObject","Resource":"*"}]}"#).unwrap();
        assert_eq!(
            deleted_identities(&d),
            vec!["AROA3X42LBCD50JYWQ97C".to_string()]
        );
        assert!(!is_unique_id("AROA"));
    }
}
