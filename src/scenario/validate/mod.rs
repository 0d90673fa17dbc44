//! Structural validation of scenario files (JSON Schema, unknown fields with suggestions)
//! and the checker the semantic pass (`compile.rs`) writes its problems with.
//!
//! Every check pushes a [`Problem`] with the field path and carries on, so a
//! user sees every mistake of a file in one run.

use super::MAX_AMOUNT_FEN;
use super::types::*;
use crate::time::SimTime;
use chrono::{DateTime, NaiveDate, Weekday};
use std::collections::BTreeSet;
use std::fmt;

/// One thing wrong with a scenario, at a field path such as `timeline.phases[2].start`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() || self.path == "." {
            write!(f, "(top level): {}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Turn a JSON pointer (`/timeline/phases/2`) into a field path (`timeline.phases[2]`).
fn pointer_to_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() { field.to_string() } else { format!("{path}.{field}") }
}

/// Structural problems of a parsed JSON value against the scenario schema, and, when every
/// one of them lies in a field of an object (an unknown field, a value of the wrong type or
/// out of range), the value without those fields, if it is then valid: the rest of the file
/// can be checked in the same pass, its semantic problems reported with these. A missing
/// required field, or a wrong list element, leaves nothing to check the rest with.
pub(super) fn structural(value: &serde_json::Value) -> (Vec<Problem>, Option<serde_json::Value>) {
    let schema = super::schema();
    let validator = match jsonschema::validator_for(&schema) {
        Ok(v) => v,
        Err(e) => {
            return (vec![Problem::new("", format!("internal error: scenario schema does not compile: {e}"))], None);
        }
    };
    let mut problems = Vec::new();
    let mut removals = Vec::new();
    for error in validator.iter_errors(value) {
        push_error(&schema, &error, &mut problems, &mut removals, 0);
    }
    problems.sort_by(|a, b| a.path.cmp(&b.path).then(a.message.cmp(&b.message)));
    problems.dedup();
    let repaired = removals
        .iter()
        .cloned()
        .collect::<Option<Vec<(String, String)>>>()
        .filter(|r| !r.is_empty())
        .map(|fields| {
            let mut v = value.clone();
            for (parent, name) in &fields {
                if let Some(serde_json::Value::Object(map)) = v.pointer_mut(parent) {
                    map.remove(name);
                }
            }
            v
        })
        .filter(|v| validator.iter_errors(v).next().is_none());
    (problems, repaired)
}

/// One error of the schema's as problems. An optional section (`anyOf` a type or null) that
/// is present but wrong is reported by the errors of its non-null branch, so that an unknown
/// field deep inside it is named with its path rather than the whole section quoted.
/// `removals` gets, for each problem pushed, the object field to drop to get past it
/// (`None`: no field to drop).
fn push_error(
    schema: &serde_json::Value,
    error: &jsonschema::ValidationError,
    problems: &mut Vec<Problem>,
    removals: &mut Vec<Option<(String, String)>>,
    depth: usize,
) {
    let at = error.instance_path().to_string();
    let path = pointer_to_path(&at);
    // The field holding the value in error, when its parent is an object.
    let field = || {
        let (parent, last) = at.rsplit_once('/')?;
        let last = last.replace("~1", "/").replace("~0", "~");
        (!last.bytes().all(|b| b.is_ascii_digit())).then(|| (parent.to_string(), last))
    };
    match error.kind() {
        jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
            let segments: Vec<String> = at.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect();
            let valid = properties_at(schema, schema, &segments);
            for name in unexpected {
                let hint = closest(name, &valid).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
                problems.push(Problem::new(join(&path, name), format!("unknown field{hint}")));
                removals.push(Some((at.clone(), name.clone())));
            }
        }
        jsonschema::error::ValidationErrorKind::AnyOf { context } if depth < 16 => {
            // The branch whose errors all lie inside the value (the value has its type).
            let inside = |branch: &Vec<jsonschema::ValidationError<'static>>| {
                !branch.is_empty() && branch.iter().all(|e| e.instance_path().to_string().len() > at.len())
            };
            match context.iter().find(|b| inside(b)) {
                Some(branch) => branch.iter().for_each(|e| push_error(schema, e, problems, removals, depth + 1)),
                None => {
                    problems.push(Problem::new(path, error.to_string()));
                    removals.push(field());
                }
            }
        }
        jsonschema::error::ValidationErrorKind::OneOfNotValid { .. } | jsonschema::error::ValidationErrorKind::Enum { .. }
            if error.instance().is_string() =>
        {
            // A name outside an enumeration: say which names there are.
            let segments: Vec<String> = at.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect();
            let valid = values_at(schema, &segments);
            let given = error.instance().as_str().unwrap_or_default().to_string();
            if valid.is_empty() {
                problems.push(Problem::new(path, error.to_string()));
            } else {
                let hint = closest(&given, &valid).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
                let list: Vec<&str> = valid.iter().map(String::as_str).collect();
                problems.push(Problem::new(path, format!("unknown name {given:?}{hint}; one of: {}", list.join(", "))));
            }
            removals.push(field());
        }
        _ => {
            problems.push(Problem::new(path, error.to_string()));
            removals.push(field());
        }
    }
}

