//! The condition-key knowledge of the self-lockout evaluation: what each key holds in
//! s3ward's own bucket-policy requests (known, never sent, or not decidable from here), and
//! how one `Condition` entry evaluates against that.
//!
//! Part of [`super`]: it answers in the same three values, naming the key when it cannot
//! decide. Whether a statement applies as a whole (action, resource, principal) is decided
//! there, not here.

use super::{Ans, Undecided, subject_match};
use crate::policy::document::Statement;
use crate::policy::identity::{Identity, Subject};

/// What a condition key holds in s3ward's own requests (PutBucketPolicy, GetBucketPolicy).
enum RequestValue {
    Known(Vec<Subject>),
    /// Never in s3ward's requests.
    Absent,
    /// Depends on where and how s3ward runs (network, organization, tags, MFA, time, …).
    Undecidable,
    /// Needs the identity, known once connected.
    Offline,
}

/// Keys that s3ward's own bucket-policy requests never carry: sent only by services acting
/// for someone (`aws:SourceArn`, `aws:CalledVia`, …), or by other S3 requests.
const ABSENT_KEYS: &[&str] = &[
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:calledvia",
    "aws:calledviafirst",
    "aws:calledvialast",
    "aws:referer",
    "aws:principalservicename",
    "aws:principalservicenameslist",
    "aws:federatedprovider",
    "aws:tagkeys",
    "s3:prefix",
    "s3:delimiter",
    "s3:max-keys",
    "s3:versionid",
    "s3:locationconstraint",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
    "s3:accesspointnetworkorigin",
];
const ABSENT_PREFIXES: &[&str] = &[
    "aws:requesttag/",
    "s3:requestobjecttag",
    "s3:existingobjecttag/",
    "s3:object-lock-",
];

/// The value of condition key `key` (lower case) in s3ward's requests. Anything not decided
/// here is undecidable: among the IAM global condition keys, the network (`aws:SourceIp`,
/// `aws:SourceVpc`, `aws:SourceVpce`, `aws:VpcSourceIp`), the organization
/// (`aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`: s3ward does not read it), tags
/// (`aws:PrincipalTag/…`, `aws:ResourceTag/…`), the session (`aws:MultiFactorAuthPresent`,
/// `aws:TokenIssueTime`, `aws:SourceIdentity`, `aws:userid`), and time (`aws:CurrentTime`:
/// a Deny that starts later locks out later). Refusing what is not decided is the point.
fn request_value(who: &Identity, key: &str) -> RequestValue {
    let known = |v: &str| RequestValue::Known(vec![Subject::Exact(v.to_string())]);
    match key {
        // s3ward always calls AWS over TLS, itself (not through a service).
        "aws:securetransport" => known("true"),
        "aws:principalisawsservice" | "aws:viaawsservice" => known("false"),
        "aws:principalaccount" => known(&who.account),
        "aws:principalarn" => match who.principal_arn() {
            Some(s) => RequestValue::Known(vec![s]),
            None => RequestValue::Offline,
        },
        "aws:principaltype" => match who.principal_type() {
            Some(t) => known(t),
            None => RequestValue::Offline,
        },
        // SigV4 sends this header, with a value s3ward does not pin.
        "s3:x-amz-content-sha256" => RequestValue::Undecidable,
        k if ABSENT_KEYS.contains(&k)
            || ABSENT_PREFIXES.iter().any(|p| k.starts_with(p))
            || k.starts_with("s3:x-amz-") =>
        {
            RequestValue::Absent
        }
        _ => RequestValue::Undecidable,
    }
}

/// Evaluates one `op: {key: values}` entry for s3ward's requests.
fn condition_entry(op: &str, key: &str, values: &[String], who: &Identity) -> Ans {
    let (set_op, base) = match op.split_once(':') {
        Some((set, rest)) => (Some(set.to_ascii_lowercase()), rest),
        None => (None, op),
    };
    let (if_exists, base) = match base.strip_suffix("IfExists") {
        Some(b) => (true, b),
        None => (false, base),
    };
    let undecided = || Ans::unknown(Undecided::Condition(key.to_string()));
    match request_value(who, &key.to_ascii_lowercase()) {
        RequestValue::Undecidable => undecided(),
        RequestValue::Offline => Ans::unknown(Undecided::Identity),
        RequestValue::Absent => {
            // IAM: a missing key fails a condition, except that `…IfExists`, negated
            // operators and `ForAllValues` hold, and `Null: true` holds.
            if base == "Null" {
                Ans::of(values.iter().any(|v| v.eq_ignore_ascii_case("true")))
            } else if if_exists || set_op.as_deref() == Some("forallvalues") {
                Ans::YES
            } else if set_op.is_some() {
                Ans::NO
            } else {
                Ans::of(base.contains("Not"))
            }
        }
        RequestValue::Known(subjects) => {
            if base == "Null" {
                return Ans::of(values.iter().any(|v| v.eq_ignore_ascii_case("false")));
            }
            let (negated, like, ci) = match base {
                "StringEquals" | "ArnEquals" => (false, false, false),
                "StringEqualsIgnoreCase" | "Bool" => (false, false, true),
                "StringLike" | "ArnLike" => (false, true, false),
                "StringNotEquals" | "ArnNotEquals" => (true, false, false),
                "StringNotEqualsIgnoreCase" => (true, false, true),
                "StringNotLike" | "ArnNotLike" => (true, true, false),
                _ => return undecided(),
            };
            // Single-valued keys: `ForAnyValue`/`ForAllValues` over one value is the plain test.
            let hit = Ans::any(
                subjects
                    .iter()
                    .flat_map(|s| values.iter().map(move |p| subject_match(p, s, like, ci))),
            );
            if negated { hit.not() } else { hit }
        }
    }
}

/// Whether every condition of `st` holds for s3ward's requests.
pub(super) fn condition_applies(st: &Statement, who: &Identity) -> Ans {
    let Some(cond) = &st.condition else {
        return Ans::YES;
    };
    Ans::all(cond.iter().flat_map(|(op, keys)| {
        keys.iter().map(move |(key, values)| {
            let values: Vec<String> = values
                .iter()
                .map(crate::policy::canonical::condition_value_text)
                .collect();
            condition_entry(op, key, &values, who)
        })
    }))
}
