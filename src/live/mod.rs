//! The live driver (real time, sockets); see `run`.
mod auditor;
mod http1;
mod journal;
mod lanes;
mod metrics;
pub mod profile;
mod profile_books;
mod progress;
mod reactor;
mod rollback;
pub mod run;
mod runbook;
mod shard;
pub mod target;
mod tasks;
mod timer;
mod transport;
