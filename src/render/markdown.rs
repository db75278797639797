//! Markdown for a pull-request comment: a summary line and table, then one collapsible
//! block per address with the same body as the text output (as a `diff` block).
//!
//! Bounded: GitHub refuses comments over 65,536 characters. Blocks are added while they fit
//! under `limit`; past it, the rest are counted in a note that points at the saved plan. If
//! even the table does not fit, it is cut the same way.
//!
//! Renders a change set it is given and computes nothing; a plan's markdown, like its text,
//! does not show drift kinds (only `drift` reports them).

use std::io::{self, Write};

use super::{body, short_description};
use crate::applied::APPLIED_TAG;
use crate::change::ChangeSet;

/// GitHub's limit on a comment body.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

pub struct Options {
    /// Title, e.g. "s3ward plan: `ml-models`".
    pub title: String,
    /// Stop adding content past this many characters (leaving room for the closing note).
    pub limit: usize,
    /// Where the full plan is, for the note when something is cut.
    pub full_plan_hint: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            title: "s3ward plan".into(),
            limit: GITHUB_COMMENT_LIMIT - 2_000,
            full_plan_hint: "the saved plan artifact, or run `s3ward plan` locally".into(),
        }
    }
}

fn escape_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// Renders the change set; returns the markdown (also written to `w`).
pub fn write_plan(w: &mut dyn Write, cs: &ChangeSet, opts: &Options) -> io::Result<String> {
    let out = render(cs, opts);
    w.write_all(out.as_bytes())?;
    Ok(out)
}

pub fn render(cs: &ChangeSet, opts: &Options) -> String {
    let mut out = String::new();
    out.push_str(&format!("### {}\n\n", opts.title));
    out.push_str(&format!(
        "**{}**\n\n",
        super::text::summary_line(cs, "below")
    ));
    for p in &cs.problems {
        out.push_str(&format!(
            "> [!CAUTION]\n> `{}`: {}{}\n\n",
            p.address,
            p.message.replace('\n', " "),
            p.place
                .as_ref()
                .map(|at| format!(" (`{at}`)"))
                .unwrap_or_default()
        ));
    }
    for p in &cs.warnings {
        out.push_str(&format!(
            "> [!WARNING]\n> `{}`: {}\n\n",
            p.address,
            p.message.replace('\n', " ")
        ));
    }
    out.push_str(&not_verified(cs));
    if cs.changes.is_empty() {
        out.push_str(&records(cs));
        out.push_str(&not_managed(cs));
        return out;
    }
    // The table, row by row while it fits.
    out.push_str("| | address | change |\n|:-:|---|---|\n");
    let mut rows_cut = 0;
    for c in &cs.changes {
        let row = format!(
            "| `{}` | `{}` | {} |\n",
            c.action.symbol(),
            escape_cell(&c.address.to_string()),
            escape_cell(&short_description(c))
        );
        if out.len() + row.len() > opts.limit {
            rows_cut += 1;
            continue;
        }
        out.push_str(&row);
    }
    out.push('\n');
    if rows_cut > 0 {
        out.push_str(&note(rows_cut, "table rows", opts));
        return out;
    }
    // Details, block by block while they fit.
    let mut cut = 0;
    for c in &cs.changes {
        let mut block = format!(
            "<details><summary><code>{} {}</code>{}</summary>\n\n```diff\n",
            c.action.symbol(),
            html_escape(&c.address.to_string()),
            c.reason
                .as_ref()
                .map(|r| format!(" — {}", html_escape(r)))
                .unwrap_or_default()
        );
        for l in body(c) {
            block.push_str(&format!("{} {}\n", l.sign.char(), l.text).replace("```", "ˋˋˋ"));
        }
        block.push_str("```\n\n</details>\n\n");
        if cut > 0 || out.len() + block.len() > opts.limit {
            cut += 1;
            continue;
        }
        out.push_str(&block);
    }
    if cut > 0 {
        out.push_str(&note(cut, "change details", opts));
        return out;
    }
    let records = records(cs);
    if out.len() + records.len() <= opts.limit {
        out.push_str(&records);
    } else {
        out.push_str(&note(super::record_notes(cs).len(), "record notes", opts));
        return out;
    }
    let not_managed = not_managed(cs);
    if out.len() + not_managed.len() <= opts.limit {
        out.push_str(&not_managed);
    } else {
        out.push_str(&note(cs.not_managed.len(), "settings not managed", opts));
    }
    out
}

/// Live settings that grant access beyond the plan file, as a warning after the changes.
fn not_managed(cs: &ChangeSet) -> String {
    if cs.not_managed.is_empty() {
        return String::new();
    }
    let mut out = format!("> [!WARNING]\n> {}:\n", super::NOT_MANAGED_HEADING);
    for n in &cs.not_managed {
        out.push_str(&format!("> - {}\n", super::not_managed_line(n)));
    }
    out.push('\n');
    out
}

