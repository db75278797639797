//! Judgements about policies that s3ward makes before AWS would: sizes, public grants,
//! statements that would lock the applying identity out, and principals that are IAM
//! unique ids (what AWS shows once the named identity was deleted).
//!
//! The self-lockout check answers yes, no, or unknown with the reason (a condition key s3ward
//! cannot decide for its own requests, a role path it does not know, or, offline, who applies).
//! What callers make of the answer (a refusal, a warning) and its wording live in
//! `rules`, the one home of the safety rules (which depends on this module, not the reverse).

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

/// Why an answer is [`Tri::Unknown`]: what s3ward would need to know to decide.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Undecided {
    /// A condition key (as written) whose value in s3ward's own requests s3ward cannot know.
    Condition(String),
    /// The path of the role s3ward runs as (by name): STS names the session, not the path.
    RolePath(String),
    /// Offline (`validate`): who applies is known only once connected.
    Identity,
}

/// An answer with the reasons it is unknown (empty unless `t` is `Unknown`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Ans {
    t: Tri,
    why: Vec<Undecided>,
}

impl Ans {
    const YES: Ans = Ans {
        t: Tri::Yes,
        why: Vec::new(),
    };
    const NO: Ans = Ans {
        t: Tri::No,
        why: Vec::new(),
    };

    fn of(yes: bool) -> Ans {
        if yes { Ans::YES } else { Ans::NO }
    }

    fn unknown(why: Undecided) -> Ans {
        Ans {
            t: Tri::Unknown,
            why: vec![why],
        }
    }

    fn not(self) -> Ans {
        let t = match self.t {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            Tri::Unknown => Tri::Unknown,
        };
        Ans { t, why: self.why }
    }

    /// Yes when any is; else unknown when any is (with every reason); else no.
    fn any(items: impl IntoIterator<Item = Ans>) -> Ans {
        let mut why = Vec::new();
        let mut unknown = false;
        for a in items {
            match a.t {
                Tri::Yes => return Ans::YES,
                Tri::Unknown => {
                    unknown = true;
                    why.extend(a.why);
                }
                Tri::No => {}
            }
        }
        if unknown {
            why.sort();
            why.dedup();
            Ans {
                t: Tri::Unknown,
                why,
            }
        } else {
            Ans::NO
        }
    }

    /// No when any is; else unknown when any is (with every reason); else yes.
    fn all(items: impl IntoIterator<Item = Ans>) -> Ans {
        Ans::any(items.into_iter().map(Ans::not)).not()
    }
}

/// Who applies: the account always (s3ward acts in the bucket's account), the ARNs when known
/// (at plan time, from STS).
#[derive(Clone, Debug, Default)]
pub struct Identity {
    pub account: String,
    /// `arn:aws:sts::ACCT:assumed-role/NAME/SESSION`, `arn:aws:iam::ACCT:user/PATH/NAME` or
    /// `arn:aws:iam::ACCT:root`.
    pub arn: Option<String>,
    /// For an assumed role, `arn:aws:iam::ACCT:role/PATH/NAME`: its path is known only when
    /// `role_path_known` (from the plan file's `assume_role`); STS answers without it.
    pub role_arn: Option<String>,
    pub role_path_known: bool,
    /// The ambient caller's ARN, when this identity was assumed from it: s3ward runs as that
    /// one too (it needs it to assume this one).
    pub via: Option<String>,
}

/// One form under which a policy may name the identity.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Subject {
    Exact(String),
    /// `arn:aws:iam::ACCOUNT:role/…/NAME` with a path that is not known.
    RoleAnyPath {
        account: String,
        name: String,
    },
}

/// The role name of an assumed-role session ARN in `account` (any account when `None`).
fn session_role(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:sts::")?;
    let (account, rest) = rest.split_once(':')?;
    let name = rest.strip_prefix("assumed-role/")?.split('/').next()?;
    Some((account, name))
}

