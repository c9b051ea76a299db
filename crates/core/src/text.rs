//! Validated text fields: names, places, notes, language codes.
//!
//! Text is checked once, at the edge (CLI, CSV import, sync), and stored in
//! these newtypes afterwards (zero-to-production's "parse, don't validate").
//! Names are Unicode-normalised (NFC) so that "Lò Văn Hùng" typed on two
//! keyboards compares equal, and whitespace is collapsed; notes are kept
//! verbatim apart from the length limit and control characters.

use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A text field value that breaks its rule. The message names the field and
/// the value so the person who typed it can find and fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {value:?} {problem}")]
pub struct BadText {
    /// Which field was being read ("head of household name", "phone", ...).
    pub field: &'static str,
    /// The value as given (shortened if very long).
    pub value: String,
    /// What is wrong with it, phrased to follow the value.
    pub problem: String,
}

impl BadText {
    pub(crate) fn new(field: &'static str, value: &str, problem: impl Into<String>) -> BadText {
        const SHOWN: usize = 60;
        let value = if value.chars().count() > SHOWN {
            let mut short: String = value.chars().take(SHOWN).collect();
            short.push('…');
            short
        } else {
            value.to_owned()
        };
        BadText {
            field,
            value,
            problem: problem.into(),
        }
    }
}

/// Collapses runs of whitespace to one space, trims, and NFC-normalises.
fn tidy(raw: &str) -> String {
    let nfc: String = raw.nfc().collect();
    nfc.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn check_line(field: &'static str, raw: &str, max_chars: usize) -> Result<String, BadText> {
    if raw.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return Err(BadText::new(field, raw, "contains control characters"));
    }
    let tidy = tidy(raw);
    if tidy.is_empty() {
        return Err(BadText::new(field, raw, "is empty"));
    }
    let count = tidy.chars().count();
    if count > max_chars {
        return Err(BadText::new(
            field,
            raw,
            format!("is {count} characters long (at most {max_chars})"),
        ));
    }
    Ok(tidy)
}

macro_rules! line_text {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr, needs_letter = $letter:expr, personal = $personal:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Longest accepted value, in characters.
            pub const MAX_CHARS: usize = $max;

            /// Checks and tidies a value typed by a person or read from a file.
            pub fn parse(raw: &str) -> Result<$name, BadText> {
                let text = check_line($field, raw, $max)?;
                if $letter && !text.chars().any(char::is_alphabetic) {
                    return Err(BadText::new($field, raw, "has no letters"));
                }
                Ok($name(text))
            }

            /// The tidied text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if $personal {
                    // Personal data: a stray `{:?}` in a log must not leak it.
                    write!(f, "{}({} chars)", stringify!($name), self.0.chars().count())
                } else {
                    write!(f, "{}({:?})", stringify!($name), self.0)
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = BadText;
            fn try_from(s: String) -> Result<$name, BadText> {
                $name::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

line_text!(
    /// A person's full name as written on the household register,
    /// e.g. "Lò Văn Hùng" or "Giàng A Páo".
    PersonName, "name", 100, needs_letter = true, personal = true
);
line_text!(
    /// The name of a commune, village, campaign or unit.
    PlaceName, "place name", 100, needs_letter = true, personal = false
);
line_text!(
    /// How to find a house: "next to the school, blue gate".
    Landmark, "landmark", 200, needs_letter = false, personal = true
);

/// Free notes: kept as typed (line breaks included), up to 2,000 characters.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Notes(String);

impl Notes {
    /// Longest accepted note, in characters.
    pub const MAX_CHARS: usize = 2000;

    /// Checks a note; only the length and control characters are limited.
    pub fn parse(raw: &str) -> Result<Notes, BadText> {
        if raw.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(BadText::new("notes", raw, "contain control characters"));
        }
        let count = raw.chars().count();
        if count > Self::MAX_CHARS {
            return Err(BadText::new(
                "notes",
                raw,
                format!("are {count} characters long (at most {})", Self::MAX_CHARS),
            ));
        }
        Ok(Notes(raw.nfc().collect()))
    }

    /// The note text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Notes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Notes({} chars)", self.0.chars().count())
    }
}

impl TryFrom<String> for Notes {
    type Error = BadText;
    fn try_from(s: String) -> Result<Notes, BadText> {
        Notes::parse(&s)
    }
}

impl From<Notes> for String {
    fn from(v: Notes) -> String {
        v.0
    }
}

