//! The dashboard's words in Vietnamese (the default) and English, from
//! `crates/dashboard/locales/{vi,en}.json`: flat keys, one file per language,
//! checked by a test to have the same keys.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The languages the dashboard speaks.
pub const LANGS: [&str; 2] = ["vi", "en"];

/// One language's words.
#[derive(Debug)]
pub struct Texts {
    /// The language code.
    pub lang: &'static str,
    words: HashMap<String, String>,
}

impl Texts {
    /// A word by key; the key itself when missing (a test keeps that from
    /// shipping).
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.words.get(key).map_or(key, String::as_str)
    }

    /// The words of a language (`vi` for anything unknown).
    pub fn of(lang: &str) -> &'static Texts {
        static ALL: OnceLock<[Texts; 2]> = OnceLock::new();
        let all = ALL.get_or_init(|| {
            [
                load("vi", include_str!("../locales/vi.json")),
                load("en", include_str!("../locales/en.json")),
            ]
        });
        if lang == "en" { &all[1] } else { &all[0] }
    }
}

fn load(lang: &'static str, json: &str) -> Texts {
    // A broken locale file is a build defect caught by the tests below;
    // the dashboard then shows keys instead of failing.
    let words = serde_json::from_str(json).unwrap_or_default();
    Texts { lang, words }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_every_key_and_no_empty_word() {
        let parse = |json: &str| -> HashMap<String, String> { serde_json::from_str(json).expect("valid JSON") };
        let vi = parse(include_str!("../locales/vi.json"));
        let en = parse(include_str!("../locales/en.json"));
        let mut missing: Vec<&String> = vi.keys().filter(|k| !en.contains_key(*k)).collect();
        missing.extend(en.keys().filter(|k| !vi.contains_key(*k)));
        assert!(missing.is_empty(), "keys in one language only: {missing:?}");
        assert!(vi.values().chain(en.values()).all(|w| !w.trim().is_empty()));
        assert_eq!(Texts::of("en").get("nav.overview"), "Overview");
        assert_eq!(Texts::of("fr").get("nav.overview"), "Tổng quan");
    }

    #[test]
    fn every_key_the_templates_use_exists() {
        let vi = Texts::of("vi");
        for template in [
            include_str!("../templates/base.html"),
            include_str!("../templates/login.html"),
            include_str!("../templates/overview.html"),
            include_str!("../templates/follow_ups.html"),
            include_str!("../templates/peer_spread.html"),
            include_str!("../templates/exports.html"),
            include_str!("../templates/devices.html"),
            include_str!("../templates/conflicts.html"),
            include_str!("../templates/code.html"),
            include_str!("../templates/members.html"),
        ] {
            for part in template.split("t.get(\"").skip(1) {
                let key = part.split('"').next().unwrap_or_default();
                assert!(vi.words.contains_key(key), "{key} is used but not in the locale files");
            }
        }
    }
}
