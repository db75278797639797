//! Error recovery for shape problems: serde stops at the first bad key, the resolver must
//! not. A key that is unknown or has the wrong type is reported, taken out of the entry, and
//! deserializing goes on; a section that is not even a table is reported and skipped.
//!
//! Only shape (what `raw` checks) is recovered here; what values mean is checked by the
//! other files of `resolve`. Never reads the meaning of a value.

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeValue, ValueDeserializer};

use super::{Entry, Resolver, Span, list_of, suggest};

impl Resolver {
    fn toml_error(&mut self, e: &toml::de::Error) {
        let msg = e.message().trim_end().to_string();
        // serde says "unknown field `x`, expected one of `a`, `b`": say "key", and suggest.
        let (message, hint) = match msg
            .strip_prefix("unknown field `")
            .and_then(|r| r.split_once('`'))
        {
            Some((key, rest)) => {
                let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
                let hint = suggest(key, expected.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| {
                        (!expected.is_empty())
                            .then(|| format!("expected one of {}", list_of(&expected)))
                    });
                (format!("unknown key `{key}`"), hint)
            }
            None => (msg, None),
        };
        let d = self.error(message, e.span());
        Self::set_label_hint(d, None, hint);
    }

    /// Deserializes one entry. A key that is unknown or has the wrong type is reported,
    /// taken out, and deserializing goes on, so that the rest of the entry is still checked
    /// (serde alone would stop at the first). `None` when the entry stays unusable.
    pub(super) fn de<T: DeserializeOwned>(&mut self, value: Spanned<DeValue<'_>>) -> Option<T> {
        let mut value = value;
        let mut removed: Vec<Span> = Vec::new();
        loop {
            match T::deserialize(ValueDeserializer::from(value.clone())) {
                Ok(v) => return Some(v),
                Err(e) => {
                    let missing = e.message().starts_with("missing field");
                    // A required key we took out ourselves: already reported.
                    if missing && !removed.is_empty() {
                        return None;
                    }
                    self.toml_error(&e);
                    let span = e.span()?;
                    if missing || removed.len() >= 32 || !remove_at(&mut value, &span) {
                        return None;
                    }
                    removed.push(span);
                }
            }
        }
    }

    /// The entries of a `[section.KEY]` table, in file order.
    pub(super) fn entries<'i>(
        &mut self,
        section: &str,
        value: Spanned<DeValue<'i>>,
    ) -> Vec<Entry<'i>> {
        let span = value.span();
        match value.into_inner() {
            DeValue::Table(t) => {
                let mut out: Vec<Entry<'i>> = t
                    .into_iter()
                    .map(|(k, v)| Entry {
                        key: k.get_ref().to_string(),
                        key_span: k.span(),
                        value: v,
                    })
                    .collect();
                out.sort_by_key(|e| e.key_span.start);
                for e in &out {
                    if !valid_key(&e.key) {
                        let msg =
                            format!("`{}` is not a usable key in `[{section}]`", shorten(&e.key));
                        let d = self.error(msg, Some(e.key_span.clone()));
                        Self::set_label_hint(
                            d,
                            None,
                            Some("keys are 1 to 64 letters, digits, `-` and `_`".into()),
                        );
                    }
                }
                out
            }
            other => {
                let msg = format!("`{section}` must be a table, not {}", other.type_str());
                self.error(msg, Some(span));
                Vec::new()
            }
        }
    }
}

/// Removes the table entry whose key or value is at `span`, or the array element there.
fn remove_at(value: &mut Spanned<DeValue<'_>>, span: &Span) -> bool {
    match value.get_mut() {
        DeValue::Table(t) => {
            let hit = t
                .iter()
                .find(|(k, v)| k.span() == *span || v.span() == *span)
                .map(|(k, _)| k.clone());
            if let Some(k) = hit {
                t.remove(&k);
                return true;
            }
            t.iter_mut().any(|(_, v)| remove_at(v, span))
        }
        DeValue::Array(a) => {
            if let Some(i) = a.iter().position(|v| v.span() == *span) {
                // DeArray has no `remove`; rebuild it without the element (the flag it
                // loses, "array of tables", only matters while parsing).
                let mut rebuilt = toml::de::DeArray::new();
                for (j, v) in a.iter().enumerate() {
                    if j != i {
                        rebuilt.push(v.clone());
                    }
                }
                *a = rebuilt;
                return true;
            }
            a.iter_mut().any(|v| remove_at(v, span))
        }
        _ => false,
    }
}

/// A key of a keyed section (`[buckets.KEY]`): the plan file's own rule, not AWS's (names
/// that reach AWS are checked against `crate::names`).
fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 64
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// At most 40 characters of `s`, for messages about values that may be huge.
fn shorten(s: &str) -> String {
    if s.chars().count() <= 40 {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(39).collect::<String>())
    }
}
