//! Pause points for tests, so that a test can kill a render with `SIGKILL` at a chosen step
//! and check what the next render makes of it. **Test-only**: set `HUBDR_TEST_PAUSE_AT` to
//!
//! * `files:N`: pause once the working tree has N of the commit's files written;
//! * `temp:N`: pause once N temp files (of files that replace others) are written, before the
//!   Nth is renamed into place;
//! * `before-ref`: pause when every file and object is written, before the branch moves;
//! * `after-ref`: pause after the branch moved, before the index is written.
//!
//! The render then prints `hubdr: paused at <point> (HUBDR_TEST_PAUSE_AT)` to standard error
//! and sleeps until it is killed. Harmless: unset, it costs one look at the environment per
//! process; it never changes what a render writes, only when the render stops.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// The environment variable that names the pause point.
pub const VAR: &str = "HUBDR_TEST_PAUSE_AT";

enum Point {
    Files(usize),
    Temps(usize),
    Step(String),
}

fn point() -> Option<&'static Point> {
    static POINT: OnceLock<Option<Point>> = OnceLock::new();
    POINT
        .get_or_init(|| {
            let text = std::env::var(VAR).ok()?;
            let count = |prefix| text.strip_prefix(prefix).and_then(|n| n.parse().ok());
            Some(if let Some(n) = count("files:") {
                Point::Files(n)
            } else if let Some(n) = count("temp:") {
                Point::Temps(n)
            } else {
                Point::Step(text)
            })
        })
        .as_ref()
}

/// Count a file written into the working tree; pause at `files:N`.
pub(super) fn file_written() {
    static WRITTEN: AtomicUsize = AtomicUsize::new(0);
    if let Some(Point::Files(n)) = point() {
        if WRITTEN.fetch_add(1, Ordering::Relaxed) + 1 == *n {
            pause(&format!("files:{n}"));
        }
    }
}

/// Count a temp file written; pause at `temp:N`.
pub(super) fn temp_written() {
    static WRITTEN: AtomicUsize = AtomicUsize::new(0);
    if let Some(Point::Temps(n)) = point() {
        if WRITTEN.fetch_add(1, Ordering::Relaxed) + 1 == *n {
            pause(&format!("temp:{n}"));
        }
    }
}

/// Pause when the pause point is `name`.
pub(super) fn step(name: &str) {
    if let Some(Point::Step(s)) = point() {
        if s == name {
            pause(name);
        }
    }
}

fn pause(what: &str) -> ! {
    let line = format!("hubdr: paused at {what} ({VAR})\n");
    // `main` holds the lock of the process's stderr handle while a command runs: write through
    // a handle of its own.
    let own = std::fs::OpenOptions::new()
        .append(true)
        .open("/dev/stderr")
        .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
    if own.is_err() {
        eprint!("{line}");
    }
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
