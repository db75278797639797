//! `[keys]` and a bucket's `encryption`: the key's account and ARN, its policy mode and
//! extra statements, and the key side of every grant on a bucket encrypted with a plan key
//! (SPEC "Encryption with KMS"). The statements themselves are built by `desired::keys`.
//!
//! A key entry names its key by ARN. `alias = ...` is accepted by the format but refused
//! here for now: the grants' statements need the key's ARN and region, which an alias gives
//! only once DescribeKey has answered (see docs/decisions.md).

use std::collections::{BTreeMap, BTreeSet};

use toml::Spanned;

use super::{Ctx, Entry, Resolver, Span, keys, list_of, sp, suggest};
use crate::desired::*;
use crate::plan_file::raw::{RawEncryption, RawKey};
use crate::policy::{PolicyDocument, Statement};
use crate::rules;

/// Each key's `extra_policy_statements`, as written, kept until its grants are known.
type KeyExtras = BTreeMap<String, Option<Spanned<String>>>;

impl Resolver {
    pub(super) fn kms_keys(
        &mut self,
        entries: Vec<Entry<'_>>,
        accounts: &BTreeMap<String, Account>,
        plan_name: &str,
    ) -> (BTreeMap<String, Key>, KeyExtras) {
        let mut out = BTreeMap::new();
        let mut extras = BTreeMap::new();
        for e in entries {
            let Some(raw) = self.de::<RawKey>(e.value.clone()) else {
                continue;
            };
            if let Some(k) = self.kms_key(&e, &raw, accounts, plan_name) {
                extras.insert(e.key.clone(), raw.extra_policy_statements.clone());
                out.insert(e.key.clone(), k);
            }
        }
        (out, extras)
    }

    fn kms_key(
        &mut self,
        e: &Entry<'_>,
        raw: &RawKey,
        accounts: &BTreeMap<String, Account>,
        plan_name: &str,
    ) -> Option<Key> {
        let account = match accounts.get(raw.account.get_ref()) {
            Some(a) => Some(a.clone()),
            None => {
                let hint = suggest(raw.account.get_ref(), accounts.keys().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| {
                        format!(
                            "`account` names an `[accounts]` key: {}",
                            list_of(&keys(accounts))
                        )
                    });
                let d = self.error(
                    format!("unknown account `{}`", raw.account.get_ref()),
                    sp(&raw.account),
                );
                Self::set_label_hint(d, Some("not an `[accounts]` key"), Some(hint));
                None
            }
        };
        let policy_mode = match raw.policy_mode.as_ref().map(|a| a.get_ref().as_str()) {
            None | Some("merge") => PolicyMode::Merge,
            Some("authoritative") => PolicyMode::Authoritative,
            Some(other) => {
                let a = raw.policy_mode.as_ref().expect("matched Some");
                let d = self.error(format!("unknown policy mode `{other}`"), sp(a));
                Self::set_label_hint(
                    d,
                    None,
                    Some("use `merge` (the default for keys) or `authoritative`".into()),
                );
                PolicyMode::Merge
            }
        };
        let arn = match (&raw.arn, &raw.alias) {
            (Some(arn), None) => {
                let text = arn.get_ref();
                match parse_key_arn(text) {
                    Some((region, acct)) => {
                        if let Some(a) = &account
                            && a.id != acct
                        {
                            let d = self.error(
                                format!(
                                    "key `{}` is in account `{acct}`, not in account `{}` (`{}`)",
                                    e.key, a.key, a.id
                                ),
                                sp(arn),
                            );
                            Self::set_label_hint(d, None, Some("`account` names the account that holds the key, where s3ward writes its policy".into()));
                        }
                        Some((text.clone(), region.to_string()))
                    }
                    None => {
                        let d = self.error(format!("`{text}` is not a KMS key ARN"), sp(arn));
                        Self::set_label_hint(
                            d,
                            None,
                            Some("a key ARN looks like `arn:aws:kms:REGION:ACCOUNT:key/ID`".into()),
                        );
                        None
                    }
                }
            }
            (None, Some(alias)) => {
                let d = self.error(
                    format!("key `{}`: `alias` is not supported yet", e.key),
                    sp(alias),
                );
                Self::set_label_hint(d, None, Some("write the key's ARN as `arn = \"arn:aws:kms:REGION:ACCOUNT:key/ID\"` (`aws kms describe-key --key-id ALIAS` prints it)".into()));
                None
            }
            (Some(_), Some(alias)) => {
                self.error("a key takes one of `arn` and `alias`, not both", sp(alias));
                None
            }
            (None, None) => {
                self.error(
                    format!("key `{}` needs `arn`", e.key),
                    Some(e.key_span.clone()),
                );
                None
            }
        };
        let (arn, region) = arn?;
        let account = account?;
        Some(Key {
            key: e.key.clone(),
            account: account.key.clone(),
            account_id: account.id.clone(),
            arn,
            region,
            policy_mode,
            sid_prefix: match policy_mode {
                PolicyMode::Authoritative => "s3ward".to_string(),
                PolicyMode::Merge => merge_sid_prefix(plan_name),
            },
            policy_statements: Vec::new(),
        })
    }

