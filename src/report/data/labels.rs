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

    pub fn of(raw: &crate::scenario::Scenario) -> LabelsZh {
        let pick = |pairs: Vec<(String, &Option<String>)>| -> BTreeMap<String, String> {
            pairs.into_iter().filter_map(|(k, v)| v.clone().map(|v| (k, v))).collect()
        };
        let g = &raw.population.groups;
        LabelsZh {
            channels: pick(raw.channels.iter().map(|c| (c.id.clone(), &c.label_zh)).collect()),
            phases: pick(raw.timeline.phases.iter().map(|p| (p.name.clone(), &p.label_zh)).collect()),
            groups: pick(vec![
                ("unit".into(), &g.unit.label_zh),
                ("flexible".into(), &g.flexible.label_zh),
                ("resident_pension".into(), &g.resident_pension.label_zh),
                ("resident_medical".into(), &g.resident_medical.label_zh),
                ("proxy".into(), &g.proxy.label_zh),
            ]),
            leagues: pick(raw.population.leagues.iter().map(|l| (l.name.clone(), &l.label_zh)).collect()),
            systems: raw.cutover.iter().flat_map(|x| [x.old.name.clone(), x.new.name.clone()]).collect(),
        }
    }
}
