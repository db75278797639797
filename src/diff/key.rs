//! The diff of a KMS key's policy and of a bucket's default encryption (SPEC "Encryption
//! with KMS"): what this plan owns of the live key policy (all of it when authoritative; in
//! `merge` mode, its own Sid prefix) compared by meaning with the grants' key side and the
//! extra statements; the document to write; the refusals that need the identity that applies
//! (the key-policy lockout, the size, an AWS managed key); and the key's digests for its
//! `s3ward:applied` record (a key tag). Pure: no AWS, no output.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Context, Tagging, change, close_existing, doc_value, problem, statements_digest};
use crate::applied::{self, APPLIED_TAG, Digests, Recorded};
use crate::change::{Action, Address, ChangeSet, Problem, Resource, Write};
use crate::desired::{Bucket, Desired, Encryption, Key, PolicyMode};
use crate::policy::diff::diff as policy_diff;
use crate::policy::{PolicyDocument, Statement};
use crate::rules;
use crate::state::{Live, LiveBucket, LiveKey, Setting};

pub(super) fn diff_key(k: &Key, lk: &LiveKey, ctx: &Context, cs: &mut ChangeSet) {
    let addr = Address::KeyPolicy(k.key.clone());
    if lk.manager == "AWS" {
        cs.problems.push(Problem {
            address: addr,
            message: format!(
                "key `{}` is an AWS managed key; its policy cannot be changed",
                k.key
            ),
            hint: Some("name a customer managed key in `[keys]`".into()),
            place: None,
        });
        return;
    }
    let live_doc = match &lk.policy.doc {
        Ok(d) => d,
        Err(e) => {
            cs.problems.push(Problem {
                address: addr,
                message: format!("the live policy of key `{}` is not a valid policy document: {e}", k.key),
                hint: Some("fix the key policy by hand: s3ward does not overwrite a key policy it cannot read".into()),
                place: None,
            });
            return;
        }
    };
    let start = cs.changes.len();
    let (mine, theirs): (Vec<Statement>, Vec<Statement>) =
        live_doc.statements.iter().cloned().partition(|s| k.owns(s));
    let owned_live = (!mine.is_empty()).then(|| PolicyDocument::new(mine.clone()));
    let desired_doc = k.policy_document();
    let same = match (&owned_live, &desired_doc) {
        (None, None) => true,
        (Some(a), Some(d)) => crate::policy::equivalent(a, d),
        _ => false,
    };
    if !same {
        let mut statements = theirs.clone();
        statements.extend(k.policy_statements.iter().cloned());
        let doc = PolicyDocument::new(statements);
        let who = ctx.identities.get(&k.account);
        let refusals = who
            .and_then(|who| {
                rules::key_self_lockout(&k.key, &doc, who, &k.arn, ctx.allow_self_lockout)
            })
            .into_iter()
            .chain(rules::key_policy_size(&k.key, &doc));
        for f in refusals {
            cs.problems.push(problem(addr.clone(), f));
        }
        let merge = (k.policy_mode == PolicyMode::Merge).then(|| k.sid_prefix.clone());
        let mut c = change(
            addr,
            Action::Update,
            Write::PutKeyPolicy {
                key_arn: k.arn.clone(),
                policy: doc.to_json(),
                merge,
            },
        );
        c.before = owned_live.as_ref().map(doc_value);
        c.after = desired_doc.as_ref().map(doc_value);
        c.policy_diff = Some(policy_diff(owned_live.as_ref(), desired_doc.as_ref()));
        if k.policy_mode == PolicyMode::Merge && !theirs.is_empty() {
            c.reason = Some(format!(
                "`policy_mode = \"merge\"`: {} not owned by s3ward {} kept as {} {}",
                if theirs.len() == 1 {
                    "1 statement".to_string()
                } else {
                    format!("{} statements", theirs.len())
                },
                if theirs.len() == 1 { "is" } else { "are" },
                if theirs.len() == 1 { "it" } else { "they" },
                if theirs.len() == 1 { "is" } else { "are" },
            ));
        }
        cs.changes.push(c);
    }
    let recorded = Recorded::parse(lk.tags.get(APPLIED_TAG).map(String::as_str));
    let want = key_digests(k, None);
    let live = key_digests(k, Some(lk));
    let none = BTreeMap::new();
    close_existing(
        cs,
        start,
        Resource::Key(k.key.clone()),
        (recorded, live),
        want,
        Tagging {
            address: Address::Key(k.key.clone()),
            what: format!("key `{}`", k.key),
            live: &lk.tags,
            written: &none,
        },
    );
}

