//! What `GET /metrics` shows an operator: requests, sync traffic, ingest
//! time, rejected changes, how many tablets were seen lately, the age of
//! the newest backup, in the Prometheus text format (0.0.4).
//!
//! Labels are closed sets only: a route template (never a raw path), a
//! status, an error or rejection code, a time window. No device id, name,
//! phone or token is ever a label: an office has hundreds of tablets, and
//! a metrics store keeps every label value it sees.
//!
//! Counters are counted as requests go ([`Metrics::request`] and the sync
//! handler's calls); the gauges of tablets and backups are read at scrape
//! time ([`Metrics::encode`]), so they need nothing running in between.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use chrono::{DateTime, Utc};
use doorstep_core::protocol::{ErrorCode, Rejected};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use doorstep_store::DeviceRecord;

/// The `Content-Type` of a scrape.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The windows `doorstep_devices_seen` counts tablets in.
const WINDOWS: [(&str, i64); 3] = [("1h", 3_600), ("24h", 86_400), ("7d", 7 * 86_400)];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    endpoint: String,
    code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WithinLabels {
    within: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

/// No labels: a gauge that is there only when its value is known.
type Unlabelled = Vec<(&'static str, &'static str)>;

/// The server's metrics. Shared by every request (`Arc`); counting is
/// lock-free, reading the tablets list happens only at scrape time.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    push_changes: Counter,
    push_bytes: Counter,
    pull_changes: Counter,
    pull_bytes: Counter,
    ingest_seconds: Histogram,
    rejected: Family<ReasonLabels, Counter>,
    relayed: Family<OutcomeLabels, Counter>,
    devices_enrolled: Gauge,
    devices_seen: Family<WithinLabels, Gauge>,
    backup_age: Family<Unlabelled, Gauge<f64, AtomicU64>>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric, at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("doorstep");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Requests answered, by route template and status",
            requests.clone(),
        );
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "api_errors",
            "Error answers of the tablets' API, by route template and error code",
            errors.clone(),
        );
        let push_changes = Counter::default();
        registry.register(
            "push_changes",
            "Changes tablets pushed that the server stored (resends not counted)",
            push_changes.clone(),
        );
        let push_bytes = Counter::default();
        registry.register(
            "push_bytes",
            "Bytes of sync requests on the wire (compressed), the pushes",
            push_bytes.clone(),
        );
        let pull_changes = Counter::default();
        registry.register(
            "pull_changes",
            "Changes sent to tablets in pulled pages",
            pull_changes.clone(),
        );
        let pull_bytes = Counter::default();
        registry.register(
            "pull_bytes",
            "Bytes of sync answers on the wire (compressed), the pulls",
            pull_bytes.clone(),
        );
        let relayed = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "relayed_batches",
            "Signed batches tablets or hubs carried for other tablets, by what became of them",
            relayed.clone(),
        );
        // 1 ms to about 33 s: an empty round on SQLite to a day's push on a
        // busy PostgreSQL.
        let ingest_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "ingest_seconds",
            "Time the store took to apply one sync request's push, in seconds",
            ingest_seconds.clone(),
        );
        let rejected = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "rejected_changes",
            "Pushed changes the server refused for good, by reason",
            rejected.clone(),
        );
        let devices_enrolled = Gauge::default();
        registry.register(
            "devices_enrolled",
            "Tablets enrolled and not revoked",
            devices_enrolled.clone(),
        );
        let devices_seen = Family::<WithinLabels, Gauge>::default();
        registry.register(
            "devices_seen",
            "Tablets (not revoked) that synced within the window",
            devices_seen.clone(),
        );
        let backup_age = Family::<Unlabelled, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "backup_age_seconds",
            "Seconds since the newest completed backup began (doorstep-server backup, serve --backup-dir; absent before the first)",
            backup_age.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register("build_info", "The server's version", build);
        Metrics {
            registry,
            requests,
            errors,
            push_changes,
            push_bytes,
            pull_changes,
            pull_bytes,
            ingest_seconds,
            rejected,
            relayed,
            devices_enrolled,
            devices_seen,
            backup_age,
        }
    }

    /// One answered request: its route template (`/api/v1/sync`, never the
    /// raw path), its status and, for an API error, its code.
    pub fn request(&self, endpoint: &str, status: u16, error: Option<ErrorCode>) {
        self.requests
            .get_or_create(&RequestLabels {
                endpoint: endpoint.to_owned(),
                status,
            })
            .inc();
        if let Some(code) = error {
            self.errors
                .get_or_create(&ErrorLabels {
                    endpoint: endpoint.to_owned(),
                    code: error_code(code).to_owned(),
                })
                .inc();
        }
    }

    /// The counter of bytes on the wire into `endpoint` (sync only).
    pub fn bytes_in(&self, endpoint: &str) -> Option<Counter> {
        (endpoint == doorstep_core::protocol::paths::SYNC).then(|| self.push_bytes.clone())
    }

    /// The counter of bytes on the wire out of `endpoint` (sync only).
    pub fn bytes_out(&self, endpoint: &str) -> Option<Counter> {
        (endpoint == doorstep_core::protocol::paths::SYNC).then(|| self.pull_bytes.clone())
    }

    /// A carried batch's outcome.
    pub fn relayed(&self, outcome: doorstep_core::protocol::RelayOutcome) {
        self.relayed
            .get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// The time one push took in the store, stored or refused.
    pub fn ingest_took(&self, took: Duration) {
        self.ingest_seconds.observe(took.as_secs_f64());
    }

    /// A sync round's outcome: the changes stored, the rejections (only
    /// those of seqs above `applied_before`, the device's position before
    /// this request: the answer repeats older ones), the changes pulled.
    pub fn synced(&self, accepted: usize, rejected: &[Rejected], applied_before: u64, pulled: usize) {
        self.push_changes.inc_by(u64::try_from(accepted).unwrap_or(u64::MAX));
        for r in rejected.iter().filter(|r| r.seq > applied_before) {
            self.rejected
                .get_or_create(&ReasonLabels {
                    reason: rejection_code(&r.reason),
                })
                .inc();
        }
        self.pull_changes.inc_by(u64::try_from(pulled).unwrap_or(u64::MAX));
    }

    /// The text a scrape answers, with the tablet gauges computed from
    /// `devices` (the store's list) and the backup's age from
    /// `newest_backup` (when the newest completed backup began) at `now`.
    pub fn encode(&self, devices: &[DeviceRecord], newest_backup: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
        let tablets: Vec<&DeviceRecord> = devices
            .iter()
            .filter(|d| d.commune_id.is_some() && d.revoked_at.is_none())
            .collect();
        self.devices_enrolled
            .set(i64::try_from(tablets.len()).unwrap_or(i64::MAX));
        for (within, seconds) in WINDOWS {
            let seen = tablets
                .iter()
                .filter_map(|d| d.last_seen_at.as_deref())
                .filter_map(|t| doorstep_core::schema::parse_timestamp(t).ok())
                .filter(|t| (now - *t).num_seconds() <= seconds)
                .count();
            self.devices_seen
                .get_or_create(&WithinLabels { within })
                .set(i64::try_from(seen).unwrap_or(i64::MAX));
        }
        self.backup_age.clear();
        if let Some(taken) = newest_backup {
            let age = (now - taken).num_milliseconds().max(0) as f64 / 1000.0;
            self.backup_age.get_or_create(&Vec::new()).set(age);
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "metrics could not be encoded");
        }
        text
    }
}

