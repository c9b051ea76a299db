//! Partial sync uploads kept between a cut and its resume
//! (`doorstep_core::protocol::upload`).
//!
//! A 2G link cuts a push mid-body. Instead of losing the bytes that got
//! through, the server keeps them here, keyed by the **authenticated
//! device** and the upload's key (SHA-256 of the whole gzipped body), so a
//! device resumes only its own uploads. Whole bodies stay too, until they
//! expire, so a device whose answer was lost gets it again without sending
//! the body again.
//!
//! Memory is bounded: each upload reserves its declared length when it
//! starts, and the total and the count of uploads held are capped; the
//! oldest uploads make room for new ones. Entries expire after `ttl`
//! without a byte. Nothing here is durable: a restarted server holds
//! nothing and devices send again from offset 0, which costs bytes, never
//! changes (exactly-once is `ingest`'s, by device and seq).
//!
//! A std `Mutex` guards the map: every critical section is a map lookup and
//! a copy of one network frame, never an `.await`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use doorstep_core::ids::DeviceId;
use sha2::{Digest, Sha256};

/// An upload's name: SHA-256 of its whole gzipped body.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct UploadKey([u8; 32]);

impl UploadKey {
    /// Parses 64 hex digits.
    ///
    /// # Errors
    /// A sentence naming what is wrong with the text.
    pub fn parse(text: &str) -> Result<UploadKey, String> {
        let text = text.trim();
        if text.len() != 64 {
            return Err(format!(
                "an upload key is 64 hex digits (SHA-256 of the body), not {} characters",
                text.len()
            ));
        }
        let mut key = [0u8; 32];
        for (i, pair) in text.as_bytes().chunks(2).enumerate() {
            let digit = |b: u8| char::from(b).to_digit(16);
            match (digit(pair[0]), digit(pair[1])) {
                (Some(hi), Some(lo)) => key[i] = u8::try_from(hi * 16 + lo).unwrap_or(0),
                _ => return Err("an upload key is 64 hex digits (SHA-256 of the body)".to_owned()),
            }
        }
        Ok(UploadKey(key))
    }

    /// The key of `body`.
    #[must_use]
    pub fn of(body: &[u8]) -> UploadKey {
        UploadKey(Sha256::digest(body).into())
    }
}

impl fmt::Display for UploadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for UploadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UploadKey({self})")
    }
}

/// How much the server keeps, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// An upload no byte reached for this long is dropped. Default 5 minutes.
    pub ttl: Duration,
    /// Declared bytes of all uploads held at once. Default 64 MiB.
    pub max_bytes: usize,
    /// Uploads held at once. Default 1024.
    pub max_uploads: usize,
}

impl Default for UploadLimits {
    fn default() -> UploadLimits {
        UploadLimits {
            ttl: Duration::from_secs(300),
            max_bytes: 64 * 1024 * 1024,
            max_uploads: 1024,
        }
    }
}

/// Why a piece or a probe was refused. Each says what the device does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadRefusal {
    /// A piece after offset 0 of an upload the server does not hold.
    NotHeld {
        /// The offset the piece claimed.
        asked: u64,
    },
    /// The upload was held but no byte reached it for longer than the ttl.
    Expired {
        /// The ttl.
        ttl: Duration,
    },
    /// A piece that does not start where the held bytes end.
    WrongOffset {
        /// Where the piece starts.
        asked: u64,
        /// The bytes held.
        held: u64,
    },
    /// The declared length is not the one the upload started with.
    LengthChanged {
        /// The length now declared.
        asked: u64,
        /// The length the upload started with.
        held: u64,
    },
    /// The declared length is over what the server takes in one request.
    TooLarge {
        /// The declared length.
        length: u64,
        /// The limit.
        limit: u64,
    },
    /// More bytes came than the upload declared.
    Overrun {
        /// The declared length.
        length: u64,
    },
    /// The whole body's SHA-256 is not its key; the upload was dropped.
    HashMismatch,
    /// Another request for the same upload (a newer connection or a probe)
    /// took over, or the upload was dropped to make room.
    Superseded,
}

impl UploadRefusal {
    /// Where the device should go on, when the answer names one.
    #[must_use]
    pub fn resume_at(&self) -> Option<u64> {
        match self {
            UploadRefusal::NotHeld { .. } | UploadRefusal::Expired { .. } => Some(0),
            UploadRefusal::WrongOffset { held, .. } => Some(*held),
            _ => None,
        }
    }
}

