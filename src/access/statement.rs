//! One statement against one request: does it apply? `Action`/`NotAction`,
//! `Resource`/`NotResource` (with policy variables), `Principal`/`NotPrincipal` for resource
//! policies, then `Condition`. The answer is three-valued, and for a `Principal` match it
//! says by which form the caller was named, since naming the account only delegates to the
//! account's IAM policies.

use super::Tri;
use super::conditions::conditions_hold;
use super::matching::{action_matches, resource_matches};
use super::request::{Caller, Request, root_arn};
use super::variables::{Substituted, substitute};
use crate::policy::canonical::normalize_aws_principal;
use crate::policy::{Principal, Statement};

/// How a resource policy's `Principal` named the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NamedAs {
    /// An identity policy: it applies to whoever holds it.
    Holder,
    /// `*`, or a `NotPrincipal` that does not list the caller.
    Anyone,
    /// The account (`arn:aws:iam::ID:root` or the bare id): a delegation to its IAM policies.
    Account,
    /// The role, the user, or the session itself.
    Itself,
}

/// Whether `st` applies to `req`. `resource_policy`: `Principal`/`NotPrincipal` decide who;
/// `variables`: the document's version reads `${…}` as policy variables.
pub fn applies(
    st: &Statement,
    req: &Request,
    resource_policy: bool,
    variables: bool,
) -> (Tri, NamedAs) {
    let action = match (&st.action, &st.not_action) {
        (Some(list), _) => list.iter().any(|p| action_matches(p, &req.action)),
        (None, Some(list)) => !list.iter().any(|p| action_matches(p, &req.action)),
        (None, None) => false,
    };
    if !action {
        return (Tri::No, NamedAs::Holder);
    }
    let resource = match (&st.resource, &st.not_resource) {
        (Some(list), _) => any_resource(list, req, variables),
        (None, Some(list)) => any_resource(list, req, variables).negate(),
        // A key policy's `Resource: "*"` is often left out in examples; nothing to narrow.
        (None, None) => Tri::Yes,
    };
    if resource == Tri::No {
        return (Tri::No, NamedAs::Holder);
    }
    let (who, named) = if resource_policy {
        match (&st.principal, &st.not_principal) {
            (Some(p), _) => match named_as(p, &req.caller) {
                Some(n) => (Tri::Yes, n),
                None => (Tri::No, NamedAs::Holder),
            },
            (None, Some(np)) => (Tri::of(!spared(np, &req.caller)), NamedAs::Anyone),
            (None, None) => (Tri::No, NamedAs::Holder),
        }
    } else {
        (Tri::Yes, NamedAs::Holder)
    };
    if who == Tri::No {
        return (Tri::No, named);
    }
    let cond = match &st.condition {
        Some(c) => conditions_hold(c, &req.context, variables),
        None => Tri::Yes,
    };
    (Tri::all([resource, who, cond]), named)
}

fn any_resource(list: &[String], req: &Request, variables: bool) -> Tri {
    Tri::any(list.iter().map(|p| {
        let p = if variables {
            match substitute(p, &req.context) {
                Substituted::Text(t) => t,
                Substituted::Absent => return Tri::No,
                Substituted::Unknown(k) => return Tri::depends(k),
            }
        } else {
            p.clone()
        };
        Tri::of(resource_matches(&p, &req.resource))
    }))
}

/// The `AWS` principals of a `Principal` element (`*` for `"Principal": "*"`).
fn aws_values(p: &Principal) -> Vec<String> {
    match p {
        Principal::Star => vec!["*".into()],
        Principal::Map(m) => m
            .get("AWS")
            .into_iter()
            .flatten()
            .map(|v| normalize_aws_principal(v))
            .collect(),
    }
}

/// How `p` names the caller, if it does. Only a whole `*` is a wildcard in `Principal`.
fn named_as(p: &Principal, caller: &Caller) -> Option<NamedAs> {
    let values = aws_values(p);
    let mut best = None;
    for v in &values {
        let n = if v == "*" {
            Some(NamedAs::Anyone)
        } else if *v == root_arn(caller.account()) {
            Some(NamedAs::Account)
        } else if *v == caller.principal_arn() || Some(v.clone()) == caller.session_arn() {
            Some(NamedAs::Itself)
        } else {
            None
        };
        best = best.max(n);
    }
    best
}

/// Whether a `NotPrincipal` spares the caller: every form of it must be listed (the account
/// and the user; or the account, the role and the session), as IAM requires.
fn spared(np: &Principal, caller: &Caller) -> bool {
    let values = aws_values(np);
    if values.iter().any(|v| v == "*") {
        return true;
    }
    let has = |s: &str| values.iter().any(|v| v == s);
    let account = has(&root_arn(caller.account()));
    match caller {
        Caller::Root { .. } => account,
        Caller::User { arn, .. } => account && has(arn),
        Caller::Role { role_arn, .. } => {
            account && has(role_arn) && caller.session_arn().is_some_and(|s| has(&s))
        }
    }
}
