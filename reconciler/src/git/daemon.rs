//! A `git daemon` on loopback, for the tests and benchmarks that need a network transport
//! served by git's own `upload-pack` and `receive-pack`, as a forge serves them. Not used by
//! the agent.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `git daemon` serving every repository under a base directory on a free loopback port,
/// pushes enabled; stopped on drop.
pub struct GitDaemon {
    child: Child,
    port: u16,
}

impl GitDaemon {
    /// `None` when no `git` binary is installed; panics when the daemon does not listen
    /// within 10 s.
    pub fn start(base: &Path) -> Option<GitDaemon> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        // Run `git-daemon` itself: `git daemon` would fork it as a child that outlives a kill.
        let exec_path = Command::new("git").arg("--exec-path").output().ok()?;
        let exec_path = String::from_utf8(exec_path.stdout).ok()?;
        let child = Command::new(Path::new(exec_path.trim()).join("git-daemon"))
            .arg("--reuseaddr")
            .arg("--export-all")
            .arg("--enable=receive-pack")
            .arg("--listen=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let daemon = GitDaemon { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "git daemon did not start listening on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(daemon)
    }

    /// `git://127.0.0.1:<port>/<name>` for a repository directly under the base directory.
    pub fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
