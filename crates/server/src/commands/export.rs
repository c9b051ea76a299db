//! `export`: the office's figures (visits, checklists, coverage as CSV or
//! XLSX; the workbook as XLSX), or every record of one kind as CSV.

use doorstep_core::schema::EntityKind;
use doorstep_office::admin;
use doorstep_office::export::{self, ExportError, Table};
use doorstep_store::Store;
use doorstep_store::report::Filter;

use super::Ctx;
use super::filter::filter_of;
use super::shared::{Failure, json, out, out_bytes, write_file};
use crate::cli::ExportArgs;

/// Whether `what` names figures (a table of them, or the workbook) rather
/// than a kind of record.
pub(crate) fn is_figures(what: &str) -> bool {
    Table::parse(what).is_some() || what == "workbook"
}

/// `export visits|checklists|coverage|workbook`: the figures of a filter
/// as CSV or XLSX, to a file or standard output.
pub(crate) async fn figures(ctx: &Ctx, args: &ExportArgs) -> Result<(), Failure> {
    let table = Table::parse(&args.what);
    let xlsx = is_xlsx(args, table)?;
    if xlsx && args.out.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return Err(Failure::Input(
            "an XLSX file is not written to the terminal: give --out FILE.xlsx".into(),
        ));
    }
    let lang = args.lang.as_deref().unwrap_or("vi");
    let (filter, scope) = filter_of(&ctx.store, &args.filter, ctx.now).await?;
    let report = gather(&ctx.store, table, filter, scope).await?;
    let failed = |e: ExportError| match e {
        ExportError::TooManyRows { .. } => Failure::Input(e.to_string()),
        ExportError::Xlsx(_) => Failure::System(e.to_string()),
    };
    let bytes = match (table, xlsx) {
        (Some(t), false) => export::csv(t, &report, lang),
        (Some(t), true) => export::xlsx_table(t, &report, lang).map_err(failed)?,
        (None, _) => export::xlsx(&report, lang).map_err(failed)?,
    };
    let Some(path) = &args.out else {
        return out_bytes(&bytes);
    };
    write_file(path, &bytes)?;
    let villages = report.overview.villages.len();
    let (visits, runs) = (report.visits.len(), report.runs.len());
    if ctx.json {
        return json(&serde_json::json!({
            "out": path,
            "format": if xlsx { "xlsx" } else { "csv" },
            "bytes": bytes.len(),
            "villages": villages,
            "visits": visits,
            "checklist_runs": runs,
        }));
    }
    let what = match table {
        Some(Table::Visits) => format!("{visits} visits"),
        Some(Table::Checklists) => format!("{runs} checklist runs"),
        Some(Table::Coverage) => format!("coverage of {villages} villages"),
        None => format!("{villages} villages, {visits} visits, {runs} checklist runs"),
    };
    out(&format!("wrote {}: {what}", path.display()))
}

/// XLSX or CSV: `--format`, else the `--out` file's extension; a workbook
/// (no `table`) is XLSX only.
fn is_xlsx(args: &ExportArgs, table: Option<Table>) -> Result<bool, Failure> {
    Ok(match (table, args.format.as_deref()) {
        (None, Some("csv")) => {
            return Err(Failure::Input(
                "a workbook is XLSX only: leave out --format csv, or export visits, checklists or coverage as CSV"
                    .into(),
            ));
        }
        (None, _) | (_, Some("xlsx")) => true,
        (_, Some(_)) => false,
        (Some(_), None) => args
            .out
            .as_ref()
            .and_then(|p| p.extension())
            .is_some_and(|e| e.eq_ignore_ascii_case("xlsx")),
    })
}

/// Reads only what `table` needs (everything for the workbook).
async fn gather(
    store: &doorstep_store::any::AnyStore,
    table: Option<Table>,
    filter: Filter,
    scope: export::Scope,
) -> Result<export::Report, Failure> {
    let wants = |t: Table| table.is_none_or(|x| x == t);
    Ok(export::Report {
        overview: if wants(Table::Coverage) {
            store.overview(filter.clone()).await?
        } else {
            Default::default()
        },
        visits: if wants(Table::Visits) {
            store.visit_rows(filter.clone()).await?
        } else {
            Vec::new()
        },
        runs: if wants(Table::Checklists) {
            store.run_rows(filter).await?
        } else {
            Vec::new()
        },
        scope,
    })
}

/// `export KIND`: every current record of one kind as CSV (UTF-8 with a
/// byte-order mark), one column per field.
pub(crate) async fn records(ctx: &Ctx, args: ExportArgs) -> Result<(), Failure> {
    let kind: EntityKind = args.what.parse().map_err(|_| {
        let kinds: Vec<&str> = EntityKind::ALL.iter().map(|k| k.as_str()).collect();
        Failure::Input(format!(
            "unknown export {:?}: give visits, checklists, coverage or workbook, or a kind of record ({})",
            args.what,
            kinds.join(", ")
        ))
    })?;
    if !args.filter.is_empty() || args.format.is_some() || args.lang.is_some() {
        return Err(Failure::Input(format!(
            "`export {kind}` writes every {kind} record as CSV; --commune, --village, --from, --to, --today, \
             --format and --lang apply to visits, checklists, coverage and workbook"
        )));
    }
    let (header, rows) = admin::table(&ctx.store, kind).await?;
    let mut buf = Vec::from(*b"\xEF\xBB\xBF");
    {
        let mut w = csv::Writer::from_writer(&mut buf);
        let fail = |e: csv::Error| Failure::System(format!("writing CSV: {e}"));
        w.write_record(&header).map_err(fail)?;
        for row in rows {
            w.write_record(&row).map_err(fail)?;
        }
        w.flush().map_err(|e| Failure::System(format!("writing CSV: {e}")))?;
    }
    match args.out {
        Some(p) => write_file(&p, &buf),
        None => out_bytes(&buf),
    }
}
