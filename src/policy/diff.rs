//! A minimal, statement-level difference between two policies.
//!
//! Statements equal in meaning cancel out and are only counted. What remains is paired by Sid
//! (a statement whose Sid stays but whose content changes is *changed*); the rest are
//! *added* or *removed*. Each side is kept in display form, so renderers can show a unified
//! diff of canonical pretty JSON ([`unified`]) without knowing about policies.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::canonical::{CanonicalStatement, display_statement, effective_version};
use super::document::{PolicyDocument, Statement};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum StatementChange {
    Added {
        sid: Option<String>,
        after: Value,
    },
    Removed {
        sid: Option<String>,
        before: Value,
    },
    Changed {
        sid: String,
        before: Value,
        after: Value,
    },
}

impl StatementChange {
    pub fn sid(&self) -> Option<&str> {
        match self {
            StatementChange::Added { sid, .. } | StatementChange::Removed { sid, .. } => {
                sid.as_deref()
            }
            StatementChange::Changed { sid, .. } => Some(sid),
        }
    }
}

/// The difference between two documents. Empty when they are equivalent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyDiff {
    /// Statements present on both sides (not shown).
    pub unchanged: usize,
    pub changes: Vec<StatementChange>,
    /// `Some((before, after))` when the `Version` differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<(String, String)>,
}

impl PolicyDiff {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.version.is_none()
    }
}

/// `before` with its action names spelled as `after` spells them where they differ only in
/// case, so that a unified diff shows what changed, not how it was written.
fn spelled_like(before: &Statement, after: &Statement) -> Statement {
    fn respell(list: &mut Option<Vec<String>>, model: &Option<Vec<String>>) {
        if let (Some(list), Some(model)) = (list.as_mut(), model) {
            for item in list.iter_mut() {
                if let Some(m) = model.iter().find(|m| m.eq_ignore_ascii_case(item)) {
                    item.clone_from(m);
                }
            }
        }
    }
    let mut b = before.clone();
    respell(&mut b.action, &after.action);
    respell(&mut b.not_action, &after.not_action);
    b
}

fn shown(st: &Statement) -> Value {
    display_statement(st).to_value()
}

/// Compares statement lists (either side may be empty for "no policy").
pub fn diff_statements(before: &[Statement], after: &[Statement]) -> PolicyDiff {
    let canon_b: Vec<CanonicalStatement> = before.iter().map(CanonicalStatement::of).collect();
    let canon_a: Vec<CanonicalStatement> = after.iter().map(CanonicalStatement::of).collect();
    let mut used_b = vec![false; before.len()];
    let mut used_a = vec![false; after.len()];
    let mut unchanged = 0;
    // Equal statements cancel out (duplicates on one side count once).
    for (i, a) in canon_a.iter().enumerate() {
        if let Some(j) = canon_b.iter().position(|b| b == a) {
            used_a[i] = true;
            if !used_b[j] {
                unchanged += 1;
            }
            used_b[j] = true;
        }
    }
    for (j, b) in canon_b.iter().enumerate() {
        if !used_b[j] && canon_a.contains(b) {
            used_b[j] = true;
        }
    }
    let mut changes = Vec::new();
    // Pair what is left by Sid.
    for (i, a) in after.iter().enumerate() {
        if used_a[i] {
            continue;
        }
        let Some(sid) = a.sid() else { continue };
        if let Some(j) = (0..before.len()).find(|&j| !used_b[j] && before[j].sid() == Some(sid)) {
            used_a[i] = true;
            used_b[j] = true;
            changes.push(StatementChange::Changed {
                sid: sid.to_string(),
                before: shown(&spelled_like(&before[j], a)),
                after: shown(a),
            });
        }
    }
    for (j, b) in before.iter().enumerate() {
        if !used_b[j] {
            changes.push(StatementChange::Removed {
                sid: b.sid().map(str::to_string),
                before: shown(b),
            });
        }
    }
    for (i, a) in after.iter().enumerate() {
        if !used_a[i] {
            changes.push(StatementChange::Added {
                sid: a.sid().map(str::to_string),
                after: shown(a),
            });
        }
    }
    // A stable order for output: by Sid, removals before additions for the same Sid.
    changes.sort_by(|x, y| {
        let key = |c: &StatementChange| {
            let rank = match c {
                StatementChange::Removed { .. } => 0,
                StatementChange::Changed { .. } => 1,
                StatementChange::Added { .. } => 2,
            };
            (c.sid().unwrap_or("").to_string(), rank)
        };
        key(x).cmp(&key(y))
    });
    PolicyDiff {
        unchanged,
        changes,
        version: None,
    }
}

