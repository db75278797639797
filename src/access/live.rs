//! Expectations against what AWS holds (`plan`, `drift`): the live bucket policy, ownership
//! and public access block, and the live identity documents of the roles they name (inline
//! policies, and the documents of attached managed policies, read by the caller). A failure
//! is a finding at `bucket.KEY.expect[N]`, with the plan-file place of the expectation.
//!
//! A bucket or role that does not exist yet is skipped: the plan creates it, and `validate`
//! already checked the documents it will get.

use std::collections::BTreeMap;

use super::decide::{BucketFacts, Identity};
use super::expect::check;
use super::keys::{self, KeySide};
use super::offline::{caller, live_policy};
use crate::change::{Address, Problem};
use crate::desired::{Desired, Encryption, ObjectOwnership, Place, PublicAccessBlock};
use crate::state::{Live, LiveDocument, Setting};

/// The expectations `live` does not meet. `managed` holds managed policy documents by ARN.
pub fn problems(
    desired: &Desired,
    live: &Live,
    managed: &BTreeMap<String, LiveDocument>,
) -> Vec<Problem> {
    let mut out = Vec::new();
    // The plan file's spans, parsed again from its text, are needed only for a bucket
    // encrypted with a key of the plan (the key side names the grant lines): parsed once,
    // and only then (at 1,000 buckets they are a fifth of plan's memory).
    let spans = std::cell::OnceCell::new();
    let no_spans = super::sources::Sources::default();
    // A role's policies are built once, however many expectations name it (its
    // `s3ward-grants` holds statements for every bucket it may read). A bucket's facts are
    // built per expectation and dropped: kept, they would hold a copy of every policy.
    let mut identities: BTreeMap<String, Option<Identity>> = BTreeMap::new();
    for x in &desired.expectations {
        let (Some(b), Some(lb)) = (desired.buckets.get(&x.bucket), live.buckets.get(&x.bucket))
        else {
            continue;
        };
        if !lb.exists {
            continue;
        }
        let Ok((who, role_key)) = caller(desired, &x.who) else {
            continue;
        };
        let identity = match role_key.as_deref() {
            Some(k) => {
                let known = identities
                    .entry(k.to_string())
                    .or_insert_with(|| role_identity(live, k, managed));
                match known {
                    Some(identity) => identity,
                    None => continue,
                }
            }
            None => &Identity::NotKnown,
        };
        let facts = bucket_facts(b, lb);
        // Where the entry is: found by scanning the plan file's text, so only for a failure.
        let place = || {
            x.span
                .as_ref()
                .map(|s| Place::at(&desired.source.path, &desired.source.text, s.start))
        };
        let mut said: Vec<String> = Vec::new();
        let src = match b.encryption.as_ref().and_then(Encryption::plan_key) {
            Some(_) => spans.get_or_init(|| super::sources::Sources::read(&desired.source.text)),
            None => &no_spans,
        };
        let key = live_key_side(desired, src, live, b);
        for f in check(x, &b.name, &who, identity, &facts, &key) {
            if said.contains(&f.probe.want) {
                continue;
            }
            said.push(f.probe.want.clone());
            out.push(Problem {
                address: Address::BucketExpect(x.bucket.clone(), x.index),
                message: format!("in AWS, {}", f.message(&x.who)),
                hint: None,
                place: place(),
            });
        }
    }
    out
}

/// The policies of the plan's role `key` as AWS holds them (inline, and the managed ones
/// read); `None` when the role does not exist or was not read.
fn role_identity(
    live: &Live,
    key: &str,
    managed: &BTreeMap<String, LiveDocument>,
) -> Option<Identity> {
    let r = live.roles.get(key).filter(|r| r.exists)?;
    Some(Identity::Known(role_policies(r, managed)))
}

/// A role's inline policies and the attached managed policies whose documents `managed`
/// holds (by ARN), as AWS holds them, for evaluation.
pub fn role_policies(
    r: &crate::state::LiveRole,
    managed: &BTreeMap<String, LiveDocument>,
) -> Vec<super::decide::Policy> {
    let mut docs: Vec<_> = r
        .inline
        .iter()
        .filter_map(|(n, d)| {
            d.doc
                .as_ref()
                .ok()
                .map(|d| live_policy(&format!("inline policy {n}"), d))
        })
        .collect();
    for arn in r.managed.present().into_iter().flatten() {
        if let Some(Ok(d)) = managed.get(arn).map(|d| d.doc.as_ref()) {
            docs.push(live_policy(&format!("managed policy {arn}"), d));
        }
    }
    docs
}

/// What decides on the bucket's side, as AWS holds it.
fn bucket_facts(b: &crate::desired::Bucket, lb: &crate::state::LiveBucket) -> BucketFacts {
    BucketFacts {
        account: b.account_id.clone(),
        policy: lb
            .policy
            .present()
            .and_then(|d| d.doc.as_ref().ok())
            .map(|d| live_policy("bucket policy", d)),
        enforces_ownership: match &lb.ownership {
            Setting::Present(o) => Some(*o == ObjectOwnership::BucketOwnerEnforced),
            Setting::Absent => Some(false),
            Setting::NotRead => None,
        },
        public_access_block: match &lb.public_access_block {
            Setting::Present(p) => Some(*p),
            Setting::Absent => Some(PublicAccessBlock::all(false)),
            Setting::NotRead => None,
        },
        object_owner: None,
    }
}

/// The managed policies whose documents [`problems`] may need: those declared
/// (`managed_policies`) by the roles that the `selected` expectations name, by ARN, with the
/// account to read each in and the role's key. [`problems`] uses those of them that are
/// attached in AWS (`permissions` grants exactly these; an undeclared attachment is a change
/// the plan shows anyway). Known before reading AWS, so they are read while the rest is.
pub fn managed_to_read(
    desired: &Desired,
    selected: impl Fn(&Address) -> bool,
) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for x in &desired.expectations {
        if !selected(&Address::BucketExpect(x.bucket.clone(), x.index)) {
            continue;
        }
        let Some(k) = x.who.strip_prefix("role.") else {
            continue;
        };
        let Some(r) = desired.roles.get(k) else {
            continue;
        };
        for arn in r.managed_policies.iter().flatten() {
            out.entry(arn.clone())
                .or_insert_with(|| (r.account.clone(), k.to_string()));
        }
    }
    out
}

/// The key side of `b` with the key policy AWS holds; a key of the plan that was not read
/// (or whose policy does not parse) is not evaluated rather than taken from the plan file.
pub fn live_key_side(
    desired: &Desired,
    src: &super::sources::Sources,
    live: &Live,
    b: &crate::desired::Bucket,
) -> KeySide {
    match keys::planned(desired, src, b) {
        KeySide::Known(k) => {
            let doc = b
                .encryption
                .as_ref()
                .and_then(|e| e.plan_key())
                .and_then(|pk| live.keys.get(pk))
                .and_then(|lk| lk.policy.doc.as_ref().ok());
            match doc {
                Some(doc) => KeySide::Known(k).with_policy(Some(doc)),
                None => KeySide::NotEvaluated(format!(
                    "the policy of key {} (not read from AWS)",
                    k.key_arn
                )),
            }
        }
        other => other,
    }
}
