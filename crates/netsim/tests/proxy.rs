//! The proxy over real loopback sockets, against tiny std::net servers.
//!
//! Timing assertions are lower bounds only (what the emulated physics
//! guarantees); a loaded machine can only make things slower.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use doorstep_netsim::{Proxy, Stats, Toxics};

const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts a server on loopback that runs `serve` on each connection in its
/// own thread. The threads end with the test process.
fn server(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("a bound listener has an address");
    let serve = Arc::new(serve);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let serve = Arc::clone(&serve);
            thread::spawn(move || serve(stream));
        }
    });
    addr
}

/// Echoes everything back, then closes.
fn echo_server() -> SocketAddr {
    server(|mut stream| {
        let Ok(mut reader) = stream.try_clone() else { return };
        let _ = io::copy(&mut reader, &mut stream);
        let _ = stream.shutdown(Shutdown::Write);
    })
}

/// Sends `n` bytes of a known pattern, then closes.
fn source_server(n: usize) -> SocketAddr {
    server(move |mut stream| {
        let _ = stream.write_all(&pattern(n));
    })
}

/// Reads everything and answers with the number of bytes received.
fn sink_server() -> SocketAddr {
    server(|mut stream| {
        let mut got = Vec::new();
        let _ = stream.read_to_end(&mut got);
        let _ = stream.write_all(got.len().to_string().as_bytes());
    })
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| u8::try_from(i % 251).unwrap_or(0)).collect()
}

fn connect(proxy: &Proxy) -> TcpStream {
    let stream = TcpStream::connect(proxy.addr()).expect("connect to the proxy");
    stream.set_read_timeout(Some(IO_TIMEOUT)).expect("set a read timeout");
    stream.set_write_timeout(Some(IO_TIMEOUT)).expect("set a write timeout");
    stream
}

