//! One table as a CSV file.

use super::{Cell, Report, Table, grid_of};

/// A text a spreadsheet program would run as a formula gets a leading
/// apostrophe: names and notes come from tablets.
fn csv_text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// One table as CSV: UTF-8 with a byte-order mark, comma-separated, a
/// header row. `Coverage` reads only the overview, `Visits` only the
/// visits, `Checklists` only the runs.
pub fn csv(table: Table, report: &Report, lang: &str) -> Vec<u8> {
    let grid = grid_of(table, report, lang);
    let mut w = ::csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::from(*b"\xEF\xBB\xBF"));
    // Writing to memory cannot fail, and `flexible` accepts any row length.
    let written = "writing CSV to memory cannot fail";
    w.write_record(&grid.header).expect(written);
    for (_, cells) in &grid.rows {
        let record = cells.iter().map(|c| match c {
            Cell::Text(s) => csv_text(s),
            Cell::Number(n) => n.to_string(),
            Cell::Date(d) => d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
            Cell::Time(t) => t.map(|t| t.format("%H:%M").to_string()).unwrap_or_default(),
        });
        w.write_record(record).expect(written);
    }
    w.into_inner().expect(written)
}
