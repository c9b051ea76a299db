//! Enrolment codes and device records: enrolling a tablet, the token
//! lookup every request makes, the tablets page, revoking and erasing.

use chrono::{DateTime, Utc};
use doorstep_core::ids::DeviceId;
use doorstep_core::schema::{FieldValue, format_timestamp};
use tokio_postgres::{Client, Row};
use uuid::Uuid;

use super::{damaged, i64_of, text_id, u64_of};
use crate::{DeviceRecord, EnrollError, Enrolled, EraseAck, KeyRegistered, NewCode, PendingCode, StoreError};
use doorstep_ingest::entity_state;

/// Enrols a tablet with a one-time code (`Store::enroll`).
pub(super) async fn enroll(
    client: &mut deadpool_postgres::Object,
    code_hash: String,
    token_hash: String,
    label: Option<String>,
    now: DateTime<Utc>,
) -> Result<Enrolled, EnrollError> {
    let tx = client.transaction().await.map_err(StoreError::from)?;
    let now_text = format_timestamp(now);
    let device = DeviceId::new();
    // The row lock makes a code single-use even when two tablets send
    // it to two servers at once: the second finds it used.
    let code = tx
        .query_opt(
            "UPDATE enrol_code SET used_at = $1, device_id = $2
                 WHERE code_hash = $3 AND used_at IS NULL AND expires_at > $1
                 RETURNING member_id, commune_id",
            &[&now_text, &device.to_string(), &code_hash],
        )
        .await
        .map_err(StoreError::from)?;
    let Some(code) = code else {
        return Err(EnrollError::BadCode);
    };
    let member: String = code.try_get(0).map_err(StoreError::from)?;
    let commune: String = code.try_get(1).map_err(StoreError::from)?;
    tx.execute(
        "INSERT INTO device (id, label, member_id, commune_id, token_hash, enrolled_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        &[&device.to_string(), &label, &member, &commune, &token_hash, &now_text],
    )
    .await
    .map_err(StoreError::from)?;
    let state: Option<String> = tx
        .query_opt("SELECT state FROM entity WHERE id = $1", &[&commune])
        .await
        .map_err(StoreError::from)?
        .map(|r| r.get(0));
    let commune_name = state
        .and_then(|s| entity_state::from_json(&s).ok())
        .and_then(|s| match s.value("name") {
            Some(FieldValue::Text(t)) => Some(t.clone()),
            _ => None,
        })
        .unwrap_or_default();
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Enrolled {
        device_id: device,
        member_id: Uuid::parse_str(&member).map_err(|e| damaged("enrol_code.member_id", e))?,
        commune_id: Uuid::parse_str(&commune).map_err(|e| damaged("enrol_code.commune_id", e))?,
        commune_name,
    })
}

/// The device a token belongs to (`Store::device_by_token`).
pub(super) async fn device_by_token(client: &Client, token_hash: String) -> Result<Option<DeviceRecord>, StoreError> {
    let row = client
        .query_opt(
            &format!("SELECT {DEVICE_COLUMNS} FROM device WHERE token_hash = $1"),
            &[&token_hash],
        )
        .await?;
    row.as_ref().map(device_record).transpose()
}

/// An enrolled tablet by id, revoked ones included (`Store::device`).
pub(super) async fn device(client: &Client, id: DeviceId) -> Result<Option<DeviceRecord>, StoreError> {
    let row = client
        .query_opt(
            &format!("SELECT {DEVICE_COLUMNS} FROM device WHERE id = $1 AND commune_id IS NOT NULL"),
            &[&id.to_string()],
        )
        .await?;
    row.as_ref().map(device_record).transpose()
}

/// Stores a tablet's public key if it has none (`Store::register_key`),
/// in one transaction: set only where it is NULL, else what is held tells
/// a repeat from another key. Two registrations at once: the second's
/// update waits for the first to commit, then its read finds that key.
pub(super) async fn register_key(
    client: &mut deadpool_postgres::Object,
    device: DeviceId,
    public_key: &str,
) -> Result<KeyRegistered, StoreError> {
    let tx = client.transaction().await?;
    let dev = device.to_string();
    let set = tx
        .execute(
            "UPDATE device SET public_key = $1 WHERE id = $2 AND commune_id IS NOT NULL AND public_key IS NULL",
            &[&public_key, &dev],
        )
        .await?;
    let held = if set == 1 {
        None
    } else {
        tx.query_opt(
            "SELECT public_key FROM device WHERE id = $1 AND commune_id IS NOT NULL",
            &[&dev],
        )
        .await?
        .map(|r| r.try_get::<_, Option<String>>(0))
        .transpose()?
    };
    tx.commit().await?;
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
pub(super) async fn add_enrol_code(client: &Client, code: NewCode, now: DateTime<Utc>) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO enrol_code (code_hash, member_id, commune_id, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
            &[
                &code.code_hash,
                &text_id(code.member_id),
                &text_id(code.commune_id),
                &format_timestamp(now),
                &format_timestamp(code.expires_at),
            ],
        )
        .await?;
    Ok(())
}

