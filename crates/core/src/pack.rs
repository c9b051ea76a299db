//! Checklist packs: the guided checklists as versioned, translated data.
//!
//! A pack ("vneid", "vssid", ...) is a list of steps a volunteer goes through
//! with a resident on the resident's own phone. Packs are data, not code:
//! TOML files in `assets/packs/`, checked by [`Pack::validate`] in CI, sent by
//! the server, and stored on the tablet by `(key, version)` so that a run
//! keeps the version it started with.
//!
//! Validation reports **every** problem with its location (file, step,
//! field, locale) so a translator fixing a pack sees the whole list at once.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::schema::{check_key, parse_date};
use crate::vocab::BlockerReason;

/// The pack file format this build reads.
pub const PACK_SCHEMA: u32 = 1;

/// Locales every pack must be complete in: Vietnamese is the reference,
/// English for partners, Arabic exercises right-to-left layout.
pub const REQUIRED_LOCALES: &[&str] = &["vi", "en", "ar"];

/// One text in several languages, by locale code.
pub type Localized = BTreeMap<String, String>;

crate::macros::vocabulary!(
    /// What a resident needs before a pack can be done.
    Prerequisite, "prerequisite" {
        /// An Android or iOS phone.
        Smartphone = "smartphone",
        /// A chip-based citizen ID card.
        ChipIdCard = "chip_id_card",
        /// A phone number registered in the resident's own name.
        PhoneInOwnName = "phone_in_own_name",
        /// Can receive SMS codes on that number.
        SmsAccess = "sms_access",
        /// Mobile data or Wi-Fi during the session.
        Internet = "internet",
        /// An activated level-2 electronic ID (VNeID).
        VneidLevel2 = "vneid_level2",
        /// A bank account or e-wallet linked to the phone.
        BankOrWallet = "bank_or_wallet",
        /// A social-insurance or health-insurance number.
        InsuranceNumber = "insurance_number",
        /// The customer code printed on an electricity or water bill.
        BillCustomerCode = "bill_customer_code",
        /// An e-mail address the resident can open.
        Email = "email",
    }
);

crate::macros::vocabulary!(
    /// A kind of smartphone a pack works on.
    PhoneKind, "phone kind" {
        /// An Android phone.
        Android = "android",
        /// An iPhone.
        Iphone = "iphone",
    }
);

crate::macros::vocabulary!(
    /// How much a pack depends on the phone reading the chip ID card by NFC.
    NfcUse, "NFC use" {
        /// Without NFC the pack cannot be finished.
        Needed = "needed",
        /// NFC makes a step easier; there is another way without it.
        Helps = "helps",
    }
);

/// The smartphone a pack needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneNeeds {
    /// Kinds of phone the apps exist for ([`PhoneKind`] codes).
    pub kinds: Vec<String>,
    /// Oldest Android version, where an official source states it ("8.0").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_android: Option<String>,
    /// Oldest iOS version, where an official source states it ("13.0").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ios: Option<String>,
    /// Whether reading the chip card by NFC is needed or helps ([`NfcUse`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfc: Option<String>,
}

/// Where a pack's facts come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Page title.
    pub title: String,
    /// Official page address.
    pub url: String,
    /// When the facts were last checked against it, `YYYY-MM-DD`.
    pub checked_on: String,
}

/// One step of a checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Stable id, unique in the pack ("install", "register").
    pub id: String,
    /// Short title.
    pub title: Localized,
    /// One instruction a person who reads little can follow.
    pub instruction: Localized,
    /// A tip for the volunteer.
    #[serde(default)]
    pub tip: Localized,
    /// How the volunteer checks that the step worked.
    pub verify: Localized,
    /// Blocker reasons that apply to this step.
    pub blockers: Vec<String>,
    /// Picture for the step, relative to `assets/illustrations/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub illustration: Option<String>,
}

