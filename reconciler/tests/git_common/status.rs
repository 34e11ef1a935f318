//! Status writers against a local bare remote: one writer per cache directory, a cluster's
//! status ref, and many writers released at once.

use std::path::Path;
use std::sync::{Arc, Barrier};

use git2::{Oid, Repository};
use hubdr_agent::git::{Credentials, Identity, Publish, StatusWriter};

/// The status branch the writers are made for.
pub const BRANCH: &str = StatusWriter::DEFAULT_BRANCH;

/// A status writer to the bare repository at `remote`, with its cache in `cache`.
pub fn writer(remote: &Path, cache: &Path) -> StatusWriter {
    StatusWriter::new(
        super::file_url(remote),
        BRANCH,
        cache,
        Credentials::None,
        Identity::new("agent", "agent@example.com"),
    )
}

/// `cluster`'s status ref (`refs/hubdr/status/<cluster>`) in `repo`.
pub fn status_ref(repo: &Repository, cluster: &str) -> Option<Oid> {
    repo.refname_to_id(&format!("refs/hubdr/status/{cluster}"))
        .ok()
}

/// The commit of a publish that made one (panics otherwise).
pub fn committed(publish: Publish) -> Oid {
    match publish {
        Publish::Committed { commit, .. } => commit,
        other => panic!("expected a commit, got {other:?}"),
    }
}

/// `n` threads, thread `i` with its own writer (`writer(remote, dir/cache-<i>)`, adjusted by
/// `setup`), released together by a barrier to run `publish(i, &writer)`; their results in
/// order of `i`.
pub fn writers_at_once<T: Send + 'static>(
    remote: &Path,
    dir: &Path,
    n: usize,
    setup: fn(StatusWriter) -> StatusWriter,
    publish: fn(usize, &StatusWriter) -> T,
) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (remote, cache, barrier) = (
                remote.to_path_buf(),
                dir.join(format!("cache-{i}")),
                barrier.clone(),
            );
            std::thread::spawn(move || {
                let w = setup(writer(&remote, &cache));
                barrier.wait();
                publish(i, &w)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}
