-- The tenant logs' Merkle trees (integrate) and signed checkpoints (publish).
-- Tiles hold up to 16 node hashes of tree level 4·level (see integrity/tiles.py).
CREATE TABLE tree_tiles (
    tenant_id  INTEGER NOT NULL,
    level      INTEGER NOT NULL,
    idx        INTEGER NOT NULL,
    hashes     BLOB NOT NULL,
    PRIMARY KEY (tenant_id, level, idx)
) WITHOUT ROWID;

-- How far each tenant's tree is integrated: its size, right edge and root.
CREATE TABLE tree_state (
    tenant_id   INTEGER PRIMARY KEY REFERENCES tenants (id),
    size        INTEGER NOT NULL,
    edge        BLOB NOT NULL,              -- the compact range's hashes, concatenated
    root        BLOB NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE checkpoints (
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id),
    size        INTEGER NOT NULL,
    root        BLOB NOT NULL,
    note        TEXT NOT NULL,              -- the C2SP signed note, as served
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, size)
);
