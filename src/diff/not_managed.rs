//! What grants access beyond the plan file and is not managed by it: on a role the plan file
//! manages, managed policies attached and inline policies that the plan file does not
//! declare (its `managed_policies` or `inline_policies` are absent, or `additive`); on a
//! bucket in `policy_mode = "merge"`, the policy statements s3ward does not own that allow
//! something. Each with the plan-file key that would manage it.
//!
//! These are left alone by design (an undeclared list is unmanaged), so they are neither
//! changes nor problems, and no exit code counts them; they are listed so that a nightly
//! `drift` is not blind to someone attaching `AmazonS3FullAccess` by hand. Pure: it reads
//! only what `live/` already read (the attachments of a role that does not declare
//! `managed_policies` are read for this, see `live::iam::read_role`).

use crate::change::{ChangeSet, NotManaged, NotManagedKind, Resource};
use crate::desired::{Bucket, Desired, GRANTS_POLICY_NAME, Mode, PolicyMode, Role};
use crate::policy::document::{Effect, Principal, Statement};
use crate::state::{Live, LiveBucket, LiveRole};

/// At most this many actions are named in a statement's detail; the rest are counted.
const ACTIONS_SHOWN: usize = 3;

pub(super) fn list(desired: &Desired, live: &Live, cs: &mut ChangeSet) {
    for (key, lr) in &live.roles {
        if let Some(r) = desired.roles.get(key) {
            role(r, lr, cs);
        }
    }
    for (key, lb) in &live.buckets {
        if let Some(b) = desired.buckets.get(key) {
            bucket(b, lb, cs);
        }
    }
    // By resource, as the changes are (stable: each resource's own order stays).
    cs.not_managed.sort_by(|a, b| a.resource.cmp(&b.resource));
}

fn role(r: &Role, lr: &LiveRole, cs: &mut ChangeSet) {
    if !lr.exists {
        return;
    }
    let resource = Resource::Role(r.key.clone());
    let attached = match (&r.managed_policies, lr.managed.present()) {
        (None, _) => lr.attached_unmanaged.iter().collect::<Vec<_>>(),
        (Some(declared), Some(live)) if r.managed_policies_mode == Mode::Additive => {
            live.difference(declared).collect()
        }
        _ => Vec::new(),
    };
    for arn in attached {
        cs.not_managed.push(NotManaged {
            resource: resource.clone(),
            kind: NotManagedKind::ManagedPolicy,
            name: arn.clone(),
            detail: None,
            key: "managed_policies".into(),
        });
    }
    let undeclared = |name: &str| match &r.inline_policies {
        None => true,
        Some(declared) => r.inline_policies_mode == Mode::Additive && !declared.contains_key(name),
    };
    for (name, doc) in &lr.inline {
        // A policy that does not parse may grant anything: listed too.
        let allows = doc.doc.as_ref().map_or(true, |d| {
            d.statements.iter().any(|s| s.effect == Effect::Allow)
        });
        if name != GRANTS_POLICY_NAME && undeclared(name) && allows {
            cs.not_managed.push(NotManaged {
                resource: resource.clone(),
                kind: NotManagedKind::InlinePolicy,
                name: name.clone(),
                detail: None,
                key: "inline_policies".into(),
            });
        }
    }
}

fn bucket(b: &Bucket, lb: &LiveBucket, cs: &mut ChangeSet) {
    if b.policy_mode != PolicyMode::Merge {
        return;
    }
    // A live policy that does not parse is a warning of the policy's diff already.
    let Some(Ok(doc)) = lb.policy.present().map(|d| &d.doc) else {
        return;
    };
    for (i, st) in doc.statements.iter().enumerate() {
        if st.effect != Effect::Allow || b.owns(st) {
            continue;
        }
        cs.not_managed.push(NotManaged {
            resource: Resource::Bucket(b.key.clone()),
            kind: NotManagedKind::BucketPolicyStatement,
            name: st.sid().map_or_else(|| format!("[{i}]"), str::to_string),
            detail: Some(statement_detail(st)),
            key: "extra_policy_statements".into(),
        });
    }
}

/// `AWS arn:aws:iam::333333333333:root: s3:GetObject, s3:ListBucket`: whom, then what.
fn statement_detail(st: &Statement) -> String {
    let who = match (&st.principal, &st.not_principal) {
        (Some(p), _) => principal_text(p),
        (None, Some(p)) => format!("everyone but {}", principal_text(p)),
        (None, None) => "no principal".into(),
    };
    let what = match (&st.action, &st.not_action) {
        (Some(a), _) => actions_text(a),
        (None, Some(a)) => format!("every action but {}", actions_text(a)),
        (None, None) => "no action".into(),
    };
    format!("{who}: {what}")
}

fn principal_text(p: &Principal) -> String {
    match p {
        Principal::Star => "*".into(),
        Principal::Map(m) => m
            .iter()
            .flat_map(|(kind, values)| values.iter().map(move |v| format!("{kind} {v}")))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn actions_text(actions: &[String]) -> String {
    let shown: Vec<&str> = actions
        .iter()
        .take(ACTIONS_SHOWN)
        .map(String::as_str)
        .collect();
    let rest = actions.len().saturating_sub(ACTIONS_SHOWN);
    if rest == 0 {
        shown.join(", ")
    } else {
        format!("{} and {rest} more", shown.join(", "))
    }
}
