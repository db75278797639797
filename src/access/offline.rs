//! A question about a plan file, before anything is applied: the caller (`role.KEY`,
//! `principal.KEY` or an ARN), the bucket (`s3://BUCKET/KEY`), and the documents the plan
//! file would write on each side, each statement with the plan-file line it comes from.
//!
//! What the plan file does not say is not invented: the identity policies of a principal
//! this plan does not manage, the managed policies attached to a role (their documents live
//! in AWS), and settings the plan leaves unmanaged are reported as not evaluated.

use std::fmt;

use super::decide::{BucketFacts, Identity, Policy};
use super::request::{Caller, Request};
use super::sources::Sources;
use crate::desired::{Bucket, Desired, Grantee, ObjectOwnership};
use crate::policy::PolicyDocument;

/// What `why` was asked, as the user wrote it.
#[derive(Clone, Debug)]
pub struct Asked {
    pub principal: String,
    pub action: String,
    pub resource: String,
    pub context: Vec<(String, String)>,
}

/// Why a question cannot be asked of this plan file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AskError {
    UnknownRole(String),
    UnknownPrincipal(String),
    NotAPrincipal(String),
    NotAnS3Url(String),
    UnknownBucket(String),
}

impl fmt::Display for AskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AskError::UnknownRole(k) => write!(f, "the plan file has no role `{k}`"),
            AskError::UnknownPrincipal(k) => write!(f, "the plan file has no principal `{k}`"),
            AskError::NotAPrincipal(p) => write!(
                f,
                "`{p}` is not `role.KEY`, `principal.KEY` or an IAM role, user, session or account ARN"
            ),
            AskError::NotAnS3Url(r) => {
                write!(f, "`{r}` is not an S3 location like `s3://BUCKET/KEY`")
            }
            AskError::UnknownBucket(b) => write!(f, "the plan file manages no bucket `{b}`"),
        }
    }
}

/// The question, ready to evaluate.
#[derive(Clone, Debug)]
pub struct Question {
    pub request: Request,
    pub identity: Identity,
    pub bucket: BucketFacts,
    /// The bucket's plan-file key.
    pub bucket_key: String,
    /// The role's key when the caller is a role of this plan.
    pub role_key: Option<String>,
    /// Documents that could matter but are not in the plan file (a role's managed policies).
    pub unread: Vec<String>,
    /// The bucket's key side (SSE-KMS).
    pub key: super::keys::KeySide,
}

/// `s3://BUCKET/KEY` → (bucket, key); the key may be empty.
pub fn parse_s3_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then(|| (bucket.to_string(), key.to_string()))
}

/// Resolves `who` (`role.KEY`, `principal.KEY`, or an ARN) to the caller and, when it is a
/// role of this plan, its key.
pub fn caller(desired: &Desired, who: &str) -> Result<(Caller, Option<String>), AskError> {
    if let Some(k) = who.strip_prefix("role.") {
        let role = desired
            .roles
            .get(k)
            .ok_or_else(|| AskError::UnknownRole(k.into()))?;
        let c = Caller::from_arn(&role.arn()).ok_or_else(|| AskError::NotAPrincipal(who.into()))?;
        return Ok((c, Some(k.to_string())));
    }
    let arn = if let Some(k) = who.strip_prefix("principal.") {
        desired
            .principals
            .get(k)
            .cloned()
            .ok_or_else(|| AskError::UnknownPrincipal(k.into()))?
    } else if let Some(k) = who.strip_prefix("account.") {
        let a = desired
            .accounts
            .get(k)
            .ok_or_else(|| AskError::UnknownPrincipal(who.into()))?;
        crate::access::request::root_arn(&a.id)
    } else {
        who.to_string()
    };
    let c = Caller::from_arn(&arn).ok_or_else(|| AskError::NotAPrincipal(who.into()))?;
    // An ARN of a role this plan manages is that role.
    let key = desired
        .roles
        .iter()
        .find(|(_, r)| c.principal_arn() == r.arn())
        .map(|(k, _)| k.clone());
    Ok((c, key))
}

/// The bucket of an `s3://` location among the plan's buckets.
pub fn bucket<'a>(desired: &'a Desired, url: &str) -> Result<(&'a Bucket, String), AskError> {
    let (name, key) = parse_s3_url(url).ok_or_else(|| AskError::NotAnS3Url(url.into()))?;
    let b = desired
        .buckets
        .values()
        .find(|b| b.name == name)
        .ok_or(AskError::UnknownBucket(name))?;
    Ok((b, key))
}

