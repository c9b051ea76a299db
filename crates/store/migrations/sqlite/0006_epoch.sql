-- Server epochs: the histories this database has held. The first is made
-- at first start; a restore from a backup starts another, whose change log
-- is the parent's up to base_seq and its own after. server_meta 'epoch'
-- names the current one. Pull cursors carry their epoch, so a tablet that
-- pulled past base_seq in the parent pulls again from base_seq.
CREATE TABLE epoch (
    id          TEXT PRIMARY KEY,
    parent      TEXT REFERENCES epoch(id),
    base_seq    INTEGER NOT NULL,
    started_at  TEXT NOT NULL
) STRICT;
