-- Streams to SIEMs: one row per stream, holding its cursor and its lease.
CREATE TABLE streams (
    id                text PRIMARY KEY,
    tenant_id         bigint NOT NULL REFERENCES tenants (id),
    name              text NOT NULL,
    type              text NOT NULL,
    format            text NOT NULL,
    filters           jsonb NOT NULL,       -- the list filters, as given
    config            jsonb NOT NULL,       -- the destination's settings, secrets left out
    secrets           bytea,                -- JSON of the secret settings, sealed (AES-GCM)
    status            text NOT NULL CHECK (status IN ('active', 'paused', 'failing')),
    cursor_seq        bigint NOT NULL,      -- every matching event up to here was accepted
    delivered         bigint NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL, -- changed by create, pause and resume
    last_delivery_at  timestamptz,
    last_error        text,
    lease_owner       text,                 -- the process delivering it
    lease_until       timestamptz
);
CREATE INDEX streams_tenant ON streams (tenant_id, id);
