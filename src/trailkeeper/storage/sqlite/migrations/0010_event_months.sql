-- Events in a table per month of received_at (storage/sqlite/months.py), read through the
-- view `events`; old months leave by dropping their table (CONTRACT section 7). The events
-- stored so far stay where they are: their table becomes events_p000000, the view's first
-- arm, which retention deletes from in batches, then clears once none of it is needed.
-- Month tables are made by the writer, the first time a batch is received in a month.
ALTER TABLE events RENAME TO events_p000000;

-- Ids are unique per tenant across every table: this table enforces it (in place of the
-- old table's events_id index) and maps an id to its seq for GET /v1/events/{id}. The
-- writer fills it beside the month table. Like PostgreSQL's, it keeps the ids of events
-- retention removed: a late retry of one is answered as already stored.
CREATE TABLE event_ids (
    tenant_id     INTEGER NOT NULL,
    id            TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    content_hash  BLOB NOT NULL,
    leaf_hash     BLOB NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
INSERT INTO event_ids (tenant_id, id, seq, content_hash, leaf_hash)
SELECT tenant_id, id, seq, content_hash, leaf_hash FROM events_p000000;
DROP INDEX events_id;

-- The view, and triggers that let tools write to it row by row (made again with the view
-- whenever a month table comes or goes: storage/sqlite/months.py).
CREATE VIEW events AS SELECT * FROM events_p000000;
CREATE TRIGGER events_insert INSTEAD OF INSERT ON events BEGIN
    INSERT INTO events_p000000 (pk, tenant_id, id, seq, action, category, occurred_at, received_at, actor_id, actor_type, actor_name, actor_email, resource_type, resource_id, resource_name, source, ip, user_agent, changes, run, metadata, pii, leaf_hash, run_id, pii_salt, content_hash)
    VALUES (new.pk, new.tenant_id, new.id, new.seq, new.action, new.category,
    new.occurred_at, new.received_at, new.actor_id, new.actor_type, new.actor_name,
    new.actor_email, new.resource_type, new.resource_id, new.resource_name, new.source,
    new.ip, new.user_agent, new.changes, new.run, new.metadata, new.pii, new.leaf_hash,
    new.run_id, new.pii_salt, new.content_hash);
END;
CREATE TRIGGER events_delete INSTEAD OF DELETE ON events BEGIN
    DELETE FROM events_p000000 WHERE pk = old.pk;
END;
CREATE TRIGGER events_update INSTEAD OF UPDATE ON events BEGIN
    UPDATE events_p000000 SET pk = new.pk, tenant_id = new.tenant_id, id = new.id, seq =
    new.seq, action = new.action, category = new.category, occurred_at =
    new.occurred_at, received_at = new.received_at, actor_id = new.actor_id, actor_type
    = new.actor_type, actor_name = new.actor_name, actor_email = new.actor_email,
    resource_type = new.resource_type, resource_id = new.resource_id, resource_name =
    new.resource_name, source = new.source, ip = new.ip, user_agent = new.user_agent,
    changes = new.changes, run = new.run, metadata = new.metadata, pii = new.pii,
    leaf_hash = new.leaf_hash, run_id = new.run_id, pii_salt = new.pii_salt,
    content_hash = new.content_hash WHERE pk = old.pk;
END;
