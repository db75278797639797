//! Reading the pod identity associations that `pod_identity` trust entries ask for (EKS):
//! ListPodIdentityAssociations filtered by namespace and service account (paginated; EKS
//! allows one association per service account of a cluster), then
//! DescribePodIdentityAssociation of the match for its role ARN and tags. In the cluster's
//! region and account; an account s3ward has no session for is not read.

use std::collections::BTreeMap;

use super::{Session, Setting};
use crate::aws::{Op, RetryPolicy};
use crate::change::Address;
use crate::desired::{PodIdentityAssociation, Role};
use crate::error::Error;
use crate::state::LiveAssociation;

/// Reads every association of `r`'s `pod_identity` entries, by `CLUSTER/NS/SA`.
pub async fn read_associations(
    session: &Session,
    r: &Role,
) -> Result<BTreeMap<String, Setting<LiveAssociation>>, Error> {
    let reads = r.pod_identity.iter().map(|a| async move {
        let addr = Address::RolePodIdentity(r.key.clone(), a.key());
        let state = match session.accounts.values().find(|s| s.id == a.account_id) {
            None => Setting::NotRead,
            Some(account) => read_one(session, &account.key, a)
                .await
                .map_err(|e| Error::aws(addr.to_string(), e))?,
        };
        Ok::<_, Error>((a.key(), state))
    });
    futures::future::join_all(reads).await.into_iter().collect()
}

async fn read_one(
    session: &Session,
    account: &str,
    a: &PodIdentityAssociation,
) -> Result<Setting<LiveAssociation>, crate::aws::AwsError> {
    let aws = &session.aws;
    let eks = session.eks(account, &a.region);
    let key = a.key();
    let mut next: Option<String> = None;
    let id = loop {
        let token = next.clone();
        let out = aws
            .call(
                Op::eks("ListPodIdentityAssociations", &key),
                RetryPolicy::STANDARD,
                || {
                    eks.list_pod_identity_associations()
                        .cluster_name(&a.cluster)
                        .namespace(&a.namespace)
                        .service_account(&a.service_account)
                        .set_next_token(token.clone())
                        .send()
                },
            )
            .await?;
        let found = out.associations().iter().find(|s| {
            s.namespace() == Some(a.namespace.as_str())
                && s.service_account() == Some(a.service_account.as_str())
        });
        if let Some(id) = found.and_then(|s| s.association_id()) {
            break id.to_string();
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_string()),
            _ => return Ok(Setting::Absent),
        }
    };
    let r = aws
        .call(
            Op::eks("DescribePodIdentityAssociation", &key),
            RetryPolicy::STANDARD,
            || {
                eks.describe_pod_identity_association()
                    .cluster_name(&a.cluster)
                    .association_id(&id)
                    .send()
            },
        )
        .await;
    let out = match r {
        Ok(out) => out,
        // Deleted between the list and the describe.
        Err(e) if e.code_is("ResourceNotFoundException") => return Ok(Setting::Absent),
        Err(e) => return Err(e),
    };
    let Some(d) = out.association() else {
        return Ok(Setting::Absent);
    };
    Ok(Setting::Present(LiveAssociation {
        id,
        role_arn: d.role_arn().unwrap_or_default().to_string(),
        tags: d
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    }))
}
