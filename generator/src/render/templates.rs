//! The minijinja templates: embedded in the binary, each overridable from `--templates DIR`.

use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior};
use sha2::{Digest, Sha256};

use crate::limits::{bytes_text, TEMPLATE_FUEL, TEMPLATE_OUTPUT_MAX_BYTES};
use crate::site::load::hex;

/// Every template the renderer uses, with its embedded text.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "applicationset.yaml.j2",
        include_str!("../../../templates/applicationset.yaml.j2"),
    ),
    (
        "backupschedule.yaml.j2",
        include_str!("../../../templates/backupschedule.yaml.j2"),
    ),
    (
        "dataprotectionapplication.yaml.j2",
        include_str!("../../../templates/dataprotectionapplication.yaml.j2"),
    ),
    (
        "etcd-cronjob.yaml.j2",
        include_str!("../../../templates/etcd-cronjob.yaml.j2"),
    ),
    (
        "etcd-namespace.yaml.j2",
        include_str!("../../../templates/etcd-namespace.yaml.j2"),
    ),
    (
        "etcd-rolebinding.yaml.j2",
        include_str!("../../../templates/etcd-rolebinding.yaml.j2"),
    ),
    (
        "etcd-serviceaccount.yaml.j2",
        include_str!("../../../templates/etcd-serviceaccount.yaml.j2"),
    ),
    (
        "hostedcluster.yaml.j2",
        include_str!("../../../templates/hostedcluster.yaml.j2"),
    ),
    (
        "managedclusteraddon.yaml.j2",
        include_str!("../../../templates/managedclusteraddon.yaml.j2"),
    ),
    (
        "multiclusterhub.yaml.j2",
        include_str!("../../../templates/multiclusterhub.yaml.j2"),
    ),
    (
        "multiclusterengine.yaml.j2",
        include_str!("../../../templates/multiclusterengine.yaml.j2"),
    ),
    (
        "namespace.yaml.j2",
        include_str!("../../../templates/namespace.yaml.j2"),
    ),
    (
        "persistentvolumeclaim.yaml.j2",
        include_str!("../../../templates/persistentvolumeclaim.yaml.j2"),
    ),
    (
        "replicationdestination.yaml.j2",
        include_str!("../../../templates/replicationdestination.yaml.j2"),
    ),
    (
        "replicationsource.yaml.j2",
        include_str!("../../../templates/replicationsource.yaml.j2"),
    ),
    (
        "restore.yaml.j2",
        include_str!("../../../templates/restore.yaml.j2"),
    ),
    (
        "velero-schedule.yaml.j2",
        include_str!("../../../templates/velero-schedule.yaml.j2"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read template {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a template hubdr uses; the known templates are: {known}")]
    Unknown { path: PathBuf, known: String },
    #[error("template {name} does not compile: {message}")]
    Compile { name: String, message: String },
}

/// The loaded, compiled templates.
pub struct Templates {
    env: Environment<'static>,
    /// `embedded` or `sha256:<hex>` over every template's name and text.
    pub digest: String,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("digest", &self.digest)
            .finish()
    }
}

impl Templates {
    pub fn embedded() -> Self {
        Self::build(
            EMBEDDED
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect(),
            false,
        )
        .expect("embedded templates compile (checked by tests)")
    }

    /// Embedded templates, with each file of `dir` that has a known name replacing its twin.
    pub fn with_overrides(dir: &Path) -> Result<Self, TemplateError> {
        let entries = std::fs::read_dir(dir).map_err(|source| TemplateError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut sources: Vec<(String, String)> = EMBEDDED
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        for entry in entries {
            let entry = entry.map_err(|source| TemplateError::Read {
                path: dir.to_path_buf(),
                source,
            })?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            let Some(slot) = sources.iter_mut().find(|(n, _)| *n == name) else {
                return Err(TemplateError::Unknown {
                    path,
                    known: EMBEDDED
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            slot.1 = std::fs::read_to_string(&path).map_err(|source| TemplateError::Read {
                path: path.clone(),
                source,
            })?;
        }
        Self::build(sources, true)
    }

    fn build(sources: Vec<(String, String)>, overridden: bool) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(TEMPLATE_FUEL));
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(true);
        let mut hasher = Sha256::new();
        for (name, text) in sources {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            hasher.update([0]);
            env.add_template_owned(name.clone(), text)
                .map_err(|e| TemplateError::Compile {
                    name,
                    message: format!("{e:#}"),
                })?;
        }
        let digest = if overridden {
            format!("sha256:{}", hex(&hasher.finalize()))
        } else {
            "embedded".to_string()
        };
        Ok(Self { env, digest })
    }

    /// Render `name` with `context`; errors name the template and line. A render stops when
    /// it has written [`TEMPLATE_OUTPUT_MAX_BYTES`] or run out of its fuel
    /// ([`TEMPLATE_FUEL`] instructions).
    pub fn render(&self, name: &str, context: &serde_json::Value) -> Result<String, String> {
        let template = self.env.get_template(name).map_err(|e| format!("{e:#}"))?;
        let mut output = Bounded {
            bytes: Vec::with_capacity(2048),
            over: false,
        };
        let rendered = template.render_captured_to(context, &mut output);
        if output.over {
            return Err(format!(
                "{name} wrote more than {} for one object, the limit for a template's output; \
                 a loop in it runs over far more items than the site has, or repeats a large value",
                bytes_text(TEMPLATE_OUTPUT_MAX_BYTES as u64)
            ));
        }
        rendered.map_err(|e| {
            let mut message = if e.kind() == minijinja::ErrorKind::OutOfFuel {
                format!(
                    "it ran more than {TEMPLATE_FUEL} instructions for one object, the limit for \
                     a template's work; a loop in it does not end, or runs over far more items \
                     than the site has"
                )
            } else {
                format!("{e:#}")
            };
            if let Some(line) = e.line() {
                message = format!("{name}:{line}: {message}");
            }
            message
        })?;
        String::from_utf8(output.bytes).map_err(|e| format!("{name} wrote invalid UTF-8: {e}"))
    }
}

/// A template's output, refused past [`TEMPLATE_OUTPUT_MAX_BYTES`]. minijinja writes whole
/// strings, so what was accepted is always UTF-8.
struct Bounded {
    bytes: Vec<u8>,
    over: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > TEMPLATE_OUTPUT_MAX_BYTES {
            self.over = true;
            return Err(std::io::Error::other("the template output limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
