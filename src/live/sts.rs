//! Accounts: who the ambient credentials are, and credentials for each account of the plan
//! file (STS AssumeRole where the plan says `assume_role`). Resolved once per run.
//!
//! An account without `assume_role` must be the ambient account; a mismatch is an error
//! before any read, so s3ward never reads (or writes) one account believing it is another.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use aws_credential_types::Credentials;

use crate::aws::{Aws, AwsError, Op, RetryPolicy};
use crate::desired::{Account, Desired};
use crate::error::Error;
use crate::policy::Identity;

/// Credentials and identity for one account of the plan file.
#[derive(Clone)]
pub struct AccountSession {
    pub key: String,
    pub id: String,
    /// `None`: the ambient credentials.
    creds: Option<Credentials>,
    /// The caller ARN in that account (assumed-role session or the ambient identity).
    pub arn: String,
    /// The plan file's `assume_role`: the role's ARN with its path (STS answers without it).
    pub role_arn: Option<String>,
    /// The ambient caller's ARN, which assumed `role_arn`.
    pub ambient_arn: String,
}

impl std::fmt::Debug for AccountSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credentials are never printed, not even in debug output.
        f.debug_struct("AccountSession")
            .field("key", &self.key)
            .field("id", &self.id)
            .field("arn", &self.arn)
            .field("role_arn", &self.role_arn)
            .finish_non_exhaustive()
    }
}

impl AccountSession {
    /// Who applies in this account. For an assumed role, the path of the role comes from
    /// `assume_role` (GetCallerIdentity and AssumeRole name the session, without the path);
    /// the ambient caller that assumed it counts as s3ward too.
    pub fn identity(&self) -> Identity {
        let who = Identity::from_caller_arn(&self.id, &self.arn).with_via(&self.ambient_arn);
        match &self.role_arn {
            Some(role) => who.with_role_arn(role),
            None => who,
        }
    }
}

/// Everything needed to call AWS for the plan file's accounts. Clients are built once per
/// account (and region, for S3) and shared.
#[derive(Clone, Debug)]
pub struct Session {
    pub aws: Aws,
    pub ambient_account: String,
    pub ambient_arn: String,
    pub accounts: BTreeMap<String, AccountSession>,
    s3_clients: Arc<Mutex<HashMap<(String, String), aws_sdk_s3::Client>>>,
    iam_clients: Arc<Mutex<HashMap<String, aws_sdk_iam::Client>>>,
}

impl Session {
    /// Resolves the accounts named in `keys` (all of the plan's when `None`).
    pub async fn connect(
        aws: Aws,
        desired: &Desired,
        keys: Option<&[String]>,
    ) -> Result<Session, Error> {
        let wanted: Vec<&Account> = desired
            .accounts
            .values()
            .filter(|a| keys.is_none_or(|k| k.contains(&a.key)))
            .collect();
        Session::connect_accounts(aws, &wanted, &desired.name).await
    }

    /// Resolves `wanted`: one GetCallerIdentity, then AssumeRole where asked. `plan_name`
    /// goes into the STS session name, so CloudTrail shows which plan acted.
    pub async fn connect_accounts(
        aws: Aws,
        wanted: &[&Account],
        plan_name: &str,
    ) -> Result<Session, Error> {
        let sts = aws.sts(None);
        let who = aws
            .call(
                Op::sts("GetCallerIdentity", ""),
                RetryPolicy::STANDARD,
                || sts.get_caller_identity().send(),
            )
            .await
            .map_err(credentials_error)?;
        let ambient_account = who.account().unwrap_or_default().to_string();
        let ambient_arn = who.arn().unwrap_or_default().to_string();
        // Mismatches first: before any AssumeRole or read.
        for a in wanted {
            if a.assume_role.is_none() && a.id != ambient_account {
                return Err(Error::AmbientAccountMismatch {
                    key: a.key.clone(),
                    declared: a.id.clone(),
                    ambient: ambient_account.clone(),
                });
            }
        }
        let session_name = session_name(plan_name);
        let ambient = &ambient_arn;
        let assumed = futures::future::join_all(wanted.iter().map(|a| {
            let aws = aws.clone();
            let session_name = session_name.clone();
            async move {
                let Some(role) = &a.assume_role else {
                    return Ok(AccountSession {
                        key: a.key.clone(),
                        id: a.id.clone(),
                        creds: None,
                        arn: ambient.clone(),
                        role_arn: None,
                        ambient_arn: ambient.clone(),
                    });
                };
                let sts = aws.sts(None);
                let out = aws
                    .call(Op::sts("AssumeRole", role), RetryPolicy::STANDARD, || {
                        sts.assume_role()
                            .role_arn(role)
                            .role_session_name(&session_name)
                            .set_external_id(a.external_id.clone())
                            .send()
                    })
                    .await
                    .map_err(|e| Error::aws(format!("account.{}", a.key), e))?;
                let c = out.credentials().ok_or_else(|| {
                    Error::aws(
                        format!("account.{}", a.key),
                        AwsError {
                            service: "sts",
                            operation: "AssumeRole",
                            code: None,
                            message: "the response held no credentials".into(),
                            status: None,
                            attempts: 1,
                            no_response: false,
                        },
                    )
                })?;
                let arn = out
                    .assumed_role_user()
                    .map(|u| u.arn().to_string())
                    .unwrap_or_default();
                let got = arn.split(':').nth(4).unwrap_or_default().to_string();
                if got != a.id {
                    return Err(Error::AssumedWrongAccount {
                        key: a.key.clone(),
                        role: role.clone(),
                        declared: a.id.clone(),
                        got,
                    });
                }
                let creds = Credentials::new(
                    c.access_key_id(),
                    c.secret_access_key(),
                    Some(c.session_token().to_string()),
                    std::time::SystemTime::try_from(*c.expiration()).ok(),
                    "s3ward-assume-role",
                );
                Ok(AccountSession {
                    key: a.key.clone(),
                    id: a.id.clone(),
                    creds: Some(creds),
                    arn,
                    role_arn: Some(role.clone()),
                    ambient_arn: ambient.clone(),
                })
            }
        }))
        .await;
        let mut accounts = BTreeMap::new();
        for r in assumed {
            let s = r?;
            accounts.insert(s.key.clone(), s);
        }
        Ok(Session {
            aws,
            ambient_account,
            ambient_arn,
            accounts,
            s3_clients: Arc::default(),
            iam_clients: Arc::default(),
        })
    }