/// Compares two documents; `None` stands for "no policy".
pub fn diff(before: Option<&PolicyDocument>, after: Option<&PolicyDocument>) -> PolicyDiff {
    let empty: &[Statement] = &[];
    let mut d = diff_statements(
        before.map_or(empty, |d| &d.statements),
        after.map_or(empty, |d| &d.statements),
    );
    // Versions differ only when a statement holds `${` (SPEC "Policy comparison").
    if let (Some(b), Some(a)) = (before, after)
        && effective_version(b) != effective_version(a)
    {
        let written = |d: &PolicyDocument| d.version.clone().unwrap_or_else(|| "2008-10-17".into());
        d.version = Some((written(b), written(a)));
    }
    d
}

/// A unified diff of two JSON values' pretty forms (for `~` statements). Lines start with
/// `-`, `+` or a space; no headers.
pub fn unified(before: &Value, after: &Value) -> String {
    let b = serde_json::to_string_pretty(before).expect("a Value always serialises");
    let a = serde_json::to_string_pretty(after).expect("a Value always serialises");
    let diff = similar::TextDiff::from_lines(&b, &a);
    let mut out = String::new();
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
            similar::ChangeTag::Equal => ' ',
        };
        out.push(sign);
        out.push_str(change.value().trim_end_matches('\n'));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sts(text: &str) -> Vec<Statement> {
        PolicyDocument::parse_statements(text).unwrap()
    }

    #[test]
    fn equal_statements_cancel_and_sids_pair() {
        let before = sts(
            r#"[{"Sid":"keep","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},
                {"Sid":"s3wardRead","Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},
                {"Sid":"gone","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]"#,
        );
        let after = sts(
            r#"[{"Sid":"s3wardRead","Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::b/*"},
                {"Sid":"keep","Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:getobject","Resource":["arn:aws:s3:::b/*"]},
                {"Sid":"new","Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}]"#,
        );
        let d = diff_statements(&before, &after);
        assert_eq!(d.unchanged, 1);
        let kinds: Vec<(&str, Option<&str>)> = d
            .changes
            .iter()
            .map(|c| {
                let k = match c {
                    StatementChange::Added { .. } => "added",
                    StatementChange::Removed { .. } => "removed",
                    StatementChange::Changed { .. } => "changed",
                };
                (k, c.sid())
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("removed", Some("gone")),
                ("added", Some("new")),
                ("changed", Some("s3wardRead"))
            ]
        );
        let StatementChange::Changed { before, after, .. } = &d.changes[2] else {
            unreachable!()
        };
        let u = unified(before, after);
        assert!(u.contains("+    \"s3:GetObjectVersion\""), "{u}");
        assert!(u.contains("-  \"Action\": \"s3:GetObject\","), "{u}");
    }

    #[test]
    fn a_case_only_change_is_shown_as_one() {
        // Resources that differ only in case are two resources: dropping one is a change, and
        // the shown `before` keeps both, so the unified diff says which one goes.
        let before = sts(
            r#"[{"Sid":"s3wardRead","Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"s3:GetObject","Resource":["arn:aws:s3:::b/models/*","arn:aws:s3:::b/Models/*"]}]"#,
        );
        let after = sts(
            r#"[{"Sid":"s3wardRead","Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"S3:GETOBJECT","Resource":"arn:aws:s3:::b/models/*"}]"#,
        );
        let d = diff_statements(&before, &after);
        let [StatementChange::Changed { before, after, .. }] = &d.changes[..] else {
            panic!("{d:?}")
        };
        assert_eq!(
            before["Resource"],
            serde_json::json!(["arn:aws:s3:::b/Models/*", "arn:aws:s3:::b/models/*"])
        );
        let u = unified(before, after);
        assert!(u.contains("-    \"arn:aws:s3:::b/Models/*\","), "{u}");
        // The action's case is not a change, so it is spelled alike on both sides.
        assert!(u.contains(" \"Action\": \"S3:GETOBJECT\","), "{u}");
    }

    #[test]
    fn equivalent_documents_have_an_empty_diff() {
        let a = PolicyDocument::parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#).unwrap();
        let b = PolicyDocument::parse(r#"{"Statement":{"Resource":["arn:aws:s3:::b/*"],"Action":["S3:GetObject"],"Principal":{"AWS":["*"]},"Effect":"Allow"},"Version":"2012-10-17"}"#).unwrap();
        assert!(diff(Some(&a), Some(&b)).is_empty());
        let none = diff(None, Some(&a));
        assert_eq!(none.changes.len(), 1);
    }
}
