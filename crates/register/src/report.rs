//! What an import is asked to do, what it found, and why a file could not
//! be imported at all. Shared by the tablet and the server, so both print
//! the same report (and the same JSON).

use serde::Serialize;

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Villages are looked up in this commune (name or id) when the file
    /// has no commune column (or a row leaves it empty).
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
    /// The column at fault, if one is (as the file's header spells it).
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
///
/// [`crate::read_register`] fills in everything but `imported`, which the
/// caller sets once the households are written.
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
pub enum RegisterError {
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
    /// Bad rows and no permission to skip them: nothing may be imported.
    #[error("{} of {} rows have problems; nothing was imported (fix them, or pass --skip-bad-rows to import the {} good rows)", .0.skipped, .0.rows, .0.rows.saturating_sub(.0.skipped))]
    BadRows(ImportReport),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_line_and_column() {
        let p = RowProblem {
            line: 4,
            column: Some("Chủ hộ".into()),
            message: "is empty".into(),
        };
        assert_eq!(p.to_string(), "line 4, column \"Chủ hộ\": is empty");
        let p = RowProblem {
            line: 9,
            column: None,
            message: "repeats the household on line 2".into(),
        };
        assert_eq!(p.to_string(), "line 9: repeats the household on line 2");
    }

    #[test]
    fn bad_rows_say_how_many_and_what_to_do() {
        let report = ImportReport {
            rows: 7,
            skipped: 6,
            ..ImportReport::default()
        };
        assert_eq!(
            RegisterError::BadRows(report).to_string(),
            "6 of 7 rows have problems; nothing was imported (fix them, or pass --skip-bad-rows to import the 1 good rows)"
        );
    }
}
