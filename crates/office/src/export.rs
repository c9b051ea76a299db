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

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveTime, Timelike};
use doorstep_core::vocab::BlockerReason;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use doorstep_store::report::{Overview, RunRow, VillageCoverage, VisitRow};

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

// ---- Words -------------------------------------------------------------

/// Every header and word of the exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    Commune,
    Village,
    HouseholdId,
    Head,
    Day,
    Time,
    Outcome,
    FollowUpOn,
    Volunteer,
    Unit,
    ReferredBy,
    Notes,
    Person,
    Pack,
    Version,
    Status,
    StepsDone,
    StepsTotal,
    BlockedBy,
    StartedOn,
    Households,
    Reached,
    NotVisited,
    FollowUpDue,
    InProgress,
    Done,
    Runs,
    Completed,
    Blocked,
    UnderWay,
    ResidentsHelped,
    Filter,
    Value,
    From,
    To,
    AsOf,
    All,
    WholeCommune,
    UnknownVillage,
    Summary,
    Visits,
    Checklists,
    Coverage,
}

/// The one table of words: (Vietnamese, English).
fn words(w: Word) -> (&'static str, &'static str) {
    use Word as W;
    match w {
        W::Commune => ("Xã", "Commune"),
        W::Village => ("Thôn/Bản", "Village"),
        W::HouseholdId => ("Mã hộ", "Household id"),
        W::Head => ("Chủ hộ", "Head of household"),
        W::Day => ("Ngày thăm", "Visit day"),
        W::Time => ("Giờ", "Time"),
        W::Outcome => ("Kết quả", "Outcome"),
        W::FollowUpOn => ("Hẹn quay lại", "Follow-up on"),
        W::Volunteer => ("Tình nguyện viên", "Volunteer"),
        W::Unit => ("Đơn vị", "Unit"),
        W::ReferredBy => ("Người giới thiệu", "Referred by"),
        W::Notes => ("Ghi chú", "Notes"),
        W::Person => ("Người được hướng dẫn", "Person helped"),
        W::Pack => ("Gói hướng dẫn", "Checklist"),
        W::Version => ("Phiên bản", "Version"),
        W::Status => ("Trạng thái", "Status"),
        W::StepsDone => ("Số bước đã xong", "Steps done"),
        W::StepsTotal => ("Tổng số bước", "Steps in all"),
        W::BlockedBy => ("Lý do vướng", "Blocked by"),
        W::StartedOn => ("Ngày bắt đầu", "Started on"),
        W::Households => ("Số hộ", "Households"),
        W::Reached => ("Đã tiếp cận", "Reached"),
        W::NotVisited => ("Chưa thăm", "Not visited"),
        W::FollowUpDue => ("Cần quay lại", "Follow-up due"),
        W::InProgress => ("Đang thực hiện", "In progress"),
        W::Done => ("Đã xong", "Done"),
        W::Runs => ("Số lượt", "Runs"),
        W::Completed => ("Hoàn thành", "Completed"),
        W::Blocked => ("Bị vướng", "Blocked"),
        W::UnderWay => ("Đang làm", "Under way"),
        W::ResidentsHelped => ("Người dân được giúp", "Residents helped"),
        W::Filter => ("Bộ lọc", "Filter"),
        W::Value => ("Giá trị", "Value"),
        W::From => ("Từ ngày", "From"),
        W::To => ("Đến ngày", "To"),
        W::AsOf => ("Tình trạng tính đến ngày", "Status as of"),
        W::All => ("Tất cả", "All"),
        W::WholeCommune => ("Cả xã", "Whole commune"),
        W::UnknownVillage => ("Không rõ thôn", "Unknown village"),
        W::Summary => ("Tổng hợp", "Summary"),
        W::Visits => ("Lượt thăm", "Visits"),
        W::Checklists => ("Hướng dẫn", "Checklists"),
        W::Coverage => ("Độ phủ", "Coverage"),
    }
}

fn word(w: Word, lang: &str) -> &'static str {
    let (vi, en) = words(w);
    if lang == "en" { en } else { vi }
}

/// The word for a code of a closed list (visit outcomes, run statuses,
/// units, blocker reasons); an unknown code is shown as it is.
/// doorstep-core's `labels` has blocker reasons only, so the others live
/// here until the app needs them too.
fn code_word(code: &str, lang: &str) -> String {
    let pair = match code {
        "helped" => ("Đã giúp được", "Helped"),
        "partial" => ("Giúp được một phần", "Partly helped"),
        "nobody_home" => ("Không có ai ở nhà", "Nobody home"),
        "declined" => ("Từ chối", "Declined"),
        "revisit" => ("Hẹn quay lại", "Come back later"),
        "not_started" => ("Chưa bắt đầu", "Not started"),
        "in_progress" => ("Đang làm", "In progress"),
        "blocked" => ("Bị vướng", "Blocked"),
        "completed" => ("Hoàn thành", "Completed"),
        "culture_society" => ("Văn hóa - Xã hội", "Culture and society"),
        "commune_police" => ("Công an xã", "Commune police"),
        "public_service_centre" => ("Trung tâm Phục vụ hành chính công", "Public service centre"),
        "social_insurance" => ("Bảo hiểm xã hội", "Social insurance"),
        "telecom" => ("Nhà mạng viễn thông", "Telecom operator"),
        "anti_corruption" => ("Phòng, chống tham nhũng", "Anti-corruption"),
        "youth_union" => ("Đoàn Thanh niên", "Youth union"),
        "village_digital_team" => ("Tổ công nghệ số cộng đồng", "Community digital team"),
        "other" => ("Khác", "Other"),
        _ => return code.to_owned(),
    };
    if lang == "en" { pair.1 } else { pair.0 }.to_owned()
}

/// A checklist pack's title in the language (the built-in packs' titles,
/// as the dashboard shows them); a pack not built in keeps its key.
fn pack_word(key: &str, lang: &str) -> String {
    doorstep_ingest::pack_catalog::bundled_packs()
        .iter()
        .find(|p| p.key == key)
        .map_or_else(
            || key.to_owned(),
            |p| doorstep_core::pack::Pack::text(&p.title, lang).to_owned(),
        )
}

/// A blocker reason in words (doorstep-core's labels, as on the tablet).
fn blocker_word(code: &str, lang: &str) -> String {
    match code.parse::<BlockerReason>() {
        // The tablet's label for "other" asks for a note; a report says less.
        Ok(BlockerReason::Other) | Err(_) => code_word(code, lang),
        Ok(reason) => doorstep_core::labels::blocker(reason, lang).to_owned(),
    }
}

// ---- Tables as cells ---------------------------------------------------

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

// ---- CSV ---------------------------------------------------------------

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

// ---- XLSX --------------------------------------------------------------

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
fn sheet_names<'a>(
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

#[cfg(test)]
mod tests {
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
}
