use crate::cli::SiteArgs;

use super::{load_and_render, CommandError};

pub fn run(
    args: &SiteArgs,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let (loaded, rendered) = load_and_render(args, err)?;
    let spec = &loaded.site.spec;
    let replications = spec.volsync.as_ref().map_or(0, |v| v.replications.len());
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
