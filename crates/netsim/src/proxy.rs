//! The proxy: a loopback listener on its own single-threaded tokio runtime,
//! in a background thread, so synchronous test code can use it directly.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

use crate::link::Link;
use crate::toxics::{Plan, Toxics};

/// Counters since the proxy started or [`Proxy::reset_stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes forwarded client -> server (handed to the server's socket).
    pub up_bytes: u64,
    /// Bytes forwarded server -> client.
    pub down_bytes: u64,
    /// Client connections accepted.
    pub connections_accepted: u64,
    /// Connections reset by a planned cut.
    pub connections_cut: u64,
    /// Connections whose client -> server bytes were sent to the server again.
    pub requests_replayed: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) up_bytes: AtomicU64,
    pub(crate) down_bytes: AtomicU64,
    pub(crate) connections_accepted: AtomicU64,
    pub(crate) connections_cut: AtomicU64,
    pub(crate) requests_replayed: AtomicU64,
    /// Client -> server bytes read since the proxy started (for
    /// `Toxics::cut_up_at`; never reset).
    pub(crate) up_read: AtomicU64,
    /// How many of `Toxics::cut_up_at` have cut (never reset).
    pub(crate) up_cuts_fired: AtomicU64,
}

impl Counters {
    fn all(&self) -> [&AtomicU64; 5] {
        [
            &self.up_bytes,
            &self.down_bytes,
            &self.connections_accepted,
            &self.connections_cut,
            &self.requests_replayed,
        ]
    }
}

/// State shared between the [`Proxy`] handle and its connections.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The current toxics; connections read them chunk by chunk.
    pub(crate) toxics: watch::Sender<Toxics>,
    pub(crate) counters: Counters,
}

/// A running proxy. Dropping it (or [`Proxy::shutdown`]) closes the listener
/// and every connection, including replays, and joins its thread.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on `127.0.0.1:0` and forwards every connection to `upstream`
    /// through `toxics`. `seed` makes cuts, stalls and replays repeatable:
    /// connection number *n* (in accept order) always draws the same plan.
    ///
    /// Needs no runtime from the caller; it may be called from a
    /// `spawn_blocking` thread of another runtime.
    ///
    /// # Errors
    /// When the listener cannot be bound, the runtime cannot be built or the
    /// thread cannot be started.
    pub fn start(upstream: SocketAddr, toxics: Toxics, seed: u64) -> io::Result<Proxy> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let shared = Arc::new(Shared {
            toxics: watch::Sender::new(toxics),
            counters: Counters::default(),
        });
        let (stop, stopped) = oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);

        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("netsim-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    // Registering with the reactor needs the runtime's context.
                    let listener = match TcpListener::from_std(listener) {
                        Ok(listener) => {
                            let _ = ready_tx.send(Ok(()));
                            listener
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    accept_loop(listener, upstream, seed, thread_shared, stopped).await;
                });
                // Dropping the runtime here drops every connection task.
                drop(runtime);
            })?;
        let started = ready_rx
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("netsim thread ended before listening")));
        if let Err(e) = started {
            let _ = thread.join();
            return Err(e);
        }
        Ok(Proxy {
            addr,
            upstream,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address clients connect to instead of `upstream`.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address connections are forwarded to.
    #[must_use]
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// The toxics in force.
    #[must_use]
    pub fn toxics(&self) -> Toxics {
        self.shared.toxics.borrow().clone()
    }

    /// Changes the toxics. New connections draw their plan from them; open
    /// connections pick up bandwidth and latency at their next chunk (their
    /// cuts, stalls and replays were drawn when they were accepted).
    pub fn set_toxics(&self, toxics: Toxics) {
        self.shared.toxics.send_replace(toxics);
    }

    /// The counters now.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        Stats {
            up_bytes: c.up_bytes.load(Ordering::Relaxed),
            down_bytes: c.down_bytes.load(Ordering::Relaxed),
            connections_accepted: c.connections_accepted.load(Ordering::Relaxed),
            connections_cut: c.connections_cut.load(Ordering::Relaxed),
            requests_replayed: c.requests_replayed.load(Ordering::Relaxed),
        }
    }

    /// Sets every counter back to zero. Connection numbering (and so the
    /// plan each new connection draws) goes on.
    pub fn reset_stats(&self) {
        for counter in self.shared.counters.all() {
            counter.store(0, Ordering::Relaxed);
        }
    }

    /// Stops the listener and every connection and waits for the thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic in the proxy thread has already been reported.
            let _ = thread.join();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    seed: u64,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut conn: u64 = 0;
    loop {
        tokio::select! {
            // A sent stop or a dropped handle: either way, stop.
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    shared.counters.connections_accepted.fetch_add(1, Ordering::Relaxed);
                    let plan = Plan::draw(&shared.toxics.borrow(), seed, conn);
                    conn += 1;
                    let link = Link { upstream, shared: Arc::clone(&shared), plan };
                    tokio::spawn(link.run(client));
                }
                // Out of file descriptors and the like: back off, go on.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
}
