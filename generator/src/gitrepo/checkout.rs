//! Writing the files of a commit into the working tree: the directories they need, then the
//! files, one directory at a time.
//!
//! A directory is the unit of work because the kernel serializes changes to one directory: two
//! threads creating entries in the same directory take turns on its lock, and spin while they
//! wait. So the files of one directory are written by one thread, and the new leaf directories
//! are made by one thread, in one pass, while the other thread writes the files of those
//! already made. The 5,000 directories of a fleet are all made in `clusters/`: when both
//! threads made them level by level, a third of that step's CPU time went to spinning on that
//! directory's lock; when each thread made a directory before its own files, and both wrote
//! parts of one large directory, 5% of a render's CPU time on ext4. The largest directories (the
//! agents' install files, the active hub's add-ons: one per cluster of a fleet) are made and
//! handed out first, so that neither is left to write alone at the end.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use foldhash::{HashMap, HashMapExt, HashSet};
use rayon::prelude::*;

/// Below this many files (or directories of one depth), they are made on the calling thread.
pub(super) const PARALLEL_MIN: usize = 16;

/// The outcome of writing one file: its stat data, or why it failed.
pub(super) type Placed = Result<fs::Metadata, FileError>;

/// A file that could not be written.
#[derive(Debug)]
pub(super) struct FileError {
    /// The working-tree file was changed anyway (created, or replaced), so a rollback must
    /// restore it.
    pub changed: bool,
    pub source: io::Error,
}

/// What `place_files` did: what to undo, and what it failed at.
pub(super) struct Placement {
    /// The directories created, parents first.
    pub created_dirs: Vec<PathBuf>,
    /// One outcome per file written, in the order of `writes`; `None` when the file was not
    /// tried because a directory could not be made (then `dir_errors` is not empty).
    pub files: Vec<Option<Placed>>,
    /// Directories that could not be made, with the index in `writes` of the first file that
    /// needed each.
    pub dir_errors: Vec<(usize, io::Error)>,
}

/// Write `writes` (repo-relative paths) under `workdir`, creating the directories they need.
/// When a directory that holds other directories cannot be made, nothing more is tried;
/// otherwise every file is tried unless its own directory could not be made. Either way the
/// caller can record all that changed before it fails. The files of one directory are written
/// by one thread.
pub(super) fn place_files(workdir: &Path, writes: &[(&str, &[u8])]) -> Placement {
    let plan = Plan::new(writes);
    let mut placement = Placement {
        created_dirs: Vec::new(),
        files: writes.iter().map(|_| None).collect(),
        dir_errors: Vec::new(),
    };

    // The directories that hold other directories, parents first, those of one depth in
    // parallel. A failure stops here: the directories below it cannot be made.
    for level in plan.inner_dirs.chunk_by(|a, b| depth(a.0) == depth(b.0)) {
        let ensure = |(dir, _): &(&str, usize)| ensure_dir(&workdir.join(dir), dir);
        let created: Vec<io::Result<bool>> = if level.len() < PARALLEL_MIN {
            level.iter().map(ensure).collect()
        } else {
            level.par_iter().map(ensure).collect()
        };
        for ((dir, first), result) in level.iter().zip(created) {
            match result {
                Ok(true) => placement.created_dirs.push(workdir.join(dir)),
                Ok(false) => {}
                Err(e) => placement.dir_errors.push((*first, e)),
            }
        }
        if !placement.dir_errors.is_empty() {
            return placement;
        }
    }

    // Then each directory with files: this thread makes the new leaf directories, in order,
    // and hands out each directory's files as a job as soon as the directory is there.
    let outcomes: Vec<OnceLock<UnitOutcome>> = plan.units.iter().map(|_| OnceLock::new()).collect();
    let write_files = |unit: &Unit<'_>| -> Vec<(usize, Placed)> {
        unit.files
            .iter()
            .map(|&i| (i, place_file(workdir, writes[i])))
            .collect()
    };
    let make_dir = |unit: &Unit<'_>| -> io::Result<bool> {
        if unit.make_dir {
            ensure_dir(&workdir.join(unit.dir), unit.dir)
        } else {
            Ok(false)
        }
    };
    let failed = |dir_error| UnitOutcome {
        created_dir: false,
        dir_error: Some(dir_error),
        files: Vec::new(),
    };
    let done = |created_dir, files| UnitOutcome {
        created_dir,
        dir_error: None,
        files,
    };
    if writes.len() < PARALLEL_MIN {
        for (unit, slot) in plan.units.iter().zip(&outcomes) {
            let outcome = match make_dir(unit) {
                Ok(created) => done(created, write_files(unit)),
                Err(e) => failed(e),
            };
            let _ = slot.set(outcome);
        }
    } else {
        let write_files = &write_files;
        rayon::scope(|scope| {
            for (unit, slot) in plan.units.iter().zip(&outcomes) {
                match make_dir(unit) {
                    Ok(created) => scope.spawn(move |_| {
                        let _ = slot.set(done(created, write_files(unit)));
                    }),
                    Err(e) => {
                        let _ = slot.set(failed(e));
                    }
                }
            }
        });
    }

    for (unit, slot) in plan.units.iter().zip(outcomes) {
        let outcome = slot.into_inner().expect("every unit is placed");
        if outcome.created_dir {
            placement.created_dirs.push(workdir.join(unit.dir));
        }
        if let Some(e) = outcome.dir_error {
            placement.dir_errors.push((unit.files[0], e));
        }
        for (i, placed) in outcome.files {
            placement.files[i] = Some(placed);
        }
    }
    placement
}

