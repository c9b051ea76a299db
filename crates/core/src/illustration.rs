//! Step illustrations: simple SVG pictures drawn for the project.
//!
//! A picture is shown next to a step's instruction on a tablet held in a
//! doorway, in every language the app speaks. So it must be a plain vector
//! drawing that carries no words, runs no code and loads nothing else:
//! [`check_svg`] says what in a file breaks that.

/// The largest illustration file accepted, in bytes.
pub const MAX_ILLUSTRATION_BYTES: usize = 16 * 1024;

/// The elements a picture may use: plain shapes, groups, gradients, masks.
const ALLOWED: &[&str] = &[
    "svg",
    "g",
    "defs",
    "path",
    "rect",
    "circle",
    "ellipse",
    "line",
    "polyline",
    "polygon",
    "linearGradient",
    "radialGradient",
    "stop",
    "clipPath",
    "mask",
    "use",
    "symbol",
];

/// Elements with a reason of their own, for a clearer message.
const FORBIDDEN: &[(&str, &str)] = &[
    ("text", "pictures carry no words, so they work in every language"),
    ("script", "pictures run no code"),
    ("image", "draw it as vector shapes; no embedded or linked raster images"),
    ("foreignObject", "no HTML inside pictures"),
    ("iframe", "pictures load nothing else"),
    ("audio", "pictures load nothing else"),
    ("video", "pictures load nothing else"),
];

/// The namespace of SVG elements.
const SVG_NAMESPACE: &str = "http://www.w3.org/2000/svg";

/// Whether an attribute value refers to anything but an `#id` in the file:
/// every `url(` (in any case) must be `url(#`, and CSS escapes, which could
/// spell `url` another way, are refused.
fn loads_outside(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    value.contains('\\')
        || lower
            .match_indices("url(")
            .any(|(i, _)| !lower[i + 4..].trim_start().starts_with('#'))
}

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
    } else if root.tag_name().namespace() != Some(SVG_NAMESPACE) {
        out.push(format!(
            "the <svg> element needs xmlns=\"{SVG_NAMESPACE}\" to show as an image"
        ));
    }
    for pi in doc.root().children().filter(roxmltree::Node::is_pi) {
        let line = doc.text_pos_at(pi.range().start).row;
        out.push(format!(
            "line {line}: processing instructions (<?...?>) are not allowed: pictures load nothing"
        ));
    }
    if root.attribute("viewBox").is_none() {
        out.push("the <svg> element has no viewBox, so it cannot scale".into());
    }
    for node in doc.descendants().filter(roxmltree::Node::is_element) {
        let name = node.tag_name().name();
        let line = doc.text_pos_at(node.range().start).row;
        if let Some((_, why)) = FORBIDDEN.iter().find(|(tag, _)| *tag == name) {
            out.push(format!("line {line}: <{name}> is not allowed: {why}"));
        } else if !ALLOWED.contains(&name) {
            out.push(format!(
                "line {line}: <{name}> is not allowed: use only plain shapes ({})",
                ALLOWED.join(", ")
            ));
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
            } else if attr_name == "style" {
                out.push(format!(
                    "line {line}: the style attribute is not allowed: write fill, stroke and the rest as attributes"
                ));
            } else if loads_outside(attr.value()) {
                out.push(format!(
                    "line {line}: {attr_name} loads an outside resource: only url(#id) is allowed"
                ));
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
        let bad = r#"<?xml-stylesheet href="https://example.org/a.css"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">
  <text x="1" y="1">Cài đặt</text>
  <script>alert(1)</script>
  <image xlink:href="https://example.org/shot.png"/>
  <rect onclick="x()" style="fill:url(#g)"/>
  <rect fill="URL(#g)" stroke="url(https://example.org/a.svg)"/>
  <style>@import url(https://example.org/a.css);</style>
  <a href="javascript:alert(1)"><set attributeName="fill" to="red"/></a>
</svg>"#;
        let found = check_svg(bad);
        let expected = [
            "the <svg> element has no viewBox",
            "line 1: processing instructions",
            "line 3: <text> is not allowed",
            "line 4: <script> is not allowed",
            "line 5: <image> is not allowed",
            "line 5: <image> links to \"https://example.org/shot.png\"",
            "line 6: event attribute onclick",
            "line 6: the style attribute is not allowed",
            "line 7: stroke loads an outside resource",
            "line 8: <style> is not allowed: use only plain shapes",
            "line 9: <a> is not allowed: use only plain shapes",
            "line 9: <a> links to \"javascript:alert(1)\"",
            "line 9: <set> is not allowed: use only plain shapes",
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
        assert!(check_svg("<svg viewBox=\"0 0 1 1\"/>")[0].contains("needs xmlns"));
        let escaped = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect fill="u\72l(x)"/></svg>"#;
        assert!(
            check_svg(escaped)[0].contains("loads an outside resource"),
            "{:?}",
            check_svg(escaped)
        );
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
