//! What can go wrong in a sync or an enrolment, in words a volunteer can act
//! on, and which failures are worth retrying.
//!
//! Two kinds of failure look alike on the screen and must not be confused
//! in code: the link failed (no signal, a cut, a busy server: retry later,
//! nothing is lost) or the server refused (a revoked tablet, an old app:
//! retrying changes nothing). [`SyncError::is_transient`] tells them apart.

use std::error::Error as _;

use doorstep_core::protocol::{ErrorBody, ErrorCode};

use crate::error::StoreError;

/// A sync or enrolment that did not complete. The changes written on the
/// tablet are never lost by one: they stay in the outbox for the next try.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A trainee's practice store.
    #[error("practice databases never sync: this one is for training only")]
    PracticeStore,
    /// The store has no server or token yet.
    #[error("this tablet is not enrolled: enrol this device first (doorstep enroll --server URL --code CODE)")]
    NotEnrolled,
    /// The server address is not a usable URL.
    #[error("{url:?} is not a server address ({detail}); write it like https://doorstep.example.org")]
    BadServerUrl {
        /// What was given.
        url: String,
        /// Why it is refused.
        detail: String,
    },
    /// No network at all: no route, no name resolution, no answer to connect.
    #[error("no connection ({detail}): the changes stay on this tablet and go next time")]
    NoNetwork {
        /// What the system said.
        detail: String,
    },
    /// The network works but the server does not take the connection.
    #[error(
        "cannot reach the server at {url} ({detail}): the changes stay on this tablet and go next time; if this lasts, tell the team lead"
    )]
    ServerUnreachable {
        /// The server's address.
        url: String,
        /// What failed (connection refused, TLS, ...).
        detail: String,
    },
    /// Connected, but no complete answer in time.
    #[error("the server at {url} did not answer in time: the changes stay on this tablet and go next time")]
    Timeout {
        /// The server's address.
        url: String,
    },
    /// The connection broke during a request or its answer.
    #[error(
        "the connection broke off during the sync ({detail}): nothing is lost, the next sync resumes where this one stopped"
    )]
    ConnectionLost {
        /// What broke.
        detail: String,
    },
    /// The server failed or is overloaded (5xx, 429).
    #[error(
        "the server is failing or busy (HTTP {status}: {message}): the changes stay on this tablet; try again later"
    )]
    ServerFailed {
        /// The HTTP status.
        status: u16,
        /// The server's words, or the start of its answer.
        message: String,
    },
    /// The office computer's disk is full (507): the server kept nothing of
    /// this push; it takes the changes once the office frees space.
    #[error(
        "the office computer's disk is full (HTTP {status}): the changes stay on this tablet and go once the office frees space; tell the team lead"
    )]
    ServerDiskFull {
        /// The HTTP status (507).
        status: u16,
        /// The server's words.
        message: String,
    },
    /// The enrolment code is unknown, used or expired.
    #[error(
        "the enrolment code was not accepted: {message}{}",
        if message.contains("team lead") { "" } else { "; check it, or ask the team lead for a new one" }
    )]
    BadCode {
        /// The server's words.
        message: String,
    },
    /// A team lead revoked this tablet's token.
    #[error("this tablet was removed by the team lead; ask for a new enrolment code")]
    TokenRevoked,
    /// A team lead revoked this tablet and asked for its data to be
    /// erased: the caller erases the store ([`super::erase_store`]).
    #[error("this tablet was removed by the team lead, who asked for its data to be erased")]
    EraseOrdered,
    /// The server does not know this tablet's token.
    #[error("the server does not recognise this tablet ({message}); ask the team lead for a new enrolment code")]
    Unauthorized {
        /// The server's words.
        message: String,
    },
    /// The server no longer speaks this app's protocol.
    #[error("this app is too old for the server: update the app ({message})")]
    AppTooOld {
        /// The server's words.
        message: String,
    },
    /// The server is older than this app.
    #[error(
        "the server is older than this app and cannot read its data ({message}); ask the team lead to update the server"
    )]
    ServerTooOld {
        /// The server's words.
        message: String,
    },
    /// Any other refusal (400, 403, 404, 413 of a single change, ...).
    #[error("the server refused the request (HTTP {status}): {message}{}", field.as_ref().map(|f| format!(" (field {f})")).unwrap_or_default())]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's words, or the start of its answer.
        message: String,
        /// The request field at fault, when the server named one.
        field: Option<String>,
    },
    /// The answer is not what the protocol says (an HTML page from a Wi-Fi
    /// login portal, a proxy, a broken server).
    #[error(
        "the server's answer could not be read ({detail}); if this Wi-Fi asks you to log in, log in first, then sync again"
    )]
    BadAnswer {
        /// What did not fit.
        detail: String,
    },
    /// The server has applied more changes from this tablet than the tablet
    /// has: its database was restored from an older copy. Syncing on would
    /// make the server skip the tablet's newer changes.
    #[error(
        "the server already has {server_seq} changes from this tablet but this database holds only {device_seq}: it was restored from an older copy. Do not record more on it; ask the team lead to enrol this tablet again"
    )]
    Diverged {
        /// What the server has applied.
        server_seq: u64,
        /// What this database has written.
        device_seq: u64,
    },
    /// Another tablet pushes under this tablet's token with other changes
    /// at the same seqs: one of them is a copy of the other's files. The
    /// server refused this one's batch and kept it aside.
    #[error(
        "this tablet's data was copied from another tablet (its change {seq} is not the one the server has from it): nothing is lost, its work stays here and was set aside at the office; ask the team lead to enrol this tablet again"
    )]
    Copied {
        /// The first seq that differs.
        seq: u64,
    },
    /// The server needs changes this tablet already dropped from its
    /// outbox: the office restored a backup older than the newest one,
    /// which holds them.
    #[error(
        "the office's database was put back from an older backup than its newest one: it needs this tablet's changes {from} to {to}, which the newest backup holds and this tablet no longer keeps; ask the office to restore its newest backup (doorstep-server restore)"
    )]
    OfficeLost {
        /// The first change the server needs.
        from: u64,
        /// The last change this tablet dropped.
        to: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for SyncError {
    fn from(e: rusqlite::Error) -> SyncError {
        SyncError::Store(StoreError::Sqlite(e))
    }
}

impl SyncError {
    /// A failure of the link or a busy server: the same request may succeed
    /// later, so the sync retries it with backoff.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SyncError::NoNetwork { .. }
                | SyncError::ServerUnreachable { .. }
                | SyncError::Timeout { .. }
                | SyncError::ConnectionLost { .. }
                | SyncError::ServerFailed { .. }
                | SyncError::ServerDiskFull { .. }
        )
    }

    /// A stable name for logs. Logs get this, never the message: a server's
    /// words may quote a rejected value (a resident's name).
    pub fn kind(&self) -> &'static str {
        match self {
            SyncError::PracticeStore => "practice_store",
            SyncError::NotEnrolled => "not_enrolled",
            SyncError::BadServerUrl { .. } => "bad_server_url",
            SyncError::NoNetwork { .. } => "no_network",
            SyncError::ServerUnreachable { .. } => "server_unreachable",
            SyncError::Timeout { .. } => "timeout",
            SyncError::ConnectionLost { .. } => "connection_lost",
            SyncError::ServerFailed { .. } => "server_failed",
            SyncError::ServerDiskFull { .. } => "server_disk_full",
            SyncError::BadCode { .. } => "bad_code",
            SyncError::TokenRevoked => "token_revoked",
            SyncError::EraseOrdered => "erase_ordered",
            SyncError::Unauthorized { .. } => "unauthorized",
            SyncError::AppTooOld { .. } => "app_too_old",
            SyncError::ServerTooOld { .. } => "server_too_old",
            SyncError::Refused { .. } => "refused",
            SyncError::BadAnswer { .. } => "bad_answer",
            SyncError::Diverged { .. } => "diverged",
            SyncError::Copied { .. } => "copied",
            SyncError::OfficeLost { .. } => "office_lost",
            SyncError::Store(_) => "store",
        }
    }

    /// A failure to talk to the server at all (the transient ones, and an
    /// answer that could not be read): the CLI exits with 3 for these.
    pub fn is_network(&self) -> bool {
        self.is_transient() || matches!(self, SyncError::BadAnswer { .. })
    }

    /// Classifies a reqwest failure. `url` is the server's base address
    /// (never a token: tokens travel only in headers).
    pub(crate) fn from_reqwest(err: &reqwest::Error, url: &str) -> SyncError {
        let detail = cause_text(err);
        if err.is_builder() {
            return SyncError::BadServerUrl {
                url: url.to_owned(),
                detail,
            };
        }
        if err.is_connect() {
            let io = io_kind(err);
            use std::io::ErrorKind as K;
            let no_route = matches!(
                io,
                Some(K::NetworkUnreachable | K::HostUnreachable | K::NetworkDown | K::AddrNotAvailable)
            );
            // A failed name lookup or a connect that times out is what a
            // tablet without signal sees.
            if no_route || mentions(err, "dns error") || err.is_timeout() || io == Some(K::TimedOut) {
                return SyncError::NoNetwork { detail };
            }
            return SyncError::ServerUnreachable {
                url: url.to_owned(),
                detail,
            };
        }
        if err.is_timeout() {
            return SyncError::Timeout { url: url.to_owned() };
        }
        if err.is_redirect() {
            return SyncError::BadAnswer { detail };
        }
        // is_request (reset, broken pipe while sending), is_body and
        // is_decode (cut while receiving): the exchange broke off.
        SyncError::ConnectionLost { detail }
    }

    /// The error for an error answer from the server.
    pub(crate) fn from_answer(status: u16, body: Option<&ErrorBody>, excerpt: &str) -> SyncError {
        let message = body.map_or_else(|| plain_answer(status, excerpt), |b| b.message.clone());
        let code = body.map(|b| b.error);
        match (status, code) {
            (_, Some(ErrorCode::Revoked)) if body.is_some_and(|b| b.erase) => SyncError::EraseOrdered,
            (_, Some(ErrorCode::Revoked)) => SyncError::TokenRevoked,
            (_, Some(ErrorCode::BadCode)) => SyncError::BadCode { message },
            (_, Some(ErrorCode::Copied)) => SyncError::Copied {
                seq: body.and_then(|b| b.copied_seq).unwrap_or(0),
            },
            (_, Some(ErrorCode::UpgradeRequired)) | (426, None) => SyncError::AppTooOld { message },
            (_, Some(ErrorCode::UnsupportedProtocol)) => SyncError::ServerTooOld { message },
            (_, Some(ErrorCode::Unauthorized)) | (401, None) => SyncError::Unauthorized { message },
            (_, Some(ErrorCode::DiskFull)) | (507, None) => SyncError::ServerDiskFull { status, message },
            (_, Some(ErrorCode::TooManyRequests | ErrorCode::Internal)) => SyncError::ServerFailed { status, message },
            (408 | 429 | 500..=599, _) => SyncError::ServerFailed { status, message },
            _ => SyncError::Refused {
                status,
                message,
                field: body.and_then(|b| b.field.clone()),
            },
        }
    }
}

