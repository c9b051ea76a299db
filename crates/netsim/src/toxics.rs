//! What the link does to the bytes (`Toxics`), and the per-connection draw of
//! where a connection will be cut, stalled or replayed (`Plan`).

use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// How the emulated link misbehaves. `Toxics::default()` is a transparent
/// pass-through.
///
/// "Up" is client -> server (the device pushing), "down" is server -> client.
/// Bandwidth and latency are read again for every chunk, so
/// [`Proxy::set_toxics`](crate::Proxy::set_toxics) changes them on open
/// connections too; cuts, stalls and replays are drawn once, when a
/// connection is accepted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Toxics {
    /// Client -> server bandwidth, paced in chunks of [`CHUNK_BYTES`]. `None`:
    /// unlimited. `Some(0)` is taken as 1 byte/s.
    pub up_bytes_per_sec: Option<u64>,
    /// Server -> client bandwidth, as `up_bytes_per_sec`.
    pub down_bytes_per_sec: Option<u64>,
    /// One-way delay added to every chunk in each direction (a 400 ms round
    /// trip is 200 ms here). Pipelined: it does not lower the throughput.
    pub latency: Duration,
    /// Mean number of bytes between cuts. Each connection draws, per
    /// direction, an exponentially distributed offset with this mean; when
    /// that many bytes have been forwarded in that direction, both sides are
    /// reset.
    pub cut_every_bytes: Option<u64>,
    /// Probability (0..=1) that a connection is cut once, at a uniformly
    /// random offset below `cut_window_bytes` of a randomly chosen direction.
    pub cut_probability: f64,
    /// The window for `cut_probability` and for `extra_delay_probability`.
    pub cut_window_bytes: u64,
    /// Probability (0..=1) that, once a connection's client -> server bytes
    /// have all gone through (the client closed its side), the same bytes are
    /// sent again to the server on a new connection, whose answer is read and
    /// dropped. Streams over [`MAX_REPLAY_BYTES`] are not replayed.
    pub replay_probability: f64,
    /// Probability (0..=1) that a connection stalls once, for `extra_delay`,
    /// at a uniformly random offset below `cut_window_bytes` of a randomly
    /// chosen direction (0 for the window: at the first byte).
    pub extra_delay_probability: f64,
    /// How long a stall lasts.
    pub extra_delay: Duration,
    /// Cuts at chosen client -> server bytes: the connection that carries
    /// byte number *n* of all client -> server bytes since the proxy started
    /// (counted over every connection, in the order they were read) is
    /// reset after forwarding the bytes before it (bytes read but not
    /// forwarded are not counted). In ascending order; each cuts once.
    /// Benchmarks use it to cut inside one upload, whatever its connections.
    pub cut_up_at: Vec<u64>,
}

/// Chunk size used when a direction is rate-limited, so pacing is smooth.
pub const CHUNK_BYTES: usize = 512;

/// Chunk size when a direction is not rate-limited.
pub(crate) const FAST_CHUNK_BYTES: usize = 16 * 1024;

/// The most client -> server bytes recorded per connection for a replay.
pub const MAX_REPLAY_BYTES: usize = 4 * 1024 * 1024;

impl Toxics {
    /// A 2G link: 8 000 bytes/s each way and a 400 ms round trip.
    #[must_use]
    pub fn two_g() -> Self {
        Toxics {
            up_bytes_per_sec: Some(8_000),
            down_bytes_per_sec: Some(8_000),
            latency: Duration::from_millis(200),
            ..Toxics::default()
        }
    }

    pub(crate) fn bytes_per_sec(&self, dir: Direction) -> Option<u64> {
        match dir {
            Direction::Up => self.up_bytes_per_sec,
            Direction::Down => self.down_bytes_per_sec,
        }
    }

    pub(crate) fn chunk_bytes(&self, dir: Direction) -> usize {
        if self.bytes_per_sec(dir).is_some() {
            CHUNK_BYTES
        } else {
            FAST_CHUNK_BYTES
        }
    }
}

/// One direction of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Client -> server.
    Up,
    /// Server -> client.
    Down,
}

/// What will happen to one direction of one connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DirPlan {
    /// Forward this many bytes, then reset the connection.
    pub(crate) cut_at: Option<u64>,
    /// Stall for the plan's `extra_delay` before forwarding the byte at this
    /// offset.
    pub(crate) stall_at: Option<u64>,
}

/// What will happen to one connection, drawn when it is accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) up: DirPlan,
    pub(crate) down: DirPlan,
    pub(crate) stall: Duration,
    pub(crate) replay: bool,
}

