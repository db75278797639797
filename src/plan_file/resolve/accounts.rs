//! `[accounts]` and `[principals]`, and the account every role and bucket names: ids,
//! `assume_role`, principal ARNs, and the name of a role or bucket entry.
//!
//! The AWS naming rules themselves are in `crate::names`; this file only says, with a
//! span and a hint, which rule a value breaks.

use std::collections::BTreeMap;

use toml::Spanned;

use super::{Ctx, Entry, Resolver, keys, list_of, sp, suggest};
use crate::desired::Account;
use crate::names::{account_root_arn, is_account_id, parse_iam_arn};
use crate::plan_file::raw::{RawAccount, RawPrincipal};

impl Resolver {
    pub(super) fn accounts(&mut self, entries: Vec<Entry<'_>>) -> BTreeMap<String, Account> {
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

    pub(super) fn principals(
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
    pub(super) fn account_id(
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
    pub(super) fn account_and_name(
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
}

/// What a valid AWS name of some kind looks like, for [`Resolver::account_and_name`].
pub(super) struct NameRule {
    pub(super) valid: fn(&str) -> bool,
    /// "IAM role name".
    pub(super) what: &'static str,
    /// The rule, shown as the hint.
    pub(super) rule: &'static str,
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
