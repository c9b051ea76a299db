//! The dashboard's words in Vietnamese (the default), English and Arabic,
//! from `crates/dashboard/locales/{vi,en,ar}.json`: flat keys, one file per
//! language, checked by a test to have the same keys and placeholders.
//! Arabic pages are right to left; everything that depends on that asks
//! [`Texts::dir`].

use std::collections::HashMap;
use std::sync::OnceLock;

/// The languages the dashboard speaks, in the order the language switch
/// offers them; the first is the default.
pub const LANGS: [&str; 3] = ["vi", "en", "ar"];

/// The locale files, in the order of [`LANGS`].
const FILES: [&str; 3] = [
    include_str!("../locales/vi.json"),
    include_str!("../locales/en.json"),
    include_str!("../locales/ar.json"),
];

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
        static ALL: OnceLock<Vec<Texts>> = OnceLock::new();
        let all = ALL.get_or_init(|| LANGS.iter().zip(FILES).map(|(lang, json)| load(lang, json)).collect());
        let at = LANGS.iter().position(|l| *l == lang).unwrap_or(0);
        all.get(at)
            .or_else(|| all.first())
            .expect("LANGS and FILES are not empty")
    }

    /// The language's own name ("Tiếng Việt", "English", "العربية"), as the
    /// language switch shows it.
    pub fn name(&self) -> &str {
        self.get("lang.name")
    }

    /// Whether the language is written right to left.
    pub fn rtl(&self) -> bool {
        self.lang == "ar"
    }

    /// The writing direction, for `dir=""`: `rtl` or `ltr`.
    pub fn dir(&self) -> &'static str {
        if self.rtl() { "rtl" } else { "ltr" }
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

    fn parse(json: &str) -> HashMap<String, String> {
        serde_json::from_str(json).expect("valid JSON")
    }

    /// The `{name}` placeholders of a word, sorted.
    fn placeholders(word: &str) -> Vec<&str> {
        let mut found: Vec<&str> = word
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        found.sort_unstable();
        found
    }

    #[test]
    fn every_language_has_every_key_and_no_empty_word() {
        let vi = parse(FILES[0]);
        for (lang, json) in LANGS.iter().zip(FILES).skip(1) {
            let other = parse(json);
            let mut missing: Vec<&String> = vi.keys().filter(|k| !other.contains_key(*k)).collect();
            missing.extend(other.keys().filter(|k| !vi.contains_key(*k)));
            assert!(missing.is_empty(), "keys in vi or {lang} only: {missing:?}");
            for (key, word) in &other {
                assert!(!word.trim().is_empty(), "{lang}: {key} is empty");
                assert_eq!(
                    placeholders(word),
                    placeholders(&vi[key]),
                    "{lang}: {key} must keep the placeholders of vi"
                );
            }
        }
        assert!(vi.values().all(|w| !w.trim().is_empty()));
        assert_eq!(Texts::of("en").get("nav.overview"), "Overview");
        assert_eq!(Texts::of("ar").get("nav.overview"), "نظرة عامة");
        assert_eq!(Texts::of("fr").get("nav.overview"), "Tổng quan");
    }

    #[test]
    fn each_language_names_itself_and_arabic_is_right_to_left() {
        let names: Vec<&str> = LANGS.iter().map(|l| Texts::of(l).name()).collect();
        assert_eq!(names, ["Tiếng Việt", "English", "العربية"]);
        let dirs: Vec<&str> = LANGS.iter().map(|l| Texts::of(l).dir()).collect();
        assert_eq!(dirs, ["ltr", "ltr", "rtl"]);
        assert_eq!(Texts::of("fr").lang, "vi");
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
            include_str!("../templates/campaigns.html"),
        ] {
            for part in template.split("t.get(\"").skip(1) {
                let key = part.split('"').next().unwrap_or_default();
                assert!(vi.words.contains_key(key), "{key} is used but not in the locale files");
            }
        }
    }
}
