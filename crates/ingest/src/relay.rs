//! Carried batches: whether a batch one tablet hands in for another may be
//! applied, and what to tell the carrier when it may not.
//!
//! A carrier (a tablet that met the origin in a village, or a village hub)
//! can delay or drop a batch, never alter, invent or replay one into
//! effect: the batch must be signed by its origin's registered key, the
//! origin must be an unrevoked tablet of the carrier's own commune, and
//! what the origin's seqs already hold on the server is skipped exactly
//! once, as for the origin's own push.

use doorstep_core::change::Change;
use doorstep_core::protocol::RelayOutcome;
use doorstep_core::sign::{BatchProblem, PublicKey, SignedBatch};

use crate::Refusal;

/// The origin of a carried batch, as the store has it.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// Its commune (`None`: the office, which tablets never carry for).
    pub commune: Option<&'a str>,
    /// Whether a lead revoked it.
    pub revoked: bool,
    /// Its registered key, as stored (hex).
    pub public_key: Option<&'a str>,
    /// Its last applied seq.
    pub last_applied: u64,
}

/// A carried batch refused, with the words for the carrier and the office.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// What happened.
    pub outcome: RelayOutcome,
    /// Why, in words.
    pub reason: String,
}

fn refused(outcome: RelayOutcome, reason: impl Into<String>) -> Refused {
    Refused {
        outcome,
        reason: reason.into(),
    }
}

/// The changes of `batch`, carried by a tablet of `carrier_commune`, once
/// every rule holds; otherwise why not. `origin` is `None` when no tablet
/// has the batch's origin id.
pub fn admit(carrier_commune: &str, origin: Option<Origin<'_>>, batch: &SignedBatch) -> Result<Vec<Change>, Refused> {
    let id = batch.origin;
    let Some(origin) = origin.filter(|o| o.commune.is_some()) else {
        return Err(refused(
            RelayOutcome::UnknownOrigin,
            format!("no tablet {id} is enrolled on this server"),
        ));
    };
    if origin.revoked {
        return Err(refused(
            RelayOutcome::Revoked,
            format!("tablet {id} was revoked: its changes are no longer taken, from it or through others"),
        ));
    }
    if origin.commune != Some(carrier_commune) {
        return Err(refused(
            RelayOutcome::OtherCommune,
            format!("tablet {id} belongs to another commune: a tablet carries only its own commune's work"),
        ));
    }
    let Some(key) = origin.public_key.and_then(|k| k.parse::<PublicKey>().ok()) else {
        return Err(refused(
            RelayOutcome::Unsigned,
            format!("tablet {id} has no signing key registered: its changes can only come from it directly"),
        ));
    };
    let changes = batch.open(&key).map_err(|problem| match problem {
        BatchProblem::BadSignature => refused(
            RelayOutcome::BadSignature,
            format!("the batch from tablet {id} does not carry its signature over these changes: altered or forged on the way"),
        ),
        other => refused(RelayOutcome::BadBatch, format!("the batch from tablet {id}: {other}")),
    })?;
    let last = changes.last().map_or(0, |c| c.seq);
    if last <= origin.last_applied {
        return Err(refused(
            RelayOutcome::Replayed,
            format!(
                "every change of this batch from tablet {id} (up to seq {last}) was applied before: a replay or a second carrier, ignored"
            ),
        ));
    }
    Ok(changes)
}

/// What a carried batch whose push was refused tells the carrier. A gap
/// keeps the batch with the carrier (an earlier batch of the origin has
/// not arrived yet); anything else settles it.
pub fn refusal(refusal: &Refusal) -> Refused {
    match refusal {
        Refusal::SeqGap { expected, .. } => refused(
            RelayOutcome::Waiting,
            format!("the server needs the origin's seq {expected} first: keep carrying this batch"),
        ),
        Refusal::Forbidden(message) => refused(RelayOutcome::Forbidden, message.clone()),
        Refusal::Copied { message, .. } => refused(RelayOutcome::Copied, message.clone()),
    }
}

#[cfg(test)]
mod tests {
    use doorstep_core::change::{ChangeOp, FieldWrite};
    use doorstep_core::hlc::Hlc;
    use doorstep_core::ids::{ChangeId, DeviceId};
    use doorstep_core::schema::{EntityKind, FieldValue};
    use doorstep_core::sign::SigningKey;
    use uuid::Uuid;

    use super::*;

    const COMMUNE: &str = "0190f000-0000-7000-8000-000000000001";

    fn batch(key: &SigningKey, origin: DeviceId, seqs: std::ops::RangeInclusive<u64>) -> SignedBatch {
        let changes: Vec<Change> = seqs
            .map(|seq| Change {
                id: ChangeId::derive(origin, seq),
                device: origin,
                seq,
                hlc: Hlc::new(1_780_000_000_000 + seq, 0),
                entity: EntityKind::Household,
                entity_id: Uuid::nil(),
                op: ChangeOp::Update,
                fields: vec![FieldWrite {
                    field: "notes".to_owned(),
                    value: FieldValue::Text("x".to_owned()),
                    base: None,
                    resolves: Vec::new(),
                }],
            })
            .collect();
        SignedBatch::sign(key, origin, &changes, None)
    }

    fn origin(key: &str, last_applied: u64) -> Origin<'_> {
        Origin {
            commune: Some(COMMUNE),
            revoked: false,
            public_key: Some(key),
            last_applied,
        }
    }

    #[test]
    fn each_rule_refuses_with_its_own_outcome() {
        let key = SigningKey::from_seed([4; 32]);
        let hex = key.public_key().to_string();
        let id = DeviceId::new();
        let b = batch(&key, id, 3..=5);
        assert_eq!(admit(COMMUNE, Some(origin(&hex, 2)), &b).map(|c| c.len()), Ok(3));
        let outcome = |o: Option<Origin<'_>>, b: &SignedBatch| admit(COMMUNE, o, b).map(|_| ()).map_err(|r| r.outcome);
        assert_eq!(outcome(None, &b), Err(RelayOutcome::UnknownOrigin));
        assert_eq!(
            outcome(
                Some(Origin {
                    revoked: true,
                    ..origin(&hex, 2)
                }),
                &b
            ),
            Err(RelayOutcome::Revoked)
        );
        assert_eq!(
            outcome(
                Some(Origin {
                    commune: Some("another"),
                    ..origin(&hex, 2)
                }),
                &b
            ),
            Err(RelayOutcome::OtherCommune)
        );
        assert_eq!(
            outcome(
                Some(Origin {
                    public_key: None,
                    ..origin(&hex, 2)
                }),
                &b
            ),
            Err(RelayOutcome::Unsigned)
        );
        let forged = batch(&SigningKey::from_seed([5; 32]), id, 3..=5);
        assert_eq!(outcome(Some(origin(&hex, 2)), &forged), Err(RelayOutcome::BadSignature));
        assert_eq!(outcome(Some(origin(&hex, 5)), &b), Err(RelayOutcome::Replayed));
        let gap = Refusal::SeqGap {
            expected: 3,
            message: String::new(),
        };
        assert_eq!(refusal(&gap).outcome, RelayOutcome::Waiting);
        assert!(!refusal(&gap).outcome.settled());
    }
}