/// A checklist pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    /// File format version ([`PACK_SCHEMA`]).
    pub schema: u32,
    /// Stable key ("vneid").
    pub key: String,
    /// Bumped whenever steps change.
    pub version: u32,
    /// Title.
    pub title: Localized,
    /// One or two sentences on what the resident gains.
    pub summary: Localized,
    /// What the resident needs first.
    #[serde(default)]
    pub requires: Vec<String>,
    /// The smartphone it needs; required when `requires` has "smartphone".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneNeeds>,
    /// Who the pack is for when that is not every resident (e.g. trainees).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Official pages the steps were checked against.
    pub sources: Vec<Source>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// One problem in a pack, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackProblem {
    /// The file, when known (set by whoever read the file).
    pub file: Option<String>,
    /// Where in the pack: `steps[2] "register" > instruction > ar`.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PackProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        if self.location.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.location, self.message)
        }
    }
}

/// What validation needs to know besides the pack itself.
#[derive(Debug, Clone)]
pub struct PackContext<'a> {
    /// Locales that must be complete.
    pub required_locales: &'a [&'a str],
    /// Illustration files that exist, relative to `assets/illustrations/`;
    /// `None` skips the check (when validating a pack received over sync).
    pub illustrations: Option<&'a BTreeSet<String>>,
}

impl Default for PackContext<'_> {
    fn default() -> Self {
        PackContext {
            required_locales: REQUIRED_LOCALES,
            illustrations: None,
        }
    }
}

