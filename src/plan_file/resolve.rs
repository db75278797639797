//! From the TOML text to [`Desired`]: parse, check every value, follow every reference,
//! compute the documents, and run the safety checks that need no AWS call.
//!
//! Every problem becomes a [`Diagnostic`] with a span; nothing stops at the first one. A
//! section that does not even have the right shape (a string where a table belongs) is
//! reported and then skipped, so the rest of the file is still checked.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::diagnostic::{Diagnostic, Report};
use super::raw::*;
use crate::desired::*;
use crate::names::{
    account_root_arn, is_account_id, is_aws_reserved_tag_key, is_service_principal, is_tag_char,
    oidc_provider_arn, parse_iam_arn, valid_bucket_name, valid_iam_path, valid_managed_policy_arn,
    valid_policy_name, valid_region, valid_role_name, valid_tag_key, valid_tag_value,
};
use crate::policy::lint::{self, Identity};
use crate::policy::{ParseError, PolicyDocument, Statement};
use crate::rules::{self, Stage};

/// Choices that change which checks refuse.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Let a Deny in `extra_policy_statements` deny the applying identity the bucket policy.
    pub allow_self_lockout: bool,
}

/// A plan file that resolved, with its warnings.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub desired: Desired,
    pub warnings: Report,
}

/// Parses and resolves `text` (read from `path`). `Err` holds every problem, errors and
/// warnings both, in file order.
pub fn resolve(path: &Path, text: &str, options: Options) -> Result<Loaded, Report> {
    let mut r = Resolver {
        diags: Vec::new(),
        options,
        source: text.to_string(),
    };
    let desired = r.run(path, text);
    let mut diags = r.diags;
    diags.sort_by_key(|d| (d.span.as_ref().map_or(usize::MAX, |s| s.start), d.severity));
    let report = Report {
        path: path.to_path_buf(),
        text: text.to_string(),
        diagnostics: diags,
    };
    match desired {
        Some(desired) if report.errors() == 0 => Ok(Loaded {
            desired,
            warnings: report,
        }),
        _ => Err(report),
    }
}

struct Resolver {
    diags: Vec<Diagnostic>,
    options: Options,
    /// The plan file's text, to place problems found inside its JSON strings.
    source: String,
}

type Span = Range<usize>;

fn sp<T>(s: &Spanned<T>) -> Option<Span> {
    Some(s.span())
}

/// One entry of a keyed section (`[buckets.KEY]`): its key, the key's span, and its value.
struct Entry<'i> {
    key: String,
    key_span: Span,
    value: Spanned<DeValue<'i>>,
}

const TOP_KEYS: &[&str] = &[
    "version",
    "settings",
    "accounts",
    "principals",
    "roles",
    "buckets",
];

