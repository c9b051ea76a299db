//! `POST /api/v1/sync`: push then pull, in one round trip.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use doorstep_core::change::Change;
use doorstep_core::ids::DeviceId;
use doorstep_core::protocol::{ErrorCode, SyncRequest, SyncResponse, WireChanges};
use doorstep_core::schema::format_timestamp;
use doorstep_core::sign::{PublicKey, batch_message};

use super::error::ApiError;
use super::{App, auth, body, carried};
use doorstep_ingest::Refusal;
use doorstep_ingest::epoch::{Epochs, Resolved};
use doorstep_store::{DeviceRecord, Page, Pushed, Store};

pub(super) async fn sync<S: Store>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Json<SyncResponse>, ApiError> {
    let device = auth::device(&app, &headers).await?;
    let raw = body::bytes(raw, app.limits.body_bytes).await?;
    answer(&app, &device, raw).await
}

/// Does what a sync request asks for `device` and gives the answer: the
/// one path of `POST /api/v1/sync` and of a whole resumable upload
/// (`super::upload`). `raw` is the decompressed JSON. Everything is checked
/// (who the request is for, its cursor) before anything is written.
pub(super) async fn answer<S: Store>(
    app: &App<S>,
    device: &DeviceRecord,
    raw: axum::body::Bytes,
) -> Result<Json<SyncResponse>, ApiError> {
    let (mut request, changes) = parse(raw, device).await?;
    let scope = check_claims(device, &request, &changes)?;
    // The server confirmed more of this tablet than its log holds: the log
    // was put back behind our back (a snapshot restore). A new epoch, so
    // cursors past what it kept are lowered (`doorstep_ingest::epoch`).
    if request.acked_seq > device.last_applied_seq {
        app.store
            .rewound(device.id, request.acked_seq, Utc::now())
            .await
            .map_err(ApiError::store)?;
    }
    let (epochs, cursor) = resolve_cursor(app, request.pull_cursor.as_deref().unwrap_or("")).await?;
    let pushed_count = changes.len();
    let pushed = push(app, device, request.acked_seq, changes).await?;
    let carried = carried::deliver(app, device, &scope, std::mem::take(&mut request.carried)).await?;
    let limit = usize::try_from(request.pull_limit)
        .unwrap_or(usize::MAX)
        .min(app.limits.pull_limit);
    let page = pull(app, scope, device, cursor.after, limit).await?;
    app.metrics.synced(
        pushed.accepted,
        &pushed.rejected,
        device.last_applied_seq,
        page.changes.len(),
    );
    tracing::info!(
        device = %device.id,
        pushed = pushed_count,
        accepted = pushed.accepted,
        rejected = pushed.rejected.len(),
        pulled = page.changes.len(),
        carried = carried.len(),
        other_epoch = cursor.other_epoch,
        "sync"
    );
    Ok(Json(SyncResponse {
        last_applied_seq: pushed.last_applied_seq,
        rejected: pushed.rejected,
        restamped: pushed.restamped,
        changes: WireChanges::encode(&page.changes),
        next_cursor: epochs.cursor(page.next_cursor),
        has_more: page.has_more,
        server_time: format_timestamp(Utc::now()),
        epoch: Some(epochs.current().to_owned()),
        backed_up_seq: device.backed_up_seq,
        carried,
    }))
}

/// The request and its decoded pushes, their signature checked. Parsing a
/// day's push (a megabyte of JSON) is CPU work: off the async threads, so
/// a store transaction waiting on its next round trip is not queued
/// behind two hundred tablets' parsing.
async fn parse(raw: axum::body::Bytes, device: &DeviceRecord) -> Result<(SyncRequest, Vec<Change>), ApiError> {
    let key = device.public_key.clone();
    let id = device.id;
    tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let request: SyncRequest = body::parse_versioned(&raw)?;
        check_signature(id, key.as_deref(), &request)?;
        let changes = request
            .pushes
            .decode()
            .map_err(|e| ApiError::bad_field(format!("pushes.{}", e.field), e.to_string()))?;
        Ok((request, changes))
    })
    .await
    .map_err(ApiError::internal)?
}

