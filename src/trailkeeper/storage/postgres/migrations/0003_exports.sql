-- Export jobs, their daily quotas, and the webhooks that announce them.
CREATE TABLE exports (
    id              text PRIMARY KEY,
    tenant_id       bigint NOT NULL REFERENCES tenants (id),
    token_id        text NOT NULL,
    status          text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    spec            jsonb NOT NULL,         -- format, compression, start, end, resource, filters
    webhook_url     bytea,                  -- encrypted (AES-GCM) with the deployment key
    created_at      timestamptz NOT NULL,
    started_at      timestamptz,
    completed_at    timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    worker          text,                   -- who holds the lease while running
    lease_until     timestamptz,
    event_count     bigint,
    bytes           bigint,
    sha256          text,
    error           text,
    object_key      text,
    manifest_key    text
);
CREATE INDEX exports_tenant ON exports (tenant_id, id);
CREATE INDEX exports_queue ON exports (status, created_at) WHERE status IN ('queued', 'running');

-- Export requests per token, resource and UTC day (CONTRACT: 6 a day by default).
CREATE TABLE export_quota (
    token_id   text NOT NULL,
    resource   text NOT NULL,
    day        date NOT NULL,
    used       integer NOT NULL,
    PRIMARY KEY (token_id, resource, day)
);

-- Outgoing webhooks: a durable queue, written in the transaction that finishes
-- the export it announces, so a crash can lose neither.
CREATE TABLE webhook_deliveries (
    id               text PRIMARY KEY,      -- the webhook-id, the same on every attempt
    tenant_id        bigint NOT NULL REFERENCES tenants (id),
    url              bytea NOT NULL,        -- encrypted with the deployment key
    payload          bytea NOT NULL,
    created_at       timestamptz NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,           -- due time while pending (also the lease)
    last_attempt_at  timestamptz,
    last_status      integer,
    last_error       text
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
