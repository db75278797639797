//! Problems found in a plan file, with where they are, rendered like a compiler's.
//!
//! ```text
//! error: unknown access level `readd`
//!   --> plans/ml-models.toml:42:10
//!    |
//! 42 | access = "readd"
//!    |          ^^^^^^^ not an access level
//!    |
//!    = hint: use one of `list`, `read`, `write`, `read-write`, `full`
//! ```
//!
//! Rendering is `annotate-snippets` (what rustc and cargo use); this module only decides
//! what to say.

use std::ops::Range;
use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// Byte range in the plan file; `None` for problems of the whole file.
    pub span: Option<Range<usize>>,
    /// A short note under the underlined text.
    pub label: Option<String>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>, span: Option<Range<usize>>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span,
            label: None,
            hint: None,
        }
    }

    pub fn warning(message: impl Into<String>, span: Option<Range<usize>>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message, span)
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

pub use crate::desired::line_col;

/// The diagnostics of one plan file, with the text they point into.
#[derive(Clone, Debug)]
pub struct Report {
    pub path: PathBuf,
    pub text: String,
    pub diagnostics: Vec<Diagnostic>,
}

/// Without colour, as `validate` prints it to a file.
impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl Report {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }

    /// Renders every diagnostic, in file order, for a terminal (`color`) or plain text.
    pub fn render(&self, color: bool) -> String {
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let path = display_path(&self.path);
        let mut out = String::new();
        for d in &self.diagnostics {
            out.push_str(&renderer.render(&self.groups(d, &path)));
            out.push_str("\n\n");
        }
        out
    }

    fn groups<'a>(&'a self, d: &'a Diagnostic, path: &'a str) -> Vec<Group<'a>> {
        let level = match d.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let title = level.primary_title(d.message.as_str());
        let mut groups = Vec::new();
        match &d.span {
            Some(span) => {
                // An empty span at the end of the file still needs a character to point at.
                let span =
                    if span.is_empty() && span.start >= self.text.len() && !self.text.is_empty() {
                        self.text.len() - 1..self.text.len()
                    } else {
                        span.clone()
                    };
                let mut ann = AnnotationKind::Primary.span(span);
                if let Some(l) = &d.label {
                    ann = ann.label(l.as_str());
                }
                let snippet = Snippet::source(self.text.as_str())
                    .path(path)
                    .fold(true)
                    .annotation(ann);
                let mut g = title.element(snippet);
                if let Some(h) = &d.hint {
                    g = g.element(Level::HELP.with_name("hint").message(h.as_str()));
                }
                groups.push(g);
            }
            None => {
                let mut g = Group::with_title(title).element(annotate_snippets::Origin::path(path));
                if let Some(h) = &d.hint {
                    g = g.element(Level::HELP.with_name("hint").message(h.as_str()));
                }
                groups.push(g);
            }
        }
        groups
    }
}

/// Paths as the user typed them, relative when possible.
pub fn display_path(path: &Path) -> String {
    if let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = path.strip_prefix(&cwd)
    {
        return rel.display().to_string();
    }
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let t = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, t.find('=').unwrap()), (1, 3));
        let second_eq = t.rfind('=').unwrap();
        assert_eq!(line_col(t, second_eq), (2, 4));
    }

    #[test]
    fn renders_path_line_column_and_hint() {
        let text = "version = 1\n[buckets.m]\naccess = \"readd\"\n".to_string();
        let start = text.find("\"readd\"").unwrap();
        let r = Report {
            path: PathBuf::from("plans/x.toml"),
            text: text.clone(),
            diagnostics: vec![
                Diagnostic::error("unknown access level `readd`", Some(start..start + 7))
                    .label("not an access level")
                    .hint("use one of `list`, `read`"),
                Diagnostic::warning("whole-file problem", None),
            ],
        };
        let out = r.render(false);
        assert!(out.contains("error: unknown access level `readd`"), "{out}");
        assert!(out.contains("plans/x.toml:3:10"), "{out}");
        assert!(out.contains("not an access level"), "{out}");
        assert!(out.contains("hint: use one of"), "{out}");
        assert!(out.contains("warning: whole-file problem"), "{out}");
    }
}
