//! Disconnected sites: an agent that reads an inbox of signed bundles writes its status to a
//! local git repository (`--status-repo`, default `<cache-dir>/status-repo`), and
//! `hubdr-agent export-status` packs that status for the trip back to `hubdr status import`:
//! each status with its signature and pinned key. A status that is not signed by the key pinned
//! for its cluster (or is from the future) is left out and reported.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use git2::Repository;
use hubdr_core::status::trust;
use hubdr_core::status::{
    pin_path, signature_path, status_path, PIN_DIR, PIN_SUFFIX, SIGNATURE_SUFFIX, STATUS_BRANCH,
    STATUS_DIR, STATUS_SUFFIX,
};
use hubdr_core::tree::Tree;

use crate::cli::AgentArgs;
use crate::git::{Credentials, GitSource, Identity, StatusWriter};
use crate::inbox::Inbox;
use crate::runner::Source;

/// The local status repository's directory under the cache directory.
pub const STATUS_REPO_DIR: &str = "status-repo";
/// Where the inbox remembers the bundle applied last, under the cache directory.
pub const INBOX_STATE_FILE: &str = "inbox-state.yaml";
/// The default cache directory (as the agent's `--cache-dir`).
pub const DEFAULT_CACHE_DIR: &str = "/var/cache/hubdr";

/// The status repository: the flag, or the default under the cache directory.
pub fn status_repo_path(cache_dir: &Path, status_repo: Option<&Path>) -> PathBuf {
    status_repo
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cache_dir.join(STATUS_REPO_DIR))
}

/// Create a bare repository at `path` unless one is there.
pub fn ensure_status_repo(path: &Path) -> Result<(), String> {
    if Repository::open(path).is_ok() {
        return Ok(());
    }
    std::fs::create_dir_all(path).map_err(|e| {
        format!(
            "cannot create the status repository {}: {e}",
            path.display()
        )
    })?;
    Repository::init_bare(path).map(|_| ()).map_err(|e| {
        format!(
            "cannot create the status repository {}: {}",
            path.display(),
            e.message()
        )
    })
}

/// The pieces of an agent that reads `--source inbox:DIR`: the source, the status reader and
/// writer on the local status repository, and the directory to watch.
pub struct InboxParts {
    pub source: Source,
    pub status_source: Option<GitSource>,
    pub writer: Option<StatusWriter>,
    pub watch: PathBuf,
}

pub fn inbox_parts(args: &AgentArgs, dir: &Path) -> Result<InboxParts, (u8, String)> {
    let key_path = args.public_key.as_ref().ok_or((
        2,
        "--source inbox:DIR needs --pub KEY.pub, the key bundles are signed with".to_string(),
    ))?;
    let key =
        hubdr_core::bundle::PublicKey::read(key_path).map_err(|e| (2, format!("--pub: {e}")))?;
    std::fs::create_dir_all(dir).map_err(|e| {
        (
            2,
            format!(
                "--source inbox:{}: cannot create the directory: {e}",
                dir.display()
            ),
        )
    })?;
    let inbox = Inbox::new(dir, key, args.cache_dir.join(INBOX_STATE_FILE));
    let (status_source, writer) = if args.no_status {
        (None, None)
    } else {
        let repo = status_repo_path(&args.cache_dir, args.status_repo.as_deref());
        ensure_status_repo(&repo).map_err(|e| (2, format!("--status-repo: {e}")))?;
        let url = repo.display().to_string();
        let identity = Identity::new(
            format!("hubdr-agent {}", args.cluster),
            format!("hubdr-agent+{}@localhost", args.cluster),
        );
        (
            Some(GitSource::new(
                &url,
                &args.status_branch,
                args.cache_dir.join("status-read"),
                Credentials::None,
            )),
            Some(StatusWriter::new(
                &url,
                &args.status_branch,
                args.cache_dir.join("status-write"),
                Credentials::None,
                identity,
            )),
        )
    };
    Ok(InboxParts {
        source: Source::Inbox(inbox),
        status_source,
        writer,
        watch: dir.to_path_buf(),
    })
}

