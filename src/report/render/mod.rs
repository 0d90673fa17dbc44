//! The renderers: `summary.md`, `report.html` with its SVG charts, JUnit XML, HdrHistogram
//! interval logs, and the language
//! they speak (`--lang`) with figures as people read them. Each reads a [`crate::report::Report`] and
//! nothing else.

pub mod hlog;
pub mod html;
pub mod human;
pub mod junit;
pub mod lang;
pub mod markdown;
pub(crate) mod section;
pub(crate) mod sections;
pub mod svg;
