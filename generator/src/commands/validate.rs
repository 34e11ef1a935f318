use crate::cli::{OutputFormat, SiteArgs};

use super::{load_and_render, CommandError};

pub fn run(
    args: &SiteArgs,
    output: OutputFormat,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let (loaded, rendered) = load_and_render(args, err)?;
    let spec = &loaded.site.spec;
    let replications = spec.volsync.as_ref().map_or(0, |v| v.replications.len());
    if output == OutputFormat::Json {
        let file = args.site.display().to_string();
        let warnings: Vec<String> = loaded
            .warnings
            .iter()
            .map(|w| w.in_file(&file).to_string())
            .collect();
        super::json::print(
            out,
            "ValidateResult",
            serde_json::json!({
                "site": file,
                "valid": true,
                "hubs": spec.hubs.len(),
                "managedClusters": spec.managed_clusters.len(),
                "replications": replications,
                "objects": rendered.objects.len(),
                "warnings": warnings,
            }),
        );
        return Ok(());
    }
    let _ = writeln!(
        out,
        "{} is valid: {} hub(s), {} managed cluster(s), {} replication(s), {} object(s) to render, {} warning(s)",
        args.site.display(),
        spec.hubs.len(),
        spec.managed_clusters.len(),
        replications,
        rendered.objects.len(),
        loaded.warnings.len()
    );
    Ok(())
}
