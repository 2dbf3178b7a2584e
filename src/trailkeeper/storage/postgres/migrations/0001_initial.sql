-- trailkeeper schema v1 for PostgreSQL.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Deployment-wide facts every process must agree on (e.g. the key fingerprint).
CREATE TABLE deployment (
    name   text PRIMARY KEY,
    value  bytea NOT NULL
);

CREATE TABLE tenants (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    webhook_secret  bytea NOT NULL,          -- encrypted (AES-GCM) with the deployment key
    next_seq        bigint NOT NULL DEFAULT 0,  -- the sequencer: locked per batch, so seq is gapless
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tokens (
    id          text PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants (id),
    name        text NOT NULL,
    token_hash  bytea NOT NULL UNIQUE,        -- SHA-256 of the token; the token itself is never kept
    scopes      text[] NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX tokens_tenant ON tokens (tenant_id, created_at);

-- Events are partitioned by month of received_at, so old data leaves by DROP of a partition.
-- Partitions are created on demand by the store (see PostgresStore._ensure_partition).
CREATE TABLE events (
    tenant_id      bigint NOT NULL,
    seq            bigint NOT NULL,
    id             text NOT NULL,
    action         text COLLATE "C" NOT NULL,  -- bytewise, so `card.*` is a range scan
    category       text NOT NULL,
    occurred_at    timestamptz NOT NULL,
    received_at    timestamptz NOT NULL,
    actor_id       text NOT NULL,
    actor_type     text NOT NULL,
    actor_name     text,
    actor_email    text,
    resource_type  text,
    resource_id    text,
    resource_name  text,
    source         text NOT NULL,
    ip             text,
    user_agent     text,
    changes        text,
    run            text,
    metadata       text,
    pii            text NOT NULL,
    leaf_hash      bytea NOT NULL,
    run_id         text,
    pii_salt       text,
    content_hash   bytea NOT NULL,
    PRIMARY KEY (tenant_id, seq, received_at)
) PARTITION BY RANGE (received_at);

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
-- triples instead of every event, and let the store resolve action prefixes and
-- emails to exact values first. The store updates them with each batch.
CREATE TABLE actor_texts (
    tenant_id  bigint NOT NULL,
    actor_id   text NOT NULL,
    name       text NOT NULL,               -- '' when the events carry no name
    email      text NOT NULL,               -- '' when the events carry no email
    events     bigint NOT NULL,
    PRIMARY KEY (tenant_id, actor_id, name, email)
);
CREATE INDEX actor_texts_email ON actor_texts (tenant_id, email);
CREATE INDEX actor_texts_trgm ON actor_texts USING gin (name gin_trgm_ops, email gin_trgm_ops);

CREATE TABLE action_counts (
    tenant_id  bigint NOT NULL,
    action     text COLLATE "C" NOT NULL,
    events     bigint NOT NULL,
    PRIMARY KEY (tenant_id, action)
);

-- Ids are unique per tenant across every partition: this small table enforces it
-- and maps an id to its seq for GET /v1/events/{id}. A trigger fills it, so the
-- work happens in the database process, beside the application's own.
CREATE TABLE event_ids (
    tenant_id     bigint NOT NULL,
    id            text NOT NULL,
    seq           bigint NOT NULL,
    received_at   timestamptz NOT NULL,
    content_hash  bytea NOT NULL,
    leaf_hash     bytea NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE FUNCTION events_register_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_ids (tenant_id, id, seq, received_at, content_hash, leaf_hash)
    VALUES (NEW.tenant_id, NEW.id, NEW.seq, NEW.received_at, NEW.content_hash, NEW.leaf_hash);
    RETURN NULL;
END
$$;
CREATE TRIGGER events_register_id AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_register_id();

-- Fixed-window request counters shared by every process (rate limits).
CREATE UNLOGGED TABLE rate_windows (
    key           text NOT NULL,
    window_start  bigint NOT NULL,
    hits          integer NOT NULL,
    PRIMARY KEY (key, window_start)
);
