//! Relayed batches: per carrier, origin and outcome, how many and when
//! last (`Store::record_relay`, `Store::relays`, and the `delivered` count
//! a carried push writes in its own transaction).

use chrono::{DateTime, Utc};
use doorstep_core::ids::DeviceId;
use doorstep_core::schema::format_timestamp;
use rusqlite::Connection;

use super::{damaged, u64_of};
use crate::{RelayRecord, StoreError};

/// Counts one more `outcome` for (`carrier`, `origin`) at `now`.
pub(super) fn count(
    conn: &Connection,
    carrier: DeviceId,
    origin: DeviceId,
    outcome: &str,
    now: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO relay (carrier_id, origin_id, outcome, count, last_at) VALUES (?1, ?2, ?3, 1, ?4)
         ON CONFLICT (carrier_id, origin_id, outcome)
         DO UPDATE SET count = relay.count + 1, last_at = excluded.last_at",
    )?
    .execute((carrier.to_string(), origin.to_string(), outcome, now))?;
    Ok(())
}

/// `Store::record_relay`.
pub(super) fn record(
    conn: &Connection,
    carrier: DeviceId,
    origin: DeviceId,
    outcome: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    count(conn, carrier, origin, outcome, &format_timestamp(now))
}

/// Every relay count, by origin, carrier and outcome (`Store::relays`).
pub(super) fn relays(conn: &Connection) -> Result<Vec<RelayRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT carrier_id, origin_id, outcome, count, last_at FROM relay ORDER BY origin_id, carrier_id, outcome",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(carrier, origin, outcome, count, last_at)| {
            Ok(RelayRecord {
                carrier: carrier.parse().map_err(|e| damaged("relay.carrier_id", e))?,
                origin: origin.parse().map_err(|e| damaged("relay.origin_id", e))?,
                outcome,
                count: u64_of(count),
                last_at,
            })
        })
        .collect()
}
