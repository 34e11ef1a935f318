//! The agent's log output: tracing to stderr, as text or JSON lines, with the credentials of
//! every URL hidden ([`hubdr_core::redact::redact_urls`]) whatever logged it.

use std::io::{self, Write};

use hubdr_core::redact::redact_urls;

use crate::cli::LogFormat;

/// Install the global subscriber (`RUST_LOG` filters; `info` by default).
pub fn init(format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // Colours only for a person at a terminal: a pod's log, a file or a pipe gets plain text.
    let ansi = io::IsTerminal::is_terminal(&io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(|| Redacting(io::stderr()));
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// A writer that hides URL credentials in what passes through it. The subscriber writes each
/// event in one call, so a URL is never split between two writes.
pub struct Redacting<W>(pub W);

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact_urls(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_of_urls_never_reach_the_log() {
        let mut out = Redacting(Vec::new());
        let line = b"WARN fetch failed url=https://x-access-token:T0KEN@git.example.com/r.git\n";
        assert_eq!(out.write(line).unwrap(), line.len());
        assert_eq!(
            String::from_utf8(out.0).unwrap(),
            "WARN fetch failed url=https://***@git.example.com/r.git\n"
        );
    }
}
