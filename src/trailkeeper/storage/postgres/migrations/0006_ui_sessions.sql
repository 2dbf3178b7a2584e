-- Web UI sign-in sessions. The cookie holds a random id; only its SHA-256 is kept here,
-- with the SHA-256 of the token it was opened with (the token itself is never kept).
CREATE TABLE ui_sessions (
    id_hash     bytea PRIMARY KEY,
    token_hash  bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX ui_sessions_expiry ON ui_sessions (expires_at);