fn closest(name: &str, valid: &BTreeSet<String>) -> Option<String> {
    valid.iter().map(|v| (strsim::damerau_levenshtein(name, v), v)).filter(|(d, v)| *d <= 3.max(v.len() / 3)).min().map(|(_, v)| v.clone())
}

/// The property names the schema allows for the object at `segments` (all branches).
fn properties_at(root: &serde_json::Value, node: &serde_json::Value, segments: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let names = |n: &serde_json::Value, out: &mut BTreeSet<String>| {
        if let Some(props) = n.get("properties").and_then(|p| p.as_object()) {
            out.extend(props.keys().cloned());
        }
    };
    collect_at(root, node, segments, &names, &mut out, 0);
    out
}

/// The text values the schema allows at `segments` (`const` and `enum`, all branches): the
/// names of an enumeration such as a gate's metric.
fn values_at(root: &serde_json::Value, segments: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let values = |n: &serde_json::Value, out: &mut BTreeSet<String>| {
        if let Some(c) = n.get("const").and_then(|c| c.as_str()) {
            out.insert(c.to_string());
        }
        if let Some(e) = n.get("enum").and_then(|e| e.as_array()) {
            out.extend(e.iter().filter_map(|v| v.as_str().map(str::to_string)));
        }
    };
    collect_at(root, root, segments, &values, &mut out, 0);
    out
}

/// Walk the schema to the node of `segments` (through `$ref`s and every branch) and let
/// `leaf` collect from each node found there.
fn collect_at(
    root: &serde_json::Value,
    node: &serde_json::Value,
    segments: &[String],
    leaf: &dyn Fn(&serde_json::Value, &mut BTreeSet<String>),
    out: &mut BTreeSet<String>,
    depth: usize,
) {
    if depth > 64 {
        return; // bound on $ref chains
    }
    if let Some(r) = node.get("$ref").and_then(|r| r.as_str())
        && let Some(target) = r.strip_prefix('#').and_then(|p| root.pointer(p))
    {
        collect_at(root, target, segments, leaf, out, depth + 1);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(branches) = node.get(key).and_then(|b| b.as_array()) {
            for b in branches {
                collect_at(root, b, segments, leaf, out, depth + 1);
            }
        }
    }
    match segments.split_first() {
        None => leaf(node, out),
        Some((first, rest)) => {
            if let Some(child) = node.get("properties").and_then(|p| p.get(first)) {
                collect_at(root, child, rest, leaf, out, depth + 1);
            }
            if first.bytes().all(|b| b.is_ascii_digit())
                && let Some(items) = node.get("items")
            {
                collect_at(root, items, rest, leaf, out, depth + 1);
            }
            if let Some(extra) = node.get("additionalProperties").filter(|v| v.is_object()) {
                collect_at(root, extra, rest, leaf, out, depth + 1);
            }
        }
    }
}

