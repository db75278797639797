//! Checking a command's JSON output against the field table of its doc.
//!
//! A doc documents its JSON with a `<!-- fields -->` marker followed by a markdown table
//! `| path | type | presence | ... |`, where a path is like `changes[].address`, a type like
//! `string`, `integer`, `string or null`, and a presence `always` or something else.

use std::collections::BTreeSet;

use serde_json::Value;

/// The `<!-- fields -->` table of `doc` (a path relative to the crate root, e.g.
/// `docs/drift.md`): `(path, type, presence)` per row.
pub fn documented_fields(doc: &str) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(format!("{}/{doc}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("read {doc}: {e}"));
    let table = text
        .split("<!-- fields -->")
        .nth(1)
        .unwrap_or_else(|| panic!("{doc} has no `<!-- fields -->` table"));
    table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|row| {
            let cells: Vec<String> = row
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect();
            (cells[0].clone(), cells[1].clone(), cells[2].clone())
        })
        .collect()
}

/// The values at `path` (`a.b`, `list[].field`, `list[]`) in `v`: one per parent object,
/// `None` where the parent lacks the field. Panics if a `[]` part is not a list.
pub fn values_at<'a>(v: &'a Value, path: &str) -> Vec<Option<&'a Value>> {
    let mut parents: Vec<&Value> = vec![v];
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let (name, each) = match part.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (*part, false),
        };
        if i == parts.len() - 1 && !each {
            return parents.iter().map(|p| p.get(name)).collect();
        }
        parents = parents
            .iter()
            .filter_map(|p| p.get(name))
            .flat_map(|c| match (each, c.as_array()) {
                (true, Some(items)) => items.iter().collect(),
                (true, None) => panic!("`{name}` in `{path}` is not a list: {c}"),
                (false, _) => vec![c],
            })
            .collect();
    }
    parents.into_iter().map(Some).collect()
}

/// Whether `v` has the documented type `ty`: `string`, `integer` (unsigned), `boolean`,
/// `object`, `array`, `null`, `any`, or several joined by ` or `. Panics on any other type.
pub fn has_type(v: &Value, ty: &str) -> bool {
    ty.split(" or ").any(|t| match t.trim() {
        "string" => v.is_string(),
        "integer" => v.is_u64(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        "any" => true,
        other => panic!("a field table names an unknown type `{other}` (in `{ty}`)"),
    })
}

/// Checks `report` against the documented `fields`: every value present has its type, and
/// every `always` field is present in each parent. Returns the paths seen at least once.
pub fn check_documented(report: &Value, fields: &[(String, String, String)]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for (path, ty, presence) in fields {
        for v in values_at(report, path) {
            match v {
                Some(v) => {
                    assert!(has_type(v, ty), "`{path}` is {v} in {report:#}, not {ty}");
                    seen.insert(path.clone());
                }
                None => assert!(
                    presence != "always",
                    "`{path}` is documented as always present, missing in {report:#}"
                ),
            }
        }
    }
    seen
}

/// Every object field path in `v` (`a.b`, `list[].field`), for finding undocumented
/// fields. A field named in `skip_keys` is listed but not descended into (free-form values,
/// like drift's `before` and `after`).
pub fn field_paths(v: &Value, skip_keys: &[&str]) -> BTreeSet<String> {
    fn walk(v: &Value, at: &str, skip_keys: &[&str], out: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let path = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    out.insert(path.clone());
                    if !skip_keys.contains(&k.as_str()) {
                        walk(child, &path, skip_keys, out);
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    walk(item, &format!("{at}[]"), skip_keys, out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(v, "", skip_keys, &mut out);
    out
}
