-- Doorstep server store (PostgreSQL), schema 1.
-- Released migrations are never edited: add a new numbered file instead.

-- Key/value facts about this server: its own device id (it writes the
-- office's changes like a device), the key of its token hashes, its clock.
CREATE TABLE server_meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- Enrolled tablets (and the server itself, commune_id NULL).
CREATE TABLE device (
    id                TEXT PRIMARY KEY,
    label             TEXT,
    member_id         TEXT,
    commune_id        TEXT,                 -- the scope it may see and change
    token_hash        TEXT UNIQUE,          -- HMAC-SHA256 of the bearer token
    enrolled_at       TEXT NOT NULL,
    last_seen_at      TEXT,
    last_applied_seq  BIGINT NOT NULL DEFAULT 0,  -- exactly-once push
    restamps          BIGINT NOT NULL DEFAULT 0,  -- how many of its stamps were clamped
    revoked_at        TEXT
);

-- One-time enrolment codes, stored hashed like tokens.
CREATE TABLE enrol_code (
    code_hash   TEXT PRIMARY KEY,
    member_id   TEXT NOT NULL,
    commune_id  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    device_id   TEXT
);

-- The one row every writer of the change log locks first (SELECT ... FOR
-- UPDATE) and holds until it commits: it hands out server_seq and carries
-- the server's hybrid logical clock. Writers are serialised, so server_seq
-- order is commit order and a puller can never see a number while a lower
-- one is still uncommitted (see docs/postgres.md). Plain row locks, no
-- sequences: the same design holds on CockroachDB and YugabyteDB.
CREATE TABLE sync_clock (
    id               BIGINT PRIMARY KEY CHECK (id = 1),
    last_server_seq  BIGINT NOT NULL,
    hlc_last         BIGINT NOT NULL
);
INSERT INTO sync_clock (id, last_server_seq, hlc_last) VALUES (1, 0, 0);

-- Every accepted change, in the order the server accepted it. server_seq
-- is the pull cursor; scope is the commune id, or '*' for campaign-wide
-- records (campaigns, members of several communes) that every device sees.
CREATE TABLE change_log (
    server_seq   BIGINT PRIMARY KEY,
    change_id    TEXT NOT NULL,          -- derived from (device_id, seq)
    device_id    TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    scope        TEXT NOT NULL,
    entity       TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    body         TEXT NOT NULL,          -- the change record as JSON
    received_at  TEXT NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE INDEX change_log_by_scope ON change_log(scope, server_seq);

-- The merged state of every entity (doorstep-core's merge rules), with its
-- scope so a child's commune is known when it arrives.
CREATE TABLE entity (
    id     TEXT PRIMARY KEY,
    kind   TEXT NOT NULL,
    scope  TEXT NOT NULL,
    state  TEXT NOT NULL                  -- JSON, see entity_state.rs
);
CREATE INDEX entity_by_kind ON entity(kind, scope);

-- Pushed changes refused for good, so an answer lost on the way can be
-- repeated.
CREATE TABLE rejected (
    device_id  TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    reason     TEXT NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);

-- Stamps the server replaced because they were too far ahead of its clock.
CREATE TABLE restamp (
    device_id  TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    was        BIGINT NOT NULL,
    hlc        BIGINT NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX restamp_by_was ON restamp(device_id, was);
