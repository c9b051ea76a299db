//! The HTTP side of the protocol: the one place in this crate that knows
//! URLs, headers, status codes and gzip.
//!
//! Bodies are compressed and decompressed here (not by reqwest) so the sync
//! can count the bytes that really cross the link: the progress a volunteer
//! sees on 2G, and the figures the benchmarks compare.
//!
//! This is a **blocking** client (`reqwest::blocking`): create it, use it and
//! drop it on an ordinary thread, never on a tokio runtime thread (reqwest
//! panics there). The Tauri app runs sync on a background thread.

use std::io::{Read, Write};
use std::time::Duration;

use doorstep_core::protocol::{
    EnrollRequest, EnrollResponse, ErasedReport, ErrorBody, Health, KeyRequest, KeyResponse, PacksResponse,
    SyncResponse, paths, upload,
};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{self, HeaderValue};
use serde::de::DeserializeOwned;

use super::error::SyncError;

/// A decompressed answer larger than this is refused: no page of a commune's
/// changes comes near it, and a broken or hostile answer cannot fill the
/// tablet's memory.
const MAX_ANSWER_BYTES: u64 = 256 * 1024 * 1024;

/// How much of a non-JSON error answer goes into the message.
const EXCERPT_BYTES: usize = 200;

/// One completed exchange: the decoded answer and the bytes on the wire.
#[derive(Debug)]
pub(crate) struct Exchange<T> {
    /// The decoded answer.
    pub value: T,
    /// Request body bytes sent (compressed when the body was).
    pub sent: u64,
    /// Answer body bytes received, as they came (compressed or not).
    pub received: u64,
}

/// Why an exchange gave no usable answer.
#[derive(Debug)]
pub(crate) enum HttpFailure {
    /// No complete answer: the link failed, or the answer was unreadable.
    Link(SyncError),
    /// The server answered with an error status.
    Status(Box<ErrorAnswer>),
}

/// An error answer from the server (or a proxy in front of it).
#[derive(Debug)]
pub(crate) struct ErrorAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The protocol's error body, when it was one.
    pub body: Option<ErrorBody>,
    /// The start of the body as text, when it was not.
    pub excerpt: String,
    /// What `Retry-After` asked for.
    pub retry_after: Option<Duration>,
    /// Where a refused resumable upload should go on (`doorstep-upload-offset`).
    pub upload_offset: Option<u64>,
    /// Body bytes received.
    pub received: u64,
}

impl ErrorAnswer {
    /// The error a volunteer sees for this answer.
    pub(crate) fn to_error(&self) -> SyncError {
        SyncError::from_answer(self.status, self.body.as_ref(), &self.excerpt)
    }
}

/// The packs endpoint's answer.
#[derive(Debug)]
pub(crate) enum PacksAnswer {
    /// 304: what the device has is current.
    NotModified,
    /// The current list and its ETag.
    Current {
        /// The packs.
        packs: PacksResponse,
        /// The ETag to send next time.
        etag: Option<String>,
    },
}

/// A connection to one server, with the device's token if it has one.
pub(crate) struct Http {
    client: Client,
    base: String,
    token: Option<String>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .finish_non_exhaustive()
    }
}

