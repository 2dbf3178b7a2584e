-- Streams to SIEMs: one row per stream, holding its cursor and its lease.
-- Timestamps are integer microseconds since the epoch (UTC).
CREATE TABLE streams (
    id                TEXT PRIMARY KEY,
    tenant_id         INTEGER NOT NULL REFERENCES tenants (id),
    name              TEXT NOT NULL,
    type              TEXT NOT NULL,
    format            TEXT NOT NULL,
    filters           TEXT NOT NULL,        -- JSON: the list filters, as given
    config            TEXT NOT NULL,        -- JSON: the destination's settings, secrets left out
    secrets           BLOB,                 -- JSON of the secret settings, sealed (AES-GCM)
    status            TEXT NOT NULL CHECK (status IN ('active', 'paused', 'failing')),
    cursor_seq        INTEGER NOT NULL,     -- every matching event up to here was accepted
    delivered         INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,     -- changed by create, pause and resume
    last_delivery_at  INTEGER,
    last_error        TEXT,
    lease_owner       TEXT,                 -- the process delivering it
    lease_until       INTEGER
);
CREATE INDEX streams_tenant ON streams (tenant_id, id);