/// The `s3ward:applied` records apply writes, one line each (after the changes), led by a
/// sentence when they are all it would write.
fn records(cs: &ChangeSet) -> String {
    let notes = super::record_notes(cs);
    if notes.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let tag = format!("`{APPLIED_TAG}`");
    let notes: Vec<String> = notes.iter().map(|n| n.replace(APPLIED_TAG, &tag)).collect();
    if cs.changes.is_empty() {
        out.push_str(&format!(
            "{}\n\n",
            super::records_only_line(notes.len()).replace(APPLIED_TAG, &tag)
        ));
    }
    for n in &notes {
        out.push_str(&format!("- note: {n}\n"));
    }
    out.push('\n');
    out
}

/// Principals named in accounts s3ward could not read, as one note.
fn not_verified(cs: &ChangeSet) -> String {
    if cs.unverified_principals.is_empty() {
        return String::new();
    }
    let mut out =
        String::from("> [!NOTE]\n> Not verified (s3ward could not read whether they exist):\n");
    for u in &cs.unverified_principals {
        out.push_str(&format!("> - `{}` ({})\n", u.arn, u.reason));
    }
    out.push('\n');
    out
}

fn note(n: usize, what: &str, opts: &Options) -> String {
    format!(
        "> [!NOTE]\n> {n} {what} not shown here, to stay within GitHub's comment size limit. The full plan: {}.\n",
        opts.full_plan_hint
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{Action, Address, Change, Write};
    use serde_json::json;

    fn change(i: usize) -> Change {
        let mut c = Change::new(
            Address::BucketPolicy(format!("b{i:04}")),
            Action::Create,
            Write::DeleteBucketPolicy {
                bucket: "x".into(),
                merge: None,
            },
        );
        c.after = Some(json!({"Statement": [{"Sid": format!("s3ward{i}"), "Effect": "Allow"}]}));
        c.reason = Some("a <reason> with | pipes".into());
        c
    }

    #[test]
    fn problems_carry_their_place_and_unverified_principals_are_noted() {
        let mut cs = ChangeSet::default();
        cs.problems.push(crate::change::Problem {
            address: Address::BucketPolicy("m".into()),
            message: "role `ray` does not exist in account 222222222222".into(),
            hint: None,
            place: Some(crate::desired::Place {
                file: "plan.toml".into(),
                line: 16,
                column: 6,
            }),
        });
        cs.unverified_principals
            .push(crate::change::UnverifiedPrincipal {
                arn: "arn:aws:iam::333333333333:role/partner".into(),
                named_by: vec![Address::BucketPolicy("m".into())],
                reason: "the plan file gives s3ward no access to account 333333333333".into(),
            });
        let out = render(&cs, &Options::default());
        insta::assert_snapshot!(out);
    }

    #[test]
    fn small_plans_are_shown_whole() {
        let cs = ChangeSet {
            changes: (0..3).map(change).collect(),
            ..Default::default()
        };
        let out = render(&cs, &Options::default());
        assert!(out.contains("**Plan: 3 to create, 0 to update, 0 to delete.**"));
        assert_eq!(out.matches("<details>").count(), 3);
        assert!(out.contains("a &lt;reason&gt; with | pipes"));
        assert!(!out.contains("[!NOTE]"));
    }

    #[test]
    fn big_plans_are_cut_under_the_limit_with_a_note() {
        for n in [300, 5_000] {
            let cs = ChangeSet {
                changes: (0..n).map(change).collect(),
                ..Default::default()
            };
            let out = render(&cs, &Options::default());
            assert!(out.len() <= GITHUB_COMMENT_LIMIT, "{n}: {}", out.len());
            assert!(out.contains("[!NOTE]"), "{n}");
            assert!(out.contains(&format!("**Plan: {n} to create")));
        }
    }

    #[test]
    fn applied_records_are_noted_after_the_changes_or_alone() {
        let mut cs = ChangeSet::default();
        let record = crate::applied::AppliedRecord::default();
        cs.applied
            .insert(crate::change::Resource::Bucket("models".into()), record);
        let alone = render(&cs, &Options::default());
        cs.changes.push(change(0));
        let with_changes = render(&cs, &Options::default());
        insta::assert_snapshot!(format!("{alone}\n---\n\n{with_changes}"));
    }

    #[test]
    fn settings_not_managed_are_a_warning_after_the_changes() {
        let mut cs = ChangeSet::default();
        cs.changes.push(change(0));
        cs.not_managed.push(crate::change::NotManaged {
            resource: crate::change::Resource::Role("ray".into()),
            kind: crate::change::NotManagedKind::ManagedPolicy,
            name: "arn:aws:iam::aws:policy/AmazonS3FullAccess".into(),
            detail: None,
            key: "managed_policies".into(),
        });
        let out = render(&cs, &Options::default());
        let tail = &out[out.find("</details>").expect("details")..];
        assert!(
            tail.contains("> [!WARNING]\n> Not managed: live settings that grant access beyond the plan file (s3ward leaves them alone):\n> - role.ray: managed policy `arn:aws:iam::aws:policy/AmazonS3FullAccess` is attached; to manage it, declare `managed_policies` in [roles.ray]\n"),
            "{out}"
        );
    }
}