/// Checks a server address and gives its stored form: `http(s)://host[:port][/prefix]`
/// without a trailing slash.
pub fn normalise_server_url(text: &str) -> Result<String, SyncError> {
    let bad = |detail: &str| SyncError::BadServerUrl {
        url: text.to_owned(),
        detail: detail.to_owned(),
    };
    let url = reqwest::Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("it must start with https:// or http://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it names no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("put no user name or password in the address"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not have a ?query or #fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

impl Http {
    /// A client for the server at `server_url` (checked), with timeouts and
    /// HTTP/1.1 keep-alive: one connection carries every round of a sync.
    pub(crate) fn new(
        server_url: &str,
        token: Option<String>,
        connect_timeout: Duration,
        request_timeout: Duration,
    ) -> Result<Http, SyncError> {
        let base = normalise_server_url(server_url)?;
        let client = Client::builder()
            .user_agent(concat!("doorstep-device/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(connect_timeout)
            .timeout(request_timeout)
            .http1_only()
            .pool_max_idle_per_host(1)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_keepalive(Duration::from_secs(30))
            // A redirect would resend the token elsewhere or turn a POST
            // into a GET; an address that moved must be enrolled again.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SyncError::ServerUnreachable {
                url: base.clone(),
                detail: format!("cannot set up the HTTP client: {e}"),
            })?;
        Ok(Http { client, base, token })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn authorised(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(token) => match HeaderValue::from_str(&format!("Bearer {token}")) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    request.header(header::AUTHORIZATION, value)
                }
                // A token that is not header text cannot authenticate; the
                // server answers 401 and the volunteer is told to re-enrol.
                Err(_) => request,
            },
            None => request,
        }
    }

    /// `POST /api/v1/sync` with an already gzip-compressed JSON body.
    pub(crate) fn sync(&self, gzipped_request: Vec<u8>) -> Result<Exchange<SyncResponse>, HttpFailure> {
        let sent = len_u64(gzipped_request.len());
        let request = self
            .authorised(self.client.post(self.url(paths::SYNC)))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_ENCODING, "gzip")
            .header(header::ACCEPT_ENCODING, "gzip")
            .body(gzipped_request);
        let (status, body, received) = self.exchange(request)?;
        let value = json_answer(status, &body)?;
        Ok(Exchange { value, sent, received })
    }

    /// `POST /api/v1/sync/upload`: bytes `offset..` of an already gzipped
    /// request named `key` (`doorstep_core::protocol::upload`).
    pub(crate) fn upload_piece(
        &self,
        key: &str,
        gzipped_request: &[u8],
        offset: usize,
    ) -> Result<Exchange<SyncResponse>, HttpFailure> {
        let piece = gzipped_request.get(offset..).unwrap_or_default().to_vec();
        let sent = len_u64(piece.len());
        let request = self
            .authorised(self.client.post(self.url(paths::SYNC_UPLOAD)))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header(header::ACCEPT_ENCODING, "gzip")
            .header(upload::KEY, key)
            .header(upload::LENGTH, gzipped_request.len())
            .header(upload::OFFSET, offset)
            .body(piece);
        let (status, body, received) = self.exchange(request)?;
        let value = json_answer(status, &body)?;
        Ok(Exchange { value, sent, received })
    }

    /// `GET /api/v1/sync/upload`: how many bytes of upload `key` the server
    /// holds. A server without resumable uploads answers 404 or 405.
    pub(crate) fn upload_probe(&self, key: &str) -> Result<Exchange<u64>, HttpFailure> {
        let request = self
            .authorised(self.client.get(self.url(paths::SYNC_UPLOAD)))
            .header(upload::KEY, key);
        let response = self.send(request)?;
        let held = response
            .headers()
            .get(upload::OFFSET)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let (status, _, received) = self.read(response)?;
        match held {
            Some(value) if status.is_success() => Ok(Exchange {
                value,
                sent: 0,
                received,
            }),
            _ => Err(HttpFailure::Link(SyncError::BadAnswer {
                detail: format!(
                    "HTTP {} to an upload probe without a {} header",
                    status.as_u16(),
                    upload::OFFSET
                ),
            })),
        }
    }

    /// `GET /api/v1/packs`, conditional on the ETag of what the device has.
    pub(crate) fn packs(&self, etag: Option<&str>) -> Result<Exchange<PacksAnswer>, HttpFailure> {
        let mut request = self
            .authorised(self.client.get(self.url(paths::PACKS)))
            .header(header::ACCEPT_ENCODING, "gzip");
        if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(t).ok()) {
            request = request.header(header::IF_NONE_MATCH, tag);
        }
        let response = self.send(request)?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(Exchange {
                value: PacksAnswer::NotModified,
                sent: 0,
                received: 0,
            });
        }
        let etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (status, body, received) = self.read(response)?;
        let packs = json_answer(status, &body)?;
        Ok(Exchange {
            value: PacksAnswer::Current { packs, etag },
            sent: 0,
            received,
        })
    }

    /// `POST /api/v1/enroll` (plain JSON: the request is tiny).
    pub(crate) fn enroll(&self, request: &EnrollRequest) -> Result<Exchange<EnrollResponse>, HttpFailure> {
        self.post_json(paths::ENROLL, request, "the enrolment request")
    }

    /// `POST /api/v1/key` (protocol 2): registers this tablet's signing key.
    pub(crate) fn register_key(&self, request: &KeyRequest) -> Result<Exchange<KeyResponse>, HttpFailure> {
        self.post_json(paths::KEY, request, "the key registration")
    }

    /// A plain JSON `POST` to `path`, with the token when there is one.
    fn post_json<T: serde::Serialize, R: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        request: &T,
        what: &str,
    ) -> Result<Exchange<R>, HttpFailure> {
        let body = serde_json::to_vec(request).map_err(|e| {
            HttpFailure::Link(SyncError::BadAnswer {
                detail: format!("cannot encode {what}: {e}"),
            })
        })?;
        let sent = len_u64(body.len());
        let request = self
            .authorised(self.client.post(self.url(path)))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT_ENCODING, "gzip")
            .body(body);
        let (status, body, received) = self.exchange(request)?;
        let value = json_answer(status, &body)?;
        Ok(Exchange { value, sent, received })
    }

    /// `POST /api/v1/erased` (plain JSON); the answer is 204 with no body.
    pub(crate) fn erased(&self, report: &ErasedReport) -> Result<(), HttpFailure> {
        let body = serde_json::to_vec(report).map_err(|e| {
            HttpFailure::Link(SyncError::BadAnswer {
                detail: format!("cannot encode the erase report: {e}"),
            })
        })?;
        let request = self
            .authorised(self.client.post(self.url(paths::ERASED)))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body);
        let (status, body, _) = self.exchange(request)?;
        if status.is_success() {
            return Ok(());
        }
        // `exchange` turns error statuses into `Status`; anything else
        // (a proxy's 3xx) is not the answer we wait for.
        Err(HttpFailure::Link(SyncError::BadAnswer {
            detail: format!("HTTP {} to the erase report ({} bytes)", status.as_u16(), body.len()),
        }))
    }

    /// `GET /healthz`.
    pub(crate) fn health(&self) -> Result<Exchange<Health>, HttpFailure> {
        let request = self
            .client
            .get(self.url(paths::HEALTH))
            .header(header::ACCEPT_ENCODING, "gzip");
        let (status, body, received) = self.exchange(request)?;
        let value = json_answer(status, &body)?;
        Ok(Exchange {
            value,
            sent: 0,
            received,
        })
    }

    fn send(&self, request: RequestBuilder) -> Result<Response, HttpFailure> {
        request
            .send()
            .map_err(|e| HttpFailure::Link(SyncError::from_reqwest(&e, &self.base)))
    }

    /// Sends, reads the whole answer, and turns an error status into
    /// [`HttpFailure::Status`].
    fn exchange(&self, request: RequestBuilder) -> Result<(StatusCode, Vec<u8>, u64), HttpFailure> {
        let response = self.send(request)?;
        self.read(response)
    }

    fn read(&self, response: Response) -> Result<(StatusCode, Vec<u8>, u64), HttpFailure> {
        let status = response.status();
        let gzipped = match response.headers().get(header::CONTENT_ENCODING) {
            None => false,
            Some(v) if v.as_bytes().eq_ignore_ascii_case(b"gzip") => true,
            Some(v) if v.as_bytes().eq_ignore_ascii_case(b"identity") => false,
            Some(other) => {
                return Err(HttpFailure::Link(SyncError::BadAnswer {
                    detail: format!(
                        "the answer is encoded as {:?}, this app reads only gzip",
                        String::from_utf8_lossy(other.as_bytes())
                    ),
                }));
            }
        };
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let upload_offset = response
            .headers()
            .get(upload::OFFSET)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let raw = response
            .bytes()
            .map_err(|e| HttpFailure::Link(SyncError::from_reqwest(&e, &self.base)))?;
        let received = len_u64(raw.len());
        let body = if gzipped {
            gunzip(&raw).map_err(HttpFailure::Link)?
        } else {
            raw.to_vec()
        };
        if status.is_redirection() {
            return Err(HttpFailure::Link(SyncError::BadAnswer {
                detail: format!(
                    "HTTP {} sends this tablet to {}",
                    status.as_u16(),
                    location.as_deref().unwrap_or("another address")
                ),
            }));
        }
        if status.is_success() {
            return Ok((status, body, received));
        }
        let parsed = serde_json::from_slice::<ErrorBody>(&body).ok();
        let excerpt = if parsed.is_some() {
            String::new()
        } else {
            String::from_utf8_lossy(&body[..body.len().min(EXCERPT_BYTES)]).into_owned()
        };
        Err(HttpFailure::Status(Box::new(ErrorAnswer {
            status: status.as_u16(),
            body: parsed,
            excerpt,
            retry_after,
            upload_offset,
            received,
        })))
    }
}

