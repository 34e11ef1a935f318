//! Every size, depth and work limit on what hubdr and hubdr-agent read, in one place (README.md
//! "Limits" lists them for operators). Each is checked before the input is parsed, and where
//! possible before it is read whole: a hostile input is refused with an error that names it,
//! the limit and the fix, never by running out of memory or time.

/// Nesting of YAML collections (block and flow together). Kubernetes objects and site files
/// nest a dozen levels; YAML parsers spend time in proportion to the nesting on every token, so
/// deeper documents are refused before they are parsed (`yaml_guard`).
pub const YAML_MAX_DEPTH: usize = 64;

/// The site file. Checked from the file's size and again while reading, so a file that grows
/// meanwhile is capped too. A fleet of 5,000 clusters and 5,000 replications is 2.0 MiB.
pub const SITE_FILE_MAX_BYTES: u64 = 16 << 20;

/// One rendered object's file. etcd refuses objects over about 1.5 MiB (Kubernetes'
/// `--max-request-bytes`); hubdr refuses at render time rather than on every cluster.
pub const OBJECT_MAX_BYTES: usize = 1 << 20;

/// What one template may write for one object, before it is parsed (comments and blank lines
/// included, hence above [`OBJECT_MAX_BYTES`]). The writer stops the template when it is
/// reached, so a runaway loop does not fill memory first.
pub const TEMPLATE_OUTPUT_MAX_BYTES: usize = 2 << 20;

/// minijinja instructions one template render may run (its fuel), which bounds its time. The
/// embedded templates run about a hundred per object, and the ApplicationSet about ten per
/// cluster (whose size limit is reached first, at some 20,000 clusters); the rest is room for
/// `--templates` overrides. An endless loop is stopped instead of running forever.
pub const TEMPLATE_FUEL: u64 = 5_000_000;

/// An object the agent reads from the API server (its inventory ConfigMap): etcd stores at
/// most about 1.5 MiB.
pub const API_OBJECT_MAX_BYTES: u64 = 2 << 20;

/// One file of a cluster directory, read by the agent: checked from the git object's header
/// before the blob is loaded. Above [`OBJECT_MAX_BYTES`] for the cluster's kustomization.yaml,
/// which lists every object of a large hub.
pub const REPO_FILE_MAX_BYTES: u64 = 2 << 20;

/// All files of one cluster directory together (the active hub of a 5,000-cluster fleet has
/// 2.3 MiB in 5,004 files).
pub const CLUSTER_DIR_MAX_BYTES: u64 = 32 << 20;

/// `.hubdr/index.yaml`, which lists every rendered file (6.4 MiB for a 5,000-cluster fleet).
pub const INDEX_MAX_BYTES: u64 = 32 << 20;

/// Another cluster's status file on the status branch (a hub managing 5,000 clusters lists
/// about 5,000 objects in it: half a MiB).
pub const STATUS_FILE_MAX_BYTES: u64 = 4 << 20;

/// `n` bytes for messages: `16 MiB`, `1.5 MiB`, `512 KiB`, `123 bytes`.
pub fn bytes_text(n: u64) -> String {
    const KIB: u64 = 1 << 10;
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    let scaled = |unit: u64, name: &str| {
        let tenths = (n * 10 + unit / 2) / unit;
        if tenths.is_multiple_of(10) {
            format!("{} {name}", tenths / 10)
        } else {
            format!("{}.{} {name}", tenths / 10, tenths % 10)
        }
    };
    match n {
        n if n >= GIB => scaled(GIB, "GiB"),
        n if n >= MIB => scaled(MIB, "MiB"),
        n if n >= KIB => scaled(KIB, "KiB"),
        1 => "1 byte".into(),
        n => format!("{n} bytes"),
    }
}

/// A measured size for messages: [`bytes_text`], with the exact count when that rounds it.
pub fn size_text(n: u64) -> String {
    let text = bytes_text(n);
    if text.ends_with("byte") || text.ends_with("bytes") {
        text
    } else {
        format!("{text} ({n} bytes)")
    }
}

/// A read of at most `limit` bytes from `reader`: `Ok(None)` when there are more (without
/// reading past `limit + 1`), so a file that is larger than its metadata said, or grows while
/// it is read, is refused too.
pub fn read_at_most(reader: impl std::io::Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(bytes_text(SITE_FILE_MAX_BYTES), "16 MiB");
        assert_eq!(bytes_text(OBJECT_MAX_BYTES as u64), "1 MiB");
        assert_eq!(bytes_text(3 << 19), "1.5 MiB");
        assert_eq!(bytes_text(52_428_800), "50 MiB");
        assert_eq!(bytes_text(1500), "1.5 KiB");
        assert_eq!(bytes_text(1), "1 byte");
        assert_eq!(bytes_text(1000), "1000 bytes");
        assert_eq!(bytes_text(5 << 30), "5 GiB");
        assert_eq!(size_text(17_000_000), "16.2 MiB (17000000 bytes)");
        assert_eq!(size_text(12), "12 bytes");
    }

    #[test]
    fn a_bounded_read_refuses_one_byte_more() {
        assert_eq!(
            read_at_most(&b"abcd"[..], 4).unwrap(),
            Some(b"abcd".to_vec())
        );
        assert_eq!(read_at_most(&b"abcde"[..], 4).unwrap(), None);
        // An endless reader is read only up to the limit.
        assert_eq!(read_at_most(std::io::repeat(b'x'), 1000).unwrap(), None);
    }
}
