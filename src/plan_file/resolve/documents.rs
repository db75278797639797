//! Raw JSON written inside the plan file: `trust_policy`, `inline_policies` and
//! `extra_policy_statements`. Parses them strictly, places a JSON error at its bytes in the
//! TOML file when it can, and checks what IAM or S3 would reject (a principal in an
//! identity policy, a resource outside the bucket, a Sid this plan does not own in merge
//! mode, a public statement the bucket blocks), and self-lockout, through `crate::rules`.
//!
//! Documents s3ward computes itself (grants, typed trust) are built in `desired`.

use std::collections::BTreeSet;

use toml::Spanned;

use super::{Resolver, Span, sp};
use crate::desired::{Bucket, PolicyMode, owns_sid};
use crate::policy::lint::{self, Identity};
use crate::policy::{ParseError, PolicyDocument, Statement};
use crate::rules::{self, Stage};

impl Resolver {
    /// Where a parse error inside the JSON of the TOML string `text` is in the plan file: at
    /// the very bytes when the string's content is its source text byte for byte (a literal
    /// string, `'…'` or `'''…'''`, or a basic one without escapes), else the whole string.
    fn json_span(&self, text: &Spanned<String>, e: &ParseError) -> (Option<Span>, bool) {
        let span = text.span();
        let Some((at, len)) = e.at else {
            return (Some(span), false);
        };
        let raw = self.source.get(span.clone()).unwrap_or_default();
        let open = ["'''", "\"\"\"", "'", "\""]
            .into_iter()
            .find(|q| raw.starts_with(q))
            .unwrap_or_default();
        let mut start = span.start + open.len();
        if open.len() == 3 {
            // TOML drops a newline right after the opening delimiter of a multi-line string.
            let rest = &self.source[start..];
            start += if rest.starts_with("\r\n") {
                2
            } else {
                usize::from(rest.starts_with('\n'))
            };
        }
        let value = text.get_ref();
        let verbatim = !open.is_empty()
            && (open.starts_with('\'') || !raw.contains('\\'))
            && self.source.get(start..start + value.len()) == Some(value.as_str());
        if verbatim && at + len <= value.len() {
            (Some(start + at..start + at + len), true)
        } else {
            (Some(span), false)
        }
    }

    /// Parses a raw JSON policy written in the plan file, and checks what IAM would reject.
    pub(super) fn policy_text(
        &mut self,
        text: &Spanned<String>,
        kind: PolicyKind,
    ) -> Option<PolicyDocument> {
        let doc = match PolicyDocument::parse(text.get_ref()) {
            Ok(d) => d,
            Err(e) => {
                let (span, exact) = self.json_span(text, &e);
                let d = self.error(format!("invalid policy document: {e}"), span);
                let label = if exact {
                    "repeated here"
                } else {
                    "in this document"
                };
                Self::set_label_hint(d, Some(label), repeated_key_hint(&e));
                return None;
            }
        };
        if doc.version.as_deref() != Some("2012-10-17") {
            self.warn(
                "policy without `\"Version\": \"2012-10-17\"`",
                sp(text),
            )
            .hint = Some("without it IAM reads the document as version 2008-10-17, where `${...}` policy variables do not work".into());
        }
        for (i, st) in doc.statements.iter().enumerate() {
            let has_principal = st.principal.is_some() || st.not_principal.is_some();
            match kind {
                PolicyKind::Identity if has_principal => {
                    self.error(
                        format!("statement {i} of an identity policy names a principal"),
                        sp(text),
                    )
                    .hint = Some(
                        "IAM rejects `Principal` in role policies; the role is the principal"
                            .into(),
                    );
                }
                PolicyKind::Identity if st.resource.is_none() && st.not_resource.is_none() => {
                    self.error(format!("statement {i} has no `Resource`"), sp(text));
                }
                PolicyKind::Trust if !has_principal => {
                    self.error(format!("statement {i} has no `Principal`"), sp(text));
                }
                _ => {}
            }
        }
        Some(doc)
    }

