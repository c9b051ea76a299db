//! Passwords and dashboard sessions in SQLite (migration 0004).

use chrono::{DateTime, Utc};
use doorstep_core::schema::{format_timestamp, parse_timestamp};
use rusqlite::OptionalExtension;

use super::SqliteStore;
use crate::StoreError;
use crate::accounts::{Account, Accounts, Session};

impl Accounts for SqliteStore {
    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT m.id, coalesce(m.name, ''), coalesce(m.role, ''), coalesce(m.unit, ''),
                        (SELECT group_concat(DISTINCT v.commune_id) FROM r_village v
                         WHERE v.id IN (SELECT value FROM json_each(coalesce(m.village_ids, '[]')))),
                        EXISTS (SELECT 1 FROM member_password p WHERE p.member_id = m.id)
                 FROM r_member m WHERE m.deleted = 0 ORDER BY m.name",
            )?;
            let rows = stmt.query_map([], |r| {
                let communes: Option<String> = r.get(4)?;
                Ok(Account {
                    member_id: r.get(0)?,
                    name: r.get(1)?,
                    role: r.get(2)?,
                    unit: r.get(3)?,
                    communes: communes
                        .map(|c| c.split(',').map(str::to_owned).collect())
                        .unwrap_or_default(),
                    has_password: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn set_password(&self, member_id: String, hash: String, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(move |conn, _| -> Result<(), StoreError> {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO member_password (member_id, hash, set_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(member_id) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at",
                (&member_id, &hash, format_timestamp(now)),
            )?;
            tx.execute("DELETE FROM dashboard_session WHERE member_id = ?1", [&member_id])?;
            tx.commit()?;
            Ok(())
        })
        .await?
    }

    async fn password_hash(&self, member_id: String) -> Result<Option<String>, StoreError> {
        self.read(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT hash FROM member_password WHERE member_id = ?1",
                    [member_id],
                    |r| r.get(0),
                )
                .optional()?)
        })
        .await
    }

    async fn start_session(&self, token_hash: String, session: Session, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(move |conn, _| -> Result<(), StoreError> {
            let tx = conn.transaction()?;
            // Expired sessions go when a new one starts: no timer needed.
            tx.execute(
                "DELETE FROM dashboard_session WHERE expires_at <= ?1",
                [format_timestamp(now)],
            )?;
            tx.execute(
                "INSERT INTO dashboard_session (token_hash, member_id, csrf, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                (
                    &token_hash,
                    &session.member_id,
                    &session.csrf,
                    format_timestamp(now),
                    format_timestamp(session.expires_at),
                ),
            )?;
            tx.commit()?;
            Ok(())
        })
        .await?
    }

    async fn session(&self, token_hash: String, now: DateTime<Utc>) -> Result<Option<Session>, StoreError> {
        self.read(move |conn| {
            let row: Option<(String, String, String)> = conn
                .query_row(
                    "SELECT member_id, csrf, expires_at FROM dashboard_session
                     WHERE token_hash = ?1 AND expires_at > ?2",
                    (&token_hash, format_timestamp(now)),
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            row.map(|(member_id, csrf, expires)| {
                let expires_at = parse_timestamp(&expires)
                    .map_err(|e| StoreError::Damaged(format!("dashboard_session.expires_at: {e}")))?;
                Ok(Session {
                    member_id,
                    csrf,
                    expires_at,
                })
            })
            .transpose()
        })
        .await
    }

    async fn end_session(&self, token_hash: String) -> Result<(), StoreError> {
        self.write(move |conn, _| -> Result<(), StoreError> {
            conn.execute("DELETE FROM dashboard_session WHERE token_hash = ?1", [token_hash])?;
            Ok(())
        })
        .await?
    }
}
