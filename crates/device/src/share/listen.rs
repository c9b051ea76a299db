//! The endpoint a tablet (or a village hub) listens on while sharing: one
//! `POST` path, bodies sealed under the pairing secret. Runs on its own
//! thread until [`Listener::stop`] (or drop).

use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use doorstep_core::protocol::share::PATH;

use super::seal::{self, Direction};
use super::{Pairing, ShareError};
use crate::carry::CarryReport;
use crate::store::Store;

/// Largest sealed offer taken (a village's tablets' days, gzipped).
const MAX_BODY: u64 = 32 * 1024 * 1024;

/// Whether a secret works once (a tablet's screen) or until the listener
/// stops (a village hub's standing code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// Spent by the first exchange that succeeds; a new one is made.
    Once,
    /// Good until the listener stops.
    Standing,
}

/// What the listener reports of one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The other tablet.
    pub from: doorstep_core::ids::DeviceId,
    /// What was kept of its offer.
    pub report: CarryReport,
}

/// A running endpoint.
pub struct Listener {
    pairing: Arc<Mutex<Pairing>>,
    server: Arc<tiny_http::Server>,
    stop: Arc<AtomicBool>,
    exchanges: Arc<AtomicU64>,
    last: Arc<Mutex<Option<Received>>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("addr", &self.addr())
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// Listens on `bind` (port 0: any free one) and answers exchanges with
    /// `store`, which the listener locks for each one. `shown` is the
    /// address put in the pairing code (the tablet's LAN address with the
    /// bound port); `None` shows the bound address.
    pub fn start(
        bind: SocketAddr,
        shown: Option<std::net::IpAddr>,
        reuse: Reuse,
        store: Arc<Mutex<Store>>,
    ) -> Result<Listener, ShareError> {
        let server = tiny_http::Server::http(bind).map_err(|e| ShareError::Unreachable {
            addr: bind.to_string(),
            detail: format!("cannot listen: {e}"),
        })?;
        let bound = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| ShareError::Refused("the listener has no IP address".to_owned()))?;
        let addr = SocketAddr::new(shown.unwrap_or(bound.ip()), bound.port());
        let pairing = Arc::new(Mutex::new(Pairing::new(addr)?));
        let server = Arc::new(server);
        let stop = Arc::new(AtomicBool::new(false));
        let exchanges = Arc::new(AtomicU64::new(0));
        let last = Arc::new(Mutex::new(None));
        let thread = {
            let (server, stop, pairing, exchanges, last) = (
                server.clone(),
                stop.clone(),
                pairing.clone(),
                exchanges.clone(),
                last.clone(),
            );
            std::thread::Builder::new()
                .name("doorstep-share".to_owned())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let Ok(Some(request)) = server.recv_timeout(Duration::from_millis(200)) else {
                            continue;
                        };
                        serve(request, &pairing, reuse, &store, &exchanges, &last);
                    }
                })
                .map_err(|e| ShareError::Refused(format!("cannot start the sharing thread: {e}")))?
        };
        tracing::info!(%addr, "sharing: listening");
        Ok(Listener {
            pairing,
            server,
            stop,
            exchanges,
            last,
            thread: Some(thread),
        })
    }

    /// The code to show now.
    pub fn pairing(&self) -> Pairing {
        lock(&self.pairing).clone()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        lock(&self.pairing).addr
    }

    /// Exchanges answered so far.
    pub fn exchanges(&self) -> u64 {
        self.exchanges.load(Ordering::Relaxed)
    }

    /// The last exchange answered.
    pub fn last(&self) -> Option<Received> {
        lock(&self.last).clone()
    }

    /// Stops listening and waits for the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn serve(
    mut request: tiny_http::Request,
    pairing: &Mutex<Pairing>,
    reuse: Reuse,
    store: &Mutex<Store>,
    exchanges: &AtomicU64,
    last: &Mutex<Option<Received>>,
) {
    let plain = |status: u16, message: &str| tiny_http::Response::from_string(message).with_status_code(status);
    if request.url() != PATH || *request.method() != tiny_http::Method::Post {
        let _ = request.respond(plain(404, "not a Doorstep sharing endpoint"));
        return;
    }
    let mut sealed = Vec::new();
    if request.as_reader().take(MAX_BODY + 1).read_to_end(&mut sealed).is_err() || sealed.len() as u64 > MAX_BODY {
        let _ = request.respond(plain(400, "the offer could not be read whole"));
        return;
    }
    let secret = lock(pairing).secret;
    let Some(offer) = seal::open(&secret, Direction::Request, &sealed).and_then(|g| super::exchange::unpack(&g)) else {
        tracing::warn!("sharing: an offer that does not open under the shown code (wrong or spent code)");
        let _ = request.respond(plain(
            401,
            "this sharing code is wrong or already used: scan the code shown now",
        ));
        return;
    };
    let answered = {
        let mut store = lock(store);
        super::answer(&mut store, &offer).map(|(mine, report)| {
            let own_last = super::offer::own_last_seq(&store, &mine);
            (mine, report, own_last)
        })
    };
    let (mine, report, own_last) = match answered {
        Ok(a) => a,
        Err(ShareError::Refused(why)) => {
            let _ = request.respond(plain(409, &why));
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "sharing: the store failed");
            let _ = request.respond(plain(500, "this tablet could not keep the offer; try again"));
            return;
        }
    };
    let Some(body) = super::exchange::pack(&mine).and_then(|g| seal::seal(&secret, Direction::Answer, &g)) else {
        let _ = request.respond(plain(500, "this tablet could not seal its answer"));
        return;
    };
    if request.respond(tiny_http::Response::from_data(body)).is_ok() {
        if let Some(seq) = own_last
            && let Err(e) = lock(store).mark_shared(seq)
        {
            tracing::warn!(error = %e, "sharing: could not record what was handed on");
        }
        exchanges.fetch_add(1, Ordering::Relaxed);
        *lock(last) = Some(Received {
            from: offer.device,
            report,
        });
        if reuse == Reuse::Once {
            let mut p = lock(pairing);
            if let Ok(next) = Pairing::new(p.addr) {
                *p = next;
            }
        }
    }
}
