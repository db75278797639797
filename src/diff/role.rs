//! The diff of one role: its creation, or each managed setting (description and session
//! length, trust, inline policies, managed policy attachments, declared tags) compared with
//! what AWS has, with IAM's limit on inline policy size; and the digests of those settings
//! that its `s3ward:applied` record holds, computed in the same terms as the comparison.
//! Pure: no AWS, no output.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::pod_identity::{self, LiveAssociations};
use super::{
    Tagging, change, close_created, close_existing, create_or_update, created, created_policy,
    created_tags, declared_tags, deleted_identity_notes, doc_digest, doc_value, live_doc_value,
    problem, statements_digest, tags_digest,
};
use crate::applied::{self, APPLIED_TAG, Digests, Recorded};
use crate::change::{Action, Address, ChangeSet, Problem, Resource, Write};
use crate::desired::{Desired, GRANTS_POLICY_NAME, Mode, Role};
use crate::policy::PolicyDocument;
use crate::policy::diff::diff as policy_diff;
use crate::policy::lint;
use crate::rules;
use crate::state::{LiveRole, Setting};

/// PutRolePolicy of `doc` as the inline policy `name` of `r`.
fn put_inline(r: &Role, name: &str, doc: &PolicyDocument) -> Write {
    Write::PutRolePolicy {
        role: r.name.clone(),
        name: name.to_string(),
        policy: doc.to_json(),
    }
}

/// AttachRolePolicy of `arn` to `r`.
fn attach(r: &Role, arn: &str) -> Write {
    Write::AttachRolePolicy {
        role: r.name.clone(),
        arn: arn.to_string(),
    }
}

