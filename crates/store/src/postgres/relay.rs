//! Relayed batches: per carrier, origin and outcome, how many and when
//! last (`Store::record_relay`, `Store::relays`, and the `delivered` count
//! a carried push writes in its own transaction).

use doorstep_core::ids::DeviceId;
use tokio_postgres::GenericClient;

use super::{damaged, u64_of};
use crate::{RelayRecord, StoreError};

/// Counts one more `outcome` for (`carrier`, `origin`) at `now`.
pub(super) async fn count(
    client: &impl GenericClient,
    carrier: DeviceId,
    origin: DeviceId,
    outcome: &str,
    now: &str,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO relay (carrier_id, origin_id, outcome, count, last_at) VALUES ($1, $2, $3, 1, $4)
             ON CONFLICT (carrier_id, origin_id, outcome)
             DO UPDATE SET count = relay.count + 1, last_at = excluded.last_at",
            &[&carrier.to_string(), &origin.to_string(), &outcome, &now],
        )
        .await?;
    Ok(())
}

/// Every relay count, by origin, carrier and outcome (`Store::relays`).
pub(super) async fn relays(client: &impl GenericClient) -> Result<Vec<RelayRecord>, StoreError> {
    let rows = client
        .query(
            "SELECT carrier_id, origin_id, outcome, count, last_at FROM relay
             ORDER BY origin_id COLLATE \"C\", carrier_id COLLATE \"C\", outcome COLLATE \"C\"",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let carrier: String = r.try_get(0)?;
            let origin: String = r.try_get(1)?;
            Ok(RelayRecord {
                carrier: carrier.parse().map_err(|e| damaged("relay.carrier_id", e))?,
                origin: origin.parse().map_err(|e| damaged("relay.origin_id", e))?,
                outcome: r.try_get(2)?,
                count: u64_of(r.try_get(3)?),
                last_at: r.try_get(4)?,
            })
        })
        .collect()
}
