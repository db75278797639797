//! Where in the plan file each statement s3ward writes comes from: the `[[buckets.KEY.grants]]`
//! entry of a grant's statements, the `extra_policy_statements` entry (by its Sid) of a raw
//! one, and the `[[buckets.KEY.expect]]` entries. Read from the plan file's text, since the
//! resolved model keeps no spans; the text resolved already, so its shape is known good.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// Byte spans of the entries `why` and expectations point at, per bucket key.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    pub grants: BTreeMap<String, Vec<Range<usize>>>,
    pub extra: BTreeMap<String, Range<usize>>,
    pub expect: BTreeMap<String, Vec<Range<usize>>>,
    /// Byte offset of each line's start, to turn offsets into line numbers without
    /// scanning the text again for every statement.
    line_starts: Vec<usize>,
}

impl Sources {
    pub fn read(text: &str) -> Sources {
        let mut out = Sources {
            line_starts: std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
            ..Sources::default()
        };
        let Ok(root) = DeTable::parse(text) else {
            return out;
        };
        let root = root.into_inner();
        let Some(DeValue::Table(buckets)) = root.get("buckets").map(|v| v.get_ref()) else {
            return out;
        };
        for (key, bucket) in buckets {
            let DeValue::Table(t) = bucket.get_ref() else {
                continue;
            };
            let key = key.get_ref().to_string();
            for (name, list) in [("grants", &mut out.grants), ("expect", &mut out.expect)] {
                if let Some(DeValue::Array(items)) = t.get(name).map(|v| v.get_ref()) {
                    list.insert(key.clone(), items.iter().map(|i| i.span()).collect());
                }
            }
            if let Some(v) = t.get("extra_policy_statements") {
                out.extra.insert(key.clone(), v.span());
            }
        }
        out
    }

    /// The 1-based line of byte `offset`.
    pub fn line(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|s| *s <= offset)
    }

    /// Where a raw statement with `sid` is written inside `extra_policy_statements` (the
    /// entry itself when the Sid is not found there).
    pub fn extra_statement(&self, text: &str, bucket: &str, sid: Option<&str>) -> Option<usize> {
        let span = self.extra.get(bucket)?;
        let inside = text.get(span.clone())?;
        let at = sid.and_then(|s| inside.find(&format!("\"{s}\"")));
        // The start of the line the Sid is on, for a line number that reads well.
        Some(span.start + at.unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_grants_expectations_and_raw_statements() {
        let text = "version = 1\n[buckets.m]\naccount = \"a\"\nextra_policy_statements = '''\n[{\"Sid\": \"X\"}]\n'''\n[[buckets.m.grants]]\nto = \"r\"\n[[buckets.m.grants]]\nto = \"s\"\n[[buckets.m.expect]]\nwho = \"r\"\n";
        let s = Sources::read(text);
        let line = |o: usize| {
            let l = text[..o].matches('\n').count() + 1;
            assert_eq!(s.line(o), l);
            l
        };
        let g = &s.grants["m"];
        assert_eq!(g.len(), 2);
        assert_eq!(line(g[1].start), 9);
        assert_eq!(line(s.expect["m"][0].start), 11);
        assert_eq!(line(s.extra_statement(text, "m", Some("X")).unwrap()), 5);
    }
}
