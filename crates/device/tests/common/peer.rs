//! A scripted HTTP/1.1 peer on loopback for the sync client's tests.
//!
//! It is not the Doorstep server (the end-to-end tests in the root `tests/`
//! run the real one). It speaks just enough of the protocol to drive the
//! client through what the field does to it: cut answers at any byte,
//! 5xx and proxy pages, refusals, a server restored from a backup, slow
//! answers. Requests and answers cross a real socket, so reqwest, gzip and
//! the error mapping are exercised for real.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use doorstep_core::change::Change;
use doorstep_core::ids::DeviceId;
use doorstep_core::protocol::{
    EnrollResponse, ErrorBody, ErrorCode, PackFile, PacksResponse, Rejected, Restamp, SyncRequest, SyncResponse,
    WireChanges,
};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

pub const SERVER_TIME: &str = "2026-11-27T08:30:00.000Z";
pub const TOKEN: &str = "test-token-7f3a";

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// The body as it came over the wire.
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body, gunzipped if it says it is gzip.
    pub fn plain_body(&self) -> Vec<u8> {
        if self.header("content-encoding") == Some("gzip") {
            let mut out = Vec::new();
            GzDecoder::new(&self.body[..]).read_to_end(&mut out).expect("gzip body");
            out
        } else {
            self.body.clone()
        }
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Close the connection after this many body bytes.
    pub cut_after: Option<usize>,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn json<T: serde::Serialize>(status: u16, value: &T) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(value).unwrap(),
            cut_after: None,
            delay: None,
        }
    }

    pub fn gzip_json<T: serde::Serialize>(status: u16, value: &T) -> Reply {
        let mut r = Reply::json(status, value);
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&r.body).unwrap();
        r.body = enc.finish().unwrap();
        r.headers.push(("Content-Encoding".into(), "gzip".into()));
        r
    }

    pub fn text(status: u16, text: &str) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: text.as_bytes().to_vec(),
            cut_after: None,
            delay: None,
        }
    }

    pub fn error(status: u16, error: ErrorCode, message: &str) -> Reply {
        Reply::json(
            status,
            &ErrorBody {
                error,
                message: message.into(),
                field: None,
                expected_seq: None,
                copied_seq: None,
                erase: false,
                server_time: SERVER_TIME.into(),
            },
        )
    }

    pub fn cut(mut self, after: usize) -> Reply {
        self.cut_after = Some(after);
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type Handler = Box<dyn FnMut(&Request) -> Reply + Send>;

/// A listening peer; stops when dropped.
pub struct Peer {
    pub url: String,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl Peer {
    pub fn start(handler: impl FnMut(&Request) -> Reply + Send + 'static) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Mutex<Handler>> = Arc::new(Mutex::new(Box::new(handler)));
        let stopping = stop.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let handler = handler.clone();
                std::thread::spawn(move || serve(stream, &handler));
            }
        });
        Peer {
            url: format!("http://127.0.0.1:{port}"),
            stop,
            port,
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(stream: TcpStream, handler: &Mutex<Handler>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let Some(request) = read_request(&mut reader) else {
            return;
        };
        let reply = (handler.lock().unwrap_or_else(std::sync::PoisonError::into_inner))(&request);
        if let Some(d) = reply.delay {
            std::thread::sleep(d);
        }
        let reason = match reply.status {
            200 => "OK",
            304 => "Not Modified",
            _ => "Status",
        };
        let mut head = format!("HTTP/1.1 {} {reason}\r\n", reply.status);
        for (n, v) in &reply.headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        if reply.status != 304 {
            head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
        }
        head.push_str("\r\n");
        let body = match reply.cut_after {
            Some(n) => &reply.body[..n.min(reply.body.len())],
            None => &reply.body[..],
        };
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(body).is_err() {
            return;
        }
        let _ = writer.flush();
        if reply.cut_after.is_some() {
            let _ = writer.shutdown(std::net::Shutdown::Both);
            return;
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (n, v) = h.split_once(':')?;
        headers.push((n.trim().to_owned(), v.trim().to_owned()));
    }
    let len = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

/// What the protocol peer does with the next sync request instead of
/// answering normally.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Apply the request, then cut the answer after this many bytes.
    CutAnswer(usize),
    /// Answer this instead, without applying anything.
    Reply(Reply),
    /// Forget everything applied after this seq (restored from a backup),
    /// then handle the request normally.
    Restore(u64),
}

/// A minimal protocol peer: exactly-once pushes, pages of other devices'
/// changes, faults on demand.
#[derive(Debug, Default)]
pub struct Protocol {
    pub device: Option<DeviceId>,
    pub last_applied: u64,
    /// The device's changes as applied, in order.
    pub applied: Vec<Change>,
    /// Other devices' changes served by pull, in server order.
    pub remote: Vec<Change>,
    /// Seqs refused with a reason.
    pub reject: Vec<(u64, String)>,
    /// Restamp these seqs to these stamps.
    pub restamp: Vec<(u64, doorstep_core::hlc::Hlc)>,
    /// The restamps made.
    pub restamped: Vec<Restamp>,
    /// Largest request body accepted (bytes on the wire); 413 above it.
    pub max_body: Option<usize>,
    pub faults: VecDeque<Fault>,
    /// Every sync request: (body bytes on the wire, pushes, acked_seq).
    pub seen: Vec<(usize, usize, u64)>,
    /// Answers to packs requests: (etag, packs).
    pub packs: Option<(String, Vec<PackFile>)>,
    pub packs_requests: Vec<Option<String>>,
}

impl Protocol {
    pub fn handle(&mut self, request: &Request) -> Reply {
        match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/api/v1/enroll") => self.enroll(),
            ("POST", "/api/v1/sync") => self.sync(request),
            ("GET", "/api/v1/packs") => self.packs(request),
            _ => Reply::text(404, "not found"),
        }
    }

    fn enroll(&mut self) -> Reply {
        let device = DeviceId::new();
        self.device = Some(device);
        Reply::json(
            200,
            &EnrollResponse {
                device_id: device,
                token: TOKEN.into(),
                commune_id: doorstep_core::ids::CommuneId::new(),
                commune_name: "Mường Lạn".into(),
                member_id: uuid::Uuid::now_v7(),
                server_time: SERVER_TIME.into(),
                cert: None,
                server_key: None,
            },
        )
    }

    fn packs(&mut self, request: &Request) -> Reply {
        let tag = request.header("if-none-match").map(str::to_owned);
        self.packs_requests.push(tag.clone());
        match &self.packs {
            Some((etag, _)) if tag.as_deref() == Some(etag.as_str()) => Reply::text(304, ""),
            Some((etag, packs)) => Reply::gzip_json(200, &PacksResponse { packs: packs.clone() }).header("ETag", etag),
            None => Reply::json(200, &PacksResponse { packs: vec![] }).header("ETag", "\"empty\""),
        }
    }

    fn sync(&mut self, request: &Request) -> Reply {
        if request.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
            return Reply::error(401, ErrorCode::Unauthorized, "unknown token");
        }
        let mut cut = None;
        match self.faults.pop_front() {
            Some(Fault::Reply(r)) => return r,
            Some(Fault::CutAnswer(n)) => cut = Some(n),
            Some(Fault::Restore(seq)) => {
                self.last_applied = seq;
                self.applied.truncate(usize::try_from(seq).unwrap());
                self.restamped.retain(|r| r.seq <= seq);
            }
            None => {}
        }
        if let Some(max) = self.max_body
            && request.body.len() > max
        {
            return Reply::error(413, ErrorCode::TooLarge, "request too large");
        }
        let req: SyncRequest = serde_json::from_slice(&request.plain_body()).expect("sync request");
        let pushes = req.pushes.decode().expect("pushes");
        self.seen.push((request.body.len(), pushes.len(), req.acked_seq));
        if let Some(first) = pushes.first()
            && first.seq > self.last_applied + 1
        {
            let mut r = Reply::error(409, ErrorCode::SeqGap, "seq gap");
            let mut body: ErrorBody = serde_json::from_slice(&r.body).unwrap();
            body.expected_seq = Some(self.last_applied + 1);
            r.body = serde_json::to_vec(&body).unwrap();
            return r;
        }
        for mut change in pushes {
            if change.seq <= self.last_applied {
                continue;
            }
            if let Some((_, hlc)) = self.restamp.iter().find(|(s, _)| *s == change.seq) {
                self.restamped.push(Restamp {
                    seq: change.seq,
                    was: change.hlc,
                    hlc: *hlc,
                });
                change.hlc = *hlc;
            }
            self.last_applied = change.seq;
            self.applied.push(change);
        }
        let range = |seq: u64| seq > req.acked_seq && seq <= self.last_applied;
        let rejected = self
            .reject
            .iter()
            .filter(|(s, _)| range(*s))
            .map(|(seq, reason)| Rejected {
                seq: *seq,
                reason: reason.clone(),
            })
            .collect();
        let restamped = self.restamped.iter().filter(|r| range(r.seq)).copied().collect();
        let from: usize = req.pull_cursor.as_deref().map_or(0, |c| c.parse().unwrap());
        let to = (from + req.pull_limit as usize).min(self.remote.len());
        let answer = SyncResponse {
            last_applied_seq: self.last_applied,
            rejected,
            restamped,
            changes: WireChanges::encode(&self.remote[from..to]),
            next_cursor: to.to_string(),
            has_more: to < self.remote.len(),
            server_time: SERVER_TIME.into(),
            epoch: None,
            backed_up_seq: None,
            carried: Vec::new(),
        };
        let reply = Reply::gzip_json(200, &answer);
        match cut {
            Some(n) => reply.cut(n),
            None => reply,
        }
    }
}

/// A protocol peer shared between the test and its server thread.
pub fn protocol_peer(protocol: Protocol) -> (Peer, Arc<Mutex<Protocol>>) {
    let shared = Arc::new(Mutex::new(protocol));
    let inner = shared.clone();
    let peer = Peer::start(move |r| inner.lock().unwrap().handle(r));
    (peer, shared)
}
