//! The app lock's PINs: the volunteer's, and optionally a team lead's that
//! can reset it.
//!
//! PINs are 4 to 6 digits, kept only as argon2id hashes in the encrypted
//! database (`device_lock`, never synced). Five wrong PINs in a row make
//! the next try wait 30 seconds, and each further wrong one doubles the
//! wait; the count and the time survive a restart. Waits are measured on
//! the store's wall clock, which tests replace.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use doorstep_core::schema::format_timestamp;
use zeroize::Zeroizing;

use crate::error::{Result, StoreError};
use crate::store::Store;

/// Wrong PINs allowed before the first wait.
pub const FREE_TRIES: u32 = 5;
/// The first wait, in seconds; it doubles with each further wrong PIN.
pub const FIRST_WAIT_SECONDS: i64 = 30;
/// The longest wait (about 8.5 hours).
const MAX_WAIT_SECONDS: i64 = FIRST_WAIT_SECONDS << 10;

/// A PIN: 4 to 6 ASCII digits. Hidden in `Debug`, zeroed when dropped.
#[derive(Clone)]
pub struct Pin(Zeroizing<String>);

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(hidden)")
    }
}

impl Pin {
    /// Checks the form; the message never repeats the digits.
    pub fn parse(raw: &str) -> Result<Pin> {
        let raw = raw.trim();
        if !(4..=6).contains(&raw.len()) || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(StoreError::Rule("a PIN is 4 to 6 digits".to_owned()));
        }
        Ok(Pin(Zeroizing::new(raw.to_owned())))
    }
}

/// Whose PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinRole {
    /// The volunteer the tablet is enrolled for.
    Volunteer,
    /// A team lead who may reset the volunteer's PIN.
    Lead,
}

/// The lock's state as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinStatus {
    /// The volunteer's PIN is set.
    pub pin_set: bool,
    /// A lead's PIN is set.
    pub lead_pin_set: bool,
    /// Wrong PINs in a row.
    pub failures: u32,
    /// Seconds before the next try is allowed (0: now).
    pub wait_seconds: u32,
}

/// What a PIN check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinCheck {
    /// Right: the count of wrong PINs is back to zero.
    Right,
    /// Wrong; `tries_left` before a wait, or the wait it now costs.
    Wrong {
        /// Tries before the first wait (0 once waiting).
        tries_left: u32,
        /// Seconds to wait now (0 while tries are left).
        wait_seconds: u32,
    },
    /// Not checked: wait this many seconds first.
    Wait {
        /// Seconds left.
        seconds: u32,
    },
    /// No PIN of that role is set.
    NotSet,
}