impl fmt::Display for UploadRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UploadRefusal::NotHeld { asked } => write!(
                f,
                "the server holds no bytes of this upload for this tablet (never started, or dropped), \
                 so it cannot go on at offset {asked}: send it again from offset 0"
            ),
            UploadRefusal::Expired { ttl } => write!(
                f,
                "the bytes of this upload expired (kept {} s after the last byte): send it again from offset 0",
                ttl.as_secs()
            ),
            UploadRefusal::WrongOffset { asked, held } => write!(
                f,
                "this piece starts at byte {asked}, but the server holds {held} bytes of the upload: send from offset {held}"
            ),
            UploadRefusal::LengthChanged { asked, held } => write!(
                f,
                "this upload was started with {held} bytes, this piece declares {asked}: the same key must name the same body"
            ),
            UploadRefusal::TooLarge { length, limit } => write!(
                f,
                "the upload declares {length} bytes, more than the {limit} the server takes in one request; send smaller batches"
            ),
            UploadRefusal::Overrun { length } => {
                write!(f, "the piece carries more bytes than the {length} the upload declared")
            }
            UploadRefusal::HashMismatch => f.write_str(
                "the joined upload's SHA-256 is not its key (bytes were damaged or mixed): it was dropped, send it again from offset 0",
            ),
            UploadRefusal::Superseded => f.write_str(
                "a newer request for this upload took over (or the server dropped it to make room); ask where to go on",
            ),
        }
    }
}

/// A request's right to add bytes to one upload, until another request
/// for it takes over.
#[derive(Debug)]
pub struct Ticket {
    id: (DeviceId, UploadKey),
    number: u64,
}

/// What a piece's end leaves.
#[derive(Debug, PartialEq, Eq)]
pub enum Finished {
    /// The body is whole and its SHA-256 is its key.
    Whole(Vec<u8>),
    /// The piece ended before the body: this many bytes are held.
    Short(u64),
}

#[derive(Debug)]
struct Entry {
    length: usize,
    bytes: Vec<u8>,
    touched: Instant,
    /// The ticket allowed to add bytes.
    owner: u64,
}

#[derive(Debug, Default)]
struct Held {
    entries: HashMap<(DeviceId, UploadKey), Entry>,
    /// Sum of the entries' declared lengths.
    reserved: usize,
    tickets: u64,
}

impl Held {
    fn remove(&mut self, id: &(DeviceId, UploadKey)) {
        if let Some(e) = self.entries.remove(id) {
            self.reserved = self.reserved.saturating_sub(e.length);
        }
    }

    fn ticket(&mut self) -> u64 {
        self.tickets += 1;
        self.tickets
    }

    /// Drops expired entries, then the least recently touched ones, until
    /// `length` more bytes and one more entry fit.
    fn make_room(&mut self, length: usize, limits: &UploadLimits, now: Instant) {
        let expired: Vec<_> = self
            .entries
            .iter()
            .filter(|(_, e)| now.duration_since(e.touched) > limits.ttl)
            .map(|(id, _)| *id)
            .collect();
        for id in &expired {
            self.remove(id);
        }
        while !self.entries.is_empty()
            && (self.reserved + length > limits.max_bytes || self.entries.len() >= limits.max_uploads)
        {
            let oldest = self.entries.iter().min_by_key(|(_, e)| e.touched).map(|(id, _)| *id);
            match oldest {
                Some(id) => self.remove(&id),
                None => break,
            }
        }
    }
}

/// The uploads the server holds.
#[derive(Debug, Default)]
pub struct Uploads {
    limits: UploadLimits,
    held: Mutex<Held>,
}

