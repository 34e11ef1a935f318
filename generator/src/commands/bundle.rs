//! `hubdr keygen`, `hubdr bundle create`, `hubdr bundle verify`: the shells around
//! `crate::bundle`, which does the work.

use std::path::Path;

use crate::bundle::{self, create::CreateInput, Expect, Limits, PublicKey, SecretKey};
use crate::cli::BundleCommand;
use crate::gitrepo::{OutputRepo, Tree};
use crate::index::{RenderIndex, INDEX_PATH};

use super::CommandError;

pub fn run(command: &BundleCommand, out: &mut dyn std::io::Write) -> Result<(), CommandError> {
    match command {
        BundleCommand::Create {
            repo,
            dir,
            cluster,
            key,
            out: file,
        } => create(repo.as_deref(), dir.as_deref(), cluster, key, file, out),
        BundleCommand::Verify {
            file,
            public_key,
            cluster,
            min_generation,
            output,
        } => verify(
            file,
            public_key,
            &Expect {
                cluster: cluster.clone(),
                min_generation: *min_generation,
                not_older_than: None,
            },
            *output,
            out,
        ),
    }
}

pub fn keygen(path: &Path, force: bool, out: &mut dyn std::io::Write) -> Result<(), CommandError> {
    let key = SecretKey::generate().map_err(|e| CommandError::Failed(format!("error: {e}")))?;
    let public = bundle::keys::write_pair(&key, path, force).map_err(|e| match e {
        bundle::KeyError::Exists { .. } => CommandError::BadInput(format!("error: {e}")),
        _ => CommandError::Failed(format!("error: {e}")),
    })?;
    let _ = writeln!(
        out,
        "wrote {} (private, mode 0600: keep it where bundles are made) and {} (public: copy it to each disconnected site's agent as --pub)\nkey id {}",
        path.display(),
        public.display(),
        key.public().id()
    );
    Ok(())
}

fn create(
    repo: Option<&Path>,
    dir: Option<&Path>,
    cluster: &str,
    key: &Path,
    file: &Path,
    out: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let key = SecretKey::read(key).map_err(|e| {
        CommandError::BadInput(format!(
            "error: {e}\n  fix: create one with `hubdr keygen -o KEY`"
        ))
    })?;
    let cluster_dir = format!("clusters/{cluster}/");
    let (files, commit) = match (repo, dir) {
        (Some(repo), _) => read_repo(repo, &cluster_dir)?,
        (None, Some(dir)) => (read_dir(dir, &cluster_dir)?, None),
        (None, None) => return Err(CommandError::BadInput("error: give --repo or --dir".into())),
    };
    let source = repo.or(dir).expect("one of them");
    let index_bytes = files.get(INDEX_PATH).ok_or_else(|| {
        CommandError::BadInput(format!(
            "error: {} has no {INDEX_PATH}\n  fix: point --repo/--dir at the output of `hubdr render`",
            source.display()
        ))
    })?;
    let index = std::str::from_utf8(index_bytes)
        .map_err(|e| e.to_string())
        .and_then(RenderIndex::parse)
        .map_err(|e| {
            CommandError::BadInput(format!("error: {e}\n  fix: re-render with `hubdr render`"))
        })?;
    let input = CreateInput {
        index: &index,
        files: &files,
        cluster,
        source_commit: commit,
        created_at: jiff::Timestamp::now(),
    };
    let (bytes, manifest) = bundle::create(&input, &key).map_err(|e| match e {
        bundle::CreateError::Archive(_) => CommandError::Failed(format!("error: {e}")),
        _ => CommandError::BadInput(format!("error: {e}; nothing was written")),
    })?;
    crate::fsutil::write_atomic(file, &bytes).map_err(|e| {
        CommandError::Failed(format!("error: cannot write {}: {e}", file.display()))
    })?;
    let _ = writeln!(
        out,
        "wrote {} ({} bytes): site {}, cluster {}, generation {}, commit {}, {} files, signed by key id {}",
        file.display(),
        bytes.len(),
        manifest.site,
        manifest.cluster,
        manifest.generation,
        manifest.source_commit.as_deref().unwrap_or("none (--dir)"),
        manifest.files.len(),
        key.public().id()
    );
    Ok(())
}

