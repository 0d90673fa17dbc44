//! The scenario's Chinese names, carried in `report.json` as `scenario.labels_zh`.

use serde::Serialize;
use std::collections::BTreeMap;

/// The scenario's Chinese names by identifier: channel ids, phase names, groups, leagues.
#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct LabelsZh {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub channels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub phases: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub leagues: BTreeMap<String, String>,
    /// A cutover's system names, the old one first: each is labelled by its role.
    #[serde(skip)]
    pub systems: Vec<String>,
}

impl LabelsZh {
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.phases.is_empty() && self.groups.is_empty() && self.leagues.is_empty()
    }
}
