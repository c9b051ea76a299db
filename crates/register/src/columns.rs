//! The columns of a register and the header names that mean them, in
//! Vietnamese and English. Headers are compared by [`header_key`]: case,
//! diacritics, underscores, dots and colons do not matter, so "Chủ hộ",
//! "CHU HO" and "chu_ho:" are the same column.

use std::collections::HashMap;

use csv::StringRecord;
use doorstep_core::text::match_key;

use crate::report::RegisterError;

/// A column of the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    /// The village (thôn, bản): required.
    Village,
    /// The commune (xã), when the file spans several.
    Commune,
    /// Head of household (chủ hộ): required.
    Head,
    /// Household phone.
    Phone,
    /// How to find the house (address, landmark).
    Landmark,
    /// Number of people.
    Members,
    /// Language spoken at home.
    Language,
    /// Notes.
    Notes,
    /// Latitude in decimal degrees.
    Latitude,
    /// Longitude in decimal degrees.
    Longitude,
}

/// Each column with the header names that mean it; the first is the name
/// used in messages when the file lacks the column.
const HEADERS: &[(Column, &[&str])] = &[
    (
        Column::Village,
        &[
            "village",
            "thon",
            "ban",
            "thon/ban",
            "thon ban",
            "ban/thon",
            "ten thon",
            "ten ban",
            "village name",
        ],
    ),
    (Column::Commune, &["commune", "xa", "ten xa", "commune name"]),
    (
        Column::Head,
        &[
            "head of household",
            "head_of_household",
            "head",
            "head name",
            "head_name",
            "chu ho",
            "ho ten chu ho",
            "ten chu ho",
            "ho va ten chu ho",
        ],
    ),
    (
        Column::Phone,
        &["phone", "phone number", "so dien thoai", "sdt", "dien thoai", "so dt"],
    ),
    (
        Column::Landmark,
        &["landmark", "address", "dia chi", "vi tri", "cach tim nha"],
    ),
    (
        Column::Members,
        &[
            "members",
            "members_count",
            "household size",
            "so nhan khau",
            "nhan khau",
            "so nguoi",
        ],
    ),
    (Column::Language, &["language", "ngon ngu", "tieng"]),
    (Column::Notes, &["notes", "note", "ghi chu"]),
    (Column::Latitude, &["latitude", "lat", "vi do"]),
    (Column::Longitude, &["longitude", "lng", "lon", "kinh do"]),
];

/// Columns a register must have.
const REQUIRED: [Column; 2] = [Column::Village, Column::Head];

impl Column {
    /// Our name for the column (English), for messages.
    pub fn name(self) -> &'static str {
        HEADERS
            .iter()
            .find(|(c, _)| *c == self)
            .and_then(|(_, names)| names.first())
            .copied()
            .unwrap_or("?")
    }

    /// The column a header means, if any.
    pub fn from_header(header: &str) -> Option<Column> {
        let key = header_key(header);
        HEADERS
            .iter()
            .find(|(_, names)| names.iter().any(|n| header_key(n) == key))
            .map(|(c, _)| *c)
    }
}

/// How a header is compared: [`match_key`], with `_`, `.` and `:` read as
/// spaces.
pub fn header_key(raw: &str) -> String {
    match_key(raw)
        .replace(['_', '.', ':'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A file's header, read: where each known column is, and what was ignored.
#[derive(Debug, Clone)]
pub struct Columns {
    headers: StringRecord,
    positions: HashMap<Column, usize>,
    /// Header cells that name no column (or repeat one), as written.
    pub ignored: Vec<String>,
}

impl Columns {
    /// Reads a header row. The first of two headers meaning the same column
    /// wins; the other is ignored. Fails when a required column is missing.
    pub fn recognise(headers: &StringRecord) -> Result<Columns, RegisterError> {
        let mut positions = HashMap::new();
        let mut ignored = Vec::new();
        for (i, h) in headers.iter().enumerate() {
            match Column::from_header(h) {
                Some(c) if !positions.contains_key(&c) => {
                    positions.insert(c, i);
                }
                _ if !h.is_empty() => ignored.push(h.to_owned()),
                _ => {}
            }
        }
        let missing: Vec<&str> = REQUIRED
            .into_iter()
            .filter(|c| !positions.contains_key(c))
            .map(Column::name)
            .collect();
        if !missing.is_empty() {
            return Err(RegisterError::MissingColumns {
                missing: missing.join(" or "),
                found: headers.iter().map(|h| format!("{h:?}")).collect::<Vec<_>>().join(", "),
            });
        }
        Ok(Columns {
            headers: headers.clone(),
            positions,
            ignored,
        })
    }

    /// Number of cells in the header.
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// Whether the header has no cells (never, once recognised).
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// A row's non-empty cell in a column.
    pub fn cell<'r>(&self, record: &'r StringRecord, column: Column) -> Option<&'r str> {
        self.positions
            .get(&column)
            .and_then(|i| record.get(*i))
            .filter(|s| !s.is_empty())
    }

    /// How to name a column in a message: the file's own spelling when it
    /// has the column, ours when it is the missing one.
    pub fn label(&self, column: Column) -> String {
        self.positions
            .get(&column)
            .and_then(|i| self.headers.get(*i))
            .unwrap_or(column.name())
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cells: &[&str]) -> StringRecord {
        StringRecord::from(cells.to_vec())
    }

    #[test]
    fn vietnamese_and_english_headers_mean_the_same_columns() {
        for (raw, column) in [
            ("Thôn/Bản", Column::Village),
            ("BẢN", Column::Village),
            ("village", Column::Village),
            ("Xã", Column::Commune),
            ("Họ và tên chủ hộ", Column::Head),
            ("head_of_household", Column::Head),
            ("Head of household:", Column::Head),
            ("Số điện thoại", Column::Phone),
            ("SĐT", Column::Phone),
            ("Địa chỉ", Column::Landmark),
            ("Số nhân khẩu", Column::Members),
            ("Ngôn ngữ", Column::Language),
            ("Ghi chú", Column::Notes),
            ("Vĩ độ", Column::Latitude),
            ("Kinh độ", Column::Longitude),
        ] {
            assert_eq!(Column::from_header(raw), Some(column), "{raw}");
        }
        assert_eq!(Column::from_header("Năm sinh"), None);
    }

    #[test]
    fn unknown_and_repeated_headers_are_ignored_and_listed() {
        let cols = Columns::recognise(&header(&["Thôn", "Chủ hộ", "Năm sinh", "village", ""])).expect("columns");
        assert_eq!(cols.ignored, ["Năm sinh", "village"]);
        assert_eq!(cols.label(Column::Village), "Thôn");
        assert_eq!(cols.label(Column::Phone), "phone");
        let row = header(&["Bun", "", "1970", "Khin"]);
        assert_eq!(cols.cell(&row, Column::Village), Some("Bun"));
        assert_eq!(cols.cell(&row, Column::Head), None, "empty cells are absent");
        assert_eq!(cols.cell(&row, Column::Phone), None);
    }

    #[test]
    fn missing_required_columns_are_named_with_what_was_found() {
        let err = Columns::recognise(&header(&["name", "phone"])).expect_err("missing");
        let text = err.to_string();
        assert!(text.contains("no village or head of household column"), "{text}");
        assert!(text.contains("found: \"name\", \"phone\""), "{text}");
        let err = Columns::recognise(&header(&["Bản", "phone"])).expect_err("missing head");
        assert!(err.to_string().contains("no head of household column"), "{err}");
    }
}