impl Identity {
    pub fn from_caller_arn(account: &str, arn: &str) -> Identity {
        let role_arn = session_role(arn)
            .filter(|(a, _)| *a == account)
            .map(|(_, name)| format!("arn:aws:iam::{account}:role/{name}"));
        Identity {
            account: account.to_string(),
            arn: Some(arn.to_string()),
            role_arn,
            role_path_known: false,
            via: None,
        }
    }

    /// Learns the role's ARN with its path (the `assume_role` of the plan file), when it is
    /// the role of this session.
    pub fn with_role_arn(mut self, role_arn: &str) -> Identity {
        let same = role_arn.strip_prefix("arn:aws:iam::").is_some_and(|rest| {
            rest.split_once(':').is_some_and(|(a, r)| {
                a == self.account
                    && r.starts_with("role/")
                    && r.rsplit('/').next() == self.role_name()
            })
        });
        if same {
            self.role_arn = Some(role_arn.to_string());
            self.role_path_known = true;
        }
        self
    }

    /// The ambient caller this identity was assumed from.
    pub fn with_via(mut self, ambient_arn: &str) -> Identity {
        if self.arn.as_deref() != Some(ambient_arn) {
            self.via = Some(ambient_arn.to_string());
        }
        self
    }

    /// The name of the role of this assumed-role session.
    pub fn role_name(&self) -> Option<&str> {
        self.arn
            .as_deref()
            .and_then(session_role)
            .map(|(_, name)| name)
    }

    /// Whether s3ward runs as the role `name` of account `account_id` (this session's role,
    /// or the ambient caller's that assumed it).
    pub fn runs_as_role(&self, account_id: &str, name: &str) -> bool {
        let mine = self.account == account_id && self.role_name() == Some(name);
        let via = self
            .via
            .as_deref()
            .and_then(session_role)
            .is_some_and(|(a, n)| a == account_id && n == name);
        mine || via
    }

    fn root(&self) -> String {
        format!("arn:aws:iam::{}:root", self.account)
    }

    fn role_subject(&self) -> Option<Subject> {
        let arn = self.role_arn.as_ref()?;
        if self.role_path_known {
            Some(Subject::Exact(arn.clone()))
        } else {
            Some(Subject::RoleAnyPath {
                account: self.account.clone(),
                name: self.role_name()?.to_string(),
            })
        }
    }

    /// The value of `aws:PrincipalArn` in s3ward's requests: for an assumed role, the role's
    /// ARN (with its path), never the session's.
    fn principal_arn(&self) -> Option<Subject> {
        let arn = self.arn.as_ref()?;
        self.role_subject().or(Some(Subject::Exact(arn.clone())))
    }

    /// Every form a `Principal` may name the caller by: the account; the user; or the role
    /// and the session.
    fn representations(&self) -> Vec<Subject> {
        let mut out = vec![Subject::Exact(self.root())];
        if let Some(arn) = &self.arn
            && *arn != self.root()
        {
            out.extend(self.role_subject());
            out.push(Subject::Exact(arn.clone()));
        }
        out
    }

