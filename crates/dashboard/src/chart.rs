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

/// A step of 1, 2 or 5 times a power of ten giving about four gridlines,
/// and the axis top: the first multiple of the step at or above `peak`.
fn nice_axis(peak: u64) -> (u64, u64) {
    let raw = peak.div_ceil(4).max(1);
    let mut magnitude: u64 = 1;
    while let Some(next) = magnitude.checked_mul(10) {
        if next > raw {
            break;
        }
        magnitude = next;
    }
    let step = [1, 2, 5, 10]
        .iter()
        .filter_map(|m| magnitude.checked_mul(*m))
        .find(|s| *s >= raw)
        .unwrap_or(magnitude);
    let axis_max = peak.div_ceil(step).saturating_mul(step).max(step);
    (step, axis_max)
}

/// Which columns get a date tick: every day, every other day, Mondays,
/// every other Monday, or the first of every 1, 2, 3, 6 or 12 months,
/// whichever is the densest that keeps ticks about 48 units apart.
fn day_ticks(days: &[DayCount], col: f64) -> Vec<usize> {
    let spacing = (48.0 / col).ceil().max(1.0) as usize;
    let picked: Vec<usize> = days
        .iter()
        .enumerate()
        .filter(|(i, d)| match spacing {
            1 => true,
            2 => i.is_multiple_of(2),
            3..=7 => d.day.weekday() == Weekday::Mon,
            8..=14 => d.day.weekday() == Weekday::Mon && d.day.iso_week().week().is_multiple_of(2),
            _ => {
                let months = [1, 2, 3, 6, 12].into_iter().find(|m| m * 28 >= spacing).unwrap_or(12);
                d.day.day() == 1 && (d.day.month0() as usize).is_multiple_of(months)
            }
        })
        .map(|(i, _)| i)
        .collect();
    if picked.is_empty() { vec![0] } else { picked }
}

/// Where things go when a chart is mirrored. The drawing code places
/// everything as for left to right; `Mirror` turns those places and
/// anchors around when the chart is right to left, and isolates its texts.
#[derive(Debug, Clone, Copy)]
struct Mirror {
    width: f64,
    rtl: bool,
}

impl Mirror {
    fn new(width: f64, layout: &Layout) -> Self {
        Mirror { width, rtl: layout.rtl }
    }

    /// A point's x.
    fn x(self, x: f64) -> f64 {
        if self.rtl { self.width - x } else { x }
    }

    /// The left edge of a box `w` wide that starts at `x` left to right.
    fn left(self, x: f64, w: f64) -> f64 {
        if self.rtl { self.width - x - w } else { x }
    }

    /// A `text-anchor` (`start`, `middle`, `end`; physical in an LTR SVG).
    fn anchor(self, anchor: &'static str) -> &'static str {
        match (self.rtl, anchor) {
            (true, "start") => "end",
            (true, "end") => "start",
            _ => anchor,
        }
    }

    /// A caller's text, escaped, in a right-to-left isolate when mirrored.
    fn text(self, text: &str) -> String {
        if self.rtl {
            format!("\u{2067}{}\u{2069}", escape(text))
        } else {
            escape(text)
        }
    }
}

/// The legend, flowing over as many lines as it needs (from the right when
/// mirrored); returns its height.
fn legend(out: &mut String, id: &str, series: &[Series], m: Mirror) -> f64 {
    let width = m.width;
    let (mut x, mut y) = (PAD, PAD);
    for s in series {
        let item = SWATCH + 6.0 + text_width(&s.label) + 18.0;
        if x > PAD && x + item > width - PAD {
            x = PAD;
            y += 20.0;
        }
        let _ = write!(
            out,
            r#"<rect class="legend" x="{:.2}" y="{y:.2}" width="{SWATCH}" height="{SWATCH}" fill="{}" stroke="{OUTLINE}" stroke-width="0.6"/><text class="legend-label" x="{:.2}" y="{:.2}" text-anchor="{}">{}</text>"#,
            m.left(x, SWATCH),
            s.fill.paint(id),
            m.x(x + SWATCH + 6.0),
            y + SWATCH - 2.0,
            m.anchor("start"),
            m.text(&s.label)
        );
        x += item;
    }
    y + SWATCH - PAD
}

/// A label, cut to `max_chars` with "…" and its full text in a `<title>`.
fn label(out: &mut String, m: Mirror, x: f64, y: f64, anchor: &'static str, text: &str, max_chars: usize) {
    let _ = write!(
        out,
        r#"<text class="label" x="{:.2}" y="{y:.2}" text-anchor="{}">"#,
        m.x(x),
        m.anchor(anchor)
    );
    match truncate(text, max_chars) {
        Some(short) => {
            let _ = write!(out, "{}<title>{}</title></text>", m.text(&short), escape(text));
        }
        None => {
            let _ = write!(out, "{}</text>", m.text(text));
        }
    }
}

/// The whole SVG around a chart's body.
fn svg(id: &str, title: &str, desc: &str, width: f64, height: f64, fills: &[Fill], body: &str) -> String {
    let mut defs = String::new();
    for fill in [Fill::UnderWay, Fill::Blocked] {
        if fills.contains(&fill) {
            defs.push_str(&fill.pattern(id).unwrap_or_default());
        }
    }
    let defs = if defs.is_empty() {
        defs
    } else {
        format!("<defs>{defs}</defs>")
    };
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0} {height:.0}" width="100%" direction="ltr" role="img" aria-labelledby="{id}-title" aria-describedby="{id}-desc" font-family="system-ui, sans-serif" font-size="{FONT_SIZE}" fill="{INK}"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>{defs}{body}</svg>"#,
        escape(title),
        escape(desc)
    )
}

