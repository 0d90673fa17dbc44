//! A profile's `books`: where a deployment exports the payments and registrations it holds,
//! page by page, and where each field is in an entry, so that a cutover run checks every
//! payment of a deployment reached through a profile in bulk, as it does a `cutover serve`'s.
//!
//! Each entry is rewritten into the contract's export form (the names of
//! `GET /v1/admin/export/...`) and read by the same code as the contract's export. The
//! deployment's identifiers are opaque: a payment id given as text is kept as its 64-bit
//! digest (the same text always the same number, as the checks need to match a migrated
//! copy's origin to the old payment).

use super::values::{Kind, Values};
use crate::model::TargetId;
use crate::scenario::Spec;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `books` of a profile.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Books {
    pub payments: Export,
    #[serde(default)]
    pub registrations: Option<Export>,
}

/// One paged export.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Export {
    #[serde(default = "get")]
    pub method: String,
    /// Path template: `{after}` is the cursor (the first page's is `first_after`), `{limit}`
    /// the page size.
    pub path: String,
    #[serde(default)]
    pub first_after: String,
    /// Pointer to the page's array of entries.
    pub entries: String,
    /// Pointer to the next page's cursor; absent, `null` or an empty page: the end.
    pub next_after: String,
    /// Contract field name → pointer within one entry.
    pub fields: BTreeMap<String, String>,
}

fn get() -> String {
    "GET".to_string()
}

/// The fields of a payment entry (required first) and of a registration entry.
const PAYMENT_REQUIRED: [&str; 9] =
    ["payment_id", "key", "payer_id", "group", "league", "channel", "items_fen", "accepted_at", "visible_at"];
const PAYMENT_OPTIONAL: [&str; 3] = ["period", "period_months", "origin_payment_id"];
const REGISTRATION_REQUIRED: [&str; 3] = ["payer_id", "group", "league"];

impl Books {
    /// The first problem of the mapping, with its field path.
    pub(crate) fn check(&self) -> Result<(), String> {
        check_export("books.payments", &self.payments, &PAYMENT_REQUIRED, &PAYMENT_OPTIONAL)?;
        if let Some(r) = &self.registrations {
            check_export("books.registrations", r, &REGISTRATION_REQUIRED, &[])?;
        }
        Ok(())
    }
}

