-- The tenant logs' Merkle trees (integrate) and signed checkpoints (publish).
-- Tiles hold up to 16 node hashes of tree level 4·level (see integrity/tiles.py).
CREATE TABLE tree_tiles (
    tenant_id  bigint NOT NULL,
    level      integer NOT NULL,
    idx        bigint NOT NULL,
    hashes     bytea NOT NULL,
    PRIMARY KEY (tenant_id, level, idx)
);

-- How far each tenant's tree is integrated: its size, right edge and root.
-- The integrator locks a tenant's row (FOR UPDATE SKIP LOCKED), so one process at
-- a time integrates a given tenant.
CREATE TABLE tree_state (
    tenant_id   bigint PRIMARY KEY REFERENCES tenants (id),
    size        bigint NOT NULL,
    edge        bytea NOT NULL,             -- the compact range's hashes, concatenated
    root        bytea NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE checkpoints (
    tenant_id   bigint NOT NULL REFERENCES tenants (id),
    size        bigint NOT NULL,
    root        bytea NOT NULL,
    note        text NOT NULL,              -- the C2SP signed note, as served
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, size)
);