impl Resolver {
    fn error(&mut self, msg: impl Into<String>, span: Option<Span>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::error(msg, span));
        self.diags.last_mut().expect("just pushed")
    }

    fn warn(&mut self, msg: impl Into<String>, span: Option<Span>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::warning(msg, span));
        self.diags.last_mut().expect("just pushed")
    }

    fn set_label_hint(d: &mut Diagnostic, label: Option<&str>, hint: Option<String>) {
        if let Some(l) = label {
            d.label = Some(l.to_string());
        }
        if let Some(h) = hint {
            d.hint = Some(h);
        }
    }

    fn toml_error(&mut self, e: &toml::de::Error) {
        let msg = e.message().trim_end().to_string();
        // serde says "unknown field `x`, expected one of `a`, `b`": say "key", and suggest.
        let (message, hint) = match msg
            .strip_prefix("unknown field `")
            .and_then(|r| r.split_once('`'))
        {
            Some((key, rest)) => {
                let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
                let hint = suggest(key, expected.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| {
                        (!expected.is_empty())
                            .then(|| format!("expected one of {}", list_of(&expected)))
                    });
                (format!("unknown key `{key}`"), hint)
            }
            None => (msg, None),
        };
        let d = self.error(message, e.span());
        Self::set_label_hint(d, None, hint);
    }

    /// Deserializes one entry. A key that is unknown or has the wrong type is reported,
    /// taken out, and deserializing goes on, so that the rest of the entry is still checked
    /// (serde alone would stop at the first). `None` when the entry stays unusable.
    fn de<T: DeserializeOwned>(&mut self, value: Spanned<DeValue<'_>>) -> Option<T> {
        let mut value = value;
        let mut removed: Vec<Span> = Vec::new();
        loop {
            match T::deserialize(ValueDeserializer::from(value.clone())) {
                Ok(v) => return Some(v),
                Err(e) => {
                    let missing = e.message().starts_with("missing field");
                    // A required key we took out ourselves: already reported.
                    if missing && !removed.is_empty() {
                        return None;
                    }
                    self.toml_error(&e);
                    let span = e.span()?;
                    if missing || removed.len() >= 32 || !remove_at(&mut value, &span) {
                        return None;
                    }
                    removed.push(span);
                }
            }
        }
    }

    /// The entries of a `[section.KEY]` table, in file order.
    fn entries<'i>(&mut self, section: &str, value: Spanned<DeValue<'i>>) -> Vec<Entry<'i>> {
        let span = value.span();
        match value.into_inner() {
            DeValue::Table(t) => {
                let mut out: Vec<Entry<'i>> = t
                    .into_iter()
                    .map(|(k, v)| Entry {
                        key: k.get_ref().to_string(),
                        key_span: k.span(),
                        value: v,
                    })
                    .collect();
                out.sort_by_key(|e| e.key_span.start);
                for e in &out {
                    if !valid_key(&e.key) {
                        let msg =
                            format!("`{}` is not a usable key in `[{section}]`", shorten(&e.key));
                        let d = self.error(msg, Some(e.key_span.clone()));
                        Self::set_label_hint(
                            d,
                            None,
                            Some("keys are 1 to 64 letters, digits, `-` and `_`".into()),
                        );
                    }
                }
                out
            }
            other => {
                let msg = format!("`{section}` must be a table, not {}", other.type_str());
                self.error(msg, Some(span));
                Vec::new()
            }
        }
    }

    fn run(&mut self, path: &Path, text: &str) -> Option<Desired> {
        let (root, errors) = DeTable::parse_recoverable(text);
        if !errors.is_empty() {
            for e in &errors {
                let msg = e.message().trim_end().to_string();
                self.error(format!("invalid TOML: {msg}"), e.span());
            }
            return None;
        }
        let mut version = None;
        let mut settings = None;
        let mut sections: BTreeMap<&str, Vec<Entry<'_>>> = BTreeMap::new();
        for (k, v) in root.into_inner() {
            match k.get_ref().as_ref() {
                "version" => version = Some(v),
                "settings" => settings = self.de::<RawSettings>(v),
                s @ ("accounts" | "principals" | "roles" | "buckets") => {
                    let key = TOP_KEYS.iter().find(|t| **t == s).expect("listed");
                    let entries = self.entries(s, v);
                    sections.insert(key, entries);
                }
                other => {
                    let msg = format!("unknown key `{other}`");
                    let hint = suggest(other, TOP_KEYS.iter().copied()).map_or_else(
                        || format!("the top level holds {}", list_of(TOP_KEYS)),
                        |s| format!("did you mean `{s}`?"),
                    );
                    let d = self.error(msg, Some(k.span()));
                    Self::set_label_hint(d, Some("unknown key"), Some(hint));
                }
            }
        }
        match version {
            None => {
                let d = self.error("missing `version`", Some(0..0));
                Self::set_label_hint(
                    d,
                    None,
                    Some("start the plan file with `version = 1`".into()),
                );
            }
            Some(v) => {
                let span = v.span();
                match v.get_ref().as_integer().map(|i| i.as_str().to_string()) {
                    Some(i) if i == "1" => {}
                    _ => {
                        let d = self.error("unsupported plan file version", Some(span));
                        Self::set_label_hint(
                            d,
                            Some("expected 1"),
                            Some("this s3ward reads `version = 1`".into()),
                        );
                    }
                }
            }
        }
        let name = self.settings_name(path, settings.as_ref());
        let region = settings.as_ref().and_then(|s| s.region.clone()).map(|r| {
            self.check_region(&r);
            r.into_inner()
        });
        let lock = settings
            .as_ref()
            .and_then(|s| s.lock.as_ref())
            .and_then(|l| self.lock(l));

        let mut take = |k: &str| sections.remove(k).unwrap_or_default();
        let account_entries = take("accounts");
        let principal_entries = take("principals");
        let role_entries = take("roles");
        let bucket_entries = take("buckets");

        // Everything declared, even entries with problems of their own: a reference to a
        // broken entry must not be reported a second time as "unknown".
        let declared: BTreeSet<String> = [
            ("account", &account_entries),
            ("principal", &principal_entries),
            ("role", &role_entries),
        ]
        .iter()
        .flat_map(|(kind, es)| es.iter().map(move |e| format!("{kind}.{}", e.key)))
        .collect();
        let accounts = self.accounts(account_entries);
        let principals = self.principals(principal_entries, &accounts);
        let raw_roles: Vec<(Entry<'_>, Option<RawRole>)> = role_entries
            .into_iter()
            .map(|e| {
                let raw = self.de::<RawRole>(e.value.clone());
                (e, raw)
            })
            .collect();
        // Role names and ARNs first: trust entries and grants refer to them.
        let role_refs: BTreeMap<String, RoleRef> = raw_roles
            .iter()
            .filter_map(|(e, raw)| {
                let raw = raw.as_ref()?;
                let account_id = accounts.get(raw.account.get_ref())?.id.clone();
                let name = raw
                    .name
                    .as_ref()
                    .map_or(e.key.clone(), |n| n.get_ref().clone());
                let path = raw
                    .path
                    .as_ref()
                    .map_or("/".to_string(), |p| p.get_ref().clone());
                Some((
                    e.key.clone(),
                    RoleRef {
                        arn: role_arn(&account_id, &path, &name),
                    },
                ))
            })
            .collect();
        let ctx = Ctx {
            plan_name: &name,
            accounts: &accounts,
            principals: &principals,
            roles: &role_refs,
            role_keys: raw_roles.iter().map(|(e, _)| e.key.clone()).collect(),
            declared,
        };
        let mut roles = BTreeMap::new();
        let mut role_spans = BTreeMap::new();
        for (e, raw) in raw_roles {
            if let Some(raw) = raw
                && let Some(role) = self.role(&e, raw, &ctx)
            {
                role_spans.insert(e.key.clone(), e.key_span.clone());
                roles.insert(e.key.clone(), role);
            }
        }
        let mut buckets = BTreeMap::new();
        let mut bucket_spans = BTreeMap::new();
        for e in bucket_entries {
            let span = e.key_span.clone();
            let key = e.key.clone();
            if let Some(raw) = self.de::<RawBucket>(e.value.clone())
                && let Some(b) = self.bucket(&e, raw, &ctx, region.as_deref())
            {
                bucket_spans.insert(key.clone(), span);
                buckets.insert(key, b);
            }
        }
        self.same_bucket_names(&buckets, &bucket_spans);
        self.grants_policies(&mut roles, &buckets, &role_spans);

        let text_owned = text.to_string();
        let sha256 = hex::encode(Sha256::digest(text.as_bytes()));
        Some(Desired {
            name,
            source: PlanSource {
                path: path.to_path_buf(),
                text: text_owned,
                sha256,
            },
            region,
            lock,
            accounts,
            principals,
            roles,
            buckets,
        })
    }

    fn settings_name(&mut self, path: &Path, settings: Option<&RawSettings>) -> String {
        if let Some(n) = settings.and_then(|s| s.name.as_ref()) {
            let ok = !n.get_ref().is_empty()
                && n.get_ref().len() <= 128
                && n.get_ref().chars().all(is_tag_char);
            if !ok {
                let d = self.error(
                    format!("`{}` is not a usable plan name", n.get_ref()),
                    sp(n),
                );
                Self::set_label_hint(
                    d,
                    None,
                    Some("it goes into tags: letters, digits, spaces and `_ . : / = + - @`, at most 128".into()),
                );
            }
            return n.get_ref().clone();
        }
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "plan".into())
    }

    fn check_region(&mut self, r: &Spanned<String>) {
        if !valid_region(r.get_ref()) {
            let d = self.error(format!("`{}` is not an AWS region", r.get_ref()), sp(r));
            Self::set_label_hint(d, None, Some("regions look like `us-east-1`".into()));
        }
    }

    fn lock(&mut self, l: &Spanned<String>) -> Option<LockLocation> {
        let parsed = l
            .get_ref()
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .filter(|(b, k)| valid_bucket_name(b) && !k.is_empty());
        match parsed {
            Some((bucket, key)) => Some(LockLocation {
                bucket: bucket.to_string(),
                key: key.to_string(),
            }),
            None => {
                let d = self.error(format!("`{}` is not an S3 object URL", l.get_ref()), sp(l));
                Self::set_label_hint(d, None, Some("write the lock as `s3://BUCKET/KEY`".into()));
                None
            }
        }
    }

    fn accounts(&mut self, entries: Vec<Entry<'_>>) -> BTreeMap<String, Account> {
        let mut out = BTreeMap::new();
        let mut seen_ids: BTreeMap<String, String> = BTreeMap::new();
        for e in entries {
            let Some(raw) = self.de::<RawAccount>(e.value) else {
                continue;
            };
            let id = raw.id.get_ref().clone();
            if !is_account_id(&id) {
                let d = self.error(format!("`{id}` is not an AWS account id"), sp(&raw.id));
                Self::set_label_hint(d, Some("expected 12 digits"), None);
            } else if let Some(other) = seen_ids.insert(id.clone(), e.key.clone()) {
                let msg = format!("accounts `{other}` and `{}` have the same id `{id}`", e.key);
                self.error(msg, sp(&raw.id));
            }
            if let Some(arn) = &raw.assume_role {
                match parse_iam_arn(arn.get_ref()) {
                    Some((acct, kind, _)) if kind == "role" => {
                        if is_account_id(&id) && acct != id {
                            let msg = format!(
                                "`assume_role` is a role in account `{acct}`, but this account is `{id}`"
                            );
                            let d = self.error(msg, sp(arn));
                            Self::set_label_hint(
                                d,
                                None,
                                Some("s3ward assumes a role inside the account it changes".into()),
                            );
                        }
                    }
                    _ => {
                        let msg = format!("`{}` is not an IAM role ARN", arn.get_ref());
                        let d = self.error(msg, sp(arn));
                        Self::set_label_hint(
                            d,
                            None,
                            Some(format!("write `arn:aws:iam::{id}:role/NAME`")),
                        );
                    }
                }
            }
            if let (Some(x), None) = (&raw.external_id, &raw.assume_role) {
                let d = self.error("`external_id` without `assume_role`", sp(x));
                Self::set_label_hint(
                    d,
                    None,
                    Some("the external id is passed to AssumeRole; add `assume_role`".into()),
                );
            }
            out.insert(
                e.key.clone(),
                Account {
                    key: e.key,
                    id,
                    assume_role: raw.assume_role.map(Spanned::into_inner),
                    external_id: raw.external_id.map(Spanned::into_inner),
                },
            );
        }
        out
    }

    fn principals(
        &mut self,
        entries: Vec<Entry<'_>>,
        accounts: &BTreeMap<String, Account>,
    ) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for e in entries {
            let Some(raw) = self.de::<RawPrincipal>(e.value) else {
                continue;
            };
            let arn = match (&raw.arn, &raw.account) {
                (Some(arn), None) => {
                    if parse_iam_arn(arn.get_ref()).is_none() {
                        let msg = format!("`{}` is not an IAM principal ARN", arn.get_ref());
                        let d = self.error(msg, sp(arn));
                        Self::set_label_hint(
                            d,
                            None,
                            Some("principals are roles, users or account roots: `arn:aws:iam::ID:role/NAME`".into()),
                        );
                        continue;
                    }
                    arn.get_ref().clone()
                }
                (None, Some(a)) => match self.account_id(a, accounts) {
                    Some(id) => account_root_arn(&id),
                    None => continue,
                },
                _ => {
                    let d = self.error(
                        format!(
                            "principal `{}` needs exactly one of `arn` and `account`",
                            e.key
                        ),
                        Some(e.key_span.clone()),
                    );
                    Self::set_label_hint(
                        d,
                        None,
                        Some("`arn = \"arn:aws:iam::ID:role/NAME\"` or `account = \"ID\"`".into()),
                    );
                    continue;
                }
            };
            out.insert(e.key, arn);
        }
        out
    }

    /// An account written as an `[accounts]` key or a 12-digit id.
    fn account_id(
        &mut self,
        a: &Spanned<String>,
        accounts: &BTreeMap<String, Account>,
    ) -> Option<String> {
        let v = a.get_ref();
        if let Some(acct) = accounts.get(v) {
            return Some(acct.id.clone());
        }
        if is_account_id(v) {
            return Some(v.clone());
        }
        let msg = format!("`{v}` is neither an `[accounts]` key nor a 12-digit account id");
        let hint = suggest(v, accounts.keys().map(String::as_str))
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| {
                (!accounts.is_empty()).then(|| format!("accounts: {}", list_of(&keys(accounts))))
            });
        let d = self.error(msg, sp(a));
        Self::set_label_hint(d, None, hint);
        None
    }

    /// The head of a role or bucket entry: its account (`None` when the key is unknown,
    /// with a placeholder to keep checking the rest of the entry) and its AWS name
    /// (`name = ...`, else the table key), which must follow `rule`.
    fn account_and_name(
        &mut self,
        e: &Entry<'_>,
        account: &Spanned<String>,
        name: Option<&Spanned<String>>,
        ctx: &Ctx<'_>,
        rule: NameRule,
    ) -> (Option<Account>, Account, String) {
        let known_account = self.account_key(account, ctx.accounts).cloned();
        let account = known_account
            .clone()
            .unwrap_or_else(|| placeholder_account(account));
        let (text, span) = name.map_or((e.key.clone(), e.key_span.clone()), |n| {
            (n.get_ref().clone(), n.span())
        });
        if !(rule.valid)(&text) {
            let d = self.error(format!("`{text}` is not a valid {}", rule.what), Some(span));
            Self::set_label_hint(d, None, Some(rule.rule.into()));
        }
        (known_account, account, text)
    }

    /// An `[accounts]` key (the only form allowed where s3ward acts).
    fn account_key<'a>(
        &mut self,
        a: &Spanned<String>,
        accounts: &'a BTreeMap<String, Account>,
    ) -> Option<&'a Account> {
        if let Some(acct) = accounts.get(a.get_ref()) {
            return Some(acct);
        }
        let msg = format!("unknown account `{}`", a.get_ref());
        let hint = suggest(a.get_ref(), accounts.keys().map(String::as_str))
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| {
                if accounts.is_empty() {
                    "declare it in `[accounts.KEY]` with `id = \"...\"`".into()
                } else {
                    format!(
                        "`account` names an `[accounts]` key: {}",
                        list_of(&keys(accounts))
                    )
                }
            });
        let d = self.error(msg, sp(a));
        Self::set_label_hint(d, Some("not an `[accounts]` key"), Some(hint));
        None
    }

    fn mode(&mut self, m: &Option<Spanned<String>>) -> Mode {
        match m.as_ref().map(|m| (m.get_ref().as_str(), m)) {
            None | Some(("exclusive", _)) => Mode::Exclusive,
            Some(("additive", _)) => Mode::Additive,
            Some((other, m)) => {
                let d = self.error(format!("unknown mode `{other}`"), sp(m));
                Self::set_label_hint(d, None, Some("use `exclusive` or `additive`".into()));
                Mode::Exclusive
            }
        }
    }

    fn tags(
        &mut self,
        tags: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    ) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (k, v) in tags.into_iter().flatten() {
            let key = k.get_ref();
            let reserved = is_aws_reserved_tag_key(key) || key == APPLIED_TAG;
            if reserved {
                let msg = format!("tag key `{key}` is reserved");
                let hint = if key == APPLIED_TAG {
                    "s3ward writes this tag itself after each apply"
                } else {
                    "AWS reserves the `aws:` prefix"
                };
                let d = self.error(msg, sp(&k));
                Self::set_label_hint(d, None, Some(hint.into()));
            } else if !valid_tag_key(key) {
                let d = self.error(format!("`{key}` is not a valid tag key"), sp(&k));
                Self::set_label_hint(
                    d,
                    None,
                    Some("1 to 128 letters, digits, spaces and `_ . : / = + - @`".into()),
                );
            }
            if !valid_tag_value(v.get_ref()) {
                let d = self.error(
                    format!("`{}` is not a valid tag value", v.get_ref()),
                    sp(&v),
                );
                Self::set_label_hint(
                    d,
                    None,
                    Some("at most 256 letters, digits, spaces and `_ . : / = + - @`".into()),
                );
            }
            out.insert(k.into_inner(), v.into_inner());
        }
        out
    }

    fn role(&mut self, e: &Entry<'_>, raw: RawRole, ctx: &Ctx<'_>) -> Option<Role> {
        let (known_account, account, name) = self.account_and_name(
            e,
            &raw.account,
            raw.name.as_ref(),
            ctx,
            NameRule {
                valid: valid_role_name,
                what: "IAM role name",
                rule: "1 to 64 letters, digits and `+ = , . @ _ -`",
            },
        );
        if let Some(p) = &raw.path
            && !valid_iam_path(p.get_ref())
        {
            let d = self.error(format!("`{}` is not a valid IAM path", p.get_ref()), sp(p));
            Self::set_label_hint(
                d,
                None,
                Some("a path starts and ends with `/`, like `/ml/`".into()),
            );
        }
        if let Some(d) = &raw.description
            && d.get_ref().chars().count() > 1000
        {
            self.error("a role description holds at most 1000 characters", sp(d));
        }
        let max_session_duration = raw.max_session_duration.as_ref().and_then(|m| {
            let v = *m.get_ref();
            if (3600..=43200).contains(&v) {
                Some(v as i32)
            } else {
                let d = self.error(
                    format!("`max_session_duration = {v}` is out of range"),
                    sp(m),
                );
                Self::set_label_hint(
                    d,
                    None,
                    Some("IAM allows 3600 to 43200 seconds (1 to 12 hours)".into()),
                );
                None
            }
        });
        let managed_policies = raw.managed_policies.as_ref().map(|list| {
            let mut set = BTreeSet::new();
            for arn in list.get_ref() {
                if !valid_managed_policy_arn(arn.get_ref()) {
                    let d = self.error(
                        format!("`{}` is not a managed policy ARN", arn.get_ref()),
                        sp(arn),
                    );
                    Self::set_label_hint(
                        d,
                        None,
                        Some("managed policies look like `arn:aws:iam::aws:policy/NAME` or `arn:aws:iam::ID:policy/NAME`".into()),
                    );
                } else if !set.insert(arn.get_ref().clone()) {
                    self.warn(format!("`{}` is listed twice", arn.get_ref()), sp(arn));
                }
            }
            set
        });
        let managed_policies_mode = self.mode(&raw.managed_policies_mode);
        if managed_policies.is_none()
            && let Some(m) = &raw.managed_policies_mode
        {
            self.warn(
                "`managed_policies_mode` without `managed_policies` has no effect",
                sp(m),
            )
            .hint = Some("without `managed_policies`, s3ward leaves attachments alone".into());
        }
        let trust = self.trust(e, &raw, &account, ctx);
        // `inline_policies_mode` belongs to the role, but SPEC's example shows it under the
        // `[roles.KEY.inline_policies]` header, where TOML puts it inside that table. Accept
        // it there too: a policy document is never the word `exclusive` or `additive`.
        let mut mode_raw = raw.inline_policies_mode.clone();
        let mut inline_policies = None;
        if let Some(table) = raw.inline_policies {
            let mut docs = BTreeMap::new();
            for (k, v) in table {
                if k.get_ref() == "inline_policies_mode" {
                    if mode_raw.is_some() {
                        self.error("`inline_policies_mode` is set twice", sp(&k));
                    }
                    mode_raw = Some(v);
                    continue;
                }
                if k.get_ref() == GRANTS_POLICY_NAME {
                    let d = self.error(format!("`{GRANTS_POLICY_NAME}` is reserved"), sp(&k));
                    Self::set_label_hint(
                        d,
                        None,
                        Some("s3ward writes this inline policy from the plan's grants".into()),
                    );
                    continue;
                }
                if !valid_policy_name(k.get_ref()) {
                    let d = self.error(
                        format!("`{}` is not a valid policy name", k.get_ref()),
                        sp(&k),
                    );
                    Self::set_label_hint(
                        d,
                        None,
                        Some("1 to 128 letters, digits and `+ = , . @ _ -`".into()),
                    );
                }
                if let Some(doc) = self.policy_text(&v, PolicyKind::Identity) {
                    docs.insert(k.into_inner(), doc);
                }
            }
            inline_policies = Some(docs);
        }
        let inline_policies_mode = self.mode(&mode_raw);
        let tags = self.tags(raw.tags);
        if tags.len() > 50 - 3 {
            self.error(
                "a role holds at most 50 tags, and s3ward needs 3 of them",
                Some(e.key_span.clone()),
            );
        }
        known_account.as_ref()?;
        Some(Role {
            key: e.key.clone(),
            name,
            account: account.key.clone(),
            account_id: account.id.clone(),
            path: raw.path.map(Spanned::into_inner),
            description: raw.description.map(Spanned::into_inner),
            max_session_duration,
            tags,
            managed_policies,
            managed_policies_mode,
            trust: trust.unwrap_or_else(|| PolicyDocument::new(Vec::new())),
            inline_policies,
            inline_policies_mode,
            grants_policy: None,
        })
    }

    fn trust(
        &mut self,
        e: &Entry<'_>,
        raw: &RawRole,
        account: &Account,
        ctx: &Ctx<'_>,
    ) -> Option<PolicyDocument> {
        let doc = match (&raw.trust, &raw.trust_policy) {
            (Some(_), Some(tp)) => {
                let d = self.error(
                    "a role has either `trust` or `trust_policy`, not both",
                    sp(tp),
                );
                Self::set_label_hint(
                    d,
                    None,
                    Some("use the typed `trust` entries, or the raw `trust_policy`".into()),
                );
                return None;
            }
            (None, None) => {
                let d = self.error(
                    format!("role `{}` has no `trust`", e.key),
                    Some(e.key_span.clone()),
                );
                Self::set_label_hint(
                    d,
                    None,
                    Some("say who may assume it, e.g. `trust = [{ service = \"ec2.amazonaws.com\" }]`".into()),
                );
                return None;
            }
            (None, Some(tp)) => self.policy_text(tp, PolicyKind::Trust)?,
            (Some(list), None) => {
                if list.get_ref().is_empty() {
                    let d = self.error("`trust` needs at least one entry", sp(list));
                    Self::set_label_hint(
                        d,
                        None,
                        Some("an empty trust policy lets nobody assume the role".into()),
                    );
                    return None;
                }
                let mut entries = Vec::new();
                for t in list.get_ref() {
                    if let Some(entry) = self.trust_entry(t, account, ctx) {
                        entries.push(entry);
                    }
                }
                trust_document(&entries)
            }
        };
        let size = lint::iam_size(&doc);
        if size > lint::TRUST_POLICY_MAX_CHARS {
            let span = raw
                .trust_policy
                .as_ref()
                .map(Spanned::span)
                .or(raw.trust.as_ref().map(Spanned::span));
            let d = self.error(
                format!(
                    "the trust policy of role `{}` is {size} characters; IAM allows {}",
                    e.key,
                    lint::TRUST_POLICY_MAX_CHARS
                ),
                span,
            );
            Self::set_label_hint(
                d,
                None,
                Some("merge entries, or ask AWS to raise the role trust policy quota".into()),
            );
        }
        Some(doc)
    }

    fn trust_entry(
        &mut self,
        t: &Spanned<RawTrust>,
        account: &Account,
        ctx: &Ctx<'_>,
    ) -> Option<TrustEntry> {
        let r = t.get_ref();
        let kinds = [
            r.service.is_some(),
            r.account.is_some(),
            r.arn.is_some(),
            r.role.is_some(),
            r.eks.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            let d = self.error("a trust entry needs exactly one kind", sp(t));
            Self::set_label_hint(
                d,
                None,
                Some("one of `service`, `account`, `arn`, `role`, `eks`".into()),
            );
            return None;
        }
        let external_id = r.external_id.as_ref().map(|x| x.get_ref().clone());
        if let Some(x) = &r.external_id
            && (r.service.is_some() || r.eks.is_some())
        {
            let d = self.error(
                "`external_id` applies to `account`, `arn` and `role` entries",
                sp(x),
            );
            Self::set_label_hint(
                d,
                None,
                Some("services and EKS pods do not send an external id".into()),
            );
        }
        if let Some(s) = &r.service {
            if !is_service_principal(s.get_ref()) {
                let d = self.error(
                    format!("`{}` is not an AWS service principal", s.get_ref()),
                    sp(s),
                );
                Self::set_label_hint(
                    d,
                    None,
                    Some("service principals look like `ec2.amazonaws.com`".into()),
                );
                return None;
            }
            return Some(TrustEntry::Service(s.get_ref().clone()));
        }
        if let Some(a) = &r.account {
            let id = self.account_id(a, ctx.accounts)?;
            return Some(TrustEntry::Aws {
                arn: account_root_arn(&id),
                external_id,
            });
        }
        if let Some(arn) = &r.arn {
            if parse_iam_arn(arn.get_ref()).is_none() {
                let d = self.error(
                    format!("`{}` is not an IAM principal ARN", arn.get_ref()),
                    sp(arn),
                );
                Self::set_label_hint(d, None, Some("write `arn:aws:iam::ID:role/NAME`".into()));
                return None;
            }
            return Some(TrustEntry::Aws {
                arn: arn.get_ref().clone(),
                external_id,
            });
        }
        if let Some(role) = &r.role {
            let Some(rr) = ctx.roles.get(role.get_ref()) else {
                if !ctx.role_keys.contains(role.get_ref()) {
                    self.unknown_ref("role", role, &ctx.role_keys);
                }
                return None;
            };
            return Some(TrustEntry::Aws {
                arn: rr.arn.clone(),
                external_id,
            });
        }
        let eks = r.eks.as_ref().expect("one kind is set").get_ref();
        let provider = eks.oidc_provider.get_ref();
        if provider.starts_with("https://") || provider.starts_with("arn:") {
            let d = self.error(
                "write the OIDC provider as its host and path",
                sp(&eks.oidc_provider),
            );
            Self::set_label_hint(
                d,
                None,
                Some(
                    "for example `oidc.eks.us-east-1.amazonaws.com/id/ABC123`, without `https://`"
                        .into(),
                ),
            );
            return None;
        }
        for (what, v) in [
            ("oidc_provider", &eks.oidc_provider),
            ("namespace", &eks.namespace),
            ("service_account", &eks.service_account),
        ] {
            if v.get_ref().is_empty() {
                self.error(format!("`{what}` must not be empty"), sp(v));
                return None;
            }
        }
        Some(TrustEntry::Eks {
            provider_arn: oidc_provider_arn(&account.id, provider),
            provider: provider.clone(),
            namespace: eks.namespace.get_ref().clone(),
            service_account: eks.service_account.get_ref().clone(),
        })
    }

    fn unknown_ref(&mut self, kind: &str, v: &Spanned<String>, known: &[String]) {
        let msg = format!("unknown {kind} `{}`", v.get_ref());
        let hint = suggest(v.get_ref(), known.iter().map(String::as_str))
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| {
                if known.is_empty() {
                    format!("the plan file declares no {kind}s")
                } else {
                    format!("{kind}s: {}", list_of(known))
                }
            });
        let d = self.error(msg, sp(v));
        Self::set_label_hint(d, None, Some(hint));
    }

    /// Where a parse error inside the JSON of the TOML string `text` is in the plan file: at
    /// the very bytes when the string's content is its source text byte for byte (a literal
    /// string, `'…'` or `'''…'''`, or a basic one without escapes), else the whole string.
    fn json_span(&self, text: &Spanned<String>, e: &ParseError) -> (Option<Span>, bool) {
        let span = text.span();
        let Some((at, len)) = e.at else {
            return (Some(span), false);
        };
        let raw = self.source.get(span.clone()).unwrap_or_default();
        let open = ["'''", "\"\"\"", "'", "\""]
            .into_iter()
            .find(|q| raw.starts_with(q))
            .unwrap_or_default();
        let mut start = span.start + open.len();
        if open.len() == 3 {
            // TOML drops a newline right after the opening delimiter of a multi-line string.
            let rest = &self.source[start..];
            start += if rest.starts_with("\r\n") {
                2
            } else {
                usize::from(rest.starts_with('\n'))
            };
        }
        let value = text.get_ref();
        let verbatim = !open.is_empty()
            && (open.starts_with('\'') || !raw.contains('\\'))
            && self.source.get(start..start + value.len()) == Some(value.as_str());
        if verbatim && at + len <= value.len() {
            (Some(start + at..start + at + len), true)
        } else {
            (Some(span), false)
        }
    }

    /// Parses a raw JSON policy written in the plan file, and checks what IAM would reject.
    fn policy_text(&mut self, text: &Spanned<String>, kind: PolicyKind) -> Option<PolicyDocument> {
        let doc = match PolicyDocument::parse(text.get_ref()) {
            Ok(d) => d,
            Err(e) => {
                let (span, exact) = self.json_span(text, &e);
                let d = self.error(format!("invalid policy document: {e}"), span);
                let label = if exact {
                    "repeated here"
                } else {
                    "in this document"
                };
                Self::set_label_hint(d, Some(label), repeated_key_hint(&e));
                return None;
            }
        };
        if doc.version.as_deref() != Some("2012-10-17") {
            self.warn(
                "policy without `\"Version\": \"2012-10-17\"`",
                sp(text),
            )
            .hint = Some("without it IAM reads the document as version 2008-10-17, where `${...}` policy variables do not work".into());
        }
        for (i, st) in doc.statements.iter().enumerate() {
            let has_principal = st.principal.is_some() || st.not_principal.is_some();
            match kind {
                PolicyKind::Identity if has_principal => {
                    self.error(
                        format!("statement {i} of an identity policy names a principal"),
                        sp(text),
                    )
                    .hint = Some(
                        "IAM rejects `Principal` in role policies; the role is the principal"
                            .into(),
                    );
                }
                PolicyKind::Identity if st.resource.is_none() && st.not_resource.is_none() => {
                    self.error(format!("statement {i} has no `Resource`"), sp(text));
                }
                PolicyKind::Trust if !has_principal => {
                    self.error(format!("statement {i} has no `Principal`"), sp(text));
                }
                _ => {}
            }
        }
        Some(doc)
    }

    fn bucket(
        &mut self,
        e: &Entry<'_>,
        raw: RawBucket,
        ctx: &Ctx<'_>,
        default_region: Option<&str>,
    ) -> Option<Bucket> {
        // With an unknown account, keep checking the rest of the entry, then drop it.
        let (known_account, account, name) = self.account_and_name(
            e,
            &raw.account,
            raw.name.as_ref(),
            ctx,
            NameRule {
                valid: valid_bucket_name,
                what: "S3 bucket name",
                rule: "3 to 63 lower-case letters, digits, `.` and `-`, starting and ending with a letter or digit",
            },
        );
        if let Some(r) = &raw.region {
            self.check_region(r);
        }
        let ownership = raw.object_ownership.as_ref().and_then(|o| {
            ObjectOwnership::parse(o.get_ref()).or_else(|| {
                let d = self.error(format!("unknown object ownership `{}`", o.get_ref()), sp(o));
                Self::set_label_hint(
                    d,
                    None,
                    Some(
                        "use `BucketOwnerEnforced`, `BucketOwnerPreferred` or `ObjectWriter`"
                            .into(),
                    ),
                );
                None
            })
        });
        let public_access_block = raw.block_public_access.as_ref().map(|b| match b.get_ref() {
            RawBlock::All(on) => PublicAccessBlock::all(*on),
            RawBlock::Flags(f) => PublicAccessBlock {
                block_public_acls: f.block_public_acls,
                ignore_public_acls: f.ignore_public_acls,
                block_public_policy: f.block_public_policy,
                restrict_public_buckets: f.restrict_public_buckets,
            },
        });
        let acl = match raw.bucket_acl.as_ref().map(|a| a.get_ref().as_str()) {
            None | Some("private") => AclMode::Private,
            Some("unmanaged") => AclMode::Unmanaged,
            Some(other) => {
                let a = raw.bucket_acl.as_ref().expect("matched Some");
                let d = self.error(format!("unknown bucket ACL setting `{other}`"), sp(a));
                Self::set_label_hint(d, None, Some("use `private` or `unmanaged`".into()));
                AclMode::Private
            }
        };
        let policy_mode = match raw.policy_mode.as_ref().map(|a| a.get_ref().as_str()) {
            None | Some("authoritative") => PolicyMode::Authoritative,
            Some("merge") => PolicyMode::Merge,
            Some(other) => {
                let a = raw.policy_mode.as_ref().expect("matched Some");
                let d = self.error(format!("unknown policy mode `{other}`"), sp(a));
                Self::set_label_hint(d, None, Some("use `authoritative` or `merge`".into()));
                PolicyMode::Authoritative
            }
        };
        let tags = self.tags(raw.tags);
        if tags.len() > 50 - 3 {
            self.error(
                "a bucket holds at most 50 tags, and s3ward needs 3 of them",
                Some(e.key_span.clone()),
            );
        }
        let mut bucket = Bucket {
            key: e.key.clone(),
            name,
            account: account.key.clone(),
            account_id: account.id.clone(),
            region: raw
                .region
                .as_ref()
                .map(|r| r.get_ref().clone())
                .or(default_region.map(str::to_string)),
            create: raw.create.as_ref().is_none_or(|c| *c.get_ref()),
            ownership,
            public_access_block,
            acl,
            policy_mode,
            sid_prefix: match policy_mode {
                PolicyMode::Authoritative => "s3ward".to_string(),
                PolicyMode::Merge => merge_sid_prefix(ctx.plan_name),
            },
            policy_statements: Vec::new(),
            tags,
            grants: Vec::new(),
            models: Vec::new(),
        };
        let mut sids: BTreeSet<String> = BTreeSet::new();
        let mut seen: Vec<(Grantee, String, Access, Vec<String>)> = Vec::new();
        for g in &raw.grants {
            let Some(grant) = self.grant(g, &bucket, ctx, &mut sids) else {
                continue;
            };
            let ident = (
                grant.grantee.clone(),
                grant.principal.clone(),
                grant.access,
                grant.prefixes.clone(),
            );
            if seen.contains(&ident) {
                self.warn("this grant repeats an earlier one", sp(g)).hint =
                    Some("remove one of them".into());
            }
            seen.push(ident);
            bucket.grants.push(grant);
        }
        for m in &raw.models {
            if let Some(model) = self.model(m) {
                if bucket.models.iter().any(|x| x.prefix == model.prefix) {
                    self.warn(
                        format!("model directory `{}` is declared twice", model.prefix),
                        sp(m),
                    );
                }
                bucket.models.push(model);
            }
        }
        let mut statements: Vec<Statement> = bucket
            .grants
            .iter()
            .flat_map(|g| g.bucket_statements(&bucket))
            .collect();
        if let Some(extra) = &raw.extra_policy_statements {
            let extras = self.extra_statements(extra, &bucket, &statements);
            statements.extend(extras);
        }
        bucket.policy_statements = statements;
        known_account.as_ref()?;
        if let Some(doc) = bucket.policy_document() {
            let size = lint::s3_size(&doc);
            if size > lint::BUCKET_POLICY_MAX_BYTES {
                let d = self.error(
                    format!(
                        "the policy of bucket `{}` would be {size} bytes; S3 allows {}",
                        bucket.key,
                        lint::BUCKET_POLICY_MAX_BYTES
                    ),
                    Some(e.key_span.clone()),
                );
                Self::set_label_hint(
                    d,
                    None,
                    Some("merge grants with the same access, or use fewer prefixes".into()),
                );
            }
        }
        Some(bucket)
    }

    fn grant(
        &mut self,
        g: &Spanned<RawGrant>,
        bucket: &Bucket,
        ctx: &Ctx<'_>,
        sids: &mut BTreeSet<String>,
    ) -> Option<Grant> {
        let r = g.get_ref();
        let access = match Access::parse(r.access.get_ref()) {
            Some(a) => Some(a),
            None => {
                let d = self.error(
                    format!("unknown access level `{}`", r.access.get_ref()),
                    sp(&r.access),
                );
                let hint = suggest(r.access.get_ref(), Access::ALL.iter().map(|a| a.as_str()))
                    .map(|s| format!("did you mean `{s}`? Levels: `list`, `read`, `write`, `read-write`, `full`"))
                    .unwrap_or_else(|| "use one of `list`, `read`, `write`, `read-write`, `full`".into());
                Self::set_label_hint(d, Some("not an access level"), Some(hint));
                None
            }
        };
        let to = r.to.get_ref().as_str();
        let (grantee, principal, word) = if to == "*" {
            (Grantee::Anyone, "*".to_string(), "Public".to_string())
        } else if let Some(k) = to.strip_prefix("role.") {
            let Some(rr) = ctx.roles.get(k) else {
                self.unknown_target(&r.to, ctx);
                return None;
            };
            (
                Grantee::Role(k.to_string()),
                rr.arn.clone(),
                format!("Role{}", pascal(k)),
            )
        } else if let Some(k) = to.strip_prefix("principal.") {
            let Some(arn) = ctx.principals.get(k) else {
                self.unknown_target(&r.to, ctx);
                return None;
            };
            (
                Grantee::Principal(k.to_string()),
                arn.clone(),
                format!("Principal{}", pascal(k)),
            )
        } else if let Some(k) = to.strip_prefix("account.") {
            let Some(a) = ctx.accounts.get(k) else {
                self.unknown_target(&r.to, ctx);
                return None;
            };
            (
                Grantee::Account(k.to_string()),
                account_root_arn(&a.id),
                format!("Account{}", pascal(k)),
            )
        } else if to.starts_with("arn:") {
            if parse_iam_arn(to).is_none() {
                let d = self.error(format!("`{to}` is not an IAM principal ARN"), sp(&r.to));
                Self::set_label_hint(
                    d,
                    None,
                    Some(
                        "grants go to roles, users or account roots: `arn:aws:iam::ID:role/NAME`"
                            .into(),
                    ),
                );
                return None;
            }
            let digest = hex::encode(Sha256::digest(to.as_bytes()));
            (Grantee::Arn, to.to_string(), format!("Arn{}", &digest[..8]))
        } else {
            self.unknown_target(&r.to, ctx);
            return None;
        };
        let access = access?;
        let public = r.public.as_ref().is_some_and(|p| *p.get_ref());
        if grantee == Grantee::Anyone {
            if !public {
                let d = self.error("a grant to `*` (anyone) needs `public = true`", sp(&r.to));
                Self::set_label_hint(
                    d,
                    Some("public grant"),
                    Some("public model weights are rare; if this is meant, add `public = true` and set `block_public_access = false` on the bucket".into()),
                );
            } else if !bucket
                .public_access_block
                .is_some_and(|b| b.allows_public_policy())
            {
                let d = self.error(
                    format!(
                        "bucket `{}` blocks public policies, so a grant to `*` cannot work",
                        bucket.key
                    ),
                    sp(&r.to),
                );
                Self::set_label_hint(
                    d,
                    None,
                    Some("set `block_public_access = false` on the bucket (AWS rejects public policies while BlockPublicPolicy is on)".into()),
                );
            }
            if access.writes() {
                self.warn(
                    format!(
                        "anyone on the internet could write to bucket `{}`",
                        bucket.key
                    ),
                    sp(&r.access),
                );
            }
        } else if let Some(p) = &r.public
            && *p.get_ref()
        {
            self.warn(
                "`public = true` has no effect on a grant that is not to `*`",
                sp(p),
            );
        }
        let mut prefixes = Vec::new();
        if let Some(list) = &r.prefixes {
            if list.get_ref().is_empty() {
                let d = self.error("`prefixes` is empty", sp(list));
                Self::set_label_hint(
                    d,
                    None,
                    Some("leave `prefixes` out to grant the whole bucket".into()),
                );
            }
            for p in list.get_ref() {
                let v = p.get_ref();
                if v.contains("${") {
                    self.policy_variable(v, "prefix", sp(p));
                    continue;
                }
                if v.is_empty() || v.starts_with('/') || v.contains('*') || v.contains('?') {
                    let d = self.error(format!("`{v}` is not a usable prefix"), sp(p));
                    Self::set_label_hint(
                        d,
                        None,
                        Some("a prefix is the start of object keys, like `Mistral-7B-v0.1/`, without a leading `/` or wildcards".into()),
                    );
                    continue;
                }
                if !v.ends_with('/') {
                    self.warn(format!("prefix `{v}` does not end with `/`"), sp(p))
                        .hint = Some(format!(
                        "it also matches keys such as `{v}-other/...`; add `/` to grant one directory"
                    ));
                }
                prefixes.push(v.clone());
            }
        }
        let principal_account = parse_iam_arn(&principal).map(|(a, _, _)| a);
        if access == Access::Full
            && prefixes.is_empty()
            && principal_account
                .as_deref()
                .is_some_and(|a| a != bucket.account_id)
        {
            self.warn(
                format!("`full` access to the whole bucket `{}` for another account", bucket.key),
                sp(&r.access),
            )
            .hint = Some("`full` includes deleting every object; consider `read-write`, or limit it with `prefixes`".into());
        }
        // Unique within the bucket: a second grant of the same access to the same grantee is
        // numbered, and so is one whose name would read the same (`role.model`'s second
        // read grant and `role.model2`'s first are both `...RoleModel2` otherwise).
        let stem = format!("{}{}{}", bucket.sid_prefix, access_word(access), word);
        let mut sid = stem.clone();
        let mut n = 1;
        while sids.contains(&sid) {
            n += 1;
            sid = format!("{stem}{n}");
        }
        sids.insert(sid.clone());
        Some(Grant {
            grantee,
            principal,
            principal_account,
            access,
            prefixes,
            sid,
        })
    }

    /// A prefix holding `${`: in the policies it goes into, IAM would read a policy variable
    /// (`${aws:username}`) and grant per caller, not the literal keys the plan file names.
    fn policy_variable(&mut self, v: &str, what: &str, span: Option<Span>) {
        let d = self.error(format!("{what} `{v}` holds `${{`"), span);
        Self::set_label_hint(
            d,
            Some("policy variable"),
            Some("IAM reads `${...}` in a policy as a variable (like `${aws:username}`) and substitutes it per request, so a policy naming this prefix would not mean these keys; use a prefix without `${`".into()),
        );
    }

    fn unknown_target(&mut self, to: &Spanned<String>, ctx: &Ctx<'_>) {
        let v = to.get_ref();
        if ctx.declared.contains(v) {
            return; // declared, with problems reported where it is declared
        }
        let mut known: Vec<String> = Vec::new();
        known.extend(ctx.role_keys.iter().map(|k| format!("role.{k}")));
        known.extend(
            ctx.declared
                .iter()
                .filter(|k| !k.starts_with("role."))
                .cloned(),
        );
        let msg = format!("`to = \"{v}\"` names nothing in this plan file");
        let hint = suggest(v, known.iter().map(String::as_str))
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| {
                "write `role.KEY`, `principal.KEY`, `account.KEY`, an IAM ARN, or `*`".into()
            });
        let d = self.error(msg, sp(to));
        Self::set_label_hint(d, Some("unknown grantee"), Some(hint));
    }

    fn model(&mut self, m: &Spanned<RawModel>) -> Option<ModelDir> {
        let r = m.get_ref();
        let prefix = r.prefix.get_ref();
        if prefix.contains("${") {
            self.policy_variable(prefix, "model directory prefix", sp(&r.prefix));
            return None;
        }
        if prefix.is_empty() || prefix.starts_with('/') {
            self.error(
                format!("`{prefix}` is not a model directory prefix"),
                sp(&r.prefix),
            )
            .hint = Some("write the directory as a key prefix, like `Mistral-7B-v0.1/`".into());
            return None;
        }
        let prefix = if prefix.ends_with('/') {
            prefix.clone()
        } else {
            format!("{prefix}/")
        };
        let require = match &r.require {
            None => vec!["config.json".to_string()],
            Some(list) => {
                for f in list.get_ref() {
                    if f.get_ref().is_empty() || f.get_ref().starts_with('/') {
                        self.error(format!("`{}` is not a file name", f.get_ref()), sp(f));
                    }
                }
                list.get_ref().iter().map(|f| f.get_ref().clone()).collect()
            }
        };
        Some(ModelDir { prefix, require })
    }

    fn extra_statements(
        &mut self,
        text: &Spanned<String>,
        bucket: &Bucket,
        generated: &[Statement],
    ) -> Vec<Statement> {
        let statements = match PolicyDocument::parse_statements(text.get_ref()) {
            Ok(s) => s,
            Err(e) => {
                let (span, exact) = self.json_span(text, &e);
                let d = self.error(format!("invalid `extra_policy_statements`: {e}"), span);
                let hint = repeated_key_hint(&e).unwrap_or_else(|| {
                    "write a JSON array of statements: '''[{\"Sid\": \"...\", ...}]'''".into()
                });
                Self::set_label_hint(d, exact.then_some("repeated here"), Some(hint));
                return Vec::new();
            }
        };
        let bucket_arn = bucket.arn();
        let mut sids: BTreeSet<&str> = generated.iter().filter_map(|s| s.sid()).collect();
        for (i, st) in statements.iter().enumerate() {
            if st.principal.is_none() && st.not_principal.is_none() {
                self.error(format!("extra statement {i} has no `Principal`"), sp(text))
                    .hint = Some("bucket policy statements need a `Principal`".into());
            }
            if let Some(sid) = st.sid()
                && !sids.insert(sid)
            {
                self.error(format!("extra statement {i} reuses the Sid `{sid}`"), sp(text))
                    .hint = Some("Sids must be unique in a bucket policy; s3ward's own are `s3ward<Access><Grantee>...`".into());
            }
            if bucket.policy_mode == PolicyMode::Merge
                && !st.sid().is_some_and(|s| {
                    owns_sid(&bucket.sid_prefix, Some(s)) && s.starts_with(&bucket.sid_prefix)
                })
            {
                let prefix = &bucket.sid_prefix;
                self.error(
                    format!("in `merge` mode, extra statement {i} needs a Sid starting with `{prefix}` and a capital letter"),
                    sp(text),
                )
                .hint = Some(format!("in merge mode this plan owns only statements whose Sid starts with `{prefix}` (`s3ward` and the plan's name), so that plan files sharing the bucket keep each other's; e.g. `{prefix}DenyInsecureTransport`"));
            }
            for res in st.resource.iter().chain(st.not_resource.iter()).flatten() {
                if res != "*" && res != &bucket_arn && !res.starts_with(&format!("{bucket_arn}/")) {
                    self.error(
                        format!(
                            "extra statement {i}: `{res}` is not in bucket `{}`",
                            bucket.name
                        ),
                        sp(text),
                    )
                    .hint = Some(format!(
                        "S3 rejects bucket policy resources outside `{bucket_arn}`"
                    ));
                }
            }
            if lint::is_public_statement(st) {
                match bucket.public_access_block {
                    Some(b) if b.allows_public_policy() => {}
                    Some(_) => {
                        let d = self.error(
                            format!("extra statement {i} makes bucket `{}` public, but its `block_public_access` blocks public policies", bucket.key),
                            sp(text),
                        );
                        Self::set_label_hint(
                            d,
                            Some("public statement"),
                            Some("it allows `*` with no condition that narrows it, and AWS rejects such a policy while BlockPublicPolicy is on; if this is meant, set `block_public_access = false`".into()),
                        );
                    }
                    None => {
                        self.warn(
                            format!("extra statement {i} makes bucket `{}` public", bucket.key),
                            sp(text),
                        )
                        .hint = Some("it allows `*` with no condition that narrows it; AWS rejects it while the bucket's public access block is on (the default for new buckets). Declare `block_public_access = false` if this is meant".into());
                    }
                }
            }
        }
        let offline = Identity {
            account: bucket.account_id.clone(),
            ..Default::default()
        };
        for f in rules::self_lockout(
            &statements,
            &offline,
            &bucket.name,
            self.options.allow_self_lockout,
            Stage::Offline,
        ) {
            let d = if f.refused {
                self.error(f.message, sp(text))
            } else {
                self.warn(f.message, sp(text))
            };
            Self::set_label_hint(d, f.refused.then_some("self-lockout"), f.hint);
        }
        statements
    }

    fn same_bucket_names(
        &mut self,
        buckets: &BTreeMap<String, Bucket>,
        spans: &BTreeMap<String, Span>,
    ) {
        let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (k, b) in buckets {
            by_name.entry(&b.name).or_default().push(k);
        }
        for (name, ks) in by_name {
            if ks.len() > 1 {
                let later = ks[1..]
                    .iter()
                    .filter_map(|k| spans.get(*k))
                    .min_by_key(|s| s.start)
                    .cloned();
                let d = self.error(
                    format!(
                        "buckets {} all name the bucket `{name}`",
                        list_of(&ks.iter().map(|k| k.to_string()).collect::<Vec<_>>())
                    ),
                    later,
                );
                Self::set_label_hint(
                    d,
                    None,
                    Some("two entries would fight over one bucket; merge them into one".into()),
                );
            }
        }
    }

    /// Each plan role's `s3ward-grants` document, from every grant to it, and the size check
    /// of its inline policies.
    fn grants_policies(
        &mut self,
        roles: &mut BTreeMap<String, Role>,
        buckets: &BTreeMap<String, Bucket>,
        spans: &BTreeMap<String, Span>,
    ) {
        for (key, role) in roles.iter_mut() {
            let statements: Vec<Statement> = buckets
                .values()
                .flat_map(|b| {
                    b.grants
                        .iter()
                        .filter(|g| g.grantee == Grantee::Role(key.clone()))
                        .flat_map(move |g| g.identity_statements(b))
                })
                .collect();
            // One role may get the same access on one bucket twice (different prefixes):
            // number the Sids like the bucket side does.
            let mut seen: BTreeMap<String, usize> = BTreeMap::new();
            let statements: Vec<Statement> = statements
                .into_iter()
                .map(|mut s| {
                    let sid = s.sid.clone().unwrap_or_default();
                    let n = seen.entry(sid.clone()).or_insert(0);
                    *n += 1;
                    if *n > 1 {
                        s.sid = Some(format!("{sid}{n}"));
                    }
                    s
                })
                .collect();
            role.grants_policy = (!statements.is_empty()).then(|| PolicyDocument::new(statements));
            let total: usize = role
                .inline_policies
                .iter()
                .flatten()
                .map(|(_, d)| lint::iam_size(d))
                .chain(role.grants_policy.iter().map(lint::iam_size))
                .sum();
            if let Some(f) = rules::inline_policies_size(&role.name, total, &[]) {
                let d = self.error(f.message, spans.get(key).cloned());
                Self::set_label_hint(d, None, f.hint);
            }
        }
    }
}

