//! The self-lockout evaluation: would (or might) a statement deny the identity that applies
//! the actions s3ward needs to keep managing a bucket's policy? It answers yes, no, or
//! unknown with the reason (a condition key s3ward cannot decide for its own requests, a
//! role path it does not know, or, offline, who applies).
//!
//! It follows IAM's evaluation of one statement: action and resource wildcards, `Principal`
//! and `NotPrincipal` (AWS spares a session only when every form of it is listed), and
//! conditions (`conditions`: what each key holds in s3ward's requests). Pure: the identity
//! comes in as an argument. What callers make of the answer (a refusal, a warning) and its
//! wording live in `rules`, the one home of the safety rules (which depends on this module,
//! not the reverse).

mod conditions;
mod key;
#[cfg(test)]
mod tests;

use self::conditions::condition_applies;
pub use self::key::{KEY_LOCKOUT_ACTION, key_lockout};
use super::canonical::normalize_aws_principal;
use super::document::{Effect, Principal, Statement};
use super::identity::{Identity, Subject};

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
