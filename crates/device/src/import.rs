//! Importing a household register from CSV, as commune offices keep them in
//! spreadsheets.
//!
//! The whole file is checked before anything is written. Every bad row is
//! reported with its line number, column and reason; a file with errors
//! imports nothing unless the caller asks to skip bad rows. Headers are
//! recognised in Vietnamese or English, with or without diacritics, and the
//! delimiter (comma, semicolon, tab) is detected, so a file saved by any
//! spreadsheet program works.

use std::collections::HashMap;

use doorstep_core::entities::{GeoPoint, Household};
use doorstep_core::ids::{HouseholdId, VillageId};
use doorstep_core::phone::Phone;
use doorstep_core::text::{Landmark, LanguageTag, Notes, PersonName, match_key};
use serde::Serialize;

use crate::error::{Result, StoreError};
use crate::queries::{VillageRow, pick_village};
use crate::store::Store;

/// A column of the register, and the header names that mean it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    Village,
    Commune,
    Head,
    Phone,
    Landmark,
    Members,
    Language,
    Notes,
    Latitude,
    Longitude,
}

const HEADERS: &[(Column, &[&str])] = &[
    (
        Column::Village,
        &[
            "village",
            "thon",
            "ban",
            "thon/ban",
            "thon ban",
            "ban/thon",
            "ten thon",
            "ten ban",
            "village name",
        ],
    ),
    (Column::Commune, &["commune", "xa", "ten xa", "commune name"]),
    (
        Column::Head,
        &[
            "head of household",
            "head_of_household",
            "head",
            "head name",
            "head_name",
            "chu ho",
            "ho ten chu ho",
            "ten chu ho",
            "ho va ten chu ho",
        ],
    ),
    (
        Column::Phone,
        &["phone", "phone number", "so dien thoai", "sdt", "dien thoai", "so dt"],
    ),
    (
        Column::Landmark,
        &["landmark", "address", "dia chi", "vi tri", "cach tim nha"],
    ),
    (
        Column::Members,
        &[
            "members",
            "members_count",
            "household size",
            "so nhan khau",
            "nhan khau",
            "so nguoi",
        ],
    ),
    (Column::Language, &["language", "ngon ngu", "tieng"]),
    (Column::Notes, &["notes", "note", "ghi chu"]),
    (Column::Latitude, &["latitude", "lat", "vi do"]),
    (Column::Longitude, &["longitude", "lng", "lon", "kinh do"]),
];

impl Column {
    fn name(self) -> &'static str {
        HEADERS
            .iter()
            .find(|(c, _)| *c == self)
            .map_or("?", |(_, names)| names[0])
    }
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Villages are looked up in this commune (name or id) when the file
    /// has no commune column.
    pub commune: Option<String>,
    /// Import the good rows of a file that has bad ones.
    pub skip_bad_rows: bool,
    /// Check only; write nothing.
    pub dry_run: bool,
}

/// One bad row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    /// Line in the file (1 is the header).
    pub line: u64,
    /// The column at fault, if one is.
    pub column: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, column {c:?}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// What an import did (or would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Data rows read (blank rows not counted).
    pub rows: usize,
    /// Households written.
    pub imported: usize,
    /// Rows left out because they are bad.
    pub skipped: usize,
    /// Every problem found.
    pub problems: Vec<RowProblem>,
    /// Header columns that were not recognised and were ignored.
    pub ignored_columns: Vec<String>,
    /// Whether nothing was written because of a dry run.
    pub dry_run: bool,
}

/// Why a file could not be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Not UTF-8 text.
    #[error("{0}")]
    Encoding(String),
    /// A header without the columns we need.
    #[error(
        "the header (line 1) has no {missing} column; found: {found}. Expected e.g. \"village\" / \"Thôn\" and \"head of household\" / \"Chủ hộ\""
    )]
    MissingColumns {
        /// Missing columns.
        missing: String,
        /// Columns found.
        found: String,
    },
    /// Empty file.
    #[error("the file is empty")]
    Empty,
    /// Bad rows and no permission to skip them: nothing was imported.
    #[error("{} of {} rows have problems; nothing was imported (fix them, or pass --skip-bad-rows to import the {} good rows)", .0.skipped, .0.rows, .0.rows - .0.skipped)]
    BadRows(ImportReport),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks the bytes are UTF-8 text and returns it without a byte-order mark.