#[derive(Clone, Copy)]
enum PolicyKind {
    Identity,
    Trust,
}

struct RoleRef {
    arn: String,
}

struct Ctx<'a> {
    /// The plan's name (`settings.name`, else the file stem).
    plan_name: &'a str,
    accounts: &'a BTreeMap<String, Account>,
    principals: &'a BTreeMap<String, String>,
    roles: &'a BTreeMap<String, RoleRef>,
    role_keys: Vec<String>,
    declared: BTreeSet<String>,
}

/// Removes the table entry whose key or value is at `span`, or the array element there.
fn remove_at(value: &mut Spanned<DeValue<'_>>, span: &Span) -> bool {
    match value.get_mut() {
        DeValue::Table(t) => {
            let hit = t
                .iter()
                .find(|(k, v)| k.span() == *span || v.span() == *span)
                .map(|(k, _)| k.clone());
            if let Some(k) = hit {
                t.remove(&k);
                return true;
            }
            t.iter_mut().any(|(_, v)| remove_at(v, span))
        }
        DeValue::Array(a) => {
            if let Some(i) = a.iter().position(|v| v.span() == *span) {
                // DeArray has no `remove`; rebuild it without the element (the flag it
                // loses, "array of tables", only matters while parsing).
                let mut rebuilt = toml::de::DeArray::new();
                for (j, v) in a.iter().enumerate() {
                    if j != i {
                        rebuilt.push(v.clone());
                    }
                }
                *a = rebuilt;
                return true;
            }
            a.iter_mut().any(|v| remove_at(v, span))
        }
        _ => false,
    }
}

