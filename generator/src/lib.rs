//! hubdr: render an ACM hub disaster-recovery site into a GitOps repository.
pub mod bundle;
pub mod changes;
pub mod cli;
pub mod commands;
pub mod failover;
pub mod fsutil;
pub mod gates;
pub mod gitrepo;
pub mod index;
pub mod par;
pub mod render;
pub mod site;
pub mod stamp;
pub mod status;
pub mod transition;
pub mod yaml;
pub mod yaml_subset;
