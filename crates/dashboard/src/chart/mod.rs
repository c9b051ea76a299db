//! The team lead's dashboard charts, drawn on the server as inline SVG.
//!
//! Why SVG strings: the dashboard works without JavaScript and is printed for
//! the commune meeting, so a chart must be a plain part of the page that
//! prints sharp, reads in black and white, and tells a screen reader the same
//! thing it shows. Hence every bar carries its values as text, the parts of a
//! bar differ by pattern as well as by colour, and `<desc>` lists every value.
//!
//! **Invariants**
//! - Pure: no I/O, no clock. Same input, same string.
//! - No words of its own: every visible or spoken text (title, legend, the
//!   "no data" message) comes from the caller, already translated.
//! - Every text from the caller is escaped; names are user data.
//! - Every `id` is prefixed with the caller's chart id, so several charts
//!   can share one page.
//! - Right to left ([`Layout::rtl`], the Arabic pages) mirrors the drawing:
//!   labels on the right, bars growing leftwards, the legend and the days
//!   running from the right, as the table under the chart and the app's
//!   progress bars do; a chart read from the other edge would be the only
//!   thing on the page that is. The SVG itself stays `direction="ltr"`,
//!   so its coordinates and `text-anchor`s mean the same in every browser
//!   and on any page; each text from the caller is wrapped in a
//!   right-to-left isolate (U+2067 ... U+2069) instead, so "…" ends an
//!   Arabic label on its left and "0 / 52" reads in the order of the bar.
//!
//! Writing to a `String` cannot fail, so the results of `write!` are ignored.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{Datelike, Days, NaiveDate, Weekday};

use doorstep_store::report::{Count, PackOutcome, VillageCoverage};

mod draw;
#[cfg(test)]
mod tests;

pub use self::draw::escape;
use self::draw::*;

/// The most days a [`day_chart`] draws: the latest ones. A tablet with a
/// wrong clock can report a visit years away; that must not draw thousands
/// of columns.
pub const MAX_DAYS: usize = 731;

/// The narrowest chart, in SVG units.
const MIN_WIDTH: u32 = 320;
/// The widest a day's column is drawn: one day alone is a column, not a
/// wall.
const MAX_COLUMN: f64 = 36.0;
/// The font size of every text, in SVG units.
const FONT_SIZE: f64 = 12.0;
const PAD: f64 = 8.0;
const ROW_HEIGHT: f64 = 24.0;
const BAR_HEIGHT: f64 = 16.0;
const SWATCH: f64 = 12.0;
const INK: &str = "#111827";
const MUTED: &str = "#4b5563";
const RULE: &str = "#6b7280";
const GRID: &str = "#e5e7eb";
const OUTLINE: &str = "#1f2937";

/// How a part of a bar is painted. Each one stays distinct in black and
/// white: solid dark, striped, cross-hatched, solid light.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// Solid teal: done, completed, reached.
    Done,
    /// Amber with dark diagonal stripes: under way.
    UnderWay,
    /// Red with a white diagonal cross-hatch: blocked.
    Blocked,
    /// Solid slate: a plain count (visits, blockers).
    Neutral,
    /// Solid light grey, outlined: what is left (households not reached).
    Remaining,
}

impl Fill {
    /// The `fill` attribute's value.
    fn paint(self, id: &str) -> String {
        match self {
            Fill::Done => "#0f766e".to_owned(),
            Fill::UnderWay => format!("url(#{id}-under-way)"),
            Fill::Blocked => format!("url(#{id}-blocked)"),
            Fill::Neutral => "#475569".to_owned(),
            Fill::Remaining => "#e5e7eb".to_owned(),
        }
    }

    /// The `<pattern>` this fill needs, if any.
    fn pattern(self, id: &str) -> Option<String> {
        let head = r#"width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)""#;
        match self {
            Fill::UnderWay => Some(format!(
                r##"<pattern id="{id}-under-way" {head}><rect width="6" height="6" fill="#f59e0b"/><rect width="2.2" height="6" fill="#78350f"/></pattern>"##
            )),
            Fill::Blocked => Some(format!(
                r##"<pattern id="{id}-blocked" {head}><rect width="6" height="6" fill="#b91c1c"/><rect width="1.4" height="6" fill="#fff"/><rect width="6" height="1.4" fill="#fff"/></pattern>"##
            )),
            Fill::Done | Fill::Neutral | Fill::Remaining => None,
        }
    }
}

