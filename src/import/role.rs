//! One live role as a `[roles.KEY]` entry: path, description, session length, tags,
//! managed policies, inline policies (all but `s3ward-grants`, which the bucket grants write),
//! and its trust as typed entries or raw ([`trust`](super::trust)).
//!
//! Pure: reads the [`RoleIn`] it is given, and comments on what it cannot reproduce.

use super::build::plan_tags;
use super::model::{RoleOut, TrustOut};
use super::{RoleIn, trust};
use crate::desired::GRANTS_POLICY_NAME;
use crate::state::Setting;

pub(super) fn role(
    r: &RoleIn,
    key: &str,
    account: &str,
    names: &trust::TrustNames<'_>,
    raw_trust: bool,
) -> RoleOut {
    let live = &r.live;
    let mut comments = Vec::new();
    let trust = match live.trust.as_ref().map(|t| &t.doc) {
        Some(Ok(doc)) if raw_trust => TrustOut::Raw {
            json: doc.to_pretty(),
            reason: "the typed entries read from it did not write it again".into(),
        },
        Some(Ok(doc)) => trust::trust_out(doc, names),
        Some(Err(e)) => TrustOut::Raw {
            json: live
                .trust
                .as_ref()
                .map(|t| t.text.clone())
                .unwrap_or_default(),
            reason: format!("it is not a valid policy document ({e})"),
        },
        None => TrustOut::Raw {
            json: r#"{"Version": "2012-10-17", "Statement": []}"#.into(),
            reason: "IAM returned none".into(),
        },
    };
    if live.inline.contains_key(GRANTS_POLICY_NAME) {
        comments.push(format!(
            "Its `{GRANTS_POLICY_NAME}` inline policy is written from the grants to `role.{key}` \
             in the buckets below."
        ));
    }
    let mut inline = Vec::new();
    for (name, doc) in &live.inline {
        if name == GRANTS_POLICY_NAME {
            continue;
        }
        match &doc.doc {
            Ok(d) => inline.push((name.clone(), d.to_pretty())),
            Err(e) => {
                comments.push(format!(
                    "Inline policy `{name}` is not a valid policy document ({e}); it is kept as \
                     text, and s3ward will refuse it until it is fixed."
                ));
                inline.push((name.clone(), doc.text.clone()));
            }
        }
    }
    let (tags, tag_comment) = plan_tags(&live.tags);
    comments.extend(tag_comment);
    let managed = match &live.managed {
        Setting::Present(set) => set.iter().cloned().collect(),
        _ => Vec::new(),
    };
    RoleOut {
        key: key.to_string(),
        account: account.to_string(),
        name: r.name.clone(),
        arn: live.arn.clone(),
        path: (live.path != "/" && !live.path.is_empty()).then(|| live.path.clone()),
        description: live.description.clone().filter(|d| !d.is_empty()),
        max_session_duration: live.max_session_duration,
        tags,
        managed,
        trust,
        inline,
        comments,
    }
}