    pub fn account(&self, key: &str) -> &AccountSession {
        self.accounts
            .get(key)
            .unwrap_or_else(|| panic!("account `{key}` was not resolved"))
    }

    pub fn s3(&self, account: &str, region: &str) -> aws_sdk_s3::Client {
        let mut map = self.s3_clients.lock().expect("client cache");
        map.entry((account.to_string(), region.to_string()))
            .or_insert_with(|| self.aws.s3(region, self.account(account).creds.as_ref()))
            .clone()
    }

    pub fn iam(&self, account: &str) -> aws_sdk_iam::Client {
        let mut map = self.iam_clients.lock().expect("client cache");
        map.entry(account.to_string())
            .or_insert_with(|| self.aws.iam(self.account(account).creds.as_ref()))
            .clone()
    }

    /// A KMS client for a key in `region`, acting in `account`.
    pub fn kms(&self, account: &str, region: &str) -> aws_sdk_kms::Client {
        self.aws.kms(region, self.account(account).creds.as_ref())
    }

    /// An EKS client for `account` in `region` (not cached: a plan names few clusters).
    pub fn eks(&self, account: &str, region: &str) -> aws_sdk_eks::Client {
        self.aws.eks(region, self.account(account).creds.as_ref())
    }

    /// The region of a bucket: its own, the plan's, or the ambient one.
    pub fn bucket_region(&self, bucket: &crate::desired::Bucket) -> String {
        bucket
            .region
            .clone()
            .unwrap_or_else(|| self.aws.default_region())
    }
}

fn credentials_error(e: AwsError) -> Error {
    if e.is_credentials_failure() {
        Error::NoCredentials { source: e }
    } else {
        Error::aws(None, e)
    }
}

/// `s3ward-PLAN`, cut to what STS accepts (2–64 of `[\w+=,.@-]`).
fn session_name(plan: &str) -> String {
    let mut s: String = format!("s3ward-{plan}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    s.truncate(64);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assumed_role_identity_knows_its_path_and_who_assumed_it() {
        let s = AccountSession {
            key: "storage".into(),
            id: "111111111111".into(),
            creds: None,
            arn: "arn:aws:sts::111111111111:assumed-role/s3ward/s3ward-ml".into(),
            role_arn: Some("arn:aws:iam::111111111111:role/ops/s3ward".into()),
            ambient_arn: "arn:aws:sts::111111111111:assumed-role/ci/gh-123".into(),
        };
        let who = s.identity();
        assert_eq!(
            who.role_arn.as_deref(),
            Some("arn:aws:iam::111111111111:role/ops/s3ward")
        );
        assert!(who.role_path_known);
        assert!(who.runs_as_role("111111111111", "s3ward"));
        assert!(who.runs_as_role("111111111111", "ci"));
        assert!(!who.runs_as_role("111111111111", "other"));
        assert!(!who.runs_as_role("222222222222", "s3ward"));
    }

    #[test]
    fn session_names_are_valid() {
        assert_eq!(session_name("ml-models"), "s3ward-ml-models");
        assert_eq!(session_name("a b/c"), "s3ward-a-b-c");
        assert_eq!(session_name(&"x".repeat(100)).len(), 64);
    }
}
