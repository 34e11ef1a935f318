//! Making a directory's entries durable (read by the commit and the journal).

use std::fs;
use std::io;
use std::path::Path;

/// fsync the directory `path`, so the names created in it survive a crash (a no-op off unix).
pub(super) fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(path)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}
