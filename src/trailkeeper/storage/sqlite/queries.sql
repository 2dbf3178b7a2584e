-- trailkeeper's named queries for SQLite (loaded by trailkeeper.storage.queries).
-- The PostgreSQL versions carry the same names in storage/postgres/queries.sql, side by
-- side; where the two take different parameters, each says which. Times are integer
-- microseconds. The names only one backend has are listed, with the reason, in
-- tests/unit/test_named_queries.py.
--
-- What stays in code, and why: SQL composed per call, which no fixed text can hold —
-- the list filters and page plans (storage/filters.py, reads.py, planning.py, the
-- store's _page_sql), export and stream row reads (exportrows.py), the lease and claim
-- queries of exports, webhooks and streams built around each backend's clock
-- (streamsql.py) or with optional clauses, and IN lists the length of a batch (the ids
-- a batch may repeat, live tokens); SQL built from the row layout declared once in
-- storage/rows.py (a batch's INSERT, get_event's columns); and PRAGMAs, which belong to
-- the code that opens and checkpoints the connections (connections.py, retention.py).

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

-- tiles --
-- One stored tile by its primary key (tenant, level, idx): run once per key, where
-- PostgreSQL's version takes the keys as arrays (and returns level and idx too).
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

-- retention_policy --
SELECT days, archive, legal_hold FROM retention_policies WHERE tenant_id = ?;

-- put_retention_policy --
-- A tenant's policy, new or replaced (tenant, days, archive, legal hold, updated_at).
INSERT OR REPLACE INTO retention_policies VALUES (?, ?, ?, ?, ?);

-- retention_state --
SELECT archived_through, removed_through, last_run_at, last_error, next_run_at
FROM retention_state WHERE tenant_id = ?;

-- retention_due --
-- Tenants whose next run is due and not leased (now, now, everyone: whether tenants
-- without a policy of their own have the deployment's default).
SELECT t.id FROM tenants t LEFT JOIN retention_state s ON s.tenant_id = t.id
LEFT JOIN retention_policies p ON p.tenant_id = t.id
WHERE coalesce(s.next_run_at, 0) <= ? AND coalesce(s.lease_until, 0) < ?
AND (p.days IS NOT NULL OR (p.tenant_id IS NULL AND ?)) ORDER BY t.id;

-- start_retention_state --
-- A tenant's retention state row, once (nothing archived or removed yet).
INSERT OR IGNORE INTO retention_state (tenant_id) VALUES (?);

-- claim_retention --
-- Lease a tenant's run (worker, until, tenant, now, worker): a row when no other worker
-- holds it.
UPDATE retention_state SET worker = ?, lease_until = ? WHERE tenant_id = ?
AND (lease_until IS NULL OR lease_until < ? OR worker = ?);

-- finish_retention --
-- A run's outcome, its lease released (now, error, next run, tenant, worker).
UPDATE retention_state SET last_run_at = ?, last_error = ?, next_run_at = ?,
worker = NULL, lease_until = NULL WHERE tenant_id = ? AND worker = ?;

-- received_at_micros --
-- When the event at one seq was received, in microseconds since the epoch (as stored).
SELECT received_at FROM events WHERE tenant_id = ? AND seq = ?;

-- mark_archived --
-- archived_through moved on and the lease renewed (through, until, tenant, worker).
UPDATE retention_state SET archived_through = max(archived_through, ?),
lease_until = ? WHERE tenant_id = ? AND worker = ?;

-- removal_progress --
-- What a worker holding the lease may delete: archived through, removed through, held
-- (the writer's lock keeps the state as it is).
SELECT s.archived_through, s.removed_through, coalesce(p.legal_hold, 0)
FROM retention_state s LEFT JOIN retention_policies p USING (tenant_id)
WHERE s.tenant_id = ? AND s.worker = ?;

-- remove_events --
-- A tenant's events first <= seq <= last, deleted from one table of events (its name
-- formatted in: the view cannot be deleted from); what the dictionaries lose of each
-- (storage.removal.Removed counts these columns).
DELETE FROM "{table}" WHERE tenant_id = ? AND seq >= ? AND seq <= ?
RETURNING actor_id, actor_name, actor_email, action, seq;

-- mark_removed --
-- removed_through moved on and the lease renewed (through, until, tenant).
UPDATE retention_state SET removed_through = ?, lease_until = ?
WHERE tenant_id = ?;

-- subtract_actors --
-- The removed events taken out of one actor entry's count (n, tenant, actor, name,
-- email): run once per entry, where PostgreSQL's version takes arrays.
UPDATE actor_texts SET events = events - ?
WHERE tenant_id = ? AND actor_id = ? AND name = ? AND email = ?;

-- drop_spent_actors --
-- That entry, if left with no events (tenant, actor, name, email).
DELETE FROM actor_texts
WHERE tenant_id = ? AND actor_id = ? AND name = ? AND email = ? AND events <= 0;

-- subtract_actions --
-- The removed events taken out of one action's count (n, tenant, action).
UPDATE action_counts SET events = events - ? WHERE tenant_id = ? AND action = ?;

-- drop_spent_actions --
-- That action, if left with no events (tenant, action).
DELETE FROM action_counts WHERE tenant_id = ? AND action = ? AND events <= 0;

-- actor_named_events --
-- How many events count under an actor's entries with a name or an email.
SELECT coalesce(sum(events), 0) FROM actor_texts
WHERE tenant_id = ? AND actor_id = ? AND (name <> '' OR email <> '');

-- drop_actor_names --
-- An actor's entries with a name or an email (their counts go to its ('', '') entry).
DELETE FROM actor_texts
WHERE tenant_id = ? AND actor_id = ? AND (name <> '' OR email <> '');

-- fold_actor_names --
-- The counts of drop_actor_names' entries, added to the actor's ('', '') entry
-- (tenant, actor, '', '', events).
INSERT INTO actor_texts (tenant_id, actor_id, name, email, events)
VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, actor_id, name, email)
DO UPDATE SET events = actor_texts.events + excluded.events;