    /// A bucket's `encryption`.
    pub(super) fn encryption(
        &mut self,
        raw: &Spanned<RawEncryption>,
        bucket: &Bucket,
        ctx: &Ctx<'_>,
    ) -> Option<Encryption> {
        let span = sp(raw);
        let kms = match raw.get_ref() {
            RawEncryption::Named(n) if n == "SSE-S3" => return Some(Encryption::SseS3),
            RawEncryption::Named(n) => {
                let d = self.error(format!("unknown encryption `{n}`"), span);
                Self::set_label_hint(d, None, Some("use `\"SSE-S3\"` or `{ kms_key = \"key.KEY\" }` (a `[keys]` entry or a key ARN)".into()));
                return None;
            }
            RawEncryption::Kms(k) => k,
        };
        let bucket_key = kms.bucket_key.unwrap_or(false);
        let text = kms.kms_key.as_str();
        let (arn, region, plan_key) = if let Some(k) = text.strip_prefix("key.") {
            let Some(key) = ctx.keys.get(k) else {
                if !ctx.declared.contains(text) {
                    let hint = suggest(k, ctx.keys.keys().map(String::as_str))
                        .map(|s| format!("did you mean `key.{s}`?"))
                        .unwrap_or_else(|| {
                            "declare the key in `[keys.KEY]`, or write its ARN".into()
                        });
                    let d = self.error(format!("unknown key `{text}`"), span);
                    Self::set_label_hint(d, None, Some(hint));
                }
                return None;
            };
            (key.arn.clone(), key.region.clone(), Some(k.to_string()))
        } else if let Some((region, _)) = parse_key_arn(text) {
            (text.to_string(), region.to_string(), None)
        } else {
            let f = if text.contains("alias/") {
                rules::encryption_alias(text, &bucket.key, bucket.has_cross_account_grants())
            } else {
                rules::Finding {
                    message: format!(
                        "`{text}` is neither a `key.KEY` of `[keys]` nor a KMS key ARN"
                    ),
                    hint: Some("a key ARN looks like `arn:aws:kms:REGION:ACCOUNT:key/ID`".into()),
                    refused: true,
                }
            };
            let d = self.error(f.message, span);
            Self::set_label_hint(d, None, f.hint);
            return None;
        };
        if let Some(b) = &bucket.region
            && *b != region
        {
            let d = self.error(
                format!(
                    "bucket `{}` is in `{b}` but its key is in `{region}`",
                    bucket.key
                ),
                span,
            );
            Self::set_label_hint(
                d,
                None,
                Some("S3 encrypts only with a key of the bucket's own region".into()),
            );
        }
        Some(Encryption::Kms {
            key_arn: arn,
            plan_key,
            bucket_key,
        })
    }

    /// Each key's policy statements (its grants' key side, then its extra statements), and
    /// the key side of each role's `s3ward-grants`, once every bucket is resolved.
    pub(super) fn key_policies(
        &mut self,
        kms_keys: &mut BTreeMap<String, Key>,
        extras: &KeyExtras,
        buckets: &BTreeMap<String, Bucket>,
        spans: &BTreeMap<String, Span>,
    ) {
        for (k, key) in kms_keys.iter_mut() {
            let shared: &Key = key;
            let mut statements: Vec<Statement> = buckets
                .values()
                .filter(|b| b.encryption.as_ref().and_then(Encryption::plan_key) == Some(k))
                .flat_map(|b| {
                    b.grants
                        .iter()
                        .filter_map(move |g| g.key_statement(b, shared))
                })
                .collect();
            if let Some(Some(text)) = extras.get(k) {
                let extra = self.key_extra_statements(text, key, &statements);
                statements.extend(extra);
            }
            key.policy_statements = statements;
            if let Some(doc) = key.policy_document()
                && let Some(f) = rules::key_policy_size(&key.key, &doc)
            {
                let d = self.error(f.message, spans.get(k).cloned());
                Self::set_label_hint(d, None, f.hint);
            }
        }
    }

    fn key_extra_statements(
        &mut self,
        text: &Spanned<String>,
        key: &Key,
        generated: &[Statement],
    ) -> Vec<Statement> {
        let statements = match PolicyDocument::parse_statements(text.get_ref()) {
            Ok(s) => s,
            Err(e) => {
                self.error(format!("invalid `extra_policy_statements`: {e}"), sp(text))
                    .hint = Some(
                    "write a JSON array of statements: '''[{\"Sid\": \"...\", ...}]'''".into(),
                );
                return Vec::new();
            }
        };
        let mut sids: BTreeSet<&str> = generated.iter().filter_map(|s| s.sid()).collect();
        for (i, st) in statements.iter().enumerate() {
            if st.principal.is_none() && st.not_principal.is_none() {
                self.error(format!("extra statement {i} has no `Principal`"), sp(text))
                    .hint = Some("key policy statements need a `Principal`".into());
            }
            if let Some(sid) = st.sid()
                && !sids.insert(sid)
            {
                self.error(
                    format!("extra statement {i} reuses the Sid `{sid}`"),
                    sp(text),
                );
            }
            if key.policy_mode == PolicyMode::Merge
                && !st.sid().is_some_and(|s| {
                    owns_sid(&key.sid_prefix, Some(s)) && s.starts_with(&key.sid_prefix)
                })
            {
                let prefix = &key.sid_prefix;
                self.error(
                    format!("in `merge` mode, extra statement {i} needs a Sid starting with `{prefix}` and a capital letter"),
                    sp(text),
                )
                .hint = Some(format!("in merge mode this plan owns only statements whose Sid starts with `{prefix}`; e.g. `{prefix}AllowAdmins`"));
            }
        }
        statements
    }
}
