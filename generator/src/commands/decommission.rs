//! `hubdr decommission HUB`: check the status branch, edit the site, re-render, commit (the
//! steps of a [`GuardedEdit`]).

use std::path::Path;

use crate::cli::SiteArgs;
use crate::failover::decommission;

use super::site_edit::{bad, fetch_then, GuardedEdit};
use super::CommandError;

pub fn run(
    site: &SiteArgs,
    repo: &Path,
    hub: &str,
    status_branch: &str,
    author: &str,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let edit = GuardedEdit {
        site,
        repo,
        author,
        status_branch,
        verb: "hubdr decommission",
        markdown: false,
    };
    let (d, _) = edit.run(
        |site| {
            decommission::plan(site, hub)
                .map_err(|e| bad(&e, "name a fenced former primary (see spec.hubs)"))
        },
        |e| {
            bad(
                &format!("cannot decommission {hub}: {e}"),
                &fetch_then("decommission"),
            )
        },
        |d, _, statuses| {
            let missing = decommission::missing(d, statuses);
            if missing.is_empty() {
                return Ok(());
            }
            Err(CommandError::BadInput(format!(
                "error: cannot decommission {hub} yet, so nothing was changed; the status branch does not show:\n  {}\n  fix: wait until every managed cluster is Available and Joined on {} (`hubdr status`), and set spec.preserveOnDelete: true on every ClusterDeployment named; then run `hubdr decommission {hub}` again",
                missing.join("\n  "),
                d.active
            )))
        },
        |d, text, site| decommission::apply(text, site, d),
        out,
        err,
    )?;
    let _ = writeln!(
        out,
        "{hub} is decommissioned at generation {}: after the merge its agent deletes its BackupSchedules and detaches its ManagedClusters (never local-cluster); its storage location, DataProtectionApplication and bucket are left as they are.\nCommit {} and the render in a pull request.",
        d.generation,
        site.site.display()
    );
    Ok(())
}