pub(super) struct Checker {
    pub(super) problems: Vec<Problem>,
}

impl Checker {
    pub(super) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }
    pub(super) fn fraction(&mut self, path: &str, v: f64) {
        if !(0.0..=1.0).contains(&v) || v.is_nan() {
            self.push(path, format!("must be a fraction between 0.0 and 1.0, got {v}"));
        }
    }
    pub(super) fn positive(&mut self, path: &str, v: f64) {
        if !(v > 0.0 && v.is_finite()) {
            self.push(path, format!("must be greater than 0, got {v}"));
        }
    }
    pub(super) fn fen(&mut self, path: &str, v: i64) {
        if v <= 0 || v > MAX_AMOUNT_FEN {
            self.push(path, format!("must be an amount in fen between 1 and {MAX_AMOUNT_FEN}, got {v}"));
        }
    }
    pub(super) fn instant(&mut self, path: &str, s: &str) -> Option<SimTime> {
        match DateTime::parse_from_rfc3339(s) {
            Ok(dt) => Some(SimTime::from_datetime(&dt)),
            Err(e) => {
                self.push(path, format!("not an RFC 3339 instant such as 2021-05-01T00:00:00+08:00 ({e}): {s:?}"));
                None
            }
        }
    }
    pub(super) fn date(&mut self, path: &str, s: &str) -> Option<NaiveDate> {
        match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                self.push(path, format!("not a date YYYY-MM-DD: {s:?}"));
                None
            }
        }
    }
    pub(super) fn dist(&mut self, path: &str, d: &Dist) {
        let ok = match *d {
            Dist::Fixed { value } => value >= 0.0 && value.is_finite(),
            Dist::Uniform { min, max } => min >= 0.0 && min <= max && max.is_finite(),
            Dist::Exponential { mean } => mean > 0.0 && mean.is_finite(),
            Dist::LogNormal { median, p90 } => median > 0.0 && p90 >= median && p90.is_finite(),
        };
        if !ok {
            self.push(
                path,
                "invalid distribution: values must be finite and non-negative, uniform needs min <= max, \
                 exponential a mean > 0, log_normal 0 < median <= p90",
            );
        }
    }
    pub(super) fn weights(&mut self, path: &str, w: &[WeightedChoice]) {
        if w.is_empty() {
            self.push(path, "must list at least one choice");
        }
        for (i, c) in w.iter().enumerate() {
            if !(c.weight >= 0.0 && c.weight.is_finite()) {
                self.push(format!("{path}[{i}].weight"), format!("must be >= 0, got {}", c.weight));
            }
            if !(c.value >= 0.0 && c.value.is_finite()) {
                self.push(format!("{path}[{i}].value"), format!("must be >= 0, got {}", c.value));
            }
        }
        if !w.is_empty() && w.iter().map(|c| c.weight).sum::<f64>() <= 0.0 {
            self.push(path, "weights must not all be zero");
        }
    }
    pub(super) fn suggest(&self, name: &str, valid: impl IntoIterator<Item = String>) -> String {
        let set: BTreeSet<String> = valid.into_iter().collect();
        match closest(name, &set) {
            Some(s) => format!(" (did you mean `{s}`?)"),
            None => format!(" (valid: {})", set.into_iter().collect::<Vec<_>>().join(", ")),
        }
    }
}

pub(super) fn parse_hhmm(s: &str) -> Option<i64> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..=24).contains(&h) || !(0..60).contains(&m) || (h == 24 && m != 0) {
        return None;
    }
    Some((h * 60 + m) * 60 * crate::time::MICROS_PER_SECOND)
}

pub(super) fn parse_weekday(s: &str) -> Option<Weekday> {
    s.parse::<Weekday>().ok()
}

#[cfg(test)]
mod tests;