fn hash(pin: &Pin) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| StoreError::Stored(format!("random salt: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| StoreError::Stored(format!("salt: {e}")))?;
    argon2::Argon2::default()
        .hash_password(pin.0.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Stored(format!("hashing the PIN: {e}")))
}

fn verify(pin: &Pin, stored: &str) -> Result<bool> {
    let parsed = PasswordHash::new(stored).map_err(|e| StoreError::Stored(format!("stored PIN hash: {e}")))?;
    Ok(argon2::Argon2::default()
        .verify_password(pin.0.as_bytes(), &parsed)
        .is_ok())
}

fn wait_after(failures: u32) -> i64 {
    if failures < FREE_TRIES {
        return 0;
    }
    let doublings = (failures - FREE_TRIES).min(10);
    (FIRST_WAIT_SECONDS << doublings).min(MAX_WAIT_SECONDS)
}

struct LockRow {
    pin_hash: Option<String>,
    lead_pin_hash: Option<String>,
    failures: u32,
    wait_until: Option<DateTime<Utc>>,
}

impl Store {
    fn lock_row(&self) -> Result<LockRow> {
        let (pin_hash, lead_pin_hash, failures, wait_until): (Option<String>, Option<String>, u32, Option<String>) =
            self.conn.query_row(
                "SELECT pin_hash, lead_pin_hash, failures, wait_until FROM device_lock WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
        let wait_until = wait_until
            .map(|t| {
                DateTime::parse_from_rfc3339(&t)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| StoreError::Stored(format!("lock wait time: {e}")))
            })
            .transpose()?;
        Ok(LockRow {
            pin_hash,
            lead_pin_hash,
            failures,
            wait_until,
        })
    }

    fn seconds_left(&self, until: Option<DateTime<Utc>>) -> u32 {
        until.map_or(0, |u| {
            let ms = (u - self.wall_now()).num_milliseconds();
            // Round up: "wait 1 s" until the very end.
            u32::try_from((ms + 999) / 1000).unwrap_or(0)
        })
    }

    /// The lock's state.
    pub fn pin_status(&self) -> Result<PinStatus> {
        let row = self.lock_row()?;
        Ok(PinStatus {
            pin_set: row.pin_hash.is_some(),
            lead_pin_set: row.lead_pin_hash.is_some(),
            failures: row.failures,
            wait_seconds: self.seconds_left(row.wait_until),
        })
    }

    /// Sets (or replaces) the PIN of `role`. The caller checked the right
    /// to do so (the current PIN, a lead's PIN, or a first set-up).
    pub fn set_pin(&mut self, role: PinRole, pin: &Pin) -> Result<()> {
        let hashed = hash(pin)?;
        let column = match role {
            PinRole::Volunteer => "pin_hash",
            PinRole::Lead => "lead_pin_hash",
        };
        self.conn
            .execute(&format!("UPDATE device_lock SET {column} = ?1 WHERE id = 1"), [hashed])?;
        Ok(())
    }

    /// Whether `pin` is the PIN of `role`, without counting a wrong one:
    /// only to refuse a new PIN equal to the other role's.
    pub fn pin_is(&self, role: PinRole, pin: &Pin) -> Result<bool> {
        let row = self.lock_row()?;
        let stored = match role {
            PinRole::Volunteer => row.pin_hash,
            PinRole::Lead => row.lead_pin_hash,
        };
        stored.map_or(Ok(false), |h| verify(pin, &h))
    }

    /// Checks a PIN of `role`, counting wrong ones (both roles share the
    /// count, so a thief cannot try the lead's PIN for free).
    pub fn check_pin(&mut self, role: PinRole, pin: &Pin) -> Result<PinCheck> {
        let row = self.lock_row()?;
        let wait = self.seconds_left(row.wait_until);
        if wait > 0 {
            return Ok(PinCheck::Wait { seconds: wait });
        }
        let stored = match role {
            PinRole::Volunteer => row.pin_hash,
            PinRole::Lead => row.lead_pin_hash,
        };
        let Some(stored) = stored else {
            return Ok(PinCheck::NotSet);
        };
        if verify(pin, &stored)? {
            self.conn.execute(
                "UPDATE device_lock SET failures = 0, wait_until = NULL WHERE id = 1",
                [],
            )?;
            return Ok(PinCheck::Right);
        }
        let failures = row.failures.saturating_add(1);
        let wait_seconds = wait_after(failures);
        let wait_until =
            (wait_seconds > 0).then(|| format_timestamp(self.wall_now() + chrono::TimeDelta::seconds(wait_seconds)));
        self.conn.execute(
            "UPDATE device_lock SET failures = ?1, wait_until = ?2 WHERE id = 1",
            (failures, wait_until),
        )?;
        Ok(PinCheck::Wrong {
            tries_left: FREE_TRIES.saturating_sub(failures),
            wait_seconds: u32::try_from(wait_seconds).unwrap_or(u32::MAX),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_four_to_six_digits_and_never_shown() {
        assert!(Pin::parse("123").is_err());
        assert!(Pin::parse("1234567").is_err());
        assert!(Pin::parse("12a4").is_err());
        let pin = Pin::parse(" 4821 ").expect("pin");
        assert_eq!(format!("{pin:?}"), "Pin(hidden)");
        let err = Pin::parse("98x76").expect_err("bad").to_string();
        assert!(!err.contains("98"), "{err}");
    }

    #[test]
    fn the_wait_starts_after_five_and_doubles() {
        assert_eq!(wait_after(4), 0);
        assert_eq!(wait_after(5), 30);
        assert_eq!(wait_after(6), 60);
        assert_eq!(wait_after(7), 120);
        assert_eq!(wait_after(100), MAX_WAIT_SECONDS);
    }
}
