//! Server epochs, and the pull cursors that carry them.
//!
//! An epoch is one history of the change log. The first is made when a
//! database is first opened; restoring a backup starts another, whose log
//! is its parent's up to `base_seq` (what the backup held) and its own
//! after. A pull cursor is `<seq>.<epoch tag>`: opaque to tablets, which
//! send it back as they got it. A cursor of an earlier epoch is honoured
//! up to the lowest `base_seq` between that epoch and the current one, so
//! a tablet that had pulled past what the backup held pulls again from
//! there, and merging what it already has changes nothing. A cursor of an
//! epoch this database never had starts from the beginning. A bare number
//! (tablets from before epochs) is read as the current epoch's.
//!
//! **Invariant:** a pull never skips a change of the current history that
//! the tablet has not had: a cursor is only ever lowered, never raised.

/// One history of the change log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Epoch {
    /// Its id (a UUIDv7).
    pub id: String,
    /// The epoch it was restored from (none for the first).
    pub parent: Option<String>,
    /// Its log is the parent's up to this server seq.
    pub base_seq: u64,
    /// When it started (UTC).
    pub started_at: String,
}

/// The current epoch and every one before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Epochs {
    current: String,
    all: Vec<Epoch>,
}

/// What a tablet's cursor means in the current history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// Pull the changes after this server seq.
    pub after: u64,
    /// The cursor was given in another epoch (the office restored a backup
    /// since this tablet last pulled).
    pub other_epoch: bool,
}

/// The short form of an epoch id in cursors: its last 12 hexadecimal
/// digits (random in a UUIDv7).
fn tag(id: &str) -> &str {
    let start = id.len().saturating_sub(12);
    id.get(start..).unwrap_or(id)
}

impl Epochs {
    /// The epochs of a database, `current` among them.
    pub fn new(current: String, all: Vec<Epoch>) -> Epochs {
        Epochs { current, all }
    }

    /// The current epoch's id.
    pub fn current(&self) -> &str {
        &self.current
    }

    /// Every epoch, oldest first as stored.
    pub fn all(&self) -> &[Epoch] {
        &self.all
    }

    /// The cursor to hand out for a position in the current history.
    pub fn cursor(&self, seq: u64) -> String {
        format!("{seq}.{}", tag(&self.current))
    }

    /// What a cursor a tablet sent means now (module docs); `None` if the
    /// text is not a cursor any server gives.
    pub fn resolve(&self, text: &str) -> Option<Resolved> {
        if text.is_empty() {
            return Some(Resolved {
                after: 0,
                other_epoch: false,
            });
        }
        let (seq, given) = match text.split_once('.') {
            Some((seq, given)) => (seq, Some(given)),
            None => (text, None),
        };
        let seq: u64 = seq.parse().ok()?;
        let Some(given) = given else {
            return Some(Resolved {
                after: seq,
                other_epoch: false,
            });
        };
        if given.is_empty() || given.len() > 12 || !given.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return None;
        }
        if given == tag(&self.current) {
            return Some(Resolved {
                after: seq,
                other_epoch: false,
            });
        }
        // Walk back from the current epoch to the one the cursor names,
        // lowering the bound at each restore on the way.
        let mut bound = seq;
        let mut at = self.current.as_str();
        for _ in 0..=self.all.len() {
            let Some(epoch) = self.all.iter().find(|e| e.id == at) else {
                break;
            };
            bound = bound.min(epoch.base_seq);
            match &epoch.parent {
                Some(parent) if tag(parent) == given => {
                    return Some(Resolved {
                        after: bound,
                        other_epoch: true,
                    });
                }
                Some(parent) => at = parent,
                None => break,
            }
        }
        Some(Resolved {
            after: 0,
            other_epoch: true,
        })
    }
}

/// What to do when a device shows that the change log was put back
/// (`Store::rewound`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewind {
    /// An epoch that started after the device was last seen accounts for
    /// it already.
    Known,
    /// Start a new epoch whose log is the current one up to this seq.
    Start {
        /// The server seq of the device's last change the log still holds:
        /// the put-back log held at least this much.
        base_seq: u64,
    },
}

/// Decides [`Rewind`]: `last_seen_at` is when the device was last seen as
/// the put-back log remembers it, `current_started_at` when the current
/// epoch began (both in the stored timestamp form, which sorts as text).
pub fn rewind(last_seen_at: Option<&str>, current_started_at: &str, base_seq: u64) -> Rewind {
    match last_seen_at {
        Some(seen) if seen >= current_started_at => Rewind::Start { base_seq },
        _ => Rewind::Known,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(id: &str, parent: Option<&str>, base_seq: u64) -> Epoch {
        Epoch {
            id: id.to_owned(),
            parent: parent.map(str::to_owned),
            base_seq,
            started_at: "2026-12-07T00:00:00.000Z".to_owned(),
        }
    }

    const E1: &str = "01a24ebd-f659-7420-91b5-60fdc132e0b1";
    const E2: &str = "01a24ebe-efac-7543-bcb1-8e3654353172";
    const E3: &str = "01a24ebf-0000-7543-bcb1-8e3654353173";

    fn line() -> Epochs {
        // E1 grew to 500; restored to 300 (E2), grew; restored to 400 (E3).
        Epochs::new(
            E3.to_owned(),
            vec![epoch(E1, None, 0), epoch(E2, Some(E1), 300), epoch(E3, Some(E2), 400)],
        )
    }

    #[test]
    fn a_cursor_of_this_epoch_means_what_it_says() {
        let epochs = line();
        let cursor = epochs.cursor(420);
        assert_eq!(cursor, "420.8e3654353173");
        let r = epochs.resolve(&cursor).expect("cursor");
        assert_eq!((r.after, r.other_epoch), (420, false));
        assert_eq!(epochs.resolve("").expect("empty").after, 0);
        // A tablet from before epochs: its bare number, as before.
        assert_eq!(epochs.resolve("77").expect("bare").after, 77);
    }

    #[test]
    fn a_cursor_of_an_earlier_epoch_is_lowered_to_what_every_restore_kept() {
        let epochs = line();
        let from_e2 = epochs.resolve("450.8e3654353172").expect("e2");
        assert_eq!((from_e2.after, from_e2.other_epoch), (400, true));
        assert_eq!(epochs.resolve("350.8e3654353172").expect("e2").after, 350);
        // From E1 at 480: E2 kept 300 of E1, E3 kept 400 of E2: 300.
        assert_eq!(epochs.resolve("480.60fdc132e0b1").expect("e1").after, 300);
        assert_eq!(epochs.resolve("120.60fdc132e0b1").expect("e1").after, 120);
    }

    #[test]
    fn an_unknown_epoch_pulls_everything_and_junk_is_refused() {
        let epochs = line();
        let r = epochs.resolve("999.aaaaaaaaaaaa").expect("unknown epoch");
        assert_eq!((r.after, r.other_epoch), (0, true));
        for junk in ["x", "12.", "-1", "12.zz", "12.0123456789abc", "1.2.3"] {
            assert!(epochs.resolve(junk).is_none(), "{junk} taken as a cursor");
        }
    }

    #[test]
    fn a_rewind_starts_an_epoch_unless_one_began_since_the_device_was_seen() {
        let started = "2026-12-07T10:00:00.000Z";
        assert_eq!(
            rewind(Some("2026-12-07T11:00:00.000Z"), started, 42),
            Rewind::Start { base_seq: 42 }
        );
        assert_eq!(rewind(Some("2026-12-07T09:00:00.000Z"), started, 42), Rewind::Known);
        assert_eq!(rewind(None, started, 42), Rewind::Known);
    }
}
