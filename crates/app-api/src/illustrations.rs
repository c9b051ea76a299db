//! The steps' pictures, shipped in the app (`assets/illustrations/`): a step
//! names one by path, the screen asks for its SVG text.

use include_dir::{Dir, include_dir};

use crate::error::ApiError;

static ILLUSTRATIONS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../assets/illustrations");

/// The SVG text of `path` (`vneid/install.svg`). Paths come from packs that
/// arrive over sync, so only plain relative names are looked up.
pub fn svg(path: &str) -> Result<String, ApiError> {
    let plain = !path.is_empty()
        && path.ends_with(".svg")
        && path.split('/').all(|part| {
            !part.is_empty()
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
        });
    if !plain {
        return Err(ApiError::bad_input(format!("{path:?} is not a picture path")));
    }
    let file = ILLUSTRATIONS
        .get_file(path)
        .ok_or_else(|| ApiError::new("not_found", format!("no picture {path:?} in this app")))?;
    file.contents_utf8()
        .map(str::to_owned)
        .ok_or_else(|| ApiError::new("store", format!("picture {path:?} is not UTF-8")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_found_by_plain_paths_only() {
        let first = ILLUSTRATIONS
            .dirs()
            .flat_map(|d| d.files())
            .next()
            .map(|f| f.path().to_string_lossy().into_owned());
        let Some(first) = first else {
            panic!("no illustrations are bundled");
        };
        assert!(svg(&first).is_ok_and(|s| s.contains("<svg")));
        for bad in [
            "../Cargo.toml",
            "vneid/../x.svg",
            "/etc/passwd",
            "vneid\\x.svg",
            "",
            "VNEID/A.svg",
        ] {
            assert_eq!(svg(bad).map_err(|e| e.kind), Err("bad_input".to_owned()), "{bad}");
        }
        assert_eq!(svg("vneid/nope.svg").map_err(|e| e.kind), Err("not_found".to_owned()));
    }
}
