//! A real `doorstep-server` in the bench's process on a loopback port,
//! and tablets' pushes to it over HTTP with gzip, as the sync client sends
//! them.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use doorstep_core::change::Change;
use doorstep_core::ids::DeviceId;
use doorstep_core::protocol::{PROTOCOL_VERSION, SCHEMA_VERSION, SyncRequest, SyncResponse, WireChanges};
use doorstep_server::api::Limits;
use doorstep_store::any::AnyStore;

/// The server, stopped when dropped.
pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    pub(crate) fn start(store: AnyStore) -> Running {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let stop = async move {
                    let _ = rx.await;
                };
                let packs = doorstep_server::api::PackBundle::from_files(doorstep_ingest::pack_catalog::bundled());
                doorstep_server::serve::serve_until(
                    store,
                    listener,
                    Limits::default(),
                    packs,
                    doorstep_server::serve::Watch::default(),
                    stop,
                )
                .await
                .unwrap();
            });
        });
        Running {
            addr: addr_rx.recv().unwrap(),
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Pushes `changes` (seqs after `acked`) in requests of 2,000 changes;
/// each request's latency.
pub(crate) fn push_all(
    http: &reqwest::blocking::Client,
    url: &str,
    token: &str,
    device: DeviceId,
    acked: u64,
    changes: &[Change],
) -> Vec<Duration> {
    let mut latencies = Vec::new();
    let mut acked = acked;
    for chunk in changes.chunks(2_000) {
        let request = SyncRequest {
            protocol: PROTOCOL_VERSION,
            schema_version: SCHEMA_VERSION,
            device_id: device,
            acked_seq: acked,
            pushes: WireChanges::encode(chunk),
            pull_cursor: None,
            pull_limit: 0,
            signature: None,
            carried: Vec::new(),
        };
        let json = serde_json::to_vec(&request).unwrap();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, &json).unwrap();
        let body = enc.finish().unwrap();
        let t = Instant::now();
        let resp = http
            .post(format!("{url}/api/v1/sync"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(body)
            .send()
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        let answer: SyncResponse = resp.json().unwrap();
        latencies.push(t.elapsed());
        acked = answer.last_applied_seq;
    }
    latencies
}

/// The `p` quantile of sorted samples.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}