/// The message for an error answer that is not the protocol's JSON (a
/// proxy's page): the status and the start of the text.
fn plain_answer(status: u16, excerpt: &str) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("error");
    let text: String = excerpt.split_whitespace().collect::<Vec<_>>().join(" ");
    let text: String = text.chars().take(120).collect();
    if text.is_empty() {
        format!("{reason}, no explanation")
    } else {
        format!("{reason}: {text}")
    }
}

/// The innermost messages of an error chain, without the URL reqwest puts
/// in its own (the causes say what happened; the URL is known).
fn cause_text(err: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        // hyper's "client error (Connect)" wrapper adds nothing to its cause.
        if !text.starts_with("client error (") && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    if parts.is_empty() {
        // The error itself, minus "for url (...)".
        let text = err.to_string();
        return text.split(" for url (").next().unwrap_or(&text).to_owned();
    }
    parts.join(": ")
}

fn io_kind(err: &reqwest::Error) -> Option<std::io::ErrorKind> {
    let mut source = err.source();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = e.source();
    }
    None
}

fn mentions(err: &reqwest::Error, text: &str) -> bool {
    let mut source = err.source();
    while let Some(e) = source {
        if e.to_string().contains(text) {
            return true;
        }
        source = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(error: ErrorCode, message: &str) -> ErrorBody {
        ErrorBody {
            error,
            message: message.to_owned(),
            field: None,
            expected_seq: None,
            copied_seq: None,
            erase: false,
            server_time: "2026-11-27T08:30:00.000Z".to_owned(),
        }
    }

    #[test]
    fn answers_map_to_what_the_volunteer_must_do() {
        let revoked = SyncError::from_answer(401, Some(&body(ErrorCode::Revoked, "revoked")), "");
        assert!(matches!(revoked, SyncError::TokenRevoked));
        assert_eq!(
            revoked.to_string(),
            "this tablet was removed by the team lead; ask for a new enrolment code"
        );
        let old = SyncError::from_answer(426, Some(&body(ErrorCode::UpgradeRequired, "protocol 0 is gone")), "");
        assert!(old.to_string().contains("update the app"), "{old}");
        assert!(matches!(
            SyncError::from_answer(400, Some(&body(ErrorCode::UnsupportedProtocol, "v2")), ""),
            SyncError::ServerTooOld { .. }
        ));
        let mut bad = body(ErrorCode::BadRequest, "seq 0 is not a seq");
        bad.field = Some("pushes.c[0].s".to_owned());
        let refused = SyncError::from_answer(400, Some(&bad), "");
        assert_eq!(
            refused.to_string(),
            "the server refused the request (HTTP 400): seq 0 is not a seq (field pushes.c[0].s)"
        );
        assert!(!refused.is_transient() && !refused.is_network());
        let code = SyncError::from_answer(401, Some(&body(ErrorCode::BadCode, "code used")), "");
        assert!(code.to_string().contains("ask the team lead for a new one"), "{code}");
    }

    #[test]
    fn busy_and_failing_servers_are_retried() {
        for status in [429, 500, 502, 503, 504] {
            let e = SyncError::from_answer(status, None, "");
            assert!(e.is_transient(), "{status}: {e}");
            assert!(e.is_network());
        }
        let e = SyncError::from_answer(503, Some(&body(ErrorCode::Internal, "database locked")), "");
        assert!(e.is_transient());
        for status in [400, 401, 403, 404, 413, 426] {
            assert!(!SyncError::from_answer(status, None, "").is_transient(), "{status}");
        }
    }

    #[test]
    fn a_full_office_disk_is_retried_and_says_so() {
        let full = SyncError::from_answer(507, Some(&body(ErrorCode::DiskFull, "the disk is full")), "");
        assert!(matches!(full, SyncError::ServerDiskFull { status: 507, .. }), "{full}");
        assert!(full.is_transient() && full.is_network());
        assert_eq!(full.kind(), "server_disk_full");
        assert_eq!(
            full.to_string(),
            "the office computer's disk is full (HTTP 507): the changes stay on this tablet and go once the office frees space; tell the team lead"
        );
        // A proxy's page, or a server that answers 507 without the code.
        assert!(matches!(
            SyncError::from_answer(507, None, "Insufficient Storage"),
            SyncError::ServerDiskFull { .. }
        ));
    }

    #[test]
    fn a_proxy_page_still_says_the_status_and_what_it_said() {
        let page = "<html>\n  <body>Bad   Gateway from nginx</body></html>";
        let e = SyncError::from_answer(502, None, page);
        assert_eq!(
            e.to_string(),
            "the server is failing or busy (HTTP 502: Bad Gateway: <html> <body>Bad Gateway from nginx</body></html>): the changes stay on this tablet; try again later"
        );
        let e = SyncError::from_answer(403, None, "");
        assert_eq!(
            e.to_string(),
            "the server refused the request (HTTP 403): Forbidden, no explanation"
        );
    }

    #[test]
    fn messages_tell_what_to_do() {
        let offline = SyncError::NoNetwork {
            detail: "dns error".into(),
        };
        assert_eq!(
            offline.to_string(),
            "no connection (dns error): the changes stay on this tablet and go next time"
        );
        assert!(
            SyncError::NotEnrolled
                .to_string()
                .contains("doorstep enroll --server URL --code CODE")
        );
        assert!(
            SyncError::PracticeStore
                .to_string()
                .contains("practice databases never sync")
        );
        assert!(!SyncError::Store(StoreError::Stored("x".into())).is_network());
    }
}
