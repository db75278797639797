//! Expectations evaluated: each `can` must be allowed (every action of an access level),
//! each `cannot` denied (the actions that make the level: `s3:ListBucket` for `list`,
//! reading objects for `read`, writing them for `write`, deleting for `full`). An answer
//! that depends on a request value fails, naming the condition key: an expectation is a
//! promise, and "it depends" keeps none.
//!
//! The documents come from the caller: the plan file's (`validate`) or the live ones
//! (`plan`, `drift`). The wording of a failure lives here, once, for all three.

use super::decide::{BucketFacts, Evaluation, Identity, evaluate};
use super::report::{Deciding, Decision, Verdict};
use super::request::{Caller, Request};
use crate::desired::{Access, Expectation, Want};

/// One request an expectation makes, and whether it must be allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub must_allow: bool,
    pub want: String,
    pub action: String,
    /// The S3 ARN as the user reads it; for listing, the bucket with the prefix.
    pub resource: String,
}

/// A probe whose answer broke the expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub probe: Probe,
    pub decision: Decision,
    /// The statements that decided (an Allow that should not, a Deny that should not).
    pub deciding: Vec<Deciding>,
    pub missing_context: Vec<String>,
}

fn level_actions(a: Access, must_allow: bool) -> Vec<&'static str> {
    if must_allow {
        let mut out = Vec::new();
        if a.lists() {
            out.push("s3:ListBucket");
        }
        out.extend(a.bucket_actions());
        if a.writes() {
            out.push("s3:PutObject");
        }
        out.extend(a.object_actions());
        return out;
    }
    match a {
        Access::List => vec!["s3:ListBucket"],
        Access::Read => vec!["s3:GetObject", "s3:GetObjectVersion"],
        Access::Write => vec!["s3:PutObject"],
        Access::ReadWrite => vec!["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
        Access::Full => vec![
            "s3:GetObject",
            "s3:GetObjectVersion",
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:DeleteObjectVersion",
        ],
    }
}

/// Whether an action acts on the bucket (its ARN) rather than on objects.
fn on_bucket(action: &str) -> bool {
    let verb = action.split(':').nth(1).unwrap_or(action);
    verb.contains("Bucket") || verb == "ListMultipartUploads"
}

/// Every request an expectation makes of bucket `name`.
pub fn probes(x: &Expectation, name: &str) -> Vec<Probe> {
    let prefix = x.prefix.as_deref().unwrap_or("");
    let mut out = Vec::new();
    for (must_allow, wants) in [(true, &x.can), (false, &x.cannot)] {
        for w in wants.iter() {
            let actions: Vec<String> = match w {
                Want::Level(a) => level_actions(*a, must_allow)
                    .into_iter()
                    .map(String::from)
                    .collect(),
                Want::Action(a) => vec![a.clone()],
            };
            for action in actions {
                let resource = if action.eq_ignore_ascii_case("s3:ListBucket") && !prefix.is_empty()
                {
                    format!("arn:aws:s3:::{name}/{prefix}")
                } else if on_bucket(&action) {
                    format!("arn:aws:s3:::{name}")
                } else {
                    format!("arn:aws:s3:::{name}/{prefix}object")
                };
                out.push(Probe {
                    must_allow,
                    want: w.as_str().to_string(),
                    action,
                    resource,
                });
            }
        }
    }
    out
}

/// The probes of `x` that fail for `caller` against these documents.
pub fn check(
    x: &Expectation,
    name: &str,
    caller: &Caller,
    identity: &Identity,
    bucket: &BucketFacts,
    key: &super::keys::KeySide,
) -> Vec<Failure> {
    let mut out = Vec::new();
    for probe in probes(x, name) {
        let req = Request::new(caller.clone(), &probe.action, &probe.resource, &[]);
        let key = key.for_action(&probe.action);
        let v: Verdict = evaluate(&Evaluation {
            request: &req,
            identity,
            bucket,
            key: key.as_ref(),
        });
        let ok = match v.decision {
            Decision::Allowed => probe.must_allow,
            Decision::Denied => !probe.must_allow,
            Decision::Depends => false,
        };
        if ok {
            continue;
        }
        let deciding = v
            .sides
            .iter()
            .flat_map(|s| s.statements.iter().cloned())
            .collect();
        out.push(Failure {
            probe,
            decision: v.decision,
            deciding,
            missing_context: v.missing_context,
        });
    }
    out
}

impl Failure {
    /// One sentence: what was expected, what the documents answer, and why.
    pub fn message(&self, who: &str) -> String {
        let p = &self.probe;
        let expected = if p.must_allow { "can" } else { "cannot" };
        let answer = match self.decision {
            Decision::Allowed => "it is allowed".to_string(),
            Decision::Denied => "it is denied".to_string(),
            Decision::Depends => format!(
                "it depends on {}",
                self.missing_context
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let by: Vec<String> = self
            .deciding
            .iter()
            .map(|d| {
                let from = d
                    .source
                    .as_deref()
                    .map_or(String::new(), |s| format!(", from {s}"));
                let effect = d.effect.as_str();
                match d.sid.as_deref() {
                    Some(sid) => format!("{effect} `{sid}` in the {}{from}", d.policy),
                    None => format!("an {effect} without Sid in the {}{from}", d.policy),
                }
            })
            .collect();
        let why = if by.is_empty() && self.decision == Decision::Allowed {
            " (its own policies are not in the plan file and are taken as allowing)".to_string()
        } else if by.is_empty() {
            " (no statement allows it)".to_string()
        } else {
            format!(" ({})", by.join("; "))
        };
        format!(
            "expected `{who}` {expected} `{}`, but for `{}` on `{}` {answer}{why}",
            p.want, p.action, p.resource
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(can: &[&str], cannot: &[&str], prefix: Option<&str>) -> Expectation {
        Expectation {
            bucket: "m".into(),
            index: 0,
            who: "role.r".into(),
            can: can.iter().map(|w| Want::parse(w).unwrap()).collect(),
            cannot: cannot.iter().map(|w| Want::parse(w).unwrap()).collect(),
            prefix: prefix.map(String::from),
            span: None,
        }
    }

    #[test]
    fn can_needs_every_action_cannot_forbids_what_makes_the_level() {
        let p = probes(&x(&["read"], &["read"], Some("evals/")), "b");
        let can: Vec<(&str, &str)> = p
            .iter()
            .filter(|p| p.must_allow)
            .map(|p| (p.action.as_str(), p.resource.as_str()))
            .collect();
        assert_eq!(
            can,
            [
                ("s3:ListBucket", "arn:aws:s3:::b/evals/"),
                ("s3:GetBucketLocation", "arn:aws:s3:::b"),
                ("s3:GetObject", "arn:aws:s3:::b/evals/object"),
                ("s3:GetObjectVersion", "arn:aws:s3:::b/evals/object"),
            ]
        );
        let cannot: Vec<&str> = p
            .iter()
            .filter(|p| !p.must_allow)
            .map(|p| p.action.as_str())
            .collect();
        assert_eq!(cannot, ["s3:GetObject", "s3:GetObjectVersion"]);
        let whole = probes(&x(&["list"], &[], None), "b");
        assert_eq!(whole[0].resource, "arn:aws:s3:::b");
        assert_eq!(
            Want::parse("s3:GetObject"),
            Some(Want::Action("s3:GetObject".into()))
        );
        assert_eq!(Want::parse("reed"), None);
    }
}
