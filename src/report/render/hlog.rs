//! HdrHistogram interval logs (`--hlog DIR`): one log per channel and operation, in the
//! format of HdrHistogram's `HistogramLogWriter` (the `hdrhistogram` crate writes it), so
//! latency can be re-analysed, plotted or merged with HdrHistogram's own tools.
//!
//! An interval is a phase of the timeline: the recorder keeps its histograms per phase ×
//! channel × operation, and the report carries them whole when asked
//! ([`crate::report::Histograms`], never in `report.json`), so they are written with no
//! precision lost. Timestamps are
//! the scenario's instants (virtual time in both hosts): `StartTime` is the timeline's start,
//! each interval starts at its phase's start and lasts the phase. Values are microseconds;
//! the max column is in milliseconds (`max_value_divisor` 1000, as HdrHistogram's Java tools
//! write latency logs).

use crate::report::Report;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use std::time::{Duration, SystemTime};

/// One log file: its name in the directory and its text.
pub struct HistogramLog {
    pub file_name: String,
    pub text: Vec<u8>,
}

fn system_time(micros_since_epoch: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_micros(micros_since_epoch.max(0) as u64)
}

/// A log per channel × operation that saw traffic, in channel then operation order; in each,
/// the response-time histogram of every phase with samples (live runs: the service time from
/// the send as well, tagged `service`). None when the report kept no histograms.
pub fn logs(report: &Report) -> Vec<HistogramLog> {
    let Some(h) = &report.histograms else { return Vec::new() };
    let mode = report.mode;
    let mut by_file: std::collections::BTreeMap<(&str, usize), Vec<&crate::report::CellHistograms>> = Default::default();
    for c in &h.cells {
        if c.response_micros.is_empty() {
            continue;
        }
        let op_index = crate::scenario::Operation::ALL.iter().position(|o| *o == c.operation).unwrap_or(0);
        by_file.entry((h.channels[c.channel as usize].as_str(), op_index)).or_default().push(c);
    }
    let start = h.start_micros;
    let mut out = Vec::new();
    for ((channel, op_index), mut cells) in by_file {
        cells.sort_by_key(|c| c.phase);
        let op = crate::scenario::Operation::ALL[op_index].as_str();
        let mut text = Vec::new();
        let mut serializer = V2DeflateSerializer::new();
        let mut builder = IntervalLogWriterBuilder::new();
        builder
            .add_comment(&format!("cutover {mode} of {}: channel {channel}, operation {op}", report.scenario.name))
            .add_comment("one interval per phase of the timeline (Tag: the phase); values in microseconds, max in ms")
            .with_start_time(system_time(start))
            .with_max_value_divisor(1000.0);
        let Ok(mut w) = builder.begin_log_with(&mut text, &mut serializer) else { continue };
        for c in cells {
            let p = &h.phases[c.phase];
            let at = Duration::from_micros((p.start_micros - start).max(0) as u64);
            let long = Duration::from_micros((p.end_micros - p.start_micros).max(0) as u64);
            // Phase names are identifiers (no comma or space); a name that is not stays untagged.
            let _ = w.write_histogram(&c.response_micros, at, long, Tag::new(&p.name));
            if let Some(s) = c.service_micros.as_ref().filter(|s| !s.is_empty()) {
                let tag = format!("{}-service", p.name);
                let _ = w.write_histogram(s, at, long, Tag::new(&tag));
            }
        }
        drop(w);
        out.push(HistogramLog { file_name: format!("{channel}.{op}.hlog"), text });
    }
    out
}
