//! Reading a whole register: every row checked, every problem named, the
//! good rows turned into households.

use std::collections::HashMap;
use std::fmt::Display;

use chrono::{DateTime, Utc};
use csv::StringRecord;
use doorstep_core::entities::{GeoPoint, Household};
use doorstep_core::ids::HouseholdId;
use doorstep_core::phone::Phone;
use doorstep_core::text::{Landmark, LanguageTag, Notes, PersonName};

use crate::columns::{Column, Columns};
use crate::decode::{decode, sniff_delimiter};
use crate::duplicates::{ExistingHousehold, HouseholdKey};
use crate::report::{ImportOptions, ImportReport, RegisterError, RowProblem};
use crate::villages::{KnownVillage, Villages};

/// A row that passed every check, ready to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRow {
    /// Its line in the file, for messages about writing it.
    pub line: u64,
    /// The household, with a new id.
    pub household: Household,
}

/// A register read: the households to write and the report.
#[derive(Debug, Clone)]
pub struct Register {
    /// The good rows, in file order.
    pub households: Vec<RegisterRow>,
    /// What was found; `imported` is 0 until the caller writes.
    pub report: ImportReport,
}

/// Reads a register from the bytes of a CSV file.
///
/// `villages` are the villages rows may name; `existing` the households
/// already on the caller's register (rows matching one are duplicates);
/// `now` becomes each household's `created_at`. A file with bad rows is
/// [`RegisterError::BadRows`] unless `options.skip_bad_rows`; then the
/// good rows come back and the report lists the rest.
pub fn read_register(
    bytes: &[u8],
    villages: &[KnownVillage],
    existing: &[ExistingHousehold],
    options: &ImportOptions,
    now: DateTime<Utc>,
) -> Result<Register, RegisterError> {
    let text = decode(bytes)?;
    if text.trim().is_empty() {
        return Err(RegisterError::Empty);
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sniff_delimiter(text))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| RegisterError::Encoding(format!("line 1: {e}")))?
        .clone();
    let columns = Columns::recognise(&headers)?;
    let rows = RowReader {
        columns: &columns,
        villages: Villages::new(villages),
        commune: options.commune.as_deref(),
        now,
    };
    let mut report = ImportReport {
        ignored_columns: columns.ignored.clone(),
        dry_run: options.dry_run,
        ..ImportReport::default()
    };
    let mut seen: HashMap<HouseholdKey, Seen> = existing
        .iter()
        .map(|e| (e.key.clone(), Seen::OnRegister(e.id)))
        .collect();
    let mut households = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                report.rows += 1;
                report.skipped += 1;
                report.problems.push(RowProblem {
                    line: e.position().map_or(0, csv::Position::line),
                    column: None,
                    message: format!("cannot be read: {e}"),
                });
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        report.rows += 1;
        let line = record.position().map_or(0, csv::Position::line);
        let household = match rows.household(&record, line) {
            Ok(h) => h,
            Err(problems) => {
                report.skipped += 1;
                report.problems.extend(problems);
                continue;
            }
        };
        let key = HouseholdKey::new(
            household.village_id,
            household.head_name.as_str(),
            household.phone.as_ref().map(Phone::as_str),
            household.landmark.as_ref().map(Landmark::as_str),
        );
        if let Some(earlier) = seen.get(&key) {
            report.skipped += 1;
            report.problems.push(RowProblem {
                line,
                column: None,
                message: earlier.to_string(),
            });
            continue;
        }
        seen.insert(key, Seen::Line(line));
        households.push(RegisterRow { line, household });
    }
    if !report.problems.is_empty() && !options.skip_bad_rows {
        return Err(RegisterError::BadRows(report));
    }
    Ok(Register { households, report })
}

/// Where a household was seen before: the duplicate's message.
enum Seen {
    Line(u64),
    OnRegister(HouseholdId),
}

