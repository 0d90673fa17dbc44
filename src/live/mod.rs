//! The live driver (real time, sockets); see `run`.
pub mod auditor;
pub mod clock;
pub mod http1;
pub mod journal;
pub mod profile;
mod reactor;
pub mod report;
pub mod run;
mod shard;
pub mod timer;
pub mod transport;
