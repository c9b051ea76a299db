//! Enrolment: exchanging a team lead's one-time code for the device's
//! identity and token.
//!
//! The server assigns the device id, so a store is enrolled before it
//! writes anything: its outbox must be empty (changes already written carry
//! another device id and could never be pushed). The store is checked
//! *before* the code is sent, because a code works only once.

use doorstep_core::protocol::{EnrollRequest, EnrollResponse, PROTOCOL_VERSION, SCHEMA_VERSION};
use doorstep_core::schema::parse_timestamp;
use doorstep_core::sign::PublicKey;

use super::SyncOptions;
use super::error::SyncError;
use super::http::{Http, HttpFailure, normalise_server_url};
use crate::error::{Result, StoreError};
use crate::store::Store;

impl Store {
    /// Refuses to enrol a practice store, an enrolled one, or one that has
    /// already written changes; says what to do instead.
    pub fn check_enrollable(&self) -> Result<()> {
        if self.is_practice() {
            return Err(StoreError::Rule(
                "practice databases never sync, so they cannot be enrolled; enrol a new database".to_owned(),
            ));
        }
        let (server, commune, written): (Option<String>, Option<String>, u64) = self.conn.query_row(
            "SELECT CASE WHEN token IS NOT NULL THEN server_url END, commune_name, next_seq - 1
             FROM device_state WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        if server.is_some() && self.copied_seq()?.is_some() {
            // A copy of another tablet, enrolled again (rehome.rs).
            return Ok(());
        }
        if let Some(server) = server {
            return Err(StoreError::Rule(format!(
                "this database is already enrolled with {server}{}; a database is enrolled once: to enrol again, start a new database",
                commune.map(|c| format!(" for commune {c}")).unwrap_or_default()
            )));
        }
        if written > 0 {
            return Err(StoreError::Rule(format!(
                "this database already holds {written} changes made before enrolment, which can never sync; enrol a new, empty database"
            )));
        }
        Ok(())
    }

    /// Records an enrolment: from now on the device writes under the id the
    /// server assigned, and syncs with `server_url` using the token.
    pub fn enroll(&mut self, server_url: &str, answer: &EnrollResponse) -> std::result::Result<(), SyncError> {
        self.check_enrollable()?;
        let server_url = normalise_server_url(server_url)?;
        if answer.token.trim().is_empty() {
            return Err(SyncError::BadAnswer {
                detail: "the enrolment answer has an empty token".to_owned(),
            });
        }
        let server_time = parse_timestamp(&answer.server_time).map_err(|e| SyncError::BadAnswer {
            detail: format!("server_time: {e}"),
        })?;
        let offset_ms = (server_time - self.wall_now()).num_milliseconds();
        let copied = self.copied_seq()?;
        let old = self.device_id();
        if copied.is_some() {
            let commune: Option<String> =
                self.conn
                    .query_row("SELECT commune_id FROM device_state WHERE id = 1", [], |r| r.get(0))?;
            if commune.as_deref() != Some(answer.commune_id.to_string().as_str()) {
                return Err(StoreError::Rule(format!(
                    "this copied tablet works for another commune than the code's ({}); ask the team lead for a code for its own commune",
                    answer.commune_name
                ))
                .into());
            }
        }
        let tx = self.conn.transaction()?;
        if let Some(from) = copied {
            let moved = super::rehome::rehome(&tx, old, answer.device_id, from)?;
            tracing::info!(
                from_seq = from,
                moved,
                "a copied tablet enrolled again: its own changes move to the new id"
            );
        }
        tx.execute(
            "UPDATE device_state SET device_id = ?1, server_url = ?2, token = ?3, commune_id = ?4,
                    commune_name = ?5, member_id = ?6, clock_offset_ms = ?7, last_sync_error = NULL
             WHERE id = 1",
            (
                answer.device_id.to_string(),
                &server_url,
                &answer.token,
                answer.commune_id.to_string(),
                &answer.commune_name,
                answer.member_id.hyphenated().to_string(),
                offset_ms,
            ),
        )?;
        tx.commit()?;
        self.set_device_id(answer.device_id);
        self.set_clock_offset_ms(offset_ms);
        tracing::info!(device = %answer.device_id, commune = %answer.commune_id, "enrolled");
        Ok(())
    }

    /// Changes the enrolled server's address (the server moved, or is
    /// reached through another route); the token stays. Refused on a store
    /// that is not enrolled.
    pub fn set_server_url(&mut self, server_url: &str) -> std::result::Result<(), SyncError> {
        let server_url = normalise_server_url(server_url)?;
        let changed = self.conn.execute(
            "UPDATE device_state SET server_url = ?1 WHERE id = 1 AND token IS NOT NULL",
            [&server_url],
        )?;
        if changed == 0 {
            return Err(SyncError::NotEnrolled);
        }
        Ok(())
    }
}

/// Exchanges an enrolment code for the device's identity and token: the
/// HTTP part only, nothing is stored (see [`enroll`] for the whole of it).
/// A blocking call: run it off any async runtime thread.
pub fn request_enrolment(
    server_url: &str,
    code: &str,
    label: Option<&str>,
    public_key: Option<PublicKey>,
    options: &SyncOptions,
) -> std::result::Result<EnrollResponse, SyncError> {
    let code = code.trim();
    if code.is_empty() {
        return Err(SyncError::BadCode {
            message: "no code was given".to_owned(),
        });
    }
    let http = Http::new(server_url, None, options.connect_timeout, options.request_timeout)?;
    let request = EnrollRequest {
        protocol: PROTOCOL_VERSION,
        schema_version: SCHEMA_VERSION,
        code: code.to_owned(),
        label: label.map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned),
        public_key,
    };
    match http.enroll(&request) {
        Ok(exchange) => Ok(exchange.value),
        Err(HttpFailure::Link(e)) => Err(e),
        Err(HttpFailure::Status(answer)) => Err(answer.to_error()),
    }
}

