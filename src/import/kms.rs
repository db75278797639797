//! Import of KMS keys (`--key ARN`) and of a bucket's default encryption: which `[keys]`
//! entries to write, what each bucket's `encryption` says, and the one thing import may undo
//! (a bucket that names an imported key by `key.KEY` makes its grants write the key side; if
//! the live key policy or role policies do not hold it, the bucket names the key by ARN
//! instead, and the key is adopted with no statement of its own).
//!
//! Keys are written in `merge` mode (the default for keys), so every live statement s3ward
//! did not write — the default key policy, a cross-account statement, grants-related
//! statements — is kept as it is, and `plan` says `No changes.`. Pure, as all of `import`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::model::{BucketOut, KeyOut, Plan};
use super::verify::Choices;
use super::{BucketIn, Input};
use crate::change::{Action, Address, Change};
use crate::desired::{Encryption, GRANTS_POLICY_NAME, parse_key_arn};
use crate::state::LiveKey;

/// A key to import, as read.
#[derive(Clone, Debug)]
pub struct KeyIn {
    pub arn: String,
    pub live: LiveKey,
}

/// The plan-file key of each imported key: the key of the first imported bucket encrypted
/// with it, else `key1`, `key2`, ...
pub(super) fn key_names(input: &Input, bucket_keys: &[String]) -> Vec<String> {
    let mut taken: BTreeSet<String> = BTreeSet::new();
    input
        .keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let by_bucket = input
                .buckets
                .iter()
                .zip(bucket_keys)
                .find(|(b, _)| live_key_arn(b) == Some(k.arn.as_str()))
                .map(|(_, key)| key.clone());
            let mut name = by_bucket.unwrap_or_else(|| format!("key{}", i + 1));
            while !taken.insert(name.clone()) {
                name.push('x');
            }
            name
        })
        .collect()
}

fn live_key_arn(b: &BucketIn) -> Option<&str> {
    match b.live.encryption.present() {
        Some(Encryption::Kms { key_arn, .. }) => Some(key_arn),
        _ => None,
    }
}

/// The `[keys]` entries.
pub(super) fn keys_out(input: &Input, names: &[String], raw: &BTreeSet<String>) -> Vec<KeyOut> {
    input
        .keys
        .iter()
        .zip(names)
        .map(|(k, name)| KeyOut {
            key: name.clone(),
            arn: k.arn.clone(),
            raw: match &k.live.policy.doc {
                Ok(doc) if raw.contains(&k.arn) => {
                    let list = serde_json::Value::Array(
                        doc.statements.iter().map(|s| s.to_value()).collect(),
                    );
                    Some(serde_json::to_string_pretty(&list).expect("a Value serialises"))
                }
                _ => None,
            },
        })
        .collect()
}

/// A bucket's `encryption`, and a comment when its live setting cannot be written.
pub(super) fn encryption(
    input: &Input,
    b: &BucketIn,
    names: &[String],
    outside: &BTreeSet<String>,
) -> (Option<Encryption>, Option<String>) {
    match b.live.encryption.present() {
        None => (None, None),
        Some(Encryption::SseS3) => (Some(Encryption::SseS3), None),
        Some(Encryption::Kms {
            key_arn,
            bucket_key,
            ..
        }) => {
            if parse_key_arn(key_arn).is_none() {
                let why = format!(
                    "The default encryption names its key as `{key_arn}`, not by its full ARN; s3ward writes the key ARN (an alias resolves in the caller's account). Declare `encryption = {{ kms_key = \"arn:aws:kms:…\" }}` to manage it."
                );
                return (None, Some(why));
            }
            let plan_key = input
                .keys
                .iter()
                .zip(names)
                .find(|(k, _)| &k.arn == key_arn && !outside.contains(key_arn))
                .map(|(_, n)| n.clone());
            (
                Some(Encryption::Kms {
                    key_arn: key_arn.clone(),
                    plan_key,
                    bucket_key: *bucket_key,
                }),
                None,
            )
        }
    }
}

