//! `{ pod_identity = { cluster, namespace, service_account, region?, account? } }`: a trust
//! entry for EKS Pod Identity. The cluster's ARN is built from its region (default
//! `settings.region`) and account (an accounts key or 12 digits; default the role's).

use toml::Spanned;

use super::{Ctx, Resolver, Span, sp};
use crate::desired::{Account, PodIdentityAssociation, TrustEntry, eks_cluster_arn};
use crate::plan_file::raw::RawPodIdentity;

impl Resolver {
    pub(super) fn pod_identity(
        &mut self,
        p: &Spanned<RawPodIdentity>,
        account: &Account,
        ctx: &Ctx<'_>,
    ) -> Option<TrustEntry> {
        let r = p.get_ref();
        for (what, v) in [
            ("cluster", &r.cluster),
            ("namespace", &r.namespace),
            ("service_account", &r.service_account),
        ] {
            if v.get_ref().is_empty() {
                self.error(format!("`{what}` must not be empty"), sp(v));
                return None;
            }
        }
        if !cluster_name(r.cluster.get_ref()) {
            self.error(
                format!("`{}` is not an EKS cluster name", r.cluster.get_ref()),
                sp(&r.cluster),
            )
            .hint = Some(
                "cluster names are 1 to 100 letters, digits, `-` and `_`, starting with a letter or digit"
                    .into(),
            );
            return None;
        }
        let region = match (&r.region, ctx.region) {
            (Some(region), _) => {
                self.check_region(region);
                region.get_ref().clone()
            }
            (None, Some(region)) => region.to_string(),
            (None, None) => {
                self.error("the cluster's region is not known", sp(p)).hint = Some(
                    "add `region = \"us-east-1\"` to the entry, or `region` to `[settings]`".into(),
                );
                return None;
            }
        };
        let account_id = match &r.account {
            Some(a) => self.account_id(a, ctx.accounts)?,
            None => account.id.clone(),
        };
        Some(TrustEntry::PodIdentity {
            cluster_arn: eks_cluster_arn(&region, &account_id, r.cluster.get_ref()),
            account_id,
            namespace: r.namespace.get_ref().clone(),
            service_account: r.service_account.get_ref().clone(),
        })
    }
}

impl Resolver {
    /// Records that `role` has the association `a`; false (and an error at `span`) when
    /// another role has it already: EKS allows one association per service account, and
    /// two roles would point it back and forth on every apply.
    pub(super) fn claim_pod_identity(
        &mut self,
        a: &PodIdentityAssociation,
        role: &str,
        span: Option<Span>,
    ) -> bool {
        let id = format!("{}/{}/{}", a.account_id, a.region, a.key());
        match self.pod_identity_claims.get(&id) {
            Some(other) if other != role => {
                let msg = format!(
                    "service account `{}/{}` of cluster `{}` already uses role `{other}`",
                    a.namespace, a.service_account, a.cluster
                );
                self.error(msg, span).hint = Some(format!(
                    "EKS allows one pod identity association per service account: keep this entry in the trust of one role (`{other}` or `{role}`)"
                ));
                false
            }
            Some(_) => true,
            None => {
                self.pod_identity_claims.insert(id, role.to_string());
                true
            }
        }
    }
}

/// EKS: `^[0-9A-Za-z][A-Za-z0-9\-_]*`, at most 100 characters.
fn cluster_name(s: &str) -> bool {
    s.len() <= 100
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
