//! The writes of a role that are more than one call: adopting a role a retried CreateRole
//! meets (only when its tags say this plan made it), tagging, and the `s3ward:applied`
//! record; and the small rules they share (IAM tags, "already gone is done").

use std::collections::BTreeMap;

use crate::aws::{AwsError, Op, RetryPolicy};
use crate::desired::APPLIED_TAG;
use crate::live::Session;

/// After a retried CreateRole answered `EntityAlreadyExists`: the role is the one an earlier
/// attempt created when it carries every tag that attempt sent (`managed-by`, `s3ward:plan`
/// and the declared tags); otherwise the error stands, saying why.
pub(super) async fn adopt_created_role(
    session: &Session,
    account: &str,
    name: &str,
    sent: &[aws_sdk_iam::types::Tag],
    exists: AwsError,
) -> Result<(), AwsError> {
    let iam = session.iam(account);
    let live = session
        .aws
        .call(Op::iam("GetRole", name), RetryPolicy::STANDARD, || {
            iam.get_role().role_name(name).send()
        })
        .await?;
    let live_tags: BTreeMap<String, String> = live
        .role()
        .map(|r| {
            r.tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let sent: BTreeMap<String, String> = sent
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    if created_by(&sent, &live_tags) {
        Ok(())
    } else {
        let mut e = exists;
        e.message.push_str(
            "; a role of this name appeared during the apply, and its tags do not say this plan created it: s3ward does not take it over",
        );
        Err(e)
    }
}

/// Whether a role with `live` tags is the one created with `sent` tags.
fn created_by(sent: &BTreeMap<String, String>, live: &BTreeMap<String, String>) -> bool {
    sent.iter().all(|(k, v)| live.get(k) == Some(v))
}

pub(super) fn iam_tags(tags: &BTreeMap<String, String>) -> Vec<aws_sdk_iam::types::Tag> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("key and value are set")
        })
        .collect()
}

pub(super) fn gone_is_done<T>(r: Result<T, AwsError>) -> Result<(), AwsError> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.code_is("NoSuchEntity") => Ok(()),
        Err(e) => Err(e),
    }
}

pub(super) async fn tag_role(
    session: &Session,
    account: &str,
    role: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    let iam = session.iam(account);
    let tags = iam_tags(tags);
    session
        .aws
        .call(Op::iam("TagRole", role), RetryPolicy::STANDARD, || {
            iam.tag_role()
                .role_name(role)
                .set_tags(Some(tags.clone()))
                .send()
        })
        .await
        .map(drop)
}

/// Records what was applied: the `s3ward:applied` tag on a role.
pub async fn record_role(
    session: &Session,
    account: &str,
    role: &str,
    digest: &str,
) -> Result<(), AwsError> {
    let tags = BTreeMap::from([(APPLIED_TAG.to_string(), digest.to_string())]);
    tag_role(session, account, role, &tags).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_is_adopted_only_with_every_tag_its_creation_sent() {
        let sent = BTreeMap::from([
            ("managed-by".to_string(), "s3ward".to_string()),
            ("s3ward:plan".to_string(), "ml-models".to_string()),
        ]);
        let mut live = sent.clone();
        live.insert("s3ward:applied".into(), "x".into());
        assert!(created_by(&sent, &live));
        live.insert("s3ward:plan".into(), "other-plan".into());
        assert!(!created_by(&sent, &live), "another plan's role");
        assert!(
            !created_by(&sent, &BTreeMap::new()),
            "someone's untagged role"
        );
    }
}
