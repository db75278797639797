//! `[[buckets.KEY.expect]]`: the shape of each entry (who, `can`/`cannot` levels or actions,
//! prefix), then, once the whole plan file is resolved, each evaluated against the documents
//! the plan file would write (`access::expect`); a failure is an error at the entry.

use toml::Spanned;

use super::{Resolver, sp};
use crate::access::Identity;
use crate::access::expect::check;
use crate::access::offline::{bucket_facts, caller, role_policies};
use crate::access::sources::Sources;
use crate::desired::{Desired, Expectation, Want};
use crate::plan_file::raw::RawExpect;

impl Resolver {
    pub(super) fn expectations_of(&mut self, bucket: &str, raws: &[Spanned<RawExpect>]) {
        for (index, x) in raws.iter().enumerate() {
            let r = x.get_ref();
            let mut wants = |list: &Option<Spanned<Vec<Spanned<String>>>>| -> Vec<Want> {
                let mut out = Vec::new();
                for w in list.iter().flat_map(|l| l.get_ref()) {
                    match Want::parse(w.get_ref()) {
                        Some(want) => out.push(want),
                        None => {
                            let d = self.error(
                                format!(
                                    "`{}` is neither an access level nor an action",
                                    w.get_ref()
                                ),
                                sp(w),
                            );
                            Self::set_label_hint(
                                d,
                                None,
                                Some("use `list`, `read`, `write`, `read-write`, `full`, or an action like `s3:GetObject`".into()),
                            );
                        }
                    }
                }
                out
            };
            let can = wants(&r.can);
            let cannot = wants(&r.cannot);
            if r.can.is_none() && r.cannot.is_none() {
                self.error("an expectation needs `can` or `cannot`", sp(x));
            }
            let prefix = r.prefix.as_ref().map(|p| p.get_ref().clone());
            self.expectations.push(Expectation {
                bucket: bucket.to_string(),
                index,
                who: r.who.get_ref().clone(),
                can,
                cannot,
                prefix,
                // At `who`: the line a reader finds the expectation by.
                span: sp(&r.who),
            });
        }
    }

    /// Evaluates every expectation against the documents the plan file would write.
    pub(super) fn check_expectations(&mut self, desired: &Desired) {
        if desired.expectations.is_empty() {
            return;
        }
        let src = Sources::read(&desired.source.text);
        for x in &desired.expectations {
            let Some(b) = desired.buckets.get(&x.bucket) else {
                continue;
            };
            let (who, role_key) = match caller(desired, &x.who) {
                Ok(c) => c,
                Err(e) => {
                    self.error(e.to_string(), x.span.clone()).hint = Some(
                        "write `who` as a grant's `to`: `role.KEY`, `principal.KEY`, `account.KEY` or an IAM ARN".into(),
                    );
                    continue;
                }
            };
            let identity = match &role_key {
                Some(k) => Identity::Known(role_policies(desired, &src, k)),
                None => Identity::NotKnown,
            };
            let facts = bucket_facts(desired, &src, b);
            let key = crate::access::keys::planned(desired, &src, b);
            let mut said: Vec<String> = Vec::new();
            for f in check(x, &b.name, &who, &identity, &facts, &key) {
                // One error per level or action: its first failing request says enough.
                if said.contains(&f.probe.want) {
                    continue;
                }
                said.push(f.probe.want.clone());
                self.error(
                    format!("expectation not met: {}", f.message(&x.who)),
                    x.span.clone(),
                )
                .label = Some(format!("buckets.{}.expect[{}]", x.bucket, x.index));
            }
        }
    }
}
