-- trailkeeper's named queries for SQLite (loaded by trailkeeper.storage.queries).
-- The PostgreSQL versions carry the same names in storage/postgres/queries.sql; where the
-- two take different parameters, each says which. Times are integer microseconds.

-- tenants_to_integrate --
-- Tenants whose log has events the tree does not hold yet, by id.
SELECT t.id FROM tenants t LEFT JOIN tree_state s ON s.tenant_id = t.id
WHERE coalesce(s.size, 0) < t.next_seq ORDER BY t.id;

-- leaves_from --
-- Up to a batch of leaf hashes from a seq on, in seq order.
SELECT seq, leaf_hash FROM events WHERE tenant_id = ? AND seq >= ?
ORDER BY seq LIMIT ?;

-- put_tile --
-- A tile, new or grown (its hashes replaced by the longer run).
INSERT OR REPLACE INTO tree_tiles VALUES (?, ?, ?, ?);

-- put_tree --
-- The tree's new state after integration (tenant, size, edge, root, updated_at: the
-- writer's lock keeps integrations of a tenant apart).
INSERT OR REPLACE INTO tree_state VALUES (?, ?, ?, ?, ?);

-- tree_state --
-- The tree's state.
SELECT size, edge, root FROM tree_state WHERE tenant_id = ?;

-- tile --
-- One stored tile by its primary key (tenant, level, idx).
SELECT hashes FROM tree_tiles WHERE tenant_id = ? AND level = ? AND idx = ?;

-- add_checkpoint --
-- A signed checkpoint; one per size (a second signing of a size keeps the first).
INSERT OR IGNORE INTO checkpoints VALUES (?, ?, ?, ?, ?);

-- latest_checkpoint --
-- The largest checkpoint of a tenant.
SELECT size, root, note, created_at FROM checkpoints WHERE tenant_id = ?
ORDER BY size DESC LIMIT 1;

-- checkpoint_of_size --
-- The checkpoint of one size.
SELECT size, root, note, created_at FROM checkpoints WHERE tenant_id = ? AND size = ?
ORDER BY size DESC LIMIT 1;

-- checkpoints --
-- Every checkpoint of a tenant, smallest first.
SELECT size, root, note, created_at FROM checkpoints WHERE tenant_id = ?
ORDER BY size;

-- create_tenant --
-- (name, webhook secret, created_at): the new id is the cursor's lastrowid.
INSERT INTO tenants (name, webhook_secret, created_at) VALUES (?, ?, ?);

-- tenant_by_name --
SELECT id, name, webhook_secret FROM tenants WHERE name = ?;

-- tenant_by_id --
SELECT id, name, webhook_secret FROM tenants WHERE id = ?;

-- tenants --
SELECT id, name, webhook_secret FROM tenants ORDER BY id;

-- create_token --
-- (id, tenant, name, hash, scopes as a JSON array, created_at).
INSERT INTO tokens (id, tenant_id, name, token_hash, scopes, created_at)
VALUES (?, ?, ?, ?, ?, ?);

-- token_by_hash --
-- The token a bearer presents (found by its hash: the token itself is never stored).
SELECT id, tenant_id, name, scopes, created_at, revoked_at, token_hash
FROM tokens WHERE token_hash = ?;

-- list_tokens --
SELECT id, tenant_id, name, scopes, created_at, revoked_at, token_hash
FROM tokens WHERE tenant_id = ? ORDER BY created_at, id;

-- revoke_token --
-- Revoked once: a second revocation keeps the first time (revoked_at, tenant, id).
UPDATE tokens SET revoked_at = ?
WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL;

-- token_of_tenant --
SELECT id, tenant_id, name, scopes, created_at, revoked_at, token_hash
FROM tokens WHERE tenant_id = ? AND id = ?;

-- create_session --
-- A web UI session: (id hash, token hash, created, expires; times in microseconds).
INSERT INTO ui_sessions (id_hash, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?);

-- drop_expired_sessions --
-- Sessions that expired at or before a moment (swept when a session is made).
DELETE FROM ui_sessions WHERE expires_at <= ?;

-- session_token --
-- The token hash of a session that has not expired at a moment.
SELECT token_hash FROM ui_sessions WHERE id_hash = ? AND expires_at > ?;

-- delete_session --
DELETE FROM ui_sessions WHERE id_hash = ?;

-- schema_migrations_exists --
-- Whether migrations ever ran: a row when the table exists, none when it is missing.
SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations';

