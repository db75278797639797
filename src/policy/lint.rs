//! Judgements about policies that s3ward makes before AWS would: sizes (S3's and IAM's
//! limits, counted as each counts them), public grants (an Allow to `*` no condition narrows),
//! and principals that are IAM unique ids (what AWS shows once the named identity was deleted).
//!
//! Pure and one statement or document at a time: nothing here knows the plan file, the
//! identity that applies, or how a finding is worded. Whether a statement would lock s3ward
//! out is [`super::lockout`]'s question; what callers make of any of these answers lives in
//! `rules`.

use super::document::{Effect, PolicyDocument, Principal, Statement};

// The self-lockout evaluation lived here before it got its own module; these paths are kept so
// that code written against them (the integration tests, work in flight) still compiles. New
// code names the real homes: `policy::Identity`, `policy::lockout`.
pub use super::identity::Identity;
pub use super::lockout::{
    Lockout, SELF_LOCKOUT_ACTIONS, Tri, Undecided, denies, lockout_verdict, lockouts, self_lockout,
    wildcard_match,
};

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

#[cfg(test)]
mod tests {
    use super::*;

    fn st(json: &str) -> Statement {
        PolicyDocument::parse_statements(json).unwrap().remove(0)
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
