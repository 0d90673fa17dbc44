//! A list the report keeps the first entries of, counting all: lost payments, double
//! charges, the migration's and the registrations' differences.

use serde::Serialize;

/// Entries kept in each list of the report (the counts are of all).
pub(crate) const LISTED: usize = 1000;

/// A list whose first [`LISTED`] entries are kept; `count` is of all.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Listed<T> {
    pub count: u64,
    pub listed: Vec<T>,
}

impl<T> Default for Listed<T> {
    fn default() -> Self {
        Listed { count: 0, listed: Vec::new() }
    }
}
