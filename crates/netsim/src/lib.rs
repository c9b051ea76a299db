//! A user-space network emulator for end-to-end tests and benchmarks of sync:
//! a TCP proxy on loopback that makes a fast local link look like the
//! volunteers' one (this machine's kernel has no netem).
//!
//! Point the device client at [`Proxy::addr`] instead of the server and pick
//! [`Toxics`]:
//!
//! - bandwidth per direction, paced in 512-byte chunks (a 2G link is
//!   8 000 bytes/s each way, see [`Toxics::two_g`]);
//! - one-way latency per chunk, pipelined so it does not cut throughput;
//! - cuts: a connection is reset (`SO_LINGER` 0) after exactly a drawn number
//!   of bytes in one direction, both sides at once;
//! - stalls: a connection stops for a while at a random point;
//! - replays: after a connection's client -> server bytes have gone through,
//!   they are sent to the server again on a new connection (a duplicated
//!   request), and the answer is dropped.
//!
//! Everything random is drawn from a ChaCha8 stream of the seed and the
//! connection's number, so a failing run can be repeated (as far as the
//! order in which connections arrive allows).
//!
//! What it does **not** emulate: anything below TCP. There is no packet
//! loss, reordering, duplication or corruption at the IP level, no
//! retransmission timeouts, no congestion control and no MTU; the kernel's
//! TCP on loopback stays lossless and a "cut" is a TCP-level reset (or close)
//! seen by both ends, not a silent black hole. A replay duplicates the whole
//! recorded client stream of one connection, not one HTTP request.
//!
//! The proxy runs on its own single-threaded tokio runtime in a background
//! thread, so plain synchronous test code uses it without a runtime; dropping
//! the [`Proxy`] stops it.

mod link;
mod proxy;
mod toxics;

pub use proxy::{Proxy, Stats};
pub use toxics::{CHUNK_BYTES, MAX_REPLAY_BYTES, Toxics};
