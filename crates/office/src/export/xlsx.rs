//! The XLSX workbook: a summary sheet and one sheet per village.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Timelike};
use rust_xlsxwriter::{Format, Workbook, Worksheet};

use super::*;

struct Formats {
    bold: Format,
    date: Format,
    bold_date: Format,
    time: Format,
}

impl Formats {
    fn new(lang: &str) -> Formats {
        // Vietnamese writes day/month/year; English gets ISO dates.
        let date = if lang == "en" { "yyyy-mm-dd" } else { "dd/mm/yyyy" };
        Formats {
            bold: Format::new().set_bold(),
            date: Format::new().set_num_format(date),
            bold_date: Format::new().set_bold().set_num_format(date),
            time: Format::new().set_num_format("hh:mm"),
        }
    }
}

/// Excel's serial number of a day (days since 1899-12-30).
fn serial(day: NaiveDate) -> f64 {
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).expect("1899-12-30 is a date");
    (day - epoch).num_days() as f64
}

/// Writes a grid with its header in row 0, from column `first`, and sizes
/// its columns. Returns the column after it.
fn put(sheet: &mut Worksheet, grid: &Grid, first: u16, f: &Formats) -> Result<u16, ExportError> {
    if grid.rows.len() >= MAX_ROWS {
        return Err(ExportError::TooManyRows {
            sheet: sheet.name(),
            rows: grid.rows.len() + 1,
        });
    }
    let mut widths: Vec<usize> = grid.header.iter().map(|h| h.chars().count()).collect();
    for (i, h) in grid.header.iter().enumerate() {
        sheet.write_string_with_format(0, col(first, i), *h, &f.bold)?;
    }
    for (r, (bold, cells)) in grid.rows.iter().enumerate() {
        // Fits: checked against MAX_ROWS above.
        let row = u32::try_from(r + 1).unwrap_or(u32::MAX);
        for (i, cell) in cells.iter().enumerate() {
            let c = col(first, i);
            let width = match cell {
                Cell::Text(s) if s.is_empty() => 0,
                Cell::Text(s) if *bold => {
                    sheet.write_string_with_format(row, c, s, &f.bold)?;
                    s.chars().count()
                }
                Cell::Text(s) => {
                    sheet.write_string(row, c, s)?;
                    s.chars().count()
                }
                Cell::Number(n) => {
                    let n = *n as f64;
                    if *bold {
                        sheet.write_number_with_format(row, c, n, &f.bold)?;
                    } else {
                        sheet.write_number(row, c, n)?;
                    }
                    n.to_string().len()
                }
                Cell::Date(None) | Cell::Time(None) => 0,
                Cell::Date(Some(d)) => {
                    let format = if *bold { &f.bold_date } else { &f.date };
                    sheet.write_number_with_format(row, c, serial(*d), format)?;
                    10
                }
                Cell::Time(Some(t)) => {
                    let day = f64::from(t.num_seconds_from_midnight()) / 86_400.0;
                    sheet.write_number_with_format(row, c, day, &f.time)?;
                    5
                }
            };
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(width);
            }
        }
    }
    for (i, w) in widths.iter().enumerate() {
        // Wide enough for most cells, never so wide that notes hide the rest.
        let chars = u32::try_from((*w).clamp(6, 50)).unwrap_or(50);
        sheet.set_column_width(col(first, i), f64::from(chars) + 2.0)?;
    }
    Ok(col(first, grid.header.len()))
}

/// Column `first + i` (a sheet has 16,384 columns; ours have a few dozen).
fn col(first: u16, i: usize) -> u16 {
    first.saturating_add(u16::try_from(i).unwrap_or(u16::MAX))
}

