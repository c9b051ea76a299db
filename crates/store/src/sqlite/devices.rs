//! Enrolment codes and device records: enrolling a tablet, the token
//! lookup every request makes, the tablets page, revoking and erasing.

use chrono::{DateTime, Utc};
use doorstep_core::ids::DeviceId;
use doorstep_core::schema::{FieldValue, format_timestamp};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use uuid::Uuid;

use super::{damaged, i64_of, text_id, u64_of};
use crate::{DeviceRecord, EnrollError, Enrolled, EraseAck, KeyRegistered, NewCode, PendingCode, StoreError};
use doorstep_ingest::entity_state;

/// Enrols a tablet with a one-time code (`Store::enroll`).
pub(super) fn enroll(
    conn: &mut Connection,
    code_hash: String,
    token_hash: String,
    label: Option<String>,
    now: DateTime<Utc>,
) -> Result<Enrolled, EnrollError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::from)?;
    let now_text = format_timestamp(now);
    let code: Option<(String, String, String, Option<String>)> = tx
        .query_row(
            "SELECT member_id, commune_id, expires_at, used_at FROM enrol_code WHERE code_hash = ?1",
            [&code_hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(StoreError::from)?;
    let Some((member, commune, expires, None)) = code else {
        return Err(EnrollError::BadCode);
    };
    if expires <= now_text {
        return Err(EnrollError::BadCode);
    }
    let device = DeviceId::new();
    tx.execute(
        "INSERT INTO device (id, label, member_id, commune_id, token_hash, enrolled_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        (device.to_string(), &label, &member, &commune, &token_hash, &now_text),
    )
    .map_err(StoreError::from)?;
    tx.execute(
        "UPDATE enrol_code SET used_at = ?1, device_id = ?2 WHERE code_hash = ?3",
        (&now_text, device.to_string(), &code_hash),
    )
    .map_err(StoreError::from)?;
    let state: Option<String> = tx
        .query_row("SELECT state FROM entity WHERE id = ?1", [&commune], |r| r.get(0))
        .optional()
        .map_err(StoreError::from)?;
    let commune_name = state
        .and_then(|s| entity_state::from_json(&s).ok())
        .and_then(|s| match s.value("name") {
            Some(FieldValue::Text(t)) => Some(t.clone()),
            _ => None,
        })
        .unwrap_or_default();
    tx.commit().map_err(StoreError::from)?;
    Ok(Enrolled {
        device_id: device,
        member_id: Uuid::parse_str(&member).map_err(|e| damaged("enrol_code.member_id", e))?,
        commune_id: Uuid::parse_str(&commune).map_err(|e| damaged("enrol_code.commune_id", e))?,
        commune_name,
    })
}

/// The device a token belongs to (`Store::device_by_token`).
pub(super) fn device_by_token(conn: &Connection, token_hash: String) -> Result<Option<DeviceRecord>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {DEVICE_COLUMNS} FROM device WHERE token_hash = ?1"))?
        .query_row([token_hash], device_record)
        .optional()?
        .map(|(_, d)| d))
}

/// An enrolled tablet by id, revoked ones included (`Store::device`).
pub(super) fn device(conn: &Connection, id: DeviceId) -> Result<Option<DeviceRecord>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {DEVICE_COLUMNS} FROM device WHERE id = ?1 AND commune_id IS NOT NULL"
        ))?
        .query_row([id.to_string()], device_record)
        .optional()?
        .map(|(_, d)| d))
}

/// Stores a tablet's public key if it has none (`Store::register_key`),
/// in one transaction: set only where it is NULL, else what is held tells
/// a repeat from another key.
pub(super) fn register_key(
    conn: &mut Connection,
    device: DeviceId,
    public_key: &str,
) -> Result<KeyRegistered, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let dev = device.to_string();
    let set = tx.execute(
        "UPDATE device SET public_key = ?1 WHERE id = ?2 AND commune_id IS NOT NULL AND public_key IS NULL",
        (public_key, &dev),
    )?;
    let held: Option<Option<String>> = if set == 1 {
        None
    } else {
        tx.query_row(
            "SELECT public_key FROM device WHERE id = ?1 AND commune_id IS NOT NULL",
            [&dev],
            |r| r.get(0),
        )
        .optional()?
    };
    tx.commit()?;
    if set == 1 {
        return Ok(KeyRegistered::Registered);
    }
    Ok(match held {
        None => KeyRegistered::NoDevice,
        Some(Some(k)) if k == public_key => KeyRegistered::Same,
        Some(_) => KeyRegistered::Other,
    })
}

/// Records a new enrolment code (`Store::add_enrol_code`).
pub(super) fn add_enrol_code(conn: &Connection, code: NewCode, now: DateTime<Utc>) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO enrol_code (code_hash, member_id, commune_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
        (
            code.code_hash,
            text_id(code.member_id),
            text_id(code.commune_id),
            format_timestamp(now),
            format_timestamp(code.expires_at),
        ),
    )?;
    Ok(())
}

