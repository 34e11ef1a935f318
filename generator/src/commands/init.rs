use std::path::Path;

use super::CommandError;

/// The commented starter site, also checked by tests to validate and render.
pub const STARTER_SITE: &str = include_str!("../starter-site.yaml");

pub fn run(path: &Path, force: bool, out: &mut dyn std::io::Write) -> Result<(), CommandError> {
    if path.exists() && !force {
        return Err(CommandError::BadInput(format!(
            "error: {} already exists\n  fix: choose another --out, or pass --force to replace it",
            path.display()
        )));
    }
    crate::fsutil::write_atomic(path, STARTER_SITE.as_bytes()).map_err(|e| {
        CommandError::Failed(format!("error: cannot write {}: {e}", path.display()))
    })?;
    let _ = writeln!(
        out,
        "wrote {}: edit the hubs, storage and clusters, then run `hubdr validate --site {}`",
        path.display(),
        path.display()
    );
    Ok(())
}
