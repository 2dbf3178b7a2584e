-- trailkeeper's named queries for PostgreSQL (loaded by trailkeeper.storage.queries).
-- The SQLite versions carry the same names in storage/sqlite/queries.sql, side by side;
-- where the two take different parameters, each says which. The names only one backend
-- has are listed, with the reason, in tests/unit/test_named_queries.py (partition
-- management, advisory locks and row locks are PostgreSQL's; SQLite has its writer lock).
--
-- What stays in code, and why: SQL composed per call, which no fixed text can hold —
-- the list filters and page plans (storage/filters.py, reads.py, planning.py,
-- postgres/pages.py), export and stream row reads (exportrows.py), the lease and claim
-- queries of exports, webhooks and streams built around each backend's clock
-- (streamsql.py) or with optional clauses, IN lists the length of a batch, the month
-- partitions' names (partitions.py, store.py's _ensure_partitions, through
-- psycopg.sql); SQL built from the row layout declared once in storage/rows.py (the
-- COPY of a batch, get_event's columns); and session settings (SET jit, SET LOCAL …),
-- which belong to the code that opens the connection or transaction.

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

-- retention_policy --
SELECT days, archive, legal_hold FROM retention_policies WHERE tenant_id = %s;

-- put_retention_policy --
-- A tenant's policy, new or replaced (tenant, days, archive, legal hold).
INSERT INTO retention_policies (tenant_id, days, archive, legal_hold)
VALUES (%s, %s, %s, %s) ON CONFLICT (tenant_id) DO UPDATE SET
days = excluded.days, archive = excluded.archive,
legal_hold = excluded.legal_hold, updated_at = now();

-- retention_state --
SELECT archived_through, removed_through, last_run_at, last_error,
next_run_at FROM retention_state WHERE tenant_id = %s;

-- retention_due --
-- Tenants whose next run is due and not leased (now, everyone: whether tenants without a
-- policy of their own have the deployment's default).
SELECT t.id FROM tenants t LEFT JOIN retention_state s ON s.tenant_id = t.id
LEFT JOIN retention_policies p ON p.tenant_id = t.id
WHERE coalesce(s.next_run_at, '-infinity') <= %s
AND coalesce(s.lease_until, '-infinity') < now()
AND (p.days IS NOT NULL OR (p.tenant_id IS NULL AND %s)) ORDER BY t.id;

-- start_retention_state --
-- A tenant's retention state row, once (nothing archived or removed yet).
INSERT INTO retention_state (tenant_id) VALUES (%s) ON CONFLICT DO NOTHING;

-- claim_retention --
-- Lease a tenant's run (worker, until, tenant, worker): a row when no other worker holds it.
UPDATE retention_state SET worker = %s, lease_until = %s WHERE tenant_id = %s
AND (lease_until IS NULL OR lease_until < now() OR worker = %s);

-- finish_retention --
-- A run's outcome, its lease released (error, next run, tenant, worker).
UPDATE retention_state SET last_run_at = now(), last_error = %s,
next_run_at = %s, worker = NULL, lease_until = NULL
WHERE tenant_id = %s AND worker = %s;

-- received_at_micros --
-- When the event at one seq was received, in microseconds since the epoch.
SELECT (extract(epoch FROM received_at) * 1000000)::int8 FROM events
WHERE tenant_id = %s AND seq = %s;

-- mark_archived --
-- archived_through moved on and the lease renewed (through, until, tenant, worker).
UPDATE retention_state SET archived_through = greatest(archived_through, %s),
lease_until = %s WHERE tenant_id = %s AND worker = %s;

-- removal_progress --
-- What a worker holding the lease may delete: archived through, removed through, held;
-- the state row locked.
SELECT s.archived_through, s.removed_through, coalesce(p.legal_hold, false)
FROM retention_state s LEFT JOIN retention_policies p USING (tenant_id)
WHERE s.tenant_id = %s AND s.worker = %s FOR UPDATE OF s;

-- remove_events --
-- A tenant's events first <= seq <= last, deleted; what the dictionaries lose of each
-- (storage.removal.Removed counts these columns).
DELETE FROM events WHERE tenant_id = %s AND seq >= %s AND seq <= %s
RETURNING actor_id, actor_name, actor_email, action, seq;

-- mark_removed --
-- removed_through moved on and the lease renewed (through, until, tenant).
UPDATE retention_state SET removed_through = %s, lease_until = %s
WHERE tenant_id = %s;

-- subtract_actors --
-- The removed events taken out of the actor counts, over arrays (ids, names, emails,
-- counts, tenant); SQLite runs its version once per entry.
UPDATE actor_texts a SET events = a.events - d.n FROM unnest(%s::text[],
%s::text[], %s::text[], %s::int8[]) AS d (actor_id, name, email, n)
WHERE a.tenant_id = %s AND a.actor_id = d.actor_id AND a.name = d.name
AND a.email = d.email;

-- drop_spent_actors --
-- Those actor entries left with no events (ids, names, emails, tenant).
DELETE FROM actor_texts a USING unnest(%s::text[], %s::text[], %s::text[])
AS d (actor_id, name, email) WHERE a.tenant_id = %s AND a.actor_id = d.actor_id
AND a.name = d.name AND a.email = d.email AND a.events <= 0;

-- subtract_actions --
-- The removed events taken out of the action counts (actions, counts, tenant).
UPDATE action_counts c SET events = c.events - d.n
FROM unnest(%s::text[], %s::int8[]) AS d (action, n)
WHERE c.tenant_id = %s AND c.action = d.action;

-- drop_spent_actions --
-- Those action entries left with no events (actions, tenant).
DELETE FROM action_counts c USING unnest(%s::text[]) AS d (action)
WHERE c.tenant_id = %s AND c.action = d.action AND c.events <= 0;

-- actor_named_events --
-- How many events count under an actor's entries with a name or an email.
SELECT coalesce(sum(events), 0) FROM actor_texts
WHERE tenant_id = %s AND actor_id = %s AND (name <> '' OR email <> '');

-- drop_actor_names --
-- An actor's entries with a name or an email (their counts go to its ('', '') entry).
DELETE FROM actor_texts
WHERE tenant_id = %s AND actor_id = %s AND (name <> '' OR email <> '');

-- fold_actor_names --
-- The counts of drop_actor_names' entries, added to the actor's ('', '') entry
-- (tenant, actor, '', '', events).
INSERT INTO actor_texts (tenant_id, actor_id, name, email, events)
VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant_id, actor_id, name, email)
DO UPDATE SET events = actor_texts.events + excluded.events;

-- actor_event_count --
-- How many actor entries, and events, a tenant has of an actor.
SELECT count(*), sum(events) FROM actor_texts
WHERE tenant_id = %s AND actor_id = %s;

-- queue_erasure --
-- An erasure, queued unless one for the same actor is queued, running or erased.
INSERT INTO erasures (id, tenant_id, actor_id, token_id, token_name, status,
requested_at, events_total) VALUES (%s, %s, %s, %s, %s, 'queued', %s, %s)
ON CONFLICT (tenant_id, actor_id) WHERE status IN ('queued', 'running', 'erased')
DO NOTHING;

-- open_erasure --
-- The erasure of an actor that is queued, running or erased (at most one).
SELECT id, tenant_id, actor_id, token_id, token_name, status, requested_at, events_total,
events_erased, after_seq, started_at, completed_at
FROM erasures WHERE tenant_id = %s AND actor_id = %s
AND status IN ('queued', 'running', 'erased');

-- get_erasure --
SELECT id, tenant_id, actor_id, token_id, token_name, status, requested_at, events_total,
events_erased, after_seq, started_at, completed_at
FROM erasures WHERE tenant_id = %s AND id = %s;

-- claim_erasure --
-- The oldest queued erasure, or one whose worker's lease ran out, leased (worker, until).
UPDATE erasures SET worker = %s, lease_until = %s,
status = CASE status WHEN 'erased' THEN status ELSE 'running' END,
started_at = coalesce(started_at, now()) WHERE id = (SELECT id FROM erasures
WHERE status = 'queued'
OR (status IN ('running', 'erased') AND lease_until < now())
ORDER BY requested_at FOR UPDATE SKIP LOCKED LIMIT 1)
RETURNING id, tenant_id, actor_id, token_id, token_name, status, requested_at, events_total,
events_erased, after_seq, started_at, completed_at;

-- renew_erasure_lease --
-- A running erasure's lease extended (until, id, worker); no row when it was lost.
UPDATE erasures SET lease_until = %s WHERE id = %s AND worker = %s
AND status = 'running' RETURNING tenant_id, actor_id, after_seq;

-- actor_seqs_after --
-- Up to a batch of an actor's seqs after one, in order (tenant, actor, after, limit).
SELECT seq FROM events WHERE tenant_id = %s AND actor_id = %s AND seq > %s
ORDER BY seq LIMIT %s;

-- lock_tenant --
-- The tenant's row locked: its writers wait (while an erasure scrubs the dictionaries).
SELECT 1 FROM tenants WHERE id = %s FOR UPDATE;

-- erase_events --
-- An actor's personal data and its salt set to NULL (CONTRACT section 8) in
-- after < seq <= upper, or every seq after when upper is NULL (tenant, actor, after,
-- upper, upper); the seqs erased.
UPDATE events SET actor_name = NULL, actor_email = NULL, ip = NULL, user_agent = NULL,
pii_salt = NULL WHERE tenant_id = %s AND actor_id = %s
AND seq > %s AND (%s::int8 IS NULL OR seq <= %s) RETURNING seq;

-- erasure_progress --
-- An erasure's progress (after, erased, status, done, id); the erasure as it now is.
UPDATE erasures SET after_seq = %s, events_erased = events_erased + %s,
status = %s, completed_at = CASE WHEN %s THEN now() END WHERE id = %s
RETURNING id, tenant_id, actor_id, token_id, token_name, status, requested_at, events_total,
events_erased, after_seq, started_at, completed_at;

-- finish_erasure --
-- erased -> succeeded, once its self-audit event is written (id, worker).
UPDATE erasures SET status = 'succeeded', worker = NULL, lease_until = NULL
WHERE id = %s AND worker = %s AND status = 'erased';

-- try_lock --
-- An advisory lock of this session's, if no one holds it (the lock's number).
SELECT pg_try_advisory_lock(%s);