    pub(super) fn extra_statements(
        &mut self,
        text: &Spanned<String>,
        bucket: &Bucket,
        generated: &[Statement],
    ) -> Vec<Statement> {
        let statements = match PolicyDocument::parse_statements(text.get_ref()) {
            Ok(s) => s,
            Err(e) => {
                let (span, exact) = self.json_span(text, &e);
                let d = self.error(format!("invalid `extra_policy_statements`: {e}"), span);
                let hint = repeated_key_hint(&e).unwrap_or_else(|| {
                    "write a JSON array of statements: '''[{\"Sid\": \"...\", ...}]'''".into()
                });
                Self::set_label_hint(d, exact.then_some("repeated here"), Some(hint));
                return Vec::new();
            }
        };
        let bucket_arn = bucket.arn();
        let mut sids: BTreeSet<&str> = generated.iter().filter_map(|s| s.sid()).collect();
        for (i, st) in statements.iter().enumerate() {
            if st.principal.is_none() && st.not_principal.is_none() {
                self.error(format!("extra statement {i} has no `Principal`"), sp(text))
                    .hint = Some("bucket policy statements need a `Principal`".into());
            }
            if let Some(sid) = st.sid()
                && !sids.insert(sid)
            {
                self.error(format!("extra statement {i} reuses the Sid `{sid}`"), sp(text))
                    .hint = Some("Sids must be unique in a bucket policy; s3ward's own are `s3ward<Access><Grantee>...`".into());
            }
            if bucket.policy_mode == PolicyMode::Merge
                && !st.sid().is_some_and(|s| {
                    owns_sid(&bucket.sid_prefix, Some(s)) && s.starts_with(&bucket.sid_prefix)
                })
            {
                let prefix = &bucket.sid_prefix;
                self.error(
                    format!("in `merge` mode, extra statement {i} needs a Sid starting with `{prefix}` and a capital letter"),
                    sp(text),
                )
                .hint = Some(format!("in merge mode this plan owns only statements whose Sid starts with `{prefix}` (`s3ward` and the plan's name), so that plan files sharing the bucket keep each other's; e.g. `{prefix}DenyInsecureTransport`"));
            }
            for res in st.resource.iter().chain(st.not_resource.iter()).flatten() {
                if res != "*" && res != &bucket_arn && !res.starts_with(&format!("{bucket_arn}/")) {
                    self.error(
                        format!(
                            "extra statement {i}: `{res}` is not in bucket `{}`",
                            bucket.name
                        ),
                        sp(text),
                    )
                    .hint = Some(format!(
                        "S3 rejects bucket policy resources outside `{bucket_arn}`"
                    ));
                }
            }
            if lint::is_public_statement(st) {
                match bucket.public_access_block {
                    Some(b) if b.allows_public_policy() => {}
                    Some(_) => {
                        let d = self.error(
                            format!("extra statement {i} makes bucket `{}` public, but its `block_public_access` blocks public policies", bucket.key),
                            sp(text),
                        );
                        Self::set_label_hint(
                            d,
                            Some("public statement"),
                            Some("it allows `*` with no condition that narrows it, and AWS rejects such a policy while BlockPublicPolicy is on; if this is meant, set `block_public_access = false`".into()),
                        );
                    }
                    None => {
                        self.warn(
                            format!("extra statement {i} makes bucket `{}` public", bucket.key),
                            sp(text),
                        )
                        .hint = Some("it allows `*` with no condition that narrows it; AWS rejects it while the bucket's public access block is on (the default for new buckets). Declare `block_public_access = false` if this is meant".into());
                    }
                }
            }
        }
        let offline = Identity {
            account: bucket.account_id.clone(),
            ..Default::default()
        };
        for f in rules::self_lockout(
            &statements,
            &offline,
            &bucket.name,
            self.options.allow_self_lockout,
            Stage::Offline,
        ) {
            let d = if f.refused {
                self.error(f.message, sp(text))
            } else {
                self.warn(f.message, sp(text))
            };
            Self::set_label_hint(d, f.refused.then_some("self-lockout"), f.hint);
        }
        statements
    }
}

/// Which checks a raw document gets: an identity policy (inline) names no principal and
/// has resources; a trust policy names a principal.
#[derive(Clone, Copy)]
pub(super) enum PolicyKind {
    Identity,
    Trust,
}

/// Why a repeated JSON key is refused, and what to do.
fn repeated_key_hint(e: &ParseError) -> Option<String> {
    e.repeated_key.as_ref().map(|k| {
        format!("write each key once: a reviewer may read the first `{k}` where AWS reads the last")
    })
}
