//! The office's exports: CSV and XLSX files of visits, checklist runs and
//! coverage, built in memory from one filter's [`Overview`] and rows.
//!
//! Pure: the caller reads the store and writes the bytes (the `export`
//! subcommand, the dashboard's downloads), so the same filter gives the
//! same file from both.
//!
//! - CSV is UTF-8 with a byte-order mark: without it, spreadsheet programs
//!   guess a legacy code page and "Lò Văn Pắn" arrives garbled. Dates are
//!   `YYYY-MM-DD`, times `HH:MM` (local, UTC+7).
//! - XLSX dates are real dates, so they sort and filter as dates. The
//!   workbook has a summary sheet and one sheet per village.
//! - Headers and the words for codes (outcomes, statuses, units, blocker
//!   reasons) are Vietnamese, or English when `lang` is `"en"`.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveTime};
use doorstep_store::report::{Overview, RunRow, VillageCoverage, VisitRow};
use rust_xlsxwriter::XlsxError;

mod csv;
mod words;
mod xlsx;

pub use self::csv::csv;
use self::words::{Word, blocker_word, code_word, pack_word, word};
pub use self::xlsx::{xlsx, xlsx_table};

/// What an export covers, in words for the summary sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Commune names; empty is every commune.
    pub communes: Vec<String>,
    /// Village name.
    pub village: Option<String>,
    /// First local day.
    pub from: Option<NaiveDate>,
    /// Last local day.
    pub to: Option<NaiveDate>,
    /// The day follow-ups are due by.
    pub today: NaiveDate,
}

/// What an export is made of: the figures and rows of one filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The overview (coverage, packs, blockers).
    pub overview: Overview,
    /// Visits, by commune, village and time.
    pub visits: Vec<VisitRow>,
    /// Checklist runs, by commune, village, household and person.
    pub runs: Vec<RunRow>,
    /// The filter, in words.
    pub scope: Scope,
}

/// One table of an export: a CSV file, or an XLSX file of one sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Every visit.
    Visits,
    /// Every checklist run.
    Checklists,
    /// Coverage per village.
    Coverage,
}

impl Table {
    /// Every table, in the order the CLI lists them.
    pub const ALL: [Table; 3] = [Table::Visits, Table::Checklists, Table::Coverage];

    /// Its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Table::Visits => "visits",
            Table::Checklists => "checklists",
            Table::Coverage => "coverage",
        }
    }

    /// The table of a command-line name.
    pub fn parse(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// Why a workbook could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// More rows than a sheet holds.
    #[error(
        "sheet {sheet:?} would have {rows} rows, more than a spreadsheet holds ({MAX_ROWS}); narrow the filter or export CSV"
    )]
    TooManyRows {
        /// The sheet.
        sheet: String,
        /// Its rows.
        rows: usize,
    },
    /// The XLSX writer failed.
    #[error("writing the XLSX workbook: {0}")]
    Xlsx(#[from] XlsxError),
}

/// Rows of a sheet, header included (Excel's limit).
const MAX_ROWS: usize = 1_048_576;

/// The longest sheet name Excel accepts.
const MAX_SHEET_NAME: usize = 31;

#[derive(Debug, Clone)]
enum Cell {
    Text(String),
    Number(u64),
    Date(Option<NaiveDate>),
    Time(Option<NaiveTime>),
}

#[derive(Debug, Default)]
struct Grid {
    header: Vec<&'static str>,
    /// Rows, each with "bold" (a total).
    rows: Vec<(bool, Vec<Cell>)>,
}

impl Grid {
    fn new(columns: &[Word], lang: &str) -> Grid {
        Grid {
            header: columns.iter().map(|c| word(*c, lang)).collect(),
            rows: Vec::new(),
        }
    }

    fn push(&mut self, cells: Vec<Cell>) {
        self.rows.push((false, cells));
    }
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

/// Visits; `place` adds the commune and village columns (a sheet of one
/// village leaves them out).
fn visits_grid<'a>(rows: impl IntoIterator<Item = &'a VisitRow>, lang: &str, place: bool) -> Grid {
    use Word as W;
    let mut columns = if place {
        vec![W::Commune, W::Village]
    } else {
        Vec::new()
    };
    columns.extend([
        W::Day,
        W::Time,
        W::Head,
        W::Outcome,
        W::FollowUpOn,
        W::Volunteer,
        W::Unit,
        W::ReferredBy,
        W::Notes,
        W::HouseholdId,
    ]);
    let mut grid = Grid::new(&columns, lang);
    for v in rows {
        let mut cells = if place {
            vec![text(&v.commune), text(&v.village)]
        } else {
            Vec::new()
        };
        cells.extend([
            Cell::Date(v.started_on),
            Cell::Time(v.started_time),
            text(&v.head_name),
            Cell::Text(code_word(&v.outcome, lang)),
            Cell::Date(v.follow_up_on),
            text(&v.volunteer),
            Cell::Text(if v.unit.is_empty() {
                String::new()
            } else {
                code_word(&v.unit, lang)
            }),
            text(&v.referred_by),
            text(&v.notes),
            text(&v.household_id),
        ]);
        grid.push(cells);
    }
    grid
}

