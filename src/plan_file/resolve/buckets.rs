//! `[buckets]`: names, region, ownership, public access block, ACL and policy modes, tags,
//! model directories, the bucket policy (grants' statements plus `extra_policy_statements`)
//! and its size, and two entries that name one bucket.
//!
//! A grant itself is resolved in `grants.rs`; the raw JSON of extra statements is checked
//! in `documents.rs`.

use std::collections::{BTreeMap, BTreeSet};

use toml::Spanned;

use super::accounts::NameRule;
use super::{Ctx, Entry, Resolver, Span, list_of, sp};
use crate::desired::*;
use crate::names::valid_bucket_name;
use crate::plan_file::raw::{RawBlock, RawBucket, RawModel};
use crate::policy::Statement;
use crate::policy::lint;

impl Resolver {
    pub(super) fn bucket(
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
        let tags = self.tags(raw.tags, "bucket", &e.key_span);
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
            encryption: None,
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
        if let Some(enc) = &raw.encryption {
            bucket.encryption = self.encryption(enc, &bucket, ctx);
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
        self.expectations_of(&bucket.key, &raw.expect);
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

    pub(super) fn same_bucket_names(
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
}
