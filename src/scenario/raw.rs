//! The scenario as its JSON text, for the one command that edits it before compiling it
//! (`cutover sweep`): values set at dotted paths, numbers read there, the planner's `costs`.
//! Nothing outside `scenario/` reads the raw JSON; each edited scenario is compiled as any
//! other (`scenario::parse`).

use super::ScenarioError;
use serde_json::Value;
use std::path::Path;

/// A scenario file as JSON, before it is compiled.
#[derive(Clone, Debug, PartialEq)]
pub struct RawScenario(Value);

impl RawScenario {
    /// Read a scenario file's JSON (its problems are the compiler's to find).
    pub fn load(path: &Path) -> Result<RawScenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|cause| ScenarioError::Read { file: file.clone(), cause })?;
        super::json(&file, &text).map(RawScenario)
    }

    pub fn from_value(v: Value) -> RawScenario {
        RawScenario(v)
    }

    /// The same scenario with `value` at `path` (see [`locate`]).
    pub fn set(&mut self, path: &str, value: Value) -> Result<(), String> {
        *locate(&mut self.0, path)? = value;
        Ok(())
    }

    /// The number at `path`.
    pub fn number(&mut self, path: &str) -> Result<f64, String> {
        locate(&mut self.0, path)?.as_f64().ok_or_else(|| format!("{path}: the scenario's value there is not a number"))
    }

    /// The planner's `costs`: a price per unit of the value at each path.
    pub fn costs(&self) -> Vec<(String, f64)> {
        self.0
            .get("costs")
            .and_then(Value::as_object)
            .map(|m| m.iter().filter_map(|(k, v)| v.as_f64().map(|c| (k.clone(), c))).collect())
            .unwrap_or_default()
    }

    /// The scenario as a file's text.
    pub fn to_text(&self) -> String {
        serde_json::to_string_pretty(&self.0).unwrap_or_default()
    }
}

/// The place `path` names in a scenario: object keys by name, array elements by index or by
/// their `id` (or `name`): `channels.hall_cash.servers`, `batches.0.start`.
pub(crate) fn locate<'a>(v: &'a mut Value, path: &str) -> Result<&'a mut Value, String> {
    let mut at = v;
    let mut walked = String::new();
    for seg in path.split('.') {
        let here = if walked.is_empty() { "the scenario".to_string() } else { walked.clone() };
        at = match at {
            Value::Object(m) => {
                if !m.contains_key(seg) {
                    let keys: Vec<&String> = m.keys().collect();
                    return Err(format!("{path}: {here} has no field {seg:?} (it has {keys:?})"));
                }
                m.get_mut(seg).expect("present")
            }
            Value::Array(a) => {
                let i = match seg.parse::<usize>() {
                    Ok(i) if i < a.len() => i,
                    _ => a.iter().position(|e| e.get("id").or_else(|| e.get("name")).and_then(Value::as_str) == Some(seg)).ok_or_else(
                        || {
                            let ids: Vec<&str> =
                                a.iter().filter_map(|e| e.get("id").or_else(|| e.get("name")).and_then(Value::as_str)).collect();
                            format!("{path}: {here} has no element {seg:?} (ids: {ids:?})")
                        },
                    )?,
                };
                &mut a[i]
            }
            _ => return Err(format!("{path}: {here} is not an object or a list")),
        };
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(seg);
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_reach_fields_and_list_elements_by_id_and_say_what_is_there() {
        let mut v = json!({"backend": {"concurrency": 4}, "channels": [{"id": "hall_cash", "servers": 3}]});
        *locate(&mut v, "channels.hall_cash.servers").unwrap() = json!(9);
        assert_eq!(v["channels"][0]["servers"], 9);
        assert_eq!(*locate(&mut v, "channels.0.servers").unwrap(), json!(9));
        let e = locate(&mut v, "backend.servers").unwrap_err();
        assert!(e.contains("no field \"servers\"") && e.contains("concurrency"), "{e}");
        let e = locate(&mut v, "channels.hall_pos.servers").unwrap_err();
        assert!(e.contains("hall_cash"), "{e}");
    }
}
