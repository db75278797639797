//! Terraform-like text: one block per address (`+` create, `~` update, `-` delete), policy
//! changes as a statement-level diff, and the last line `Plan: …` or `No changes.`.
//! Colour only when asked (the caller decides from the terminal, `--color` and `NO_COLOR`),
//! painted through [`super::style`]; the output reads the same without it.
//!
//! Renders a change set it is given, and computes nothing: the drift report groups changes
//! by the kind `diff` classified (see `applied`), never by looking at AWS or the record.

use std::io::{self, Write};

use anstyle::Style;

use super::style::{self, BOLD, paint};
use super::{Line, Sign, body, headline};
use crate::applied::DriftKind;
use crate::change::{Action, Change, ChangeSet, Problem};

pub struct Options {
    pub color: bool,
}

fn style(sign: Sign) -> Style {
    match sign {
        Sign::Add => style::ADD,
        Sign::Remove => style::REMOVE,
        Sign::Change => style::CHANGE,
        Sign::Context => Style::new(),
    }
}

fn action_sign(a: Action) -> Sign {
    match a {
        Action::Create => Sign::Add,
        Action::Update => Sign::Change,
        Action::Delete => Sign::Remove,
    }
}

/// Writes one change: `# headline`, the `SIGN address` line, and its body.
pub fn write_change(w: &mut dyn Write, c: &Change, opts: &Options) -> io::Result<()> {
    write_change_as(w, c, opts, &headline(c))
}

fn write_change_as(w: &mut dyn Write, c: &Change, opts: &Options, title: &str) -> io::Result<()> {
    paint(w, opts.color, BOLD, &format!("  # {title}"))?;
    writeln!(w)?;
    if let Some(r) = &c.reason {
        writeln!(w, "  # ({r})")?;
    }
    let sign = action_sign(c.action);
    paint(
        w,
        opts.color,
        style(sign),
        &format!("  {} {}", sign.char(), c.address),
    )?;
    writeln!(w)?;
    for Line { sign, text } in body(c) {
        paint(
            w,
            opts.color,
            style(sign),
            format!("      {} {text}", sign.char()).trim_end(),
        )?;
        writeln!(w)?;
    }
    writeln!(w)
}

pub fn write_findings(w: &mut dyn Write, cs: &ChangeSet, opts: &Options) -> io::Result<()> {
    let mut one = |label: &str, s: Style, p: &Problem| -> io::Result<()> {
        paint(w, opts.color, s, label)?;
        writeln!(w, ": {}: {}", p.address, p.message)?;
        if let Some(at) = &p.place {
            writeln!(w, "  --> {at}")?;
        }
        if let Some(h) = &p.hint {
            writeln!(w, "  hint: {h}")?;
        }
        writeln!(w)
    };
    for p in &cs.warnings {
        one("Warning", style::WARNING, p)?;
    }
    for p in &cs.problems {
        one("Error", style::ERROR, p)?;
    }
    for p in &cs.expectations {
        one("Expectation not met", style::ERROR, p)?;
    }
    write_not_verified(w, cs, opts)
}

/// The principals named in accounts s3ward could not read: neither missing nor known.
fn write_not_verified(w: &mut dyn Write, cs: &ChangeSet, opts: &Options) -> io::Result<()> {
    if cs.unverified_principals.is_empty() {
        return Ok(());
    }
    paint(w, opts.color, style::WARNING, "Not verified")?;
    writeln!(w, ": s3ward could not read whether these principals exist:")?;
    for u in &cs.unverified_principals {
        let by: Vec<String> = u.named_by.iter().map(ToString::to_string).collect();
        writeln!(
            w,
            "  - {} (named by {}; {})",
            u.arn,
            by.join(", "),
            u.reason
        )?;
    }
    writeln!(w)
}

/// The whole plan: changes, findings, summary line.
pub fn write_plan(w: &mut dyn Write, cs: &ChangeSet, opts: &Options) -> io::Result<()> {
    if !cs.changes.is_empty() {
        writeln!(
            w,
            "s3ward will make these changes (+ create, ~ update, - delete):\n"
        )?;
        for c in &cs.changes {
            write_change(w, c, opts)?;
        }
    }
    write_record_notes(w, cs)?;
    write_not_managed(w, cs, opts)?;
    write_findings(w, cs, opts)?;
    paint(w, opts.color, BOLD, &summary_line(cs, "above"))?;
    writeln!(w)
}

/// Live settings that grant access beyond the plan file, each with the key that would
/// manage it (see `diff::not_managed`).
fn write_not_managed(w: &mut dyn Write, cs: &ChangeSet, opts: &Options) -> io::Result<()> {
    if cs.not_managed.is_empty() {
        return Ok(());
    }
    let (label, rest) = super::NOT_MANAGED_HEADING
        .split_once(": ")
        .expect("the heading has a label");
    paint(w, opts.color, style::WARNING, label)?;
    writeln!(w, ": {rest}:")?;
    for n in &cs.not_managed {
        writeln!(w, "  - {}", super::not_managed_line(n))?;
    }
    writeln!(w)
}

/// One line per `s3ward:applied` record apply writes (see [`super::record_notes`]).
fn write_record_notes(w: &mut dyn Write, cs: &ChangeSet) -> io::Result<()> {
    let notes = super::record_notes(cs);
    if cs.changes.is_empty() && !notes.is_empty() {
        writeln!(w, "{}\n", super::records_only_line(notes.len()))?;
    }
    for n in &notes {
        writeln!(w, "  note: {n}")?;
    }
    if !notes.is_empty() {
        writeln!(w)?;
    }
    Ok(())
}

