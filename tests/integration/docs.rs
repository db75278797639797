//! The user's documents (README.md, docs/, examples/README.md) point only at pages users
//! have: every relative link resolves to a file of the repository, and, for a link into a
//! markdown page with `#anchor`, to one of its headings. None cites `SPEC.md`, which is
//! not in the repository: the contract is docs/plan-file.md and docs/commands.md.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn user_documents() -> Vec<PathBuf> {
    let mut out = vec![root().join("README.md"), root().join("examples/README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    out.extend(docs);
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped but `-` and `_`, spaces
/// as `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            out.insert(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

/// The targets of `[text](target)` links outside code blocks.
fn links(text: &str) -> Vec<String> {
    let mut in_code = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}

fn check_link(doc: &Path, target: &str) -> Option<String> {
    if target.starts_with("http://") || target.starts_with("https://") {
        return None;
    }
    let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
    let path = if file.is_empty() {
        doc.to_path_buf()
    } else {
        doc.parent().expect("a parent").join(file)
    };
    if !path.exists() {
        return Some(format!("{}: `{target}`: no such file", doc.display()));
    }
    if !fragment.is_empty() && path.extension().is_some_and(|e| e == "md") {
        let text = std::fs::read_to_string(&path).expect("a markdown page");
        if !anchors(&text).contains(fragment) {
            return Some(format!("{}: `{target}`: no such heading", doc.display()));
        }
    }
    None
}

#[test]
fn user_documents_link_only_to_what_the_repository_has() {
    let mut problems = Vec::new();
    for doc in user_documents() {
        let text = std::fs::read_to_string(&doc).expect("a document");
        for (n, line) in text.lines().enumerate() {
            if line.contains("SPEC") {
                problems.push(format!(
                    "{}:{}: cites SPEC, which users do not have",
                    doc.display(),
                    n + 1
                ));
            }
        }
        problems.extend(links(&text).iter().filter_map(|t| check_link(&doc, t)));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn anchors_are_githubs() {
    assert_eq!(anchor(" `[accounts.KEY]`"), "accountskey");
    assert_eq!(anchor(" `[[buckets.KEY.grants]]`"), "bucketskeygrants");
    assert_eq!(anchor(" `block_public_access`"), "block_public_access");
    assert_eq!(anchor(" Apply order and safety"), "apply-order-and-safety");
}
