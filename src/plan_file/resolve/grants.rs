//! `grants = [...]` of a bucket: the access level, who it goes to (`role.KEY`,
//! `principal.KEY`, `account.KEY`, an IAM ARN or `*`), prefixes, the Sid of each grant, and
//! each role's `s3ward-grants` policy computed from every grant to it.
//!
//! The statements a grant stands for are built by `desired::Grant`; this file decides
//! whether a grant is allowed and names it.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};
use toml::Spanned;

use super::{Ctx, Resolver, Span, sp, suggest};
use crate::desired::*;
use crate::names::{account_root_arn, parse_iam_arn};
use crate::plan_file::raw::RawGrant;
use crate::policy::lint;
use crate::policy::{PolicyDocument, Statement};
use crate::rules;

impl Resolver {
    pub(super) fn grant(
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
        if matches!(grantee, Grantee::Principal(_) | Grantee::Arn) {
            self.named_principals.push(NamedPrincipal {
                arn: principal.clone(),
                by: NamedBy::BucketPolicy(bucket.key.clone()),
                span: sp(&r.to),
            });
        }
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
    pub(super) fn policy_variable(&mut self, v: &str, what: &str, span: Option<Span>) {
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

    /// Each plan role's `s3ward-grants` document, from every grant to it, and the size check
    /// of its inline policies.
    pub(super) fn grants_policies(
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
                        .flat_map(move |g| {
                            let mut s = g.identity_statements(b);
                            s.extend(b.key_identity_statement(g));
                            s
                        })
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

fn access_word(a: Access) -> &'static str {
    match a {
        Access::List => "List",
        Access::Read => "Read",
        Access::Write => "Write",
        Access::ReadWrite => "ReadWrite",
        Access::Full => "Full",
    }
}