/// Compresses a request body.
pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4 + 64), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// Decompresses an answer body. A stream that stops early is a cut link
/// (retried); one that is not gzip at all is a bad answer.
fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, SyncError> {
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(4));
    let mut decoder = GzDecoder::new(bytes).take(MAX_ANSWER_BYTES + 1);
    match decoder.read_to_end(&mut out) {
        Ok(_) if len_u64(out.len()) > MAX_ANSWER_BYTES => Err(SyncError::BadAnswer {
            detail: format!("the answer unpacks to more than {} MiB", MAX_ANSWER_BYTES >> 20),
        }),
        Ok(_) => Ok(out),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(SyncError::ConnectionLost {
            detail: "the compressed answer ended early".to_owned(),
        }),
        Err(e) => Err(SyncError::BadAnswer {
            detail: format!("the answer says gzip but is not: {e}"),
        }),
    }
}

/// Decodes a successful answer. JSON that ends early is a cut link.
fn json_answer<T: DeserializeOwned>(status: StatusCode, body: &[u8]) -> Result<T, HttpFailure> {
    serde_json::from_slice(body).map_err(|e| {
        HttpFailure::Link(if e.is_eof() {
            SyncError::ConnectionLost {
                detail: "the answer ended early".to_owned(),
            }
        } else {
            let start = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
            SyncError::BadAnswer {
                detail: format!(
                    "HTTP {} with a body that is not the expected JSON ({e}; it starts {start:?})",
                    status.as_u16()
                ),
            }
        })
    })
}