impl Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Seen::Line(line) => write!(f, "repeats the household on line {line}"),
            Seen::OnRegister(id) => write!(f, "this household is already on the register (household {id})"),
        }
    }
}

/// What every row is read against.
struct RowReader<'a> {
    columns: &'a Columns,
    villages: Villages<'a>,
    /// The commune of rows without one.
    commune: Option<&'a str>,
    now: DateTime<Utc>,
}

impl RowReader<'_> {
    /// One row as a household, or every problem it has.
    fn household(&self, record: &StringRecord, line: u64) -> Result<Household, Vec<RowProblem>> {
        let mut row = Row {
            columns: self.columns,
            record,
            line,
            problems: Vec::new(),
        };
        if record.len() > self.columns.len() {
            row.problem(
                None,
                format!("has {} fields but the header has {}", record.len(), self.columns.len()),
            );
        }
        let commune = row.cell(Column::Commune).or(self.commune);
        let village = row.required(Column::Village, |name| self.villages.find(name, commune));
        let head = row.required(Column::Head, PersonName::parse);
        let phone = row.optional(Column::Phone, Phone::parse);
        let landmark = row.optional(Column::Landmark, Landmark::parse);
        let members_count = row.optional(Column::Members, |s| match s.parse::<u8>() {
            Ok(n) if (1..=60).contains(&n) => Ok(n),
            _ => Err(format!("{s:?} is not a number of people from 1 to 60")),
        });
        let language = row.optional(Column::Language, LanguageTag::parse);
        let notes = row.optional(Column::Notes, Notes::parse);
        let location = row.location();
        match (village, head) {
            (Some(village), Some(head_name)) if row.problems.is_empty() => Ok(Household {
                id: HouseholdId::new(),
                village_id: village.id,
                head_name,
                landmark,
                phone,
                members_count,
                language,
                notes,
                location,
                created_at: self.now,
            }),
            _ => Err(row.problems),
        }
    }
}

/// One row being checked, collecting its problems.
struct Row<'a> {
    columns: &'a Columns,
    record: &'a StringRecord,
    line: u64,
    problems: Vec<RowProblem>,
}

impl<'a> Row<'a> {
    fn cell(&self, column: Column) -> Option<&'a str> {
        self.columns.cell(self.record, column)
    }

    fn problem(&mut self, column: Option<Column>, message: impl Into<String>) {
        self.problems.push(RowProblem {
            line: self.line,
            column: column.map(|c| self.columns.label(c)),
            message: message.into(),
        });
    }

    /// The column's value, parsed; `None` when it is empty or bad (a
    /// problem is recorded for bad).
    fn optional<T, E: Display>(&mut self, column: Column, parse: impl FnOnce(&str) -> Result<T, E>) -> Option<T> {
        let raw = self.cell(column)?;
        parse(raw).map_err(|e| self.problem(Some(column), e.to_string())).ok()
    }

    /// Like [`Row::optional`], and an empty cell is a problem too.
    fn required<T, E: Display>(&mut self, column: Column, parse: impl FnOnce(&str) -> Result<T, E>) -> Option<T> {
        if self.cell(column).is_none() {
            self.problem(Some(column), "is empty");
            return None;
        }
        self.optional(column, parse)
    }

    /// Latitude and longitude: both or neither.
    fn location(&mut self) -> Option<GeoPoint> {
        match (self.cell(Column::Latitude), self.cell(Column::Longitude)) {
            (None, None) => None,
            (Some(lat), Some(lng)) => GeoPoint::parse(lat, lng)
                .map_err(|e| {
                    let column = if e.field == "latitude" {
                        Column::Latitude
                    } else {
                        Column::Longitude
                    };
                    self.problem(Some(column), e.to_string());
                })
                .ok(),
            (Some(_), None) => {
                self.problem(Some(Column::Longitude), "is empty but latitude is given");
                None
            }
            (None, Some(_)) => {
                self.problem(Some(Column::Latitude), "is empty but longitude is given");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