/// Enrols `store` with the server at `server_url`: checks the store may be
/// enrolled (before the one-time code is spent), exchanges the code, and
/// records the answer. The store is unchanged if any step fails. Uses the
/// options' timeouts. A blocking call.
pub fn enroll(
    store: &mut Store,
    server_url: &str,
    code: &str,
    label: Option<&str>,
    options: &SyncOptions,
) -> std::result::Result<EnrollResponse, SyncError> {
    store.check_enrollable()?;
    // A new key for every enrolment (a copied tablet enrolled again must
    // not sign with the original's), kept before the code is spent so a
    // lost answer does not lose it.
    let key = super::keys::new_key(store)?;
    let answer = request_enrolment(server_url, code, label, Some(key.public_key()), options)?;
    store.enroll(server_url, &answer)?;
    if let (Some(cert), Some(server_key)) = (answer.cert, answer.server_key) {
        super::keys::keep_certificate(store, &key, &cert, server_key, answer.device_id)?;
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use doorstep_core::ids::{CommuneId, DeviceId};

    use super::*;
    use crate::store::CreateOptions;

    fn answer() -> EnrollResponse {
        EnrollResponse {
            device_id: DeviceId::new(),
            token: "secret-token-value".to_owned(),
            commune_id: CommuneId::new(),
            commune_name: "Mường Lạn".to_owned(),
            member_id: uuid::Uuid::now_v7(),
            server_time: "2026-11-27T08:30:00.000Z".to_owned(),
            cert: None,
            server_key: None,
        }
    }

    fn store(practice: bool) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::create(
            &dir.path().join("d.db"),
            CreateOptions {
                practice,
                device_id: None,
            },
        )
        .expect("store");
        (dir, store)
    }

    #[test]
    fn enrolment_takes_the_server_id_and_later_writes_use_it() {
        let (_dir, mut store) = store(false);
        let a = answer();
        store.enroll("https://doorstep.example.org/", &a).expect("enrols");
        assert_eq!(store.device_id(), a.device_id);
        let status = store.sync_status().expect("status");
        assert!(status.enrolled);
        assert_eq!(status.server_url.as_deref(), Some("https://doorstep.example.org"));
        assert_eq!(status.commune_name.as_deref(), Some("Mường Lạn"));
        store.set_server_url("http://10.0.0.5:8080/").expect("moved");
        assert_eq!(
            store.sync_status().expect("status").server_url.as_deref(),
            Some("http://10.0.0.5:8080")
        );
        let commune = doorstep_core::entities::Commune {
            id: CommuneId::new(),
            name: doorstep_core::text::PlaceName::parse("Chiềng Sinh").expect("name"),
            province: None,
        };
        let change = store.insert(&commune).expect("write");
        assert_eq!(change.device, a.device_id);
        // Reopened, the store still writes under the server's id.
        let path = store.path().to_owned();
        drop(store);
        let store = Store::open(&path).expect("reopen");
        assert_eq!(store.device_id(), a.device_id);
        let credentials = store.credentials().expect("read").expect("enrolled");
        assert_eq!(credentials.token, "secret-token-value");
        assert!(
            !format!("{credentials:?}").contains("secret"),
            "the token never shows in Debug"
        );
        assert!(!format!("{:?}", store.sync_status()).contains("secret"));
    }

    #[test]
    fn refuses_practice_enrolled_and_used_stores() {
        let (_dir, mut practice) = store(true);
        let err = practice.enroll("https://x.org", &answer()).expect_err("practice");
        assert!(err.to_string().contains("practice databases never sync"), "{err}");

        let (_dir, mut enrolled) = store(false);
        enrolled.enroll("https://x.org", &answer()).expect("first");
        let err = enrolled.enroll("https://x.org", &answer()).expect_err("twice");
        assert!(
            err.to_string()
                .contains("already enrolled with https://x.org for commune Mường Lạn"),
            "{err}"
        );

        let (_dir, mut used) = store(false);
        let commune = doorstep_core::entities::Commune {
            id: CommuneId::new(),
            name: doorstep_core::text::PlaceName::parse("Xã A").expect("name"),
            province: None,
        };
        used.insert(&commune).expect("write");
        let before = used.device_id();
        let err = used.enroll("https://x.org", &answer()).expect_err("used");
        assert!(
            err.to_string()
                .contains("already holds 1 changes made before enrolment"),
            "{err}"
        );
        assert_eq!(used.device_id(), before, "a refused enrolment changes nothing");
        assert!(!used.sync_status().expect("status").enrolled);
    }

    #[test]
    fn a_bad_address_or_answer_is_refused_before_anything_is_stored() {
        let (_dir, mut store) = store(false);
        let err = store.enroll("doorstep.example.org", &answer()).expect_err("no scheme");
        assert!(matches!(err, SyncError::BadServerUrl { .. }), "{err}");
        let mut empty = answer();
        empty.token = " ".to_owned();
        assert!(matches!(
            store.enroll("https://x.org", &empty),
            Err(SyncError::BadAnswer { .. })
        ));
        assert!(!store.sync_status().expect("status").enrolled);
        assert!(matches!(
            store.set_server_url("https://y.org"),
            Err(SyncError::NotEnrolled)
        ));
        let err =
            request_enrolment("https://x.org", "  ", None, None, &SyncOptions::default()).expect_err("empty code");
        assert!(matches!(err, SyncError::BadCode { .. }), "{err}");
    }

    #[test]
    fn enrolment_measures_the_clock_offset() {
        let (_dir, mut store) = store(false);
        let year_2000: chrono::DateTime<chrono::Utc> = "2000-01-01T00:00:00Z".parse().expect("time");
        store.set_wall_clock(std::sync::Arc::new(move || year_2000));
        store.enroll("https://x.org", &answer()).expect("enrols");
        assert_eq!(
            doorstep_core::schema::format_timestamp(store.now()),
            "2026-11-27T08:30:00.000Z",
            "the tablet shows the server's time from now on"
        );
    }
}