impl Uploads {
    /// An empty set with these limits.
    #[must_use]
    pub fn new(limits: UploadLimits) -> Uploads {
        Uploads {
            limits,
            held: Mutex::new(Held::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Held> {
        // A panic while holding the lock leaves a consistent map (every
        // section is a lookup and a copy); go on with it.
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The bytes held of `device`'s upload `key` and its declared length,
    /// (0, None) when none. Takes the upload over from any request still
    /// adding bytes, so what it says stays true until the device resumes.
    pub fn probe(&self, device: DeviceId, key: UploadKey, now: Instant) -> (u64, Option<u64>) {
        let mut held = self.lock();
        let id = (device, key);
        let expired = held
            .entries
            .get(&id)
            .is_some_and(|e| now.duration_since(e.touched) > self.limits.ttl);
        if expired {
            held.remove(&id);
        }
        let number = held.ticket();
        match held.entries.get_mut(&id) {
            Some(e) => {
                e.owner = number;
                e.touched = now;
                (len_u64(e.bytes.len()), Some(len_u64(e.length)))
            }
            None => (0, None),
        }
    }

    /// Starts a piece of `length` bytes in all at `offset`. Offset 0 always
    /// starts the upload again; any other offset must be where the held
    /// bytes end. A whole upload asked for at its end gives a ticket whose
    /// [`Uploads::finish`] returns the body again.
    ///
    /// # Errors
    /// A refusal naming the offset to go on from, when there is one.
    pub fn begin(
        &self,
        device: DeviceId,
        key: UploadKey,
        length: u64,
        offset: u64,
        now: Instant,
    ) -> Result<Ticket, UploadRefusal> {
        let limit = self.limits.max_bytes;
        let Ok(size) = usize::try_from(length) else {
            return Err(UploadRefusal::TooLarge {
                length,
                limit: len_u64(limit),
            });
        };
        if size > limit {
            return Err(UploadRefusal::TooLarge {
                length,
                limit: len_u64(limit),
            });
        }
        let mut held = self.lock();
        let id = (device, key);
        if let Some(e) = held.entries.get(&id) {
            if now.duration_since(e.touched) > self.limits.ttl {
                held.remove(&id);
                if offset > 0 {
                    return Err(UploadRefusal::Expired { ttl: self.limits.ttl });
                }
            } else if e.length != size {
                return Err(UploadRefusal::LengthChanged {
                    asked: length,
                    held: len_u64(e.length),
                });
            } else if offset > 0 && offset != len_u64(e.bytes.len()) {
                return Err(UploadRefusal::WrongOffset {
                    asked: offset,
                    held: len_u64(e.bytes.len()),
                });
            }
        }
        let number = held.ticket();
        if let Some(e) = held.entries.get_mut(&id) {
            if offset == 0 {
                e.bytes.clear();
            }
            e.owner = number;
            e.touched = now;
            return Ok(Ticket { id, number });
        }
        if offset > 0 {
            return Err(UploadRefusal::NotHeld { asked: offset });
        }
        held.make_room(size, &self.limits, now);
        held.reserved += size;
        held.entries.insert(
            id,
            Entry {
                length: size,
                bytes: Vec::with_capacity(size),
                touched: now,
                owner: number,
            },
        );
        Ok(Ticket { id, number })
    }

    /// Adds the next bytes of a piece.
    ///
    /// # Errors
    /// [`UploadRefusal::Superseded`] when another request took over (or
    /// the upload was dropped), [`UploadRefusal::Overrun`] past its length.
    pub fn append(&self, ticket: &Ticket, data: &[u8], now: Instant) -> Result<(), UploadRefusal> {
        let mut held = self.lock();
        let entry = match held.entries.get_mut(&ticket.id) {
            Some(e) if e.owner == ticket.number => e,
            _ => return Err(UploadRefusal::Superseded),
        };
        if entry.bytes.len() + data.len() > entry.length {
            let length = len_u64(entry.length);
            held.remove(&ticket.id);
            return Err(UploadRefusal::Overrun { length });
        }
        entry.bytes.extend_from_slice(data);
        entry.touched = now;
        Ok(())
    }

    /// Ends a piece: the whole body when it is complete and its SHA-256 is
    /// its key (kept for a repeat), or how many bytes are held.
    ///
    /// # Errors
    /// [`UploadRefusal::HashMismatch`] (the upload is dropped), or
    /// [`UploadRefusal::Superseded`].
    pub fn finish(&self, ticket: &Ticket) -> Result<Finished, UploadRefusal> {
        let mut held = self.lock();
        let entry = match held.entries.get(&ticket.id) {
            Some(e) if e.owner == ticket.number => e,
            _ => return Err(UploadRefusal::Superseded),
        };
        if entry.bytes.len() < entry.length {
            return Ok(Finished::Short(len_u64(entry.bytes.len())));
        }
        if UploadKey::of(&entry.bytes) != ticket.id.1 {
            held.remove(&ticket.id);
            return Err(UploadRefusal::HashMismatch);
        }
        Ok(Finished::Whole(entry.bytes.clone()))
    }

    /// Uploads held now (for tests and logs).
    #[must_use]
    pub fn count(&self) -> usize {
        self.lock().entries.len()
    }
}

fn len_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> DeviceId {
        DeviceId::new()
    }

    fn uploads() -> Uploads {
        Uploads::new(UploadLimits {
            ttl: Duration::from_secs(60),
            max_bytes: 1000,
            max_uploads: 3,
        })
    }

    #[test]
    fn a_cut_piece_is_resumed_and_the_whole_body_comes_back() {
        let u = uploads();
        let (d, body) = (device(), b"hello, resumable world".to_vec());
        let key = UploadKey::of(&body);
        let now = Instant::now();
        let t = u.begin(d, key, 22, 0, now).expect("begin");
        u.append(&t, &body[..10], now).expect("append");
        // The connection is cut here: nothing more comes for this ticket.
        assert_eq!(u.probe(d, key, now), (10, Some(22)));
        assert_eq!(
            u.append(&t, b"late", now),
            Err(UploadRefusal::Superseded),
            "a probe takes over"
        );
        let t = u.begin(d, key, 22, 10, now).expect("resume");
        u.append(&t, &body[10..], now).expect("rest");
        assert_eq!(u.finish(&t), Ok(Finished::Whole(body.clone())));
        // The answer was lost: an empty last piece gives the body again.
        let t = u.begin(d, key, 22, 22, now).expect("again");
        assert_eq!(u.finish(&t), Ok(Finished::Whole(body)));
    }

    #[test]
    fn another_devices_upload_is_not_theirs_to_resume() {
        let u = uploads();
        let (owner, other) = (device(), device());
        let body = b"0123456789".to_vec();
        let key = UploadKey::of(&body);
        let now = Instant::now();
        let t = u.begin(owner, key, 10, 0, now).expect("begin");
        u.append(&t, &body[..4], now).expect("append");
        assert_eq!(u.probe(other, key, now), (0, None), "the other device sees nothing");
        let refused = u.begin(other, key, 10, 4, now).expect_err("not theirs");
        assert_eq!(refused, UploadRefusal::NotHeld { asked: 4 });
        assert!(refused.to_string().contains("for this tablet"), "{refused}");
        assert_eq!(
            u.probe(owner, key, now),
            (4, Some(10)),
            "the owner's bytes are untouched"
        );
    }

    #[test]
    fn a_wrong_offset_names_the_held_one() {
        let u = uploads();
        let (d, body) = (device(), b"0123456789".to_vec());
        let key = UploadKey::of(&body);
        let now = Instant::now();
        let t = u.begin(d, key, 10, 0, now).expect("begin");
        u.append(&t, &body[..6], now).expect("append");
        let refused = u.begin(d, key, 10, 3, now).expect_err("wrong offset");
        assert_eq!(refused, UploadRefusal::WrongOffset { asked: 3, held: 6 });
        assert_eq!(refused.resume_at(), Some(6));
        assert!(refused.to_string().contains("send from offset 6"), "{refused}");
        let refused = u.begin(d, key, 12, 6, now).expect_err("other length");
        assert!(matches!(refused, UploadRefusal::LengthChanged { asked: 12, held: 10 }));
    }

    #[test]
    fn a_body_whose_hash_is_not_its_key_is_dropped() {
        let u = uploads();
        let d = device();
        let key = UploadKey::of(b"the real body");
        let now = Instant::now();
        let t = u.begin(d, key, 13, 0, now).expect("begin");
        u.append(&t, b"a forged body", now).expect("append");
        let refused = u.finish(&t).expect_err("hash");
        assert_eq!(refused, UploadRefusal::HashMismatch);
        assert!(refused.to_string().contains("SHA-256"), "{refused}");
        assert_eq!(u.probe(d, key, now), (0, None), "dropped");
        let t = u.begin(d, key, 5, 0, now).expect("begin");
        assert!(matches!(
            u.append(&t, b"123456", now),
            Err(UploadRefusal::Overrun { length: 5 })
        ));
    }

    #[test]
    fn an_expired_upload_is_refused_and_starts_again_at_zero() {
        let u = uploads();
        let (d, body) = (device(), b"0123456789".to_vec());
        let key = UploadKey::of(&body);
        let then = Instant::now();
        let t = u.begin(d, key, 10, 0, then).expect("begin");
        u.append(&t, &body[..5], then).expect("append");
        let later = then + Duration::from_secs(61);
        let refused = u.begin(d, key, 10, 5, later).expect_err("expired");
        assert_eq!(
            refused,
            UploadRefusal::Expired {
                ttl: Duration::from_secs(60)
            }
        );
        assert_eq!(refused.resume_at(), Some(0));
        assert!(refused.to_string().contains("expired"), "{refused}");
        assert!(u.begin(d, key, 10, 0, later).is_ok(), "offset 0 starts again");
    }

    #[test]
    fn oversized_uploads_are_refused_and_memory_stays_bounded() {
        let u = uploads();
        let now = Instant::now();
        let refused = u
            .begin(device(), UploadKey::of(b"x"), 1001, 0, now)
            .expect_err("too large");
        assert!(matches!(
            refused,
            UploadRefusal::TooLarge {
                length: 1001,
                limit: 1000
            }
        ));
        for i in 0..10u8 {
            let key = UploadKey::of(&[i]);
            u.begin(device(), key, 400, 0, now + Duration::from_millis(u64::from(i)))
                .expect("begin");
            assert!(u.count() <= 3);
            assert!(u.lock().reserved <= 1000, "{}", u.lock().reserved);
        }
    }

    #[test]
    fn keys_are_64_hex_digits() {
        let key = UploadKey::of(b"abc");
        assert_eq!(UploadKey::parse(&key.to_string()), Ok(key));
        assert!(UploadKey::parse("abc").is_err());
        assert!(UploadKey::parse(&"g".repeat(64)).is_err());
    }
}
