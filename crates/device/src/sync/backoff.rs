//! How long to wait before retrying a failed round: exponential backoff with
//! full jitter.
//!
//! Full jitter (a uniform wait between zero and the exponential ceiling)
//! keeps a commune's tablets, which all regain signal when the bus reaches
//! the village, from retrying in lockstep against one small server.

use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// Waits for consecutive failures of one round.
#[derive(Debug)]
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
    rng: ChaCha8Rng,
}

impl Backoff {
    /// Waits growing from `base`, doubling per failure, capped at `max`;
    /// `seed` makes the jitter differ between tablets.
    pub(crate) fn new(base: Duration, max: Duration, seed: u64) -> Backoff {
        Backoff {
            base,
            max: max.max(base),
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The ceiling after `failures` consecutive failures (1 for the first):
    /// `base * 2^(failures - 1)`, at most `max`.
    pub(crate) fn ceiling(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.base.saturating_mul(1 << doublings).min(self.max)
    }

    /// The wait after `failures` consecutive failures: uniform in
    /// `[0, ceiling]`, but no shorter than what the server asked for
    /// (`Retry-After`), and never longer than `max`.
    pub(crate) fn delay(&mut self, failures: u32, server_asked: Option<Duration>) -> Duration {
        let ceiling = self.ceiling(failures);
        let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
        let draw = self.rng.next_u64();
        let jittered = Duration::from_micros(micros.checked_add(1).map_or(draw, |span| draw % span));
        jittered.max(server_asked.unwrap_or_default()).min(self.max)
    }
}

/// A seed that differs between tablets and between runs.
pub(crate) fn seed(device: &doorstep_core::ids::DeviceId) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let bytes = device.as_uuid().as_u128();
    #[allow(clippy::cast_possible_truncation)] // mixing bits, truncation intended
    let mixed = (nanos ^ bytes ^ (bytes >> 64)) as u64;
    mixed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_stay_within_the_growing_ceiling() {
        let base = Duration::from_millis(500);
        let max = Duration::from_secs(30);
        let mut backoff = Backoff::new(base, max, 7);
        let ceilings: Vec<u64> = (1..=9)
            .map(|n| u64::try_from(backoff.ceiling(n).as_millis()).unwrap_or(u64::MAX))
            .collect();
        assert_eq!(ceilings, vec![500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
        for failures in 1..=40 {
            for _ in 0..200 {
                let d = backoff.delay(failures, None);
                assert!(d <= backoff.ceiling(failures), "{d:?} after {failures}");
            }
        }
    }

    #[test]
    fn waits_are_spread_out_not_in_lockstep() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30), 42);
        let waits: Vec<Duration> = (0..100).map(|_| backoff.delay(5, None)).collect();
        let shortest = waits.iter().min().copied().unwrap_or_default();
        let longest = waits.iter().max().copied().unwrap_or_default();
        assert!(shortest < Duration::from_secs(4), "{shortest:?}");
        assert!(longest > Duration::from_secs(12), "{longest:?}");
    }

    #[test]
    fn a_retry_after_is_respected_up_to_the_cap() {
        let mut backoff = Backoff::new(Duration::from_millis(1), Duration::from_secs(30), 1);
        assert!(backoff.delay(1, Some(Duration::from_secs(5))) >= Duration::from_secs(5));
        assert_eq!(
            backoff.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn huge_failure_counts_do_not_overflow() {
        let mut backoff = Backoff::new(Duration::from_secs(u64::MAX / 4), Duration::MAX, 3);
        let _ = backoff.delay(u32::MAX, None);
        assert_eq!(backoff.ceiling(u32::MAX), Duration::MAX);
    }
}
