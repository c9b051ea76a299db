-- Doorstep device store, schema 4: a copy of another tablet's files.
-- Released migrations are never edited: add a new numbered file instead.

-- Set when the server said this store is a copy of another tablet (its
-- change at this seq is not the one the server has under this device id);
-- cleared when a lead enrols it again, which moves its changes from this
-- seq on to the new device id (sync/rehome.rs).
ALTER TABLE device_state ADD COLUMN copied_seq INTEGER;