/// An error code as it is on the wire (`seq_gap`).
fn error_code(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::BadRequest => "bad_request",
        ErrorCode::Unauthorized => "unauthorized",
        ErrorCode::Revoked => "revoked",
        ErrorCode::BadCode => "bad_code",
        ErrorCode::Forbidden => "forbidden",
        ErrorCode::TooLarge => "too_large",
        ErrorCode::SeqGap => "seq_gap",
        ErrorCode::Copied => "copied",
        ErrorCode::UpgradeRequired => "upgrade_required",
        ErrorCode::UnsupportedProtocol => "unsupported_protocol",
        ErrorCode::TooManyRequests => "too_many_requests",
        ErrorCode::Internal => "internal",
        ErrorCode::DiskFull => "disk_full",
        ErrorCode::UploadOffset => "upload_offset",
        ErrorCode::BadSignature => "bad_signature",
        ErrorCode::KeyConflict => "key_conflict",
    }
}

/// A closed code for a rejection's sentence (`ingest::plan` words them
/// for the volunteer and keeps no code): the label of
/// `doorstep_rejected_changes_total`. Keep in step with `ingest.rs`; a
/// sentence not recognised counts as `invalid`, never as itself.
pub fn rejection_code(reason: &str) -> &'static str {
    if reason.contains("is not the one derived from its device and seq") {
        "change_id"
    } else if reason.contains("a step event is created once") {
        "step_event"
    } else if reason.contains("already exists; a change to it must be an update") {
        "already_exists"
    } else if reason.contains("is already known as a") {
        "other_kind"
    } else if reason.contains("never seen created") || reason.contains("is unknown to the server") {
        "unknown_entity"
    } else if reason.contains("which the server does not know") {
        "unknown_reference"
    } else {
        // The rest are `Change::validate`'s problems (a field's type,
        // a required field missing, ...).
        "invalid"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tablet(last_seen: Option<&str>, revoked: bool) -> DeviceRecord {
        DeviceRecord {
            id: doorstep_core::ids::DeviceId::new(),
            label: Some("Lò Văn Minh's tablet".into()),
            member_id: None,
            commune_id: Some("c1".into()),
            enrolled_at: "2026-12-01T00:00:00Z".into(),
            last_seen_at: last_seen.map(str::to_owned),
            last_applied_seq: 0,
            revoked_at: revoked.then(|| "2026-12-02T00:00:00Z".to_owned()),
            erase_requested_at: None,
            erased_at: None,
            erased_unsent: None,
            backed_up_seq: None,
            copied_kept: 0,
            copied_at: None,
            public_key: None,
        }
    }

    fn value(text: &str, sample: &str) -> Option<String> {
        text.lines()
            .find_map(|l| l.strip_prefix(sample).and_then(|v| v.strip_prefix(' ')))
            .map(str::to_owned)
    }

    #[test]
    fn tablets_are_counted_by_window_without_revoked_ones_or_labels() {
        let m = Metrics::new();
        let now = doorstep_core::schema::parse_timestamp("2026-12-07T12:00:00Z").expect("time");
        let devices = [
            tablet(Some("2026-12-07T11:30:00Z"), false),
            tablet(Some("2026-12-07T01:00:00Z"), false),
            tablet(Some("2026-12-03T12:00:00Z"), false),
            tablet(Some("2026-12-07T11:59:00Z"), true),
            tablet(None, false),
        ];
        let text = m.encode(&devices, None, now);
        assert_eq!(value(&text, "doorstep_devices_enrolled").as_deref(), Some("4"));
        assert_eq!(
            value(&text, "doorstep_devices_seen{within=\"1h\"}").as_deref(),
            Some("1")
        );
        assert_eq!(
            value(&text, "doorstep_devices_seen{within=\"24h\"}").as_deref(),
            Some("2")
        );
        assert_eq!(
            value(&text, "doorstep_devices_seen{within=\"7d\"}").as_deref(),
            Some("3")
        );
        assert!(!text.contains("Minh"), "no label carries a device's name: {text}");
        assert!(!text.contains("backup_age"), "no backup folder, no backup age: {text}");
    }

    #[test]
    fn requests_are_counted_by_template_status_and_error_code() {
        let m = Metrics::new();
        m.request("/api/v1/sync", 200, None);
        m.request("/api/v1/sync", 200, None);
        m.request("/api/v1/sync", 409, Some(ErrorCode::SeqGap));
        let text = m.encode(&[], None, Utc::now());
        assert_eq!(
            value(
                &text,
                "doorstep_http_requests_total{endpoint=\"/api/v1/sync\",status=\"200\"}"
            )
            .as_deref(),
            Some("2")
        );
        assert_eq!(
            value(
                &text,
                "doorstep_api_errors_total{endpoint=\"/api/v1/sync\",code=\"seq_gap\"}"
            )
            .as_deref(),
            Some("1")
        );
        assert!(text.contains("doorstep_build_info{version=\""), "{text}");
    }

    #[test]
    fn only_new_rejections_are_counted_by_a_closed_code() {
        let m = Metrics::new();
        let rejected = [
            Rejected {
                seq: 2,
                reason: "updates household 0199, which the server has never seen created".into(),
            },
            Rejected {
                seq: 5,
                reason: "household 0199 already exists; a change to it must be an update".into(),
            },
        ];
        // The device was at seq 3 before: seq 2's rejection is a repeat.
        m.synced(4, &rejected, 3, 7);
        let text = m.encode(&[], None, Utc::now());
        assert_eq!(
            value(&text, "doorstep_rejected_changes_total{reason=\"already_exists\"}").as_deref(),
            Some("1")
        );
        assert!(!text.contains("unknown_entity"), "{text}");
        assert_eq!(value(&text, "doorstep_push_changes_total").as_deref(), Some("4"));
        assert_eq!(value(&text, "doorstep_pull_changes_total").as_deref(), Some("7"));
    }

    #[test]
    fn rejection_codes_never_carry_the_sentence() {
        assert_eq!(
            rejection_code("change id x is not the one derived from its device and seq"),
            "change_id"
        );
        assert_eq!(
            rejection_code("village_id names village 1, which the server does not know"),
            "unknown_reference"
        );
        assert_eq!(rejection_code("person 1 is unknown to the server"), "unknown_entity");
        assert_eq!(rejection_code("name: must not be empty"), "invalid");
    }

    #[test]
    fn the_backup_age_is_that_of_the_newest_recorded_backup() {
        let m = Metrics::new();
        let now = Utc::now();
        let text = m.encode(&[], None, now);
        assert!(!text.contains("doorstep_backup_age_seconds "), "no backup yet: {text}");
        let text = m.encode(&[], Some(now - chrono::Duration::seconds(90)), now);
        let age: f64 = value(&text, "doorstep_backup_age_seconds")
            .and_then(|v| v.parse().ok())
            .expect("an age");
        assert!((89.0..91.0).contains(&age), "{age}");
    }
}
