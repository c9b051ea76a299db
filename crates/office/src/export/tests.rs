//! Sheet names, words and the files' shape.

use std::collections::HashSet;

use rust_xlsxwriter::Worksheet;

use super::xlsx::sheet_names;
use super::*;

#[test]
fn sheet_names_are_valid_unique_and_short() {
    let villages = [
        ("Bản Mường [Trên]: A/B*?", "Mường Lạn"),
        ("Nà Sài", "Chiềng Sinh"),
        ("Nà Sài", "Mường Lạn"),
        ("nà sài - chiềng sinh", "Chiềng Sinh"),
        ("Tổng hợp", "Mường Lạn"),
        ("'history'", "Mường Lạn"),
        ("", "Mường Lạn"),
        ("Một cái tên thôn rất dài hơn ba mươi mốt ký tự", "Mường Lạn"),
        ("Một cái tên thôn rất dài hơn ba mươi mốt ký tự nữa", "Mường Lạn"),
    ];
    let names = sheet_names(villages.iter().copied(), "Tổng hợp", "Không rõ thôn");
    assert_eq!(
        names,
        [
            "Bản Mường -Trên-- A-B--",
            "Nà Sài - Chiềng Sinh",
            "Nà Sài - Mường Lạn",
            "nà sài - chiềng sinh (2)",
            "Tổng hợp (2)",
            "history (2)",
            "Không rõ thôn",
            "Một cái tên thôn rất dài hơn ba",
            "Một cái tên thôn rất dài hơ (2)",
        ]
    );
    let mut seen = HashSet::new();
    for n in &names {
        assert!(n.chars().count() <= MAX_SHEET_NAME, "{n}");
        assert!(!n.contains(['[', ']', ':', '*', '?', '/', '\\']), "{n}");
        assert!(seen.insert(n.to_lowercase()), "{n} twice");
        // rust_xlsxwriter checks names the way Excel does.
        Worksheet::new().set_name(n.as_str()).expect("a valid sheet name");
    }
}

#[test]
fn csv_starts_with_a_bom_and_defuses_formulas() {
    let report = Report {
        overview: Overview::default(),
        visits: vec![VisitRow {
            commune: "Mường Lạn".into(),
            village_id: "v1".into(),
            village: "Bun".into(),
            household_id: "h1".into(),
            head_name: "Lò Văn Pắn".into(),
            started_on: NaiveDate::from_ymd_opt(2026, 11, 27),
            started_time: NaiveTime::from_hms_opt(6, 30, 0),
            outcome: "nobody_home".into(),
            follow_up_on: None,
            volunteer: String::new(),
            unit: String::new(),
            referred_by: String::new(),
            notes: "=HYPERLINK(\"x\")".into(),
        }],
        runs: Vec::new(),
        scope: Scope {
            communes: Vec::new(),
            village: None,
            from: None,
            to: None,
            today: NaiveDate::from_ymd_opt(2026, 11, 28).expect("a date"),
        },
    };
    let bytes = csv(Table::Visits, &report, "en");
    let text = std::str::from_utf8(&bytes).expect("UTF-8");
    assert!(text.starts_with('\u{feff}'));
    assert_eq!(
        text.lines().nth(1),
        Some("Mường Lạn,Bun,2026-11-27,06:30,Lò Văn Pắn,Nobody home,,,,,\"'=HYPERLINK(\"\"x\"\")\",h1")
    );
}
