//! The live driver (real time, sockets); see `run`.
pub mod auditor;
pub mod http1;
pub mod journal;
mod lanes;
pub mod profile;
mod progress;
mod reactor;
pub mod run;
mod runbook;
mod shard;
pub mod target;
mod tasks;
pub mod timer;
pub mod transport;
