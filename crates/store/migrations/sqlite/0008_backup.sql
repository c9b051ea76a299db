-- Backups taken by this server (`doorstep-server backup`, the schedule of
-- `serve --backup-dir`), once written and checked. A tablet may drop a
-- change from its outbox once the server confirmed it and a backup holds
-- it: device.backed_up_seq is the device's last applied seq in the newest
-- such backup (NULL: no backup holds any of its changes yet).
CREATE TABLE backup (
    taken_at    TEXT PRIMARY KEY,   -- when the copy's read transaction began
    file        TEXT NOT NULL,      -- where it was written (it may be moved since)
    bytes       INTEGER NOT NULL,
    server_seq  INTEGER NOT NULL,   -- the newest change it holds
    epoch       TEXT NOT NULL
) STRICT;

ALTER TABLE device ADD COLUMN backed_up_seq INTEGER;
