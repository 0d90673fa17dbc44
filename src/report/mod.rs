//! Reports, in rooms by role, each using only the rooms listed before it:
//! - [`data`]: what `report.json` holds (described in `reports/README.md`), types only;
//! - [`feed`]: what the hosts feed while the run goes (the recorder, the days, the dues, the
//!   auditors' reports), and the histogram logs written from the recorder;
//! - [`check`]: pure functions from the recorder and the books to the typed results (the
//!   reconciliation, the cutover's checks, the registrations, the rollback's decision, the
//!   gates) and the report built from them;
//! - [`render`]: `summary.md`, `report.html`, its SVG charts, JUnit and the language they
//!   speak: each reads a [`Report`] and nothing else.
//!
//! Serialization happens only here, at the edge; every list is in a fixed order (phase,
//! channel, operation; hour; league, group, insurance), so the same run gives the same bytes.

pub mod check;
pub mod data;
pub mod feed;
pub mod render;

pub use data::*;

/// The JSON Schema of `report.json` (`reports/report.schema.json` is this, kept in the tree).
pub fn schema() -> serde_json::Value {
    // A derived schema always serializes.
    let schema = schemars::generate::SchemaSettings::draft2020_12().for_serialize().into_generator().into_root_schema_for::<Report>();
    serde_json::to_value(schema).expect("schema serializes")
}