fn len_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_are_checked_and_normalised() {
        assert_eq!(
            normalise_server_url(" https://doorstep.example.org/ ").ok().as_deref(),
            Some("https://doorstep.example.org")
        );
        assert_eq!(
            normalise_server_url("http://127.0.0.1:8080/office/").ok().as_deref(),
            Some("http://127.0.0.1:8080/office")
        );
        for bad in [
            "doorstep.example.org",
            "ftp://x.org",
            "https://user:pw@x.org",
            "https://x.org/?a=1",
            "",
        ] {
            let err = normalise_server_url(bad).expect_err(bad);
            assert!(err.to_string().contains("is not a server address"), "{err}");
        }
    }

    #[test]
    fn gzip_round_trips_and_a_cut_stream_is_a_lost_connection() {
        let text = br#"{"last_applied_seq":3}"#.repeat(100);
        let packed = gzip(&text);
        assert!(packed.len() < text.len() / 4);
        assert_eq!(gunzip(&packed).ok(), Some(text.clone()));
        let cut = gunzip(&packed[..packed.len() / 2]).expect_err("cut");
        assert!(matches!(cut, SyncError::ConnectionLost { .. }), "{cut}");
        let garbage = gunzip(b"<html>portal</html>").expect_err("not gzip");
        assert!(matches!(garbage, SyncError::BadAnswer { .. }), "{garbage}");
    }

    #[test]
    fn json_that_stops_early_is_a_cut_and_html_is_a_bad_answer() {
        let cut = json_answer::<Health>(StatusCode::OK, br#"{"status":"ok","min_pro"#).expect_err("cut");
        assert!(matches!(cut, HttpFailure::Link(SyncError::ConnectionLost { .. })));
        let html = json_answer::<Health>(StatusCode::OK, b"<html>Log in to FreeWifi</html>").expect_err("html");
        match html {
            HttpFailure::Link(e @ SyncError::BadAnswer { .. }) => {
                assert!(e.to_string().contains("Log in to FreeWifi"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }
}
