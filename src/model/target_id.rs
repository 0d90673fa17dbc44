//! Identifiers a target gives (payments, assessments, certificates), kept as they came.
//!
//! The reference model and the bundled contract use numbers; most real deployments answer
//! text ("p123", a UUID). Either way the driver only keeps the identifier, sends it back
//! where a later request names it, and writes it to the journal as it was received: it
//! never reads meaning into it.

use serde::de::{self, Visitor};
use std::fmt;

/// A target's identifier: a number, or any text.
///
/// Text is boxed twice so that the common case (a number) keeps the type at 16 bytes: every
/// agent holds two of them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum TargetId {
    Num(u64),
    // Boxed on purpose: see above (a `String` would make every id 24 bytes).
    #[allow(clippy::box_collection)]
    Text(Box<String>),
}

impl TargetId {
    pub(crate) fn text(s: impl Into<String>) -> TargetId {
        TargetId::Text(Box::new(s.into()))
    }

    /// The number, if the target gave one.
    pub(crate) fn num(&self) -> Option<u64> {
        match self {
            TargetId::Num(n) => Some(*n),
            TargetId::Text(_) => None,
        }
    }

    /// The identifier as JSON (a number or a string), appended to `out`.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            TargetId::Num(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            // Writing a string into a Vec cannot fail.
            TargetId::Text(t) => {
                let _ = serde_json::to_writer(&mut *out, t.as_str());
            }
        }
    }

    /// A stable 64-bit digest of the identifier (FNV-1a over its kind and content), never 0.
    pub(crate) fn digest(&self) -> u64 {
        let mut h = crate::hash::Fnv1a::new();
        match self {
            TargetId::Num(n) => h.bytes(b"n").u64(*n),
            TargetId::Text(t) => h.bytes(b"t").bytes(t.as_bytes()),
        };
        h.finish().max(1)
    }
}

impl From<u64> for TargetId {
    fn from(n: u64) -> TargetId {
        TargetId::Num(n)
    }
}

impl fmt::Display for TargetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetId::Num(n) => write!(f, "{n}"),
            TargetId::Text(t) => f.write_str(t),
        }
    }
}

impl serde::Serialize for TargetId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TargetId::Num(n) => s.serialize_u64(*n),
            TargetId::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> serde::Deserialize<'de> for TargetId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TargetId, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = TargetId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an identifier (a non-negative integer or a string)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<TargetId, E> {
                Ok(TargetId::Num(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<TargetId, E> {
                u64::try_from(v).map(TargetId::Num).map_err(|_| E::custom("a negative identifier"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TargetId, E> {
                Ok(TargetId::text(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_text_keep_their_form() {
        for (json, id) in [("17", TargetId::Num(17)), (r#""p123""#, TargetId::text("p123")), (r#""17""#, TargetId::text("17"))] {
            let back: TargetId = serde_json::from_str(json).unwrap();
            assert_eq!(back, id);
            assert_eq!(serde_json::to_string(&back).unwrap(), json);
            let mut out = Vec::new();
            id.write_json(&mut out);
            assert_eq!(String::from_utf8(out).unwrap(), json);
        }
        assert_ne!(TargetId::Num(17).digest(), TargetId::text("17").digest());
        assert!(serde_json::from_str::<TargetId>("-1").is_err());
        assert_eq!(std::mem::size_of::<TargetId>(), 16);
    }
}
