//! An [`Error`] on stderr in uv's style: `error: …`, then `  caused by: …` for each source,
//! then a blank line and `hint: …` (an invalid plan file's diagnostics come first).
//!
//! The words are [`crate::error`]'s (its `Display` and [`Error::hint`]); this module only
//! lays them out and paints the labels. It does not choose exit codes, and it never decides
//! whether to colour: the caller says.

use std::io::Write;

use super::style::Label;
use crate::error::Error;

/// Prints an error in s3ward's style to `out` (stderr).
pub fn report(err: &Error, out: &mut dyn Write, color: bool) {
    if let Error::InvalidPlan(r) = err {
        let _ = write!(out, "{}", r.render(color));
    }
    let _ = writeln!(out, "{} {err}", Label::Error.paint(color));
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        let _ = writeln!(out, "  caused by: {s}");
        source = s.source();
    }
    if let Some(h) = err.hint() {
        let _ = writeln!(out, "\n{} {h}", Label::Hint.paint(color));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::AwsError;

    #[test]
    fn report_has_error_caused_by_and_hint() {
        let e = Error::aws(
            Some("bucket.models.policy".to_string()),
            AwsError {
                service: "s3",
                operation: "PutBucketPolicy",
                code: Some("AccessDenied".into()),
                message: "Access Denied".into(),
                status: Some(403),
                attempts: 1,
                no_response: false,
            },
        );
        let mut out = Vec::new();
        report(&e, &mut out, false);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "error: bucket.models.policy: S3 PutBucketPolicy failed\n  caused by: AccessDenied: Access Denied\n\nhint: the identity s3ward runs as needs `s3:PutBucketPolicy`\n"
        );
    }
    #[test]
    fn report_in_colour_paints_the_labels_only() {
        let e = Error::Refused {
            what: "apply cancelled; nothing was changed".into(),
            hint: Some("run it again".into()),
        };
        let mut out = Vec::new();
        report(&e, &mut out, true);
        // The labels' bytes are pinned in `style`; here, that nothing else is painted.
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "{} apply cancelled; nothing was changed\n\n{} run it again\n",
                Label::Error.paint(true),
                Label::Hint.paint(true)
            )
        );
    }
}