/// The codes not yet used or expired (`Store::pending_codes`).
pub(super) async fn pending_codes(client: &Client, now: DateTime<Utc>) -> Result<Vec<PendingCode>, StoreError> {
    let rows = client
        .query(
            "SELECT code_hash, member_id, commune_id, created_at, expires_at FROM enrol_code
                 WHERE used_at IS NULL AND expires_at > $1 ORDER BY created_at COLLATE \"C\", code_hash COLLATE \"C\"",
            &[&format_timestamp(now)],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let member: String = r.try_get(1)?;
        let commune: String = r.try_get(2)?;
        out.push(PendingCode {
            code_hash: r.try_get(0)?,
            member_id: Uuid::parse_str(&member).map_err(|e| damaged("enrol_code.member_id", e))?,
            commune_id: Uuid::parse_str(&commune).map_err(|e| damaged("enrol_code.commune_id", e))?,
            created_at: r.try_get(3)?,
            expires_at: r.try_get(4)?,
        });
    }
    Ok(out)
}

/// Expires an unused code now (`Store::cancel_code`).
pub(super) async fn cancel_code(client: &Client, code_hash: String, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let now = format_timestamp(now);
    let changed = client
        .execute(
            "UPDATE enrol_code SET expires_at = $1 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1",
            &[&now, &code_hash],
        )
        .await?;
    Ok(changed == 1)
}

/// The enrolled tablets, for the tablets page (`Store::devices`).
pub(super) async fn devices(client: &Client) -> Result<Vec<DeviceRecord>, StoreError> {
    let rows = client
        .query(
            &format!(
                "SELECT {DEVICE_COLUMNS}, {COPY_COLUMNS} FROM device WHERE commune_id IS NOT NULL ORDER BY enrolled_at COLLATE \"C\", id COLLATE \"C\""
            ),
            &[],
        )
        .await?;
    rows.iter().map(listed_device).collect()
}

/// Revokes a tablet, and asks it to erase itself if `erase` (`Store::revoke`).
pub(super) async fn revoke(
    client: &Client,
    device: DeviceId,
    erase: bool,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = client
        .execute(
            "UPDATE device SET revoked_at = coalesce(revoked_at, $1),
                     erase_requested_at = CASE WHEN $3 THEN coalesce(erase_requested_at, $1)
                                               ELSE erase_requested_at END
                 WHERE id = $2 AND commune_id IS NOT NULL",
            &[&format_timestamp(now), &device.to_string(), &erase],
        )
        .await?;
    Ok(n > 0)
}

/// A tablet's report that it erased itself (`Store::record_erased`).
pub(super) async fn record_erased(
    client: &Client,
    device: DeviceId,
    unsent: u64,
    reported_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<EraseAck, StoreError> {
    let row = client
        .query_opt(
            "SELECT erase_requested_at, erased_at FROM device WHERE id = $1 AND commune_id IS NOT NULL",
            &[&device.to_string()],
        )
        .await?;
    let Some(row) = row else {
        return Ok(EraseAck::NoDevice);
    };
    let asked: Option<String> = row.try_get(0)?;
    let erased: Option<String> = row.try_get(1)?;
    let Some(asked) = asked else {
        return Ok(EraseAck::NotRequested);
    };
    if erased.is_some() {
        return Ok(EraseAck::AlreadyRecorded);
    }
    // Two reports at once: the condition lets only the first one write.
    let n = client
        .execute(
            "UPDATE device SET erased_at = $1, erased_unsent = $2 WHERE id = $3 AND erased_at IS NULL",
            &[
                &crate::erased_time(reported_at, &asked, now),
                &i64_of(unsent),
                &device.to_string(),
            ],
        )
        .await?;
    Ok(if n > 0 {
        EraseAck::Recorded
    } else {
        EraseAck::AlreadyRecorded
    })
}

/// A row of [`DEVICE_COLUMNS`] then [`COPY_COLUMNS`].
fn listed_device(r: &Row) -> Result<DeviceRecord, StoreError> {
    let mut d = device_record(r)?;
    d.copied_kept = u64_of(r.try_get(13)?);
    d.copied_at = r.try_get(14)?;
    Ok(d)
}

const DEVICE_COLUMNS: &str = "id, label, member_id, commune_id, enrolled_at, last_seen_at, last_applied_seq, \
     revoked_at, erase_requested_at, erased_at, erased_unsent, backed_up_seq, public_key";

/// The tablets page's columns after [`DEVICE_COLUMNS`]: a copy seen (read
/// by [`listed_device`]; not on the token lookup every request makes).
const COPY_COLUMNS: &str = "(SELECT count(*) FROM quarantine q WHERE q.device_id = device.id), \
     (SELECT min(received_at) FROM quarantine q WHERE q.device_id = device.id)";

fn device_record(r: &Row) -> Result<DeviceRecord, StoreError> {
    let id: String = r.try_get(0)?;
    let member: Option<String> = r.try_get(2)?;
    Ok(DeviceRecord {
        id: id.parse().map_err(|e| damaged("device.id", e))?,
        label: r.try_get(1)?,
        member_id: member.and_then(|m| Uuid::parse_str(&m).ok()),
        commune_id: r.try_get(3)?,
        enrolled_at: r.try_get(4)?,
        last_seen_at: r.try_get(5)?,
        last_applied_seq: u64_of(r.try_get(6)?),
        revoked_at: r.try_get(7)?,
        erase_requested_at: r.try_get(8)?,
        erased_at: r.try_get(9)?,
        erased_unsent: r.try_get::<_, Option<i64>>(10)?.map(u64_of),
        backed_up_seq: r.try_get::<_, Option<i64>>(11)?.map(u64_of),
        copied_kept: 0,
        copied_at: None,
        public_key: r.try_get(12)?,
    })
}
