//! A profile's `values`: how a deployment writes the values the contract writes its own way,
//! both ways and declaratively (no scripting): amounts as decimal yuan strings, code tables for
//! leagues, groups, channels and insurance types, periods as `YYYYMM`, items as an array of
//! lines, payers by their 18-character numbers, local times without an offset. Requests are
//! rendered through it, and answers, the ledger and the books are read back through it into
//! the contract's form, so that everything after reads one form.

use crate::population::Items;
use crate::scenario::{GroupKind, Insurance, Spec};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `values` of a profile; every field defaults to the contract's own form.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Values {
    #[serde(default)]
    pub amount: AmountFormat,
    #[serde(default)]
    pub period: PeriodFormat,
    #[serde(default)]
    pub time: TimeFormat,
    #[serde(default)]
    pub payer: PayerFormat,
    /// Our names → the deployment's codes, per kind; a kind without a table is sent as named.
    #[serde(default)]
    pub codes: Codes,
    /// Items as an array of lines (`{"insurance": "xzdm", "amount": "je"}`: the fields of one
    /// line) instead of an object of insurance type → amount.
    #[serde(default)]
    pub lines: Option<Lines>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmountFormat {
    /// Integer fen (the contract).
    #[default]
    Fen,
    /// A decimal string of yuan with two places, "740.40" (read exactly, never through
    /// floating point; "740.4" and "740" are read too).
    Yuan,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodFormat {
    /// "2021-04" (the contract).
    #[default]
    #[serde(rename = "YYYY-MM")]
    Dashed,
    /// "202104".
    #[serde(rename = "YYYYMM")]
    Compact,
    /// "2021-04-01": the month's first day.
    #[serde(rename = "date")]
    Date,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeFormat {
    /// RFC 3339 with an offset (the contract).
    #[default]
    Rfc3339,
    /// "2021-05-01 08:30:00" (or with a `T`), no offset: the scenario's local time.
    Local,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayerFormat {
    /// The numeric payer id (the contract).
    #[default]
    Id,
    /// The payer's 18-character number: a unified social credit code for a unit, a resident
    /// ID otherwise (`cutover population --jsonl` lists them).
    Number,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Codes {
    #[serde(default)]
    pub league: BTreeMap<String, String>,
    #[serde(default)]
    pub group: BTreeMap<String, String>,
    #[serde(default)]
    pub channel: BTreeMap<String, String>,
    #[serde(default)]
    pub insurance: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lines {
    /// The field of a line holding the insurance type (its code).
    pub insurance: String,
    /// The field of a line holding the amount (in `amount`'s form).
    pub amount: String,
}

/// The kinds of value a code table maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    League,
    Group,
    Channel,
    Insurance,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::League => "league",
            Kind::Group => "group",
            Kind::Channel => "channel",
            Kind::Insurance => "insurance",
        }
    }
}

impl Values {
    fn table(&self, kind: Kind) -> &BTreeMap<String, String> {
        match kind {
            Kind::League => &self.codes.league,
            Kind::Group => &self.codes.group,
            Kind::Channel => &self.codes.channel,
            Kind::Insurance => &self.codes.insurance,
        }
    }

    /// The first problem of the mapping as written (`at`: its field path).
    pub(crate) fn check(&self, at: &str) -> Result<(), String> {
        let insurance: Vec<&str> = Insurance::ALL.iter().map(|i| i.as_str()).collect();
        let groups: Vec<&str> = GroupKind::ALL.iter().map(|g| g.as_str()).collect();
        for (kind, known) in [(Kind::Insurance, &insurance), (Kind::Group, &groups)] {
            for k in self.table(kind).keys() {
                if !known.contains(&k.as_str()) {
                    return Err(format!("{at}.codes.{}.{k}: unknown {} (one of {})", kind.name(), kind.name(), known.join(", ")));
                }
            }
        }
        for kind in [Kind::League, Kind::Group, Kind::Channel, Kind::Insurance] {
            let mut seen = BTreeMap::new();
            for (ours, theirs) in self.table(kind) {
                if theirs.is_empty() {
                    return Err(format!("{at}.codes.{}.{ours}: an empty code", kind.name()));
                }
                if let Some(other) = seen.insert(theirs, ours) {
                    return Err(format!(
                        "{at}.codes.{}: {other} and {ours} have the same code {theirs:?} (it could not be read back)",
                        kind.name()
                    ));
                }
            }
        }
        if let Some(l) = &self.lines
            && (l.insurance.is_empty() || l.amount.is_empty() || l.insurance == l.amount)
        {
            return Err(format!("{at}.lines: two different field names, insurance and amount"));
        }
        Ok(())
    }

    /// The first name of the scenario a code table leaves out (a table, once given, must name
    /// every league, channel, group and insurance type the run can send).
    pub(crate) fn check_against(&self, spec: &Spec, at: &str) -> Result<(), String> {
        let leagues: Vec<String> = spec.leagues.iter().map(|l| l.name.clone()).collect();
        let channels: Vec<String> = spec.channels.iter().map(|c| c.id.clone()).collect();
        let groups: Vec<String> = GroupKind::ALL.iter().map(|g| g.as_str().to_string()).collect();
        let insurance: Vec<String> = Insurance::ALL.iter().map(|i| i.as_str().to_string()).collect();
        for (kind, names) in [(Kind::League, &leagues), (Kind::Channel, &channels), (Kind::Group, &groups), (Kind::Insurance, &insurance)] {
            let table = self.table(kind);
            if table.is_empty() {
                continue;
            }
            if let Some(missing) = names.iter().find(|n| !table.contains_key(*n)) {
                return Err(format!("{at}.codes.{}: no code for {missing:?} of scenario {:?}", kind.name(), spec.raw.name));
            }
        }
        Ok(())
    }

    /// Our name of `kind` as the deployment writes it.
    pub(crate) fn code<'a>(&'a self, kind: Kind, ours: &'a str) -> &'a str {
        self.table(kind).get(ours).map(String::as_str).unwrap_or(ours)
    }

    /// The deployment's code of `kind` as our name.
    pub(crate) fn name_of(&self, kind: Kind, theirs: &str) -> Result<String, String> {
        let table = self.table(kind);
        if table.is_empty() {
            return Ok(theirs.to_string());
        }
        table
            .iter()
            .find(|(_, v)| v.as_str() == theirs)
            .map(|(k, _)| k.clone())
            .ok_or_else(|| format!("unknown {} code {theirs:?}", kind.name()))
    }

    /// An amount in fen, as the deployment writes it.
    pub(crate) fn amount(&self, fen: i64) -> Value {
        match self.amount {
            AmountFormat::Fen => Value::from(fen),
            AmountFormat::Yuan => Value::from(yuan_text(fen)),
        }
    }

    /// An amount as the deployment wrote it, in fen.
    pub(crate) fn read_amount(&self, v: &Value) -> Result<i64, String> {
        match (self.amount, v) {
            (AmountFormat::Fen, Value::Number(n)) => n.as_i64().ok_or_else(|| format!("{n}: not a whole number of fen")),
            (AmountFormat::Fen, Value::String(s)) => s.trim().parse().map_err(|_| format!("{s:?}: not a whole number of fen")),
            (AmountFormat::Yuan, Value::String(s)) => fen_of_yuan(s),
            // A number of yuan in the JSON: read from its text, exactly.
            (AmountFormat::Yuan, Value::Number(n)) => fen_of_yuan(&n.to_string()),
            (_, other) => Err(format!("{other}: not an amount")),
        }
    }

    /// Items (insurance type → fen) as the deployment writes them.
    pub(crate) fn items(&self, items: &Items) -> Value {
        let present = Insurance::ALL.iter().filter(|i| items[i.index()] != 0);
        match &self.lines {
            None => Value::Object(
                present.map(|i| (self.code(Kind::Insurance, i.as_str()).to_string(), self.amount(items[i.index()]))).collect(),
            ),
            Some(l) => Value::Array(
                present
                    .map(|i| {
                        let mut m = Map::new();
                        m.insert(l.insurance.clone(), Value::from(self.code(Kind::Insurance, i.as_str())));
                        m.insert(l.amount.clone(), self.amount(items[i.index()]));
                        Value::Object(m)
                    })
                    .collect(),
            ),
        }
    }

    /// Items as the deployment wrote them, in the contract's form (an object of insurance
    /// type → fen).
    pub(crate) fn read_items(&self, v: &Value) -> Result<Value, String> {
        let mut out = Map::new();
        let mut put = |code: &str, amount: &Value| -> Result<(), String> {
            let name = self.name_of(Kind::Insurance, code)?;
            let fen = self.read_amount(amount)?;
            let slot = out.entry(name).or_insert(Value::from(0));
            *slot = Value::from(slot.as_i64().unwrap_or(0) + fen);
            Ok(())
        };
        match (&self.lines, v) {
            (None, Value::Object(m)) => {
                for (k, a) in m {
                    put(k, a)?;
                }
            }
            (Some(l), Value::Array(lines)) => {
                for (i, line) in lines.iter().enumerate() {
                    let code = line.get(&l.insurance).map(text).ok_or_else(|| format!("line {i}: no {}", l.insurance))?;
                    let amount = line.get(&l.amount).ok_or_else(|| format!("line {i}: no {}", l.amount))?;
                    put(&code, amount)?;
                }
            }
            (None, other) => return Err(format!("items: {other} is not an object of amounts")),
            (Some(_), other) => return Err(format!("items: {other} is not an array of lines")),
        }
        Ok(Value::Object(out))
    }

    /// A period's first month ("YYYY-MM") as the deployment writes it.
    pub(crate) fn period(&self, dashed: &str) -> String {
        match self.period {
            PeriodFormat::Dashed => dashed.to_string(),
            PeriodFormat::Compact => dashed.replace('-', ""),
            PeriodFormat::Date => format!("{dashed}-01"),
        }
    }

    /// A period as the deployment wrote it, as "YYYY-MM".
    pub(crate) fn read_period(&self, v: &Value) -> Result<String, String> {
        let t = text(v);
        let ok = |y: &str, m: &str| -> Result<String, String> {
            let (yy, mm): (u32, u32) = (y.parse().map_err(|_| format!("period {t:?}"))?, m.parse().map_err(|_| format!("period {t:?}"))?);
            if !(1900..=2200).contains(&yy) || !(1..=12).contains(&mm) {
                return Err(format!("period {t:?}: no such month"));
            }
            Ok(format!("{yy:04}-{mm:02}"))
        };
        match self.period {
            PeriodFormat::Dashed if t.len() == 7 && &t[4..5] == "-" => ok(&t[..4], &t[5..]),
            PeriodFormat::Compact if t.len() == 6 && t.is_ascii() => ok(&t[..4], &t[4..]),
            PeriodFormat::Date if t.len() == 10 && t.is_ascii() && &t[4..5] == "-" => ok(&t[..4], &t[5..7]),
            _ => Err(format!("period {t:?} is not in the profile's form ({:?})", self.period)),
        }
    }

    /// An instant as the contract writes it (RFC 3339), from the deployment's form.
    pub(crate) fn read_time(&self, spec: &Spec, v: &Value) -> Result<String, String> {
        let t = text(v);
        match self.time {
            TimeFormat::Rfc3339 => Ok(t),
            TimeFormat::Local => {
                let naive = chrono::NaiveDateTime::parse_from_str(&t.replace('T', " "), "%Y-%m-%d %H:%M:%S%.f")
                    .map_err(|e| format!("time {t:?}: not a local time YYYY-MM-DD HH:MM:SS ({e})"))?;
                let local = naive
                    .and_local_timezone(spec.calendar.offset)
                    .single()
                    .ok_or_else(|| format!("time {t:?}: not an instant in the scenario's zone"))?;
                Ok(local.to_rfc3339())
            }
        }
    }

    /// A payer as the deployment knows it.
    pub(crate) fn payer(&self, spec: &Spec, id: u32, group: GroupKind, league: u8) -> Value {
        match self.payer {
            PayerFormat::Id => Value::from(id),
            PayerFormat::Number => Value::from(crate::population::payer_number(spec, id, group, league)),
        }
    }

    /// A payer as the deployment wrote it, as the payer id.
    pub(crate) fn read_payer(&self, spec: &Spec, v: &Value) -> Result<u32, String> {
        match self.payer {
            PayerFormat::Id => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| format!("payer {v}: not a payer id")),
            PayerFormat::Number => {
                let t = text(v);
                crate::population::payer_of_number(spec, &t)
                    .ok_or_else(|| format!("payer {t:?}: not the number of one of the scenario's payers"))
            }
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Fen as yuan with two places: 74040 → "740.40", -5 → "-0.05".
pub(crate) fn yuan_text(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// A decimal text of yuan, exactly, in fen: "740.40", "740.4", "740" → 74040; more than two
/// decimal places, an exponent or anything else is refused.
pub(crate) fn fen_of_yuan(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let bad = || format!("{s:?}: not an amount of yuan with at most two decimal places");
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 {
        return Err(bad());
    }
    let cents = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map_err(|_| bad())? * 10,
        _ => frac.parse::<i64>().map_err(|_| bad())?,
    };
    let fen = whole.parse::<i64>().ok().and_then(|w| w.checked_mul(100)).and_then(|w| w.checked_add(cents)).ok_or_else(bad)?;
    Ok(if neg { -fen } else { fen })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        crate::scenario::parse("ci-smoke.json", include_str!("../../../scenarios/ci-smoke.json")).unwrap()
    }

    fn vendor() -> Values {
        serde_json::from_value(serde_json::json!({
            "amount": "yuan", "period": "YYYYMM", "time": "local", "payer": "number",
            "codes": {"insurance": {"pension": "110", "medical": "310", "unemployment": "210", "work_injury": "410",
                                    "supplementary": "320", "occupational_annuity": "130"}},
            "lines": {"insurance": "xzdm", "amount": "je"}
        }))
        .unwrap()
    }

    #[test]
    fn yuan_text_is_exact_both_ways() {
        for (fen, text) in
            [(74_040, "740.40"), (5, "0.05"), (100, "1.00"), (0, "0.00"), (-5, "-0.05"), (9_007_199_254_740_993, "90071992547409.93")]
        {
            assert_eq!(yuan_text(fen), text);
            assert_eq!(fen_of_yuan(text), Ok(fen), "{text}");
        }
        assert_eq!(fen_of_yuan("740.4"), Ok(74_040));
        assert_eq!(fen_of_yuan("740"), Ok(74_000));
        for bad in ["740.405", "1e3", "", ".5", "7,40", "abc", "99999999999999999999"] {
            assert!(fen_of_yuan(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn items_as_lines_of_codes_and_yuan_go_out_and_come_back() {
        let v = vendor();
        v.check("values").unwrap();
        let mut items = [0; 6];
        items[Insurance::Pension.index()] = 74_040;
        items[Insurance::Medical.index()] = 30_005;
        let wire = v.items(&items);
        assert_eq!(wire, serde_json::json!([{"xzdm": "110", "je": "740.40"}, {"xzdm": "310", "je": "300.05"}]));
        let back = v.read_items(&wire).unwrap();
        assert_eq!(back, serde_json::json!({"pension": 74_040, "medical": 30_005}));
        assert!(v.read_items(&serde_json::json!([{"xzdm": "999", "je": "1.00"}])).unwrap_err().contains("unknown insurance code \"999\""));
    }

    #[test]
    fn periods_times_and_payers_read_into_the_contracts_form() {
        let s = spec();
        let v = vendor();
        assert_eq!(v.period("2021-04"), "202104");
        assert_eq!(v.read_period(&Value::from("202104")).unwrap(), "2021-04");
        assert!(v.read_period(&Value::from("202113")).is_err());
        assert_eq!(v.read_time(&s, &Value::from("2021-05-01 08:30:00")).unwrap(), "2021-05-01T08:30:00+08:00");
        let number = v.payer(&s, 5000, GroupKind::Flexible, 3);
        assert_eq!(number.as_str().map(str::len), Some(18));
        assert_eq!(v.read_payer(&s, &number), Ok(5000));
    }

    #[test]
    fn a_code_table_that_cannot_be_read_back_or_misses_a_name_is_refused() {
        let v: Values = serde_json::from_value(serde_json::json!({"codes": {"group": {"unit": "01", "flexible": "01"}}})).unwrap();
        assert!(v.check("values").unwrap_err().contains("the same code \"01\""));
        let v: Values = serde_json::from_value(serde_json::json!({"codes": {"insurance": {"pensoin": "110"}}})).unwrap();
        assert!(v.check("values").unwrap_err().contains("values.codes.insurance.pensoin: unknown insurance"));
        let v: Values = serde_json::from_value(serde_json::json!({"codes": {"league": {"Hohhot": "150100"}}})).unwrap();
        let e = v.check_against(&spec(), "values").unwrap_err();
        assert!(e.starts_with("values.codes.league: no code for"), "{e}");
    }
}
