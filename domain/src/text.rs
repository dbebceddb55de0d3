//! Bounded, trimmed text fields (names, descriptions, notes). None holds a
//! control character other than a line break or tab: a NUL byte in
//! particular is text PostgreSQL cannot store, so it is refused here, at the
//! edge, and never reaches a commit.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must not contain control characters")]
    Control,
}

/// `raw` trimmed, if it holds 1..=`max` characters and no control character
/// but those `allowed`.
fn bounded(raw: &str, max: usize, allowed: impl Fn(char) -> bool) -> Result<String, TextError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(TextError::Empty);
    }
    // As sent: the limit the API document states is on what a client sends.
    if raw.chars().count() > max {
        return Err(TextError::TooLong(max));
    }
    if s.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(TextError::Control);
    }
    Ok(s.to_owned())
}

/// Trimmed text, 1..=`MAX` characters, no control characters. Used for names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub const MAX: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, TextError> {
        bounded(raw, Self::MAX, |_| false).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Free text kept with a ledger row (an adjustment's or cancellation's
/// reason): trimmed, 1..=`MAX` characters, lines and tabs allowed, no other
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Note(String);

impl Note {
    pub const MAX: usize = 500;

    pub fn parse(raw: &str) -> Result<Self, TextError> {
        bounded(raw, Self::MAX, |c| c == '\n' || c == '\t').map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A message a business writes to its customers (a mailing's body):
/// trimmed, 1..=`MAX` characters, lines and tabs allowed, no other control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Prose(String);

impl Prose {
    pub const MAX: usize = 5000;

    pub fn parse(raw: &str) -> Result<Self, TextError> {
        bounded(raw, Self::MAX, |c| c == '\n' || c == '\t').map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(Name::parse("  Café Uno ").map(|n| n.0), Ok("Café Uno".into()));
        assert_eq!(Name::parse(" "), Err(TextError::Empty));
        assert_eq!(Name::parse(&"x".repeat(201)), Err(TextError::TooLong(200)));
        assert_eq!(Name::parse("a\u{0}b"), Err(TextError::Control));
        assert!(Name::parse(&"é".repeat(200)).is_ok(), "counts characters, not bytes");
    }

    #[test]
    fn notes_keep_lines_but_no_nul() {
        assert_eq!(Note::parse(" wrong card\nscanned twice ").map(|n| n.0), Ok("wrong card\nscanned twice".into()));
        assert_eq!(Note::parse("a\u{0}b"), Err(TextError::Control));
        assert_eq!(Note::parse("a\u{1b}[2Jb"), Err(TextError::Control));
        assert_eq!(Note::parse(&"x".repeat(501)), Err(TextError::TooLong(500)));
        assert_eq!(Note::parse("  "), Err(TextError::Empty));
    }
}
