//! One proxied connection: two pipelines (client -> server and back), each a
//! reader that stamps chunks with their arrival time and a writer that
//! releases them when the emulated link would have delivered them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until, timeout};

use crate::proxy::Shared;
use crate::toxics::{DirPlan, Direction, MAX_REPLAY_BYTES, Plan, Toxics};

/// Chunks in flight per direction, between reader and writer. With 512-byte
/// chunks that is 128 KiB, well above a 2G link's bandwidth-delay product.
const IN_FLIGHT_CHUNKS: usize = 256;

/// A replay's connection is dropped after this long without an answer byte
/// (HTTP/1.1 servers keep idle connections open).
const REPLAY_IDLE: Duration = Duration::from_secs(10);

/// Lateness of a write that is not treated as the receiver pushing back:
/// timer slack below this does not make the pacing slower than the limit.
const TIMER_SLACK: Duration = Duration::from_millis(10);

/// What a reader hands to its writer.
#[derive(Debug)]
enum Event {
    Data {
        bytes: Vec<u8>,
        arrival: Instant,
        stall: Duration,
    },
    /// The source closed its side cleanly.
    Eof,
    /// The cut offset is reached: everything before it has been queued.
    Cut,
    /// Reading failed (e.g. the source reset the connection).
    Abort,
}

/// How one direction ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// All bytes and the end of stream went through.
    Finished,
    /// The planned cut was reached.
    Cut,
    /// An I/O error on either side.
    Failed,
}

/// Everything a connection needs from the proxy.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) upstream: SocketAddr,
    pub(crate) shared: Arc<Shared>,
    pub(crate) plan: Plan,
}

/// The client -> server bytes kept for a replay.
#[derive(Debug)]
struct Recording {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl Recording {
    fn push(&mut self, data: &[u8]) {
        if self.overflowed || self.bytes.len() + data.len() > MAX_REPLAY_BYTES {
            self.overflowed = true;
            self.bytes = Vec::new();
        } else {
            self.bytes.extend_from_slice(data);
        }
    }
}

impl Link {
    /// Runs one accepted connection to its end. Errors end the connection.
    pub(crate) async fn run(self, mut client: TcpStream) {
        let Ok(mut server) = TcpStream::connect(self.upstream).await else {
            return;
        };
        // Small chunks must not wait for Nagle; the emulation does the delaying.
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);

        let mut recording = self.plan.replay.then(|| Recording {
            bytes: Vec::new(),
            overflowed: false,
        });
        let (cut, up_finished) = {
            let (mut client_read, mut client_write) = client.split();
            let (mut server_read, mut server_write) = server.split();
            let up = self.pipe(Direction::Up, &mut client_read, &mut server_write, recording.as_mut());
            let down = self.pipe(Direction::Down, &mut server_read, &mut client_write, None);
            both(up, down).await
        };

        if cut {
            // Count before closing, so a test that saw the cut sees the count.
            self.shared.counters.connections_cut.fetch_add(1, Ordering::Relaxed);
            // SO_LINGER 0: close sends a reset, not a clean end of stream.
            let _ = client.set_zero_linger();
            let _ = server.set_zero_linger();
            return;
        }
        drop((client, server));
        if let Some(recording) = recording
            && up_finished
            && !recording.overflowed
            && !recording.bytes.is_empty()
        {
            tokio::spawn(replay(self.upstream, recording.bytes, Arc::clone(&self.shared)));
        }
    }

    /// One direction: a reader and a writer joined by a bounded channel, so
    /// the delay of one chunk does not hold up reading the next.
    async fn pipe(
        &self,
        dir: Direction,
        src: &mut ReadHalf<'_>,
        dst: &mut WriteHalf<'_>,
        recording: Option<&mut Recording>,
    ) -> Outcome {
        let (tx, rx) = mpsc::channel(IN_FLIGHT_CHUNKS);
        let toxics = self.shared.toxics.subscribe();
        let reader = async {
            let up_read =
                (dir == Direction::Up).then_some((&self.shared.counters.up_read, &self.shared.counters.up_cuts_fired));
            read_side(
                src,
                tx,
                dir,
                self.plan.direction(dir),
                self.plan.stall,
                &toxics,
                recording,
                up_read,
            )
            .await;
            // The writer decides when this direction is over.
            std::future::pending::<()>().await;
        };
        let writer = self.write_side(dst, rx, dir, self.shared.toxics.subscribe());
        tokio::select! {
            outcome = writer => outcome,
            () = reader => Outcome::Failed,
        }
    }

    async fn write_side(
        &self,
        dst: &mut WriteHalf<'_>,
        mut rx: mpsc::Receiver<Event>,
        dir: Direction,
        toxics: watch::Receiver<Toxics>,
    ) -> Outcome {
        let counter = match dir {
            Direction::Up => &self.shared.counters.up_bytes,
            Direction::Down => &self.shared.counters.down_bytes,
        };
        // When the previous chunk was delivered: the link is busy until then.
        let mut last_release = Instant::now();
        while let Some(event) = rx.recv().await {
            match event {
                Event::Data { bytes, arrival, stall } => {
                    let (rate, latency) = {
                        let t = toxics.borrow();
                        (t.bytes_per_sec(dir), t.latency)
                    };
                    // Delivery = max(arrival + latency, previous delivery)
                    //            + serialisation time of this chunk + any stall.
                    let send_time = rate.map_or(Duration::ZERO, |r| {
                        #[allow(clippy::cast_precision_loss)]
                        let secs = bytes.len() as f64 / r.max(1) as f64;
                        Duration::from_secs_f64(secs)
                    });
                    let release = (arrival + latency).max(last_release) + send_time + stall;
                    sleep_until(release).await;
                    counter.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    if dst.write_all(&bytes).await.is_err() {
                        return Outcome::Failed;
                    }
                    // A late write (the receiver pushing back) must not earn a
                    // burst afterwards; timer slack must not slow the pacing.
                    let now = Instant::now();
                    last_release = release.max(now.checked_sub(TIMER_SLACK).unwrap_or(now));
                }
                Event::Eof => {
                    // Pass the half-close on; the peer may already be gone.
                    let _ = dst.shutdown().await;
                    return Outcome::Finished;
                }
                Event::Cut => return Outcome::Cut,
                Event::Abort => return Outcome::Failed,
            }
        }
        Outcome::Failed
    }
}