-- actor_event_count --
-- How many actor entries, and events, a tenant has of an actor.
SELECT count(*), sum(events) FROM actor_texts
WHERE tenant_id = ? AND actor_id = ?;

-- queue_erasure --
-- An erasure, queued unless one for the same actor is queued, running or erased.
INSERT INTO erasures (id, tenant_id, actor_id, token_id, token_name, status,
requested_at, events_total) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)
ON CONFLICT (tenant_id, actor_id) WHERE status IN ('queued', 'running', 'erased')
DO NOTHING;

-- open_erasure --
-- The erasure of an actor that is queued, running or erased (at most one).
SELECT id, tenant_id, actor_id, token_id, token_name, status, requested_at, events_total,
events_erased, after_seq, started_at, completed_at
FROM erasures WHERE tenant_id = ? AND actor_id = ?
AND status IN ('queued', 'running', 'erased');

-- get_erasure --
SELECT id, tenant_id, actor_id, token_id, token_name, status, requested_at, events_total,
events_erased, after_seq, started_at, completed_at
FROM erasures WHERE tenant_id = ? AND id = ?;

-- erasure_waiting --
-- A row when some erasure is queued, running or erased: asked before taking the writer's
-- lock to claim one.
SELECT 1 FROM erasures WHERE status IN ('queued', 'running', 'erased') LIMIT 1;

-- claim_erasure --
-- The oldest queued erasure, or one whose worker's lease ran out, leased (worker, until,
-- now, now).
UPDATE erasures SET worker = ?, lease_until = ?,
status = CASE status WHEN 'erased' THEN status ELSE 'running' END,
started_at = coalesce(started_at, ?) WHERE id = (SELECT id FROM erasures
WHERE status = 'queued' OR (status IN ('running', 'erased') AND lease_until < ?)
ORDER BY requested_at LIMIT 1)
RETURNING id, tenant_id, actor_id, token_id, token_name, status, requested_at, events_total,
events_erased, after_seq, started_at, completed_at;

-- renew_erasure_lease --
-- A running erasure's lease extended (until, id, worker); no row when it was lost.
UPDATE erasures SET lease_until = ? WHERE id = ? AND worker = ?
AND status = 'running' RETURNING tenant_id, actor_id, after_seq;

-- actor_seqs_after --
-- Up to a batch of an actor's seqs after one, in order (tenant, actor, after, limit).
SELECT seq FROM events WHERE tenant_id = ? AND actor_id = ? AND seq > ?
ORDER BY seq LIMIT ?;

-- erase_events --
-- An actor's personal data and its salt set to NULL (CONTRACT section 8) in
-- after < seq <= last (tenant, actor, after, last).
UPDATE "{table}" SET actor_name = NULL, actor_email = NULL, ip = NULL, user_agent = NULL,
pii_salt = NULL WHERE tenant_id = ? AND actor_id = ?
AND seq > ? AND seq <= ?;

-- optimize_actor_search --
-- The trigram index's segments merged: texts deleted from it leave it for good.
INSERT INTO actor_texts_fts (actor_texts_fts) VALUES ('optimize');

-- erasure_progress --
-- An erasure's progress (after, erased, status, completed_at, id); the erasure as it
-- now is.
UPDATE erasures SET after_seq = ?, events_erased = events_erased + ?,
status = ?, completed_at = ? WHERE id = ?
RETURNING id, tenant_id, actor_id, token_id, token_name, status, requested_at, events_total,
events_erased, after_seq, started_at, completed_at;

-- finish_erasure --
-- erased -> succeeded, once its self-audit event is written (id, worker).
UPDATE erasures SET status = 'succeeded', worker = NULL, lease_until = NULL
WHERE id = ? AND worker = ? AND status = 'erased';

