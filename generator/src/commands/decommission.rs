//! `hubdr decommission HUB`: check the status branch, edit the site, re-render, commit.

use std::path::Path;

use crate::cli::SiteArgs;
use crate::failover::decommission;

use super::failover::{bad, ensure_no_drift, SequencedEdit};
use super::render::{lock_repository, parse_author};
use super::{load_and_render, CommandError};

pub fn run(
    site: &SiteArgs,
    repo: &Path,
    hub: &str,
    status_branch: &str,
    author: &str,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let author = parse_author(author)?;
    let lock = lock_repository(repo, "hubdr decommission", err)?;
    let (before, previous) = load_and_render(site, err)?;
    let d = decommission::plan(&before.site, hub)
        .map_err(|e| bad(&e, "name a fenced former primary (see spec.hubs)"))?;
    let statuses = super::status::read_status_branch(repo, status_branch).map_err(|e| {
        bad(
            &format!("cannot decommission {hub}: {e}"),
            "fetch the status branch the agents report to, then decommission",
        )
    })?;
    let missing = decommission::missing(&d, &statuses);
    if !missing.is_empty() {
        return Err(CommandError::BadInput(format!(
            "error: cannot decommission {hub} yet, so nothing was changed; the status branch does not show:\n  {}\n  fix: wait until every managed cluster is Available and Joined on {} (`hubdr status`), and set spec.preserveOnDelete: true on every ClusterDeployment named; then run `hubdr decommission {hub}` again",
            missing.join("\n  "),
            d.active
        )));
    }
    ensure_no_drift(repo, &previous.tree)?;
    let text = decommission::apply(&before.text, &before.site, &d)
        .map_err(|e| bad(&e, "edit the site file by hand"))?;
    SequencedEdit {
        site,
        repo,
        author: (&author.0, &author.1),
        verb: "hubdr decommission",
        markdown: false,
        previous: &previous,
        lock: &lock,
    }
    .commit(&text, out, err)?;
    let _ = writeln!(
        out,
        "{hub} is decommissioned at generation {}: after the merge its agent deletes its BackupSchedules and detaches its ManagedClusters (never local-cluster); its storage location, DataProtectionApplication and bucket are left as they are.\nCommit {} and the render in a pull request.",
        d.generation,
        site.site.display()
    );
    Ok(())
}