/// One kind of value in a chart: its legend text and its fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// Legend text, also used in the `<desc>` ("Completed").
    pub label: String,
    /// How its bars are painted.
    pub fill: Fill,
}

impl Series {
    /// A series with this legend text and fill.
    pub fn new(label: impl Into<String>, fill: Fill) -> Self {
        Series {
            label: label.into(),
            fill,
        }
    }
}

/// One horizontal bar: a label and its parts, one per [`Series`], stacked
/// left to right in series order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarRow {
    /// Shown left of the bar (a village, a pack, a reason, a volunteer).
    pub label: String,
    /// The values, in series order.
    pub parts: Vec<u64>,
    /// Shown right of the bar; `None` shows the parts ("5 / 2 / 3").
    pub value_text: Option<String>,
}

impl BarRow {
    /// A bar with these parts, its values shown as they are.
    pub fn new(label: impl Into<String>, parts: Vec<u64>) -> Self {
        BarRow {
            label: label.into(),
            parts,
            value_text: None,
        }
    }

    /// The same bar with `text` shown right of it instead of its values.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.value_text = Some(text.into());
        self
    }

    /// One count (a blocker reason, a unit): a single-part bar.
    pub fn count(count: &Count) -> Self {
        BarRow::new(count.key.clone(), vec![count.count])
    }

    /// A village's coverage: households reached, then those not reached,
    /// shown as "reached / households". Series: [`Fill::Done`], [`Fill::Remaining`].
    pub fn coverage(village: &VillageCoverage) -> Self {
        let rest = village.households.saturating_sub(village.reached);
        BarRow {
            label: village.village.clone(),
            parts: vec![village.reached, rest],
            value_text: Some(format!("{} / {}", village.reached, village.households)),
        }
    }

    /// A pack's runs: completed, blocked, under way. Series:
    /// [`Fill::Done`], [`Fill::Blocked`], [`Fill::UnderWay`].
    pub fn pack(pack: &PackOutcome) -> Self {
        BarRow::new(pack.pack.clone(), vec![pack.completed, pack.blocked, pack.in_progress])
    }

    fn total(&self) -> u64 {
        self.parts.iter().fold(0, |sum, v| sum.saturating_add(*v))
    }

    fn shown_value(&self) -> String {
        match &self.value_text {
            Some(text) => text.clone(),
            None if self.parts.is_empty() => "0".to_owned(),
            None => join(self.parts.iter().map(u64::to_string), " / "),
        }
    }
}

/// Visits on one local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    /// The local day.
    pub day: NaiveDate,
    /// Visits on it.
    pub count: u64,
}

impl DayCount {
    /// Days from a report's per-day counts (keys `YYYY-MM-DD`); keys that
    /// are not dates are left out.
    pub fn from_counts(counts: &[Count]) -> Vec<DayCount> {
        counts
            .iter()
            .filter_map(|c| {
                let day = NaiveDate::parse_from_str(&c.key, "%Y-%m-%d").ok()?;
                Some(DayCount { day, count: c.count })
            })
            .collect()
    }
}

/// The caller's texts for one chart, already translated.
#[derive(Debug, Clone, Copy)]
pub struct ChartText<'a> {
    /// Unique on the page; prefixes every id in the SVG. Characters other
    /// than ASCII letters, digits, `-` and `_` become `-`.
    pub id: &'a str,
    /// The chart's accessible name (`<title>`).
    pub title: &'a str,
    /// Shown instead of the chart when there is nothing to draw.
    pub no_data: &'a str,
}

/// Sizes, in SVG units (the SVG scales to its container).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Width of the drawing (at least 320).
    pub width: u32,
    /// Longest label shown, in characters; longer ones end with "…".
    pub label_chars: usize,
    /// Height of the day chart's plot area.
    pub plot_height: u32,
    /// Drawn for a right-to-left language: mirrored (see the module doc).
    pub rtl: bool,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            width: 640,
            label_chars: 40,
            plot_height: 160,
            rtl: false,
        }
    }
}