pub(super) fn diff_role(
    desired: &Desired,
    r: &Role,
    lr: &LiveRole,
    associations: Option<&LiveAssociations>,
    cs: &mut ChangeSet,
) {
    let key = &r.key;
    let resource = Resource::Role(key.clone());
    let tagging = |live, written| Tagging {
        address: Address::RoleTags(key.clone()),
        what: format!("role `{}`", r.name),
        live,
        written,
    };
    if !lr.exists {
        let tags = created_tags(desired, &r.tags);
        let mut c = change(
            Address::Role(key.clone()),
            Action::Create,
            Write::CreateRole {
                name: r.name.clone(),
                path: r.path_or_default().to_string(),
                description: r.description.clone(),
                max_session_duration: r.max_session_duration,
                trust: r.trust.to_json(),
                tags: tags.clone(),
            },
        );
        let mut after = json!({
            "name": r.name,
            "account": r.account_id,
            "path": r.path_or_default(),
            "arn": r.arn(),
            "tags": tags,
            "trust": doc_value(&r.trust),
        });
        if let Some(d) = &r.description {
            after["description"] = json!(d);
        }
        if let Some(m) = r.max_session_duration {
            after["max_session_duration"] = json!(m);
        }
        c.after = Some(after);
        cs.changes.push(c);
        for (name, doc) in desired_inline(r) {
            cs.changes.push(created_policy(
                Address::RoleInlinePolicy(key.clone(), name.clone()),
                put_inline(r, &name, doc),
                doc,
            ));
        }
        for arn in r.managed_policies.iter().flatten() {
            cs.changes.push(created(
                Address::RoleManagedPolicy(key.clone(), arn.clone()),
                attach(r, arn),
                json!(arn),
            ));
        }
        pod_identity::diff(desired, r, associations, cs);
        let none = BTreeMap::new();
        close_created(cs, resource, role_digests(r, None), tagging(&none, &tags));
        return;
    }

    let recorded = Recorded::parse(lr.tags.get(APPLIED_TAG).map(String::as_str));
    let mut live_digests = role_digests(r, Some(lr));
    let none = LiveAssociations::new();
    if let Some(d) = pod_identity::digest(r, Some(associations.unwrap_or(&none))) {
        live_digests.insert("pod_identity", d);
    }
    let start = cs.changes.len();

    if lr.path != r.path_or_default() && r.path.is_some() {
        cs.warnings.push(Problem {
            address: resource.address(),
            message: format!(
                "the role's path is `{}` in AWS but `{}` in the plan file",
                lr.path,
                r.path_or_default()
            ),
            hint: Some("IAM cannot change a role's path; s3ward leaves it. Recreate the role by hand to move it".into()),
            place: None,
        });
    }
    // Role settings (description, session length), when declared.
    let desc_differs = r.description.is_some() && r.description != lr.description;
    let max_differs =
        r.max_session_duration.is_some() && r.max_session_duration != lr.max_session_duration;
    if desc_differs || max_differs {
        let mut c = change(
            Address::Role(key.clone()),
            Action::Update,
            Write::UpdateRole {
                name: r.name.clone(),
                description: r.description.clone(),
                max_session_duration: r.max_session_duration,
            },
        );
        let mut before = serde_json::Map::new();
        let mut after = serde_json::Map::new();
        if desc_differs {
            before.insert("description".into(), json!(lr.description));
            after.insert("description".into(), json!(r.description));
        }
        if max_differs {
            before.insert(
                "max_session_duration".into(),
                json!(lr.max_session_duration),
            );
            after.insert("max_session_duration".into(), json!(r.max_session_duration));
        }
        c.before = Some(Value::Object(before));
        c.after = Some(Value::Object(after));
        cs.changes.push(c);
    }
    // Trust.
    if let Some(live_trust) = &lr.trust {
        let same = matches!(&live_trust.doc, Ok(d) if crate::policy::equivalent(d, &r.trust));
        if !same {
            let mut c = change(
                Address::RoleTrust(key.clone()),
                Action::Update,
                Write::UpdateTrust {
                    role: r.name.clone(),
                    policy: r.trust.to_json(),
                },
            );
            c.before = Some(live_doc_value(live_trust));
            c.after = Some(doc_value(&r.trust));
            c.policy_diff = live_trust
                .doc
                .as_ref()
                .ok()
                .map(|d| policy_diff(Some(d), Some(&r.trust)));
            c.notes = deleted_identity_notes(live_trust);
            if let Err(e) = &live_trust.doc {
                c.notes.push(format!(
                    "the live trust policy is not a valid document: {e}"
                ));
            }
            cs.changes.push(c);
        }
    }
    // Inline policies: the desired ones, then undeclared ones in exclusive mode.
    let want = desired_inline(r);
    for (name, doc) in &want {
        let live_doc = lr.inline.get(name);
        let same =
            matches!(live_doc.map(|d| &d.doc), Some(Ok(d)) if crate::policy::equivalent(d, doc));
        if same {
            continue;
        }
        let mut c = change(
            Address::RoleInlinePolicy(key.clone(), name.clone()),
            create_or_update(live_doc.is_some()),
            put_inline(r, name, doc),
        );
        c.before = live_doc.map(live_doc_value);
        c.after = Some(doc_value(doc));
        c.policy_diff = match live_doc.map(|d| &d.doc) {
            None => Some(policy_diff(None, Some(doc))),
            Some(Ok(d)) => Some(policy_diff(Some(d), Some(doc))),
            Some(Err(e)) => {
                c.notes.push(format!(
                    "the live inline policy is not a valid document: {e}"
                ));
                None
            }
        };
        cs.changes.push(c);
    }
    for (name, live_doc) in &lr.inline {
        if want.contains_key(name) {
            continue;
        }
        // `s3ward-grants` always belongs to s3ward; others only in exclusive mode.
        let ours = name == GRANTS_POLICY_NAME
            || (r.inline_policies.is_some() && r.inline_policies_mode == Mode::Exclusive);
        if !ours {
            continue;
        }
        let mut c = change(
            Address::RoleInlinePolicy(key.clone(), name.clone()),
            Action::Delete,
            Write::DeleteRolePolicy {
                role: r.name.clone(),
                name: name.clone(),
            },
        );
        c.before = Some(live_doc_value(live_doc));
        c.reason = Some(if name == GRANTS_POLICY_NAME {
            "no grant in the plan file names this role any more".into()
        } else {
            "not declared, and `inline_policies_mode` is exclusive".into()
        });
        cs.changes.push(c);
    }
    inline_size(r, lr, &want, cs);
    // Managed policies.
    if let (Some(declared), Setting::Present(attached)) = (&r.managed_policies, &lr.managed) {
        for arn in declared.difference(attached) {
            let mut c = change(
                Address::RoleManagedPolicy(key.clone(), arn.clone()),
                Action::Create,
                attach(r, arn),
            );
            c.after = Some(json!(arn));
            cs.changes.push(c);
        }
        if r.managed_policies_mode == Mode::Exclusive {
            for arn in attached.difference(declared) {
                let mut c = change(
                    Address::RoleManagedPolicy(key.clone(), arn.clone()),
                    Action::Delete,
                    Write::DetachRolePolicy {
                        role: r.name.clone(),
                        arn: arn.clone(),
                    },
                );
                c.before = Some(json!(arn));
                c.reason = Some(
                    "attached but not declared, and `managed_policies_mode` is exclusive".into(),
                );
                cs.changes.push(c);
            }
        }
    }
    // Tags: declared keys only.
    let write = Write::TagRole {
        role: r.name.clone(),
        tags: r.tags.clone(),
    };
    cs.changes.extend(declared_tags(
        Address::RoleTags(key.clone()),
        &r.tags,
        &lr.tags,
        write,
    ));
    pod_identity::diff(desired, r, associations, cs);
    close_existing(
        cs,
        start,
        resource,
        (recorded, live_digests),
        role_digests(r, None),
        tagging(&lr.tags, &r.tags),
    );
}

