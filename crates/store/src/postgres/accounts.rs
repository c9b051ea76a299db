//! Passwords and dashboard sessions in PostgreSQL (migration 0004): the
//! same rows and rules as SQLite's (`store::sqlite::accounts`).

use chrono::{DateTime, Utc};
use doorstep_core::schema::{format_timestamp, parse_timestamp};

use super::PgStore;
use crate::StoreError;
use crate::accounts::{Account, Accounts, Session};

impl Accounts for PgStore {
    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let client = self.client().await?;
        // A member's communes: those of its villages, each once, in the
        // order of their first village's id (as SQLite lists them).
        let rows = client
            .query(
                "SELECT m.id, coalesce(m.name, ''), coalesce(m.role, ''), coalesce(m.unit, ''),
                        (SELECT string_agg(s.commune_id, ',' ORDER BY s.first)
                         FROM (SELECT v.commune_id, min(v.id COLLATE \"C\") AS first FROM r_village v
                               WHERE v.commune_id IS NOT NULL
                                 AND v.id IN (SELECT json_array_elements_text(coalesce(m.village_ids, '[]')::json))
                               GROUP BY v.commune_id) s),
                        EXISTS (SELECT 1 FROM member_password p WHERE p.member_id = m.id)
                 FROM r_member m WHERE m.deleted = 0 ORDER BY m.name COLLATE \"C\" NULLS FIRST",
                &[],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let communes: Option<String> = r.try_get(4)?;
            out.push(Account {
                member_id: r.try_get(0)?,
                name: r.try_get(1)?,
                role: r.try_get(2)?,
                unit: r.try_get(3)?,
                communes: communes
                    .map(|c| c.split(',').map(str::to_owned).collect())
                    .unwrap_or_default(),
                has_password: r.try_get(5)?,
            });
        }
        Ok(out)
    }

    async fn set_password(&self, member_id: String, hash: String, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO member_password (member_id, hash, set_at) VALUES ($1, $2, $3)
             ON CONFLICT (member_id) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at",
            &[&member_id, &hash, &format_timestamp(now)],
        )
        .await?;
        tx.execute("DELETE FROM dashboard_session WHERE member_id = $1", &[&member_id])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn password_hash(&self, member_id: String) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT hash FROM member_password WHERE member_id = $1", &[&member_id])
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    }

    async fn start_session(&self, token_hash: String, session: Session, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let now = format_timestamp(now);
        // Expired sessions go when a new one starts: no timer needed.
        tx.execute("DELETE FROM dashboard_session WHERE expires_at <= $1", &[&now])
            .await?;
        tx.execute(
            "INSERT INTO dashboard_session (token_hash, member_id, csrf, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &token_hash,
                &session.member_id,
                &session.csrf,
                &now,
                &format_timestamp(session.expires_at),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session(&self, token_hash: String, now: DateTime<Utc>) -> Result<Option<Session>, StoreError> {
        let client = self.client().await?;
        let Some(r) = client
            .query_opt(
                "SELECT member_id, csrf, expires_at FROM dashboard_session WHERE token_hash = $1 AND expires_at > $2",
                &[&token_hash, &format_timestamp(now)],
            )
            .await?
        else {
            return Ok(None);
        };
        let expires: String = r.try_get(2)?;
        let expires_at =
            parse_timestamp(&expires).map_err(|e| StoreError::Damaged(format!("dashboard_session.expires_at: {e}")))?;
        Ok(Some(Session {
            member_id: r.try_get(0)?,
            csrf: r.try_get(1)?,
            expires_at,
        }))
    }

    async fn end_session(&self, token_hash: String) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute("DELETE FROM dashboard_session WHERE token_hash = $1", &[&token_hash])
            .await?;
        Ok(())
    }
}
