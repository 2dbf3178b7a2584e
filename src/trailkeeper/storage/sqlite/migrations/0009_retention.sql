-- Retention policies, retention runs' progress, and erasure jobs (CONTRACT section 5).
-- Timestamps are integer microseconds since the epoch (UTC).

-- A tenant's own policy; without a row the deployment's default applies.
CREATE TABLE retention_policies (
    tenant_id   INTEGER PRIMARY KEY REFERENCES tenants (id),
    days        INTEGER,                    -- NULL: keep events forever
    archive     INTEGER NOT NULL,
    legal_hold  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Where retention stands per tenant. Retention removes a prefix of the log (events
-- are sequenced in received_at order): every seq <= archived_through is in an
-- archive that was written and read back, every seq <= removed_through is deleted,
-- and removed_through <= archived_through always (nothing unarchived is deleted).
CREATE TABLE retention_state (
    tenant_id         INTEGER PRIMARY KEY REFERENCES tenants (id),
    archived_through  INTEGER NOT NULL DEFAULT -1,
    removed_through   INTEGER NOT NULL DEFAULT -1,
    next_run_at       INTEGER,              -- NULL: due now
    last_run_at       INTEGER,
    last_error        TEXT,
    worker            TEXT,                 -- who holds the lease while running
    lease_until       INTEGER
);

-- Erasure jobs: the personal data of one actor, erased in bounded batches. 'erased':
-- the data is gone and the self-audit event is being written.
CREATE TABLE erasures (
    id             TEXT PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants (id),
    actor_id       TEXT NOT NULL,
    token_id       TEXT NOT NULL,
    token_name     TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('queued', 'running', 'erased', 'succeeded')),
    requested_at   INTEGER NOT NULL,
    started_at     INTEGER,
    completed_at   INTEGER,
    after_seq      INTEGER NOT NULL DEFAULT -1,   -- the actor's events up to here are erased
    events_total   INTEGER NOT NULL,              -- the actor's events when requested
    events_erased  INTEGER NOT NULL DEFAULT 0,
    worker         TEXT,
    lease_until    INTEGER
);
CREATE UNIQUE INDEX erasures_active ON erasures (tenant_id, actor_id)
    WHERE status IN ('queued', 'running', 'erased');
CREATE INDEX erasures_queue ON erasures (requested_at)
    WHERE status IN ('queued', 'running', 'erased');

-- Erased names and emails must leave the search index too: rows deleted from
-- actor_texts leave its trigram index.
CREATE TRIGGER actor_texts_fts_delete AFTER DELETE ON actor_texts
BEGIN
    DELETE FROM actor_texts_fts WHERE rowid = old.id;
END;
