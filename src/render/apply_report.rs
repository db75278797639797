//! What an apply did, in words: the report on stdout after the changes (`Apply complete: …`
//! or `Apply incomplete: …` with what was applied, what failed and what was not attempted),
//! and the note on stderr after an apply that only brought `s3ward:applied` records up to
//! date.
//!
//! Plain data in ([`Report`], counts), text out to any writer. It does not decide the exit
//! code and does not know how the changes were made.

use std::io::{self, Write};

use super::style::plural;
use crate::apply::Report;

/// The report of an apply (stdout), after a blank line.
pub fn write_report(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    writeln!(w)?;
    if r.ok() {
        return writeln!(
            w,
            "Apply complete: {} change{} applied.",
            r.applied.len(),
            plural(r.applied.len())
        );
    }
    writeln!(
        w,
        "Apply incomplete: {} applied, {} failed, {} not attempted.",
        r.applied.len(),
        r.failed.len(),
        r.not_attempted.len()
    )?;
    if !r.applied.is_empty() {
        writeln!(w, "\nApplied:")?;
        for a in &r.applied {
            writeln!(w, "  {a}")?;
        }
    }
    writeln!(w, "\nFailed:")?;
    for f in &r.failed {
        writeln!(
            w,
            "  {}: {} failed: {}{}",
            f.address,
            f.operation,
            f.code
                .as_deref()
                .map(|c| format!("{c}: "))
                .unwrap_or_default(),
            f.message
        )?;
    }
    if !r.not_attempted.is_empty() {
        writeln!(w, "\nNot attempted:")?;
        for s in &r.not_attempted {
            writeln!(w, "  {} (waited for {})", s.address, s.waited_for)?;
        }
    }
    Ok(())
}

/// What became of the `s3ward:applied` records written when nothing else was to change
/// (stderr): `records` of them, all written when `ok`.
pub fn write_records_note(w: &mut dyn Write, records: usize, ok: bool) -> io::Result<()> {
    if ok {
        writeln!(
            w,
            "Recorded the applied state of {records} resource{} (the `s3ward:applied` tag), so that `s3ward drift` can tell drift from pending changes.",
            plural(records)
        )
    } else {
        writeln!(
            w,
            "warning: could not record the applied state (the `s3ward:applied` tag) of every resource; `s3ward drift` reports their differences as pending"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{Failure, Skipped, Step, WaitedFor};
    use crate::change::Address;

    fn address(a: &str) -> Address {
        a.parse().expect("a valid address")
    }

    fn text(r: &Report) -> String {
        let mut out = Vec::new();
        write_report(&mut out, r).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn complete_is_one_line() {
        let r = Report {
            applied: vec![address("bucket.models")],
            ..Report::default()
        };
        assert_eq!(text(&r), "\nApply complete: 1 change applied.\n");
    }

    #[test]
    fn incomplete_lists_applied_failed_and_not_attempted() {
        let r = Report {
            applied: vec![address("role.reader")],
            failed: vec![Failure {
                address: Step::Change(address("bucket.models.policy")),
                operation: "PutBucketPolicy".into(),
                code: Some("AccessDenied".into()),
                message: "Access Denied".into(),
            }],
            not_attempted: vec![Skipped {
                address: address("bucket.models.public_access_block"),
                waited_for: WaitedFor::Failed(Step::Change(address("bucket.models.policy"))),
            }],
        };
        assert_eq!(
            text(&r),
            "\nApply incomplete: 1 applied, 1 failed, 1 not attempted.\n\
             \nApplied:\n  role.reader\n\
             \nFailed:\n  bucket.models.policy: PutBucketPolicy failed: AccessDenied: Access Denied\n\
             \nNot attempted:\n  bucket.models.public_access_block (waited for bucket.models.policy)\n"
        );
    }

    #[test]
    fn records_note_counts_and_warns() {
        let mut out = Vec::new();
        write_records_note(&mut out, 2, true).unwrap();
        write_records_note(&mut out, 2, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("Recorded the applied state of 2 resources (the"));
        assert!(text.contains("\nwarning: could not record the applied state"));
    }
}
