//! `[workloads.KEY]` and their volumes: references followed, Kubernetes names checked, and
//! the two sides of a pod's access compared before anything is applied. A workload whose
//! role's trust does not name its namespace and service account, or a volume its role's
//! grants do not cover, is an error at its line naming what is missing: the seed's
//! "Access Denied on S3 list/get" caught in review instead of in a pod's log.

use std::collections::{BTreeMap, BTreeSet};

use toml::Spanned;

use super::{Entry, Resolver, list_of, sp, suggest};
use crate::desired::workloads::{
    Volume, Workload, how_pods_assume, literal_wildcard_sub, volume_access,
};
use crate::desired::{Bucket, Role};
use crate::plan_file::raw::{RawVolume, RawWorkload};

impl Resolver {
    pub(super) fn workloads(
        &mut self,
        entries: Vec<Entry<'_>>,
        roles: &BTreeMap<String, Role>,
        buckets: &BTreeMap<String, Bucket>,
        role_keys: &[String],
    ) -> BTreeMap<String, Workload> {
        let mut out = BTreeMap::new();
        let mut claims: BTreeSet<(String, String)> = BTreeSet::new();
        for e in entries {
            let Some(raw) = self.de::<RawWorkload>(e.value.clone()) else {
                continue;
            };
            let namespace = self.k8s_name(&raw.namespace, "namespace", 63, false);
            let sa = self.k8s_name(&raw.service_account, "service account name", 253, true);
            let role_key = raw.role.get_ref().clone();
            let role = roles.get(&role_key);
            if role.is_none() && !role_keys.contains(&role_key) {
                let hint = suggest(&role_key, role_keys.iter().map(String::as_str)).map_or_else(
                    || format!("declared roles: {}", list_of(role_keys)),
                    |s| format!("did you mean `{s}`?"),
                );
                self.error(format!("unknown role `{role_key}`"), sp(&raw.role))
                    .hint = Some(hint);
            }
            if let (Some(role), Some(ns), Some(sa)) = (role, &namespace, &sa)
                && how_pods_assume(&role.trust, ns, sa).is_empty()
            {
                let mut hint = format!(
                    "add `{{ eks = {{ oidc_provider = \"oidc.eks.REGION.amazonaws.com/id/ID\", namespace = \"{ns}\", service_account = \"{sa}\" }} }}` (IRSA) or `{{ pod_identity = {{ cluster = \"CLUSTER\", namespace = \"{ns}\", service_account = \"{sa}\" }} }}` (EKS Pod Identity) to the `trust` of `[roles.{role_key}]`"
                );
                if let Some(v) = literal_wildcard_sub(&role.trust) {
                    hint.push_str(&format!(
                        "; its trust has `{v}` under `StringEquals`, where `*` is a literal character that never matches: use `StringLike`, or name the service account exactly"
                    ));
                }
                let d = self.error(
                    format!(
                        "workload `{}`: the trust of role `{role_key}` does not let service account `{ns}/{sa}` assume it",
                        e.key
                    ),
                    Some(e.key_span.clone()),
                );
                d.label = Some("pods of this workload could not get the role".into());
                d.hint = Some(hint);
            }
            let mut volumes = Vec::new();
            for v in &raw.volumes {
                let Some(vol) = self.volume(&e.key, v, buckets) else {
                    continue;
                };
                if let Some(ns) = &namespace
                    && !claims.insert((ns.clone(), vol.claim.clone()))
                {
                    self.error(
                        format!(
                            "claim `{}` is declared twice in namespace `{ns}`",
                            vol.claim
                        ),
                        sp(v),
                    )
                    .hint = Some("give one of the volumes its own `claim`".into());
                }
                if let (Some(role), Some(b)) = (role, buckets.get(&vol.bucket)) {
                    self.volume_grant(&role_key, role, b, &vol, v);
                    self.volume_outside_key(&role_key, b, &vol, v);
                }
                volumes.push(vol);
            }
            if let (Some(namespace), Some(service_account)) = (namespace, sa) {
                out.insert(
                    e.key.clone(),
                    Workload {
                        key: e.key,
                        role: role_key,
                        namespace,
                        service_account,
                        volumes,
                    },
                );
            }
        }
        out
    }

    fn volume(
        &mut self,
        workload: &str,
        v: &Spanned<RawVolume>,
        buckets: &BTreeMap<String, Bucket>,
    ) -> Option<Volume> {
        let r = v.get_ref();
        let bucket = r.bucket.get_ref().clone();
        if !buckets.contains_key(&bucket) {
            let keys: Vec<String> = buckets.keys().cloned().collect();
            let hint = suggest(&bucket, keys.iter().map(String::as_str)).map_or_else(
                || format!("declared buckets: {}", list_of(&keys)),
                |s| format!("did you mean `{s}`?"),
            );
            self.error(format!("unknown bucket `{bucket}`"), sp(&r.bucket))
                .hint = Some(hint);
            return None;
        }
        let prefix = match &r.prefix {
            None => None,
            Some(p) if p.get_ref().is_empty() || p.get_ref().starts_with('/') => {
                self.error(
                    format!("`{}` is not a directory prefix", p.get_ref()),
                    sp(p),
                )
                .hint = Some("write the directory as a key prefix, like `Mistral-7B-v0.1/`".into());
                return None;
            }
            Some(p) if p.get_ref().ends_with('/') => Some(p.get_ref().clone()),
            Some(p) => Some(format!("{}/", p.get_ref())),
        };
        let claim = match &r.claim {
            Some(c) => self.k8s_name(c, "claim name", 253, true)?,
            None => {
                let c = format!("{workload}-{bucket}");
                if !dns_name(&c, 253, true) {
                    self.error(
                        format!("the default claim name `{c}` is not a Kubernetes name"),
                        sp(v),
                    )
                    .hint = Some(
                        "set `claim` to a name of lowercase letters, digits, `-` and `.`".into(),
                    );
                    return None;
                }
                c
            }
        };
        Some(Volume {
            bucket,
            prefix,
            read_only: r.read_only.as_ref().is_none_or(|b| *b.get_ref()),
            claim,
            uid: r.uid.as_ref().map(|u| *u.get_ref()),
            gid: r.gid.as_ref().map(|g| *g.get_ref()),
        })
    }