impl Pack {
    /// Reads a pack from TOML. A syntax error or unknown field is one
    /// problem with its line and column; call [`Pack::validate`] next.
    pub fn from_toml(text: &str) -> Result<Pack, PackProblem> {
        toml::from_str(text).map_err(|e| {
            let location = e
                .span()
                .map(|span| {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}")
                })
                .unwrap_or_default();
            PackProblem {
                file: None,
                location,
                message: e.message().to_owned(),
            }
        })
    }

    /// The step ids in order.
    pub fn step_ids(&self) -> Vec<&str> {
        self.steps.iter().map(|s| s.id.as_str()).collect()
    }

    /// One step by id.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// A text in the wanted locale, falling back to Vietnamese (the
    /// reference), then to any locale present.
    pub fn text<'a>(text: &'a Localized, locale: &str) -> &'a str {
        text.get(locale)
            .or_else(|| text.get("vi"))
            .or_else(|| text.values().next())
            .map_or("", String::as_str)
    }

    /// Every problem in the pack.
    pub fn validate(&self, ctx: &PackContext<'_>) -> Vec<PackProblem> {
        let mut out = Vec::new();
        let mut problem = |location: String, message: String| {
            out.push(PackProblem {
                file: None,
                location,
                message,
            });
        };
        if self.schema != PACK_SCHEMA {
            problem(
                "schema".into(),
                format!(
                    "pack schema {} is not supported (this build reads {PACK_SCHEMA})",
                    self.schema
                ),
            );
        }
        if let Err(e) = check_key(&self.key) {
            problem("key".into(), e);
        }
        if self.version == 0 {
            problem("version".into(), "version starts at 1".into());
        }
        if let Some(a) = &self.audience
            && a != "trainee"
        {
            problem("audience".into(), format!("unknown audience {a:?} (expected: trainee)"));
        }
        check_localized(&mut problem, "title", &self.title, ctx, true);
        check_localized(&mut problem, "summary", &self.summary, ctx, true);
        for (i, r) in self.requires.iter().enumerate() {
            if let Err(e) = r.parse::<Prerequisite>() {
                problem(format!("requires[{i}]"), e.to_string());
            }
        }
        self.check_phone(&mut problem);
        if self.sources.is_empty() {
            problem(
                "sources".into(),
                "name at least one official source and when it was checked".into(),
            );
        }
        for (i, s) in self.sources.iter().enumerate() {
            if !(s.url.starts_with("https://") || s.url.starts_with("http://")) {
                problem(
                    format!("sources[{i}] > url"),
                    format!("{:?} is not a web address (https:// or http://)", s.url),
                );
            }
            if let Err(e) = parse_date(&s.checked_on) {
                problem(format!("sources[{i}] > checked_on"), e);
            }
            if s.title.trim().is_empty() {
                problem(format!("sources[{i}] > title"), "is empty".into());
            }
        }
        if self.steps.is_empty() {
            problem("steps".into(), "a pack needs at least one step".into());
        }
        let mut ids = BTreeMap::new();
        for (i, step) in self.steps.iter().enumerate() {
            let at = format!("steps[{i}] {:?}", step.id);
            if let Err(e) = check_key(&step.id) {
                problem(format!("{at} > id"), e);
            }
            if let Some(first) = ids.insert(step.id.as_str(), i) {
                problem(format!("{at} > id"), format!("duplicate step id (also steps[{first}])"));
            }
            check_localized(&mut problem, &format!("{at} > title"), &step.title, ctx, true);
            check_localized(
                &mut problem,
                &format!("{at} > instruction"),
                &step.instruction,
                ctx,
                true,
            );
            check_localized(&mut problem, &format!("{at} > verify"), &step.verify, ctx, true);
            check_localized(&mut problem, &format!("{at} > tip"), &step.tip, ctx, false);
            if step.blockers.is_empty() {
                problem(
                    format!("{at} > blockers"),
                    "list the blocker reasons that apply (at least \"other\")".into(),
                );
            }
            let mut seen = BTreeSet::new();
            for (j, b) in step.blockers.iter().enumerate() {
                if let Err(e) = b.parse::<BlockerReason>() {
                    problem(format!("{at} > blockers[{j}]"), e.to_string());
                } else if !seen.insert(b) {
                    problem(format!("{at} > blockers[{j}]"), format!("{b:?} is listed twice"));
                }
            }
            if let Some(path) = &step.illustration {
                if !illustration_path_ok(path) {
                    problem(
                        format!("{at} > illustration"),
                        format!(
                            "{path:?} must be a path like \"vneid/install.svg\": lower-case letters, digits, \
                             '-' and '_' in folders and name, '/' between them"
                        ),
                    );
                } else if ctx.illustrations.is_some_and(|files| !files.contains(path)) {
                    problem(
                        format!("{at} > illustration"),
                        format!("file {path:?} not found in the illustrations directory"),
                    );
                }
            }
        }
        out
    }

    fn check_phone(&self, problem: &mut impl FnMut(String, String)) {
        let needs_phone = self.requires.iter().any(|r| r == Prerequisite::Smartphone.as_str());
        let Some(phone) = &self.phone else {
            if needs_phone {
                problem(
                    "phone".into(),
                    "requires \"smartphone\": say which kinds in a [phone] table".into(),
                );
            }
            return;
        };
        if !needs_phone {
            problem(
                "phone".into(),
                "a [phone] table without \"smartphone\" in requires".into(),
            );
        }
        if phone.kinds.is_empty() {
            problem(
                "phone > kinds".into(),
                "name at least one kind (android, iphone)".into(),
            );
        }
        for (i, kind) in phone.kinds.iter().enumerate() {
            if let Err(e) = kind.parse::<PhoneKind>() {
                problem(format!("phone > kinds[{i}]"), e.to_string());
            }
        }
        for (field, version) in [("min_android", &phone.min_android), ("min_ios", &phone.min_ios)] {
            if let Some(v) = version {
                let parts: Vec<&str> = v.split('.').collect();
                let ok = parts.len() <= 3
                    && parts
                        .iter()
                        .all(|p| !p.is_empty() && p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit()));
                if !ok {
                    problem(
                        format!("phone > {field}"),
                        format!("{v:?} is not a version number like \"8.0\""),
                    );
                }
            }
        }
        if let Some(nfc) = &phone.nfc
            && let Err(e) = nfc.parse::<NfcUse>()
        {
            problem("phone > nfc".into(), e.to_string());
        }
    }

    /// Whether the steps (what a run depends on) differ from another pack's.
    pub fn steps_differ(&self, other: &Pack) -> bool {
        self.steps != other.steps
    }

    /// A problem if `self` changed steps relative to `previous` (the last
    /// committed or installed version) without bumping the version.
    pub fn check_bump(&self, previous: &Pack) -> Option<PackProblem> {
        if self.steps_differ(previous) && self.version <= previous.version {
            Some(PackProblem {
                file: None,
                location: "version".into(),
                message: format!(
                    "steps changed but version is still {} (the previous version is {}); bump it",
                    self.version, previous.version
                ),
            })
        } else {
            None
        }
    }

    /// The blocker reasons of a step, parsed (unknown codes skipped: a
    /// validated pack has none).
    pub fn blockers(step: &Step) -> Vec<BlockerReason> {
        step.blockers.iter().filter_map(|b| b.parse().ok()).collect()
    }
}