-- schema_version --
-- The last migration applied (NULL when none).
SELECT max(version) FROM schema_migrations;

-- list_tenants --
-- Every tenant with its log's size (the next seq), oldest first; never its secret.
SELECT id, name, created_at, next_seq FROM tenants ORDER BY created_at, id;

-- log_size --
-- The seq a tenant's next new event gets.
SELECT next_seq FROM tenants WHERE id = ?;

-- replace_webhook_secret --
-- A tenant's sealed webhook secret, replaced (secret, tenant).
UPDATE tenants SET webhook_secret = ? WHERE id = ?;

-- create_stream --
-- A stream (its 17 columns in the order of get_stream's; lease and delivery ones NULL).
INSERT INTO streams (id, tenant_id, name, type, format, filters, config, secrets, status, cursor_seq,
delivered, created_at, updated_at, last_delivery_at, last_error, lease_owner, lease_until)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- get_stream --
-- One stream of a tenant, every column.
SELECT id, tenant_id, name, type, format, filters, config, secrets, status, cursor_seq,
delivered, created_at, updated_at, last_delivery_at, last_error, lease_owner, lease_until
FROM streams WHERE tenant_id = ? AND id = ?;

-- list_streams --
-- A tenant's streams, by id.
SELECT id, tenant_id, name, type, format, filters, config, secrets, status, cursor_seq,
delivered, created_at, updated_at, last_delivery_at, last_error, lease_owner, lease_until
FROM streams WHERE tenant_id = ? ORDER BY id;

-- set_stream_status --
-- Pause or resume (status, updated_at, tenant, id); the stream as it now is.
UPDATE streams SET status = ?, updated_at = ? WHERE tenant_id = ? AND id = ?
RETURNING id, tenant_id, name, type, format, filters, config, secrets, status, cursor_seq,
delivered, created_at, updated_at, last_delivery_at, last_error, lease_owner, lease_until;

-- delete_stream --
DELETE FROM streams WHERE tenant_id = ? AND id = ? RETURNING id;

-- release_stream --
-- Give a stream's lease back (stream, owner); nothing when another process holds it.
UPDATE streams SET lease_owner = NULL, lease_until = NULL
WHERE id = ? AND lease_owner = ? RETURNING id;

-- received_at --
-- When the event at one seq was received (the stream's start-at-a-time search).
SELECT received_at FROM events WHERE tenant_id = ? AND seq = ?;

-- count_export --
-- One more export against a token's quota for a resource and UTC day; the count now.
INSERT INTO export_quota (token_id, resource, day, used) VALUES (?, ?, ?, 1)
ON CONFLICT (token_id, resource, day) DO UPDATE SET used = used + 1
RETURNING used;

-- uncount_export --
-- Take back count_export's count (a request over the quota stores nothing).
UPDATE export_quota SET used = used - 1 WHERE token_id = ? AND resource = ? AND day = ?;

-- create_export --
-- An export job (its 16 columns, in get_export's order).
INSERT INTO exports (id, tenant_id, token_id, status, spec, webhook_url, created_at, started_at,
completed_at, attempts, event_count, bytes, sha256, error, object_key, manifest_key)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- get_export --
SELECT id, tenant_id, token_id, status, spec, webhook_url, created_at, started_at,
completed_at, attempts, event_count, bytes, sha256, error, object_key, manifest_key
FROM exports WHERE tenant_id = ? AND id = ?;

-- renew_export_lease --
-- A running job's lease extended (until, id, worker); no row when the lease was lost.
UPDATE exports SET lease_until = ? WHERE id = ? AND worker = ? AND status = 'running';

-- finish_export --
-- A job's final state, only while this worker still holds it.
UPDATE exports SET status = ?, completed_at = ?, event_count = ?, bytes = ?,
sha256 = ?, error = ?, object_key = ?, manifest_key = ?, lease_until = NULL
WHERE id = ? AND worker = ? AND status = 'running';

-- queue_delivery --
-- A webhook to send, due at once (id, tenant, url, payload, created, due); once per id.
INSERT INTO webhook_deliveries (id, tenant_id, url, payload, created_at, status, next_attempt_at)
VALUES (?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT (id) DO NOTHING;

-- delivery_attempted --
-- One attempt at a webhook recorded (status, next attempt, now, HTTP status, error, id).
UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = ?,
last_attempt_at = ?, last_status = ?, last_error = ? WHERE id = ?;
