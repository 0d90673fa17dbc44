//! The language of `summary.md`, `report.html` and the console summary (`--lang zh|en`).
//! Both wordings of a sentence stand side by side where it is written (the `tr!` macro), so
//! a sentence cannot lose its translation; the scenario's names come from its `label_zh`
//! fields (carried in `report.json` as `scenario.labels_zh`). JSON keys and gate names stay
//! English: they are identifiers scripts and scenarios use.

use crate::report::Report;
use crate::report::data::labels::LabelsZh;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

/// What a renderer needs to speak: the language and the scenario's names.
pub struct Say<'a> {
    pub zh: bool,
    labels: &'a LabelsZh,
}

/// A sentence in the renderer's language: `tr!(say, "english {}", "中文 {}", args...)`.
macro_rules! tr {
    ($say:expr, $en:literal, $zh:literal $($rest:tt)*) => {
        if $say.zh { format!($zh $($rest)*) } else { format!($en $($rest)*) }
    };
}
pub(crate) use tr;

impl<'a> Say<'a> {
    pub fn new(r: &'a Report, lang: Lang) -> Say<'a> {
        Say::with(lang, &r.scenario.labels_zh)
    }

    pub fn with(lang: Lang, labels: &'a LabelsZh) -> Say<'a> {
        Say { zh: lang == Lang::Zh, labels }
    }

    /// English without a scenario's names (a section printed on its own).
    pub fn english() -> Say<'static> {
        static NONE: LabelsZh = LabelsZh {
            channels: BTreeMap::new(),
            phases: BTreeMap::new(),
            groups: BTreeMap::new(),
            leagues: BTreeMap::new(),
            systems: Vec::new(),
        };
        Say { zh: false, labels: &NONE }
    }

    /// A fixed word or phrase.
    pub fn t(&self, en: &'static str, zh: &'static str) -> &'static str {
        if self.zh { zh } else { en }
    }

    fn label<'b>(&self, map: &'b BTreeMap<String, String>, id: &'b str) -> &'b str
    where
        'a: 'b,
    {
        if self.zh { map.get(id).map_or(id, String::as_str) } else { id }
    }

    pub fn channel<'b>(&'b self, id: &'b str) -> &'b str {
        self.label(&self.labels.channels, id)
    }
    pub fn phase<'b>(&'b self, name: &'b str) -> &'b str {
        self.label(&self.labels.phases, name)
    }
    pub fn group(&self, g: crate::scenario::GroupKind) -> &str {
        self.label(&self.labels.groups, g.as_str())
    }
    pub fn league<'b>(&'b self, name: &'b str) -> &'b str {
        self.label(&self.labels.leagues, name)
    }

    /// A gate's measured figure in words: the number, or why there is none.
    pub fn measured(&self, g: &crate::report::GateResult) -> String {
        match (self.zh, g.no_data, &g.detail) {
            (false, _, _) => measured_en(g),
            (true, true, _) => "无数据（没有可测量的样本）".to_string(),
            (true, false, Some(_)) if g.metric == crate::scenario::GateMetric::BacklogClearedHours => {
                format!("从未：截至时间线结束（恢复缴费后 {} h）积压仍未消化", g.value)
            }
            (true, false, Some(d)) => d.clone(),
            (true, false, None) => g.value.to_string(),
        }
    }

    /// What stops at a cutover's stop: the phase that starts, the system that stops.
    pub fn stop(&self, s: &crate::report::data::cutover::StopReport) -> String {
        if !self.zh {
            return s.what.clone();
        }
        let mut parts = Vec::new();
        if let Some(p) = &s.phase {
            parts.push(format!("进入阶段「{}」", self.phase(p)));
        }
        if let Some(sys) = &s.system {
            parts.push(format!("{}停止", self.system(sys)));
        }
        if parts.is_empty() { s.what.clone() } else { parts.join("，") }
    }

    /// Channel ids joined as a list.
    pub fn channels(&self, ids: &[String]) -> String {
        let names: Vec<&str> = ids.iter().map(|c| self.channel(c)).collect();
        names.join(self.t(", ", "、"))
    }

    /// A word of the tool's own vocabulary (operations, insurance types, kinds of day and
    /// channel, modes, what the checks found), as the reader's language names it.
    pub fn name<T: Named>(&self, x: T) -> &'static str {
        if self.zh { x.label_zh() } else { x.as_str() }
    }

    /// A system of the cutover by its name in the report: its role, old or new.
    pub fn system<'b>(&self, name: &'b str) -> &'b str {
        if !self.zh {
            return name;
        }
        match self.labels.systems.iter().position(|s| s == name) {
            Some(0) => "旧系统",
            Some(_) => "新系统",
            None => name,
        }
    }
}

/// An enum of the tool's vocabulary with its identifier and its Chinese label (each written
/// beside its enum).
pub trait Named: Copy {
    fn as_str(self) -> &'static str;
    fn label_zh(self) -> &'static str;
}

macro_rules! named {
    ($($t:ty),*) => {$(
        impl Named for $t {
            fn as_str(self) -> &'static str {
                <$t>::as_str(self)
            }
            fn label_zh(self) -> &'static str {
                <$t>::label_zh(self)
            }
        }
    )*};
}
named!(
    crate::scenario::Operation,
    crate::scenario::Insurance,
    crate::scenario::ChannelKind,
    crate::time::DayKind,
    crate::report::Mode,
    crate::report::data::cutover::MigrationProblem,
    crate::report::data::cutover::LostReason,
    crate::report::data::cutover::RegistrationProblem
);

/// A gate's measured figure in English words (the console's and JUnit's too).
pub(crate) fn measured_en(g: &crate::report::GateResult) -> String {
    if g.no_data {
        "no data (nothing measured behind it)".to_string()
    } else if let Some(d) = &g.detail {
        d.clone()
    } else {
        g.value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fall_back_to_the_identifier_and_english_keeps_it() {
        let mut labels = LabelsZh::default();
        labels.channels.insert("wechat_city".into(), "微信城市服务".into());
        let zh = Say { zh: true, labels: &labels };
        let en = Say { zh: false, labels: &labels };
        assert_eq!(zh.channel("wechat_city"), "微信城市服务");
        assert_eq!(zh.channel("alipay"), "alipay");
        assert_eq!(en.channel("wechat_city"), "wechat_city");
        assert_eq!(zh.channels(&["wechat_city".into(), "alipay".into()]), "微信城市服务、alipay");
        assert_eq!(tr!(zh, "{} attempts", "{} 次尝试", 3), "3 次尝试");
        assert_eq!(tr!(en, "{} attempts", "{} 次尝试", 3), "3 attempts");
        assert_eq!(zh.name(crate::scenario::Operation::Pay), "缴费");
        assert_eq!(en.name(crate::scenario::Operation::Pay), "pay");
    }
}
