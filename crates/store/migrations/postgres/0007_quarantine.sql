-- Changes set aside because they came from a copy of a tablet: the batch a
-- second tablet pushed under the same token, from the first seq whose
-- change is not the logged one. Kept whole (the change JSON), never
-- applied: the copy keeps them in its outbox too and sends them again
-- under its own device id once a lead enrols it anew. digest (SHA-256 of
-- body) tells a repeated refusal from another copy's change.
CREATE TABLE quarantine (
    device_id    TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    digest       TEXT NOT NULL,
    body         TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (device_id, seq, digest)
);