/// A tablet that registered a key signs every push with it; one without a
/// key (protocol 1, or not registered yet) sends none. Checked before
/// anything is decoded or written.
fn check_signature(device: DeviceId, key: Option<&str>, request: &SyncRequest) -> Result<(), ApiError> {
    let refuse = |message: String| ApiError::new(StatusCode::FORBIDDEN, ErrorCode::BadSignature, message);
    match (key, &request.signature) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(refuse(
            "this push is signed but the tablet has no key registered: register it first (POST /api/v1/key)".to_owned(),
        )),
        (Some(_), None) if request.pushes.is_empty() => Ok(()),
        (Some(_), None) => Err(refuse(
            "this tablet registered a signing key, and its pushes must be signed with it".to_owned(),
        )),
        (Some(key), Some(signature)) => {
            let key: PublicKey = key
                .parse()
                .map_err(|e| ApiError::internal(format!("device {device}'s stored key: {e}")))?;
            if key.verifies(&batch_message(device, &request.pushes), signature) {
                Ok(())
            } else {
                Err(refuse(
                    "the push's signature is not this tablet's over these changes: nothing was applied".to_owned(),
                ))
            }
        }
    }
}

/// The request is this token's device's, and so is every pushed change;
/// the commune it syncs (the office identity syncs none).
fn check_claims(device: &DeviceRecord, request: &SyncRequest, changes: &[Change]) -> Result<String, ApiError> {
    if request.device_id != device.id {
        return Err(ApiError::forbidden(format!(
            "device_id {} is not the device this token was issued to",
            request.device_id
        )));
    }
    let Some(scope) = device.commune_id.clone() else {
        return Err(ApiError::forbidden("the office identity cannot sync"));
    };
    if let Some(c) = changes.iter().find(|c| c.device != device.id) {
        return Err(ApiError::forbidden(format!(
            "pushed change seq {} claims device {}, not this token's device",
            c.seq, c.device
        )));
    }
    Ok(scope)
}

/// The pull cursor `text` in the current history, with the epochs that
/// read it. A cursor of an earlier epoch (the office restored a backup
/// since) is lowered to what the restored history shares with it
/// (`doorstep_ingest::epoch`).
async fn resolve_cursor<S: Store>(app: &App<S>, text: &str) -> Result<(Epochs, Resolved), ApiError> {
    let bad_cursor = || {
        ApiError::bad_field(
            "pull_cursor",
            format!("pull_cursor {text:?} is not a cursor this server gave"),
        )
    };
    let mut epochs = app.store.epochs();
    let mut cursor = epochs.resolve(text).ok_or_else(bad_cursor)?;
    if cursor.other_epoch {
        // Another server process may have started an epoch since this one
        // read them.
        epochs = app.store.reload_epochs().await.map_err(ApiError::store)?;
        cursor = epochs.resolve(text).ok_or_else(bad_cursor)?;
    }
    Ok((epochs, cursor))
}

/// Applies the pushes exactly once; a refusal becomes its answer.
async fn push<S: Store>(
    app: &App<S>,
    device: &DeviceRecord,
    acked_seq: u64,
    changes: Vec<Change>,
) -> Result<Pushed, ApiError> {
    let ingest = std::time::Instant::now();
    app.store
        .push(device.id, acked_seq, changes, Utc::now())
        .await
        .inspect(|_| app.metrics.ingest_took(ingest.elapsed()))
        .map_err(ApiError::store)?
        .map_err(|refusal| match refusal {
            Refusal::Forbidden(m) => ApiError::forbidden(m),
            Refusal::SeqGap { expected, message } => ApiError::seq_gap(expected, message),
            Refusal::Copied { seq, message, changes } => {
                tracing::warn!(
                    device = %device.id,
                    seq,
                    kept = changes.len(),
                    "a copy of this tablet pushed other changes at seqs the server has: refused, its batch kept aside"
                );
                ApiError::copied(seq, message)
            }
        })
}

/// The next page of `scope` after `after`; none asked, none read.
async fn pull<S: Store>(
    app: &App<S>,
    scope: String,
    device: &DeviceRecord,
    after: u64,
    limit: usize,
) -> Result<Page, ApiError> {
    if limit == 0 {
        return Ok(Page {
            next_cursor: after,
            has_more: false,
            changes: Vec::new(),
        });
    }
    app.store
        .pull(scope, device.id, after, limit, app.limits.pull_bytes)
        .await
        .map_err(ApiError::store)
}