/// Horizontal bars, one per row, on one scale, with the label on the left
/// and the values on the right (mirrored when [`Layout::rtl`]); a legend on
/// top when there is more than one series. Parts beyond the series given
/// are drawn [`Fill::Neutral`]. No rows: the `no_data` text.
pub fn bar_chart(text: &ChartText<'_>, series: &[Series], rows: &[BarRow], layout: &Layout) -> String {
    let id = clean_id(text.id);
    let width = f64::from(layout.width.max(MIN_WIDTH));
    let m = Mirror::new(width, layout);
    if rows.is_empty() {
        return no_data(&id, text, m);
    }
    let label_chars = layout.label_chars.max(4);
    let fill_of = |i: usize| series.get(i).map_or(Fill::Neutral, |s| s.fill);

    let mut body = String::new();
    let mut top = PAD;
    if series.len() > 1 {
        top += legend(&mut body, &id, series, m) + 6.0;
    }

    let widest_label = rows
        .iter()
        .map(|r| text_width(&truncate(&r.label, label_chars).unwrap_or_else(|| r.label.clone())))
        .fold(0.0, f64::max);
    let widest_value = rows.iter().map(|r| text_width(&r.shown_value())).fold(0.0, f64::max);
    let x0 = PAD + widest_label + 8.0;
    let bar_space = (width - x0 - widest_value - 6.0 - PAD).max(40.0);
    let scale = rows.iter().map(BarRow::total).max().unwrap_or(0).max(1) as f64;

    for (i, row) in rows.iter().enumerate() {
        let y = top + i as f64 * ROW_HEIGHT;
        let bar_y = y + (ROW_HEIGHT - BAR_HEIGHT) / 2.0;
        let baseline = y + ROW_HEIGHT / 2.0 + 4.0;
        label(&mut body, m, x0 - 8.0, baseline, "end", &row.label, label_chars);
        let mut x = x0;
        for (p, value) in row.parts.iter().enumerate() {
            if *value == 0 {
                continue;
            }
            let w = *value as f64 / scale * bar_space;
            let _ = write!(
                body,
                r#"<rect class="bar-part" data-value="{value}" x="{:.2}" y="{bar_y:.2}" width="{w:.2}" height="{BAR_HEIGHT}" fill="{}" stroke="{OUTLINE}" stroke-width="0.6"/>"#,
                m.left(x, w),
                fill_of(p).paint(&id)
            );
            x += w;
        }
        let _ = write!(
            body,
            r#"<text class="bar-value" x="{:.2}" y="{baseline:.2}" text-anchor="{}">{}</text>"#,
            m.x(x + 6.0),
            m.anchor("start"),
            m.text(&row.shown_value())
        );
    }
    let bottom = top + rows.len() as f64 * ROW_HEIGHT;
    let _ = write!(
        body,
        r#"<line x1="{0:.2}" y1="{top:.2}" x2="{0:.2}" y2="{bottom:.2}" stroke="{RULE}"/>"#,
        m.x(x0)
    );

    let desc = join(
        rows.iter().map(|row| {
            let parts = join(
                row.parts.iter().enumerate().map(|(p, v)| match series.get(p) {
                    Some(s) if !s.label.is_empty() => format!("{} {v}", s.label),
                    _ => v.to_string(),
                }),
                ", ",
            );
            format!("{}: {parts}", row.label)
        }),
        "; ",
    );
    let fills: Vec<Fill> = series.iter().map(|s| s.fill).collect();
    svg(&id, text.title, &desc, width, bottom + PAD, &fills, &body)
}

