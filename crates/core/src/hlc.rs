//! Hybrid Logical Clock: 48 bits of wall-clock milliseconds and a 16-bit
//! counter, packed into one `u64` so stamps compare as plain integers.
//!
//! Tablets in the field often have a wrong clock (a drained battery resets it
//! to 1970 or 2000). An HLC never goes backwards whatever the wall clock does:
//! when the wall clock is behind the last stamp, the counter moves instead.
//! The last stamp is persisted with every write, so a restart with a broken
//! clock continues from where the device left off.
//!
//! Stamps from elsewhere are *observed* so that anything written afterwards
//! sorts after what was seen. A stamp too far ahead of the local wall clock is
//! refused or clamped ([`SkewPolicy`]) so that one device with a clock set to
//! 2099 cannot drag every replica's clock into the future.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest accepted millisecond value: 47 bits (about the year 6429), so
/// every stamp fits a signed 64-bit integer (SQLite's, PostgreSQL's) and
/// sorts there as it sorts here.
pub const MAX_MILLIS: u64 = (1 << 47) - 1;

/// One HLC stamp. Total order: milliseconds first, then the counter.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hlc(u64);

impl Hlc {
    /// The smallest stamp; sorts before anything a clock produces.
    pub const ZERO: Hlc = Hlc(0);

    /// The largest stamp accepted anywhere (see [`MAX_MILLIS`]).
    pub const MAX: Hlc = Hlc::new(MAX_MILLIS, u16::MAX);

    /// A stamp from its parts; milliseconds beyond 48 bits saturate.
    pub const fn new(millis: u64, counter: u16) -> Hlc {
        let millis = if millis > MAX_MILLIS { MAX_MILLIS } else { millis };
        Hlc((millis << 16) | counter as u64)
    }

    /// The packed form, as stored in SQLite.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// Unpacks a stored stamp.
    pub const fn from_u64(raw: u64) -> Hlc {
        Hlc(raw)
    }

    /// The wall-clock part, in milliseconds since the Unix epoch.
    pub const fn millis(self) -> u64 {
        self.0 >> 16
    }

    /// The logical counter part.
    pub const fn counter(self) -> u16 {
        (self.0 & 0xffff) as u16
    }

    /// The wall-clock part as a UTC time (for display; never for ordering).
    pub fn to_datetime(self) -> DateTime<Utc> {
        let ms = i64::try_from(self.millis()).unwrap_or(i64::MAX);
        Utc.timestamp_millis_opt(ms)
            .single()
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The next stamp after this one, saturating at the largest stamp.
    const fn successor(self) -> Hlc {
        if self.counter() < u16::MAX {
            Hlc(self.0 + 1)
        } else if self.millis() < MAX_MILLIS {
            Hlc::new(self.millis() + 1, 0)
        } else {
            self
        }
    }
}

/// Milliseconds since the Unix epoch of a wall-clock reading; times before
/// 1970 read as 0 (the clock then runs on its counter).
pub fn wall_millis(now: DateTime<Utc>) -> u64 {
    u64::try_from(now.timestamp_millis()).unwrap_or(0)
}

impl fmt::Debug for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hlc({}+{})", self.millis(), self.counter())
    }
}

/// On the wire and in JSON an HLC is 16 lower-case hex digits: it sorts as
/// text, and it survives JavaScript, whose numbers lose precision past 2^53.
impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// A text that is not an HLC stamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a clock stamp (expected 16 hex digits, before the year 6429)")]
pub struct BadHlc(pub String);

impl FromStr for Hlc {
    type Err = BadHlc;
    fn from_str(s: &str) -> Result<Hlc, BadHlc> {
        if s.len() != 16 {
            return Err(BadHlc(s.to_owned()));
        }
        match u64::from_str_radix(s, 16) {
            Ok(raw) if raw <= Hlc::MAX.0 => Ok(Hlc(raw)),
            _ => Err(BadHlc(s.to_owned())),
        }
    }
}

impl Serialize for Hlc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Hlc, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What to do with a remote stamp too far ahead of the local wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkewPolicy {
    /// Refuse the stamp; the caller rejects whatever carried it.
    Refuse,
    /// Accept it but move the local clock no further than the allowed drift.
    Clamp,
}

/// A remote stamp further ahead of the local wall clock than allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("clock stamp {remote} is {ahead_ms} ms ahead of this clock (at most {max_ahead_ms} ms allowed)")]
pub struct ClockSkew {
    /// The stamp that was refused.
    pub remote: Hlc,
    /// How far ahead of the local wall clock it was.
    pub ahead_ms: u64,
    /// The allowed drift.
    pub max_ahead_ms: u64,
}

