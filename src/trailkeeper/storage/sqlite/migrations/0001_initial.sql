-- trailkeeper schema v1 for SQLite. Timestamps are integer microseconds since the epoch (UTC).
-- Deployment-wide facts every process must agree on (e.g. the key fingerprint).
CREATE TABLE deployment (
    name   TEXT PRIMARY KEY,
    value  BLOB NOT NULL
);

CREATE TABLE tenants (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    webhook_secret  BLOB NOT NULL,          -- encrypted (AES-GCM) with the deployment key
    next_seq        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id),
    name        TEXT NOT NULL,
    token_hash  BLOB NOT NULL UNIQUE,       -- SHA-256 of the token; the token itself is never kept
    scopes      TEXT NOT NULL,              -- JSON list
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX tokens_tenant ON tokens (tenant_id, created_at);

CREATE TABLE events (
    pk             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    id             TEXT NOT NULL,
    action         TEXT NOT NULL,
    category       TEXT NOT NULL,
    occurred_at    INTEGER NOT NULL,
    received_at    INTEGER NOT NULL,
    actor_id       TEXT NOT NULL,
    actor_type     TEXT NOT NULL,
    actor_name     TEXT,
    actor_email    TEXT,
    resource_type  TEXT,
    resource_id    TEXT,
    resource_name  TEXT,
    source         TEXT NOT NULL,
    ip             TEXT,
    user_agent     TEXT,
    changes        TEXT,
    run            TEXT,
    metadata       TEXT,
    pii            TEXT NOT NULL,
    leaf_hash      BLOB NOT NULL,
    run_id         TEXT,
    pii_salt       TEXT,
    content_hash   BLOB NOT NULL
);
CREATE UNIQUE INDEX events_seq ON events (tenant_id, seq);
CREATE UNIQUE INDEX events_id ON events (tenant_id, id);
CREATE INDEX events_actor ON events (tenant_id, actor_id, seq);
CREATE INDEX events_email ON events (tenant_id, actor_email, seq) WHERE actor_email IS NOT NULL;
CREATE INDEX events_action ON events (tenant_id, action, seq);
CREATE INDEX events_category ON events (tenant_id, category, seq);
CREATE INDEX events_resource ON events (tenant_id, resource_type, resource_id, seq);
CREATE INDEX events_resource_id ON events (tenant_id, resource_id, seq);
CREATE INDEX events_occurred ON events (tenant_id, occurred_at, seq);
CREATE INDEX events_run ON events (tenant_id, run_id, seq) WHERE run_id IS NOT NULL;
CREATE INDEX events_ip ON events (tenant_id, ip, seq) WHERE ip IS NOT NULL;

-- Dictionaries of the values events repeat, with how many events carry each. They
-- answer the `q` search through a trigram index over distinct (actor, name, email)
-- triples instead of every event, and give the store exact counts with which to
-- choose between an index and a scan in seq order. The store updates them with
-- each batch, in the batch's transaction.
CREATE TABLE actor_texts (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL,
    actor_id   TEXT NOT NULL,
    name       TEXT NOT NULL,               -- '' when the events carry no name
    email      TEXT NOT NULL,               -- '' when the events carry no email
    events     INTEGER NOT NULL,
    UNIQUE (tenant_id, actor_id, name, email)
);
CREATE INDEX actor_texts_email ON actor_texts (tenant_id, email);
CREATE VIRTUAL TABLE actor_texts_fts USING fts5 (name, email, tokenize = 'trigram');
CREATE TRIGGER actor_texts_fts_insert AFTER INSERT ON actor_texts
BEGIN
    INSERT INTO actor_texts_fts (rowid, name, email) VALUES (new.id, new.name, new.email);
END;

CREATE TABLE action_counts (
    tenant_id  INTEGER NOT NULL,
    action     TEXT NOT NULL,
    events     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, action)
) WITHOUT ROWID;

-- Fixed-window request counters shared by every process (rate limits).
CREATE TABLE rate_windows (
    key           TEXT NOT NULL,
    window_start  INTEGER NOT NULL,
    hits          INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) WITHOUT ROWID;
