-- Revoke and erase: a lead may ask a revoked tablet to erase its data.
-- erase_requested_at: when the erase was asked (a revoked tablet is told
-- at its next contact); erased_at and erased_unsent: the tablet's report
-- that it erased, and how many changes it had not sent (lost with it).
ALTER TABLE device ADD COLUMN erase_requested_at TEXT;
ALTER TABLE device ADD COLUMN erased_at TEXT;
ALTER TABLE device ADD COLUMN erased_unsent BIGINT;
