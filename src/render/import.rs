//! `s3ward import`'s words on stderr: a note per thing the plan file does not reproduce
//! (`warning: …`), the summary line (`Imported 2 buckets and 1 role from account … to …`),
//! the hint about `--allow-self-lockout`, and the line before an imported plan file that
//! does not validate.
//!
//! Plain data in, text out to any writer. The plan file itself is written by
//! `import::toml_out`; this module does not read AWS or decide the exit code.

use std::io::{self, Write};
use std::path::Path;

use super::style::{Label, plural, ticked};
use crate::import::Note;
use crate::plan_file::diagnostic::display_path;

/// What an import did, for its summary.
pub struct Summary<'a> {
    /// The account ids read from, in command-line order.
    pub accounts: &'a [String],
    pub buckets: usize,
    pub roles: usize,
    /// Where the plan file went: `--out`, or stdout.
    pub out: Option<&'a Path>,
    pub notes: &'a [Note],
    pub needs_allow_self_lockout: bool,
}

/// `a`, `a and b`, `a, b and c`.
fn listed(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Where the plan file went: `` `plans/x.toml` ``, or `stdout`.
fn target(out: Option<&Path>) -> String {
    out.map_or_else(|| "stdout".to_string(), |p| ticked(display_path(p)))
}

/// The notes, the summary line and, when needed, the hint.
pub fn write_summary(w: &mut dyn Write, s: &Summary<'_>, color: bool) -> io::Result<()> {
    let warning = Label::Warning.paint(color);
    for n in s.notes {
        writeln!(w, "{warning} {n}")?;
    }
    writeln!(
        w,
        "Imported {} bucket{} and {} role{} from account{} {} to {}.{}",
        s.buckets,
        plural(s.buckets),
        s.roles,
        plural(s.roles),
        plural(s.accounts.len()),
        listed(s.accounts),
        target(s.out),
        if s.notes.is_empty() {
            " `s3ward plan` with it should print `No changes.`".to_string()
        } else {
            format!(
                " It does not reproduce everything: {} note{} above.",
                s.notes.len(),
                plural(s.notes.len())
            )
        }
    )?;
    if s.needs_allow_self_lockout {
        writeln!(
            w,
            "\n{} run `s3ward validate` and `s3ward plan` on it with `--allow-self-lockout`",
            Label::Hint.paint(color)
        )?;
    }
    Ok(())
}

/// The line before the diagnostics of an imported plan file that does not validate.
pub fn write_invalid(w: &mut dyn Write, out: Option<&Path>) -> io::Result<()> {
    writeln!(
        w,
        "The plan file written to {} does not validate: s3ward refuses something these resources have.",
        target(out)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &Summary<'_>, color: bool) -> String {
        let mut out = Vec::new();
        write_summary(&mut out, s, color).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_clean_import_says_plan_shows_no_changes() {
        let s = Summary {
            accounts: &["123456789012".to_string()],
            buckets: 1,
            roles: 2,
            out: None,
            notes: &[],
            needs_allow_self_lockout: false,
        };
        assert_eq!(
            text(&s, true),
            "Imported 1 bucket and 2 roles from account 123456789012 to stdout. `s3ward plan` with it should print `No changes.`\n"
        );
    }

    #[test]
    fn notes_are_warnings_and_the_hint_follows() {
        let notes = [Note {
            address: "bucket.models".into(),
            message: "its ACL is not reproduced".into(),
        }];
        let s = Summary {
            accounts: &["123456789012".to_string()],
            buckets: 2,
            roles: 1,
            out: Some(Path::new("plans/imported.toml")),
            notes: &notes,
            needs_allow_self_lockout: true,
        };
        assert_eq!(
            text(&s, false),
            "warning: bucket.models: its ACL is not reproduced\n\
             Imported 2 buckets and 1 role from account 123456789012 to `plans/imported.toml`. It does not reproduce everything: 1 note above.\n\
             \nhint: run `s3ward validate` and `s3ward plan` on it with `--allow-self-lockout`\n"
        );
        // In colour, only the labels change (their bytes are pinned in `style`).
        assert_eq!(
            text(&s, true),
            text(&s, false)
                .replacen("warning:", &Label::Warning.paint(true), 1)
                .replacen("hint:", &Label::Hint.paint(true), 1)
        );
    }

    #[test]
    fn an_invalid_import_names_where_it_went() {
        let mut out = Vec::new();
        write_invalid(&mut out, None).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "The plan file written to stdout does not validate: s3ward refuses something these resources have.\n"
        );
    }
}
