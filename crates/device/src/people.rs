//! Finding people across households: "who taught them" on the visit form
//! (peer spread), and the member a tablet is enrolled for.

use doorstep_core::text::match_key;
use rusqlite::OptionalExtension;
use serde::Serialize;

use crate::error::Result;
use crate::store::Store;

/// A resident who may have taught a household (peer spread).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PeerCandidate {
    /// Person id.
    pub person_id: String,
    /// Their name.
    pub name: String,
    /// Their household.
    pub household_id: String,
    /// Head of their household.
    pub head_name: String,
    /// Their village.
    pub village: String,
}

/// A campaign member known on this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberRow {
    /// Member id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Role code (volunteer, lead, admin).
    pub role: String,
}

impl Store {
    /// People whose name contains `text` (ignoring case and diacritics),
    /// outside `except_household` if given, by name; at most `limit`.
    pub fn people_matching(
        &self,
        text: &str,
        except_household: Option<&str>,
        limit: usize,
    ) -> Result<Vec<PeerCandidate>> {
        let wanted = match_key(text);
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.id, p.name, h.id, h.head_name, v.name
             FROM person p
             JOIN household h ON h.id = p.household_id AND h.deleted = 0
             JOIN village v ON v.id = h.village_id
             WHERE p.deleted = 0 AND (?1 IS NULL OR h.id <> ?1)
             ORDER BY p.name, p.id",
        )?;
        let rows = stmt.query_map([except_household], |r| {
            Ok(PeerCandidate {
                person_id: r.get(0)?,
                name: r.get(1)?,
                household_id: r.get(2)?,
                head_name: r.get(3)?,
                village: r.get(4)?,
            })
        })?;
        let mut out = Vec::new();
        for row in rows {
            let row = row?;
            if match_key(&row.name).contains(&wanted) {
                out.push(row);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// A member by id, if this device knows them.
    pub fn member(&self, id: &str) -> Result<Option<MemberRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, name, role FROM member WHERE id = ?1 AND deleted = 0",
                [id],
                |r| {
                    Ok(MemberRow {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        role: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }
}
