//! Printing results: aligned tables for people, JSON for scripts, and
//! one-line errors.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;

use serde::Serialize;

/// Writes one line to standard output. When the reader has gone away
/// (`doorstep household list ... | head`), stop quietly as other Unix tools do.
fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{text}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write the output: {e}");
        std::process::exit(1);
    }
}

/// Prints a value as pretty JSON.
pub(crate) fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    out(&serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints a line for people.
pub(crate) fn line(text: impl std::fmt::Display) {
    out(&text.to_string());
}

/// Prints a note on standard error (warnings, per-row problems).
pub(crate) fn note(text: impl std::fmt::Display) {
    eprintln!("{text}");
}

/// Prints the error on one line: the outermost message and those of its
/// causes that add something (many messages already quote their cause).
pub(crate) fn error(err: &anyhow::Error) {
    let mut text = String::new();
    for cause in err.chain().map(ToString::to_string) {
        if text.is_empty() {
            text = cause;
        } else if !text.contains(&cause) {
            text = format!("{text}: {cause}");
        }
    }
    eprintln!("error: {}", text.replace('\n', " "));
}

/// A table with a header row, printed with aligned columns.
#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(header: &[&str]) -> Table {
        Table {
            rows: vec![header.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub(crate) fn print(&self) {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in &self.rows {
            let mut out = String::new();
            for (i, cell) in row.iter().enumerate() {
                out.push_str(cell);
                if i + 1 < row.len() {
                    out.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
                }
            }
            self::out(out.trim_end());
        }
    }
}

/// The last 8 characters of an id: random, so enough to tell rows apart and
/// to type back (`doorstep household show 5f3a9c21`).
pub(crate) fn short(id: &str) -> String {
    id.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect()
}

/// An optional text, or a dash.
pub(crate) fn or_dash(v: Option<&str>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or("-").to_owned()
}
