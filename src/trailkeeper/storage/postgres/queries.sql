-- trailkeeper's named queries for PostgreSQL (loaded by trailkeeper.storage.queries).
-- The SQLite versions carry the same names in storage/sqlite/queries.sql.

-- tenants_to_integrate --
-- Tenants whose log has events the tree does not hold yet, by id.
SELECT t.id FROM tenants t LEFT JOIN tree_state s ON s.tenant_id = t.id
WHERE coalesce(s.size, 0) < t.next_seq ORDER BY t.id;

-- start_tree --
-- The empty tree's row, once per tenant (%s: tenant, root of the empty tree).
INSERT INTO tree_state (tenant_id, size, edge, root) VALUES (%s, 0, '', %s)
ON CONFLICT DO NOTHING;

-- lock_tree --
-- The tree's state, locked for integration; no row when another process holds it.
SELECT size, edge, root FROM tree_state WHERE tenant_id = %s
FOR UPDATE SKIP LOCKED;

-- leaves_from --
-- Up to a batch of leaf hashes from a seq on, in seq order.
SELECT seq, leaf_hash FROM events WHERE tenant_id = %s AND seq >= %s
ORDER BY seq LIMIT %s;

-- put_tile --
-- A tile, new or grown (its hashes replaced by the longer run).
INSERT INTO tree_tiles VALUES (%s, %s, %s, %s)
ON CONFLICT (tenant_id, level, idx)
DO UPDATE SET hashes = excluded.hashes;

-- put_tree --
-- The tree's new state after integration.
UPDATE tree_state SET size = %s, edge = %s, root = %s, updated_at = now()
WHERE tenant_id = %s;

-- tree_state --
-- The tree's state, unlocked.
SELECT size, edge, root FROM tree_state WHERE tenant_id = %s;

-- tiles --
-- Stored tiles of a tenant by (level, idx), the keys given as two arrays.
SELECT t.level, t.idx, t.hashes FROM tree_tiles t
JOIN unnest(%s::int[], %s::bigint[]) AS k(level, idx)
ON t.level = k.level AND t.idx = k.idx WHERE t.tenant_id = %s;

-- add_checkpoint --
-- A signed checkpoint; one per size (a second signing of a size keeps the first).
INSERT INTO checkpoints (tenant_id, size, root, note) VALUES (%s, %s, %s, %s)
ON CONFLICT DO NOTHING;

-- latest_checkpoint --
-- The largest checkpoint of a tenant.
SELECT size, root, note, created_at FROM checkpoints WHERE tenant_id = %s
ORDER BY size DESC LIMIT 1;

-- checkpoint_of_size --
-- The checkpoint of one size.
SELECT size, root, note, created_at FROM checkpoints WHERE tenant_id = %s AND size = %s
ORDER BY size DESC LIMIT 1;

-- checkpoints --
-- Every checkpoint of a tenant, smallest first.
SELECT size, root, note, created_at FROM checkpoints WHERE tenant_id = %s
ORDER BY size;

-- create_tenant --
INSERT INTO tenants (name, webhook_secret) VALUES (%s, %s) RETURNING id;

-- tenant_by_name --
SELECT id, name, webhook_secret FROM tenants WHERE name = %s;

-- tenant_by_id --
SELECT id, name, webhook_secret FROM tenants WHERE id = %s;

-- tenants --
SELECT id, name, webhook_secret FROM tenants ORDER BY id;

-- create_token --
-- A token, returned as a token row (the columns of token_by_hash).
INSERT INTO tokens (id, tenant_id, name, token_hash, scopes) VALUES (%s, %s, %s, %s, %s)
RETURNING id, tenant_id, name, scopes, created_at, revoked_at, token_hash;

-- token_by_hash --
-- The token a bearer presents (found by its hash: the token itself is never stored).
SELECT id, tenant_id, name, scopes, created_at, revoked_at, token_hash
FROM tokens WHERE token_hash = %s;

-- list_tokens --
SELECT id, tenant_id, name, scopes, created_at, revoked_at, token_hash
FROM tokens WHERE tenant_id = %s ORDER BY created_at, id;

-- revoke_token --
-- Revoked once: a second revocation keeps the first time.
UPDATE tokens SET revoked_at = now()
WHERE tenant_id = %s AND id = %s AND revoked_at IS NULL;

-- token_of_tenant --
SELECT id, tenant_id, name, scopes, created_at, revoked_at, token_hash
FROM tokens WHERE tenant_id = %s AND id = %s;

-- live_tokens --
-- Which of these token ids are not revoked.
SELECT id FROM tokens WHERE id = ANY(%s) AND revoked_at IS NULL;

-- sweep_rate_windows --
-- Rate-limit windows that ended before this window's predecessor.
DELETE FROM rate_windows WHERE window_start < %s;

-- hit --
-- One more hit in a rate-limit window, and how many it now holds.
INSERT INTO rate_windows (key, window_start, hits) VALUES (%s, %s, 1)
ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_windows.hits + 1
RETURNING hits;

-- create_session --
-- A web UI session: (id hash, token hash, created, expires).
INSERT INTO ui_sessions (id_hash, token_hash, created_at, expires_at) VALUES (%s, %s, %s, %s);

