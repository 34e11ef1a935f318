//! [`OutputRepo::discard_edits`]: `render --force` putting hand-edited files back to their
//! rendered content, journaled like a commit (see `recover`).

use std::fs;

use git2::ObjectType;

use super::paths::validate_path;
use super::recover::remove_if_there;
use super::{checkout, journal, trees, GitRepoError, OutputRepo, Tree};

impl OutputRepo {
    /// Put the working-tree files named in `edited` (uncommitted changes under the managed
    /// paths) back to what `desired` renders there, or remove those `desired` does not have,
    /// journaled like [`commit`](Self::commit) so that an interrupted call is recovered. For
    /// `--force`, before the commit writes the rest.
    pub fn discard_edits(&self, desired: &Tree, edited: &[String]) -> Result<(), GitRepoError> {
        if edited.is_empty() {
            return Ok(());
        }
        for path in edited {
            validate_path(path)?;
        }
        let git_dir = self.repo.path();
        let journal_path = journal::path(git_dir);
        if journal_path.exists() {
            return Err(GitRepoError::Interrupted { path: journal_path });
        }
        let record = journal::Journal {
            base: self.head_commit()?,
            tree: None,
            entries: edited
                .iter()
                .map(|path| journal::Entry {
                    path: path.clone(),
                    new: desired.get(path).map(|bytes| {
                        (
                            trees::object_id(ObjectType::Blob, bytes),
                            bytes.len() as u64,
                        )
                    }),
                })
                .collect(),
        };
        journal::write(git_dir, &record).map_err(|source| GitRepoError::WriteJournal {
            path: journal_path,
            source,
        })?;
        for path in edited {
            let target = self.workdir.join(path);
            let written = match desired.get(path) {
                Some(bytes) => target
                    .parent()
                    .map_or(Ok(()), fs::create_dir_all)
                    .and_then(|()| checkout::write_atomic(&target, bytes)),
                None => remove_if_there(&target).map(|_| ()),
            };
            // The journal stays: the next render puts back what was done so far.
            written.map_err(|source| GitRepoError::Write {
                path: path.clone(),
                source,
            })?;
        }
        let _ = journal::remove(git_dir);
        Ok(())
    }
}
