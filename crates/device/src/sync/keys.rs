//! This tablet's signing key: made at enrolment (or at the first sync of a
//! tablet enrolled before protocol 2), registered with the server, and its
//! certificate kept.

use doorstep_core::ids::DeviceId;
use doorstep_core::protocol::{KeyRequest, PROTOCOL_VERSION};
use doorstep_core::sign::{DeviceCert, PublicKey, SigningKey};

use super::error::SyncError;
use super::http::{Http, HttpFailure};
use crate::error::StoreError;
use crate::store::Store;

/// A new key pair from the platform's random source, kept in the store
/// (its certificate cleared until the server gives one).
pub(super) fn new_key(store: &Store) -> Result<SigningKey, SyncError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| StoreError::Stored(format!("no randomness for a signing key: {e}")))?;
    let key = SigningKey::from_seed(seed);
    store.put_signing_seed(&key)?;
    Ok(key)
}

/// Keeps the server's certificate for `key`, once it is the one asked for.
pub(super) fn keep_certificate(
    store: &Store,
    key: &SigningKey,
    cert: &DeviceCert,
    server_key: PublicKey,
    device: DeviceId,
) -> Result<(), SyncError> {
    if cert.key != key.public_key() || cert.device != device || !cert.issued_by(&server_key) {
        return Err(SyncError::BadAnswer {
            detail: "the server's certificate is not for this tablet's key".to_owned(),
        });
    }
    store.keep_signing(key, cert, server_key)?;
    Ok(())
}

/// A tablet enrolled before protocol 2 (or whose enrolment answer had no
/// certificate) registers its key before it pushes. An older server
/// without the endpoint: the tablet goes on unsigned.
pub(super) fn ensure_key(store: &Store, http: &Http) -> Result<(), SyncError> {
    if !store.needs_key()? {
        return Ok(());
    }
    let key = match store.signing_key()? {
        Some(key) => key,
        None => new_key(store)?,
    };
    let request = KeyRequest {
        protocol: PROTOCOL_VERSION,
        public_key: key.public_key(),
    };
    match http.register_key(&request) {
        Ok(exchange) => {
            let answer = exchange.value;
            keep_certificate(store, &key, &answer.cert, answer.server_key, store.device_id())?;
            tracing::info!("signing key registered with the server");
            Ok(())
        }
        Err(HttpFailure::Status(answer)) if matches!(answer.status, 404 | 405) && answer.body.is_none() => {
            tracing::info!("the server takes no signing keys (protocol 1): pushing unsigned");
            Ok(())
        }
        Err(HttpFailure::Status(answer)) => Err(answer.to_error()),
        // The link is the sync's to retry: this sync pushes unsigned (the
        // server has no key yet, or answers 403 and the next sync, which
        // registers the same key again, signs).
        Err(HttpFailure::Link(e)) => {
            tracing::info!(
                error = e.kind(),
                "the key registration did not get through; trying at the next sync"
            );
            Ok(())
        }
    }
}
