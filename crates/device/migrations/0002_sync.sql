-- Doorstep device store, schema 2: what the sync client keeps.
-- Released migrations are never edited: add a new numbered file instead.

-- Enrolment and the last sync. All NULL until `doorstep enroll`.
ALTER TABLE device_state ADD COLUMN server_url TEXT;
-- The bearer token the server issued at enrolment. It is a secret: it is kept
-- only in this file, sent only in the Authorization header of requests to
-- server_url, and never logged, printed or exported.
ALTER TABLE device_state ADD COLUMN token TEXT;
ALTER TABLE device_state ADD COLUMN commune_id TEXT;
ALTER TABLE device_state ADD COLUMN commune_name TEXT;
ALTER TABLE device_state ADD COLUMN member_id TEXT;
-- Server clock minus this device's clock, measured at the last sync: the
-- device shows and stamps corrected times (Store::now).
ALTER TABLE device_state ADD COLUMN clock_offset_ms INTEGER NOT NULL DEFAULT 0;
-- The ETag of the last checklist-pack list installed from the server.
ALTER TABLE device_state ADD COLUMN packs_etag TEXT;
-- Why the last sync failed, in words for the volunteer; NULL after a success.
ALTER TABLE device_state ADD COLUMN last_sync_error TEXT;

-- Pushed changes the server refused for good (it moved past them): shown
-- to the volunteer so the record can be corrected with a new change.
CREATE TABLE push_rejected (
    seq          INTEGER PRIMARY KEY,   -- the change's outbox seq
    reason       TEXT NOT NULL,         -- the server's words, naming the field
    rejected_at  TEXT NOT NULL
) STRICT;
