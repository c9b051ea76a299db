//! Charts drawn and read back as SVG: values, patterns, words, mirroring.

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
