//! Secrets the tool was given (a profile's tokens and keys read from the environment or a
//! file, the admin token): registered where they are read, and taken out of every text the
//! tool writes (report files, failure samples, error messages), so that none is ever shown.

use std::borrow::Cow;
use std::sync::RwLock;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Shorter values are not taken out of free text (they would match ordinary words and
/// break the files); bearer tokens in failure samples are redacted whatever their length.
pub const SHORTEST: usize = 6;

/// Keep `value` out of every output from now on (values shorter than [`SHORTEST`] are not).
pub fn register(value: &str) {
    let value = value.trim();
    if value.chars().count() < SHORTEST {
        return;
    }
    let mut s = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    if !s.iter().any(|x| x == value) {
        s.push(value.to_string());
        // Longest first: a secret that contains another is replaced whole.
        s.sort_by_key(|x| std::cmp::Reverse(x.len()));
    }
}

/// `text` with every registered secret replaced by [`REDACTED`].
pub fn redact(text: &str) -> Cow<'_, str> {
    let s = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    if !s.iter().any(|x| text.contains(x.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for x in s.iter() {
        out = out.replace(x.as_str(), REDACTED);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_redacted_and_nothing_else() {
        register("tok-3f9a2c-registered-secret");
        register("tok-3f9a2c-registered-secret-longer");
        let text = "Authorization: Bearer tok-3f9a2c-registered-secret-longer, again tok-3f9a2c-registered-secret.";
        assert_eq!(redact(text), "Authorization: Bearer [redacted], again [redacted].");
        assert!(matches!(redact("nothing secret here"), Cow::Borrowed(_)));
    }
}