-- create_schema_migrations --
-- The table of migrations applied, before the first migration (on one line: SQLite
-- keeps a table's text as written, and the schema snapshot compares it).
CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);

-- applied_migrations --
SELECT version FROM schema_migrations;

-- record_migration --
-- A migration applied (version, file name, applied_at).
INSERT INTO schema_migrations VALUES (?, ?, ?);

-- claim_deployment --
-- A deployment-wide value, stored unless one of that name already is (name, value).
INSERT OR IGNORE INTO deployment VALUES (?, ?);

-- deployment_value --
SELECT value FROM deployment WHERE name = ?;

-- ping --
SELECT 1;

-- lock_next_seq --
-- The seq a tenant's next new event gets (the group's write transaction holds the
-- writer's lock: one batch at a time, so seq is gapless).
SELECT next_seq FROM tenants WHERE id = ?;

-- add_actor_counts --
-- One actor entry of a batch counted (tenant, actor, name, email, events): run once per
-- entry, where PostgreSQL's version takes arrays.
INSERT INTO actor_texts (tenant_id, actor_id, name, email, events)
VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, actor_id, name, email)
DO UPDATE SET events = actor_texts.events + excluded.events;

-- add_action_counts --
-- One action of a batch counted (tenant, action, events), once per action.
INSERT INTO action_counts (tenant_id, action, events) VALUES (?, ?, ?)
ON CONFLICT (tenant_id, action)
DO UPDATE SET events = action_counts.events + excluded.events;

-- set_next_seq --
-- (next seq, tenant).
UPDATE tenants SET next_seq = ? WHERE id = ?;

-- tile_run --
-- Stored tiles first <= idx < end of one level (tenant, level, first, end): the row
-- readers', on connections of their own.
SELECT idx, hashes FROM tree_tiles
WHERE tenant_id = ? AND level = ? AND idx >= ? AND idx < ?;

-- max_seq --
-- The largest seq a tenant's events hold (no row without rows): ORDER BY … LIMIT 1
-- reads one entry of each month table's seq index, where max() over the view would
-- read every row of the tenant.
SELECT seq FROM events WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1;

-- create_rate_windows --
-- The rate-limit counters' table, in their file of their own (ratecounters.py), which has
-- no migrations (on one line: SQLite keeps a table's text as written).
CREATE TABLE IF NOT EXISTS rate_windows (key TEXT NOT NULL, window_start INTEGER NOT NULL, hits INTEGER NOT NULL, PRIMARY KEY (key, window_start)) WITHOUT ROWID;

-- sweep_rate_windows --
-- A key's windows before the current one (key, window start): each count sweeps its own
-- key's, where PostgreSQL's sweeps every key's at once.
DELETE FROM rate_windows WHERE key = ? AND window_start < ?;

-- hit --
-- More hits in a rate-limit window (key, window start, how many), and how many it now
-- holds: a group's requests of one key counted at once, where PostgreSQL's adds one.
INSERT INTO rate_windows (key, window_start, hits) VALUES (?, ?, ?)
ON CONFLICT (key, window_start) DO UPDATE SET hits = hits + excluded.hits
RETURNING hits;

-- event_months --
-- The tables of events (events_p000000 and a table per month: storage/sqlite/months.py).
SELECT name FROM sqlite_schema WHERE type = 'table' AND name GLOB 'events_p[0-9]*';

-- detached_months --
-- Month tables out of the view that a killed retention run left to drop.
SELECT name FROM sqlite_schema WHERE type = 'table' AND name GLOB 'events_gone_p[0-9]*';

-- event_month_exists --
-- Whether a table of events exists (its name).
SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?;

-- month_template --
-- The table events_p000000 and its indexes, as made (its name): month tables are made
-- like them.
SELECT type, sql FROM sqlite_schema WHERE tbl_name = ? AND type IN ('table', 'index')
AND sql IS NOT NULL ORDER BY type DESC;

-- month_indexes --
-- The indexes of a table (its name), to drop one at a time.
SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?
AND sql IS NOT NULL;

-- month_guard --
-- What moves when a month's rows change under erasure or deletes: the erasures'
-- progress and every tenant's removed_through.
SELECT (SELECT count(*) FROM erasures), (SELECT total(events_erased) FROM erasures),
(SELECT total(after_seq) FROM erasures), (SELECT total(removed_through) FROM retention_state);

-- archived_and_held --
-- Every tenant: archived through (-1: none), whether under legal hold.
SELECT t.id, coalesce(s.archived_through, -1), coalesce(p.legal_hold, 0)
FROM tenants t LEFT JOIN retention_state s ON s.tenant_id = t.id
LEFT JOIN retention_policies p ON p.tenant_id = t.id;

-- months_removed --
-- removed_through moved past a dropped month's last seq (last, tenant).
UPDATE retention_state SET removed_through = max(removed_through, ?) WHERE tenant_id = ?;
