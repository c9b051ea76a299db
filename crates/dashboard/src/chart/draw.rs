//! The parts both charts are drawn from: axes, ticks, legend, labels,
//! the SVG frame, text widths and escaping.

use super::*;

/// A step of 1, 2 or 5 times a power of ten giving about four gridlines,
/// and the axis top: the first multiple of the step at or above `peak`.
pub(super) fn nice_axis(peak: u64) -> (u64, u64) {
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
pub(super) fn day_ticks(days: &[DayCount], col: f64) -> Vec<usize> {
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
pub(super) struct Mirror {
    width: f64,
    rtl: bool,
}

impl Mirror {
    pub(super) fn new(width: f64, layout: &Layout) -> Self {
        Mirror { width, rtl: layout.rtl }
    }

    /// A point's x.
    pub(super) fn x(self, x: f64) -> f64 {
        if self.rtl { self.width - x } else { x }
    }

    /// The left edge of a box `w` wide that starts at `x` left to right.
    pub(super) fn left(self, x: f64, w: f64) -> f64 {
        if self.rtl { self.width - x - w } else { x }
    }

    /// A `text-anchor` (`start`, `middle`, `end`; physical in an LTR SVG).
    pub(super) fn anchor(self, anchor: &'static str) -> &'static str {
        match (self.rtl, anchor) {
            (true, "start") => "end",
            (true, "end") => "start",
            _ => anchor,
        }
    }

    /// A caller's text, escaped, in a right-to-left isolate when mirrored.
    pub(super) fn text(self, text: &str) -> String {
        if self.rtl {
            format!("\u{2067}{}\u{2069}", escape(text))
        } else {
            escape(text)
        }
    }
}

/// The legend, flowing over as many lines as it needs (from the right when
/// mirrored); returns its height.
pub(super) fn legend(out: &mut String, id: &str, series: &[Series], m: Mirror) -> f64 {
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
pub(super) fn label(out: &mut String, m: Mirror, x: f64, y: f64, anchor: &'static str, text: &str, max_chars: usize) {
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
pub(super) fn svg(id: &str, title: &str, desc: &str, width: f64, height: f64, fills: &[Fill], body: &str) -> String {
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
pub(super) fn no_data(id: &str, text: &ChartText<'_>, m: Mirror) -> String {
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
pub(super) fn truncate(text: &str, max_chars: usize) -> Option<String> {
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

pub(super) fn is_combining(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}')
}

/// An estimate of how wide `text` is drawn, in SVG units (an SVG string
/// cannot measure it). Glyph widths in em, rounded up from DejaVu Sans, the
/// widest common fallback, so a label never runs off the left edge.
pub(super) fn text_width(text: &str) -> f64 {
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
pub(super) fn clean_id(id: &str) -> String {
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

pub(super) fn join(items: impl Iterator<Item = String>, separator: &str) -> String {
    items.collect::<Vec<_>>().join(separator)
}