fn check_localized(
    problem: &mut impl FnMut(String, String),
    at: &str,
    text: &Localized,
    ctx: &PackContext<'_>,
    required: bool,
) {
    if !required && text.is_empty() {
        return;
    }
    for locale in ctx.required_locales {
        match text.get(*locale) {
            None => problem(format!("{at} > {locale}"), "missing translation".into()),
            Some(s) if s.trim().is_empty() => problem(format!("{at} > {locale}"), "empty translation".into()),
            Some(_) => {}
        }
    }
    if let Some(reference) = text.get("vi") {
        for (locale, s) in text {
            if locale != "vi" && s == reference && s.split_whitespace().count() >= 4 {
                problem(format!("{at} > {locale}"), "same text as vi: not translated".into());
            }
        }
    }
    if let Some(s) = text.get("ar")
        && !s.trim().is_empty()
        && !s.chars().any(is_arabic_letter)
    {
        problem(format!("{at} > ar"), "has no Arabic letters: not translated".into());
    }
    for locale in text.keys() {
        let known =
            locale.len() >= 2 && locale.len() <= 8 && locale.chars().all(|c| c.is_ascii_lowercase() || c == '-');
        if !known {
            problem(format!("{at} > {locale}"), format!("{locale:?} is not a locale code"));
        }
    }
}

/// Whether a picture path is plain: `[a-z0-9_-]+` parts joined by `/`,
/// ending in `.svg`. Packs arrive over sync, so nothing like `..`, `\\` or
/// `C:` may reach a file lookup.
fn illustration_path_ok(path: &str) -> bool {
    let Some(stem) = path.strip_suffix(".svg") else {
        return false;
    };
    stem.split('/').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    })
}

