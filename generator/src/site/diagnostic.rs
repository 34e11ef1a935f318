//! Problems found in a site file, each naming the field path, the line and the fix.

use std::fmt;

use super::locate::{Location, Locator};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Field path such as `spec.hubs[1].role`.
    pub path: String,
    pub message: String,
    pub fix: String,
    pub location: Option<Location>,
}

impl Diagnostic {
    pub fn error(
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Error,
            path: path.into(),
            message: message.into(),
            fix: fix.into(),
            location: None,
        }
    }

    pub fn warning(
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(path, message, fix)
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Fill in the location from the source text, unless already known.
    pub fn located(mut self, locator: &Locator) -> Self {
        if self.location.is_none() {
            self.location = locator.find(&self.path);
        }
        self
    }

    /// Display with the file name, e.g. in `hubdr validate` output.
    pub fn in_file<'a>(&'a self, file: &'a str) -> impl fmt::Display + 'a {
        DiagnosticInFile {
            diagnostic: self,
            file,
        }
    }
}

struct DiagnosticInFile<'a> {
    diagnostic: &'a Diagnostic,
    file: &'a str,
}

impl fmt::Display for DiagnosticInFile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.diagnostic;
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let path = if d.path.is_empty() {
            "(document)"
        } else {
            &d.path
        };
        writeln!(f, "{level}: {path}: {}", d.message)?;
        match d.location {
            Some(l) => writeln!(f, "  --> {}:{}:{}", self.file, l.line, l.column)?,
            None => writeln!(f, "  --> {}", self.file)?,
        }
        write!(f, "  fix: {}", d.fix)
    }
}

/// Sort errors before warnings, then by position in the file, then by path.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        let pos = |d: &Diagnostic| {
            d.location
                .map(|l| (l.line, l.column))
                .unwrap_or((usize::MAX, 0))
        };
        (a.severity, pos(a), &a.path).cmp(&(b.severity, pos(b), &b.path))
    });
}
