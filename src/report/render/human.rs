//! Figures as people read them: durations in ms, s, min or h as fits. `report.json` keeps
//! its numbers with the unit in the field's name; these are for summary.md and report.html.

/// A duration given in milliseconds: `0.42 ms`, `35 ms`, `4.2 s`, `12 min`, `1.8 h`, `3.5 d`.
pub(crate) fn duration_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return "-".to_string();
    }
    let s = ms / 1000.0;
    if ms == 0.0 {
        "0".to_string()
    } else if ms < 0.005 {
        "< 0.01 ms".to_string()
    } else if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 86_400.0 * 2.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} d", s / 86_400.0)
    }
}

/// An amount in fen as yuan, thousands grouped: `1,234,567.89` (exact: integer arithmetic).
pub(crate) fn yuan(fen: i64) -> String {
    yuan_with(fen, count)
}

/// An amount in fen as yuan without grouping, for a column: `1234567.89`.
pub(crate) fn yuan_plain(fen: i64) -> String {
    yuan_with(fen, |n| n.to_string())
}

fn yuan_with(fen: i64, whole: fn(u64) -> String) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    format!("{sign}{}.{:02}", whole(fen / 100), fen % 100)
}

/// A duration given in minutes.
pub(crate) fn minutes(min: f64) -> String {
    duration_ms(min * 60_000.0)
}

/// An instant of the report (RFC 3339 with microseconds) to the second, as people read it:
/// `2021-05-06 10:17:42`, or `2021-05-06 10:00` on a whole minute (a midnight keeps its
/// `00:00`, so a phase ending `2021-05-01 00:00` does not read as lasting through that day).
/// The offset is the scenario's, stated once at the top of the page.
pub(crate) fn instant(s: &str) -> String {
    match (s.get(..10), s.get(11..16), s.get(16..19)) {
        (Some(d), Some(hm), Some(":00")) => format!("{d} {hm}"),
        (Some(d), Some(hm), Some(sec)) => format!("{d} {hm}{sec}"),
        _ => s.to_string(),
    }
}

/// An optional instant; `none` says what its absence means where it appears.
pub(crate) fn instant_or(s: &Option<String>, none: &str) -> String {
    s.as_deref().map(instant).unwrap_or_else(|| none.to_string())
}

/// A count with thousands separated by commas.
pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut o = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            o.push(',');
        }
        o.push(c);
    }
    o
}

/// A share as a percentage with as many decimals as it needs to show.
pub(crate) fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p == 0.0 || p >= 10.0 {
        format!("{p:.0} %")
    } else if p >= 0.1 {
        format!("{p:.1} %")
    } else {
        format!("{p:.3} %")
    }
}

/// A gate's figure as people read it: latencies as durations, the rest as numbers.
pub(crate) fn gate_value(g: &crate::report::GateResult, v: f64) -> String {
    use crate::scenario::GateMetric::*;
    match g.metric {
        WaitingMinP50 | WaitingMinP99 => minutes(v),
        BacklogClearedHours => duration_ms(v * 3_600_000.0),
        LatencyMsP50 | LatencyMsP90 | LatencyMsP99 | LatencyMsP999 => duration_ms(v),
        ErrorRate => percent(v),
        _ => tick(v),
    }
}

pub(crate) fn tick(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { count(v.abs() as u64) } else { format!("{v:.4}").trim_end_matches('0').to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_the_unit_that_fits() {
        assert_eq!(duration_ms(0.0), "0");
        assert_eq!(duration_ms(0.421), "0.42 ms");
        assert_eq!(duration_ms(3.25), "3.2 ms");
        assert_eq!(duration_ms(35.4), "35 ms");
        assert_eq!(duration_ms(4_200.0), "4.2 s");
        assert_eq!(duration_ms(12.0 * 60_000.0), "12 min");
        assert_eq!(minutes(108.0), "1.8 h");
        assert_eq!(minutes(60.0 * 24.0 * 3.5), "3.5 d");
        assert_eq!(instant("2021-04-30T23:59:57.536841+08:00"), "2021-04-30 23:59:57");
        assert_eq!(instant("2021-05-01T00:00:00+08:00"), "2021-05-01 00:00");
        assert_eq!(instant("2021-05-10T03:00:00.000000+08:00"), "2021-05-10 03:00");
        assert_eq!(instant("not an instant"), "not an instant");
        assert_eq!(count(4_181_472), "4,181,472");
        assert_eq!(count(999), "999");
        assert_eq!(percent(0.0123), "1.2 %");
        assert_eq!(percent(0.00001), "0.001 %");
        assert_eq!(yuan(-123_456_789), "-1,234,567.89");
        assert_eq!(yuan_plain(-123_456_789), "-1234567.89");
        assert_eq!(yuan_plain(5), "0.05");
    }
}
