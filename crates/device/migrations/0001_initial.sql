-- Doorstep device store, schema 1.
-- Released migrations are never edited: add a new numbered file instead.
-- Entity tables mirror doorstep-core's schema (EntityKind::fields); a test
-- checks that every field has its column.

-- One row: who this device is, its clock and its sync position.
CREATE TABLE device_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    device_id     TEXT    NOT NULL,
    practice      INTEGER NOT NULL DEFAULT 0,  -- a trainee's practice store: never syncs
    created_at    TEXT    NOT NULL,
    hlc_last      INTEGER NOT NULL DEFAULT 0,  -- the clock never goes below this
    next_seq      INTEGER NOT NULL DEFAULT 1,  -- the next outbox seq: gap-free
    acked_seq     INTEGER NOT NULL DEFAULT 0,  -- the server has applied every seq up to here
    pull_cursor   TEXT,                        -- the server's position after the last pulled page
    last_sync_at  TEXT
) STRICT;

CREATE TABLE commune (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    province  TEXT,
    deleted   INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE village (
    id          TEXT PRIMARY KEY,
    commune_id  TEXT NOT NULL REFERENCES commune(id),
    name        TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX village_by_commune ON village(commune_id);

CREATE TABLE campaign (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    starts_on    TEXT NOT NULL,
    ends_on      TEXT,
    commune_ids  TEXT NOT NULL,  -- JSON list of commune ids
    pack_keys    TEXT NOT NULL,  -- JSON list of pack keys
    deleted      INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE member (
    id           TEXT PRIMARY KEY,
    campaign_id  TEXT NOT NULL REFERENCES campaign(id),
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    unit         TEXT NOT NULL,
    phone        TEXT,
    village_ids  TEXT,           -- JSON list of village ids
    deleted      INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE household (
    id             TEXT PRIMARY KEY,
    village_id     TEXT NOT NULL REFERENCES village(id),
    head_name      TEXT NOT NULL,
    landmark       TEXT,
    phone          TEXT,
    members_count  INTEGER,
    language       TEXT,
    notes          TEXT,
    lat_e7         INTEGER,
    lng_e7         INTEGER,
    created_at     TEXT NOT NULL,
    deleted        INTEGER NOT NULL DEFAULT 0,
    -- Derived from the household's people, visits and runs, and kept in step
    -- with them in the same transaction, so a village's list is one scan.
    people             INTEGER NOT NULL DEFAULT 0,
    last_visit_at      TEXT,
    last_outcome       TEXT,
    last_follow_up_on  TEXT,
    runs_total         INTEGER NOT NULL DEFAULT 0,
    runs_completed     INTEGER NOT NULL DEFAULT 0,
    runs_blocked       INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX household_by_village ON household(village_id, deleted);

CREATE TABLE person (
    id                 TEXT PRIMARY KEY,
    household_id       TEXT NOT NULL REFERENCES household(id),
    name               TEXT NOT NULL,
    birth_year         INTEGER,
    phone              TEXT,
    phone_kind         TEXT,
    phone_in_own_name  INTEGER,
    chip_id_card       INTEGER,
    notes              TEXT,
    deleted            INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX person_by_household ON person(household_id, deleted);

CREATE TABLE visit (
    id            TEXT PRIMARY KEY,
    household_id  TEXT NOT NULL REFERENCES household(id),
    member_id     TEXT,          -- soft reference: the member may live outside this device's scope
    device_id     TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    ended_at      TEXT,
    outcome       TEXT NOT NULL,
    follow_up_on  TEXT,
    notes         TEXT,
    referred_by   TEXT,          -- soft reference: the neighbour may live in another commune
    deleted       INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX visit_by_household ON visit(household_id, deleted, started_at DESC, id DESC);

-- The progress columns are derived from step events (doorstep-core's
-- run_progress) and kept up to date in the same transaction as each event.
CREATE TABLE checklist_run (
    id             TEXT PRIMARY KEY,
    visit_id       TEXT NOT NULL REFERENCES visit(id),
    person_id      TEXT NOT NULL REFERENCES person(id),
    household_id   TEXT NOT NULL REFERENCES household(id),
    pack_key       TEXT NOT NULL,
    pack_version   INTEGER NOT NULL,
    started_at     TEXT NOT NULL,
    deleted        INTEGER NOT NULL DEFAULT 0,
    steps_total    INTEGER NOT NULL DEFAULT 0,
    steps_done     INTEGER NOT NULL DEFAULT 0,
    steps_skipped  INTEGER NOT NULL DEFAULT 0,
    steps_blocked  INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL DEFAULT 'not_started',
    current_step   TEXT
) STRICT;
CREATE INDEX run_by_household ON checklist_run(household_id, deleted, status);
CREATE INDEX run_by_person ON checklist_run(person_id);

-- Append-only: each row carries the version (hlc, device) of its change.
CREATE TABLE step_event (
    id         TEXT PRIMARY KEY,
    run_id     TEXT NOT NULL REFERENCES checklist_run(id),
    step_id    TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    blocker    TEXT,
    at         TEXT NOT NULL,
    note       TEXT,
    hlc        INTEGER NOT NULL,
    device_id  TEXT NOT NULL
) STRICT;
CREATE INDEX step_event_by_run ON step_event(run_id);

-- The version of the shown value of every field of every mutable entity.
CREATE TABLE field_clock (
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    field      TEXT NOT NULL,
    hlc        INTEGER NOT NULL,
    device_id  TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id, field)
) STRICT, WITHOUT ROWID;

-- Values that lost to a concurrent edit and were not replaced knowingly:
-- open conflicts for a team lead to review.
CREATE TABLE conflict (
    entity       TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    field        TEXT NOT NULL,
    hlc          INTEGER NOT NULL,
    device_id    TEXT NOT NULL,
    value        TEXT NOT NULL,   -- the losing value as JSON
    recorded_at  TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id, field, hlc, device_id)
) STRICT, WITHOUT ROWID;

-- Versions named as a base by a write that arrived before them.
CREATE TABLE pending_base (
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    field      TEXT NOT NULL,
    hlc        INTEGER NOT NULL,
    device_id  TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id, field, hlc, device_id)
) STRICT, WITHOUT ROWID;

-- Every local change, in order. seq is gap-free (from device_state.next_seq).
CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY,
    change_id   TEXT NOT NULL UNIQUE,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    hlc         INTEGER NOT NULL,
    body        TEXT NOT NULL,   -- the change record as JSON (doorstep-core Change)
    created_at  TEXT NOT NULL
) STRICT;

-- Remote changes already merged, so a page pulled twice merges once.
CREATE TABLE applied_change (
    change_id  TEXT PRIMARY KEY
) STRICT, WITHOUT ROWID;

-- Remote changes that cannot be merged yet: an update whose entity has not
-- arrived, or a row whose parent has not. Retried when the awaited entity
-- arrives. Invalid changes wait here with no awaited entity, for inspection.
CREATE TABLE parked_change (
    change_id     TEXT PRIMARY KEY,
    awaits_kind   TEXT,
    awaits_id     TEXT,
    reason        TEXT NOT NULL,
    body          TEXT NOT NULL,
    parked_at     TEXT NOT NULL
) STRICT;
CREATE INDEX parked_by_awaited ON parked_change(awaits_kind, awaits_id);

-- Checklist packs by (key, version): a run keeps the version it started with.
CREATE TABLE pack (
    key           TEXT NOT NULL,
    version       INTEGER NOT NULL,
    body          TEXT NOT NULL,   -- the pack as JSON (doorstep-core Pack)
    installed_at  TEXT NOT NULL,
    PRIMARY KEY (key, version)
) STRICT;