-- drop_expired_sessions --
-- Sessions that expired at or before a moment (swept when a session is made).
DELETE FROM ui_sessions WHERE expires_at <= %s;

-- session_token --
-- The token hash of a session that has not expired at a moment.
SELECT token_hash FROM ui_sessions WHERE id_hash = %s AND expires_at > %s;

-- delete_session --
DELETE FROM ui_sessions WHERE id_hash = %s;

-- schema_migrations_exists --
-- Whether migrations ever ran: one row, NULL when the table is missing.
SELECT to_regclass('schema_migrations');

-- schema_version --
-- The last migration applied (NULL when none).
SELECT max(version) FROM schema_migrations;

-- list_tenants --
-- Every tenant with its log's size (the next seq), oldest first; never its secret.
SELECT id, name, created_at, next_seq FROM tenants ORDER BY created_at, id;

-- log_size --
-- The seq a tenant's next new event gets.
SELECT next_seq FROM tenants WHERE id = %s;

-- replace_webhook_secret --
-- A tenant's sealed webhook secret, replaced (secret, tenant).
UPDATE tenants SET webhook_secret = %s WHERE id = %s;

-- create_stream --
-- A stream (its 17 columns in the order of get_stream's; lease and delivery ones NULL).
INSERT INTO streams (id, tenant_id, name, type, format, filters, config, secrets, status, cursor_seq,
delivered, created_at, updated_at, last_delivery_at, last_error, lease_owner, lease_until)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s);

-- get_stream --
-- One stream of a tenant, every column.
SELECT id, tenant_id, name, type, format, filters, config, secrets, status, cursor_seq,
delivered, created_at, updated_at, last_delivery_at, last_error, lease_owner, lease_until
FROM streams WHERE tenant_id = %s AND id = %s;

-- list_streams --
-- A tenant's streams, by id.
SELECT id, tenant_id, name, type, format, filters, config, secrets, status, cursor_seq,
delivered, created_at, updated_at, last_delivery_at, last_error, lease_owner, lease_until
FROM streams WHERE tenant_id = %s ORDER BY id;

-- set_stream_status --
-- Pause or resume (status, updated_at, tenant, id); the stream as it now is.
UPDATE streams SET status = %s, updated_at = %s WHERE tenant_id = %s AND id = %s
RETURNING id, tenant_id, name, type, format, filters, config, secrets, status, cursor_seq,
delivered, created_at, updated_at, last_delivery_at, last_error, lease_owner, lease_until;

-- delete_stream --
DELETE FROM streams WHERE tenant_id = %s AND id = %s RETURNING id;

-- release_stream --
-- Give a stream's lease back (stream, owner); nothing when another process holds it.
UPDATE streams SET lease_owner = NULL, lease_until = NULL
WHERE id = %s AND lease_owner = %s RETURNING id;

-- received_at --
-- When the event at one seq was received (the stream's start-at-a-time search).
SELECT received_at FROM events WHERE tenant_id = %s AND seq = %s;

-- count_export --
-- One more export against a token's quota for a resource and UTC day; the count now.
INSERT INTO export_quota (token_id, resource, day, used) VALUES (%s, %s, %s, 1)
ON CONFLICT (token_id, resource, day) DO UPDATE SET used = export_quota.used + 1
RETURNING used;

-- uncount_export --
-- Take back count_export's count (a request over the quota stores nothing).
UPDATE export_quota SET used = used - 1 WHERE token_id = %s AND resource = %s AND day = %s;

-- create_export --
-- An export job (its 16 columns, in get_export's order).
INSERT INTO exports (id, tenant_id, token_id, status, spec, webhook_url, created_at, started_at,
completed_at, attempts, event_count, bytes, sha256, error, object_key, manifest_key)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s);

-- get_export --
SELECT id, tenant_id, token_id, status, spec, webhook_url, created_at, started_at,
completed_at, attempts, event_count, bytes, sha256, error, object_key, manifest_key
FROM exports WHERE tenant_id = %s AND id = %s;

-- renew_export_lease --
-- A running job's lease extended (until, id, worker); no row when the lease was lost.
UPDATE exports SET lease_until = %s WHERE id = %s AND worker = %s AND status = 'running';

-- finish_export --
-- A job's final state, only while this worker still holds it.
UPDATE exports SET status = %s, completed_at = %s, event_count = %s, bytes = %s,
sha256 = %s, error = %s, object_key = %s, manifest_key = %s, lease_until = NULL
WHERE id = %s AND worker = %s AND status = 'running';

-- queue_delivery --
-- A webhook to send, due at once (id, tenant, url, payload, created, due); once per id.
INSERT INTO webhook_deliveries (id, tenant_id, url, payload, created_at, status, next_attempt_at)
VALUES (%s, %s, %s, %s, %s, 'pending', %s) ON CONFLICT (id) DO NOTHING;

-- delivery_attempted --
-- One attempt at a webhook recorded (status, next attempt, HTTP status, error, id).
UPDATE webhook_deliveries SET status = %s, attempts = attempts + 1, next_attempt_at = %s,
last_attempt_at = now(), last_status = %s, last_error = %s WHERE id = %s;