/// The plan's last line: `Plan: …` or `No changes.`, unless the change set has problems —
/// then "No changes." would read as all clear, so the line says that nothing can be applied
/// until the problems (`place`: where they are printed) are fixed.
pub fn summary_line(cs: &ChangeSet, place: &str) -> String {
    let n = cs.problems.len();
    if n == 0 {
        return cs.summary().to_string();
    }
    let are = if n == 1 { "is" } else { "are" };
    let blocked = format!(
        "nothing can be applied until the {n} problem{} {place} {are} fixed.",
        style::plural(n)
    );
    if cs.changes.is_empty() {
        format!("No plan: {blocked}")
    } else {
        let summary = cs.summary().to_string();
        format!("{}; {blocked}", summary.trim_end_matches('.'))
    }
}

fn verb(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "delete",
    }
}

/// The drift report: drift first, then pending, then the findings and a summary line.
pub fn write_drift(w: &mut dyn Write, cs: &ChangeSet, opts: &Options) -> io::Result<()> {
    let drifted: Vec<&Change> = cs
        .changes
        .iter()
        .filter(|c| c.kind == DriftKind::Drift)
        .collect();
    let pending: Vec<&Change> = cs
        .changes
        .iter()
        .filter(|c| c.kind != DriftKind::Drift)
        .collect();
    if !drifted.is_empty() {
        paint(
            w,
            opts.color,
            BOLD,
            &format!(
                "Drift: AWS was changed outside s3ward since its last apply ({}):",
                drifted.len()
            ),
        )?;
        writeln!(w, "\n")?;
        for c in &drifted {
            let title = format!(
                "{} has drifted (apply would {} it)",
                c.address,
                verb(c.action)
            );
            write_change_as(w, c, opts, &title)?;
        }
    }
    if !pending.is_empty() {
        paint(
            w,
            opts.color,
            BOLD,
            &format!(
                "Pending: the plan file asks for changes never applied ({}):",
                pending.len()
            ),
        )?;
        writeln!(w, "\n")?;
        for c in &pending {
            let title = format!(
                "{} is pending (apply would {} it)",
                c.address,
                verb(c.action)
            );
            write_change_as(w, c, opts, &title)?;
        }
    }
    write_not_managed(w, cs, opts)?;
    write_findings(w, cs, opts)?;
    if !cs.problems.is_empty() {
        paint(w, opts.color, BOLD, &summary_line(cs, "above"))?;
    } else if cs.changes.is_empty() && !cs.expectations.is_empty() {
        let n = cs.expectations.len();
        let s = if n == 1 { "" } else { "s" };
        let text = format!("{n} expectation{s} not met, though AWS matches the plan file.");
        paint(w, opts.color, BOLD, &text)?;
    } else if cs.changes.is_empty() && !cs.not_managed.is_empty() {
        // True of what the plan file manages, and said so: the list above is access too.
        let n = cs.not_managed.len();
        let s = if n == 1 { "" } else { "s" };
        let text = format!(
            "In sync: AWS matches the plan file, which does not manage the {n} setting{s} above."
        );
        paint(w, opts.color, BOLD, &text)?;
    } else if cs.changes.is_empty() {
        paint(w, opts.color, BOLD, "In sync: AWS matches the plan file.")?;
    } else {
        paint(
            w,
            opts.color,
            BOLD,
            &format!(
                "{} drifted, {} pending. `s3ward apply` makes AWS match the plan file again.",
                drifted.len(),
                pending.len()
            ),
        )?;
    }
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::applied::AppliedRecord;
    use crate::change::{Address, Resource, Write};

    fn record(setting: &str) -> AppliedRecord {
        AppliedRecord {
            digests: BTreeMap::from([(setting.to_string(), "1a2b3c4d".to_string())]),
            previous: BTreeMap::new(),
        }
    }

    fn plan_text(cs: &ChangeSet) -> String {
        let mut out = Vec::new();
        write_plan(&mut out, cs, &Options { color: false }).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Every resource whose record apply writes gets one line under the changes, also an
    /// in-sync one whose record is missing.
    #[test]
    fn the_plan_notes_each_applied_record_under_the_changes() {
        let mut cs = ChangeSet::default();
        let mut c = Change::new(
            Address::BucketOwnership("models".into()),
            Action::Update,
            Write::ResetBucketAcl {
                bucket: "acme-models".into(),
            },
        );
        c.before = Some("ObjectWriter".into());
        c.after = Some("BucketOwnerEnforced".into());
        cs.changes.push(c);
        cs.applied
            .insert(Resource::Bucket("models".into()), record("ownership"));
        cs.applied
            .insert(Resource::Role("ray".into()), record("trust"));
        insta::assert_snapshot!(plan_text(&cs));
    }

    /// With only records to write, the summary stays `No changes.` (access matches the plan
    /// file) and the line above it says what apply would still write.
    #[test]
    fn records_alone_are_said_above_no_changes() {
        let mut cs = ChangeSet::default();
        cs.applied
            .insert(Resource::Bucket("models".into()), record("acl"));
        insta::assert_snapshot!(plan_text(&cs));
    }

    /// While there are problems nothing is applied, not even a record: no note.
    #[test]
    fn no_record_notes_while_problems_block_the_apply() {
        let mut cs = ChangeSet::default();
        cs.applied
            .insert(Resource::Bucket("models".into()), record("acl"));
        cs.problems.push(Problem {
            address: Address::Bucket("models".into()),
            message: "something is wrong".into(),
            hint: None,
            place: None,
        });
        assert!(!plan_text(&cs).contains("note:"));
    }
}