/// Grids side by side, one empty column apart, with the header row frozen.
fn sheet_of(name: &str, grids: &[Grid], f: &Formats) -> Result<Worksheet, ExportError> {
    let mut sheet = Worksheet::new();
    sheet.set_name(name)?;
    let mut at = 0;
    for grid in grids {
        at = put(&mut sheet, grid, at, f)? + 1;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(sheet)
}

/// One table as an XLSX workbook of one sheet, with a filter on its header.
pub fn xlsx_table(table: Table, report: &Report, lang: &str) -> Result<Vec<u8>, ExportError> {
    let f = Formats::new(lang);
    let grid = grid_of(table, report, lang);
    let mut sheet = sheet_of(word(title(table), lang), std::slice::from_ref(&grid), &f)?;
    let last_row = u32::try_from(grid.rows.len()).unwrap_or(u32::MAX);
    sheet.autofilter(0, 0, last_row, col(0, grid.header.len().saturating_sub(1)))?;
    let mut book = Workbook::new();
    book.push_worksheet(sheet);
    Ok(book.save_to_buffer()?)
}

/// The workbook: a summary sheet (coverage per commune and village,
/// checklist outcomes per pack, blockers, the filter), then one sheet per
/// village with its visits and, beside them, its checklist runs.
pub fn xlsx(report: &Report, lang: &str) -> Result<Vec<u8>, ExportError> {
    let f = Formats::new(lang);
    let overview = &report.overview;
    let summary_name = word(Word::Summary, lang);
    let mut book = Workbook::new();
    book.push_worksheet(sheet_of(
        summary_name,
        &[
            coverage_grid(overview, lang, true),
            packs_grid(overview, lang),
            blockers_grid(overview, lang),
            scope_grid(&report.scope, lang),
        ],
        &f,
    )?);

    // The villages of the coverage, then any a row names that it lacks (a
    // village deleted since, or a household whose village is unknown).
    let mut villages: Vec<(&str, &str, &str)> = overview
        .villages
        .iter()
        .map(|v| (v.village_id.as_str(), v.village.as_str(), v.commune.as_str()))
        .collect();
    let mut visits: HashMap<&str, Vec<&VisitRow>> = HashMap::new();
    for v in &report.visits {
        visits.entry(&v.village_id).or_default().push(v);
    }
    let mut runs: HashMap<&str, Vec<&RunRow>> = HashMap::new();
    for r in &report.runs {
        runs.entry(&r.village_id).or_default().push(r);
    }
    let rows_of = report
        .visits
        .iter()
        .map(|v| (v.village_id.as_str(), v.village.as_str(), v.commune.as_str()))
        .chain(
            report
                .runs
                .iter()
                .map(|r| (r.village_id.as_str(), r.village.as_str(), r.commune.as_str())),
        );
    let mut known: HashSet<&str> = villages.iter().map(|v| v.0).collect();
    for place in rows_of {
        if known.insert(place.0) {
            villages.push(place);
        }
    }
    let names = sheet_names(
        villages.iter().map(|(_, village, commune)| (*village, *commune)),
        summary_name,
        word(Word::UnknownVillage, lang),
    );
    for ((id, _, _), name) in villages.iter().zip(names) {
        let grids = [
            visits_grid(visits.get(id).into_iter().flatten().copied(), lang, false),
            runs_grid(runs.get(id).into_iter().flatten().copied(), lang, false),
        ];
        book.push_worksheet(sheet_of(&name, &grids, &f)?);
    }
    Ok(book.save_to_buffer()?)
}

// ---- Sheet names -------------------------------------------------------

/// A name Excel accepts: none of `[]:*?/\` or control characters, no
/// apostrophe at either end, not blank.
fn clean_sheet_name(name: &str, fallback: &str) -> String {
    let replaced: String = name
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if "[]:*?/\\".contains(c) { '-' } else { c })
        .collect();
    let trimmed = replaced.trim_matches(|c: char| c == '\'' || c.is_whitespace());
    if trimmed.is_empty() {
        fallback.to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// At most `max` characters, without a space or apostrophe at the end.
fn fit(name: &str, max: usize) -> String {
    let cut: String = name.chars().take(max).collect();
    cut.trim_end_matches(|c: char| c == '\'' || c.is_whitespace())
        .to_owned()
}

/// Sheet names for villages given as (village, commune): the village's
/// name, with its commune when another commune has a village of that
/// name, at most 31 characters, unique (Excel compares names without
/// case) and never `reserved` (the summary) or "History" (Excel's own).
pub(super) fn sheet_names<'a>(
    villages: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    reserved: &str,
    unknown: &str,
) -> Vec<String> {
    let key = |s: &str| s.to_lowercase();
    let mut communes_of: HashMap<String, HashSet<&str>> = HashMap::new();
    for (village, commune) in villages.clone() {
        communes_of
            .entry(key(&clean_sheet_name(village, unknown)))
            .or_default()
            .insert(commune);
    }
    let mut taken: HashSet<String> = HashSet::from([key(reserved), "history".to_owned()]);
    let mut names = Vec::new();
    for (village, commune) in villages {
        let base = clean_sheet_name(village, unknown);
        let shared = communes_of.get(&key(&base)).is_some_and(|c| c.len() > 1);
        let base = if shared && !commune.is_empty() {
            clean_sheet_name(&format!("{base} - {commune}"), unknown)
        } else {
            base
        };
        let mut name = fit(&base, MAX_SHEET_NAME);
        let mut n = 2;
        while taken.contains(&key(&name)) {
            let suffix = format!(" ({n})");
            name = format!("{}{suffix}", fit(&base, MAX_SHEET_NAME - suffix.chars().count()));
            n += 1;
        }
        taken.insert(key(&name));
        names.push(name);
    }
    names
}
