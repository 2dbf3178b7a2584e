"""PostgreSQL implementation of the storage protocols (psycopg 3, pooled).

Writers serialize per tenant on the tenant row (``SELECT … FOR UPDATE``), which
makes ``seq`` gapless and commit order equal to ``seq`` order, so a poller that
resumes after the last seq it saw never misses an event."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import Connection
from psycopg_pool import ConnectionPool

from trailkeeper.events.query import EventQuery
from trailkeeper.events.record import Draft
from trailkeeper.events.timestamps import format_timestamp
from trailkeeper.events.view import EventView
from trailkeeper.integrity.tiles import extend_tile
from trailkeeper.storage.dictionaries import DictionaryRows
from trailkeeper.storage.filters import Dialect, like_pattern
from trailkeeper.storage.migrations import load_migrations
from trailkeeper.storage.planning import Resolved
from trailkeeper.storage.postgres.admin import PostgresAdmin
from trailkeeper.storage.postgres.exports import PostgresExports
from trailkeeper.storage.postgres.retention import PostgresRetention
from trailkeeper.storage.postgres.rowscan import PostgresRowSource
from trailkeeper.storage.postgres.sessions import PostgresSessions
from trailkeeper.storage.postgres.streams import PostgresStreams
from trailkeeper.storage.protocols import (
    CheckpointRecord,
    IntegrateStep,
    Receipt,
    Tenant,
    TokenRecord,
    TreeState,
)
from trailkeeper.storage.reads import SELECT_EVENT, SqlReads
from trailkeeper.storage.rows import (
    INSERT_COLUMNS,
    READ_COLUMNS,
    insert_row,
    scanned_view,
    sequenced_rows,
    view_from_row,
)
from trailkeeper.storage.sequencing import Existing, sequence_batch
from trailkeeper.storage.trees import EMPTY_TREE, check_contiguous, tree_state_of

__all__ = ["PostgresStore"]

_SELECT = ", ".join(READ_COLUMNS)
SHORT_RANGE = timedelta(days=7)
_MIGRATION_LOCK = 7_261_001
_PARTITION_LOCK = 7_261_002
_TOKEN = "id, tenant_id, name, scopes, created_at, revoked_at, token_hash"  # noqa: S105 (column list)


# The batch's dictionary rows in one statement each, as arrays (executemany costs
# ~20 µs of Python per row): unnest keeps their order, which is sorted, so that
# concurrent writers lock rows in the same order.
_UPSERT_ACTORS = (
    "INSERT INTO actor_texts (tenant_id, actor_id, name, email, events) "
    "SELECT %s, * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[]) "
    "ON CONFLICT (tenant_id, actor_id, name, email) "
    "DO UPDATE SET events = actor_texts.events + excluded.events"
)
_UPSERT_ACTIONS = (
    "INSERT INTO action_counts (tenant_id, action, events) "
    "SELECT %s, * FROM unnest(%s::text[], %s::bigint[]) "
    "ON CONFLICT (tenant_id, action) "
    "DO UPDATE SET events = action_counts.events + excluded.events"
)


_COPY_EVENTS = f"COPY events ({', '.join(INSERT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_COPY_TYPES = [
    "int8" if column in ("tenant_id", "seq")
    else "timestamptz" if column in ("occurred_at", "received_at")
    else "bytea" if column in ("leaf_hash", "content_hash")
    else "text"
    for column in INSERT_COLUMNS
]  # fmt: skip
"""Binary COPY: values go as their binary forms (no text escaping of bytea, no timestamp
formatting and parsing)."""


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """The columns after the first (the tenant) of ``rows``, each as a list."""
    return [[row[n] for row in rows] for n in range(1, width + 1)]


def _text_search(q: str) -> tuple[str, list[Any]]:
    """``actor_texts`` rows whose name or email contains ``q`` (trigram index)."""
    pattern = like_pattern(q)
    return "(name ILIKE %s OR email ILIKE %s)", [pattern, pattern]


def _configure(conn: Connection) -> None:
    """Every pooled connection: no JIT compilation. trailkeeper's queries read a page, a
    proof's tiles or a stream of rows; a page merged from many actors' index scans can be
    estimated costly enough to JIT, which then takes longer than the query (25 ms of a
    65 ms page, measured at 1M events)."""
    conn.execute("SET jit = off")
    conn.commit()


LATERAL_ACTORS = 64
"""Pages of up to this many actors are merged from per-actor index scans."""


def _lateral_actors(resolved: Resolved) -> tuple[str, ...] | None:
    """The actors a page can be merged from (every match is one of theirs), or None when
    there are too many of them. However common the actors are, the merge reads at most
    actors x limit rows, each actor's in seq order from its index (for a single actor too:
    planned as usual, a common one would be found by a scan of the log and a sort)."""
    candidates = [ids for ids in (resolved.actor_ids, resolved.text_actor_ids) if ids is not None]
    if not candidates:
        return None
    actors = min(candidates, key=len)
    return actors if len(actors) <= LATERAL_ACTORS else None


LATERAL_ACTIONS = 64
"""Pages of up to this many actions (an ``action`` filter alone) are merged from
per-action index scans."""
_OTHER_FILTERS = ("category", "source", "resource_type", "resource_id", "run_id", "ip")


_MERGED = "SELECT e.* FROM unnest("
"""How a page merged from per-key index scans begins (see ``_merged_rows``)."""


def _lateral_actions(resolved: Resolved, query: EventQuery) -> tuple[str, ...] | None:
    """The actions a page can be merged from, when ``action`` is the query's only filter
    (``card.*`` resolved to its exact actions). Planned as usual, a list of several actions
    is a filter whose share the planner has to guess: without fresh statistics it guessed
    a few rows and read and sorted every event of the tenant (750 ms at 1M events for
    ``user.login.*``); the merge reads at most actions x limit rows from the
    ``(tenant, action, seq)`` index, whatever the statistics say. With other filters the
    planner keeps its choice (their own index may be the selective one)."""
    if resolved.actions is None or not 0 < len(resolved.actions) <= LATERAL_ACTIONS:
        return None
    if resolved.actor_ids is not None or resolved.texts is not None:
        return None
    if query.start is not None or query.end is not None:
        return None
    if any(getattr(query, name) for name in _OTHER_FILTERS):
        return None
    return resolved.actions


def _unindexed(column: str) -> str:
    # An expression no index matches: for filters that match much of the log, walk
    # the (tenant, seq) key in order and stop after a page, instead of sorting
    # every match (the planner misjudges long IN lists).
    return f"({column} || '')"


def _identity(moment: datetime) -> datetime:
    return moment


DIALECT = Dialect(placeholder="%s", timestamp=_identity, unindexed=_unindexed, row_lists=True)


def _month_start(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def _next_month(start: datetime) -> datetime:
    return (start + timedelta(days=32)).replace(day=1)


class PostgresStore(
    PostgresAdmin, PostgresExports, PostgresStreams, PostgresRetention, PostgresSessions, SqlReads
):
    backend = "postgresql"
    dialect = DIALECT

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        if sql.startswith(_MERGED):
            return self._merged_rows(sql, params)
        return self._rows(sql, params)

    def _merged_rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """A page merged from per-actor or per-action scans, with bitmap scans off for its
        transaction: each scan must read its ``(tenant, key, seq)`` index in seq order and
        stop after ``limit`` rows. With the page's other filters beside the key (``q``'s
        name/email triples) and no fresh statistics, the planner guessed a row or two per
        key and chose a bitmap scan of every event of the key and a sort (960 ms at 1M
        events for ``q=automation``, 10 actors of ~19,000 events each; 2.7 ms in index
        order)."""
        with self.pool.connection() as conn:
            conn.execute(b"SET LOCAL enable_bitmapscan = off")
            return conn.execute(sql.encode(), params).fetchall()

    def _timestamp(self, value: Any) -> str:
        return format_timestamp(value)

    def _text_search(self, q: str) -> tuple[str, list[Any]]:
        return _text_search(q)

    @staticmethod
    def _short(query: EventQuery) -> bool:
        return (
            query.start is not None
            and query.end is not None
            and query.end - query.start <= SHORT_RANGE
        )

    def _page_sql(self, where: str, query: EventQuery, columns: str = SELECT_EVENT) -> str:
        """For a date range of a week or less, sort the range's rows (found through the
        (occurred_at, seq) index) instead of walking the whole log newest-first."""
        if not self._short(query):
            return super()._page_sql(where, query, columns)
        return f"SELECT {columns} FROM events WHERE {where} ORDER BY seq + 0 {query.order} LIMIT %s"

    def _page_resolved(self, resolved: Resolved, query: EventQuery) -> Resolved:
        """A page merged from per-actor scans (:meth:`_page_query`) writes every other
        filter so that no index takes it: each scan must be driven by ``actor_id = a.actor``
        alone to read in seq order (the actor list as an index condition beside it makes
        the planner read and sort all of the actor's events). A page merged from per-action
        scans has no action filter in its WHERE clause (each scan has ``action = a.action``;
        the list beside it, even written unindexed, again made the planner read and sort
        every match)."""
        actions = _lateral_actions(resolved, query)
        if actions is not None:
            return replace(resolved, actions=None, merged_actions=actions)
        if _lateral_actors(resolved) is None or self._short(query):
            return resolved
        return replace(resolved, common=True)

    def _page_query(
        self, where: str, params: list[Any], query: EventQuery, resolved: Resolved, limit: int
    ) -> tuple[str, list[Any]]:
        """A page of a few actors' events (``q``, or several ``actor`` values) as a merge of
        each actor's newest (or oldest) ``limit`` events, each read in seq order from the
        ``(tenant, actor_id, seq)`` index: at most actors x limit rows, where one scan of
        all of their events (the planner's choice) reads and sorts every match."""
        order = query.order
        if resolved.merged_actions is not None:
            sql = (
                f"{_MERGED}%s::text[]) AS a(action) "
                f"CROSS JOIN LATERAL (SELECT {SELECT_EVENT} FROM events "
                f"WHERE {where} AND action = a.action ORDER BY seq {order} LIMIT %s) AS e "
                f"ORDER BY seq {order} LIMIT %s"
            )
            return sql, [list(resolved.merged_actions), *params, limit, limit]
        actors = _lateral_actors(resolved)
        if actors is None or self._short(query):
            return super()._page_query(where, params, query, resolved, limit)
        sql = (
            f"{_MERGED}%s::text[]) AS a(actor) "
            f"CROSS JOIN LATERAL (SELECT {SELECT_EVENT} FROM events "
            f"WHERE {where} AND actor_id = a.actor ORDER BY seq {order} LIMIT %s) AS e "
            f"ORDER BY seq {order} LIMIT %s"
        )
        return sql, [list(actors), *params, limit, limit]

    def __init__(self, url: str, pool_size: int = 8, timeout: float = 30) -> None:
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=True,
            name="trailkeeper",
            timeout=timeout,
            configure=_configure,
        )
        self._partitions: set[datetime] = set()
        self._partition_lock = threading.Lock()

    # lifecycle -----------------------------------------------------------
    def migrate(self) -> int:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            applied = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            version = max(applied, default=0)
            for migration in load_migrations("trailkeeper.storage.postgres"):
                if migration.version in applied:
                    continue
                conn.execute(migration.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
                version = migration.version
        self._ensure_partitions(datetime.now(UTC))
        return version

    def claim(self, name: str, value: bytes) -> bytes:
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO deployment VALUES (%s, %s) ON CONFLICT DO NOTHING", (name, value)
            )
            row = conn.execute("SELECT value FROM deployment WHERE name = %s", (name,)).fetchone()
        assert row is not None
        return bytes(row[0])

    def ping(self) -> None:
        with self.pool.connection(timeout=min(5.0, self.pool.timeout)) as conn:
            conn.execute("SELECT 1")

    def close(self) -> None:
        self.pool.close()

    def _ensure_partitions(self, moment: datetime) -> None:
        """Create the month partition for ``moment`` (and the next one near month end)."""
        months = [_month_start(moment)]
        if _next_month(months[0]) - moment < timedelta(hours=6):
            months.append(_next_month(months[0]))
        missing = [m for m in months if m not in self._partitions]
        if not missing:
            return
        with self._partition_lock, self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PARTITION_LOCK,))
            for start in missing:
                name = f"events_p{start:%Y%m}"
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF events FOR VALUES "
                    f"FROM ('{start.isoformat()}') TO ('{_next_month(start).isoformat()}')"
                )
                self._partitions.add(start)

    # events --------------------------------------------------------------
    def append(self, tenant_id: int, drafts: Sequence[Draft]) -> list[Receipt]:
        self._ensure_partitions(datetime.now(UTC))
        # Made before the tenant row is locked, so that it overlaps with another
        # batch's transaction.
        rows = [insert_row(tenant_id, d, d.occurred_at) for d in drafts]
        dictionaries = DictionaryRows(tenant_id, drafts)
        ids = list({d.id for d in drafts})
        with self.pool.connection() as conn, conn.transaction():
            # One round trip for the lock and the ids already stored: in a pipeline the
            # server runs the SELECT of ids after the lock is granted, with a snapshot of
            # its own (read committed), so it sees every batch committed before ours.
            with conn.pipeline():
                locked = conn.execute(
                    "SELECT next_seq FROM tenants WHERE id = %s FOR UPDATE", (tenant_id,)
                )
                stored = conn.execute(
                    "SELECT id, seq, content_hash, leaf_hash FROM event_ids "
                    "WHERE tenant_id = %s AND id = ANY(%s)",
                    (tenant_id, ids),
                )
            row = locked.fetchone()
            assert row is not None, "tenant vanished"
            existing = {r[0]: Existing(r[1], bytes(r[2]), bytes(r[3])) for r in stored}
            received_at = datetime.now(UTC)
            plan = sequence_batch(drafts, existing, row[0], received_at)
            if plan.new:
                with conn.cursor() as cur:
                    with cur.copy(_COPY_EVENTS) as copy:
                        copy.set_types(_COPY_TYPES)
                        for values in sequenced_rows(rows, plan.new, received_at):
                            copy.write_row(values)
                    actors, actions = dictionaries.of(plan.new)
                    with conn.pipeline():
                        cur.execute(_UPSERT_ACTORS, (tenant_id, *_columns(actors, 4)))
                        cur.execute(_UPSERT_ACTIONS, (tenant_id, *_columns(actions, 2)))
                        cur.execute(
                            "UPDATE tenants SET next_seq = %s WHERE id = %s",
                            (plan.next_seq, tenant_id),
                        )
        return plan.receipts

    def append_many(
        self, batches: Sequence[tuple[int, Sequence[Draft]]]
    ) -> list[list[Receipt] | Exception]:
        results: list[list[Receipt] | Exception] = []
        for tenant_id, drafts in batches:
            try:
                results.append(self.append(tenant_id, drafts))
            except Exception as exc:  # that batch alone is refused
                results.append(exc)
        return results

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.pool.connection() as conn:
            return conn.execute(sql.encode(), params).fetchall()

    def get_event(self, tenant_id: int, event_id: str) -> EventView | None:
        cols = ", ".join(f"e.{c}" for c in READ_COLUMNS)
        rows = self._rows(
            f"SELECT {cols} FROM event_ids i JOIN events e ON e.tenant_id = i.tenant_id "
            "AND e.seq = i.seq AND e.received_at = i.received_at "
            "WHERE i.tenant_id = %s AND i.id = %s",
            (tenant_id, event_id),
        )
        return view_from_row(rows[0], format_timestamp) if rows else None

    # integrity ----------------------------------------------------------
    def tenants_to_integrate(self) -> list[int]:
        rows = self._rows(
            "SELECT t.id FROM tenants t LEFT JOIN tree_state s ON s.tenant_id = t.id "
            "WHERE coalesce(s.size, 0) < t.next_seq ORDER BY t.id",
            (),
        )
        return [int(r[0]) for r in rows]

    def integrate(self, tenant_id: int, limit: int, step: IntegrateStep) -> TreeState | None:
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO tree_state (tenant_id, size, edge, root) VALUES (%s, 0, '', %s) "
                "ON CONFLICT DO NOTHING",
                (tenant_id, EMPTY_TREE.root),
            )
            conn.commit()
            with conn.transaction():
                row = conn.execute(
                    "SELECT size, edge, root FROM tree_state WHERE tenant_id = %s "
                    "FOR UPDATE SKIP LOCKED",
                    (tenant_id,),
                ).fetchone()
                if row is None:
                    return None  # another process is integrating this tenant
                state = tree_state_of(row[0], bytes(row[1]), bytes(row[2]))
                rows = conn.execute(
                    "SELECT seq, leaf_hash FROM events WHERE tenant_id = %s AND seq >= %s "
                    "ORDER BY seq LIMIT %s",
                    (tenant_id, state.size, limit),
                ).fetchall()
                if not rows:
                    return state
                check_contiguous(state.size, [r[0] for r in rows])
                new_state, additions = step(state, [bytes(r[1]) for r in rows])
                stored = self._tiles(conn, tenant_id, additions.keys())
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO tree_tiles VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT (tenant_id, level, idx) "
                        "DO UPDATE SET hashes = excluded.hashes",
                        [
                            (tenant_id, level, index,
                             extend_tile(stored.get((level, index), b""), adds))
                            for (level, index), adds in additions.items()
                        ],
                    )  # fmt: skip
                conn.execute(
                    "UPDATE tree_state SET size = %s, edge = %s, root = %s, updated_at = now() "
                    "WHERE tenant_id = %s",
                    (new_state.size, b"".join(new_state.edge), new_state.root, tenant_id),
                )
        return new_state

    def tree_state(self, tenant_id: int) -> TreeState:
        rows = self._rows(
            "SELECT size, edge, root FROM tree_state WHERE tenant_id = %s", (tenant_id,)
        )
        if not rows:
            return EMPTY_TREE
        return tree_state_of(rows[0][0], bytes(rows[0][1]), bytes(rows[0][2]))

    def read_tiles(
        self, tenant_id: int, keys: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        with self.pool.connection() as conn:
            return self._tiles(conn, tenant_id, keys)

    @staticmethod
    def _tiles(
        conn: Connection[Any], tenant_id: int, keys: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        rows = conn.execute(
            "SELECT t.level, t.idx, t.hashes FROM tree_tiles t "
            "JOIN unnest(%s::int[], %s::bigint[]) AS k(level, idx) "
            "ON t.level = k.level AND t.idx = k.idx WHERE t.tenant_id = %s",
            ([k[0] for k in wanted], [k[1] for k in wanted], tenant_id),
        )
        return {(r[0], r[1]): bytes(r[2]) for r in rows}

    def add_checkpoint(self, tenant_id: int, size: int, root: bytes, note: str) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO checkpoints (tenant_id, size, root, note) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                (tenant_id, size, root, note),
            )

    def checkpoint(self, tenant_id: int, size: int | None = None) -> CheckpointRecord | None:
        where = "tenant_id = %s" + ("" if size is None else " AND size = %s")
        params = (tenant_id,) if size is None else (tenant_id, size)
        rows = self._rows(
            f"SELECT size, root, note, created_at FROM checkpoints WHERE {where} "
            "ORDER BY size DESC LIMIT 1",
            params,
        )
        return _checkpoint(rows[0]) if rows else None

    def checkpoints(self, tenant_id: int) -> list[CheckpointRecord]:
        rows = self._rows(
            "SELECT size, root, note, created_at FROM checkpoints WHERE tenant_id = %s "
            "ORDER BY size",
            (tenant_id,),
        )
        return [_checkpoint(r) for r in rows]

    def scan(self, tenant_id: int) -> Iterator[tuple[EventView, bytes | None]]:
        reader = self.row_source().open()
        try:
            for row in reader.rows(tenant_id, None, None):
                yield scanned_view(row)
        finally:
            reader.close()

    def row_source(self) -> PostgresRowSource:
        """Raw rows and tiles on connections of their own (``verify``'s worker processes)."""
        return PostgresRowSource(str(self.pool.conninfo))

    # tenants and tokens --------------------------------------------------
    def create_tenant(self, name: str, webhook_secret_sealed: bytes) -> Tenant:
        with self.pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO tenants (name, webhook_secret) VALUES (%s, %s) RETURNING id",
                (name, webhook_secret_sealed),
            ).fetchone()
        assert row is not None
        return Tenant(row[0], name, webhook_secret_sealed)

    def tenant_by_name(self, name: str) -> Tenant | None:
        return self._tenant("name = %s", name)

    def tenant_by_id(self, tenant_id: int) -> Tenant | None:
        return self._tenant("id = %s", tenant_id)

    def tenants(self) -> list[Tenant]:
        rows = self._rows("SELECT id, name, webhook_secret FROM tenants ORDER BY id", ())
        return [Tenant(row[0], row[1], bytes(row[2])) for row in rows]

    def _tenant(self, where: str, value: Any) -> Tenant | None:
        rows = self._rows(f"SELECT id, name, webhook_secret FROM tenants WHERE {where}", (value,))
        return Tenant(rows[0][0], rows[0][1], bytes(rows[0][2])) if rows else None

    def create_token(
        self, token_id: str, tenant_id: int, name: str, token_hash: bytes, scopes: Sequence[str]
    ) -> TokenRecord:
        rows = self._rows(
            "INSERT INTO tokens (id, tenant_id, name, token_hash, scopes) "
            f"VALUES (%s, %s, %s, %s, %s) RETURNING {_TOKEN}",
            (token_id, tenant_id, name, token_hash, list(scopes)),
        )
        return _token(rows[0])

    def token_by_hash(self, token_hash: bytes) -> TokenRecord | None:
        rows = self._rows(f"SELECT {_TOKEN} FROM tokens WHERE token_hash = %s", (token_hash,))
        return _token(rows[0]) if rows else None

    def list_tokens(self, tenant_id: int) -> list[TokenRecord]:
        rows = self._rows(
            f"SELECT {_TOKEN} FROM tokens WHERE tenant_id = %s ORDER BY created_at, id",
            (tenant_id,),
        )
        return [_token(row) for row in rows]

    def revoke_token(self, tenant_id: int, token_id: str) -> TokenRecord | None:
        with self.pool.connection() as conn:
            conn.execute(
                "UPDATE tokens SET revoked_at = now() "
                "WHERE tenant_id = %s AND id = %s AND revoked_at IS NULL",
                (tenant_id, token_id),
            )
            row = conn.execute(
                f"SELECT {_TOKEN} FROM tokens WHERE tenant_id = %s AND id = %s",
                (tenant_id, token_id),
            ).fetchone()
        return None if row is None else _token(row)

    def live_tokens(self, token_ids: Sequence[str]) -> set[str]:
        rows = self._rows(
            "SELECT id FROM tokens WHERE id = ANY(%s) AND revoked_at IS NULL",
            (list(dict.fromkeys(token_ids)),),
        )
        return {str(r[0]) for r in rows}

    # rate limits ---------------------------------------------------------
    def hit_many(self, keys: Sequence[str], window_start: int, window_seconds: int) -> list[int]:
        return [self.hit(key, window_start, window_seconds) for key in keys]

    def hit(self, key: str, window_start: int, window_seconds: int) -> int:
        with self.pool.connection() as conn:
            if random.random() < 0.01:  # occasional sweep of expired windows
                conn.execute(
                    "DELETE FROM rate_windows WHERE window_start < %s",
                    (window_start - window_seconds,),
                )
            row = conn.execute(
                "INSERT INTO rate_windows (key, window_start, hits) VALUES (%s, %s, 1) "
                "ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_windows.hits + 1 "
                "RETURNING hits",
                (key, window_start),
            ).fetchone()
        assert row is not None
        return int(row[0])


def _checkpoint(row: Sequence[Any]) -> CheckpointRecord:
    return CheckpointRecord(int(row[0]), bytes(row[1]), str(row[2]), row[3])


def _token(row: Sequence[Any]) -> TokenRecord:
    return TokenRecord(
        id=row[0],
        tenant_id=row[1],
        name=row[2],
        scopes=tuple(row[3]),
        created_at=row[4],
        revoked_at=row[5],
        token_hash=bytes(row[6]),
    )
