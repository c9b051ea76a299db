//! Vietnamese phone numbers.
//!
//! Residents give numbers in every shape: "0912 345 678", "+84 912.345.678",
//! "84912345678". We keep one national form ("0912345678") so duplicates are
//! found and the number can be dialled. Mobile numbers have 10 digits and
//! start with 03, 05, 07, 08 or 09; fixed lines have 11 digits and start with
//! 02 (Dien Bien's area code is 0215).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::BadText;

/// A phone number in national form, digits only, e.g. "0912345678".
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

/// Whether a number is a mobile or a fixed line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneLine {
    /// A mobile number: can receive the SMS codes the apps send.
    Mobile,
    /// A fixed line: cannot receive SMS.
    Fixed,
}

impl Phone {
    /// Reads a number as a person would write it.
    pub fn parse(raw: &str) -> Result<Phone, BadText> {
        let trimmed = raw.trim();
        let allowed = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '.' | '-' | '(' | ')' | '+');
        if trimmed.is_empty() {
            return Err(BadText::new("phone", raw, "is empty"));
        }
        if let Some(bad) = trimmed.chars().find(|c| !allowed(*c)) {
            return Err(BadText::new(
                "phone",
                raw,
                format!("contains {bad:?}; use digits only, e.g. 0912345678"),
            ));
        }
        let plus = trimmed.find('+');
        if let Some(at) = plus
            && (trimmed[..at].chars().any(|c| c.is_ascii_digit()) || trimmed.matches('+').count() > 1)
        {
            return Err(BadText::new("phone", raw, "has a '+' that is not at the start"));
        }
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        let national = if plus.is_some() {
            match digits.strip_prefix("84") {
                Some(rest) => format!("0{rest}"),
                None => {
                    return Err(BadText::new("phone", raw, "is not a Vietnamese number (+84)"));
                }
            }
        } else if digits.starts_with("84") && (digits.len() == 11 || digits.len() == 12) {
            format!("0{}", &digits[2..])
        } else {
            digits
        };
        let ok = match national.as_bytes() {
            [b'0', b'3' | b'5' | b'7' | b'8' | b'9', ..] => national.len() == 10,
            [b'0', b'2', ..] => national.len() == 11,
            _ => false,
        };
        if !ok {
            return Err(BadText::new(
                "phone",
                raw,
                "is not a Vietnamese phone number (a mobile has 10 digits and starts with 03, 05, 07, 08 or 09, e.g. 0912345678; a fixed line has 11 digits and starts with 02)",
            ));
        }
        Ok(Phone(national))
    }

    /// The number in national form, digits only.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Mobile or fixed line.
    pub fn line(&self) -> PhoneLine {
        if self.0.starts_with("02") {
            PhoneLine::Fixed
        } else {
            PhoneLine::Mobile
        }
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Phone numbers are personal data: debug output hides all but the last
/// two digits, so a stray `{:?}` in a log line leaks nothing useful.
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = &self.0[self.0.len().saturating_sub(2)..];
        write!(f, "Phone(…{tail})")
    }
}

impl TryFrom<String> for Phone {
    type Error = BadText;
    fn try_from(s: String) -> Result<Phone, BadText> {
        Phone::parse(&s)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_usual_shapes() {
        for raw in [
            "0912345678",
            "0912 345 678",
            "+84 912.345.678",
            "84912345678",
            "(+84) 912-345-678",
        ] {
            let phone = Phone::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(phone.as_str(), "0912345678", "{raw}");
            assert_eq!(phone.line(), PhoneLine::Mobile);
        }
        let fixed = Phone::parse("0215 382 4567").expect("Dien Bien fixed line");
        assert_eq!(fixed.as_str(), "02153824567");
        assert_eq!(fixed.line(), PhoneLine::Fixed);
    }

    #[test]
    fn rejects_with_the_value_named() {
        for raw in [
            "12345",
            "0112345678",
            "091234567",
            "+1 415 555 0100",
            "09123a5678",
            "",
            "09+12345678",
        ] {
            let err = Phone::parse(raw).expect_err(raw);
            assert_eq!(err.field, "phone");
            assert!(err.to_string().contains(&format!("{raw:?}")), "{err}");
        }
    }

    #[test]
    fn debug_output_hides_the_number() {
        let phone = Phone::parse("0912345678").expect("valid");
        assert_eq!(format!("{phone:?}"), "Phone(…78)");
    }
}
