//! EKS pod identity associations: create one for a service account, or point one at
//! another role. Both idempotent: a create that finds an association already there (an
//! earlier apply whose answer was lost, or one made by hand since the plan) points that one
//! at the role instead; an update sends the same role ARN again harmlessly. s3ward never
//! deletes an association (docs/decisions.md).

use std::collections::HashMap;

use crate::aws::{AwsError, Op, RetryPolicy};
use crate::desired::AssociationWrite;
use crate::live::Session;

/// Performs one [`AssociationWrite`], in the cluster's account and region.
pub(super) async fn write(session: &Session, a: &AssociationWrite) -> Result<(), AwsError> {
    match &a.association_id {
        Some(id) => update(session, a, id).await,
        None => create(session, a).await,
    }
}

async fn create(session: &Session, a: &AssociationWrite) -> Result<(), AwsError> {
    let aws = &session.aws;
    let eks = session.eks(&a.account, &a.region);
    let tags: HashMap<String, String> = a.tags.clone().into_iter().collect();
    let r = aws
        .call(
            Op::eks("CreatePodIdentityAssociation", &a.cluster),
            RetryPolicy::STANDARD,
            || {
                eks.create_pod_identity_association()
                    .cluster_name(&a.cluster)
                    .namespace(&a.namespace)
                    .service_account(&a.service_account)
                    .role_arn(&a.role_arn)
                    .set_tags(Some(tags.clone()))
                    .send()
            },
        )
        .await;
    let in_use = match r {
        Ok(_) => return Ok(()),
        Err(e) if e.code_is("ResourceInUseException") => e,
        Err(e) => return Err(e),
    };
    // One association per service account: find it, and point it at the role.
    let out = aws
        .call(
            Op::eks("ListPodIdentityAssociations", &a.cluster),
            RetryPolicy::STANDARD,
            || {
                eks.list_pod_identity_associations()
                    .cluster_name(&a.cluster)
                    .namespace(&a.namespace)
                    .service_account(&a.service_account)
                    .send()
            },
        )
        .await?;
    let found = out
        .associations()
        .iter()
        .find(|s| s.service_account() == Some(a.service_account.as_str()))
        .and_then(|s| s.association_id());
    match found {
        Some(id) => update(session, a, id).await,
        None => Err(in_use),
    }
}

async fn update(session: &Session, a: &AssociationWrite, id: &str) -> Result<(), AwsError> {
    let eks = session.eks(&a.account, &a.region);
    session
        .aws
        .call(
            Op::eks("UpdatePodIdentityAssociation", &a.cluster),
            RetryPolicy::STANDARD,
            || {
                eks.update_pod_identity_association()
                    .cluster_name(&a.cluster)
                    .association_id(id)
                    .role_arn(&a.role_arn)
                    .send()
            },
        )
        .await
        .map(drop)
}
