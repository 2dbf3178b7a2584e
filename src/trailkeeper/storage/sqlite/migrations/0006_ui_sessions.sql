-- Web UI sign-in sessions. The cookie holds a random id; only its SHA-256 is kept here,
-- with the SHA-256 of the token it was opened with (the token itself is never kept).
-- Timestamps are integer microseconds since the epoch (UTC).
CREATE TABLE ui_sessions (
    id_hash     BLOB PRIMARY KEY,
    token_hash  BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX ui_sessions_expiry ON ui_sessions (expires_at);
