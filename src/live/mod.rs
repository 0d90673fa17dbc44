//! The live driver (real time, sockets), in three rooms: the coordinator here (`run`: the
//! set-up, the sending threads started and watched, hooks, a rollback's decision, progress,
//! metrics, the reconciliation at the end); the sending [`thread`] and its transport; the
//! [`deployment`] it sends to.
mod abort;
pub mod account;
pub mod deployment;
mod findings;
pub mod finish;
mod leftovers;
mod merged;
mod metrics;
mod pace;
mod progress;
mod rollback;
pub mod run;
mod runbook;
mod shared;
mod sizing;
mod switching;
pub mod thread;