-- unlock --
SELECT pg_advisory_unlock(%s);

-- lock_transaction --
-- An advisory lock held until the transaction ends, waited for (the lock's number).
SELECT pg_advisory_xact_lock(%s);

-- event_months --
-- The partitions of events (name, whether a detach is pending).
SELECT c.relname, i.inhdetachpending FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass;

-- detached_months --
-- Tables named like a month of events (the name pattern) that are no partition of it.
SELECT c.relname FROM pg_class c WHERE c.relkind = 'r' AND c.relname ~ %s
AND c.relnamespace = 'public'::regnamespace
AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid);

-- archived_and_held --
-- Every tenant: archived through (-1: none), whether under legal hold.
SELECT t.id, coalesce(s.archived_through, -1), coalesce(p.legal_hold, false)
FROM tenants t LEFT JOIN retention_state s ON s.tenant_id = t.id
LEFT JOIN retention_policies p ON p.tenant_id = t.id;

-- lock_events --
-- Every reader and writer of events kept off until the transaction ends.
LOCK TABLE events IN ACCESS EXCLUSIVE MODE;

-- months_removed --
-- removed_through moved past a dropped month's last seq, per tenant (tenants, lasts).
UPDATE retention_state s SET removed_through = greatest(s.removed_through, m.last)
FROM unnest(%s::int8[], %s::int8[]) AS m (tenant_id, last)
WHERE s.tenant_id = m.tenant_id;