/// IAM's size limit covers all of a role's inline policies: when s3ward writes one, count
/// those it writes and the live ones that stay (undeclared ones that it does not delete).
fn inline_size(
    r: &Role,
    lr: &LiveRole,
    want: &BTreeMap<String, &PolicyDocument>,
    cs: &mut ChangeSet,
) {
    let role_addr = Address::Role(r.key.clone());
    let writes = cs.changes.iter().any(|c| {
        c.address.resource() == role_addr.resource()
            && matches!(c.write, Write::PutRolePolicy { .. })
    });
    if !writes {
        return;
    }
    let written: usize = want.values().map(|d| lint::iam_size(d)).sum();
    let deleted = |name: &str| {
        cs.changes.iter().any(|c| {
            c.address == Address::RoleInlinePolicy(r.key.clone(), name.to_string())
                && matches!(c.write, Write::DeleteRolePolicy { .. })
        })
    };
    let staying: Vec<(String, usize)> = lr
        .inline
        .iter()
        .filter(|(name, _)| !want.contains_key(*name) && !deleted(name))
        .map(|(name, d)| {
            let size = rules::inline_policy_chars(d.doc.as_ref().map_err(|_| d.text.as_str()));
            (name.clone(), size)
        })
        .collect();
    if let Some(f) = rules::inline_policies_size(&r.name, written, &staying) {
        cs.problems.push(problem(role_addr, f));
    }
}

/// The inline policies s3ward writes for a role: declared ones and `s3ward-grants`.
pub(super) fn desired_inline(r: &Role) -> BTreeMap<String, &PolicyDocument> {
    let mut out: BTreeMap<String, &PolicyDocument> = r
        .inline_policies
        .iter()
        .flatten()
        .map(|(n, d)| (n.clone(), d))
        .collect();
    if let Some(g) = &r.grants_policy {
        out.insert(GRANTS_POLICY_NAME.to_string(), g);
    }
    out
}

/// Digests of a role's managed settings: desired (`live = None`) or live.
pub fn role_digests(r: &Role, live: Option<&LiveRole>) -> Digests {
    let mut d = Digests::new();
    let inline_names = |names: &mut Vec<String>| {
        names.sort();
        names.dedup();
    };
    match live {
        None => {
            d.insert(
                "role",
                applied::digest(&format!("{:?} {:?}", r.description, r.max_session_duration)),
            );
            d.insert("trust", statements_digest(&r.trust.statements));
            if let Some(m) = &r.managed_policies {
                d.insert("managed", applied::digest(&format!("{m:?}")));
            }
            let parts: Vec<String> = desired_inline(r)
                .iter()
                .map(|(n, doc)| format!("{n}={}", statements_digest(&doc.statements)))
                .collect();
            d.insert("inline", applied::digest(&parts.join(";")));
            d.insert("tags", tags_digest(&r.tags, None));
            if let Some(p) = pod_identity::digest(r, None) {
                d.insert("pod_identity", p);
            }
        }
        Some(lr) => {
            let desc = if r.description.is_some() {
                lr.description.clone()
            } else {
                None
            };
            let max = if r.max_session_duration.is_some() {
                lr.max_session_duration
            } else {
                None
            };
            d.insert("role", applied::digest(&format!("{desc:?} {max:?}")));
            d.insert("trust", doc_digest(lr.trust.as_ref()));
            if let (Some(declared), Setting::Present(attached)) = (&r.managed_policies, &lr.managed)
            {
                let set: BTreeSet<&String> = match r.managed_policies_mode {
                    Mode::Exclusive => attached.iter().collect(),
                    Mode::Additive => attached.intersection(declared).collect(),
                };
                d.insert("managed", applied::digest(&format!("{set:?}")));
            }
            let mut names: Vec<String> = desired_inline(r).keys().cloned().collect();
            // Undeclared ones count only where s3ward owns them (exclusive mode); in additive
            // mode they are read for the size limit, not managed.
            let exclusive =
                r.inline_policies.is_some() && r.inline_policies_mode == Mode::Exclusive;
            if lr.inline_complete && exclusive {
                names.extend(lr.inline.keys().cloned());
            }
            inline_names(&mut names);
            let parts: Vec<String> = names
                .iter()
                .filter_map(|n| {
                    lr.inline
                        .get(n)
                        .map(|doc| format!("{n}={}", doc_digest(Some(doc))))
                })
                .collect();
            d.insert("inline", applied::digest(&parts.join(";")));
            d.insert("tags", tags_digest(&r.tags, Some(&lr.tags)));
        }
    }
    d
}