/// What observing a remote stamp did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    /// The local clock's new last stamp.
    pub now: Hlc,
    /// Whether the remote stamp was beyond the allowed drift and clamped.
    pub clamped: bool,
}

/// A hybrid logical clock. Feed it wall-clock readings; it hands out stamps
/// that strictly increase, whatever the readings do.
#[derive(Debug, Clone)]
pub struct HlcClock {
    last: Hlc,
    max_ahead_ms: u64,
}

impl HlcClock {
    /// Default drift allowed for remote stamps: five minutes.
    pub const DEFAULT_MAX_AHEAD_MS: u64 = 5 * 60 * 1000;

    /// A clock that continues after `last` (the persisted last stamp).
    pub fn resume(last: Hlc) -> HlcClock {
        HlcClock {
            last,
            max_ahead_ms: Self::DEFAULT_MAX_AHEAD_MS,
        }
    }

    /// Sets how far ahead of the wall clock a remote stamp may be.
    #[must_use]
    pub fn with_max_ahead_ms(mut self, max_ahead_ms: u64) -> HlcClock {
        self.max_ahead_ms = max_ahead_ms;
        self
    }

    /// The last stamp handed out or observed (persist this).
    pub fn last(&self) -> Hlc {
        self.last
    }

    /// A stamp for a local event at wall-clock time `wall_ms`. Strictly
    /// greater than every stamp this clock has handed out or observed.
    pub fn tick(&mut self, wall_ms: u64) -> Hlc {
        let candidate = Hlc::new(wall_ms, 0);
        self.last = if candidate > self.last {
            candidate
        } else {
            self.last.successor()
        };
        self.last
    }

    /// Takes note of a stamp from another replica that this one trusts to
    /// have been checked already (a device receiving from its server): later
    /// local stamps sort after it.
    pub fn observe_trusted(&mut self, remote: Hlc) -> Hlc {
        if remote > self.last {
            self.last = remote;
        }
        self.last
    }