    /// `aws:PrincipalType`.
    fn principal_type(&self) -> Option<&'static str> {
        let arn = self.arn.as_deref()?;
        Some(if session_role(arn).is_some() {
            "AssumedRole"
        } else if arn.ends_with(":root") {
            "Account"
        } else {
            "User"
        })
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

/// Whether `pattern` (a literal when `!like`) matches `subject`.
fn subject_match(pattern: &str, subject: &Subject, like: bool, ci: bool) -> Ans {
    match subject {
        Subject::Exact(s) => Ans::of(if like {
            wildcard_match(pattern, s, ci)
        } else if ci {
            pattern.eq_ignore_ascii_case(s)
        } else {
            pattern == s
        }),
        Subject::RoleAnyPath { account, name } => {
            // `role/NAME` is one candidate among `role/PATH/NAME`: matching it, or one with
            // some other path, proves nothing; matching both (a wildcard over the path) does.
            let base = format!("arn:aws:iam::{account}:role/");
            let shallow = format!("{base}{name}");
            let deep = format!("{base}s3ward-any-path/{name}");
            let unknown = Ans::unknown(Undecided::RolePath(name.clone()));
            if like {
                let (a, b) = (
                    wildcard_match(pattern, &shallow, ci),
                    wildcard_match(pattern, &deep, ci),
                );
                let head: String = pattern
                    .chars()
                    .take_while(|c| *c != '*' && *c != '?')
                    .collect();
                let may = head.len() < pattern.len()
                    && (base.starts_with(&head) || head.starts_with(&base));
                if a && b {
                    Ans::YES
                } else if a || b || may {
                    unknown
                } else {
                    Ans::NO
                }
            } else if pattern.starts_with(&base) && pattern.ends_with(&format!("/{name}")) {
                unknown
            } else {
                Ans::NO
            }
        }
    }
}

/// Whether the caller is one of the principals `p` names.
fn principal_matches(p: &Principal, who: &Identity) -> Ans {
    match p {
        Principal::Star => Ans::YES,
        Principal::Map(m) => {
            let Some(values) = m.get("AWS") else {
                return Ans::NO;
            };
            Ans::any(values.iter().map(|v| {
                let v = normalize_aws_principal(v);
                if v == "*" || v == who.root() {
                    Ans::YES
                } else if who.arn.is_none() {
                    // A specific role or user in the account: it may be the one applying.
                    if v.contains(&format!("::{}:", who.account)) {
                        Ans::unknown(Undecided::Identity)
                    } else {
                        Ans::NO
                    }
                } else {
                    Ans::any(
                        who.representations()
                            .iter()
                            .map(|r| subject_match(&v, r, false, false)),
                    )
                }
            }))
        }
    }
}

/// Whether a Deny with `NotPrincipal: np` applies to the caller. AWS spares a principal only
/// when every form of it is listed: an assumed-role session needs the account, the role and
/// the session; a user, the account and the user.
fn not_principal_applies(np: &Principal, who: &Identity) -> Ans {
    let Principal::Map(m) = np else {
        return Ans::NO; // everyone is spared
    };
    let values: Vec<String> = m
        .get("AWS")
        .into_iter()
        .flatten()
        .map(|v| normalize_aws_principal(v))
        .collect();
    if values.iter().any(|v| v == "*") {
        return Ans::NO;
    }
    if who.arn.is_none() {
        let names_account = values
            .iter()
            .any(|v| v.contains(&format!("::{}:", who.account)));
        return if names_account {
            Ans::unknown(Undecided::Identity)
        } else {
            Ans::YES
        };
    }
    let spared = Ans::all(
        who.representations()
            .iter()
            .map(|r| Ans::any(values.iter().map(|v| subject_match(v, r, false, false)))),
    );
    spared.not()
}

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
fn condition_applies(st: &Statement, who: &Identity) -> Ans {
    let Some(cond) = &st.condition else {
        return Ans::YES;
    };
    Ans::all(cond.iter().flat_map(|(op, keys)| {
        keys.iter().map(move |(key, values)| {
            let values: Vec<String> = values
                .iter()
                .map(super::canonical::condition_value_text)
                .collect();
            condition_entry(op, key, &values, who)
        })
    }))
}

fn statement_denies(st: &Statement, who: &Identity, action: &str, resource: &str) -> Ans {
    if st.effect != Effect::Deny {
        return Ans::NO;
    }
    let action_hit = match (&st.action, &st.not_action) {
        (Some(list), _) => list.iter().any(|p| wildcard_match(p, action, true)),
        (None, Some(list)) => !list.iter().any(|p| wildcard_match(p, action, true)),
        (None, None) => false,
    };
    if !action_hit {
        return Ans::NO;
    }
    let resource_hit = match (&st.resource, &st.not_resource) {
        (Some(list), _) => list.iter().any(|p| wildcard_match(p, resource, false)),
        (None, Some(list)) => !list.iter().any(|p| wildcard_match(p, resource, false)),
        (None, None) => true,
    };
    if !resource_hit {
        return Ans::NO;
    }
    let principal = match (&st.principal, &st.not_principal) {
        (Some(p), _) => principal_matches(p, who),
        (None, Some(np)) => not_principal_applies(np, who),
        // An identity policy statement applies to whoever holds it; a bucket policy needs one.
        (None, None) => Ans::YES,
    };
    Ans::all([principal, condition_applies(st, who)])
}

/// Whether a statement denies `who` the action `action` on `resource`.
pub fn denies(st: &Statement, who: &Identity, action: &str, resource: &str) -> Tri {
    statement_denies(st, who, action, resource).t
}

/// [`denies`], with what s3ward would need to know when the answer is `Unknown`.
pub fn lockout_verdict(
    st: &Statement,
    who: &Identity,
    action: &str,
    resource: &str,
) -> (Tri, Vec<Undecided>) {
    let a = statement_denies(st, who, action, resource);
    (a.t, a.why)
}

/// The actions s3ward needs on a bucket to keep managing its policy.
pub const SELF_LOCKOUT_ACTIONS: &[&str] = &["s3:PutBucketPolicy", "s3:GetBucketPolicy"];

/// A statement that would (`Yes`) or might (`Unknown`) deny s3ward the bucket policy.
#[derive(Clone, Debug)]
pub struct Lockout<'a> {
    pub statement: &'a Statement,
    pub action: &'static str,
    pub verdict: Tri,
    pub why: Vec<Undecided>,
}

