//! `version` and `[settings]`: the plan's name (which goes into tags), its default region,
//! and the lock object.
//!
//! Checks values only; what the settings change elsewhere (the default region of buckets,
//! the Sid prefix in merge mode) is applied where those are resolved.

use std::path::Path;

use toml::Spanned;
use toml::de::DeValue;

use super::{Resolver, sp};
use crate::desired::LockLocation;
use crate::names::{is_tag_char, valid_bucket_name, valid_region};
use crate::plan_file::raw::RawSettings;

impl Resolver {
    /// `version = 1`, the only version this s3ward reads.
    pub(super) fn version(&mut self, version: Option<Spanned<DeValue<'_>>>) {
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
    }

    pub(super) fn settings_name(&mut self, path: &Path, settings: Option<&RawSettings>) -> String {
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

    pub(super) fn check_region(&mut self, r: &Spanned<String>) {
        if !valid_region(r.get_ref()) {
            let d = self.error(format!("`{}` is not an AWS region", r.get_ref()), sp(r));
            Self::set_label_hint(d, None, Some("regions look like `us-east-1`".into()));
        }
    }

    pub(super) fn lock(&mut self, l: &Spanned<String>) -> Option<LockLocation> {
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
}
