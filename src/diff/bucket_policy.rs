//! The diff of a bucket's policy: what s3ward owns of the live policy (all of it, or in
//! `merge` mode its own `Sid` prefix), compared with the plan file's statements, and the
//! document to write (keeping the statements it does not own, and their `Version`). Pure:
//! no AWS, no output; the self-lockout rule itself lives in `rules`.

use serde_json::Value;

use super::{change, deleted_identity_notes, doc_value};
use crate::change::{Action, Address, ChangeSet, Problem, Write};
use crate::desired::{Bucket, PolicyMode};
use crate::policy::canonical::has_policy_variable;
use crate::policy::diff::diff as policy_diff;
use crate::policy::lint;
use crate::policy::{PolicyDocument, Statement};
use crate::state::LiveBucket;

/// Adds the change to `b`'s policy, if any, with its warnings and problems.
pub(super) fn diff(b: &Bucket, lb: &LiveBucket, cs: &mut ChangeSet) {
    let key = &b.key;
    let addr = Address::BucketPolicy(key.clone());
    let live = lb.policy.present();
    let mut notes = live.map(deleted_identity_notes).unwrap_or_default();
    let desired_doc = b.policy_document();
    // What s3ward owns of the live policy, and what it must keep.
    let (owned_live, foreign): (Option<PolicyDocument>, Vec<Statement>) = match (
        b.policy_mode,
        live,
    ) {
        (_, None) => (None, Vec::new()),
        (PolicyMode::Authoritative, Some(d)) => match &d.doc {
            Ok(doc) => (Some(doc.clone()), Vec::new()),
            Err(e) => {
                // Unparseable: s3ward owns it all, so overwriting it loses nothing managed.
                cs.warnings.push(Problem {
                    address: addr.clone(),
                    message: format!("the live bucket policy is not a valid policy document: {e}"),
                    hint: Some("s3ward will replace it with the plan file's policy".into()),
                    place: None,
                });
                let mut c = change(
                    addr.clone(),
                    if desired_doc.is_some() {
                        Action::Update
                    } else {
                        Action::Delete
                    },
                    match &desired_doc {
                        Some(doc) => Write::PutBucketPolicy {
                            bucket: b.name.clone(),
                            policy: doc.to_json(),
                            merge: b.merge_prefix(),
                        },
                        None => Write::DeleteBucketPolicy {
                            bucket: b.name.clone(),
                            merge: b.merge_prefix(),
                        },
                    },
                );
                c.before = Some(Value::String(d.text.clone()));
                c.after = desired_doc.as_ref().map(doc_value);
                cs.changes.push(c);
                return;
            }
        },
        (PolicyMode::Merge, Some(d)) => match &d.doc {
            Ok(doc) => {
                let (mine, theirs): (Vec<Statement>, Vec<Statement>) =
                    doc.statements.iter().cloned().partition(|s| b.owns(s));
                let owned = (!mine.is_empty()).then(|| PolicyDocument {
                    version: doc.version.clone(),
                    id: None,
                    statements: mine,
                });
                // Unique ids in statements s3ward does not own are only worth a warning.
                if !notes.is_empty()
                    && owned
                        .as_ref()
                        .is_none_or(|o| lint::deleted_identities(o).is_empty())
                {
                    for n in notes.drain(..) {
                        cs.warnings.push(Problem {
                            address: addr.clone(),
                            message: n,
                            hint: Some("`policy_mode = \"merge\"`: s3ward leaves statements it does not own alone".into()),
                            place: None,
                        });
                    }
                }
                (owned, theirs)
            }
            Err(e) => {
                cs.problems.push(Problem {
                    address: addr.clone(),
                    message: format!("the live bucket policy is not a valid policy document: {e}"),
                    hint: Some("in `merge` mode s3ward keeps statements it does not own, and cannot find them in this text; fix the policy by hand, or use `policy_mode = \"authoritative\"`".into()),
                    place: None,
                });
                return;
            }
        },
    };
    let same = match (&owned_live, &desired_doc) {
        (None, None) => true,
        (Some(a), Some(d)) => crate::policy::equivalent(a, d),
        _ => false,
    };
    if same {
        return;
    }
    // The document to write: the foreign statements (merge mode) plus s3ward's.
    let mut statements = foreign.clone();
    statements.extend(desired_doc.iter().flat_map(|d| d.statements.clone()));
    // The Version to write: 2012-10-17, unless statements kept in merge mode hold `${` under
    // 2008-10-17 (which reads it as text): then theirs, since rewriting it would turn their
    // text into policy variables. s3ward's own statements with `${` need 2012-10-17; both at
    // once cannot be written as one document.
    let old_foreign = live.and_then(|l| l.doc.as_ref().ok()).filter(|d| {
        d.version.as_deref() != Some("2012-10-17") && foreign.iter().any(has_policy_variable)
    });
    if let Some(live_doc) = old_foreign
        && desired_doc
            .iter()
            .flat_map(|d| &d.statements)
            .any(has_policy_variable)
    {
        cs.problems.push(Problem {
            address: addr.clone(),
            message: format!(
                "the live bucket policy's `Version` is `{}` and statements s3ward does not own hold `${{…}}`, which that version reads as text; the plan file's statements hold `${{…}}` as policy variables, which need `2012-10-17`",
                live_doc.version.as_deref().unwrap_or("2008-10-17")
            ),
            hint: Some("move the other statements to `2012-10-17` (writing a literal `${` as `${$}{`), then plan again".into()),
            place: None,
        });
        return;
    }
    let write = if statements.is_empty() {
        Write::DeleteBucketPolicy {
            bucket: b.name.clone(),
            merge: b.merge_prefix(),
        }
    } else {
        let version = match old_foreign {
            Some(d) => d.version.clone(),
            None => Some("2012-10-17".into()),
        };
        Write::PutBucketPolicy {
            bucket: b.name.clone(),
            policy: PolicyDocument {
                version,
                id: None,
                statements,
            }
            .to_json(),
            merge: b.merge_prefix(),
        }
    };
    let action = match (&owned_live, &desired_doc) {
        (None, Some(_)) => Action::Create,
        (Some(_), None) => Action::Delete,
        _ => Action::Update,
    };
    // When the whole live policy is going away in merge mode it's a delete of our part only.
    let action = if action == Action::Create && live.is_some() {
        Action::Update
    } else {
        action
    };
    let mut c = change(addr, action, write);
    c.before = owned_live.as_ref().map(doc_value);
    c.after = desired_doc.as_ref().map(doc_value);
    c.policy_diff = Some(policy_diff(owned_live.as_ref(), desired_doc.as_ref()));
    if b.policy_mode == PolicyMode::Merge && !foreign.is_empty() {
        c.reason = Some(if foreign.len() == 1 {
            "`policy_mode = \"merge\"`: 1 statement not owned by s3ward is kept as it is"
                .to_string()
        } else {
            format!(
                "`policy_mode = \"merge\"`: {} statements not owned by s3ward are kept as they are",
                foreign.len()
            )
        });
    }
    c.notes = notes;
    cs.changes.push(c);
}
