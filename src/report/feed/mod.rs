//! What the hosts feed while the run goes: the recorder (every attempt and answer), the days
//! and the dues it keeps, the auditors' reports; and the histogram logs written from the
//! recorder's own histograms (`--hlog`), which `report.json` does not carry.

pub mod audit;
pub mod days;
pub mod dues;
pub mod hlog;
pub mod recorder;