/// A letter of the Arabic script (the main block and its presentation forms).
fn is_arabic_letter(c: char) -> bool {
    matches!(c, '\u{0620}'..='\u{064A}' | '\u{066E}'..='\u{06D3}' | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
schema = 1
key = "demo"
version = 1
title = { vi = "Thử", en = "Try", ar = "تجربة" }
summary = { vi = "Thử", en = "Try", ar = "تجربة" }
requires = ["smartphone"]
phone = { kinds = ["android", "iphone"], nfc = "helps" }

[[sources]]
title = "Cổng dịch vụ công quốc gia"
url = "https://dichvucong.gov.vn"
checked_on = "2026-11-20"

[[steps]]
id = "install"
title = { vi = "Cài đặt", en = "Install", ar = "التثبيت" }
instruction = { vi = "Mở CH Play", en = "Open Play Store", ar = "افتح متجر Play" }
verify = { vi = "Có biểu tượng", en = "Icon shows", ar = "تظهر الأيقونة" }
blockers = ["no_smartphone", "other"]
illustration = "demo/install.svg"
"#;

    fn problems(text: &str) -> Vec<String> {
        let pack = Pack::from_toml(text).expect("parses");
        let files: BTreeSet<String> = ["demo/install.svg".to_owned()].into();
        let ctx = PackContext {
            illustrations: Some(&files),
            ..PackContext::default()
        };
        pack.validate(&ctx).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_good_pack_has_no_problems() {
        assert_eq!(problems(GOOD), Vec::<String>::new());
    }

    #[test]
    fn each_problem_names_its_place() {
        let broken = GOOD
            .replace(r#", ar = "افتح متجر Play""#, "")
            .replace(r#""no_smartphone", "other""#, r#""no_smartphone", "lost_phone""#)
            .replace("demo/install.svg", "demo/missing.svg")
            + r#"
[[steps]]
id = "install"
title = { vi = "Lại", en = "Again", ar = "مرة" }
instruction = { vi = "x", en = "x", ar = "س" }
verify = { vi = "x", en = "", ar = "س" }
blockers = ["other"]
"#;
        let found = problems(&broken);
        let expected = [
            r#"steps[0] "install" > instruction > ar: missing translation"#,
            r#"steps[0] "install" > blockers[1]: unknown blocker reason "lost_phone""#,
            r#"steps[0] "install" > illustration: file "demo/missing.svg" not found"#,
            r#"steps[1] "install" > id: duplicate step id (also steps[0])"#,
            r#"steps[1] "install" > verify > en: empty translation"#,
        ];
        for e in expected {
            assert!(found.iter().any(|f| f.starts_with(e)), "missing {e:?} in {found:#?}");
        }
        assert_eq!(found.len(), expected.len(), "{found:#?}");
    }

    #[test]
    fn unknown_fields_and_bad_toml_give_the_line() {
        let err = Pack::from_toml(&GOOD.replace("version = 1", "version = 1\ncolour = \"red\"")).expect_err("unknown");
        assert!(err.location.starts_with("line "), "{err}");
        assert!(err.message.contains("colour"), "{err}");
    }

    #[test]
    fn picture_paths_are_plain() {
        for good in ["vneid/install.svg", "common/sms_code.svg", "a.svg"] {
            assert!(illustration_path_ok(good), "{good}");
        }
        for bad in [
            "../x.svg",
            "..\\x.svg",
            "C:/x.svg",
            "/x.svg",
            "a//b.svg",
            "./a.svg",
            "A/b.svg",
            "a/b.png",
            "a/.svg",
        ] {
            assert!(!illustration_path_ok(bad), "{bad}");
        }
    }

    #[test]
    fn phone_needs_are_checked() {
        let found = problems(&GOOD.replace(
            r#"phone = { kinds = ["android", "iphone"], nfc = "helps" }"#,
            r#"phone = { kinds = ["android", "nokia"], min_android = "eight", nfc = "maybe" }"#,
        ));
        let expected = [
            r#"phone > kinds[1]: unknown phone kind "nokia""#,
            r#"phone > min_android: "eight" is not a version number"#,
            r#"phone > nfc: unknown NFC use "maybe""#,
        ];
        for e in expected {
            assert!(found.iter().any(|f| f.starts_with(e)), "missing {e:?} in {found:#?}");
        }
        assert_eq!(found.len(), expected.len(), "{found:#?}");
        let missing = problems(&GOOD.replace(r#"phone = { kinds = ["android", "iphone"], nfc = "helps" }"#, ""));
        assert_eq!(missing.len(), 1, "{missing:#?}");
        assert!(missing[0].starts_with("phone: requires \"smartphone\""), "{missing:#?}");
    }

    #[test]
    fn untranslated_text_is_found() {
        let found = problems(
            &GOOD
                .replace(r#"en = "Open Play Store""#, r#"en = "Mở CH Play rồi tìm""#)
                .replace(r#"vi = "Mở CH Play""#, r#"vi = "Mở CH Play rồi tìm""#)
                .replace(r#"ar = "تظهر الأيقونة""#, r#"ar = "Icon shows""#),
        );
        let expected = [
            r#"steps[0] "install" > instruction > en: same text as vi: not translated"#,
            r#"steps[0] "install" > verify > ar: has no Arabic letters: not translated"#,
        ];
        for e in expected {
            assert!(found.iter().any(|f| f.starts_with(e)), "missing {e:?} in {found:#?}");
        }
        assert_eq!(found.len(), expected.len(), "{found:#?}");
    }

    #[test]
    fn changed_steps_need_a_new_version() {
        let old = Pack::from_toml(GOOD).expect("parses");
        let mut new = old.clone();
        new.steps[0].blockers.push("no_signal".into());
        assert!(new.check_bump(&old).is_some());
        new.version = 2;
        assert!(new.check_bump(&old).is_none());
        let mut retitled = old.clone();
        retitled.title.insert("en".into(), "Another".into());
        assert!(retitled.check_bump(&old).is_none(), "only steps need a bump");
    }
}