    /// On a bucket encrypted with a key of this plan, the grants write the key side too; with
    /// a key the plan does not manage, nothing does, and nothing here can tell whether that
    /// key's policy lets the role in: a warning naming what the pods need.
    fn volume_outside_key(
        &mut self,
        role_key: &str,
        b: &Bucket,
        vol: &Volume,
        at: &Spanned<RawVolume>,
    ) {
        let Some(crate::desired::Encryption::Kms {
            key_arn,
            plan_key: None,
            ..
        }) = &b.encryption
        else {
            return;
        };
        let actions = if vol.read_only {
            "`kms:Decrypt`"
        } else {
            "`kms:Decrypt` and `kms:GenerateDataKey`"
        };
        let d = self.warn(
            format!(
                "volume `{}` mounts bucket `{}`, encrypted with `{key_arn}`, a key this plan does \
                 not manage: s3ward cannot check or write its key side",
                vol.claim, b.key
            ),
            sp(at),
        );
        d.label = Some("pods get Access Denied unless the key lets the role in".into());
        d.hint = Some(format!(
            "role `{role_key}` needs {actions} on that key, in the key's policy and in its own \
             policies; or declare the key in `[keys]` and name it `key.KEY` in the bucket's \
             `encryption`, and s3ward writes both"
        ));
    }

    /// The role's grants must let it read (and, for a writable volume, write) under the
    /// volume's prefix.
    fn volume_grant(
        &mut self,
        role_key: &str,
        role: &Role,
        b: &Bucket,
        vol: &Volume,
        at: &Spanned<RawVolume>,
    ) {
        let (read, write) = volume_access(role, b, vol);
        let missing = match (vol.read_only, read, write) {
            (true, true, _) | (false, true, true) => return,
            (true, false, _) => "read",
            (false, false, true) => "read",
            (false, true, false) => "write",
            (false, false, false) => "read or write",
        };
        let access = if vol.read_only { "read" } else { "read-write" };
        let place = format!("s3://{}/{}", b.name, vol.prefix.as_deref().unwrap_or(""));
        let prefixes = vol
            .prefix
            .as_ref()
            .map(|p| format!(", `prefixes = [\"{p}\"]`"))
            .unwrap_or_default();
        let d = self.error(
            format!(
                "volume `{}` mounts `{place}` {}, but role `{role_key}` has no grant to {missing} it",
                vol.claim,
                if vol.read_only { "read-only" } else { "read-write" },
            ),
            sp(at),
        );
        d.label = Some(format!("pods would get Access Denied ({missing})"));
        d.hint = Some(format!(
            "add to `[buckets.{}]`: `[[buckets.{}.grants]]` with `to = \"role.{role_key}\"`, `access = \"{access}\"`{prefixes}",
            b.key, b.key
        ));
    }

    /// A Kubernetes name: a DNS-1123 label (`subdomain` false: namespaces) or subdomain.
    fn k8s_name(
        &mut self,
        s: &Spanned<String>,
        what: &str,
        max: usize,
        subdomain: bool,
    ) -> Option<String> {
        let v = s.get_ref();
        if dns_name(v, max, subdomain) {
            return Some(v.clone());
        }
        self.error(format!("`{v}` is not a Kubernetes {what}"), sp(s))
            .hint = Some(format!(
            "at most {max} characters: lowercase letters, digits{}, starting and ending with a letter or digit",
            if subdomain {
                ", `-` and `.`"
            } else {
                " and `-`"
            }
        ));
        None
    }
}

/// RFC 1123 label (or subdomain: labels joined by `.`), as Kubernetes checks names.
fn dns_name(s: &str, max: usize, subdomain: bool) -> bool {
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    !s.is_empty()
        && s.len() <= max
        && if subdomain {
            s.split('.').all(label)
        } else {
            label(s)
        }
}

#[cfg(test)]
mod tests {
    use super::dns_name;

    #[test]
    fn kubernetes_names() {
        assert!(dns_name("ml", 63, false));
        assert!(dns_name("model-storage.pvc", 253, true));
        assert!(!dns_name("model-storage.pvc", 63, false));
        assert!(!dns_name("ML", 63, false));
        assert!(!dns_name("-a", 63, false));
        assert!(!dns_name("", 63, false));
        assert!(!dns_name("a_b", 253, true));
    }
}