/// Checklist runs; `place` as for visits.
fn runs_grid<'a>(rows: impl IntoIterator<Item = &'a RunRow>, lang: &str, place: bool) -> Grid {
    use Word as W;
    let mut columns = if place {
        vec![W::Commune, W::Village]
    } else {
        Vec::new()
    };
    columns.extend([
        W::Head,
        W::Person,
        W::Pack,
        W::Version,
        W::Status,
        W::StepsDone,
        W::StepsTotal,
        W::BlockedBy,
        W::StartedOn,
        W::HouseholdId,
    ]);
    let mut grid = Grid::new(&columns, lang);
    for r in rows {
        let mut cells = if place {
            vec![text(&r.commune), text(&r.village)]
        } else {
            Vec::new()
        };
        cells.extend([
            text(&r.head_name),
            text(&r.person),
            Cell::Text(pack_word(&r.pack, lang)),
            Cell::Number(u64::from(r.pack_version)),
            Cell::Text(code_word(&r.status, lang)),
            Cell::Number(u64::from(r.steps_done)),
            Cell::Number(u64::from(r.steps_total)),
            Cell::Text(r.blocker.as_deref().map(|b| blocker_word(b, lang)).unwrap_or_default()),
            Cell::Date(r.started_on),
            text(&r.household_id),
        ]);
        grid.push(cells);
    }
    grid
}

fn coverage_cells(c: &VillageCoverage, village: &str) -> Vec<Cell> {
    vec![
        text(&c.commune),
        text(village),
        Cell::Number(c.households),
        Cell::Number(c.reached),
        Cell::Number(c.not_visited),
        Cell::Number(c.follow_up_due),
        Cell::Number(c.in_progress),
        Cell::Number(c.done),
    ]
}

/// Coverage per village; with `totals`, each commune's total (bold)
/// before its villages.
fn coverage_grid(overview: &Overview, lang: &str, totals: bool) -> Grid {
    use Word as W;
    let mut grid = Grid::new(
        &[
            W::Commune,
            W::Village,
            W::Households,
            W::Reached,
            W::NotVisited,
            W::FollowUpDue,
            W::InProgress,
            W::Done,
        ],
        lang,
    );
    let communes = if totals { overview.communes() } else { Vec::new() };
    let mut shown: HashSet<&str> = HashSet::new();
    for v in &overview.villages {
        if let Some(c) = communes.iter().find(|c| c.commune_id == v.commune_id)
            && shown.insert(&c.commune_id)
        {
            grid.rows.push((true, coverage_cells(c, word(W::WholeCommune, lang))));
        }
        grid.push(coverage_cells(v, &v.village));
    }
    grid
}

fn packs_grid(overview: &Overview, lang: &str) -> Grid {
    use Word as W;
    let mut grid = Grid::new(
        &[
            W::Pack,
            W::Runs,
            W::Completed,
            W::Blocked,
            W::UnderWay,
            W::ResidentsHelped,
        ],
        lang,
    );
    for p in &overview.packs {
        grid.push(vec![
            Cell::Text(pack_word(&p.pack, lang)),
            Cell::Number(p.runs),
            Cell::Number(p.completed),
            Cell::Number(p.blocked),
            Cell::Number(p.in_progress),
            Cell::Number(p.residents_helped),
        ]);
    }
    grid
}

fn blockers_grid(overview: &Overview, lang: &str) -> Grid {
    let mut grid = Grid::new(&[Word::BlockedBy, Word::Runs], lang);
    for b in &overview.blockers {
        grid.push(vec![Cell::Text(blocker_word(&b.key, lang)), Cell::Number(b.count)]);
    }
    grid
}

fn scope_grid(scope: &Scope, lang: &str) -> Grid {
    use Word as W;
    let mut grid = Grid::new(&[W::Filter, W::Value], lang);
    let all = || text(word(W::All, lang));
    let communes = if scope.communes.is_empty() {
        all()
    } else {
        Cell::Text(scope.communes.join(", "))
    };
    grid.push(vec![text(word(W::Commune, lang)), communes]);
    grid.push(vec![
        text(word(W::Village, lang)),
        scope.village.as_deref().map_or_else(all, text),
    ]);
    grid.push(vec![text(word(W::From, lang)), Cell::Date(scope.from)]);
    grid.push(vec![text(word(W::To, lang)), Cell::Date(scope.to)]);
    grid.push(vec![text(word(W::AsOf, lang)), Cell::Date(Some(scope.today))]);
    grid
}

fn grid_of(table: Table, report: &Report, lang: &str) -> Grid {
    match table {
        Table::Visits => visits_grid(&report.visits, lang, true),
        Table::Checklists => runs_grid(&report.runs, lang, true),
        Table::Coverage => coverage_grid(&report.overview, lang, false),
    }
}

fn title(table: Table) -> Word {
    match table {
        Table::Visits => Word::Visits,
        Table::Checklists => Word::Checklists,
        Table::Coverage => Word::Coverage,
    }
}

#[cfg(test)]
mod tests;
