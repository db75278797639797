//! The request being evaluated: who (the caller, as a role session, a user or an account),
//! the action, the resource ARN, and the request context (condition keys → values).
//!
//! s3ward fills in what it knows of a request ([`Request::new`]): the principal's ARN,
//! account and type, `aws:SecureTransport = true` (S3 clients use TLS), `aws:username` for
//! users, `s3:prefix` for `s3:ListBucket` (from the resource the user named), and marks the
//! keys that only a service acting for someone sends as absent. Everything else is unknown
//! until `--context KEY=VALUE` supplies it: a condition on an unknown key makes the answer
//! `depends`, naming the key.

use std::collections::BTreeMap;

/// Who makes the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// A session of a role: `role_arn` with its path; the session name is not known, so a
    /// policy naming one session matches only when the user names it (`session`).
    Role {
        account: String,
        role_arn: String,
        session: Option<String>,
    },
    User {
        account: String,
        arn: String,
    },
    /// The account's root user.
    Root {
        account: String,
    },
}

impl Caller {
    /// From an IAM ARN: a role, a user, an assumed-role session or an account root.
    pub fn from_arn(arn: &str) -> Option<Caller> {
        if let Some(rest) = arn.strip_prefix("arn:aws:sts::") {
            let (account, rest) = rest.split_once(':')?;
            let rest = rest.strip_prefix("assumed-role/")?;
            let (name, session) = rest.split_once('/')?;
            return Some(Caller::Role {
                account: account.into(),
                // STS names the session without the role's path.
                role_arn: format!("arn:aws:iam::{account}:role/{name}"),
                session: Some(session.into()),
            });
        }
        let rest = arn.strip_prefix("arn:aws:iam::")?;
        let (account, resource) = rest.split_once(':')?;
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let account = account.to_string();
        if resource == "root" {
            Some(Caller::Root { account })
        } else if resource.starts_with("role/") {
            Some(Caller::Role {
                account,
                role_arn: arn.into(),
                session: None,
            })
        } else if resource.starts_with("user/") {
            Some(Caller::User {
                account,
                arn: arn.into(),
            })
        } else {
            None
        }
    }

    pub fn account(&self) -> &str {
        match self {
            Caller::Role { account, .. } | Caller::User { account, .. } => account,
            Caller::Root { account } => account,
        }
    }

    /// `aws:PrincipalArn`: for a role session, the role's ARN (not the session's).
    pub fn principal_arn(&self) -> String {
        match self {
            Caller::Role { role_arn, .. } => role_arn.clone(),
            Caller::User { arn, .. } => arn.clone(),
            Caller::Root { account } => root_arn(account),
        }
    }

    /// The assumed-role session ARN, when the session name is known.
    pub fn session_arn(&self) -> Option<String> {
        match self {
            Caller::Role {
                account,
                role_arn,
                session: Some(s),
            } => {
                let name = role_arn.rsplit('/').next().unwrap_or_default();
                Some(format!("arn:aws:sts::{account}:assumed-role/{name}/{s}"))
            }
            _ => None,
        }
    }

    fn principal_type(&self) -> &'static str {
        match self {
            Caller::Role { .. } => "AssumedRole",
            Caller::User { .. } => "User",
            Caller::Root { .. } => "Account",
        }
    }
}

pub fn root_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:root")
}

/// What the request context holds for one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Values(Vec<String>),
    /// The request does not carry the key.
    Absent,
    /// s3ward does not know.
    Unknown,
}

/// Condition keys (compared case-insensitively, as IAM does) → values, or absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    keys: BTreeMap<String, Option<Vec<String>>>,
}

/// Keys sent only when a service acts for someone, never on a principal's own S3 request.
const SERVICE_ONLY: &[&str] = &[
    "aws:SourceArn",
    "aws:SourceAccount",
    "aws:SourceOwner",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "aws:CalledVia",
    "aws:CalledViaFirst",
    "aws:CalledViaLast",
    "aws:PrincipalServiceName",
    "aws:PrincipalServiceNamesList",
];

impl Context {
    pub fn set(&mut self, key: &str, values: &[&str]) {
        self.keys.insert(
            key.to_ascii_lowercase(),
            Some(values.iter().map(|v| v.to_string()).collect()),
        );
    }

    /// Sets `key` unless the request already says something of it (`--context` wins).
    pub fn set_default(&mut self, key: &str, values: &[&str]) {
        if !self.keys.contains_key(&key.to_ascii_lowercase()) {
            self.set(key, values);
        }
    }

    pub fn absent(&mut self, key: &str) {
        self.keys.insert(key.to_ascii_lowercase(), None);
    }