/// The S3 resource ARN of `key` in bucket `name` (the bucket's own ARN when `key` is empty).
pub fn resource_arn(name: &str, key: &str) -> String {
    if key.is_empty() {
        format!("arn:aws:s3:::{name}")
    } else {
        format!("arn:aws:s3:::{name}/{key}")
    }
}

/// The question `asked` of the documents `desired` would write.
pub fn ask(desired: &Desired, asked: &Asked) -> Result<Question, AskError> {
    let (caller, role_key) = caller(desired, &asked.principal)?;
    let (b, key) = bucket(desired, &asked.resource)?;
    let request = Request::new(
        caller,
        &asked.action,
        &resource_arn(&b.name, &key),
        &asked.context,
    );
    let src = Sources::read(&desired.source.text);
    let identity = match &role_key {
        Some(k) => Identity::Known(role_policies(desired, &src, k)),
        None => Identity::NotKnown,
    };
    let unread = role_key
        .as_ref()
        .and_then(|k| desired.roles.get(k))
        .and_then(|r| r.managed_policies.as_ref())
        .into_iter()
        .flatten()
        .map(|arn| format!("managed policy {arn} (its document is read with --live)"))
        .collect();
    Ok(Question {
        request,
        identity,
        key: super::keys::planned(desired, &src, b),
        bucket: bucket_facts(desired, &src, b),
        bucket_key: b.key.clone(),
        role_key,
        unread,
    })
}

/// `path:line` of byte `offset` of the plan file.
fn place(desired: &Desired, src: &Sources, offset: usize) -> String {
    format!("{}:{}", desired.source.path.display(), src.line(offset))
}

/// The bucket's planned policy, each statement with its grant or raw entry, and the settings
/// the plan file manages.
pub fn bucket_facts(desired: &Desired, src: &Sources, b: &Bucket) -> BucketFacts {
    let grants = src.grants.get(&b.key);
    let mut sources: Vec<Option<String>> = Vec::new();
    for (i, g) in b.grants.iter().enumerate() {
        let at = grants
            .and_then(|g| g.get(i))
            .map(|s| place(desired, src, s.start));
        sources.extend(g.bucket_statements(b).iter().map(|_| at.clone()));
    }
    let policy = b.policy_document().map(|doc| {
        let mut p = Policy::of("bucket policy", &doc, |_| None);
        for (i, s) in p.statements.iter_mut().enumerate() {
            s.source = match sources.get(i) {
                Some(at) => at.clone(),
                None => src
                    .extra_statement(&desired.source.text, &b.key, s.statement.sid())
                    .map(|o| place(desired, src, o)),
            };
        }
        p
    });
    BucketFacts {
        account: b.account_id.clone(),
        policy,
        enforces_ownership: b
            .ownership
            .map(|o| o == ObjectOwnership::BucketOwnerEnforced),
        public_access_block: b.public_access_block,
        object_owner: None,
    }
}

/// A role's identity documents as the plan file writes them: `s3ward-grants` (each
/// statement with its grant) and the declared inline policies.
pub fn role_policies(desired: &Desired, src: &Sources, key: &str) -> Vec<Policy> {
    let Some(role) = desired.roles.get(key) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(doc) = &role.grants_policy {
        // The same order the resolver builds the document in: buckets, then their grants.
        let mut sources = Vec::new();
        for b in desired.buckets.values() {
            for (i, g) in b.grants.iter().enumerate() {
                if g.grantee != Grantee::Role(key.to_string()) {
                    continue;
                }
                let at = src
                    .grants
                    .get(&b.key)
                    .and_then(|g| g.get(i))
                    .map(|s| place(desired, src, s.start));
                sources.extend(g.identity_statements(b).iter().map(|_| at.clone()));
            }
        }
        let mut p = Policy::of("inline policy s3ward-grants", doc, |_| None);
        for (s, at) in p.statements.iter_mut().zip(sources) {
            s.source = at;
        }
        out.push(p);
    }
    for (name, doc) in role.inline_policies.iter().flatten() {
        out.push(Policy::of(&format!("inline policy {name}"), doc, |_| None));
    }
    out
}

/// Statements with no plan-file source, for documents read from AWS.
pub fn live_policy(name: &str, doc: &PolicyDocument) -> Policy {
    Policy::of(name, doc, |_| None)
}
