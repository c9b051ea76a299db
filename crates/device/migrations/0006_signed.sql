-- Doorstep device store, schema 6: signed changes and work carried for
-- other tablets (protocol 2). Released migrations are never edited.

-- This tablet's Ed25519 signing key (its 32-byte seed), kept only here, in
-- the encrypted store; the server keeps the public half.
ALTER TABLE device_state ADD COLUMN signing_seed BLOB;
-- The server's certificate for that key (JSON, `doorstep_core::sign::DeviceCert`),
-- shown to other tablets so they can check this tablet's batches offline.
ALTER TABLE device_state ADD COLUMN device_cert TEXT;
-- The server's certificate key (hex): what other tablets' certificates are
-- checked against.
ALTER TABLE device_state ADD COLUMN server_key TEXT;
-- The highest own seq handed to another tablet or a hub: changes up to it
-- are no longer only on this tablet.
ALTER TABLE device_state ADD COLUMN shared_seq INTEGER NOT NULL DEFAULT 0;

-- Other tablets' signed batches this tablet carries to the office, exactly
-- as their origin signed them. Kept until the server has the origin's
-- last seq of the batch (`origin_ack`), or refused it for good.
CREATE TABLE carried (
    origin      TEXT NOT NULL,
    first_seq   INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,
    changes     INTEGER NOT NULL,
    batch       TEXT NOT NULL,
    received_from TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (origin, first_seq, last_seq)
) WITHOUT ROWID;

-- Per origin, the last seq this tablet knows the server applied (from its
-- own syncs' answers, or from another tablet's offer).
CREATE TABLE origin_ack (
    origin TEXT PRIMARY KEY,
    seq    INTEGER NOT NULL
) WITHOUT ROWID;