fn check_export(path: &str, e: &Export, required: &[&str], optional: &[&str]) -> Result<(), String> {
    if !["GET", "POST"].contains(&e.method.as_str()) {
        return Err(format!("{path}.method: unsupported method {:?} (GET or POST)", e.method));
    }
    if !e.path.starts_with('/') {
        return Err(format!("{path}.path: must start with /"));
    }
    if !e.path.contains("{after}") {
        return Err(format!("{path}.path: must hold {{after}}, the cursor of the page"));
    }
    for f in required {
        if !e.fields.contains_key(*f) {
            return Err(format!(
                "{path}.fields: {f} is required (fields: {})",
                required.iter().chain(optional).copied().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    for (k, p) in &e.fields {
        if !required.contains(&k.as_str()) && !optional.contains(&k.as_str()) {
            return Err(format!(
                "{path}.fields.{k}: unknown field (fields: {})",
                required.iter().chain(optional).copied().collect::<Vec<_>>().join(", ")
            ));
        }
        if !(p.is_empty() || p.starts_with('/')) {
            return Err(format!("{path}.fields.{k}: {p:?} is not a JSON pointer"));
        }
    }
    Ok(())
}

impl Export {
    /// The path of the page after cursor `after`.
    pub(crate) fn page_path(&self, after: &str, limit: usize) -> String {
        self.path.replace("{after}", &crate::contract::percent_encode(after)).replace("{limit}", &limit.to_string())
    }

    /// A page's entries in the contract's export form (values read back through `values`),
    /// and the next page's cursor.
    pub(crate) fn read_page(&self, body: &[u8], values: &Values, spec: &Spec) -> Result<(Vec<Value>, Option<String>), String> {
        let doc: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
        let entries = doc.pointer(&self.entries).and_then(Value::as_array).ok_or_else(|| format!("no array at {}", self.entries))?;
        let mut out = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let mut m = Map::new();
            for (name, ptr) in &self.fields {
                let Some(v) = e.pointer(ptr).filter(|v| !v.is_null()) else {
                    if PAYMENT_OPTIONAL.contains(&name.as_str()) {
                        continue;
                    }
                    return Err(format!("entry {i}: no {name} at {ptr:?}"));
                };
                let read = |r: Result<Value, String>| r.map_err(|e| format!("entry {i}: {name}: {e}"));
                let v = match name.as_str() {
                    // Opaque ids: a number as it is, text as its digest.
                    "payment_id" | "origin_payment_id" => Value::from(opaque_number(v)),
                    "key" => Value::from(text(v)),
                    "payer_id" => read(values.read_payer(spec, v).map(Value::from))?,
                    "group" => read(values.name_of(Kind::Group, &text(v)).map(Value::from))?,
                    "league" => read(values.name_of(Kind::League, &text(v)).map(Value::from))?,
                    "channel" => read(values.name_of(Kind::Channel, &text(v)).map(Value::from))?,
                    "items_fen" => read(values.read_items(v))?,
                    "accepted_at" | "visible_at" => read(values.read_time(spec, v).map(Value::from))?,
                    "period" => read(values.read_period(v).map(Value::from))?,
                    _ => v.clone(),
                };
                m.insert(name.clone(), v);
            }
            out.push(Value::Object(m));
        }
        let next = doc.pointer(&self.next_after).filter(|v| !v.is_null()).map(text).filter(|t| !t.is_empty());
        Ok((out, if entries.is_empty() { None } else { next }))
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn opaque_number(v: &Value) -> u64 {
    match v.as_u64() {
        Some(n) => n,
        None => TargetId::Text(Box::new(text(v))).digest(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        crate::scenario::parse("ci-smoke.json", include_str!("../../../scenarios/ci-smoke.json")).unwrap()
    }

    #[test]
    fn an_export_page_of_another_shape_reads_into_the_contracts_form() {
        let e: Export = serde_json::from_value(serde_json::json!({
            "path": "/api/v2/payments?cursor={after}&size={limit}",
            "entries": "/result/items",
            "next_after": "/result/cursor",
            "fields": {"payment_id": "/id", "key": "/requestId", "payer_id": "/payer/id", "group": "/payer/group",
                "league": "/payer/league", "channel": "/channel", "items_fen": "/itemsFen", "accepted_at": "/at",
                "visible_at": "/visibleAt", "period": "/period", "origin_payment_id": "/origin"}
        }))
        .unwrap();
        Books { payments: e.clone(), registrations: None }.check().unwrap();
        assert_eq!(e.page_path("a b", 50), "/api/v2/payments?cursor=a%20b&size=50");
        let body = serde_json::json!({"result": {"cursor": "c2", "items": [
            {"id": "pay-17", "requestId": "k1", "payer": {"id": 5, "group": "flexible", "league": "Hohhot"}, "channel": "wechat_mini",
             "itemsFen": {"pension": 100}, "at": "2021-04-20T10:00:00+08:00", "visibleAt": "2021-04-22T10:00:00+08:00",
             "origin": null}
        ]}});
        let (rows, next) = e.read_page(body.to_string().as_bytes(), &Values::default(), &spec()).unwrap();
        assert_eq!(next.as_deref(), Some("c2"));
        let row = &rows[0];
        // A text id is kept as its digest; absent optional fields are left out.
        assert_eq!(row["payment_id"], TargetId::text("pay-17").digest());
        assert!(row.get("origin_payment_id").is_none() && row.get("period").is_none());
        assert_eq!(row["payer_id"], 5);
        let w: crate::contract::PaymentExportWire = serde_json::from_value(row.clone()).unwrap();
        assert_eq!(w.key, "k1");
        // The end: an empty page, whatever the cursor says.
        let (rows, next) = e.read_page(br#"{"result": {"cursor": "c3", "items": []}}"#, &Values::default(), &spec()).unwrap();
        assert!(rows.is_empty() && next.is_none());
        // A required field missing from an entry is named.
        let err = e.read_page(br#"{"result": {"items": [{"id": 1}]}}"#, &Values::default(), &spec()).unwrap_err();
        assert!(err.starts_with("entry 0: no accepted_at"), "{err}");
    }
}