/// The codes not yet used or expired (`Store::pending_codes`).
pub(super) fn pending_codes(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<PendingCode>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT code_hash, member_id, commune_id, created_at, expires_at FROM enrol_code
                 WHERE used_at IS NULL AND expires_at > ?1 ORDER BY created_at, code_hash",
    )?;
    let rows = stmt.query_map([format_timestamp(now)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (code_hash, member, commune, created_at, expires_at) = row?;
        out.push(PendingCode {
            code_hash,
            member_id: Uuid::parse_str(&member).map_err(|e| damaged("enrol_code.member_id", e))?,
            commune_id: Uuid::parse_str(&commune).map_err(|e| damaged("enrol_code.commune_id", e))?,
            created_at,
            expires_at,
        });
    }
    Ok(out)
}

/// Expires an unused code now (`Store::cancel_code`).
pub(super) fn cancel_code(conn: &Connection, code_hash: String, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let now = format_timestamp(now);
    let changed = conn.execute(
        "UPDATE enrol_code SET expires_at = ?1 WHERE code_hash = ?2 AND used_at IS NULL AND expires_at > ?1",
        (&now, &code_hash),
    )?;
    Ok(changed == 1)
}

/// The enrolled tablets, for the tablets page (`Store::devices`).
pub(super) fn devices(conn: &Connection) -> Result<Vec<DeviceRecord>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {DEVICE_COLUMNS}, {COPY_COLUMNS} FROM device WHERE commune_id IS NOT NULL ORDER BY enrolled_at"
        ))?
        .query_map([], listed_device)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Revokes a tablet, and asks it to erase itself if `erase` (`Store::revoke`).
pub(super) fn revoke(conn: &Connection, device: DeviceId, erase: bool, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let n = conn.execute(
        "UPDATE device SET revoked_at = coalesce(revoked_at, ?1),
                     erase_requested_at = CASE WHEN ?3 THEN coalesce(erase_requested_at, ?1)
                                               ELSE erase_requested_at END
                 WHERE id = ?2 AND commune_id IS NOT NULL",
        (format_timestamp(now), device.to_string(), erase),
    )?;
    Ok(n > 0)
}

/// A tablet's report that it erased itself (`Store::record_erased`).
pub(super) fn record_erased(
    conn: &mut Connection,
    device: DeviceId,
    unsent: u64,
    reported_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<EraseAck, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let row: Option<(Option<String>, Option<String>)> = tx
        .query_row(
            "SELECT erase_requested_at, erased_at FROM device WHERE id = ?1 AND commune_id IS NOT NULL",
            [device.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let ack = match row {
        None => EraseAck::NoDevice,
        Some((None, _)) => EraseAck::NotRequested,
        Some((Some(_), Some(_))) => EraseAck::AlreadyRecorded,
        Some((Some(asked), None)) => {
            tx.execute(
                "UPDATE device SET erased_at = ?1, erased_unsent = ?2 WHERE id = ?3 AND erased_at IS NULL",
                (
                    crate::erased_time(reported_at, &asked, now),
                    i64_of(unsent),
                    device.to_string(),
                ),
            )?;
            EraseAck::Recorded
        }
    };
    tx.commit()?;
    Ok(ack)
}

fn device_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, DeviceRecord)> {
    let id: String = r.get(0)?;
    let member: Option<String> = r.get(2)?;
    Ok((
        id.clone(),
        DeviceRecord {
            id: id.parse().unwrap_or_default(),
            label: r.get(1)?,
            member_id: member.and_then(|m| Uuid::parse_str(&m).ok()),
            commune_id: r.get(3)?,
            enrolled_at: r.get(4)?,
            last_seen_at: r.get(5)?,
            last_applied_seq: u64_of(r.get(6)?),
            revoked_at: r.get(7)?,
            erase_requested_at: r.get(8)?,
            erased_at: r.get(9)?,
            erased_unsent: r.get::<_, Option<i64>>(10)?.map(u64_of),
            backed_up_seq: r.get::<_, Option<i64>>(11)?.map(u64_of),
            copied_kept: 0,
            copied_at: None,
            public_key: r.get(12)?,
        },
    ))
}

/// A row of [`DEVICE_COLUMNS`] then [`COPY_COLUMNS`].
fn listed_device(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRecord> {
    let (_, mut d) = device_record(r)?;
    d.copied_kept = u64_of(r.get(13)?);
    d.copied_at = r.get(14)?;
    Ok(d)
}

const DEVICE_COLUMNS: &str = "id, label, member_id, commune_id, enrolled_at, last_seen_at, last_applied_seq, \
     revoked_at, erase_requested_at, erased_at, erased_unsent, backed_up_seq, public_key";

/// The tablets page's columns after [`DEVICE_COLUMNS`]: a copy seen (read
/// by [`listed_device`]; not on the token lookup every request makes).
const COPY_COLUMNS: &str = "(SELECT count(*) FROM quarantine q WHERE q.device_id = device.id), \
     (SELECT min(received_at) FROM quarantine q WHERE q.device_id = device.id)";
