//! `[roles]`: names, paths, limits, managed policy attachments, inline policies, and the
//! trust policy (typed `trust` entries or a raw `trust_policy`).
//!
//! The `s3ward-grants` policy of a role comes from the buckets' grants (`grants.rs`), not
//! from here; raw JSON documents are parsed and checked by `documents.rs`.

use std::collections::{BTreeMap, BTreeSet};

use toml::Spanned;

use super::accounts::NameRule;
use super::documents::PolicyKind;
use super::{Ctx, Entry, Resolver, RoleRef, list_of, sp, suggest};
use crate::desired::{
    Account, GRANTS_POLICY_NAME, Mode, NamedBy, NamedPrincipal, PodIdentityAssociation, Role,
    TrustEntry, role_arn, trust_document,
};
use crate::names::{
    account_root_arn, is_service_principal, oidc_provider_arn, parse_iam_arn, valid_iam_path,
    valid_managed_policy_arn, valid_policy_name, valid_role_name,
};
use crate::plan_file::raw::{RawRole, RawTrust};
use crate::policy::PolicyDocument;
use crate::policy::lint;

impl Resolver {
    pub(super) fn role(&mut self, e: &Entry<'_>, raw: RawRole, ctx: &Ctx<'_>) -> Option<Role> {
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
        let mut pod_identity = Vec::new();
        let trust = self.trust(e, &raw, &account, ctx, &mut pod_identity);
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
        let tags = self.tags(raw.tags, "role", &e.key_span);
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
            pod_identity,
        })
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

    fn trust(
        &mut self,
        e: &Entry<'_>,
        raw: &RawRole,
        account: &Account,
        ctx: &Ctx<'_>,
        pod_identity: &mut Vec<PodIdentityAssociation>,
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
                        if let (TrustEntry::Aws { arn, .. }, Some(written)) =
                            (&entry, &t.get_ref().arn)
                        {
                            self.named_principals.push(NamedPrincipal {
                                arn: arn.clone(),
                                by: NamedBy::RoleTrust(e.key.clone()),
                                span: sp(written),
                            });
                        }
                        if let Some(a) = PodIdentityAssociation::of(&entry)
                            && self.claim_pod_identity(&a, &e.key, sp(t))
                            && !pod_identity.contains(&a)
                        {
                            pod_identity.push(a);
                        }
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
            r.pod_identity.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            let d = self.error("a trust entry needs exactly one kind", sp(t));
            Self::set_label_hint(
                d,
                None,
                Some("one of `service`, `account`, `arn`, `role`, `eks`, `pod_identity`".into()),
            );
            return None;
        }
        let external_id = r.external_id.as_ref().map(|x| x.get_ref().clone());
        if let Some(x) = &r.external_id
            && (r.service.is_some() || r.eks.is_some() || r.pod_identity.is_some())
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
        if let Some(p) = &r.pod_identity {
            return self.pod_identity(p, account, ctx);
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
}

/// Each role's ARN, by key, for trust entries and grants that name it. Roles whose entry
/// did not deserialize, or whose account is unknown, have none (their problems are reported
/// where they are declared).
pub(super) fn role_refs(
    raw_roles: &[(Entry<'_>, Option<RawRole>)],
    accounts: &BTreeMap<String, Account>,
) -> BTreeMap<String, RoleRef> {
    raw_roles
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
        .collect()
}
