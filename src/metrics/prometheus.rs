//! The Prometheus text exposition format (0.0.4): families with their help and type,
//! samples with escaped labels, latency histograms as cumulative buckets in seconds.

use hdrhistogram::Histogram;
use std::fmt::{Display, Write};

/// Upper bounds of the latency buckets, seconds: from a millisecond (an online payment) to
/// four hours (a wait at a counter or the hotline).
pub(crate) const LATENCY_BUCKETS_SECONDS: [f64; 16] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0, 600.0, 3600.0, 14400.0];

/// The kind of a metric family.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A page of metrics being written.
#[derive(Default)]
pub(crate) struct Exposition {
    text: String,
}

impl Exposition {
    /// A family's `# HELP` and `# TYPE` lines; its samples follow.
    pub(crate) fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {}", kind.as_str());
    }

    /// One sample.
    pub(crate) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.text.push_str(name);
        write_labels(&mut self.text, labels, None);
        let _ = writeln!(self.text, " {value}");
    }

    /// A family with one unlabelled sample.
    pub(crate) fn single(&mut self, name: &str, kind: Kind, help: &str, value: impl Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// A latency histogram in microseconds as `_bucket` (cumulative, at `buckets` seconds and
    /// `+Inf`), `_sum` and `_count` samples in seconds.
    pub(crate) fn latency(&mut self, name: &str, labels: &[(&str, &str)], h: &Histogram<u64>, buckets: &[f64]) {
        for &le in buckets {
            let _ = write!(self.text, "{name}_bucket");
            write_labels(&mut self.text, labels, Some(&le.to_string()));
            let _ = writeln!(self.text, " {}", h.count_between(0, (le * 1e6) as u64));
        }
        let _ = write!(self.text, "{name}_bucket");
        write_labels(&mut self.text, labels, Some("+Inf"));
        let _ = writeln!(self.text, " {}", h.len());
        let _ = write!(self.text, "{name}_sum");
        write_labels(&mut self.text, labels, None);
        let _ = writeln!(self.text, " {}", h.mean() * h.len() as f64 / 1e6);
        let _ = write!(self.text, "{name}_count");
        write_labels(&mut self.text, labels, None);
        let _ = writeln!(self.text, " {}", h.len());
    }

    pub(crate) fn finish(self) -> String {
        self.text
    }
}

/// `{a="x",b="y"}` (with `le` last when given), nothing when there are no labels.
fn write_labels(o: &mut String, labels: &[(&str, &str)], le: Option<&str>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    o.push('{');
    let all = labels.iter().copied().chain(le.map(|v| ("le", v)));
    for (i, (k, v)) in all.enumerate() {
        if i > 0 {
            o.push(',');
        }
        let _ = write!(o, "{k}=\"");
        for c in v.chars() {
            match c {
                '\\' => o.push_str("\\\\"),
                '"' => o.push_str("\\\""),
                '\n' => o.push_str("\\n"),
                c => o.push(c),
            }
        }
        o.push('"');
    }
    o.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_histograms_cumulative() {
        let mut e = Exposition::default();
        e.family("x_total", Kind::Counter, "X.");
        e.sample("x_total", &[("channel", "a\"b\\c\nd")], 3);
        let mut h = crate::metrics::latency_histogram();
        h.record(500).unwrap();
        h.record(2_000_000).unwrap();
        e.family("x_seconds", Kind::Histogram, "X time.");
        e.latency("x_seconds", &[("op", "pay")], &h, &LATENCY_BUCKETS_SECONDS);
        let t = e.finish();
        assert!(t.contains("x_total{channel=\"a\\\"b\\\\c\\nd\"} 3\n"), "{t}");
        assert!(t.contains("x_seconds_bucket{op=\"pay\",le=\"0.001\"} 1\n"), "{t}");
        assert!(t.contains("x_seconds_bucket{op=\"pay\",le=\"2.5\"} 2\n"), "{t}");
        assert!(t.contains("x_seconds_bucket{op=\"pay\",le=\"+Inf\"} 2\n"), "{t}");
        assert!(t.contains("x_seconds_count{op=\"pay\"} 2\n"), "{t}");
    }
}