/// Reads `src` into chunks for the writer, splitting at the planned stall
/// and stopping at the planned cut, or at a cut of `Toxics::cut_up_at`
/// when `up_read` counts the client -> server bytes of every connection.
#[allow(clippy::too_many_arguments)]
async fn read_side(
    src: &mut ReadHalf<'_>,
    tx: mpsc::Sender<Event>,
    dir: Direction,
    plan: DirPlan,
    stall: Duration,
    toxics: &watch::Receiver<Toxics>,
    mut recording: Option<&mut Recording>,
    up_read: Option<(&AtomicU64, &AtomicU64)>,
) {
    let mut pos: u64 = 0;
    let mut stall_at = plan.stall_at;
    if plan.cut_at == Some(0) {
        let _ = tx.send(Event::Cut).await;
        return;
    }
    let mut buf = vec![0u8; crate::toxics::FAST_CHUNK_BYTES];
    loop {
        let n = match src.read(&mut buf).await {
            Ok(0) => {
                let _ = tx.send(Event::Eof).await;
                return;
            }
            Ok(n) => n,
            Err(_) => {
                let _ = tx.send(Event::Abort).await;
                return;
            }
        };
        let mut data = &buf[..n];
        let mut cut_now = false;
        if let Some(cut_at) = plan.cut_at {
            let room = usize::try_from(cut_at - pos).unwrap_or(usize::MAX);
            if data.len() >= room {
                data = &data[..room];
                cut_now = true;
            }
        }
        if let Some((counter, fired)) = up_read {
            // Claim these bytes' numbers; the next chosen cut among them
            // ends the connection there, and the bytes not forwarded are
            // given back (they are sent again on the next connection).
            let start = counter.fetch_add(data.len() as u64, Ordering::Relaxed);
            let end = start + data.len() as u64;
            let next = usize::try_from(fired.load(Ordering::Relaxed)).unwrap_or(usize::MAX);
            let cut = toxics.borrow().cut_up_at.get(next).copied().filter(|&c| c < end);
            if let Some(at) = cut {
                fired.fetch_add(1, Ordering::Relaxed);
                let room = usize::try_from(at.saturating_sub(start))
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                counter.fetch_sub((data.len() - room) as u64, Ordering::Relaxed);
                data = &data[..room];
                cut_now = true;
            }
        }
        if let Some(recording) = recording.as_deref_mut() {
            recording.push(data);
        }
        let arrival = Instant::now();
        let chunk = toxics.borrow().chunk_bytes(dir);
        let mut start = 0;
        while start < data.len() {
            let mut end = (start + chunk).min(data.len());
            let mut stall_here = Duration::ZERO;
            if let Some(at) = stall_at {
                // `at >= pos` holds: a stall is cleared once reached.
                let at = usize::try_from(at - pos).unwrap_or(usize::MAX);
                if at == start {
                    stall_here = stall;
                    stall_at = None;
                } else if at < end {
                    end = at;
                }
            }
            let bytes = data[start..end].to_vec();
            if tx
                .send(Event::Data {
                    bytes,
                    arrival,
                    stall: stall_here,
                })
                .await
                .is_err()
            {
                return;
            }
            start = end;
        }
        pos += data.len() as u64;
        if cut_now {
            let _ = tx.send(Event::Cut).await;
            return;
        }
    }
}

/// Drives both directions. Returns (cut, client -> server finished).
async fn both(up: impl Future<Output = Outcome>, down: impl Future<Output = Outcome>) -> (bool, bool) {
    tokio::pin!(up, down);
    let mut up_done = false;
    let mut down_done = false;
    while !(up_done && down_done) {
        tokio::select! {
            outcome = &mut up, if !up_done => match outcome {
                Outcome::Finished => up_done = true,
                Outcome::Cut => return (true, false),
                Outcome::Failed => return (false, false),
            },
            outcome = &mut down, if !down_done => match outcome {
                Outcome::Finished => down_done = true,
                Outcome::Cut => return (true, up_done),
                Outcome::Failed => return (false, up_done),
            },
        }
    }
    (false, true)
}

/// Sends a connection's client -> server bytes again on a fresh connection,
/// straight to the server, and reads and drops what comes back.
async fn replay(upstream: SocketAddr, bytes: Vec<u8>, shared: Arc<Shared>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = server.set_nodelay(true);
    shared.counters.requests_replayed.fetch_add(1, Ordering::Relaxed);
    if server.write_all(&bytes).await.is_err() {
        return;
    }
    // No half-close: some servers drop a request whose client shut its side.
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(Ok(n)) = timeout(REPLAY_IDLE, server.read(&mut buf)).await {
        if n == 0 {
            break;
        }
    }
}
