//! Failed attempts per address, for whatever can be guessed: enrolment
//! codes and dashboard passwords.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Attempts per address within a window.
#[derive(Debug, Default)]
pub struct Attempts {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl Attempts {
    /// Whether the address has used up `max` attempts in `window`.
    pub fn blocked(&self, ip: IpAddr, max: u32, window: Duration) -> bool {
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, (_, since)| since.elapsed() < window);
        map.get(&ip).is_some_and(|(n, _)| *n >= max)
    }

    /// Counts an attempt before the secret is checked, so parallel guesses
    /// cannot slip past the limit.
    pub fn attempt(&self, ip: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(ip).or_insert((0, Instant::now())).0 += 1;
    }

    /// Takes back the attempt of a secret that was right.
    pub fn succeeded(&self, ip: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = map.get_mut(&ip) {
            entry.0 = entry.0.saturating_sub(1);
        }
    }
}
