//! hubdr-agent: pulls the rendered repository, applies this cluster's directory, reports status.
pub mod apply;
pub mod bind;
pub mod changeset;
pub mod cli;
pub mod config;
pub mod desired;
pub mod fence;
pub mod gates;
pub mod git;
pub mod health;
pub mod inbox;
pub mod inventory;
pub mod kubeapi;
<<<<<<< HEAD
pub mod memory;
=======
pub mod logging;
>>>>>>> t-creds
pub mod observe;
pub mod offline;
pub mod order;
pub mod prune;
pub mod reconcile;
pub mod report;
pub mod runner;
pub mod start;
pub mod watch;
