//! Step illustrations: simple SVG pictures drawn for the project.
//!
//! A picture is shown next to a step's instruction on a tablet held in a
//! doorway, in every language the app speaks. So it must be a plain vector
//! drawing that carries no words, runs no code and loads nothing else:
//! [`check_svg`] says what in a file breaks that.

/// The largest illustration file accepted, in bytes.
pub const MAX_ILLUSTRATION_BYTES: usize = 16 * 1024;

/// Elements a picture may not contain, with the reason given to its author.
const FORBIDDEN: &[(&str, &str)] = &[
    ("text", "pictures carry no words, so they work in every language"),
    ("script", "pictures run no code"),
    ("image", "draw it as vector shapes; no embedded or linked raster images"),
    ("foreignObject", "no HTML inside pictures"),
    ("iframe", "pictures load nothing else"),
    ("audio", "pictures load nothing else"),
    ("video", "pictures load nothing else"),
];

/// Every problem with one SVG file's text; empty when it is fine.
pub fn check_svg(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    if text.len() > MAX_ILLUSTRATION_BYTES {
        out.push(format!(
            "{} bytes, more than {} KiB: simplify the drawing",
            text.len(),
            MAX_ILLUSTRATION_BYTES / 1024
        ));
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = match roxmltree::Document::parse_with_options(text, options) {
        Ok(doc) => doc,
        Err(e) => {
            out.push(format!("not well-formed XML: {e}"));
            return out;
        }
    };
    let root = doc.root_element();
    if root.tag_name().name() != "svg" {
        out.push(format!("the root element is <{}>, not <svg>", root.tag_name().name()));
    }
    if root.attribute("viewBox").is_none() {
        out.push("the <svg> element has no viewBox, so it cannot scale".into());
    }
    for node in doc.descendants().filter(roxmltree::Node::is_element) {
        let name = node.tag_name().name();
        let line = doc.text_pos_at(node.range().start).row;
        if let Some((_, why)) = FORBIDDEN.iter().find(|(tag, _)| *tag == name) {
            out.push(format!("line {line}: <{name}> is not allowed: {why}"));
        }
        for attr in node.attributes() {
            let attr_name = attr.name();
            if attr_name.starts_with("on") {
                out.push(format!(
                    "line {line}: event attribute {attr_name} is not allowed: pictures run no code"
                ));
            } else if attr_name == "href" && !attr.value().starts_with('#') {
                out.push(format!(
                    "line {line}: <{name}> links to {:?}: only #ids inside the file are allowed",
                    attr.value()
                ));
            } else if attr.value().contains("url(") && !attr.value().contains("url(#") {
                out.push(format!("line {line}: {attr_name} loads an outside resource"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 160">
  <defs><linearGradient id="g"><stop offset="0" stop-color="#ccfbf1"/></linearGradient></defs>
  <rect x="80" y="10" width="80" height="140" rx="12" fill="url(#g)" stroke="#1f2937" stroke-width="5"/>
  <use href="#g"/>
</svg>"##;

    #[test]
    fn a_plain_drawing_passes() {
        assert_eq!(check_svg(GOOD), Vec::<String>::new());
    }

    #[test]
    fn words_code_and_outside_files_are_refused() {
        let bad = r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">
  <text x="1" y="1">Cài đặt</text>
  <script>alert(1)</script>
  <image xlink:href="https://example.org/shot.png"/>
  <rect onclick="x()" style="fill:url(https://example.org/a.svg)"/>
</svg>"#;
        let found = check_svg(bad);
        let expected = [
            "the <svg> element has no viewBox",
            "line 2: <text> is not allowed",
            "line 3: <script> is not allowed",
            "line 4: <image> is not allowed",
            "line 4: <image> links to \"https://example.org/shot.png\"",
            "line 5: event attribute onclick",
            "line 5: style loads an outside resource",
        ];
        for e in expected {
            assert!(found.iter().any(|f| f.starts_with(e)), "missing {e:?} in {found:#?}");
        }
        assert_eq!(found.len(), expected.len(), "{found:#?}");
    }

    #[test]
    fn broken_xml_and_other_roots_are_named() {
        assert!(check_svg("<svg viewBox=\"0 0 1 1\"><rect></svg>")[0].starts_with("not well-formed XML"));
        assert!(check_svg("<html viewBox=\"0 0 1 1\"/>")[0].starts_with("the root element is <html>"));
        let doctype = "<!DOCTYPE svg [<!ENTITY a \"b\">]><svg viewBox=\"0 0 1 1\"/>";
        assert!(
            check_svg(doctype)[0].starts_with("not well-formed XML"),
            "DTDs are refused"
        );
    }

    #[test]
    fn big_files_are_refused() {
        let big = GOOD.replace("<use", &format!("<!-- {} --><use", "x".repeat(MAX_ILLUSTRATION_BYTES)));
        assert!(check_svg(&big)[0].contains("more than 16 KiB"));
    }
}