fn decode(bytes: &[u8]) -> std::result::Result<&str, ImportError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(ImportError::Encoding(
            "the file is UTF-16 (Excel's \"Unicode Text\"); save it as \"CSV UTF-8 (comma delimited)\" and import again".to_owned(),
        ));
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
        ImportError::Encoding(format!(
            "line {line} is not UTF-8 text (the file may be saved as Windows-1258, TCVN3 or VNI); save it as \"CSV UTF-8\" and import again"
        ))
    })
}

fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| header.bytes().filter(|b| b == d).count())
        .unwrap_or(b',')
}

fn header_key(raw: &str) -> String {
    match_key(raw)
        .replace(['_', '.', ':'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A row that passed every check, ready to write.
struct GoodRow {
    line: u64,
    household: Household,
}

impl Store {
    /// Imports households from CSV bytes. See the module docs for the rules.
    pub fn import_households(
        &mut self,
        bytes: &[u8],
        options: &ImportOptions,
    ) -> std::result::Result<ImportReport, ImportError> {
        let text = decode(bytes)?;
        if text.trim().is_empty() {
            return Err(ImportError::Empty);
        }
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(sniff_delimiter(text))
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| ImportError::Encoding(format!("line 1: {e}")))?
            .clone();
        let mut columns: HashMap<Column, usize> = HashMap::new();
        let mut report = ImportReport {
            dry_run: options.dry_run,
            ..ImportReport::default()
        };
        for (i, h) in headers.iter().enumerate() {
            let key = header_key(h);
            match HEADERS
                .iter()
                .find(|(_, names)| names.iter().any(|n| header_key(n) == key))
            {
                Some((c, _)) if !columns.contains_key(c) => {
                    columns.insert(*c, i);
                }
                _ if !h.is_empty() => report.ignored_columns.push(h.to_owned()),
                _ => {}
            }
        }
        let missing: Vec<&str> = [Column::Village, Column::Head]
            .into_iter()
            .filter(|c| !columns.contains_key(c))
            .map(Column::name)
            .collect();
        if !missing.is_empty() {
            return Err(ImportError::MissingColumns {
                missing: missing.join(" or "),
                found: headers.iter().map(|h| format!("{h:?}")).collect::<Vec<_>>().join(", "),
            });
        }
        let villages = self.villages()?;
        let mut existing = self.existing_household_keys()?;
        let mut seen_in_file: HashMap<String, u64> = HashMap::new();
        let mut good = Vec::new();
        let now = self.now();
        for record in reader.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, csv::Position::line);
                    report.rows += 1;
                    report.problems.push(RowProblem {
                        line,
                        column: None,
                        message: format!("cannot be read: {e}"),
                    });
                    report.skipped += 1;
                    continue;
                }
            };
            if record.iter().all(str::is_empty) {
                continue;
            }
            report.rows += 1;
            let line = record.position().map_or(0, csv::Position::line);
            let before = report.problems.len();
            let mut problem = |column: Option<Column>, message: String| {
                report.problems.push(RowProblem {
                    line,
                    // The header's own spelling when the file has the column,
                    // our name for it when it is the missing one.
                    column: column.map(|c| columns.get(&c).map_or(c.name(), |i| &headers[*i]).to_owned()),
                    message,
                });
            };
            if record.len() > headers.len() {
                problem(
                    None,
                    format!("has {} fields but the header has {}", record.len(), headers.len()),
                );
            }
            let cell = |c: Column| columns.get(&c).and_then(|i| record.get(*i)).filter(|s| !s.is_empty());
            let commune = cell(Column::Commune).or(options.commune.as_deref());
            let village = match cell(Column::Village) {
                None => {
                    problem(Some(Column::Village), "is empty".to_owned());
                    None
                }
                Some(name) => match find_village(&villages, name, commune) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        problem(Some(Column::Village), e);
                        None
                    }
                },
            };
            let head = match cell(Column::Head) {
                None => {
                    problem(Some(Column::Head), "is empty".to_owned());
                    None
                }
                Some(raw) => PersonName::parse(raw)
                    .map_err(|e| problem(Some(Column::Head), e.to_string()))
                    .ok(),
            };
            let mut parse = |c: Column, f: &dyn Fn(&str) -> std::result::Result<(), String>| {
                if let Some(raw) = cell(c)
                    && let Err(e) = f(raw)
                {
                    problem(Some(c), e);
                }
            };
            parse(Column::Phone, &|s| Phone::parse(s).map(drop).map_err(|e| e.to_string()));
            parse(Column::Landmark, &|s| {
                Landmark::parse(s).map(drop).map_err(|e| e.to_string())
            });
            parse(Column::Language, &|s| {
                LanguageTag::parse(s).map(drop).map_err(|e| e.to_string())
            });
            parse(Column::Notes, &|s| Notes::parse(s).map(drop).map_err(|e| e.to_string()));
            parse(Column::Members, &|s| match s.parse::<u8>() {
                Ok(n) if (1..=60).contains(&n) => Ok(()),
                _ => Err(format!("{s:?} is not a number of people from 1 to 60")),
            });
            let location = match (cell(Column::Latitude), cell(Column::Longitude)) {
                (None, None) => None,
                (Some(lat), Some(lng)) => match GeoPoint::parse(lat, lng) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        let c = if e.field == "latitude" {
                            Column::Latitude
                        } else {
                            Column::Longitude
                        };
                        problem(Some(c), e.to_string());
                        None
                    }
                },
                (Some(_), None) => {
                    problem(Some(Column::Longitude), "is empty but latitude is given".to_owned());
                    None
                }
                (None, Some(_)) => {
                    problem(Some(Column::Latitude), "is empty but longitude is given".to_owned());
                    None
                }
            };
            if report.problems.len() > before {
                report.skipped += 1;
                continue;
            }
            let (Some(village), Some(head)) = (village, head) else {
                continue;
            };
            let phone = cell(Column::Phone).and_then(|s| Phone::parse(s).ok());
            let landmark = cell(Column::Landmark).and_then(|s| Landmark::parse(s).ok());
            let key = duplicate_key(&village, &head, phone.as_ref(), landmark.as_ref());
            if let Some(first) = seen_in_file.get(&key) {
                report.problems.push(RowProblem {
                    line,
                    column: None,
                    message: format!("repeats the household on line {first}"),
                });
                report.skipped += 1;
                continue;
            }
            if let Some(id) = existing.get(&key) {
                report.problems.push(RowProblem {
                    line,
                    column: None,
                    message: format!("this household is already on the register (household {id})"),
                });
                report.skipped += 1;
                continue;
            }
            seen_in_file.insert(key.clone(), line);
            let household = Household {
                id: HouseholdId::new(),
                village_id: village,
                head_name: head,
                landmark,
                phone,
                members_count: cell(Column::Members).and_then(|s| s.parse().ok()),
                language: cell(Column::Language).and_then(|s| LanguageTag::parse(s).ok()),
                notes: cell(Column::Notes).and_then(|s| Notes::parse(s).ok()),
                location,
                created_at: now,
            };
            existing.insert(key, household.id.to_string());
            good.push(GoodRow { line, household });
        }
        if !report.problems.is_empty() && !options.skip_bad_rows {
            return Err(ImportError::BadRows(report));
        }
        if options.dry_run {
            report.imported = 0;
            return Ok(report);
        }
        let count = good.len();
        self.write(|w| {
            for row in &good {
                w.create(&row.household)
                    .map_err(|e| StoreError::Rule(format!("line {}: {e}", row.line)))?;
            }
            Ok(())
        })?;
        report.imported = count;
        Ok(report)
    }

    /// Duplicate keys of households already on the register.
    fn existing_household_keys(&self) -> Result<HashMap<String, String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, village_id, head_name, phone, landmark FROM household WHERE deleted = 0")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        let mut out = HashMap::new();
        for row in rows {
            let (id, village, head, phone, landmark) = row?;
            out.insert(
                format!(
                    "{village}|{}|{}|{}",
                    match_key(&head),
                    phone.unwrap_or_default(),
                    match_key(&landmark.unwrap_or_default())
                ),
                id,
            );
        }
        Ok(out)
    }
}

/// Two rows are the same household when village, head (ignoring case and
/// diacritics), phone and landmark agree. Same-named neighbours without a
/// phone are common in the highlands, so the name alone is not enough.
fn duplicate_key(village: &VillageId, head: &PersonName, phone: Option<&Phone>, landmark: Option<&Landmark>) -> String {
    format!(
        "{village}|{}|{}|{}",
        match_key(head.as_str()),
        phone.map(Phone::as_str).unwrap_or_default(),
        match_key(landmark.map(Landmark::as_str).unwrap_or_default())
    )
}

fn find_village(villages: &[VillageRow], name: &str, commune: Option<&str>) -> std::result::Result<VillageId, String> {
    let village = pick_village(villages, name, commune).map_err(|e| e.to_string())?;
    village.id.parse().map_err(|e| format!("{e}"))
}
