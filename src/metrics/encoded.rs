//! Histograms as text, for a shard's part file (`run --shard`, read back by `cutover merge`):
//! HdrHistogram's own V2 deflate encoding in base64, so that a merge adds the very counts a
//! shard recorded (never its percentiles). Each function is a `#[serde(with = ...)]` module for
//! one shape a histogram is kept in.

use base64::Engine;
use hdrhistogram::serialization::{Deserializer as HdrReader, Serializer as _, V2DeflateSerializer};
use hdrhistogram::{Counter, Histogram};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A histogram as base64 text of its V2 deflate encoding.
pub(crate) fn to_text<T: Counter>(h: &Histogram<T>) -> String {
    let mut bytes = Vec::new();
    // Writing into a vector cannot fail for want of room; an encoding error leaves it empty,
    // which reads back as an error rather than as an empty histogram.
    let _ = V2DeflateSerializer::new().serialize(h, &mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The histogram [`to_text`] wrote.
pub(crate) fn from_text<T: Counter>(text: &str) -> Result<Histogram<T>, String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| format!("a histogram's base64: {e}"))?;
    HdrReader::new().deserialize(&mut bytes.as_slice()).map_err(|e| format!("a histogram's encoding: {e:?}"))
}

pub(crate) mod one {
    use super::*;
    pub(crate) fn serialize<T: Counter, S: Serializer>(h: &Histogram<T>, s: S) -> Result<S::Ok, S::Error> {
        to_text(h).serialize(s)
    }
    pub(crate) fn deserialize<'de, T: Counter, D: Deserializer<'de>>(d: D) -> Result<Histogram<T>, D::Error> {
        from_text(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

pub(crate) mod optional {
    use super::*;
    pub(crate) fn serialize<T: Counter, S: Serializer>(h: &Option<Histogram<T>>, s: S) -> Result<S::Ok, S::Error> {
        h.as_ref().map(to_text).serialize(s)
    }
    pub(crate) fn deserialize<'de, T: Counter, D: Deserializer<'de>>(d: D) -> Result<Option<Histogram<T>>, D::Error> {
        Option::<String>::deserialize(d)?.map(|t| from_text(&t)).transpose().map_err(serde::de::Error::custom)
    }
}

pub(crate) mod optional_boxed {
    use super::*;
    pub(crate) fn serialize<T: Counter, S: Serializer>(h: &Option<Box<Histogram<T>>>, s: S) -> Result<S::Ok, S::Error> {
        h.as_deref().map(to_text).serialize(s)
    }
    pub(crate) fn deserialize<'de, T: Counter, D: Deserializer<'de>>(d: D) -> Result<Option<Box<Histogram<T>>>, D::Error> {
        Option::<String>::deserialize(d)?.map(|t| from_text(&t).map(Box::new)).transpose().map_err(serde::de::Error::custom)
    }
}

pub(crate) mod list_of_optional {
    use super::*;
    pub(crate) fn serialize<T: Counter, S: Serializer>(hs: &[Option<Histogram<T>>], s: S) -> Result<S::Ok, S::Error> {
        hs.iter().map(|h| h.as_ref().map(to_text)).collect::<Vec<_>>().serialize(s)
    }
    pub(crate) fn deserialize<'de, T: Counter, D: Deserializer<'de>>(d: D) -> Result<Vec<Option<Histogram<T>>>, D::Error> {
        Vec::<Option<String>>::deserialize(d)?
            .into_iter()
            .map(|t| t.map(|t| from_text(&t)).transpose())
            .collect::<Result<_, _>>()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_histogram_reads_back_with_every_count() {
        let mut h = crate::metrics::latency_histogram();
        for v in [1u64, 7, 900, 12_345, 3_600_000_000, 3_600_000_000] {
            h.record(v).unwrap();
        }
        let back: hdrhistogram::Histogram<u64> = super::from_text(&super::to_text(&h)).unwrap();
        assert_eq!(back, h);
        assert_eq!(back.len(), 6);
        assert_eq!(back.max(), h.max());
        assert!(super::from_text::<u64>("not base64!").is_err());
    }
}
