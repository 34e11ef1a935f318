//! A tree of files: path -> bytes, as rendered, committed, bundled and read back.

use std::collections::BTreeMap;

/// Repository-relative path (with `/` separators) to file content.
pub type Tree = BTreeMap<String, Vec<u8>>;
