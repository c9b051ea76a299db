//! Checklist packs from the server, fetched after a successful sync.
//!
//! The request is conditional (`If-None-Match` with the stored ETag), so an
//! unchanged list costs one small round trip. New versions are installed
//! with the store's own install (which validates them); a pack that fails
//! validation is reported and left out, and never blocks the others. The
//! ETag is kept only when every pack was taken.

use doorstep_core::pack::Pack;
use serde::Serialize;

use super::http::{Http, HttpFailure, PacksAnswer};
use crate::error::{Result, StoreError};
use crate::store::Store;

/// What fetching the packs did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PacksReport {
    /// The server said the device's list is current (304).
    pub not_modified: bool,
    /// Versions installed now ("vneid v2").
    pub installed: Vec<String>,
    /// Versions refused, with the reason ("vneid v3: step 2 has no text").
    pub refused: Vec<String>,
    /// Why the list could not be fetched (the sync itself succeeded).
    pub error: Option<String>,
    /// Answer bytes received.
    pub bytes_received: u64,
}

/// Fetches the pack list and installs what is new. Failures end up in the
/// report; only a failing store is an error.
pub(crate) fn update_packs(store: &mut Store, http: &Http) -> Result<PacksReport> {
    let mut report = PacksReport::default();
    let etag = store.packs_etag()?;
    let (packs, new_etag) = match http.packs(etag.as_deref()) {
        Ok(exchange) => {
            report.bytes_received = exchange.received;
            match exchange.value {
                PacksAnswer::NotModified => {
                    report.not_modified = true;
                    return Ok(report);
                }
                PacksAnswer::Current { packs, etag } => (packs, etag),
            }
        }
        Err(HttpFailure::Link(e)) => {
            report.error = Some(e.to_string());
            return Ok(report);
        }
        Err(HttpFailure::Status(answer)) => {
            report.error = Some(answer.to_error().to_string());
            return Ok(report);
        }
    };
    for file in &packs.packs {
        let name = format!("{} v{}", file.key, file.version);
        let pack = match Pack::from_toml(&file.toml) {
            Ok(p) if p.key == file.key && p.version == file.version => p,
            Ok(p) => {
                report
                    .refused
                    .push(format!("{name}: the file inside says {} v{}", p.key, p.version));
                continue;
            }
            Err(e) => {
                report.refused.push(format!("{name}: {e}"));
                continue;
            }
        };
        match store.install_pack(&pack) {
            Ok(true) => report.installed.push(name),
            Ok(false) => {}
            Err(StoreError::Pack(reason)) => report.refused.push(reason),
            Err(other) => return Err(other),
        }
    }
    if !report.refused.is_empty() {
        tracing::warn!(
            refused = report.refused.len(),
            "checklist packs from the server refused"
        );
    }
    // With a pack refused (a newer pack format, say) the list is fetched
    // again next time, so an updated app can still install it.
    if report.refused.is_empty() {
        store.set_packs_etag(new_etag.as_deref())?;
    }
    Ok(report)
}