/// A directory holds this many files or more: it is made and handed out before the others.
const LARGE_DIR_FILES: usize = 64;

/// The directories to make and the files to write, grouped by directory.
struct Plan<'a> {
    /// Directories with a directory to make inside (or that are also the path of a file to
    /// write), sorted by depth, with the index of the first file that needs each.
    inner_dirs: Vec<(&'a str, usize)>,
    /// One unit per directory that holds files: those that exist (or are made with the inner
    /// directories) first, then the new leaves; large directories first in each, then by
    /// directory.
    units: Vec<Unit<'a>>,
}

struct Unit<'a> {
    /// Repo-relative, `""` for the top.
    dir: &'a str,
    /// The directory is a new leaf to make before the files (not made by the inner levels).
    make_dir: bool,
    /// Indexes into `writes`, in order.
    files: Vec<usize>,
}

struct UnitOutcome {
    created_dir: bool,
    dir_error: Option<io::Error>,
    files: Vec<(usize, Placed)>,
}

impl<'a> Plan<'a> {
    fn new(writes: &[(&'a str, &[u8])]) -> Self {
        let mut by_dir: HashMap<&'a str, Vec<usize>> = HashMap::new();
        for (i, (path, _)) in writes.iter().enumerate() {
            let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
            by_dir.entry(dir).or_default().push(i);
        }
        // A directory holds another when it is a proper prefix of a directory with files. Its
        // first file is the first one at or below it.
        let mut inner: HashMap<&'a str, usize> = HashMap::new();
        for (dir, files) in &by_dir {
            for (pos, _) in dir.match_indices('/') {
                let first = inner.entry(&dir[..pos]).or_insert(files[0]);
                *first = (*first).min(files[0]);
            }
        }
        for (dir, first) in inner.iter_mut() {
            if let Some(files) = by_dir.get(dir) {
                *first = (*first).min(files[0]);
            }
        }
        // Made first too: a directory that is also the path of a file to write (a conflict the
        // commit's trees refuse later), so that the file, not the directory, is what fails,
        // whichever thread gets there first.
        let file_paths: HashSet<&str> = writes.iter().map(|(path, _)| *path).collect();
        for (dir, files) in &by_dir {
            if file_paths.contains(dir) {
                inner.entry(dir).or_insert(files[0]);
            }
        }
        let mut inner_dirs: Vec<(&'a str, usize)> = inner.iter().map(|(d, f)| (*d, *f)).collect();
        inner_dirs.sort_unstable_by_key(|(dir, _)| (depth(dir), *dir));
        let mut units: Vec<Unit<'a>> = by_dir
            .into_iter()
            .map(|(dir, files)| Unit {
                dir,
                make_dir: !dir.is_empty() && !inner.contains_key(dir),
                files,
            })
            .collect();
        units.sort_unstable_by_key(|u| (u.make_dir, u.files.len() < LARGE_DIR_FILES, u.dir));
        Plan { inner_dirs, units }
    }
}

fn depth(dir: &str) -> usize {
    dir.matches('/').count()
}

/// Write one file. A file that replaces another is written to a temp file next to it and
/// renamed into place, so a reader never sees a half-written version (stat after the rename: a
/// rename changes the ctime, which git compares); a new file is created in place (`O_EXCL`),
/// like `git checkout` does, which saves the rename, the costliest step of a first render. Like
/// `git checkout`, the working tree is not fsynced: it is a copy of the commit, whose objects
/// are made durable before the branch moves.
fn place_file(workdir: &Path, write: (&str, &[u8])) -> Placed {
    let placed = replace_or_create(workdir, write);
    if placed.is_ok() {
        super::test_hook::file_written();
    }
    placed
}

fn replace_or_create(workdir: &Path, (path, bytes): (&str, &[u8])) -> Placed {
    let target = workdir.join(path);
    match create_new(&target, bytes) {
        Ok(Some(md)) => return Ok(md),
        Ok(None) => {}
        // A partly written file may be left if removing it failed too: let the rollback
        // remove it.
        Err(source) => {
            return Err(FileError {
                changed: true,
                source,
            })
        }
    }
    let unchanged = |source| FileError {
        changed: false,
        source,
    };
    let tmp = write_temp(&target, bytes).map_err(unchanged)?;
    super::test_hook::temp_written();
    if let Err(e) = fs::rename(&tmp, &target) {
        let _ = fs::remove_file(&tmp);
        return Err(unchanged(e));
    }
    fs::symlink_metadata(&target).map_err(|source| FileError {
        changed: true,
        source,
    })
}

/// Make sure the directory `full` (repo-relative `dir`) exists: `Ok(true)` when it was created
/// here. Most directories of a large render are new: try to create first.
fn ensure_dir(full: &Path, dir: &str) -> io::Result<bool> {
    match fs::create_dir(full) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match fs::symlink_metadata(full) {
            Ok(md) if md.is_dir() => Ok(false),
            Ok(_) => Err(io::Error::other(format!("{dir} is not a directory"))),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// Create `target` with `bytes` when no file of that name exists, and return its stat data
/// (taken before closing it: nothing changes it afterwards); `None` when it exists. A failed
/// write removes the file again.
fn create_new(target: &Path, bytes: &[u8]) -> io::Result<Option<fs::Metadata>> {
    // Default permissions (0666 & ~umask), like a git checkout.
    let mut file = match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(target)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(e),
    };
    match file.write_all(bytes).and_then(|()| file.metadata()) {
        Ok(md) => Ok(Some(md)),
        Err(e) => {
            drop(file);
            let _ = fs::remove_file(target);
            Err(e)
        }
    }
}

/// The temp file beside `target` that replaces it: `.<name>.hubdr-tmp`. One name per target,
/// so that the next render knows where an interrupted one may have left it (see `recover`);
/// two writers of one target are excluded by the render lock.
pub(super) fn temp_path(target: &Path) -> PathBuf {
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(".{name}.hubdr-tmp"))
}

/// Write `bytes` to the temp file of `target` (not fsynced: see `place_file`), replacing one
/// left by an interrupted render.
fn write_temp(target: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let tmp = temp_path(target);
    // Default permissions (0666 & ~umask), like a git checkout. Created exclusively, so that
    // whatever is in the way (a symlink too) is removed rather than written through.
    let create = || {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
    };
    let mut file = match create() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_file(&tmp)?;
            create()?
        }
        other => other?,
    };
    let written = file.write_all(bytes);
    drop(file);
    match written {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Write `bytes` to `target` atomically: temp file in the same directory, rename.
pub(super) fn write_atomic(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = write_temp(target, bytes)?;
    fs::rename(&tmp, target).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(paths: &[&'static str]) -> Plan<'static> {
        let writes: Vec<(&'static str, &'static [u8])> =
            paths.iter().map(|p| (*p, &b""[..])).collect();
        Plan::new(&writes)
    }

    #[test]
    fn inner_directories_come_first_by_depth_and_leaves_are_made_by_their_unit() {
        let plan = plan_of(&[
            "agents/a.yaml",
            "clusters/a/b/x.yaml",
            "clusters/a/k.yaml",
            "clusters/b/k.yaml",
            "top.yaml",
        ]);
        assert_eq!(plan.inner_dirs, vec![("clusters", 1), ("clusters/a", 1)]);
        let units: Vec<(&str, bool, Vec<usize>)> = plan
            .units
            .iter()
            .map(|u| (u.dir, u.make_dir, u.files.clone()))
            .collect();
        assert_eq!(
            units,
            vec![
                ("", false, vec![4]),
                ("clusters/a", false, vec![2]),
                ("agents", true, vec![0]),
                ("clusters/a/b", true, vec![1]),
                ("clusters/b", true, vec![3]),
            ]
        );
    }

    #[test]
    fn a_directory_with_many_files_is_made_and_written_first_by_one_unit() {
        let names: Vec<String> = ["clusters/a/k.yaml".to_string()]
            .into_iter()
            .chain((0..LARGE_DIR_FILES).map(|i| format!("agents/c-{i:04}.yaml")))
            .chain(["clusters/z/k.yaml".to_string()])
            .collect();
        let writes: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
        let plan = Plan::new(&writes);
        assert_eq!(plan.inner_dirs, vec![("clusters", 0)]);
        let units: Vec<(&str, bool, usize, usize)> = plan
            .units
            .iter()
            .map(|u| (u.dir, u.make_dir, u.files[0], u.files.len()))
            .collect();
        assert_eq!(
            units,
            vec![
                ("agents", true, 1, LARGE_DIR_FILES),
                ("clusters/a", true, 0, 1),
                ("clusters/z", true, LARGE_DIR_FILES + 1, 1),
            ]
        );

        // Every file is there, and each directory is reported made once, parents first.
        let dir = tempfile::tempdir().unwrap();
        let placement = place_files(dir.path(), &writes);
        assert!(placement.dir_errors.is_empty());
        assert!(placement.files.iter().all(|f| matches!(f, Some(Ok(_)))));
        assert_eq!(
            placement.created_dirs,
            ["clusters", "agents", "clusters/a", "clusters/z"].map(|d| dir.path().join(d))
        );
        assert_eq!(
            fs::read_dir(dir.path().join("agents")).unwrap().count(),
            LARGE_DIR_FILES
        );
    }

    #[test]
    fn an_inner_directory_is_attributed_to_the_first_file_at_or_below_it() {
        let plan = plan_of(&["x/b/1.yaml", "x/a/2.yaml", "x/3.yaml"]);
        assert_eq!(plan.inner_dirs, vec![("x", 0)]);
        // A file directly inside counts too.
        let plan = plan_of(&["x/a.yaml", "x/b/c.yaml"]);
        assert_eq!(plan.inner_dirs, vec![("x", 0)]);
    }

    #[test]
    fn a_directory_that_is_also_a_file_to_write_is_made_first() {
        let plan = plan_of(&["a", "a/x.yaml", "b.yaml"]);
        assert_eq!(plan.inner_dirs, vec![("a", 1)]);
        assert!(plan.units.iter().all(|u| !u.make_dir));
        // 20 files, so the units run in parallel: the file `a` fails, deterministically.
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..20).map(|i| format!("a/{i}.yaml")).collect();
        let mut writes: Vec<(&str, &[u8])> = vec![("a", b"file")];
        writes.extend(names.iter().map(|n| (n.as_str(), &b"x"[..])));
        let placement = place_files(dir.path(), &writes);
        assert!(placement.dir_errors.is_empty());
        let failed: Vec<usize> = (0..writes.len())
            .filter(|&i| !matches!(placement.files[i], Some(Ok(_))))
            .collect();
        assert_eq!(failed, vec![0]);
    }

    #[test]
    fn places_files_and_reports_the_directories_it_made_parents_first() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("clusters")).unwrap();
        fs::write(dir.path().join("old.yaml"), "old").unwrap();
        let writes: Vec<(String, Vec<u8>)> = (0..40)
            .map(|i| (format!("clusters/c{i}/f.yaml"), format!("{i}").into_bytes()))
            .chain([
                ("clusters/deep/er/f.yaml".to_string(), b"deep".to_vec()),
                ("old.yaml".to_string(), b"new".to_vec()),
            ])
            .collect();
        let writes: Vec<(&str, &[u8])> = writes
            .iter()
            .map(|(p, b)| (p.as_str(), b.as_slice()))
            .collect();
        let placement = place_files(dir.path(), &writes);
        assert!(placement.dir_errors.is_empty());
        for ((path, bytes), placed) in writes.iter().zip(&placement.files) {
            let md = placed.as_ref().unwrap().as_ref().unwrap();
            assert_eq!(md.len(), bytes.len() as u64, "{path}");
            assert_eq!(fs::read(dir.path().join(path)).unwrap(), *bytes, "{path}");
        }
        // `clusters` existed; 40 leaves, `deep` and `deep/er` were made, parents first.
        let created: Vec<String> = placement
            .created_dirs
            .iter()
            .map(|d| d.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(created.len(), 42);
        assert!(!created.contains(&"clusters".to_string()));
        let deep = created.iter().position(|d| d == "clusters/deep").unwrap();
        let deeper = created
            .iter()
            .position(|d| d == "clusters/deep/er")
            .unwrap();
        assert!(deep < deeper);
        // No temp file is left beside the replaced file.
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 2);
    }

    #[test]
    fn a_file_in_the_way_of_a_directory_fails_only_the_files_below_it() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("blocked"), "a file").unwrap();
        let writes: Vec<(&str, &[u8])> = vec![
            ("a/x.yaml", b"x"),
            ("blocked/y.yaml", b"y"),
            ("z.yaml", b"z"),
        ];
        let placement = place_files(dir.path(), &writes);
        assert_eq!(placement.dir_errors.len(), 1);
        let (first, error) = &placement.dir_errors[0];
        assert_eq!(*first, 1);
        assert_eq!(error.to_string(), "blocked is not a directory");
        assert!(placement.files[0].as_ref().unwrap().is_ok());
        assert!(placement.files[1].is_none());
        assert!(placement.files[2].as_ref().unwrap().is_ok());
        assert_eq!(placement.created_dirs, vec![dir.path().join("a")]);
    }

    #[test]
    fn a_blocked_directory_among_many_fails_only_its_own_files() {
        // Enough files for the parallel path: the directories are made by one thread while
        // the other writes files.
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("clusters")).unwrap();
        fs::write(dir.path().join("clusters/c07"), "a file").unwrap();
        let names: Vec<String> = (0..PARALLEL_MIN * 2)
            .map(|i| format!("clusters/c{:02}/f.yaml", i % PARALLEL_MIN))
            .collect();
        let writes: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
        let placement = place_files(dir.path(), &writes);
        assert_eq!(placement.dir_errors.len(), 1);
        let (first, error) = &placement.dir_errors[0];
        assert_eq!(
            (*first, error.to_string()),
            (7, "clusters/c07 is not a directory".into())
        );
        for (i, placed) in placement.files.iter().enumerate() {
            if i % PARALLEL_MIN == 7 {
                assert!(placed.is_none(), "{}", names[i]);
            } else {
                assert!(matches!(placed, Some(Ok(_))), "{}", names[i]);
            }
        }
        assert_eq!(placement.created_dirs.len(), PARALLEL_MIN - 1);
    }
}
