-- Sign-in to the team-lead dashboard: member passwords (argon2id, PHC
-- strings) and sessions (stored as keyed hashes of their cookie, like
-- device tokens, with the CSRF token of their forms).
CREATE TABLE member_password (
    member_id  TEXT PRIMARY KEY,
    hash       TEXT NOT NULL,
    set_at     TEXT NOT NULL
) STRICT;

CREATE TABLE dashboard_session (
    token_hash  TEXT PRIMARY KEY,
    member_id   TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) STRICT;
CREATE INDEX dashboard_session_by_expiry ON dashboard_session(expires_at);