    pub fn lookup(&self, key: &str) -> Lookup {
        match self.keys.get(&key.to_ascii_lowercase()) {
            Some(Some(v)) => Lookup::Values(v.clone()),
            Some(None) => Lookup::Absent,
            None => Lookup::Unknown,
        }
    }
}

/// One request: the caller, `s3:GetObject`, `arn:aws:s3:::bucket/key`, and its context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub caller: Caller,
    pub action: String,
    pub resource: String,
    pub context: Context,
}

impl Request {
    /// A request with what s3ward knows of its context filled in; `extra` (from `--context`)
    /// comes last and wins. `s3ward:absent` as a value marks a key absent.
    pub fn new(
        caller: Caller,
        action: &str,
        resource: &str,
        extra: &[(String, String)],
    ) -> Request {
        let mut ctx = Context::default();
        ctx.set("aws:PrincipalArn", &[&caller.principal_arn()]);
        ctx.set("aws:PrincipalAccount", &[caller.account()]);
        ctx.set("aws:PrincipalType", &[caller.principal_type()]);
        ctx.set("aws:SecureTransport", &["true"]);
        ctx.set("aws:PrincipalIsAWSService", &["false"]);
        ctx.set("aws:ViaAWSService", &["false"]);
        for k in SERVICE_ONLY {
            ctx.absent(k);
        }
        match &caller {
            Caller::User { arn, .. } => {
                let name = arn.rsplit('/').next().unwrap_or_default();
                ctx.set("aws:username", &[name]);
            }
            // Only IAM users have a user name.
            _ => ctx.absent("aws:username"),
        }
        let mut resource = resource.to_string();
        if action.eq_ignore_ascii_case("s3:ListBucket")
            || action.eq_ignore_ascii_case("s3:ListBucketVersions")
        {
            // Listing is a request on the bucket; what the user named below it is the prefix.
            let rest = resource
                .strip_prefix("arn:aws:s3:::")
                .unwrap_or(&resource)
                .to_string();
            match rest.split_once('/') {
                Some((bucket, prefix)) => {
                    ctx.set("s3:prefix", &[prefix]);
                    resource = format!("arn:aws:s3:::{bucket}");
                }
                None => ctx.absent("s3:prefix"),
            }
        } else {
            for k in ["s3:prefix", "s3:delimiter", "s3:max-keys"] {
                ctx.absent(k);
            }
        }
        for (k, v) in extra {
            if v == "s3ward:absent" {
                ctx.absent(k);
            } else {
                let values: Vec<&str> = v.split(',').collect();
                ctx.set(k, &values);
            }
        }
        Request {
            caller,
            action: action.to_string(),
            resource,
            context: ctx,
        }
    }

    /// The bucket name of the resource ARN.
    pub fn bucket(&self) -> &str {
        let rest = self
            .resource
            .strip_prefix("arn:aws:s3:::")
            .unwrap_or(&self.resource);
        rest.split('/').next().unwrap_or(rest)
    }

    /// Whether the request is on an object (the resource names a key).
    pub fn on_object(&self) -> bool {
        let rest = self
            .resource
            .strip_prefix("arn:aws:s3:::")
            .unwrap_or(&self.resource);
        rest.contains('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_from_arns() {
        let s = Caller::from_arn("arn:aws:sts::222222222222:assumed-role/inference/pod-1").unwrap();
        assert_eq!(
            s.principal_arn(),
            "arn:aws:iam::222222222222:role/inference"
        );
        assert_eq!(
            s.session_arn().unwrap(),
            "arn:aws:sts::222222222222:assumed-role/inference/pod-1"
        );
        assert!(matches!(
            Caller::from_arn("arn:aws:iam::222222222222:root"),
            Some(Caller::Root { .. })
        ));
        assert_eq!(Caller::from_arn("arn:aws:s3:::b"), None);
    }

    #[test]
    fn listing_takes_the_prefix_from_the_resource() {
        let c = Caller::from_arn("arn:aws:iam::222222222222:role/r").unwrap();
        let r = Request::new(c.clone(), "s3:ListBucket", "arn:aws:s3:::b/evals/", &[]);
        assert_eq!(r.resource, "arn:aws:s3:::b");
        assert_eq!(
            r.context.lookup("s3:prefix"),
            Lookup::Values(vec!["evals/".into()])
        );
        let g = Request::new(c, "s3:GetObject", "arn:aws:s3:::b/k", &[]);
        assert_eq!(g.context.lookup("S3:PREFIX"), Lookup::Absent);
        assert_eq!(g.context.lookup("aws:SourceVpce"), Lookup::Unknown);
        assert!(g.on_object());
    }
}
