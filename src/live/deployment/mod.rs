//! The deployment a run rehearses against, as one value ([`target::Target`]): the in-process
//! model, or a deployment over HTTP whose API is the bundled contract or a target profile
//! ([`api`], [`profile`], with a profile's books in [`profile_books`]), at a [`base`]
//! address. Through it the run checks the target before the load, sets its clock, and reads
//! its ledger and books at the end; the sending threads reach it through their transports.
//! A deployment that does not follow the run's clock is switched through its maintenance
//! [`switch`] at each phase start.

pub(crate) mod api;
pub(crate) mod base;
pub mod profile;
mod profile_books;
pub(crate) mod switch;
pub mod target;
pub mod values;
pub(crate) mod why;