/// `hubdr-agent export-status`: pack the status files of the local status repository.
#[derive(Debug, Parser)]
#[command(
    name = "hubdr-agent export-status",
    version,
    about = "Pack this disconnected site's status (the status branch of the local status repository) for `hubdr status import`"
)]
pub struct ExportArgs {
    /// The file to write (tar + zstd).
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// The local status repository (default: <cache-dir>/status-repo).
    #[arg(long)]
    pub status_repo: Option<PathBuf>,
    /// The agent's cache directory.
    #[arg(long, default_value = DEFAULT_CACHE_DIR)]
    pub cache_dir: PathBuf,
    /// The status branch.
    #[arg(long, default_value = STATUS_BRANCH)]
    pub status_branch: String,
}

/// Run `export-status` with the arguments after the subcommand name.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args = ExportArgs::parse_from(args);
    match export(&args) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err((code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

/// Write the export; returns what to print.
pub fn export(args: &ExportArgs) -> Result<String, (u8, String)> {
    let repo = status_repo_path(&args.cache_dir, args.status_repo.as_deref());
    let (all, commit) = status_files(&repo, &args.status_branch)?;
    let (files, left_out) = trusted_files(&all, jiff::Timestamp::now());
    if files.is_empty() {
        return Err((
            1,
            format!(
                "no trusted status to export from {}:\n  {}",
                repo.display(),
                if left_out.is_empty() {
                    "the status branch holds none".to_string()
                } else {
                    left_out.join("\n  ")
                }
            ),
        ));
    }
    let bytes =
        hubdr_core::bundle::transfer::pack(&files, Some(commit.clone()), jiff::Timestamp::now())
            .map_err(|e| (1, format!("cannot pack the status: {e}")))?;
    hubdr_core::fsutil::write_atomic(&args.out, &bytes)
        .map_err(|e| (1, format!("cannot write {}: {e}", args.out.display())))?;
    let clusters: Vec<&str> = files
        .keys()
        .filter_map(|p| {
            p.strip_prefix("clusters/")
                .and_then(|p| p.strip_suffix(".yaml"))
        })
        .collect();
    let mut summary = format!(
        "wrote {} ({} bytes): status of {} from status commit {commit}; import it with `hubdr status import {} --repo CENTRAL`",
        args.out.display(),
        bytes.len(),
        clusters.join(", "),
        args.out.display()
    );
    for line in left_out {
        summary.push_str(&format!("\nleft out: {line}"));
    }
    Ok(summary)
}

/// The statuses of `files` signed by their cluster's pinned key and not from the future, with
/// their signatures and pins; and a line for each status left out.
pub fn trusted_files(files: &Tree, now: jiff::Timestamp) -> (Tree, Vec<String>) {
    let read = trust::read_branch(files, &Default::default(), None, now);
    let mut out = Tree::new();
    for cluster in read.trusted.keys() {
        for path in [
            status_path(cluster),
            signature_path(cluster),
            pin_path(cluster),
        ] {
            if let Some(bytes) = files.get(&path) {
                out.insert(path, bytes.clone());
            }
        }
    }
    let left_out = read.refused.values().map(ToString::to_string).collect();
    (out, left_out)
}

/// `clusters/*.yaml`, `clusters/*.sig` and `keys/*.pub` of the status refs and the shared
/// `branch` in the repository at `path` (merged as `hubdr_core::status::refs` says), and the newest
/// commit among them.
pub fn status_files(path: &Path, branch: &str) -> Result<(Tree, String), (u8, String)> {
    let repo = Repository::open(path).map_err(|e| (2, format!("{} is not a status repository: {}; give --status-repo or --cache-dir as the agent has them", path.display(), e.message())))?;
    let read_error = |e: git2::Error| {
        (
            1,
            format!("cannot read {}: {}", path.display(), e.message()),
        )
    };
    let mut view = hubdr_core::status::refs::read(&repo, &format!("refs/heads/{branch}"))
        .map_err(read_error)?;
    let newest = view.newest.ok_or((
        1,
        format!(
            "no status has been written to {} (refs/hubdr/status/* or {branch}) yet; run the agent first",
            path.display()
        ),
    ))?;
    let all = view
        .load(&repo, hubdr_core::limits::STATUS_FILE_MAX_BYTES)
        .map_err(read_error)?;
    let files = all
        .into_iter()
        .filter(|(path, _)| {
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
            (dir == STATUS_DIR
                && (name.ends_with(STATUS_SUFFIX) || name.ends_with(SIGNATURE_SUFFIX)))
                || (dir == PIN_DIR && name.ends_with(PIN_SUFFIX))
        })
        .collect();
    Ok((files, newest.to_string()))
}