/// Reads until the end of stream or an error (a reset); returns what came.
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Waits until `check` holds for the proxy's stats (counters are bumped on
/// the proxy's thread, a moment after the bytes are on their way).
fn stats_eventually(proxy: &Proxy, check: impl Fn(&Stats) -> bool) -> Stats {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = proxy.stats();
        if check(&stats) || Instant::now() > deadline {
            return stats;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

fn echo_round_trip(stream: &mut TcpStream, message: &[u8]) -> Duration {
    let started = Instant::now();
    stream.write_all(message).expect("write through the proxy");
    let mut back = vec![0u8; message.len()];
    stream.read_exact(&mut back).expect("read the echo");
    assert_eq!(back, message);
    started.elapsed()
}

#[test]
fn passes_bytes_through_intact_both_ways_and_counts_them() {
    let proxy = Proxy::start(echo_server(), Toxics::default(), 1).expect("start the proxy");
    let data = pattern(300_000);
    let mut stream = connect(&proxy);
    let mut writer = stream.try_clone().expect("clone the client socket");
    let sent = data.clone();
    let writing = thread::spawn(move || {
        writer.write_all(&sent).expect("write through the proxy");
        writer.shutdown(Shutdown::Write).expect("half-close");
    });
    let back = read_until_closed(&mut stream);
    writing.join().expect("the writer thread");
    assert_eq!(back.len(), data.len());
    assert!(back == data, "the echo differs from what was sent");

    let stats = stats_eventually(&proxy, |s| s.up_bytes == 300_000 && s.down_bytes == 300_000);
    assert_eq!(
        stats,
        Stats {
            up_bytes: 300_000,
            down_bytes: 300_000,
            connections_accepted: 1,
            ..Stats::default()
        }
    );
    proxy.reset_stats();
    assert_eq!(proxy.stats(), Stats::default());
}

#[test]
fn limits_upload_bandwidth() {
    let proxy = Proxy::start(
        sink_server(),
        Toxics {
            up_bytes_per_sec: Some(8_000),
            ..Toxics::default()
        },
        1,
    )
    .expect("start the proxy");
    let mut stream = connect(&proxy);
    let started = Instant::now();
    stream.write_all(&pattern(40_000)).expect("write through the proxy");
    stream.shutdown(Shutdown::Write).expect("half-close");
    let answer = read_until_closed(&mut stream);
    let elapsed = started.elapsed();
    assert_eq!(answer, b"40000");
    // 40 000 bytes at 8 000 B/s take 5 s; allow 20% for the first chunk's
    // head start and clock granularity.
    assert!(elapsed >= Duration::from_secs(4), "took only {elapsed:?}");
}

#[test]
fn limits_download_bandwidth() {
    let proxy = Proxy::start(
        source_server(40_000),
        Toxics {
            down_bytes_per_sec: Some(8_000),
            ..Toxics::default()
        },
        1,
    )
    .expect("start the proxy");
    let started = Instant::now();
    let got = read_until_closed(&mut connect(&proxy));
    let elapsed = started.elapsed();
    assert_eq!(got, pattern(40_000));
    assert!(elapsed >= Duration::from_secs(4), "took only {elapsed:?}");
}

#[test]
fn a_round_trip_takes_at_least_twice_the_latency() {
    let latency = Duration::from_millis(150);
    let proxy = Proxy::start(
        echo_server(),
        Toxics {
            latency,
            ..Toxics::default()
        },
        1,
    )
    .expect("start the proxy");
    let mut stream = connect(&proxy);
    for _ in 0..2 {
        let rtt = echo_round_trip(&mut stream, b"ping");
        assert!(rtt >= 2 * latency, "round trip took only {rtt:?}");
    }
}

#[test]
fn set_toxics_reaches_an_open_connection() {
    let proxy = Proxy::start(echo_server(), Toxics::default(), 1).expect("start the proxy");
    let mut stream = connect(&proxy);
    echo_round_trip(&mut stream, b"before");
    let latency = Duration::from_millis(150);
    proxy.set_toxics(Toxics {
        latency,
        ..Toxics::default()
    });
    assert_eq!(proxy.toxics().latency, latency);
    let rtt = echo_round_trip(&mut stream, b"after");
    assert!(rtt >= 2 * latency, "round trip took only {rtt:?}");
}

#[test]
fn a_stall_holds_the_connection_up() {
    let extra_delay = Duration::from_millis(300);
    let toxics = Toxics {
        extra_delay_probability: 1.0,
        extra_delay,
        ..Toxics::default()
    };
    let proxy = Proxy::start(echo_server(), toxics, 1).expect("start the proxy");
    // The window is 0: the first byte of one direction waits.
    let rtt = echo_round_trip(&mut connect(&proxy), b"ping");
    assert!(rtt >= extra_delay, "round trip took only {rtt:?}");
}

/// Downloads 1 MB through a proxy that cuts on average every 10 000 bytes.
fn cut_download(seed: u64) -> (usize, Stats) {
    let total = 1_000_000;
    let toxics = Toxics {
        cut_every_bytes: Some(10_000),
        ..Toxics::default()
    };
    let proxy = Proxy::start(source_server(total), toxics, seed).expect("start the proxy");
    let got = read_until_closed(&mut connect(&proxy));
    assert!(
        got.len() < total,
        "a 1 MB download with a cut every ~10 KB went through whole"
    );
    assert_eq!(got, pattern(got.len()), "the bytes before the cut are intact");
    (got.len(), stats_eventually(&proxy, |s| s.connections_cut == 1))
}

#[test]
fn cuts_a_long_transfer_after_exactly_the_drawn_offset() {
    let (first, stats) = cut_download(5);
    assert_eq!(stats.connections_cut, 1);
    // The proxy forwards exactly up to the offset and the client sees all of it.
    assert_eq!(stats.down_bytes, first as u64);
    // Same seed, same connection number: the same offset.
    let (again, _) = cut_download(5);
    assert_eq!(again, first);
}

#[test]
fn cut_probability_cuts_either_direction() {
    let toxics = Toxics {
        cut_probability: 1.0,
        cut_window_bytes: 20_000,
        ..Toxics::default()
    };
    let proxy = Proxy::start(echo_server(), toxics, 11).expect("start the proxy");
    for _ in 0..6 {
        let mut stream = connect(&proxy);
        let mut writer = stream.try_clone().expect("clone the client socket");
        // Writing may fail once the proxy resets the connection.
        let writing = thread::spawn(move || {
            let _ = writer.write_all(&pattern(100_000));
            let _ = writer.shutdown(Shutdown::Write);
        });
        let back = read_until_closed(&mut stream);
        let _ = writing.join();
        assert!(back.len() < 20_000, "echoed {} bytes past the window", back.len());
    }
    let stats = stats_eventually(&proxy, |s| s.connections_cut == 6);
    assert_eq!((stats.connections_accepted, stats.connections_cut), (6, 6));
}

#[test]
fn replays_a_request_to_the_server() {
    // Each connection: read one line, record it, answer, close.
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = Arc::clone(&seen);
    let upstream = server(move |mut stream| {
        let Ok(clone) = stream.try_clone() else { return };
        let mut line = String::new();
        if BufReader::new(clone).read_line(&mut line).is_ok() && !line.is_empty() {
            log.lock().expect("the log lock").push(line);
            let _ = stream.write_all(b"ok\n");
        }
    });
    let proxy = Proxy::start(
        upstream,
        Toxics {
            replay_probability: 1.0,
            ..Toxics::default()
        },
        1,
    )
    .expect("start the proxy");
    {
        let mut stream = connect(&proxy);
        stream.write_all(b"PUSH 42\n").expect("write through the proxy");
        assert_eq!(read_until_closed(&mut stream), b"ok\n");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.lock().expect("the log lock").len() < 2 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(*seen.lock().expect("the log lock"), ["PUSH 42\n", "PUSH 42\n"]);
    let stats = stats_eventually(&proxy, |s| s.requests_replayed == 1);
    assert_eq!((stats.connections_accepted, stats.requests_replayed), (1, 1));
}

#[test]
fn shutdown_closes_the_listener_and_open_connections() {
    let proxy = Proxy::start(echo_server(), Toxics::default(), 1).expect("start the proxy");
    let addr = proxy.addr();
    let mut stream = connect(&proxy);
    echo_round_trip(&mut stream, b"hello");
    proxy.shutdown();
    // The open connection ends (end of stream or reset), it does not hang.
    assert!(read_until_closed(&mut stream).is_empty());
    assert!(TcpStream::connect(addr).is_err(), "the listener is still open");
}

#[test]
fn works_from_a_blocking_thread_of_another_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("build a runtime");
    let upstream = echo_server();
    let rtt = runtime
        .block_on(async move {
            tokio::task::spawn_blocking(move || {
                let proxy = Proxy::start(upstream, Toxics::default(), 1).expect("start the proxy");
                echo_round_trip(&mut connect(&proxy), b"inside")
            })
            .await
        })
        .expect("the blocking task");
    assert!(rtt > Duration::ZERO);
    // Started (and dropped) inside an async task too.
    runtime.block_on(async move {
        let proxy = Proxy::start(upstream, Toxics::default(), 1).expect("start the proxy");
        drop(proxy);
    });
}