/// The committed render at HEAD: the index and the cluster's files, and the commit id.
fn read_repo(repo: &Path, cluster_dir: &str) -> Result<(Tree, Option<String>), CommandError> {
    let bad = |e: String| {
        CommandError::BadInput(format!("error: {e}\n  fix: give the git repository `hubdr render --out` wrote (or --dir for a --no-git directory)"))
    };
    let repo = OutputRepo::open(repo).map_err(|e| bad(e.to_string()))?;
    let commit = repo
        .head_commit()
        .map_err(|e| bad(e.to_string()))?
        .ok_or_else(|| bad("the repository has no commit yet".into()))?;
    let files = repo
        .head_files(&[cluster_dir, ".hubdr/"])
        .map_err(|e| CommandError::Failed(format!("error: {e}")))?;
    Ok((files, Some(commit.to_string())))
}

/// The same from a plain directory.
fn read_dir(dir: &Path, cluster_dir: &str) -> Result<Tree, CommandError> {
    let mut files = Tree::new();
    let index = dir.join(INDEX_PATH);
    match std::fs::read(&index) {
        Ok(bytes) => {
            files.insert(INDEX_PATH.to_string(), bytes);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(CommandError::Failed(format!(
                "error: cannot read {}: {e}",
                index.display()
            )))
        }
    }
    let root = dir.join(cluster_dir.trim_end_matches('/'));
    if root.is_dir() {
        collect(dir, &root, &mut files).map_err(|e| {
            CommandError::Failed(format!("error: cannot read {}: {e}", root.display()))
        })?;
    }
    Ok(files)
}

fn collect(base: &Path, dir: &Path, files: &mut Tree) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(base, &path, files)?;
        } else {
            let relative = path
                .strip_prefix(base)
                .expect("walked from base")
                .to_string_lossy()
                .replace('\\', "/");
            files.insert(relative, std::fs::read(&path)?);
        }
    }
    Ok(())
}

fn verify(
    file: &Path,
    public_key: &Path,
    expect: &Expect,
    output: crate::cli::OutputFormat,
    out: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let json = output == crate::cli::OutputFormat::Json;
    let refused = |error: String, out: &mut dyn std::io::Write| {
        if json {
            super::json::print(
                out,
                "BundleVerifyResult",
                serde_json::json!({"file": file.display().to_string(), "verified": false, "error": error}),
            );
        }
        CommandError::BadInput(format!("error: {error}"))
    };
    let key = match PublicKey::read(public_key) {
        Ok(key) => key,
        Err(e) => return Err(refused(e.to_string(), out)),
    };
    let verified = match bundle::verify_file(file, &key, expect, &Limits::default()) {
        Ok(verified) => verified,
        Err(e) => {
            return Err(refused(
                format!("bundle {} refused: {e}", file.display()),
                out,
            ))
        }
    };
    if json {
        super::json::print(out, "BundleVerifyResult", verified_json(file, &verified));
    } else {
        let _ = write!(out, "{}", describe(file, &verified));
    }
    Ok(())
}

/// The `BundleVerifyResult` fields of a good bundle.
fn verified_json(file: &Path, verified: &bundle::Verified) -> serde_json::Value {
    let m = &verified.manifest;
    let files: Vec<serde_json::Value> = m
        .files
        .iter()
        .map(|(path, digest)| serde_json::json!({"path": path, "sha256": digest}))
        .collect();
    serde_json::json!({
        "file": file.display().to_string(),
        "verified": true,
        "keyId": verified.key_id.to_string(),
        "site": m.site,
        "cluster": m.cluster,
        "generation": m.generation,
        "commit": m.source_commit,
        "created": m.created_at.to_string(),
        "files": files,
    })
}

/// What `bundle verify` prints for a good bundle.
pub fn describe(file: &Path, verified: &bundle::Verified) -> String {
    let m = &verified.manifest;
    let mut text = format!(
        "bundle {}: signature and {} digests verified (key id {})\n  site:       {}\n  cluster:    {}\n  generation: {}\n  commit:     {}\n  created:    {}\n  files:\n",
        file.display(),
        m.files.len(),
        verified.key_id,
        m.site,
        m.cluster,
        m.generation,
        m.source_commit.as_deref().unwrap_or("none (made with --dir)"),
        m.created_at,
    );
    for (path, digest) in &m.files {
        text.push_str(&format!("    {path}  sha256:{digest}\n"));
    }
    text
}
