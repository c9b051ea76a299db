-- The app lock: the volunteer's PIN and a team lead's, as argon2id hashes,
-- and the count of wrong PINs with the time the next try is allowed. The
-- tablet's own, inside the encrypted database: never synced.
CREATE TABLE device_lock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pin_hash TEXT,
    lead_pin_hash TEXT,
    failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    wait_until TEXT
) STRICT;
INSERT INTO device_lock (id) VALUES (1);