/// The AWS managed key (`aws/s3`) named by ARN for a bucket with grants to other accounts:
/// its policy cannot be changed, so they could never decrypt.
pub(super) fn managed_outside_keys(desired: &Desired, live: &Live, cs: &mut ChangeSet) {
    for key in live.buckets.keys() {
        let Some(b) = desired.buckets.get(key) else {
            continue;
        };
        if let Some(arn) = b.outside_key_to_check()
            && live.outside_keys.get(arn).is_some_and(|m| m == "AWS")
        {
            cs.problems.push(problem(
                Address::BucketEncryption(key.clone()),
                rules::aws_managed_key(key),
            ));
        }
    }
}

/// Digests of a key's managed setting (its policy, as this plan owns it): desired
/// (`live = None`) or live.
pub fn key_digests(k: &Key, live: Option<&LiveKey>) -> Digests {
    let mut d = Digests::new();
    let owned: Vec<Statement> = match live.map(|l| &l.policy.doc) {
        None => k.policy_statements.clone(),
        Some(Ok(doc)) => doc
            .statements
            .iter()
            .filter(|s| k.owns(s))
            .cloned()
            .collect(),
        Some(Err(_)) => {
            d.insert("policy", applied::digest("unparseable"));
            return d;
        }
    };
    d.insert("policy", statements_digest(&owned));
    d
}

/// What S3 does with a bucket's objects: no configuration is SSE-S3 (its default).
fn effective(e: Option<&Encryption>) -> Encryption {
    match e {
        None | Some(Encryption::SseS3) => Encryption::SseS3,
        Some(Encryption::Kms {
            key_arn,
            bucket_key,
            ..
        }) => Encryption::Kms {
            key_arn: key_arn.clone(),
            plan_key: None,
            bucket_key: *bucket_key,
        },
    }
}

fn encryption_value(e: &Encryption) -> Value {
    match e {
        Encryption::SseS3 => json!({"algorithm": "AES256"}),
        Encryption::Kms {
            key_arn,
            bucket_key,
            ..
        } => json!({"algorithm": "aws:kms", "kms_key": key_arn, "bucket_key": bucket_key}),
    }
}

/// The change to a bucket's default encryption, if any: `created` when the bucket is made in
/// this run (its live setting is then S3's default).
pub(super) fn diff_encryption(b: &Bucket, lb: Option<&LiveBucket>, cs: &mut ChangeSet) {
    let Some(want) = &b.encryption else {
        return;
    };
    let live = match lb.map(|l| &l.encryption) {
        Some(Setting::NotRead) => return,
        Some(Setting::Present(e)) => Some(e),
        Some(Setting::Absent) | None => None,
    };
    if effective(live) == effective(Some(want)) {
        return;
    }
    let mut c = change(
        Address::BucketEncryption(b.key.clone()),
        if live.is_some() {
            Action::Update
        } else {
            Action::Create
        },
        Write::PutBucketEncryption {
            bucket: b.name.clone(),
            encryption: want.clone(),
        },
    );
    c.before = live.map(encryption_value);
    c.after = Some(encryption_value(want));
    cs.changes.push(c);
}

/// The digest of a bucket's default encryption: desired or live, in S3's terms.
pub(super) fn encryption_digest(e: Option<&Encryption>) -> String {
    applied::digest(&format!("{:?}", effective(e)))
}
