//! The one style helper: colour on or off, the few styles s3ward paints with, the labels of
//! its messages (`error:`, `warning:`, `hint:`), `plural` and backticks.
//!
//! Every ANSI escape s3ward writes itself comes from here (through `anstyle`); the plan-file
//! diagnostics are painted by annotate-snippets. Whether to colour is decided by the caller
//! (terminal, `--color`, `NO_COLOR`); this module never looks at the environment, and the
//! output must read the same without colour.

use std::fmt::Display;
use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

/// Headlines and summary lines.
pub const BOLD: Style = Style::new().bold();
/// `+` lines: what will be created or added.
pub const ADD: Style = AnsiColor::Green.on_default();
/// `-` lines: what will be deleted or removed.
pub const REMOVE: Style = AnsiColor::Red.on_default();
/// `~` lines: what will be changed.
pub const CHANGE: Style = AnsiColor::Yellow.on_default();
/// The word `error` (and `Error` in a change set's findings).
pub const ERROR: Style = AnsiColor::Red.on_default().bold();
/// The word `warning` (and `Warning` in a change set's findings).
pub const WARNING: Style = AnsiColor::Yellow.on_default().bold();

/// Writes `text` in `style` when `color`, else as it is.
pub fn paint(w: &mut dyn Write, color: bool, style: Style, text: &str) -> io::Result<()> {
    if color {
        write!(w, "{}{text}{}", style.render(), style.render_reset())
    } else {
        write!(w, "{text}")
    }
}

/// The label that opens a message on stderr, in uv's form: `error: …`, `warning: …`,
/// `hint: …`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    Error,
    Warning,
    Hint,
}

impl Label {
    /// The label with its colon, `error:`; painted when `color`: the word in its colour and
    /// the colon bold (`hint` is bold, its colon plain).
    pub fn paint(self, color: bool) -> String {
        let (word, style) = match self {
            Label::Error => ("error", ERROR),
            Label::Warning => ("warning", WARNING),
            Label::Hint => ("hint", BOLD),
        };
        if !color {
            return format!("{word}:");
        }
        let reset = style.render_reset();
        match self {
            Label::Hint => format!("{}{word}{reset}:", sgr(style)),
            Label::Error | Label::Warning => {
                format!("{}{word}{reset}{}:{reset}", sgr(style), sgr(BOLD))
            }
        }
    }
}

/// A style as one SGR sequence, `ESC[1;31m`, the form these labels have always had.
/// `anstyle`'s own rendering writes one sequence per part (`ESC[1mESC[31m`), which a
/// terminal shows the same; the labels keep their bytes rather than change them unasked.
fn sgr(style: Style) -> String {
    style.render().to_string().replace("m\x1b[", ";")
}

/// `s` for a count other than one: `format!("{n} file{}", plural(n))`.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A value as messages quote it: `` `models` ``.
pub fn ticked(value: impl Display) -> String {
    format!("`{value}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_plain_and_painted() {
        assert_eq!(Label::Error.paint(false), "error:");
        assert_eq!(Label::Warning.paint(false), "warning:");
        assert_eq!(Label::Hint.paint(false), "hint:");
        assert_eq!(
            Label::Error.paint(true),
            "\x1b[1;31merror\x1b[0m\x1b[1m:\x1b[0m"
        );
        assert_eq!(
            Label::Warning.paint(true),
            "\x1b[1;33mwarning\x1b[0m\x1b[1m:\x1b[0m"
        );
        assert_eq!(Label::Hint.paint(true), "\x1b[1mhint\x1b[0m:");
    }

    #[test]
    fn paint_writes_anstyle_sequences_only_with_colour() {
        let mut out = Vec::new();
        paint(&mut out, true, WARNING, "Warning").unwrap();
        paint(&mut out, false, WARNING, "Warning").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\x1b[1m\x1b[33mWarning\x1b[0mWarning"
        );
    }

    #[test]
    fn plural_and_ticked() {
        assert_eq!(format!("1 file{}", plural(1)), "1 file");
        assert_eq!(format!("0 file{}", plural(0)), "0 files");
        assert_eq!(ticked("models"), "`models`");
    }
}
