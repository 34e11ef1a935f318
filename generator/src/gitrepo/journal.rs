//! The render journal, `.git/hubdr-render-journal`: what a render is about to change in the
//! working tree, written before it changes anything and deleted when it is done, so that the
//! next render can tell an interrupted render's leftovers from hand edits (see `recover`).
//!
//! ```text
//! hubdr-render-journal 1
//! base 3f1c...            the commit HEAD pointed to (`-`: none yet)
//! tree 9a0b...            the tree of the commit being made (`-`: no commit, files only)
//! w 5e2d... 1532 clusters/east-1/backupschedule.acm.yaml
//! d - - clusters/old/restore.acm.yaml
//! ```
//!
//! One line per path: `w <blob id> <size> <path>` for a file being written with that content,
//! `d - - <path>` for one being removed. The path is the rest of the line, with a newline written
//! as `\n` (rendered paths never hold a backslash). The previous content of every path is the
//! `base` commit's. The file is written under a temporary name, fsynced and renamed, so it is
//! either whole or absent; a journal that does not parse is refused, never guessed at.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use git2::Oid;

/// The journal's file name in the git directory.
pub const FILE_NAME: &str = "hubdr-render-journal";
const HEADER: &str = "hubdr-render-journal 1";
/// A journal is read up to this size (a fleet's journal is a few MiB).
const MAX_BYTES: u64 = 256 << 20;

/// What a render is about to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Journal {
    pub base: Option<Oid>,
    pub tree: Option<Oid>,
    pub entries: Vec<Entry>,
}

/// One path and what the render puts there: `Some((blob id, size))`, or `None` (removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub path: String,
    pub new: Option<(Oid, u64)>,
}

pub(super) fn path(git_dir: &Path) -> PathBuf {
    git_dir.join(FILE_NAME)
}

impl Journal {
    pub fn encode(&self) -> Vec<u8> {
        let id = |id: Option<Oid>| id.map_or("-".to_string(), |id| id.to_string());
        let mut out = Vec::with_capacity(64 + self.entries.len() * 110);
        out.extend_from_slice(
            format!("{HEADER}\nbase {}\ntree {}\n", id(self.base), id(self.tree)).as_bytes(),
        );
        for entry in &self.entries {
            match entry.new {
                Some((id, size)) => {
                    out.extend_from_slice(format!("w {id} {size} ").as_bytes());
                }
                None => out.extend_from_slice(b"d - - "),
            }
            for b in entry.path.bytes() {
                if b == b'\n' {
                    out.extend_from_slice(b"\\n");
                } else {
                    out.push(b);
                }
            }
            out.push(b'\n');
        }
        out
    }

    /// Parse a journal; the error names the line and what is wrong with it.
    pub fn parse(bytes: &[u8]) -> Result<Journal, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())?;
        let mut lines = text.split_terminator('\n').enumerate();
        let mut next = |what: &str| {
            lines
                .next()
                .ok_or_else(|| format!("it ends before its {what} line"))
        };
        let (_, header) = next("header")?;
        if header != HEADER {
            return Err(format!("line 1 is {header:?}, not {HEADER:?}"));
        }
        let base = header_id(next("base")?, "base")?;
        let tree = header_id(next("tree")?, "tree")?;
        let mut entries = Vec::new();
        for (i, line) in lines {
            let bad = |what: &str| format!("line {}: {what}: {line:?}", i + 1);
            let mut fields = line.splitn(4, ' ');
            let (Some(op), Some(id), Some(size), Some(path)) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(bad("expected `w <id> <size> <path>` or `d - - <path>`"));
            };
            let new = match (op, id, size) {
                ("w", id, size) => {
                    let id = Oid::from_str(id)
                        .ok()
                        .filter(|_| id.len() == 40)
                        .ok_or_else(|| bad("not a blob id"))?;
                    let size = size.parse().map_err(|_| bad("not a size"))?;
                    Some((id, size))
                }
                ("d", "-", "-") => None,
                _ => return Err(bad("expected `w <id> <size> <path>` or `d - - <path>`")),
            };
            if path.contains('\\') && path.replace("\\n", "").contains('\\') {
                return Err(bad("a backslash that is not `\\n` in the path"));
            }
            entries.push(Entry {
                path: path.replace("\\n", "\n"),
                new,
            });
        }
        Ok(Journal {
            base,
            tree,
            entries,
        })
    }
}

