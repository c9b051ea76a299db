-- Every checklist pack version this server has handed out. Versions are
-- immutable: a run in progress on any tablet may still use one, so all are
-- served, and a file that changes a version's steps without a new version
-- is refused at start-up.
CREATE TABLE pack_version (
    key             TEXT NOT NULL,
    version         BIGINT NOT NULL CHECK (version > 0),
    toml            TEXT NOT NULL,
    first_served_at TEXT NOT NULL,
    PRIMARY KEY (key, version)
);