/// Statements that would or might deny `who` the management of `bucket`'s policy (the first
/// action each denies, with a `Yes` preferred to an `Unknown`).
pub fn lockouts<'a>(statements: &'a [Statement], who: &Identity, bucket: &str) -> Vec<Lockout<'a>> {
    let arn = format!("arn:aws:s3:::{bucket}");
    let mut out = Vec::new();
    for st in statements {
        let found = SELF_LOCKOUT_ACTIONS
            .iter()
            .map(|action| (action, statement_denies(st, who, action, &arn)))
            .filter(|(_, a)| a.t != Tri::No)
            .min_by_key(|(_, a)| a.t != Tri::Yes);
        if let Some((action, a)) = found {
            out.push(Lockout {
                statement: st,
                action,
                verdict: a.t,
                why: a.why,
            });
        }
    }
    out
}

/// [`lockouts`] as (statement, action, answer).
pub fn self_lockout<'a>(
    statements: &'a [Statement],
    who: &Identity,
    bucket: &str,
) -> Vec<(&'a Statement, &'static str, Tri)> {
    lockouts(statements, who, bucket)
        .into_iter()
        .map(|l| (l.statement, l.action, l.verdict))
        .collect()
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
        // Under another path (`role/x/admin-s3ward`) the pattern would not match.
        assert_eq!(
            denies(&s, &admin, "s3:PutBucketPolicy", "arn:aws:s3:::b"),
            Tri::Unknown
        );
        let admin = admin.with_role_arn("arn:aws:iam::111111111111:role/admin-s3ward");
        assert_eq!(
            denies(&s, &admin, "s3:PutBucketPolicy", "arn:aws:s3:::b"),
            Tri::No
        );
        let ci = Identity::from_caller_arn(
            "111111111111",
            "arn:aws:sts::111111111111:assumed-role/ci/s3ward-plan",
        )
        .with_role_arn("arn:aws:iam::111111111111:role/ci");
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
        // Offline the caller may be the root user, the only one this spares.
        assert_eq!(
            denies(&s, &who_offline(), "s3:PutBucketPolicy", "arn:aws:s3:::b"),
            Tri::Unknown
        );
        assert_eq!(
            denies(&s, &session(), "s3:PutBucketPolicy", "arn:aws:s3:::b"),
            Tri::Yes
        );
        let s =
            st(r#"{"Effect":"Deny","Principal":"*","NotAction":"s3:GetObject","Resource":"*"}"#);
        assert_eq!(
            denies(&s, &who_offline(), "s3:PutBucketPolicy", "arn:aws:s3:::b"),
            Tri::Yes
        );
    }

    const SESSION: &str = "arn:aws:sts::111111111111:assumed-role/s3ward/s3ward-ml";
    const ROLE: &str = "arn:aws:iam::111111111111:role/s3ward";

    fn session() -> Identity {
        Identity::from_caller_arn("111111111111", SESSION)
    }

    fn put_policy(json: &str, who: &Identity) -> Tri {
        denies(&st(json), who, "s3:PutBucketPolicy", "arn:aws:s3:::b")
    }

    #[test]
    fn not_principal_spares_a_session_only_with_account_role_and_session() {
        let deny_but = |listed: &[&str]| {
            format!(
                r#"{{"Effect":"Deny","NotPrincipal":{{"AWS":{}}},"Action":"s3:*","Resource":"arn:aws:s3:::b"}}"#,
                serde_json::to_string(listed).unwrap()
            )
        };
        // The role's path is known (from `assume_role`).
        let who = session().with_role_arn(ROLE);
        // AWS's rule: the account, the role and the session must all be listed.
        assert_eq!(
            put_policy(&deny_but(&["111111111111", ROLE, SESSION]), &who),
            Tri::No
        );
        // Unknown path: `role/s3ward` may not be the role's ARN.
        assert_eq!(
            put_policy(&deny_but(&["111111111111", ROLE, SESSION]), &session()),
            Tri::Unknown
        );
        assert_eq!(
            put_policy(&deny_but(&["arn:aws:iam::111111111111:root", ROLE]), &who),
            Tri::Yes
        );
        assert_eq!(put_policy(&deny_but(&[SESSION]), &who), Tri::Yes);
        assert_eq!(
            put_policy(&deny_but(&["arn:aws:iam::111111111111:root"]), &who),
            Tri::Yes
        );
        assert_eq!(put_policy(&deny_but(&[ROLE, SESSION]), &who), Tri::Yes);
        // An IAM user: the user and the account.
        let user =
            Identity::from_caller_arn("111111111111", "arn:aws:iam::111111111111:user/ops/ci");
        assert_eq!(
            put_policy(
                &deny_but(&["arn:aws:iam::111111111111:user/ops/ci", "111111111111"]),
                &user
            ),
            Tri::No
        );
        assert_eq!(
            put_policy(&deny_but(&["arn:aws:iam::111111111111:user/ops/ci"]), &user),
            Tri::Yes
        );
        // Offline, only the account is known: listing it may or may not spare the caller.
        assert_eq!(
            put_policy(&deny_but(&["111111111111"]), &who_offline()),
            Tri::Unknown
        );
        assert_eq!(
            put_policy(&deny_but(&["222222222222"]), &who_offline()),
            Tri::Yes
        );
    }

    #[test]
    fn principal_arn_is_the_role_arn_not_the_session_arn() {
        let except = |op: &str, arn: &str| {
            format!(
                r#"{{"Effect":"Deny","Principal":"*","Action":"s3:PutBucketPolicy","Resource":"arn:aws:s3:::b","Condition":{{"{op}":{{"aws:PrincipalArn":"{arn}"}}}}}}"#
            )
        };
        let who = session();
        // The session ARN is never the value of aws:PrincipalArn: this Deny hits s3ward.
        assert_eq!(
            put_policy(
                &except(
                    "ArnNotLike",
                    "arn:aws:sts::111111111111:assumed-role/s3ward/*"
                ),
                &who
            ),
            Tri::Yes
        );
        // A wildcard over every path spares the role whatever its path.
        assert_eq!(
            put_policy(
                &except("ArnNotLike", "arn:aws:iam::111111111111:role/*"),
                &who
            ),
            Tri::No
        );
        // The role's path is not known from STS: `role/s3ward` may or may not be it.
        assert_eq!(
            put_policy(&except("ArnNotEquals", ROLE), &who),
            Tri::Unknown
        );
        // Known from `assume_role`: the ARN with its path is the one compared.
        let known = session().with_role_arn("arn:aws:iam::111111111111:role/ops/s3ward");
        assert_eq!(
            put_policy(
                &except("ArnNotEquals", "arn:aws:iam::111111111111:role/ops/s3ward"),
                &known
            ),
            Tri::No
        );
        assert_eq!(put_policy(&except("ArnNotEquals", ROLE), &known), Tri::Yes);
        // Another account's roles cannot be s3ward, path or not.
        assert_eq!(
            put_policy(
                &except("ArnEquals", "arn:aws:iam::222222222222:role/s3ward"),
                &who
            ),
            Tri::No
        );
    }

    #[test]
    fn conditions_s3ward_cannot_decide_are_named() {
        let deny_unless = |cond: &str| {
            format!(
                r#"{{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b","Condition":{cond}}}"#
            )
        };
        let who = session();
        for (cond, key) in [
            (
                r#"{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}"#,
                "aws:SourceVpce",
            ),
            (
                r#"{"StringNotEquals":{"aws:sourcevpc":"vpc-1"}}"#,
                "aws:sourcevpc",
            ),
            (
                r#"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
                "aws:SourceIp",
            ),
            (
                r#"{"NotIpAddress":{"aws:VpcSourceIp":"10.0.0.0/8"}}"#,
                "aws:VpcSourceIp",
            ),
            (
                r#"{"StringNotEquals":{"aws:PrincipalOrgID":"o-1"}}"#,
                "aws:PrincipalOrgID",
            ),
            (
                r#"{"StringNotEquals":{"aws:PrincipalTag/team":"ml"}}"#,
                "aws:PrincipalTag/team",
            ),
            (
                r#"{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}"#,
                "aws:MultiFactorAuthPresent",
            ),
            (
                r#"{"DateGreaterThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}"#,
                "aws:CurrentTime",
            ),
        ] {
            let (t, why) = lockout_verdict(
                &st(&deny_unless(cond)),
                &who,
                "s3:PutBucketPolicy",
                "arn:aws:s3:::b",
            );
            assert_eq!(t, Tri::Unknown, "{cond}");
            assert_eq!(why, vec![Undecided::Condition(key.to_string())], "{cond}");
        }
        // Keys that s3ward's own requests never carry are decided: absent.
        for (cond, want) in [
            (r#"{"StringEquals":{"aws:SourceAccount":"1"}}"#, Tri::No),
            (r#"{"StringNotEquals":{"aws:SourceAccount":"1"}}"#, Tri::Yes),
            (
                r#"{"StringNotEqualsIfExists":{"s3:x-amz-acl":"private"}}"#,
                Tri::Yes,
            ),
            (
                r#"{"StringEqualsIfExists":{"s3:x-amz-acl":"private"}}"#,
                Tri::Yes,
            ),
            (r#"{"Null":{"aws:SourceArn":"true"}}"#, Tri::Yes),
            (r#"{"Null":{"aws:SourceArn":"false"}}"#, Tri::No),
            (
                r#"{"StringEquals":{"aws:PrincipalType":"AssumedRole"}}"#,
                Tri::Yes,
            ),
            (r#"{"Bool":{"aws:PrincipalIsAWSService":"true"}}"#, Tri::No),
            (
                r#"{"StringNotEquals":{"aws:PrincipalAccount":"111111111111"}}"#,
                Tri::No,
            ),
        ] {
            assert_eq!(put_policy(&deny_unless(cond), &who), want, "{cond}");
        }
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