/// Undoes the key side when it makes a change: every bucket that names an imported key by
/// `key.KEY` names it by ARN in the next round. `false` when there is nothing left to undo.
/// A key policy that still changes then stays raw: the whole live policy, authoritative
/// (statements an earlier s3ward wrote under other names would otherwise be removed).
pub(super) fn undo(
    input: &Input,
    bucket_keys: &[String],
    choices: &mut Choices,
    c: &Change,
) -> bool {
    let outside = &mut choices.outside_keys;
    let key_side = match &c.address {
        Address::KeyPolicy(_) => true,
        Address::RoleInlinePolicy(_, name) => {
            name == GRANTS_POLICY_NAME && c.action == Action::Update
        }
        _ => false,
    };
    let mut progress = false;
    if key_side {
        for k in &input.keys {
            if input
                .buckets
                .iter()
                .any(|b| live_key_arn(b) == Some(k.arn.as_str()))
            {
                progress |= outside.insert(k.arn.clone());
            }
        }
    }
    if !progress
        && let Address::KeyPolicy(name) = &c.address
        && let Some(k) = input
            .keys
            .iter()
            .zip(key_names(input, bucket_keys))
            .find(|(_, n)| n == name)
            .map(|(k, _)| k)
    {
        progress = choices.raw_keys.insert(k.arn.clone());
    }
    progress
}

/// The plan-file key of the account a key's ARN names (`--key` checks that it is an
/// imported one).
fn account_of<'a>(plan: &'a Plan, arn: &str) -> &'a str {
    let id = parse_key_arn(arn).map(|(_, a)| a);
    let found = plan.accounts.iter().find(|a| Some(a.id.as_str()) == id);
    &found.unwrap_or(&plan.accounts[0]).key
}

/// The `[keys.KEY]` tables.
pub(super) fn write_keys(
    out: &mut String,
    plan: &Plan,
    key: impl Fn(&str) -> String,
    string: impl Fn(&str) -> String,
    block: impl Fn(&str) -> String,
) {
    for k in &plan.keys {
        let _ = writeln!(out, "# Key {}", k.arn);
        match &k.raw {
            None => out.push_str(
                "# s3ward manages only the statements it writes in its policy (merge mode); it never\n\
                 # creates, disables or deletes a key.\n",
            ),
            Some(_) => out.push_str(
                "# Its policy holds statements an earlier s3ward wrote under other names, so the whole\n\
                 # policy is written here as it is (authoritative). s3ward never creates, disables or\n\
                 # deletes a key.\n",
            ),
        }
        let _ = writeln!(
            out,
            "[keys.{}]\naccount = {}\narn = {}",
            key(&k.key),
            string(account_of(plan, &k.arn)),
            string(&k.arn),
        );
        if let Some(raw) = &k.raw {
            let _ = writeln!(
                out,
                "policy_mode = \"authoritative\"\nextra_policy_statements = {}",
                block(raw)
            );
        }
        out.push('\n');
    }
}

/// A bucket's `encryption` line (or the comment saying why it is left out).
pub(super) fn write_encryption(out: &mut String, b: &BucketOut, string: impl Fn(&str) -> String) {
    match &b.encryption {
        None => {
            if let Some(c) = &b.encryption_comment {
                let _ = writeln!(out, "# {c}");
            } else {
                out.push_str("# encryption: none set (S3 encrypts with SSE-S3 by default)\n");
            }
        }
        Some(Encryption::SseS3) => out.push_str("encryption = \"SSE-S3\"\n"),
        Some(Encryption::Kms {
            key_arn,
            plan_key,
            bucket_key,
        }) => {
            let name = plan_key
                .as_ref()
                .map_or_else(|| key_arn.clone(), |k| format!("key.{k}"));
            let _ = writeln!(
                out,
                "encryption = {{ kms_key = {}, bucket_key = {bucket_key} }}",
                string(&name)
            );
        }
    }
}
