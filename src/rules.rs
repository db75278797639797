//! The safety rules that refuse a change before any write (SPEC "Apply order and safety",
//! item 7), each decided and worded once, here. `validate` (`plan_file::resolve`), `plan`
//! (`diff`) and `apply` (`apply::safety`, which also checks saved plans) call these functions,
//! so that the three never drift apart, first in wording and then in meaning.
//!
//! Pure: the facts come in as arguments (the identity that applies, live tag counts, sizes).
//! Judging a policy document (does this Deny hit s3ward?) is `policy::lockout`'s job; turning
//! the answer into a refusal or a warning, and into words, is this module's.

mod kms;

pub use kms::*;

use crate::change::Address;
use crate::policy::lint;
use crate::policy::lockout::{self, Tri, Undecided};
use crate::policy::{Identity, PolicyDocument, Statement};

/// What a rule found: a sentence (naming what it is about) and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub message: String,
    pub hint: Option<String>,
    /// Refused (an error at validate, a problem at plan, a refusal at apply), or only worth
    /// saying.
    pub refused: bool,
}

impl Finding {
    fn refusal(message: String, hint: &str) -> Finding {
        Finding {
            message,
            hint: Some(hint.to_string()),
            refused: true,
        }
    }
}

/// When a rule runs: offline, or connected (the identity that applies is known).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// `validate` (and the validation at the start of every command): no AWS call.
    Offline,
    /// `plan` and `apply`, with the identity from STS.
    Connected,
}

const ALLOW: &str = "pass `--allow-self-lockout` if that is meant";

// ------------------------------------------------------------------------------------------
// A bucket policy that would or might deny s3ward the bucket policy itself

/// The self-lockout findings for the statements s3ward writes into `bucket`'s policy.
/// Connected, "would" and "might" are both refused unless `allow`; offline, only "would" is
/// (who applies is not known yet), and "might" is a warning that plan will decide.
pub fn self_lockout(
    statements: &[Statement],
    who: &Identity,
    bucket: &str,
    allow: bool,
    stage: Stage,
) -> Vec<Finding> {
    lockout::lockouts(statements, who, bucket)
        .into_iter()
        .filter_map(|l| {
            let sid = l
                .statement
                .sid()
                .map_or_else(|| "without a Sid".to_string(), |s| format!("`{s}`"));
            let whom = who
                .arn
                .as_deref()
                .map_or_else(|| "s3ward".to_string(), |a| format!("`{a}`"));
            let action = l.action;
            let sure = l.verdict == Tri::Yes;
            let mut message = if sure {
                format!(
                    "statement {sid} would deny `{action}` to {whom}, the identity that applies this plan"
                )
            } else {
                format!(
                    "statement {sid} might deny `{action}` to {whom}, the identity that applies this plan: {}",
                    reasons(&l.why)
                )
            };
            let refused = !allow && (sure || stage == Stage::Connected);
            let hint = match (sure, stage) {
                _ if allow => {
                    if stage == Stage::Connected {
                        return None; // said at validate; the flag is the answer
                    }
                    message.push_str(" (allowed by `--allow-self-lockout`)");
                    None
                }
                (true, _) => Some(format!(
                    "after the apply nobody but the account root could change this bucket policy; narrow the Deny, or {ALLOW}"
                )),
                (false, Stage::Connected) => Some(format!(
                    "s3ward refuses a lockout it cannot rule out; narrow the Deny so that it cannot match s3ward's own requests{}, or {ALLOW}",
                    if l.why.iter().any(|w| matches!(w, Undecided::RolePath(_))) {
                        ", name the role in the account's `assume_role` (its ARN carries the path)"
                    } else {
                        ""
                    }
                )),
                (false, Stage::Offline) => Some(
                    "plan checks again with the identity that applies, and refuses what it cannot rule out unless `--allow-self-lockout`".to_string(),
                ),
            };
            Some(Finding {
                message,
                hint,
                refused,
            })
        })
        .collect()
}