/// Vertical columns, one per local day from the first day to the last,
/// days without visits drawn as zero, on a date axis with day/month ticks
/// (the year under the first tick and where it changes). Values sit above
/// the columns when they fit, else above the highest one. No visits at all:
/// the `no_data` text. At most [`MAX_DAYS`], the latest. Mirrored when
/// [`Layout::rtl`]: the first day on the right, the axis's numbers too.
pub fn day_chart(text: &ChartText<'_>, series: &Series, days: &[DayCount], layout: &Layout) -> String {
    let id = clean_id(text.id);
    let width = f64::from(layout.width.max(MIN_WIDTH));
    let m = Mirror::new(width, layout);
    let days = fill_days(days);
    let peak = days.iter().map(|d| d.count).max().unwrap_or(0);
    if peak == 0 {
        return no_data(&id, text, m);
    }
    let (step, axis_max) = nice_axis(peak);
    let plot_height = f64::from(layout.plot_height.max(60));

    let mut body = String::new();
    let caption_y = PAD + 10.0;
    let plot_top = caption_y + 22.0;
    let base = plot_top + plot_height;
    let x0 = PAD + text_width(&axis_max.to_string()) + 8.0;
    let x1 = width - PAD - 16.0;
    let _ = write!(
        body,
        r#"<text class="caption" x="{:.2}" y="{caption_y:.2}" text-anchor="{}" fill="{MUTED}">{}</text>"#,
        m.x(x0),
        m.anchor("start"),
        m.text(&series.label)
    );

    let y_of = |v: u64| base - v as f64 / axis_max as f64 * plot_height;
    let mut tick = 0u64;
    loop {
        let y = y_of(tick);
        let stroke = if tick == 0 { RULE } else { GRID };
        let _ = write!(
            body,
            r#"<line x1="{:.2}" y1="{y:.2}" x2="{:.2}" y2="{y:.2}" stroke="{stroke}"/><text class="axis" x="{:.2}" y="{:.2}" text-anchor="{}" fill="{MUTED}">{tick}</text>"#,
            m.x(x0),
            m.x(x1),
            m.x(x0 - 6.0),
            y + 4.0,
            m.anchor("end")
        );
        match tick.checked_add(step) {
            Some(next) if next <= axis_max => tick = next,
            _ => break,
        }
    }

    let col = (x1 - x0) / days.len() as f64;
    let gap = if col >= 4.0 { col * 0.2 } else { 0.0 };
    let labels_fit = col >= text_width(&peak.to_string()) + 2.0;
    let paint = series.fill.paint(&id);
    let mut peak_labelled = false;
    let column = (col - gap).min(MAX_COLUMN);
    for (i, d) in days.iter().enumerate() {
        let x = x0 + (i as f64 + 0.5) * col - column / 2.0;
        let y = y_of(d.count);
        let _ = write!(
            body,
            r#"<rect class="day" data-day="{}" data-value="{}" x="{:.2}" y="{y:.2}" width="{column:.2}" height="{:.2}" fill="{paint}"/>"#,
            d.day,
            d.count,
            m.left(x, column),
            base - y
        );
        let is_first_peak = d.count == peak && !peak_labelled;
        if labels_fit || is_first_peak {
            peak_labelled |= is_first_peak;
            let colour = if d.count == 0 { MUTED } else { INK };
            let _ = write!(
                body,
                r#"<text class="day-value" x="{:.2}" y="{:.2}" text-anchor="middle" fill="{colour}">{}</text>"#,
                m.x(x0 + (i as f64 + 0.5) * col),
                y - 4.0,
                d.count
            );
        }
    }

    let mut last_year = None;
    for i in day_ticks(&days, col) {
        let Some(d) = days.get(i) else { continue };
        let x = m.x(x0 + (i as f64 + 0.5) * col);
        let _ = write!(
            body,
            r#"<line x1="{x:.2}" y1="{base:.2}" x2="{x:.2}" y2="{:.2}" stroke="{RULE}"/><text class="tick" x="{x:.2}" y="{:.2}" text-anchor="middle" fill="{MUTED}">{}/{}</text>"#,
            base + 4.0,
            base + 16.0,
            d.day.day(),
            d.day.month()
        );
        if last_year != Some(d.day.year()) {
            let _ = write!(
                body,
                r#"<text x="{x:.2}" y="{:.2}" text-anchor="middle" fill="{MUTED}">{}</text>"#,
                base + 30.0,
                d.day.year()
            );
            last_year = Some(d.day.year());
        }
    }

    let desc = format!(
        "{}: {}",
        series.label,
        join(days.iter().map(|d| format!("{} {}", d.day, d.count)), ", ")
    );
    svg(&id, text.title, &desc, width, base + 30.0 + PAD, &[series.fill], &body)
}

/// Every day from the first to the last (at most [`MAX_DAYS`], the latest),
/// in order, counts of the same day summed, missing days as zero.
pub fn fill_days(days: &[DayCount]) -> Vec<DayCount> {
    let mut by_day: BTreeMap<NaiveDate, u64> = BTreeMap::new();
    for d in days {
        let sum = by_day.entry(d.day).or_insert(0);
        *sum = sum.saturating_add(d.count);
    }
    let (Some(first), Some(last)) = (by_day.keys().next(), by_day.keys().next_back()) else {
        return Vec::new();
    };
    let earliest = last.checked_sub_days(Days::new(MAX_DAYS as u64 - 1)).unwrap_or(*first);
    first
        .max(&earliest)
        .iter_days()
        .take_while(|day| day <= last)
        .map(|day| DayCount {
            day,
            count: by_day.get(&day).copied().unwrap_or(0),
        })
        .collect()
}