/// A language a household speaks at home, as a BCP 47 tag: "vi", "hmn"
/// (Hmong), "tdd" (Tai Nüa), "blt" (Tai Dam), "th", "en-GB".
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LanguageTag(String);

impl LanguageTag {
    /// Checks the shape of a tag: a 2-3 letter language, then optional
    /// subtags of 2-8 letters or digits, separated by hyphens.
    pub fn parse(raw: &str) -> Result<LanguageTag, BadText> {
        let tag = raw.trim();
        let mut parts = tag.split('-');
        let lang = parts.next().unwrap_or_default();
        let lang_ok = (2..=3).contains(&lang.len()) && lang.chars().all(|c| c.is_ascii_alphabetic());
        let rest_ok = parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
        if !lang_ok || !rest_ok {
            return Err(BadText::new(
                "language",
                raw,
                "is not a language code (expected e.g. vi, hmn, en)",
            ));
        }
        Ok(LanguageTag(tag.to_ascii_lowercase()))
    }

    /// The tag, lower-case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LanguageTag({})", self.0)
    }
}

impl TryFrom<String> for LanguageTag {
    type Error = BadText;
    fn try_from(s: String) -> Result<LanguageTag, BadText> {
        LanguageTag::parse(&s)
    }
}

impl From<LanguageTag> for String {
    fn from(v: LanguageTag) -> String {
        v.0
    }
}

/// A short machine key: a checklist pack key ("vneid") or a step id
/// ("install-app"). Lower-case ASCII letters, digits, '-' and '_', starting
/// with a letter, at most 40 characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Key(String);

impl Key {
    /// Checks a key.
    pub fn parse(raw: &str) -> Result<Key, BadText> {
        crate::schema::check_key(raw).map_err(|problem| BadText {
            field: "key",
            value: raw.to_owned(),
            problem: problem.replacen(&format!("{raw:?} "), "", 1),
        })?;
        Ok(Key(raw.to_owned()))
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.0)
    }
}

impl TryFrom<String> for Key {
    type Error = BadText;
    fn try_from(s: String) -> Result<Key, BadText> {
        Key::parse(&s)
    }
}

impl From<Key> for String {
    fn from(k: Key) -> String {
        k.0
    }
}

/// A key for matching names typed in different ways: lower-case, without
/// diacritics (đ becomes d), single spaces. "Tà Tú", "ta tu" and "TA  TU"
/// share the key "ta tu". Used to find villages by name and duplicate rows.
pub fn match_key(raw: &str) -> String {
    let folded: String = raw
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            other => other,
        })
        .flat_map(char::to_lowercase)
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_tidied_and_normalised() {
        let decomposed = "Lo\u{300} Va\u{306}n  Hu\u{300}ng ";
        let name = PersonName::parse(decomposed).expect("valid");
        assert_eq!(name.as_str(), "Lò Văn Hùng");
        assert_eq!(name, PersonName::parse("Lò Văn Hùng").expect("valid"));
    }

    #[test]
    fn bad_names_say_why() {
        for (raw, why) in [("   ", "is empty"), ("1234", "has no letters"), ("a\u{0}b", "control")] {
            let err = PersonName::parse(raw).expect_err(raw);
            assert!(err.to_string().contains(why), "{raw:?}: {err}");
        }
        let long = "a".repeat(101);
        assert!(
            PersonName::parse(&long)
                .expect_err("long")
                .to_string()
                .contains("101 characters")
        );
    }

    #[test]
    fn notes_keep_line_breaks_and_sql_looking_text() {
        let raw = "Robert'); DROP TABLE household;--\nline two";
        assert_eq!(Notes::parse(raw).expect("valid").as_str(), raw);
        assert!(Notes::parse(&"x".repeat(2001)).is_err());
    }

    #[test]
    fn language_tags() {
        assert_eq!(LanguageTag::parse("HMN").expect("valid").as_str(), "hmn");
        assert!(LanguageTag::parse("en-GB").is_ok());
        assert!(LanguageTag::parse("Vietnamese").is_err());
        assert!(LanguageTag::parse("").is_err());
    }

    #[test]
    fn match_keys_ignore_case_diacritics_and_spacing() {
        assert_eq!(match_key("Tà  Tú"), "ta tu");
        assert_eq!(match_key("TAM TU"), "tam tu");
        assert_eq!(match_key("Đồng Văn"), "dong van");
    }
}
