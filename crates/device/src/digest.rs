//! A fingerprint of everything replicas must agree on, for checking that
//! devices converged: every entity table, every field's version and every
//! open conflict, in a fixed order. Bookkeeping that may legitimately differ
//! between replicas (outbox, pull cursor, dedup and parking tables, when a
//! conflict was noticed) is left out.

use doorstep_core::schema::EntityKind;
use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::store::Store;

const EXTRA: &[(&str, &str)] = &[
    (
        "field_clock",
        "SELECT entity, entity_id, field, hlc, device_id FROM field_clock ORDER BY entity, entity_id, field",
    ),
    (
        "conflict",
        "SELECT entity, entity_id, field, hlc, device_id, value FROM conflict ORDER BY entity, entity_id, field, hlc, device_id",
    ),
];

impl Store {
    /// SHA-256 of the materialised state, as hex.
    pub fn state_digest(&self) -> Result<String> {
        let mut hash = Sha256::new();
        let mut queries: Vec<(String, String)> = EntityKind::IN_DEPENDENCY_ORDER
            .iter()
            .map(|k| (k.table().to_owned(), format!("SELECT * FROM {} ORDER BY id", k.table())))
            .collect();
        queries.extend(EXTRA.iter().map(|(t, q)| ((*t).to_owned(), (*q).to_owned())));
        for (table, sql) in queries {
            hash.update(table.as_bytes());
            hash.update([0]);
            let mut stmt = self.conn.prepare(&sql)?;
            let columns = stmt.column_count();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                for i in 0..columns {
                    match row.get_ref(i)? {
                        ValueRef::Null => hash.update([0]),
                        ValueRef::Integer(v) => {
                            hash.update([1]);
                            hash.update(v.to_le_bytes());
                        }
                        ValueRef::Real(v) => {
                            hash.update([2]);
                            hash.update(v.to_le_bytes());
                        }
                        ValueRef::Text(t) => {
                            hash.update([3]);
                            hash.update((t.len() as u64).to_le_bytes());
                            hash.update(t);
                        }
                        ValueRef::Blob(b) => {
                            hash.update([4]);
                            hash.update((b.len() as u64).to_le_bytes());
                            hash.update(b);
                        }
                    }
                }
            }
        }
        Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }
}
