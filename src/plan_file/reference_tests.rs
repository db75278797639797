//! Keeps `docs/plan-file.md`, the users' reference of the plan-file format, in step with the
//! parser: every key the parser accepts is documented in the section of its table, every key
//! the reference documents is accepted, and every TOML example in it resolves without a
//! problem.
//!
//! The keys are read from the source of `raw.rs` (each `pub struct Raw*` and its `pub` fields)
//! rather than from a list kept by hand: a field added to a raw struct is a key the parser
//! accepts, so it fails here until the reference documents it. (Rejected: a list of keys
//! beside `raw.rs` checked by deserialising, which catches a forgotten list entry only when
//! someone also writes a test for the new key.)

use std::collections::BTreeSet;
use std::path::Path;

use super::resolve::TOP_KEYS;
use super::{Options, parse};

const RAW: &str = include_str!("raw.rs");
const REFERENCE: &str = include_str!("../../docs/plan-file.md");

/// Each raw struct and the heading of the reference's section that documents its keys.
const SECTIONS: &[(&str, &str)] = &[
    ("RawSettings", "## `[settings]`"),
    ("RawAccount", "## `[accounts.KEY]`"),
    ("RawPrincipal", "## `[principals.KEY]`"),
    ("RawRole", "## `[roles.KEY]`"),
    ("RawTrust", "### Trust entries"),
    ("RawEks", "### `eks` trust entries"),
    ("RawPodIdentity", "### `pod_identity` trust entries"),
    ("RawBucket", "## `[buckets.KEY]`"),
    ("RawBlockFlags", "### `block_public_access`"),
    ("RawGrant", "## `[[buckets.KEY.grants]]`"),
    ("RawModel", "## `[[buckets.KEY.models]]`"),
    ("RawWorkload", "## `[workloads.KEY]`"),
    ("RawVolume", "## `[[workloads.KEY.volumes]]`"),
    ("RawKey", "## `[keys.KEY]`"),
    ("RawKmsEncryption", "### `encryption`"),
    ("RawExpect", "## `[[buckets.KEY.expect]]`"),
];

const TOP_SECTION: &str = "## The top level";

/// `pub struct RawX { pub field: ... }` blocks of `raw.rs`: (struct, its fields).
fn raw_structs(src: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut current: Option<(String, Vec<String>)> = None;
    for line in src.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("pub struct ") {
            let name = rest.split([' ', '{', '(', ';']).next().unwrap_or_default();
            current = Some((name.to_string(), Vec::new()));
        } else if t == "}" {
            out.extend(current.take());
        } else if let Some((_, fields)) = current.as_mut()
            && let Some(rest) = t.strip_prefix("pub ")
            && let Some((field, _)) = rest.split_once(':')
        {
            fields.push(field.trim().to_string());
        }
    }
    out
}

/// The text of the reference's section under `heading`, up to the next heading (of any
/// level: a table's subsections document keys of their own).
fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let start = doc
        .lines()
        .position(|l| l == heading)
        .unwrap_or_else(|| panic!("docs/plan-file.md has no heading `{heading}`"));
    let lines: Vec<&str> = doc.lines().collect();
    let end = lines[start + 1..]
        .iter()
        .position(|l| {
            let hashes = l.chars().take_while(|c| *c == '#').count();
            hashes > 0 && l[hashes..].starts_with(' ')
        })
        .map_or(lines.len(), |p| start + 1 + p);
    let from = lines[..start].iter().map(|l| l.len() + 1).sum::<usize>();
    let to = lines[..end].iter().map(|l| l.len() + 1).sum::<usize>();
    &doc[from..to.min(doc.len())]
}