/// The caller's "no data" message in place of a chart.
fn no_data(id: &str, text: &ChartText<'_>, m: Mirror) -> String {
    let width = m.width;
    let body = format!(
        r#"<text class="no-data" x="{:.2}" y="28" text-anchor="middle" fill="{MUTED}">{}</text>"#,
        width / 2.0,
        m.text(text.no_data)
    );
    svg(id, text.title, text.no_data, width, 44.0, &[], &body)
}

/// `text` made safe for XML text and attribute values: the five markup
/// characters escaped, characters XML 1.0 forbids (most control characters)
/// replaced by U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `text` cut to `max_chars` characters ending in "…", never between a
/// letter and its accents; `None` when it fits.
fn truncate(text: &str, max_chars: usize) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= max_chars {
        return None;
    }
    let mut end = max_chars.saturating_sub(1);
    // Back off to the base letter, so its accents are not left behind.
    while end > 0 && chars.get(end).is_some_and(|c| is_combining(*c)) {
        end -= 1;
    }
    let kept: String = chars.get(..end).unwrap_or_default().iter().collect();
    Some(format!("{}…", kept.trim_end()))
}

fn is_combining(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}')
}

/// An estimate of how wide `text` is drawn, in SVG units (an SVG string
/// cannot measure it). Glyph widths in em, rounded up from DejaVu Sans, the
/// widest common fallback, so a label never runs off the left edge.
fn text_width(text: &str) -> f64 {
    let em: f64 = text
        .chars()
        .filter(|c| !is_combining(*c))
        .map(|c| match c {
            'i' | 'j' | 'l' | 'I' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | ' ' => 0.32,
            'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '/' | '-' => 0.42,
            'm' | 'w' | 'M' | 'W' | '@' | '%' | '&' => 1.0,
            '<' | '>' | '=' | '+' | '~' => 0.84,
            '0'..='9' => 0.64,
            c if c.is_uppercase() => 0.78,
            _ => 0.64,
        })
        .sum();
    em * FONT_SIZE
}

/// `id` reduced to characters safe in an XML id and a CSS selector.
fn clean_id(id: &str) -> String {
    let cleaned: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    match cleaned.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => cleaned,
        _ => format!("chart-{cleaned}"),
    }
}

