//! From bytes to text: which encodings are accepted, and which delimiter a
//! file uses.
//!
//! Spreadsheet programs in Vietnam save CSV as UTF-8 (with or without a
//! byte-order mark), as UTF-16 ("Unicode Text") or in a legacy code page
//! (Windows-1258, TCVN3, VNI). Only UTF-8 is read: guessing among the legacy
//! ones would turn names into plausible-looking wrong names, so they are
//! refused with the line and how to re-save the file.

use crate::report::RegisterError;

const UTF8_BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// Checks the bytes are UTF-8 text and returns it without a byte-order mark.
pub fn decode(bytes: &[u8]) -> Result<&str, RegisterError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(RegisterError::Encoding(
            "the file is UTF-16 (Excel's \"Unicode Text\"); save it as \"CSV UTF-8 (comma delimited)\" and import again"
                .to_owned(),
        ));
    }
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let read = bytes.get(..e.valid_up_to()).unwrap_or_default();
        let line = read.iter().filter(|b| **b == b'\n').count() + 1;
        RegisterError::Encoding(format!(
            "line {line} is not UTF-8 text (the file may be saved as Windows-1258, TCVN3 or VNI); save it as \"CSV UTF-8\" and import again"
        ))
    })
}

/// The delimiter of the header line: whichever of comma, semicolon and tab
/// it has most of (comma when it has none). Spreadsheets set to Vietnamese
/// number formats (decimal comma) save with semicolons.
pub fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    // On a tie the earlier one wins: comma, then semicolon, then tab.
    let mut best = (b',', 0);
    for d in [b',', b';', b'\t'] {
        let n = header.bytes().filter(|b| *b == d).count();
        if n > best.1 {
            best = (d, n);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_or_without_a_bom_reads() {
        assert_eq!(decode("Thôn,Chủ hộ\n".as_bytes()).expect("utf-8"), "Thôn,Chủ hộ\n");
        assert_eq!(decode("\u{feff}Thôn\n".as_bytes()).expect("bom"), "Thôn\n");
        assert_eq!(decode(b"").expect("empty"), "");
    }

    #[test]
    fn legacy_encodings_name_the_line() {
        // "Lò Văn Hùng" in Windows-1258 on the third line.
        let err = decode(b"village,head\nTam Tu,A\nTam Tu,L\xf2 V\xe3n H\xf9ng\n").expect_err("not utf-8");
        let text = err.to_string();
        assert!(text.starts_with("line 3 is not UTF-8"), "{text}");
        assert!(text.contains("Windows-1258"), "{text}");
    }

    #[test]
    fn utf16_is_refused_either_way_round() {
        for bom in [[0xFF, 0xFE], [0xFE, 0xFF]] {
            let mut bytes = bom.to_vec();
            bytes.extend("village".encode_utf16().flat_map(u16::to_le_bytes));
            assert!(decode(&bytes).expect_err("utf-16").to_string().contains("UTF-16"));
        }
    }

    #[test]
    fn the_delimiter_comes_from_the_header() {
        assert_eq!(sniff_delimiter("Thôn;Chủ hộ;SĐT\nA,B;C;D"), b';');
        assert_eq!(sniff_delimiter("village\thead\n"), b'\t');
        assert_eq!(sniff_delimiter("village,head;x,y\n"), b',');
        assert_eq!(sniff_delimiter("village\n"), b',');
        assert_eq!(sniff_delimiter(""), b',');
    }
}