fn reasons(why: &[Undecided]) -> String {
    let words: Vec<String> = why
        .iter()
        .map(|w| match w {
            Undecided::Condition(key) => {
                format!("s3ward cannot tell whether condition `{key}` holds for its own requests")
            }
            Undecided::RolePath(name) => format!(
                "the path of role `{name}` is not known (STS does not say it), so its ARN cannot be compared"
            ),
            Undecided::Identity => "the identity that applies is known only at plan time".into(),
        })
        .collect();
    words.join("; ")
}

// ------------------------------------------------------------------------------------------
// The role s3ward runs as

/// A change to the trust or the policies of a role s3ward itself runs as (the account's
/// `assume_role` target, or the ambient caller's role): a mistake there stops s3ward, and
/// maybe everyone, from fixing it. `account_id` and `role_name` are the changed role's.
pub fn own_role_change(
    address: &Address,
    account_id: &str,
    role_name: &str,
    who: &Identity,
    allow: bool,
) -> Option<Finding> {
    let what = match address {
        Address::RoleTrust(_) => "the trust policy".to_string(),
        Address::RoleInlinePolicy(_, name) => format!("the inline policy `{name}`"),
        Address::RoleManagedPolicy(_, arn) => format!("the attachment of `{arn}`"),
        _ => return None,
    };
    if allow || !who.runs_as_role(account_id, role_name) {
        return None;
    }
    Some(Finding::refusal(
        format!("this changes {what} of role `{role_name}`, which s3ward itself runs as"),
        &format!(
            "a mistake here could stop s3ward from applying again; make this change by hand, or {ALLOW}"
        ),
    ))
}

// ------------------------------------------------------------------------------------------
// Limits

/// AWS's limit on tags per bucket and per role.
pub const MAX_TAGS: usize = 50;

/// Tags once s3ward's are merged into the live ones (s3ward keeps tags it does not manage):
/// `what` is `bucket `NAME`` or `role `NAME``.
pub fn tag_count(what: &str, merged: usize, live: usize) -> Option<Finding> {
    (merged > MAX_TAGS).then(|| {
        Finding::refusal(
            format!(
                "{what} would have {merged} tags once s3ward's are merged into the {live} it has; AWS allows {MAX_TAGS}"
            ),
            "s3ward keeps the tags it does not manage (and adds `s3ward:applied`); remove some by hand, or declare fewer",
        )
    })
}

/// The characters IAM counts in an inline policy: its JSON without whitespace outside
/// strings (for a live text that does not parse, without any whitespace).
pub fn inline_policy_chars(doc: Result<&PolicyDocument, &str>) -> usize {
    match doc {
        Ok(d) => lint::iam_size(d),
        Err(text) => text.chars().filter(|c| !c.is_whitespace()).count(),
    }
}

/// IAM's limit is for all of a role's inline policies together: those s3ward writes plus the
/// live ones that stay (`staying`: name and size).
pub fn inline_policies_size(
    role: &str,
    written: usize,
    staying: &[(String, usize)],
) -> Option<Finding> {
    let kept: usize = staying.iter().map(|(_, n)| n).sum();
    let total = written + kept;
    (total > lint::INLINE_POLICIES_MAX_CHARS).then(|| {
        let mut message = format!(
            "the inline policies of role `{role}` would total {total} characters; IAM allows {} for all of a role's inline policies together",
            lint::INLINE_POLICIES_MAX_CHARS
        );
        if !staying.is_empty() {
            let names: Vec<String> = staying.iter().map(|(n, _)| format!("`{n}`")).collect();
            message.push_str(&format!(
                " ({kept} of them in live ones that stay: {})",
                names.join(", ")
            ));
        }
        Finding::refusal(
            message,
            "the `s3ward-grants` policy counts too, and in `additive` mode so do undeclared live ones; use fewer prefixes, delete unused inline policies, or move some statements to a managed policy",
        )
    })
}
