//! The harness of the fixture-file tests (attacks, size attacks, credential attacks, bad and
//! warning sites): one test per file from a list, the check that the list and the files on disk
//! agree, and the `# key: value` header every fixture starts with.

use std::path::Path;

/// `fixture_tests!(check, LIST; test_name => "file-stem", ...)`: one `#[test]` per file calling
/// `check("file-stem")`, and `const LIST: &[&str]` with every file stem.
#[macro_export]
macro_rules! fixture_tests {
    ($check:ident, $list:ident; $($test:ident => $file:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                $check($file);
            }
        )*
        const $list: &[&str] = &[$($file),*];
    };
}

/// The header lines `# <key>: <value>` of a fixture (the `#` lines at its top), as
/// `(key, value)` in order.
pub fn header(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("# ")?.split_once(": "))
        .collect()
}

/// The value of an `# expect: <field path> @ <line>` header line.
pub fn expect_at(value: &str, file: &str) -> (String, usize) {
    let (path, line) = value
        .rsplit_once(" @ ")
        .unwrap_or_else(|| panic!("{file}: `# expect: <path> @ <line>`"));
    let line = line
        .parse()
        .unwrap_or_else(|_| panic!("{file}: `# expect: <path> @ <line>`: {line:?} is no line"));
    (path.to_string(), line)
}

/// The `.yaml` files in `dir` whose stem `keep` selects are exactly `listed`.
pub fn assert_listed(dir: &Path, keep: impl Fn(&str) -> bool, listed: &[&str], list_macro: &str) {
    let on_disk: Vec<String> = super::yaml_stems(dir)
        .into_iter()
        .filter(|s| keep(s))
        .collect();
    let mut listed: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "add the new file to the {list_macro} list");
}