impl Plan {
    /// Draws the plan of connection number `conn` (0, 1, 2, ...).
    ///
    /// Every draw is made whatever the toxics, in a fixed order, so turning
    /// one toxic on does not move the others' offsets for the same seed.
    pub(crate) fn draw(toxics: &Toxics, seed: u64, conn: u64) -> Plan {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(conn);
        let mut dice = Dice(rng);

        let mut plan = Plan {
            stall: toxics.extra_delay,
            ..Plan::default()
        };

        let every_up = dice.exponential(toxics.cut_every_bytes);
        let every_down = dice.exponential(toxics.cut_every_bytes);
        plan.up.cut_at = every_up;
        plan.down.cut_at = every_down;

        let cut_once = dice.chance(toxics.cut_probability);
        let cut_up = dice.coin();
        let cut_offset = dice.below(toxics.cut_window_bytes);
        if cut_once {
            let dir = if cut_up { &mut plan.up } else { &mut plan.down };
            dir.cut_at = Some(dir.cut_at.map_or(cut_offset, |at| at.min(cut_offset)));
        }

        plan.replay = dice.chance(toxics.replay_probability);

        let stall = dice.chance(toxics.extra_delay_probability);
        let stall_up = dice.coin();
        let stall_offset = dice.below(toxics.cut_window_bytes);
        if stall && !toxics.extra_delay.is_zero() {
            let dir = if stall_up { &mut plan.up } else { &mut plan.down };
            dir.stall_at = Some(stall_offset);
        }
        plan
    }

    pub(crate) fn direction(&self, dir: Direction) -> DirPlan {
        match dir {
            Direction::Up => self.up,
            Direction::Down => self.down,
        }
    }
}

/// A seeded source of choices. ChaCha8 keeps the stream the same on every
/// platform and version, which is what "deterministic" needs.
struct Dice(ChaCha8Rng);

impl Dice {
    /// A fraction in [0, 1) from 53 random bits.
    fn unit(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let x = (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        x
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn coin(&mut self) -> bool {
        self.0.next_u64() & 1 == 1
    }

    /// Uniform in `0..n`; 0 when `n` is 0.
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.0.next_u64() % n }
    }

    /// An exponentially distributed offset with the given mean, at least 1.
    fn exponential(&mut self, mean: Option<u64>) -> Option<u64> {
        let u = self.unit();
        let mean = mean?;
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let offset = (-(mean as f64) * (1.0 - u).ln()).round() as u64; // saturating cast
        Some(offset.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_transparent() {
        for conn in 0..100 {
            let plan = Plan::draw(&Toxics::default(), 7, conn);
            assert_eq!(plan.up, DirPlan::default());
            assert_eq!(plan.down, DirPlan::default());
            assert!(!plan.replay);
        }
    }

    #[test]
    fn same_seed_same_plan_and_connections_differ() {
        let toxics = Toxics {
            cut_every_bytes: Some(10_000),
            ..Toxics::default()
        };
        let a: Vec<Plan> = (0..20).map(|c| Plan::draw(&toxics, 42, c)).collect();
        let b: Vec<Plan> = (0..20).map(|c| Plan::draw(&toxics, 42, c)).collect();
        assert_eq!(a, b);
        assert_ne!(a[0].up.cut_at, a[1].up.cut_at);
    }

    #[test]
    fn cut_offsets_have_about_the_mean() {
        let toxics = Toxics {
            cut_every_bytes: Some(10_000),
            ..Toxics::default()
        };
        let n = 2_000u64;
        let sum: u64 = (0..n).filter_map(|c| Plan::draw(&toxics, 1, c).up.cut_at).sum();
        let mean = sum / n;
        assert!((8_000..12_000).contains(&mean), "mean {mean}");
    }

    #[test]
    fn cut_probability_cuts_inside_the_window() {
        let toxics = Toxics {
            cut_probability: 1.0,
            cut_window_bytes: 5_000,
            ..Toxics::default()
        };
        for conn in 0..200 {
            let plan = Plan::draw(&toxics, 3, conn);
            let cuts = [plan.up.cut_at, plan.down.cut_at];
            assert_eq!(cuts.iter().flatten().count(), 1);
            assert!(cuts.iter().flatten().all(|&at| at < 5_000));
        }
    }

    #[test]
    fn turning_replay_on_keeps_the_cut_offsets() {
        let cuts = Toxics {
            cut_every_bytes: Some(1_000),
            cut_probability: 0.5,
            cut_window_bytes: 800,
            ..Toxics::default()
        };
        let both = Toxics {
            replay_probability: 0.5,
            ..cuts.clone()
        };
        for conn in 0..50 {
            let a = Plan::draw(&cuts, 9, conn);
            let b = Plan::draw(&both, 9, conn);
            assert_eq!((a.up, a.down), (b.up, b.down));
        }
    }
}
