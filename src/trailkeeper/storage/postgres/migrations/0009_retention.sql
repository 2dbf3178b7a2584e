-- Retention policies, retention runs' progress, and erasure jobs (CONTRACT section 5).

-- A tenant's own policy; without a row the deployment's default applies.
CREATE TABLE retention_policies (
    tenant_id   bigint PRIMARY KEY REFERENCES tenants (id),
    days        integer,                    -- NULL: keep events forever
    archive     boolean NOT NULL,
    legal_hold  boolean NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Where retention stands per tenant. Retention removes a prefix of the log (events
-- are sequenced in received_at order): every seq <= archived_through is in an
-- archive that was written and read back, every seq <= removed_through is deleted,
-- and removed_through <= archived_through always (nothing unarchived is deleted).
CREATE TABLE retention_state (
    tenant_id         bigint PRIMARY KEY REFERENCES tenants (id),
    archived_through  bigint NOT NULL DEFAULT -1,
    removed_through   bigint NOT NULL DEFAULT -1,
    next_run_at       timestamptz,          -- NULL: due now
    last_run_at       timestamptz,
    last_error        text,
    worker            text,                 -- who holds the lease while running
    lease_until       timestamptz
);

-- Erasure jobs: the personal data of one actor, erased in bounded batches. 'erased':
-- the data is gone and the self-audit event is being written.
CREATE TABLE erasures (
    id             text PRIMARY KEY,
    tenant_id      bigint NOT NULL REFERENCES tenants (id),
    actor_id       text NOT NULL,
    token_id       text NOT NULL,
    token_name     text NOT NULL,
    status         text NOT NULL CHECK (status IN ('queued', 'running', 'erased', 'succeeded')),
    requested_at   timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    completed_at   timestamptz,
    after_seq      bigint NOT NULL DEFAULT -1,    -- the actor's events up to here are erased
    events_total   bigint NOT NULL,               -- the actor's events when requested
    events_erased  bigint NOT NULL DEFAULT 0,
    worker         text,
    lease_until    timestamptz
);
CREATE UNIQUE INDEX erasures_active ON erasures (tenant_id, actor_id)
    WHERE status IN ('queued', 'running', 'erased');
CREATE INDEX erasures_queue ON erasures (requested_at)
    WHERE status IN ('queued', 'running', 'erased');
