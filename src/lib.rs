//! `cutover`: rehearse a payment-system cutover before it happens.
//!
//! Data path: scenario file → [`scenario::Spec`] → [`population::Population`]
//! (lazy, per-payer streams) → [`demand`] (first attempts and the per-payer
//! state machine) → [`engine`] (virtual time, queues) → [`target::VirtualTarget`]
//! (the reference [`model`]) → [`report`]. See ARCHITECTURE.md.

pub mod cli;
pub mod clock;
pub(crate) mod cohort;
pub mod commands;
pub mod compare;
pub mod contract;
pub(crate) mod demand;
pub(crate) mod dist;
pub mod engine;
pub(crate) mod hash;
pub mod live;
pub(crate) mod metrics;
pub mod migrate;
pub mod model;
pub mod population;
pub mod report;
pub(crate) mod rng;
pub mod scenario;
pub mod secrets;
pub mod server;
pub mod sweep;
pub(crate) mod target;
pub mod time;
pub(crate) mod vocabulary;