-- create_schema_migrations --
-- The table of migrations applied, before the first migration.
CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,
name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());

-- applied_migrations --
SELECT version FROM schema_migrations;

-- record_migration --
-- A migration applied (version, file name).
INSERT INTO schema_migrations (version, name) VALUES (%s, %s);

-- claim_deployment --
-- A deployment-wide value, stored unless one of that name already is (name, value).
INSERT INTO deployment VALUES (%s, %s) ON CONFLICT DO NOTHING;

-- deployment_value --
SELECT value FROM deployment WHERE name = %s;

-- ping --
SELECT 1;

-- lock_next_seq --
-- The seq a tenant's next new event gets, its row locked: the tenant's writers take
-- turns, so seq is gapless and commits come in seq order.
SELECT next_seq FROM tenants WHERE id = %s FOR UPDATE;

-- stored_ids --
-- Which of a batch's ids are stored already (tenant, ids), with their seq and hashes.
SELECT id, seq, content_hash, leaf_hash FROM event_ids
WHERE tenant_id = %s AND id = ANY(%s);

-- add_actor_counts --
-- A batch's actor entries counted, in one statement over arrays (tenant, ids, names,
-- emails, counts): unnest keeps their order, which is sorted, so that concurrent
-- writers lock rows in the same order.
INSERT INTO actor_texts (tenant_id, actor_id, name, email, events)
SELECT %s, * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[])
ON CONFLICT (tenant_id, actor_id, name, email)
DO UPDATE SET events = actor_texts.events + excluded.events;

-- add_action_counts --
-- A batch's actions counted, over arrays (tenant, actions, counts), as add_actor_counts.
INSERT INTO action_counts (tenant_id, action, events)
SELECT %s, * FROM unnest(%s::text[], %s::bigint[])
ON CONFLICT (tenant_id, action)
DO UPDATE SET events = action_counts.events + excluded.events;

-- set_next_seq --
-- (next seq, tenant).
UPDATE tenants SET next_seq = %s WHERE id = %s;

-- tile_run --
-- Stored tiles first <= idx < end of one level (tenant, level, first, end): the row
-- readers', on connections of their own.
SELECT idx, hashes FROM tree_tiles
WHERE tenant_id = %s AND level = %s AND idx >= %s AND idx < %s;

-- max_seq --
-- The largest seq a tenant's events hold (NULL without rows).
SELECT max(seq) FROM events WHERE tenant_id = %s;
