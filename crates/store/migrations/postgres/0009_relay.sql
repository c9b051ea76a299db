-- Relayed batches (issue 17). Tablets sign their pushes with an Ed25519
-- key; device.public_key is the one a tablet registered (64 lower-case hex
-- digits; NULL: none yet), set once. A tablet or a village hub may carry
-- other tablets' signed batches to the server: relay counts, per carrier
-- and origin, what became of them (outcome: delivered, bad_signature,
-- revoked, other_commune, unknown_origin, unsigned, bad_batch, replayed,
-- copied, forbidden) and when that last happened. origin_id may name a
-- device the server does not know.
ALTER TABLE device ADD COLUMN public_key TEXT;

CREATE TABLE relay (
    carrier_id  TEXT NOT NULL,
    origin_id   TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    count       BIGINT NOT NULL,
    last_at     TEXT NOT NULL,
    PRIMARY KEY (carrier_id, origin_id, outcome)
);
