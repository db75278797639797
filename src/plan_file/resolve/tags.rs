//! `tags = { ... }` of roles and buckets: keys and values AWS accepts, keys reserved by AWS
//! (`aws:`) or by s3ward (`s3ward:applied`), and room for s3ward's own tags.
//!
//! Offline only: the count once merged with live tags is `rules::tag_count`'s, at plan.

use std::collections::BTreeMap;

use toml::Spanned;

use super::{Resolver, Span, sp};
use crate::desired::APPLIED_TAG;
use crate::names::{is_aws_reserved_tag_key, valid_tag_key, valid_tag_value};
use crate::rules::MAX_TAGS;

/// The tags s3ward adds to what it manages: `managed-by`, `s3ward:plan`, `s3ward:applied`.
const OWN_TAGS: usize = 3;

impl Resolver {
    /// The tags of a role or bucket (`what`), whose entry's key is at `entry`.
    pub(super) fn tags(
        &mut self,
        tags: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
        what: &str,
        entry: &Span,
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
        if out.len() > MAX_TAGS - OWN_TAGS {
            self.error(
                format!(
                    "a {what} holds at most {MAX_TAGS} tags, and s3ward needs {OWN_TAGS} of them"
                ),
                Some(entry.clone()),
            );
        }
        out
    }
}