/// At most 40 characters of `s`, for messages about values that may be huge.
/// Why a repeated JSON key is refused, and what to do.
fn repeated_key_hint(e: &ParseError) -> Option<String> {
    e.repeated_key.as_ref().map(|k| {
        format!("write each key once: a reviewer may read the first `{k}` where AWS reads the last")
    })
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= 40 {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(39).collect::<String>())
    }
}

/// What a valid AWS name of some kind looks like, for [`Resolver::account_and_name`].
struct NameRule {
    valid: fn(&str) -> bool,
    /// "IAM role name".
    what: &'static str,
    /// The rule, shown as the hint.
    rule: &'static str,
}

/// Stands in for an unknown account so that the rest of an entry is still checked.
fn placeholder_account(key: &Spanned<String>) -> Account {
    Account {
        key: key.get_ref().clone(),
        id: "000000000000".into(),
        assume_role: None,
        external_id: None,
    }
}

fn access_word(a: Access) -> &'static str {
    match a {
        Access::List => "List",
        Access::Read => "Read",
        Access::Write => "Write",
        Access::ReadWrite => "ReadWrite",
        Access::Full => "Full",
    }
}

fn keys<V>(m: &BTreeMap<String, V>) -> Vec<String> {
    m.keys().cloned().collect()
}

fn list_of<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The closest candidate, when it is close enough to be a typo.
pub fn suggest<'a>(v: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::jaro_winkler(v, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 64
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        let keys = ["inference", "ray-cluster"];
        assert_eq!(
            suggest("inferense", keys.iter().copied()),
            Some("inference")
        );
        assert_eq!(suggest("zzz", keys.iter().copied()), None);
    }
}
