//! Macros shared inside the crate.

/// Declares a closed vocabulary of snake_case codes: an enum with `ALL`,
/// `CODES`, `as_str`, `FromStr` (with a message listing the allowed codes)
/// and serde as the code text.
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every code, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every code as text, in display order.
            pub const CODES: &'static [&'static str] = &[$($code),+];
            /// What the vocabulary is called in messages.
            pub const WHAT: &'static str = $what;

            /// The stored code.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::vocab::UnknownCode;
            fn from_str(s: &str) -> Result<$name, $crate::vocab::UnknownCode> {
                let wanted = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
                match wanted.as_str() {
                    $($code => Ok($name::$variant),)+
                    _ => Err($crate::vocab::UnknownCode {
                        what: $what,
                        value: s.to_owned(),
                        allowed: Self::CODES.join(", "),
                    }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::vocab::UnknownCode;
            fn try_from(s: String) -> Result<$name, $crate::vocab::UnknownCode> {
                s.parse()
            }
        }

        impl From<$name> for &'static str {
            fn from(v: $name) -> &'static str {
                v.as_str()
            }
        }
    };
}

pub(crate) use vocabulary;