    /// Takes note of a stamp from an untrusted replica (a server receiving
    /// from a device), guarding against a remote clock far in the future.
    pub fn observe(&mut self, remote: Hlc, wall_ms: u64, policy: SkewPolicy) -> Result<Observed, ClockSkew> {
        let limit = wall_ms.saturating_add(self.max_ahead_ms).min(MAX_MILLIS);
        if remote.millis() <= limit {
            return Ok(Observed {
                now: self.observe_trusted(remote),
                clamped: false,
            });
        }
        match policy {
            SkewPolicy::Refuse => Err(ClockSkew {
                remote,
                ahead_ms: remote.millis() - wall_ms,
                max_ahead_ms: self.max_ahead_ms,
            }),
            SkewPolicy::Clamp => {
                let now = self.observe_trusted(Hlc::new(limit, 0));
                Ok(Observed { now, clamped: true })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOV_2026: u64 = 1_795_000_000_000;

    #[test]
    fn packs_millis_and_counter() {
        let h = Hlc::new(NOV_2026, 7);
        assert_eq!(h.millis(), NOV_2026);
        assert_eq!(h.counter(), 7);
        assert!(Hlc::new(NOV_2026, 8) > h);
        assert!(Hlc::new(NOV_2026 + 1, 0) > Hlc::new(NOV_2026, u16::MAX));
    }

    #[test]
    fn text_form_round_trips_and_sorts_like_the_number() {
        let a = Hlc::new(NOV_2026, 1);
        let b = Hlc::new(NOV_2026 + 1, 0);
        assert_eq!(a.to_string().parse::<Hlc>(), Ok(a));
        assert!(a.to_string() < b.to_string());
        assert!("xyz".parse::<Hlc>().is_err());
        assert!("00000000000000000".parse::<Hlc>().is_err());
        assert!("ffffffffffffffff".parse::<Hlc>().is_err(), "beyond the year 6429");
        assert_eq!(Hlc::MAX.to_string().parse::<Hlc>(), Ok(Hlc::MAX));
        assert!(i64::try_from(Hlc::MAX.as_u64()).is_ok(), "fits a signed 64-bit column");
        let json = serde_json::to_string(&a).expect("serialises");
        assert_eq!(serde_json::from_str::<Hlc>(&json).expect("parses"), a);
    }

    #[test]
    fn survives_a_clock_reset_to_1970() {
        let mut clock = HlcClock::resume(Hlc::ZERO);
        let before = clock.tick(NOV_2026);
        let after_reset = clock.tick(0);
        let later = clock.tick(5);
        assert!(after_reset > before && later > after_reset);
        assert_eq!(after_reset.millis(), NOV_2026, "keeps the last good time");
    }

    #[test]
    fn counter_overflow_moves_to_the_next_millisecond() {
        let mut clock = HlcClock::resume(Hlc::new(NOV_2026, u16::MAX - 1));
        let a = clock.tick(0);
        let b = clock.tick(0);
        assert_eq!(a, Hlc::new(NOV_2026, u16::MAX));
        assert_eq!(b, Hlc::new(NOV_2026 + 1, 0));
    }

    #[test]
    fn refuses_or_clamps_stamps_far_ahead() {
        let mut clock = HlcClock::resume(Hlc::ZERO).with_max_ahead_ms(60_000);
        let far = Hlc::new(NOV_2026 + 3_600_000, 0);
        let err = clock
            .observe(far, NOV_2026, SkewPolicy::Refuse)
            .expect_err("an hour ahead");
        assert_eq!(err.ahead_ms, 3_600_000);
        assert_eq!(clock.last(), Hlc::ZERO, "refusing leaves the clock alone");

        let seen = clock.observe(far, NOV_2026, SkewPolicy::Clamp).expect("clamp accepts");
        assert!(seen.clamped);
        assert_eq!(seen.now, Hlc::new(NOV_2026 + 60_000, 0));

        let near = Hlc::new(NOV_2026 + 1_000, 3);
        let mut clock = HlcClock::resume(Hlc::ZERO).with_max_ahead_ms(60_000);
        let seen = clock.observe(near, NOV_2026, SkewPolicy::Refuse).expect("within drift");
        assert_eq!(
            seen,
            Observed {
                now: near,
                clamped: false
            }
        );
        assert!(
            clock.tick(NOV_2026) > near,
            "later local events sort after what was seen"
        );
    }

    #[test]
    fn a_device_whose_clock_says_2000_still_orders_after_what_it_saw() {
        let year_2000 = 946_684_800_000;
        let mut device = HlcClock::resume(Hlc::ZERO);
        let from_server = Hlc::new(NOV_2026, 0);
        device.observe_trusted(from_server);
        assert!(device.tick(year_2000) > from_server);
    }

    #[derive(Debug, Clone)]
    enum Event {
        Local(u64),
        Remote(u64, u16),
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            // Wall clock readings anywhere from 1970 to far future, with
            // big jumps both ways, as a drained tablet produces.
            (0u64..MAX_MILLIS).prop_map(Event::Local),
            (NOV_2026 - 10..NOV_2026 + 10).prop_map(Event::Local),
            Just(Event::Local(0)),
            (0u64..MAX_MILLIS, any::<u16>()).prop_map(|(m, c)| Event::Remote(m, c)),
        ]
    }

    proptest! {
        #[test]
        fn stamps_strictly_increase_under_any_clock_jumps(events in prop::collection::vec(event(), 1..200)) {
            let mut clock = HlcClock::resume(Hlc::ZERO);
            let mut last_local: Option<Hlc> = None;
            let mut seen_max = Hlc::ZERO;
            for e in events {
                match e {
                    Event::Local(wall) => {
                        let stamp = clock.tick(wall);
                        if let Some(prev) = last_local {
                            prop_assert!(stamp > prev, "{stamp:?} after {prev:?}");
                        }
                        prop_assert!(stamp > seen_max || seen_max.as_u64() == u64::MAX);
                        last_local = Some(stamp);
                        seen_max = seen_max.max(stamp);
                    }
                    Event::Remote(m, c) => {
                        let remote = Hlc::new(m, c);
                        clock.observe_trusted(remote);
                        seen_max = seen_max.max(remote);
                    }
                }
            }
        }

        #[test]
        fn order_is_total_and_matches_the_parts(a in any::<u64>(), b in any::<u64>()) {
            let (x, y) = (Hlc::from_u64(a), Hlc::from_u64(b));
            let by_parts = (x.millis(), x.counter()).cmp(&(y.millis(), y.counter()));
            prop_assert_eq!(x.cmp(&y), by_parts);
            prop_assert_eq!(x.to_string().cmp(&y.to_string()), by_parts);
        }
    }
}