/// The keys a section documents: the first cell, `` | `name` | ``, of each row of its key
/// tables (those whose header starts `| key |`; other tables, like the access levels, list
/// values).
fn documented_keys(section: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut in_key_table = false;
    for line in section.lines() {
        if !line.starts_with('|') {
            in_key_table = false;
        } else if line.starts_with("| key |") {
            in_key_table = true;
        } else if in_key_table
            && let Some((key, _)) = line.strip_prefix("| `").and_then(|l| l.split_once("` |"))
        {
            keys.insert(key.to_string());
        }
    }
    keys
}

fn check_section(heading: &str, accepted: &[String], problems: &mut Vec<String>) {
    let documented = documented_keys(section(REFERENCE, heading));
    for key in accepted {
        if !documented.contains(key) {
            problems.push(format!(
                "`{key}` is accepted but has no row under `{heading}`"
            ));
        }
    }
    for key in &documented {
        if !accepted.contains(key) {
            problems.push(format!(
                "`{key}` is documented under `{heading}` but the parser does not accept it"
            ));
        }
    }
}

#[test]
fn raw_rs_is_read_as_the_serde_keys() {
    // serde would accept other spellings than the field names: keep them out of raw.rs, or
    // teach `raw_structs` about them.
    // (`alias` is also a key of `[keys.KEY]`: look for the attributes, not the word.)
    for attr in ["rename", "alias", "flatten"] {
        let used = RAW
            .lines()
            .any(|l| l.trim_start().starts_with("#[serde(") && l.contains(attr));
        assert!(!used, "raw.rs uses serde `{attr}`");
    }
    assert!(!RAW.contains("rename") && !RAW.contains("flatten"));
    let structs = raw_structs(RAW);
    let bucket = structs.iter().find(|(n, _)| n == "RawBucket").unwrap();
    assert!(bucket.1.contains(&"grants".to_string()));
    assert!(bucket.1.contains(&"models".to_string()));
}

#[test]
fn every_accepted_key_is_in_the_reference_and_back() {
    let mut problems = Vec::new();
    for (name, fields) in raw_structs(RAW) {
        let Some((_, heading)) = SECTIONS.iter().find(|(s, _)| *s == name) else {
            problems.push(format!(
                "raw.rs has `{name}` but the reference has no section for it (add it to SECTIONS)"
            ));
            continue;
        };
        check_section(heading, &fields, &mut problems);
    }
    let top: Vec<String> = TOP_KEYS.iter().map(|k| k.to_string()).collect();
    check_section(TOP_SECTION, &top, &mut problems);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The ```toml blocks of the reference, with the line each starts on.
fn toml_blocks(doc: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in doc.lines().enumerate() {
        match (&mut current, line.trim_end()) {
            (None, "```toml") => current = Some((i + 2, String::new())),
            (Some(_), "```") => out.extend(current.take()),
            (Some((_, text)), l) => {
                text.push_str(l);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

const HEADER_MARK: &str = "# Header:";

#[test]
fn every_example_in_the_reference_resolves_cleanly() {
    let blocks = toml_blocks(REFERENCE);
    assert!(
        blocks.len() >= 8,
        "the reference has {} examples",
        blocks.len()
    );
    let header = blocks
        .iter()
        .find(|(_, b)| b.starts_with(HEADER_MARK))
        .map(|(_, b)| b.clone())
        .expect("docs/plan-file.md states the header its short examples assume");
    let mut problems = Vec::new();
    for (line, block) in &blocks {
        // A complete plan file stands alone; the others follow the stated header.
        let text = if block.starts_with("version") || block.starts_with(HEADER_MARK) {
            block.clone()
        } else {
            format!("{header}{block}")
        };
        match parse(Path::new("plan-file.md"), &text, Options::default()) {
            Ok(l) if l.warnings.diagnostics.is_empty() => {}
            Ok(l) => problems.push(format!(
                "the example at docs/plan-file.md:{line} warns:\n{}",
                l.warnings.render(false)
            )),
            Err(r) => problems.push(format!(
                "the example at docs/plan-file.md:{line} is invalid:\n{}",
                r.render(false)
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
