//! From the TOML text to [`Desired`]: parse, check every value, follow every reference,
//! compute the documents, and run the safety checks that need no AWS call.
//!
//! Every problem becomes a [`Diagnostic`] with a span; nothing stops at the first one. A
//! section that does not even have the right shape (a string where a table belongs) is
//! reported and then skipped, so the rest of the file is still checked.
//!
//! This file owns the [`Resolver`] (the diagnostics it collects and their helpers) and the
//! top-level walk: sections in dependency order (settings, accounts, principals, role ARNs,
//! roles, buckets with their grants, then each role's `s3ward-grants`). Each kind of entry is
//! resolved in its own file, as `impl Resolver` blocks:
//!
//! - [`recover`]: shape errors reported, taken out, and deserializing goes on
//! - [`settings`]: `version` and `[settings]`
//! - [`accounts`]: `[accounts]`, `[principals]`, the account and name of an entry
//! - [`roles`]: `[roles]` and their trust
//! - [`buckets`]: `[buckets]`, model directories, the bucket policy
//! - [`grants`]: grants, their Sids, and each role's grants policy
//! - [`documents`]: raw JSON policies written in the plan file
//! - [`tags`]: tags of roles and buckets
//! - [`workloads`]: `[workloads]`, their volumes, and whether trust and grants let pods in
//!
//! Pure: no AWS call, no file read (the caller passes the text). AWS naming rules live in
//! [`crate::names`], safety rules in [`crate::rules`]; this module only applies them and
//! says where.

mod accounts;
mod buckets;
mod documents;
mod expect;
mod grants;
mod keys;
mod pod_identity;
mod recover;
mod roles;
mod settings;
mod tags;
mod workloads;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use sha2::{Digest, Sha256};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostic::{Diagnostic, Report};
use crate::desired::{Account, Desired, NamedPrincipal, PlanSource};
use crate::plan_file::raw::{RawBucket, RawRole, RawSettings};
use roles::role_refs;

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
        named_principals: Vec::new(),
        expectations: Vec::new(),
        pod_identity_claims: Default::default(),
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
    /// The principals grants and trust entries name, as they are resolved.
    named_principals: Vec<NamedPrincipal>,
    /// `[[buckets.KEY.expect]]` entries, as they are resolved; checked once all is.
    expectations: Vec<crate::desired::Expectation>,
    /// Pod identity associations (account, region, `CLUSTER/NS/SA`) → the role that has it.
    pod_identity_claims: std::collections::BTreeMap<String, String>,
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

pub(super) const TOP_KEYS: &[&str] = &[
    "version",
    "settings",
    "accounts",
    "principals",
    "roles",
    "buckets",
    "workloads",
    "keys",
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
                s @ ("accounts" | "principals" | "roles" | "buckets" | "keys" | "workloads") => {
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
        self.version(version);
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
        let workload_entries = take("workloads");
        let key_entries = take("keys");

        // Everything declared, even entries with problems of their own: a reference to a
        // broken entry must not be reported a second time as "unknown".
        let declared: BTreeSet<String> = [
            ("account", &account_entries),
            ("principal", &principal_entries),
            ("role", &role_entries),
        ]
        .iter()
        .flat_map(|(kind, es)| es.iter().map(move |e| format!("{kind}.{}", e.key)))
        .chain(key_entries.iter().map(|e| format!("key.{}", e.key)))
        .collect();
        let key_spans: BTreeMap<String, Span> = key_entries
            .iter()
            .map(|e| (e.key.clone(), e.key_span.clone()))
            .collect();
        let accounts = self.accounts(account_entries);
        let (mut kms_keys, key_extras) = self.kms_keys(key_entries, &accounts, &name);
        let principals = self.principals(principal_entries, &accounts);
        let raw_roles: Vec<(Entry<'_>, Option<RawRole>)> = role_entries
            .into_iter()
            .map(|e| {
                let raw = self.de::<RawRole>(e.value.clone());
                (e, raw)
            })
            .collect();
        // Role names and ARNs first: trust entries and grants refer to them.
        let role_refs = role_refs(&raw_roles, &accounts);
        let ctx = Ctx {
            plan_name: &name,
            accounts: &accounts,
            principals: &principals,
            roles: &role_refs,
            role_keys: raw_roles.iter().map(|(e, _)| e.key.clone()).collect(),
            declared,
            region: region.as_deref(),
            keys: &kms_keys,
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
        let workloads = self.workloads(workload_entries, &roles, &buckets, &ctx.role_keys);
        self.key_policies(&mut kms_keys, &key_extras, &buckets, &key_spans);

        let text_owned = text.to_string();
        let sha256 = hex::encode(Sha256::digest(text.as_bytes()));
        let desired = Desired {
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
            workloads,
            keys: kms_keys,
            named_principals: std::mem::take(&mut self.named_principals),
            expectations: std::mem::take(&mut self.expectations),
        };
        self.check_expectations(&desired);
        Some(desired)
    }
}

/// A plan role as trust entries and grants name it (`role.KEY`), known before roles resolve.
struct RoleRef {
    arn: String,
}

/// What every entry may refer to, resolved before roles and buckets.
struct Ctx<'a> {
    /// The plan's name (`settings.name`, else the file stem).
    plan_name: &'a str,
    accounts: &'a BTreeMap<String, Account>,
    principals: &'a BTreeMap<String, String>,
    roles: &'a BTreeMap<String, RoleRef>,
    /// Every `[roles]` key, even those whose entry has problems (for suggestions).
    role_keys: Vec<String>,
    /// `settings.region` (the default of a `pod_identity` entry's cluster region).
    region: Option<&'a str>,
    /// `kind.KEY` of every account, principal and role declared, even with problems of its
    /// own, so that a reference to it is not reported again as unknown.
    declared: BTreeSet<String>,
    /// `[keys]`: what a bucket's `encryption = { kms_key = "key.KEY" }` names.
    keys: &'a BTreeMap<String, crate::desired::Key>,
}

/// The keys of a section, for hints.
fn keys<V>(m: &BTreeMap<String, V>) -> Vec<String> {
    m.keys().cloned().collect()
}

/// `` `a`, `b`, `c` `` for messages and hints.
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