fn header_id((i, line): (usize, &str), name: &str) -> Result<Option<Oid>, String> {
    let value = line
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix(' '))
        .ok_or_else(|| format!("line {} is {line:?}, not `{name} <commit id>`", i + 1))?;
    if value == "-" {
        return Ok(None);
    }
    Oid::from_str(value)
        .ok()
        .filter(|_| value.len() == 40)
        .map(Some)
        .ok_or_else(|| format!("line {}: {value:?} is not an object id", i + 1))
}

/// Write the journal durably: a temporary file, fsynced, renamed, and the directory fsynced.
pub(super) fn write(git_dir: &Path, journal: &Journal) -> io::Result<()> {
    let target = path(git_dir);
    let tmp = git_dir.join(format!("{FILE_NAME}.tmp"));
    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        file.write_all(&journal.encode())?;
        file.sync_all()?;
        fs::rename(&tmp, &target)?;
        super::fsync::sync_dir(git_dir)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// The journal in `git_dir`: `Ok(None)` when there is none; an error message when it cannot be
/// read or does not parse.
pub(super) fn read(git_dir: &Path) -> Result<Option<Journal>, String> {
    let file = match fs::File::open(path(git_dir)) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("it cannot be read: {e}")),
    };
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("it cannot be read: {e}"))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!("it is larger than {} MiB", MAX_BYTES >> 20));
    }
    Journal::parse(&bytes).map(Some)
}

/// Delete the journal (and a temporary file left by a write that was interrupted).
pub(super) fn remove(git_dir: &Path) -> io::Result<()> {
    let _ = fs::remove_file(git_dir.join(format!("{FILE_NAME}.tmp")));
    match fs::remove_file(path(git_dir)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(n: u8) -> Oid {
        Oid::from_bytes(&[n; 20]).unwrap()
    }

    #[test]
    fn a_journal_reads_back_as_written() {
        let journal = Journal {
            base: Some(oid(1)),
            tree: None,
            entries: vec![
                Entry {
                    path: "clusters/a/x.yaml".into(),
                    new: Some((oid(2), 1532)),
                },
                Entry {
                    path: "clusters/b/with space\nand newline.yaml".into(),
                    new: None,
                },
            ],
        };
        let bytes = journal.encode();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(
            text,
            format!(
                "hubdr-render-journal 1\nbase {}\ntree -\nw {} 1532 clusters/a/x.yaml\nd - - clusters/b/with space\\nand newline.yaml\n",
                oid(1),
                oid(2)
            )
        );
        assert_eq!(Journal::parse(&bytes).unwrap(), journal);
        let empty = Journal {
            base: None,
            tree: Some(oid(3)),
            entries: Vec::new(),
        };
        assert_eq!(Journal::parse(&empty.encode()).unwrap(), empty);
    }

    #[test]
    fn a_bad_journal_is_refused_naming_the_line() {
        let head = format!("hubdr-render-journal 1\nbase -\ntree {}\n", oid(1));
        for (text, expected) in [
            ("".to_string(), "it ends before its header line"),
            ("hubdr-render-journal 2\n".into(), "line 1 is"),
            (
                "hubdr-render-journal 1\n".into(),
                "it ends before its base line",
            ),
            (
                "hubdr-render-journal 1\nbose -\n".into(),
                "line 2 is \"bose -\"",
            ),
            (
                "hubdr-render-journal 1\nbase 12\n".into(),
                "line 2: \"12\" is not an object id",
            ),
            (format!("{head}w abc 1 a\n"), "line 4: not a blob id"),
            (format!("{head}w {} -1 a\n", oid(2)), "line 4: not a size"),
            (format!("{head}x - - a\n"), "line 4: expected"),
            (format!("{head}d - -\n"), "line 4: expected"),
            (format!("{head}d - - a\\b\n"), "line 4: a backslash"),
        ] {
            let err = Journal::parse(text.as_bytes()).unwrap_err();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
        assert!(Journal::parse(b"\xff").unwrap_err().contains("not UTF-8"));
    }

    #[test]
    fn write_read_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()), Ok(None));
        let journal = Journal {
            base: None,
            tree: Some(oid(7)),
            entries: vec![Entry {
                path: "a/b".into(),
                new: Some((oid(8), 3)),
            }],
        };
        write(dir.path(), &journal).unwrap();
        assert_eq!(read(dir.path()), Ok(Some(journal)));
        remove(dir.path()).unwrap();
        assert_eq!(read(dir.path()), Ok(None));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        remove(dir.path()).unwrap();
    }
}
