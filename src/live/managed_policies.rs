//! Reading the documents of managed policies (IAM GetPolicy for the default version, then
//! GetPolicyVersion), for access evaluation (`why --live`): what a role's attached policies
//! allow is in these documents, not in the role. Each policy is read once per run by the
//! caller, which keeps what it read by ARN.

use std::collections::BTreeMap;

use super::{LiveDocument, Session};
use crate::aws::{Op, RetryPolicy};
use crate::change::Address;
use crate::error::Error;

/// The default version's document of each of `arns`, read with `account`'s session (AWS
/// managed policies are readable from any account). A policy that no longer exists is left
/// out. Errors name `address`.
pub async fn read(
    session: &Session,
    account: &str,
    arns: &[String],
    address: &Address,
) -> Result<BTreeMap<String, LiveDocument>, Error> {
    let aws = &session.aws;
    let iam = session.iam(account);
    let reads = arns.iter().map(|arn| {
        let iam = iam.clone();
        async move {
            let policy = aws
                .call(Op::iam("GetPolicy", arn), RetryPolicy::STANDARD, || {
                    iam.get_policy().policy_arn(arn).send()
                })
                .await;
            let policy = match policy {
                Ok(p) => p,
                Err(e) if e.code_is("NoSuchEntity") => return Ok(None),
                Err(e) => return Err(e),
            };
            let Some(version) = policy.policy().and_then(|p| p.default_version_id()) else {
                return Ok(None);
            };
            let out = aws
                .call(
                    Op::iam("GetPolicyVersion", arn),
                    RetryPolicy::STANDARD,
                    || {
                        iam.get_policy_version()
                            .policy_arn(arn)
                            .version_id(version)
                            .send()
                    },
                )
                .await?;
            Ok(out
                .policy_version()
                .and_then(|v| v.document())
                .map(|d| (arn.clone(), LiveDocument::from_text(d))))
        }
    });
    let mut out = BTreeMap::new();
    for r in futures::future::join_all(reads).await {
        if let Some((arn, doc)) = r.map_err(|e| Error::aws(address.to_string(), e))? {
            out.insert(arn, doc);
        }
    }
    Ok(out)
}
