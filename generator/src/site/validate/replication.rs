//! The rules of `spec.volsync`: each replication's own fields, its destinations, and the names
//! and rendered objects that must be unique across replications.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use super::*;

impl Validator {
    /// The replications: each one's own rules in parallel (a fleet has thousands), then the
    /// names and rendered objects that must be unique across them, in order.
    pub(super) fn volsync(&mut self, spec: &SiteSpec, volsync: &VolSync) {
        use rayon::prelude::*;
        let clusters: HashSet<&str> = spec
            .managed_clusters
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        if let Some(channel) = &volsync.channel {
            self.non_empty("spec.volsync.channel", channel);
        }
        let checked: Vec<(Vec<Diagnostic>, RenderedBy<'_>)> = volsync
            .replications
            .par_iter()
            .enumerate()
            .with_min_len(64)
            .map(|(i, r)| {
                let mut own = Validator::default();
                let objects =
                    own.replication(&format!("spec.volsync.replications[{i}]"), r, &clusters);
                (own.out, objects)
            })
            .collect();
        let mut names = HashSet::new();
        let mut objects: HashMap<ObjectKey<'_>, String> = HashMap::new();
        for ((i, r), (diagnostics, keys)) in volsync.replications.iter().enumerate().zip(checked) {
            self.out.extend(diagnostics);
            if !names.insert(&r.name) {
                self.error(
                    format!("spec.volsync.replications[{i}].name"),
                    format!("replication {:?} is listed twice", r.name),
                    "give every replication a unique name",
                );
            }
            for (key, path) in keys {
                self.unique_object(&mut objects, key, &path);
            }
        }
    }

    /// The rules of one replication at `path`; returns the objects it renders, each with the
    /// field that makes it.
    pub(super) fn replication<'a>(
        &mut self,
        path: &str,
        r: &'a Replication,
        clusters: &HashSet<&str>,
    ) -> RenderedBy<'a> {
        let mut objects = Vec::new();
        self.label(format_args!("{path}.name"), &r.name);
        self.cron(format_args!("{path}.schedule"), &r.schedule);
        self.endpoint(
            &format!("{path}.source"),
            &r.source.cluster,
            &r.source.namespace,
            clusters,
        );
        self.subdomain(format_args!("{path}.source.pvc"), &r.source.pvc);
        self.copy_and_access(
            &format!("{path}.source"),
            r.source.copy_method.as_deref(),
            &r.source.access_modes,
        );
        let source_key = (
            r.source.cluster.as_str(),
            r.source.namespace.as_str(),
            "ReplicationSource",
            Cow::from(r.name.as_str()),
        );
        objects.push((source_key, format!("{path}.source")));
        match r.method {
            Method::RsyncTls | Method::Rsync => self.rsync_like(path, r),
            Method::Restic => self.restic(path, r),
            Method::Rclone => self.rclone(path, r),
        }
        for (dpath, d) in destinations(path, r) {
            self.endpoint(&dpath, &d.cluster, &d.namespace, clusters);
            self.copy_and_access(&dpath, d.copy_method.as_deref(), &d.access_modes);
            match &d.capacity {
                Some(c) => self.quantity(format_args!("{dpath}.capacity"), c),
                None => self.error(
                    format!("{dpath}.capacity"),
                    "the destination volume size is missing",
                    "set capacity to at least the source PVC's size, e.g. 10Gi",
                ),
            }
            if let Some(pvc) = &d.pvc {
                self.subdomain(format_args!("{dpath}.pvc.name"), &pvc.name);
            }
            let key = (
                d.cluster.as_str(),
                d.namespace.as_str(),
                "ReplicationDestination",
                Cow::from(r.name.as_str()),
            );
            objects.push((key, dpath));
        }
        if let Some(restore) = &r.restore {
            let rpath = format!("{path}.restore");
            self.endpoint(&rpath, &restore.cluster, &restore.namespace, clusters);
            self.subdomain(
                format_args!("{rpath}.destinationPVC"),
                &restore.destination_pvc,
            );
            let Some(run) = &restore.run else {
                return objects;
            };
            self.restore_run(format_args!("{rpath}.run"), run);
            let key = (
                restore.cluster.as_str(),
                restore.namespace.as_str(),
                "ReplicationDestination",
                Cow::from(format!("{}-restore", r.name)),
            );
            objects.push((key, rpath));
        }
        objects
    }

    /// Record that `path` renders the object `key`; an error when another field already does.
    pub(super) fn unique_object<'a>(
        &mut self,
        objects: &mut HashMap<ObjectKey<'a>, String>,
        key: ObjectKey<'a>,
        path: &str,
    ) {
        match objects.entry(key) {
            Entry::Vacant(entry) => {
                entry.insert(path.to_string());
            }
            Entry::Occupied(mut entry) => {
                let (cluster, namespace, kind, name) = entry.key();
                let description = format!("{kind} {namespace}/{name} on cluster {cluster}");
                let first = std::mem::replace(entry.get_mut(), path.to_string());
                self.error(
                    path,
                    format!("{description} would also be rendered by {first}"),
                    "rename one replication or use another namespace",
                );
            }
        }
    }

    pub(super) fn endpoint(
        &mut self,
        path: &str,
        cluster: &str,
        namespace: &str,
        clusters: &HashSet<&str>,
    ) {
        if !clusters.contains(cluster) {
            let mut known: Vec<&str> = clusters.iter().copied().collect();
            known.sort_unstable();
            self.error(
                format!("{path}.cluster"),
                format!("{cluster:?} is not a managed cluster of this site"),
                if known.is_empty() {
                    "add the cluster to spec.managedClusters".to_string()
                } else {
                    format!(
                        "use one of spec.managedClusters ({}) or add it there",
                        known.join(", ")
                    )
                },
            );
        }
        self.label(format_args!("{path}.namespace"), namespace);
    }

    pub(super) fn copy_and_access(
        &mut self,
        path: &str,
        copy_method: Option<&str>,
        access_modes: &[String],
    ) {
        if let Some(m) = copy_method {
            self.one_of(format_args!("{path}.copyMethod"), m, &COPY_METHODS);
        }
        for (i, mode) in access_modes.iter().enumerate() {
            self.one_of(format_args!("{path}.accessModes[{i}]"), mode, &ACCESS_MODES);
        }
    }

    pub(super) fn not_for_method(
        &mut self,
        path: &str,
        r: &Replication,
        field: &str,
        present: bool,
    ) {
        if present {
            self.error(
                format!("{path}.{field}"),
                format!("{field} does not apply to method {}", r.method.as_str()),
                "remove it, or change the method",
            );
        }
    }

    pub(super) fn rsync_like(&mut self, path: &str, r: &Replication) {
        let tls = r.method == Method::RsyncTls;
        self.not_for_method(path, r, "destinations", !r.destinations.is_empty());
        self.not_for_method(path, r, "repositorySecret", r.repository_secret.is_some());
        self.not_for_method(
            path,
            r,
            "pruneIntervalDays",
            r.prune_interval_days.is_some(),
        );
        self.not_for_method(path, r, "retain", r.retain.is_some());
        self.not_for_method(path, r, "restore", r.restore.is_some());
        self.not_for_method(path, r, "rclone", r.rclone.is_some());
        if tls {
            self.not_for_method(path, r, "sshKeysSecret", r.ssh_keys_secret.is_some());
            match &r.psk_secret {
                None => self.error(
                    format!("{path}.pskSecret"),
                    "rsync-tls needs a pre-shared key Secret referenced by name; keys are never stored in git",
                    "create a Secret with key psk.txt = <id>:<32+ hex digits> in both namespaces and set pskSecret to its name",
                ),
                Some(name) => self.subdomain(format_args!("{path}.pskSecret"), name),
            }
        } else {
            self.not_for_method(path, r, "pskSecret", r.psk_secret.is_some());
            match &r.ssh_keys_secret {
                None => self.error(
                    format!("{path}.sshKeysSecret"),
                    "rsync needs the ssh keys Secret on both clusters, referenced by name",
                    "create the keys Secret on both sides and set sshKeysSecret to its name",
                ),
                Some(name) => self.subdomain(format_args!("{path}.sshKeysSecret"), name),
            }
        }
        match &r.destination {
            None => self.error(
                format!("{path}.destination"),
                format!(
                    "method {} replicates to one destination, which is missing",
                    r.method.as_str()
                ),
                "add destination: {cluster, namespace, capacity}",
            ),
            Some(d) => {
                if let Some(t) = &d.service_type {
                    self.one_of(
                        format_args!("{path}.destination.serviceType"),
                        t,
                        &SERVICE_TYPES,
                    );
                }
                self.not_for_method(
                    &format!("{path}.destination"),
                    r,
                    "schedule",
                    d.schedule.is_some(),
                );
                self.not_for_method(
                    &format!("{path}.destination"),
                    r,
                    "scheduleOffsetMinutes",
                    d.schedule_offset_minutes.is_some(),
                );
                if d.cluster == r.source.cluster
                    && d.namespace == r.source.namespace
                    && d.pvc.as_ref().is_some_and(|p| p.name == r.source.pvc)
                {
                    self.error(
                        format!("{path}.destination.pvc.name"),
                        "the replica PVC would replace the source PVC",
                        "give the replica PVC another name",
                    );
                }
            }
        }
    }

    pub(super) fn restic(&mut self, path: &str, r: &Replication) {
        self.not_for_method(path, r, "destination", r.destination.is_some());
        self.not_for_method(path, r, "destinations", !r.destinations.is_empty());
        self.not_for_method(path, r, "pskSecret", r.psk_secret.is_some());
        self.not_for_method(path, r, "sshKeysSecret", r.ssh_keys_secret.is_some());
        self.not_for_method(path, r, "rclone", r.rclone.is_some());
        match &r.repository_secret {
            None => self.error(
                format!("{path}.repositorySecret"),
                "restic needs the restic-config Secret (RESTIC_REPOSITORY, RESTIC_PASSWORD, credentials)",
                "create it in the source namespace and set repositorySecret to its name",
            ),
            Some(name) => self.subdomain(format_args!("{path}.repositorySecret"), name),
        }
        if let Some(days) = r.prune_interval_days {
            if days < 1 {
                self.error(
                    format!("{path}.pruneIntervalDays"),
                    "must be at least 1",
                    "use a number of days such as 14",
                );
            }
        }
        if let Some(retain) = &r.retain {
            for (name, value) in [
                ("hourly", retain.hourly),
                ("daily", retain.daily),
                ("weekly", retain.weekly),
                ("monthly", retain.monthly),
                ("yearly", retain.yearly),
            ] {
                if value.is_some_and(|v| v < 0) {
                    self.error(
                        format!("{path}.retain.{name}"),
                        "must not be negative",
                        "use 0 or more",
                    );
                }
            }
            if let Some(within) = &retain.within {
                self.duration(format_args!("{path}.retain.within"), within);
            }
        }
    }

    pub(super) fn rclone(&mut self, path: &str, r: &Replication) {
        self.not_for_method(path, r, "destination", r.destination.is_some());
        self.not_for_method(path, r, "pskSecret", r.psk_secret.is_some());
        self.not_for_method(path, r, "sshKeysSecret", r.ssh_keys_secret.is_some());
        self.not_for_method(path, r, "repositorySecret", r.repository_secret.is_some());
        self.not_for_method(
            path,
            r,
            "pruneIntervalDays",
            r.prune_interval_days.is_some(),
        );
        self.not_for_method(path, r, "retain", r.retain.is_some());
        self.not_for_method(path, r, "restore", r.restore.is_some());
        match &r.rclone {
            None => self.error(
                format!("{path}.rclone"),
                "rclone needs the intermediate bucket settings",
                "add rclone: {configSection, destPath, configSecret}",
            ),
            Some(c) => {
                self.non_empty(
                    format_args!("{path}.rclone.configSection"),
                    &c.config_section,
                );
                self.non_empty(format_args!("{path}.rclone.destPath"), &c.dest_path);
                self.subdomain(format_args!("{path}.rclone.configSecret"), &c.config_secret);
            }
        }
        if r.destinations.is_empty() {
            self.error(
                format!("{path}.destinations"),
                "rclone copies through the intermediate bucket to one or more destinations; none is listed",
                "add destinations: [{cluster, namespace, capacity}]",
            );
        }
        for (i, d) in r.destinations.iter().enumerate() {
            let dpath = format!("{path}.destinations[{i}]");
            if let Some(t) = &d.service_type {
                self.error(
                    format!("{dpath}.serviceType"),
                    format!("serviceType {t:?} does not apply to rclone"),
                    "remove it",
                );
            }
            if d.address.is_some() {
                self.error(
                    format!("{dpath}.address"),
                    "address does not apply to rclone",
                    "remove it",
                );
            }
            match (&d.schedule, d.schedule_offset_minutes) {
                (Some(_), Some(_)) => self.error(
                    format!("{dpath}.schedule"),
                    "both schedule and scheduleOffsetMinutes are set",
                    "keep one: an explicit schedule or an offset from the source schedule",
                ),
                (Some(s), None) => {
                    self.cron(format_args!("{dpath}.schedule"), s);
                    if s.trim() == r.schedule.trim() {
                        self.error(
                            format!("{dpath}.schedule"),
                            "the destination runs at the same time as the source, before the copy to the bucket has finished",
                            "offset it from the source schedule (e.g. source */6, destination 3,9,15,...), or use scheduleOffsetMinutes",
                        );
                    }
                }
                (None, offset) => {
                    if let Err(message) =
                        crate::site::schedule_offset::rclone_offset_schedule(&r.schedule, offset)
                    {
                        self.error(
                            format!("{dpath}.schedule"),
                            message,
                            "set an explicit destination schedule offset from the source's",
                        );
                    }
                }
            }
        }
    }
}
