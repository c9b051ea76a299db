-- Doorstep device store, schema 5: a bounded outbox.
-- Released migrations are never edited: add a new numbered file instead.

-- What the server last said its newest backup holds of this tablet (its
-- last applied seq in that copy); NULL while the server has no backup of
-- any of its changes (then nothing is dropped from the outbox).
ALTER TABLE device_state ADD COLUMN backed_up_seq INTEGER;
-- Every change up to this seq that the server confirmed and a backup
-- holds has been dropped from the outbox (refused ones stay: the volunteer
-- sees what they were). The outbox is gap-free above it.
ALTER TABLE device_state ADD COLUMN pruned_seq INTEGER NOT NULL DEFAULT 0;