fn join(items: impl Iterator<Item = String>, separator: &str) -> String {
    items.collect::<Vec<_>>().join(separator)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: ChartText<'static> = ChartText {
        id: "t",
        title: "Chart",
        no_data: "Nothing yet",
    };

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test dates are valid")
    }

    fn days(list: &[(&str, u64)]) -> Vec<DayCount> {
        list.iter()
            .map(|(d, count)| DayCount {
                day: day(d),
                count: *count,
            })
            .collect()
    }

    fn outcomes() -> Vec<Series> {
        vec![
            Series::new("Completed", Fill::Done),
            Series::new("Blocked", Fill::Blocked),
            Series::new("Under way", Fill::UnderWay),
        ]
    }

    /// Parses `svg` and returns the `(attribute, value)` of every element
    /// with `class`, in document order.
    fn attrs(svg: &str, class: &str, attribute: &str) -> Vec<String> {
        let doc = roxmltree::Document::parse(svg).expect("chart is well-formed XML");
        doc.descendants()
            .filter(|n| n.attribute("class") == Some(class))
            .filter_map(|n| n.attribute(attribute).map(str::to_owned))
            .collect()
    }

    fn desc(svg: &str) -> String {
        let doc = roxmltree::Document::parse(svg).expect("chart is well-formed XML");
        doc.descendants()
            .find(|n| n.has_tag_name("desc"))
            .and_then(|n| n.text())
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn escape_covers_markup_and_characters_xml_forbids() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{0}b\u{1b}c\u{FFFF}\td"), "a\u{FFFD}b\u{FFFD}c\u{FFFD}\td");
    }

    #[test]
    fn user_text_round_trips_through_the_svg() {
        let nasty = "<b>\"Lê & Sơn\"</b> 'x' ]]> \u{7}";
        let series = [Series::new(nasty, Fill::Done), Series::new("b", Fill::Remaining)];
        let text = ChartText {
            id: "x\" onload=\"alert(1)",
            title: nasty,
            no_data: nasty,
        };
        let svg = bar_chart(&text, &series, &[BarRow::new(nasty, vec![1, 2])], &Layout::default());
        assert!(!svg.contains("<b>") && !svg.contains("onload=\""));
        let doc = roxmltree::Document::parse(&svg).expect("chart is well-formed XML");
        let shown = nasty.replace('\u{7}', "\u{FFFD}");
        let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
        assert!(texts.contains(&shown.as_str()), "{texts:?}");
        assert_eq!(
            doc.root_element().attribute("aria-labelledby"),
            Some("x--onload--alert-1--title")
        );
    }

    #[test]
    fn output_is_accessible_scalable_xml() {
        for svg in [
            bar_chart(
                &TEXT,
                &outcomes(),
                &[BarRow::new("a", vec![1, 2, 3])],
                &Layout::default(),
            ),
            day_chart(
                &TEXT,
                &Series::new("Visits", Fill::Neutral),
                &days(&[("2024-03-01", 4)]),
                &Layout::default(),
            ),
            bar_chart(&TEXT, &outcomes(), &[], &Layout::default()),
        ] {
            let doc = roxmltree::Document::parse(&svg).expect("chart is well-formed XML");
            let root = doc.root_element();
            assert_eq!(root.tag_name().name(), "svg");
            assert_eq!(root.attribute("role"), Some("img"));
            assert_eq!(root.attribute("width"), Some("100%"));
            assert!(root.attribute("viewBox").is_some());
            let title = root.first_element_child().expect("svg has children");
            assert_eq!((title.tag_name().name(), title.text()), ("title", Some("Chart")));
            assert_eq!(root.attribute("aria-labelledby"), title.attribute("id"));
            // Every url(#...) points at a pattern in this SVG.
            for node in doc.descendants() {
                if let Some(target) = node.attribute("fill").and_then(|f| f.strip_prefix("url(#")) {
                    let target = target.trim_end_matches(')');
                    assert!(doc.descendants().any(|n| n.attribute("id") == Some(target)), "{target}");
                }
            }
        }
    }

    #[test]
    fn empty_data_shows_the_callers_message() {
        let layout = Layout::default();
        let series = Series::new("Visits", Fill::Neutral);
        for svg in [
            bar_chart(&TEXT, &outcomes(), &[], &layout),
            day_chart(&TEXT, &series, &[], &layout),
            day_chart(&TEXT, &series, &days(&[("2024-03-01", 0)]), &layout),
        ] {
            assert_eq!(attrs(&svg, "no-data", "x").len(), 1);
            assert!(svg.contains(">Nothing yet</text>"));
            assert_eq!(desc(&svg), "Nothing yet");
        }
    }

    #[test]
    fn bar_widths_are_proportional_to_values() {
        let rows = [
            BarRow::new("a", vec![10, 5, 0]),
            BarRow::new("b", vec![40, 0, 20]),
            BarRow::new("c", vec![1, 1, 1]),
        ];
        let svg = bar_chart(&TEXT, &outcomes(), &rows, &Layout::default());
        let widths: Vec<f64> = attrs(&svg, "bar-part", "width")
            .iter()
            .map(|w| w.parse().expect("width is a number"))
            .collect();
        let values: Vec<f64> = attrs(&svg, "bar-part", "data-value")
            .iter()
            .map(|v| v.parse().expect("value is a number"))
            .collect();
        assert_eq!(
            values,
            [10.0, 5.0, 40.0, 20.0, 1.0, 1.0, 1.0],
            "zero parts are not drawn"
        );
        let unit = widths[0] / values[0];
        for (w, v) in widths.iter().zip(&values) {
            assert!((w / v - unit).abs() < 0.01, "{w} for {v}, unit {unit}");
        }
        // The parts of one bar follow each other without a gap.
        let xs: Vec<f64> = attrs(&svg, "bar-part", "x")
            .iter()
            .map(|x| x.parse().expect("number"))
            .collect();
        assert!((xs[0] + widths[0] - xs[1]).abs() < 0.02);
    }

    #[test]
    fn bars_show_values_and_a_legend_only_when_stacked() {
        let rows = [
            BarRow::new("a", vec![5, 2, 3]),
            BarRow::new("b", vec![7]).with_text("7 of 9"),
        ];
        let svg = bar_chart(&TEXT, &outcomes(), &rows, &Layout::default());
        let doc = roxmltree::Document::parse(&svg).expect("chart is well-formed XML");
        let values: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("bar-value"))
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(values, ["5 / 2 / 3", "7 of 9"]);
        assert_eq!(attrs(&svg, "legend", "fill").len(), 3);

        let single = bar_chart(
            &TEXT,
            &[Series::new("Visits", Fill::Neutral)],
            &rows,
            &Layout::default(),
        );
        assert!(attrs(&single, "legend", "fill").is_empty());
        assert!(!single.contains("<pattern"), "a part beyond the series is neutral");
    }

    #[test]
    fn desc_lists_every_value() {
        let rows = [
            BarRow::new("Thôn 1", vec![12, 0, 3]),
            BarRow::new("Thôn 2", vec![4, 5, 6]),
        ];
        let svg = bar_chart(&TEXT, &outcomes(), &rows, &Layout::default());
        assert_eq!(
            desc(&svg),
            "Thôn 1: Completed 12, Blocked 0, Under way 3; Thôn 2: Completed 4, Blocked 5, Under way 6"
        );

        let svg = day_chart(
            &TEXT,
            &Series::new("Visits", Fill::Neutral),
            &days(&[("2024-03-01", 4), ("2024-03-03", 9)]),
            &Layout::default(),
        );
        assert_eq!(desc(&svg), "Visits: 2024-03-01 4, 2024-03-02 0, 2024-03-03 9");
    }

    #[test]
    fn day_chart_fills_gaps_with_zero_days() {
        let input = days(&[("2024-03-05", 2), ("2024-02-28", 3), ("2024-03-05", 1)]);
        let filled = fill_days(&input);
        assert_eq!(filled.len(), 7, "28 Feb to 5 Mar in a leap year");
        assert_eq!(filled.first().map(|d| (d.day, d.count)), Some((day("2024-02-28"), 3)));
        assert_eq!(filled.last().map(|d| (d.day, d.count)), Some((day("2024-03-05"), 3)));
        assert!(filled[1..6].iter().all(|d| d.count == 0));

        let svg = day_chart(&TEXT, &Series::new("Visits", Fill::Neutral), &input, &Layout::default());
        assert_eq!(attrs(&svg, "day", "data-value"), ["3", "0", "0", "0", "0", "0", "3"]);
        assert_eq!(attrs(&svg, "day", "data-day")[2], "2024-03-01");
        let heights: Vec<f64> = attrs(&svg, "day", "height")
            .iter()
            .map(|h| h.parse().expect("number"))
            .collect();
        assert_eq!(heights[1], 0.0);
        assert!(heights[0] > 0.0 && (heights[0] - heights[6]).abs() < 0.01);
    }

    #[test]
    fn day_chart_keeps_the_latest_days_and_spaces_its_ticks() {
        let input = days(&[("2001-01-01", 1), ("2024-06-30", 5)]);
        let filled = fill_days(&input);
        assert_eq!(filled.len(), MAX_DAYS);
        assert_eq!(filled.last().map(|d| d.day), Some(day("2024-06-30")));

        let svg = day_chart(&TEXT, &Series::new("Visits", Fill::Neutral), &input, &Layout::default());
        let ticks = attrs(&svg, "tick", "x");
        assert!((2..=12).contains(&ticks.len()), "{} ticks", ticks.len());
        assert_eq!(attrs(&svg, "day-value", "x").len(), 1, "only the peak is labelled");
    }

    #[test]
    fn long_labels_end_in_an_ellipsis_with_the_full_text_kept() {
        let long = "Thôn Đông Hòa Thượng, xóm giữa, gần chợ";
        let svg = bar_chart(
            &TEXT,
            &[],
            &[BarRow::new(long, vec![3])],
            &Layout {
                label_chars: 12,
                ..Layout::default()
            },
        );
        let doc = roxmltree::Document::parse(&svg).expect("chart is well-formed XML");
        let label = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("label"))
            .expect("a label");
        assert_eq!(label.text(), Some("Thôn Đông H…"));
        assert_eq!(label.first_element_child().and_then(|t| t.text()), Some(long));
        // Never between a letter and its accent (decomposed "ô").
        assert_eq!(truncate("Tho\u{302}n Đông", 4), Some("Th…".to_owned()));
        assert_eq!(truncate("short", 5), None);
    }

    #[test]
    fn odd_input_does_not_panic() {
        let layout = Layout {
            width: 0,
            label_chars: 0,
            plot_height: 0,
            rtl: true,
        };
        let svg = bar_chart(
            &TEXT,
            &[],
            &[BarRow::new("", vec![]), BarRow::new("", vec![u64::MAX, u64::MAX])],
            &layout,
        );
        roxmltree::Document::parse(&svg).expect("chart is well-formed XML");
        let svg = day_chart(
            &TEXT,
            &Series::new("", Fill::Done),
            &days(&[("2024-01-01", u64::MAX)]),
            &layout,
        );
        roxmltree::Document::parse(&svg).expect("chart is well-formed XML");
        assert_eq!(nice_axis(u64::MAX).1, u64::MAX);
        assert_eq!(nice_axis(7), (2, 8));
        assert_eq!(nice_axis(1), (1, 1));
    }

    #[test]
    fn report_rows_map_to_bars() {
        let village = VillageCoverage {
            village: "Thôn 1".to_owned(),
            households: 40,
            reached: 12,
            ..VillageCoverage::default()
        };
        assert_eq!(BarRow::coverage(&village).parts, [12, 28]);
        assert_eq!(BarRow::coverage(&village).value_text.as_deref(), Some("12 / 40"));
        let counts = [
            Count {
                key: "2024-03-01".to_owned(),
                count: 2,
            },
            Count {
                key: "not a day".to_owned(),
                count: 9,
            },
        ];
        assert_eq!(DayCount::from_counts(&counts), days(&[("2024-03-01", 2)]));
    }

    /// The numbers of an attribute of every element with `class`.
    fn numbers(svg: &str, class: &str, attribute: &str) -> Vec<f64> {
        attrs(svg, class, attribute)
            .iter()
            .map(|v| v.parse().expect("a number"))
            .collect()
    }

    #[test]
    fn right_to_left_mirrors_the_bars_and_isolates_the_texts() {
        let rows = [
            BarRow::new("VNeID – الهوية الإلكترونية", vec![5, 2, 3]),
            BarRow::new("b", vec![1]),
        ];
        let ltr = Layout::default();
        let rtl = Layout { rtl: true, ..ltr };
        let left = bar_chart(&TEXT, &outcomes(), &rows, &ltr);
        let right = bar_chart(&TEXT, &outcomes(), &rows, &rtl);
        let width = f64::from(ltr.width);
        // Every bar part is the mirror image of its left-to-right self.
        let (lx, lw) = (numbers(&left, "bar-part", "x"), numbers(&left, "bar-part", "width"));
        let (rx, rw) = (numbers(&right, "bar-part", "x"), numbers(&right, "bar-part", "width"));
        assert_eq!(lw, rw);
        for ((l, w), r) in lx.iter().zip(&lw).zip(&rx) {
            assert!((width - l - w - r).abs() < 0.02, "{l} + {w} mirrors to {r}");
        }
        // The first part (completed) starts at the right, the next ones
        // follow leftwards.
        assert!(rx[0] > rx[1] && rx[1] > rx[2]);
        // Labels end at the bars' right edge, values start left of them;
        // the legend starts on the right.
        assert_eq!(attrs(&right, "label", "text-anchor"), ["start", "start"]);
        assert_eq!(attrs(&right, "bar-value", "text-anchor"), ["end", "end"]);
        assert_eq!(attrs(&left, "label", "text-anchor"), ["end", "end"]);
        let legend = numbers(&right, "legend", "x");
        assert!(legend[0] > legend[1] && legend[1] > legend[2], "{legend:?}");
        // The SVG keeps left-to-right coordinates whatever the page says;
        // the texts read right to left inside isolates.
        let doc = roxmltree::Document::parse(&right).expect("chart is well-formed XML");
        assert_eq!(doc.root_element().attribute("direction"), Some("ltr"));
        let labels: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("label"))
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(
            labels,
            ["\u{2067}VNeID – الهوية الإلكترونية\u{2069}", "\u{2067}b\u{2069}"]
        );
        assert!(!left.contains('\u{2067}'), "left to right adds no marks");
        // What a screen reader hears does not change.
        assert_eq!(desc(&left), desc(&right));
    }

    #[test]
    fn right_to_left_runs_the_days_from_the_right() {
        let input = days(&[("2024-03-01", 4), ("2024-03-02", 1), ("2024-03-03", 9)]);
        let series = Series::new("الزيارات", Fill::Neutral);
        let ltr = Layout::default();
        let left = day_chart(&TEXT, &series, &input, &ltr);
        let right = day_chart(&TEXT, &series, &input, &Layout { rtl: true, ..ltr });
        let (lx, rx) = (numbers(&left, "day", "x"), numbers(&right, "day", "x"));
        assert!(lx[0] < lx[2] && rx[0] > rx[2], "the first day is on the right: {rx:?}");
        let w = numbers(&right, "day", "width")[0];
        assert!((f64::from(ltr.width) - lx[0] - w - rx[0]).abs() < 0.02);
        assert_eq!(attrs(&right, "axis", "text-anchor")[0], "start");
        assert_eq!(attrs(&right, "caption", "text-anchor"), ["end"]);
        assert!(right.contains(">\u{2067}الزيارات\u{2069}</text>"));
        let empty = day_chart(&TEXT, &series, &[], &Layout { rtl: true, ..ltr });
        assert!(empty.contains(">\u{2067}Nothing yet\u{2069}</text>"));
    }

    /// Writes example charts to the temp directory to look at:
    /// `cargo test -p doorstep-server --lib chart::tests::examples -- --ignored`,
    /// then `rsvg-convert -w 800 /tmp/chart_bar.svg -o /tmp/chart_bar.png`.
    #[test]
    #[ignore = "writes files for a person to look at"]
    fn examples() {
        let dir = std::env::temp_dir();
        let packs = [
            BarRow::new("Đăng ký định danh điện tử VNeID mức 2", vec![46, 7, 12]),
            BarRow::new("Cài đặt ứng dụng ngân hàng", vec![31, 2, 5]),
            BarRow::new("Nhận diện lừa đảo", vec![58, 0, 3]),
            BarRow::new("Dịch vụ công trực tuyến", vec![9, 11, 4]),
        ];
        let text = ChartText {
            id: "packs",
            title: "Checklist outcomes per pack",
            no_data: "No runs yet",
        };
        std::fs::write(
            dir.join("chart_bar.svg"),
            bar_chart(&text, &outcomes(), &packs, &Layout::default()),
        )
        .expect("temp dir is writable");

        let coverage = [
            BarRow::new("Thôn Đông", vec![112, 28]).with_text("112 / 140"),
            BarRow::new("Thôn Tây", vec![64, 96]).with_text("64 / 160"),
            BarRow::new("Xóm Chợ <A&B>", vec![20, 5]).with_text("20 / 25"),
        ];
        let series = [
            Series::new("Reached", Fill::Done),
            Series::new("Not yet reached", Fill::Remaining),
        ];
        let text = ChartText {
            id: "coverage",
            title: "Households reached",
            no_data: "No households",
        };
        std::fs::write(
            dir.join("chart_coverage.svg"),
            bar_chart(&text, &series, &coverage, &Layout::default()),
        )
        .expect("temp dir is writable");

        let visits: Vec<DayCount> = (0..40u64)
            .filter(|i| i % 7 != 6 && *i != 17)
            .map(|i| DayCount {
                day: day("2024-03-04") + Days::new(i),
                count: (i * 37 % 23) + i / 2,
            })
            .collect();
        let text = ChartText {
            id: "days",
            title: "Visits per day",
            no_data: "No visits",
        };
        let series = Series::new("Visits", Fill::Done);
        std::fs::write(
            dir.join("chart_day.svg"),
            day_chart(&text, &series, &visits, &Layout::default()),
        )
        .expect("temp dir is writable");
        std::fs::write(
            dir.join("chart_day_short.svg"),
            day_chart(&text, &series, &visits[..9], &Layout::default()),
        )
        .expect("temp dir is writable");
        std::fs::write(
            dir.join("chart_empty.svg"),
            day_chart(&text, &series, &[], &Layout::default()),
        )
        .expect("temp dir is writable");
    }
}
