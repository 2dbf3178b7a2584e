-- Export jobs, their daily quotas, and the webhooks that announce them.
-- Timestamps are integer microseconds since the epoch (UTC).
CREATE TABLE exports (
    id              TEXT PRIMARY KEY,
    tenant_id       INTEGER NOT NULL REFERENCES tenants (id),
    token_id        TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    spec            TEXT NOT NULL,          -- JSON: format, compression, start, end, resource, filters
    webhook_url     BLOB,                   -- encrypted (AES-GCM) with the deployment key
    created_at      INTEGER NOT NULL,
    started_at      INTEGER,
    completed_at    INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    worker          TEXT,                   -- who holds the lease while running
    lease_until     INTEGER,
    event_count     INTEGER,
    bytes           INTEGER,
    sha256          TEXT,
    error           TEXT,
    object_key      TEXT,
    manifest_key    TEXT
);
CREATE INDEX exports_tenant ON exports (tenant_id, id);
CREATE INDEX exports_queue ON exports (status, created_at) WHERE status IN ('queued', 'running');

-- Export requests per token, resource and UTC day (CONTRACT: 6 a day by default).
CREATE TABLE export_quota (
    token_id   TEXT NOT NULL,
    resource   TEXT NOT NULL,
    day        TEXT NOT NULL,               -- YYYY-MM-DD (UTC)
    used       INTEGER NOT NULL,
    PRIMARY KEY (token_id, resource, day)
) WITHOUT ROWID;

-- Outgoing webhooks: a durable queue, written in the transaction that finishes
-- the export it announces, so a crash can lose neither.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,      -- the webhook-id, the same on every attempt
    tenant_id        INTEGER NOT NULL REFERENCES tenants (id),
    url              BLOB NOT NULL,         -- encrypted with the deployment key
    payload          BLOB NOT NULL,
    created_at       INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,               -- due time while pending (also the lease)
    last_attempt_at  INTEGER,
    last_status      INTEGER,
    last_error       TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
